"""HQ failing on its side (a 500: its database lost a table) answers the kiosk in Japanese and English,
in the JSON the kiosk reads, over real HTTP from a real `evac hq serve` on SQLite and PostgreSQL; the
kiosk's sync keeps the records and its tablet shows HQ's words to the staff."""
from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from evac.events import Person
from kiosk.sync import HQClient, SyncError, sync_once
from tests.test_sync_http import enroll

JA_500 = "本部のサーバーで問題が起きました"
EN_500 = "Something went wrong on HQ's server"


def drop_table(db_url: str, table: str) -> None:
    """A real failure of HQ's database: a table it needs is gone (a throwaway test database)."""
    engine = create_engine(db_url)
    try:
        with engine.begin() as conn:
            cascade = " CASCADE" if conn.dialect.name == "postgresql" else ""
            conn.execute(text(f"DROP TABLE {table}{cascade}"))
    finally:
        engine.dispose()


def test_hq_failing_answers_the_kiosk_in_japanese_and_english(hq_db_url, hq_server, kiosk_store, tmp_path):
    hq = hq_server(hq_db_url)
    client = HQClient(hq.url, enroll(hq.db_url, "H001"))
    kiosk_store.check_in("H001", [Person("焼津 一", "1970-01-01", "female", "焼津市本町1-1")])
    assert sync_once(kiosk_store, client).pending == 0          # HQ works: the first record is there

    drop_table(hq.db_url, "events")                              # now HQ cannot store any record
    kiosk_store.check_in("H001", [Person("焼津 二", "1971-01-01", "female", "焼津市本町1-1")])
    status, answer = client.request("POST", "/api/v1/sync", {"device_id": kiosk_store.device_id,
                                                            "events": kiosk_store.outbox(10)})
    assert status == 500 and answer["error"] == "server_error"
    assert JA_500 in answer["message"] and EN_500 in answer["message"]
    assert "Internal Server Error" not in answer["message"]
    with pytest.raises(SyncError) as failed:
        sync_once(kiosk_store, client)
    assert failed.value.kind == SyncError.UNREACHABLE and failed.value.pending == 1    # kept, tried again
    assert JA_500 in failed.value.detail and EN_500 in failed.value.detail

    # What the shelter's staff read on the tablet (Japanese by default): HQ's Japanese words are in it.
    from kiosk.staff.shelter import _problem
    from tests.staff_helpers import make_app
    with make_app(tmp_path / "tablet.sqlite3").test_request_context("/staff/"):
        shown = _problem(failed.value)
    assert "本部" in shown and JA_500 in shown
    assert "本部は応答しましたが、いま記録を受け取れません" in shown and "接続できません" not in shown   # it did answer
    ja, _, en = str(failed.value).partition(" / ")   # Japanese first, then the English
    assert ja.startswith("本部は応答しましたが") and en.startswith(f"HQ at {hq.url} answered but cannot take records now "
                                                          "(HTTP 500: ")

    # The kiosk's configuration, when what it is made of is gone: the same words.
    drop_table(hq.db_url, "prereg_keys")
    status, answer = client.request("GET", "/api/v1/kiosk/config")
    assert status == 500 and JA_500 in answer["message"] and EN_500 in answer["message"]
    assert "Traceback" in hq.log_path.read_text()        # the cause is in HQ's log for its staff, not in the answer
    assert "Traceback" not in answer["message"] and "sqlite3" not in answer["message"]


def test_a_request_hq_cannot_take_is_said_in_japanese_and_english(hq_client, enroll):
    too_big = hq_client.post("/api/v1/sync", data=b"x" * (4 * 1024 * 1024 + 1), content_type="application/json",
                             headers={"Authorization": f"Bearer {enroll('H001')}"})
    answer = too_big.get_json()
    assert too_big.status_code == 413 and answer["error"] == "batch_too_large"
    assert "大きすぎます" in answer["message"] and "larger than HQ accepts (4194304 bytes)" in answer["message"]
    wrong = hq_client.get("/api/v1/sync")
    assert wrong.status_code == 405 and wrong.get_json()["error"] == "method_not_allowed"
    assert "この方法では使えません" in wrong.get_json()["message"] and "POST" in wrong.headers["Allow"]
    nowhere = hq_client.get("/api/v1/no-such-thing")
    assert nowhere.status_code == 404 and "ありません" in nowhere.get_json()["message"]
