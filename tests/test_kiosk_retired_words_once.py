"""A kiosk HQ retired (`evac hq retire-kiosk`) tells its staff what to do, and that nothing is lost once:
the words for the refusal (kiosk/staff/hq_refusals.py's ADVICE) are set in a sentence that says it already.
Against a real HQ process: the console of `evac kiosk sync`, and the tablet's sync panel in Japanese and
English."""
from __future__ import annotations

from tests.conftest import run_evac
from tests.staff_helpers import logged_in, make_app, wait_for
from tests.test_sync_http import checkin, enroll
from tests.test_sync_refusal_words import ja, sync_cell


def test_a_retired_kiosk_says_nothing_is_lost_once(hq_server, tmp_path):
    hq = hq_server()
    token = enroll(hq.db_url, "H001")
    kiosk_id = token.split(".")[0]
    retired = run_evac("hq", "retire-kiosk", "--db", hq.db_url, kiosk_id)
    assert retired.returncode == 0, retired.stderr

    # The console: Japanese first, then HQ's English words.
    kiosk = tmp_path / "kiosk.sqlite3"
    checkin(kiosk, "退役 一")
    said = run_evac("kiosk", "sync", "--db", str(kiosk), "--hq", hq.url, "--token", token)
    assert said.returncode == 1, said.stderr
    line = next(x for x in said.stderr.splitlines() if x.startswith("evac: 同期できませんでした: "))
    japanese = line.partition(" / ")[0]
    assert japanese.startswith("evac: 同期できませんでした: 本部がこの端末の記録を受け付けません: " + ja("kiosk_retired")), line
    assert "本部が端末を登録し直し" in japanese and f"HQ retired kiosk {kiosk_id}" in line, line
    assert japanese.count("失われ") == 1, japanese

    # The tablet's sync panel, in Japanese and in English.
    app = make_app(tmp_path / "tablet.sqlite3", HQ_URL=hq.url, HQ_TOKEN=token, SYNC_INTERVAL=0.2)
    syncer = app.extensions["kiosk_sync"]
    try:
        wait_for(lambda: syncer.failure is not None, "a refused sync round")
        assert syncer.failure.code == "kiosk_retired"
        staff = logged_in(app)
        cell = sync_cell(staff.get("/staff/summary").text)
        assert cell.startswith("本部がこの端末の記録を受け付けません: " + ja("kiosk_retired")), cell
        assert "本部に電話してください" in cell and f"（本部の説明: HQ retired kiosk {kiosk_id}" in cell, cell
        assert cell.count("失われ") == 1 and cell.count("この端末に残") == 1, cell
        staff.set_cookie("lang", "en")
        cell = sync_cell(staff.get("/staff/summary").text)
        assert cell.startswith("HQ refuses this kiosk's records: HQ has retired this kiosk"), cell
        assert cell.count("Nothing is lost") == 1 and cell.count("the records stay on this kiosk") == 1, cell
    finally:
        syncer.stop()
        syncer.join(10)
