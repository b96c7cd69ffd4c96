"""A round whose answers make no progress stops: a proxy that says HQ holds less than the batch it was just
sent (a real HQ never acks below a batch it applied) had the kiosk send the same batch again at once, forever,
with no pause — hundreds of requests a second.  Beyond the one rewind for an HQ restored from a backup, the
same acknowledgement again after sending is said as answers that do not add up; the records stay queued.
A real HQ behind a real proxy that lowers its acknowledgement."""
from __future__ import annotations

import threading

from evac.events import Person
from kiosk.store import KioskStore
from kiosk.sync import HQClient, SyncError, sync_once
from tests.hq_proxy import rewriting_proxy
from tests.test_sync_http import enroll

# Far more than the round needs when it stops; if it does not, the test fails rather than hangs.
ROUND_ENDS_WITHIN_S = 120


def _one_behind(path: str, answer: dict) -> dict:
    if path == "/api/v1/sync" and isinstance(answer.get("acked_seq"), int):
        return {**answer, "acked_seq": max(0, answer["acked_seq"] - 1)}
    return answer


def test_answers_that_make_no_progress_stop_the_round(hq_server, tmp_path):
    hq = hq_server()
    token = enroll(hq.db_url, "H001")
    db = tmp_path / "k.sqlite3"
    store = KioskStore(db)
    store.check_in("H001", [Person(f"進捗 {i}", "1970-01-01", "male", f"焼津市本町{i}-1") for i in range(3)])
    store.close()
    outcome: dict = {}

    def round_() -> None:
        kiosk = KioskStore(db)
        try:
            outcome["report"] = sync_once(kiosk, HQClient(proxy_url, token, timeout=10))
        except SyncError as exc:
            outcome["error"] = exc
        finally:
            outcome["pending"] = kiosk.pending()
            kiosk.close()

    with rewriting_proxy(hq.url, _one_behind) as proxy_url:
        syncing = threading.Thread(target=round_, daemon=True)
        syncing.start()
        syncing.join(ROUND_ENDS_WITHIN_S)
        assert not syncing.is_alive(), "the round never ended"
    failure = outcome.get("error")
    assert failure is not None, outcome
    assert failure.kind == SyncError.NOT_HQ and not failure.web_page
    assert outcome["pending"] == 1 and failure.pending == 1   # what HQ was said not to hold stays queued
    japanese, slash, english = str(failure).partition(" / ")
    assert slash and japanese.startswith(f"本部のアドレス {proxy_url} からの応答のつじつまが合いません"), japanese
    assert "失われていません" in japanese, japanese
    assert english.startswith(f"the answers from {proxy_url} do not add up"), english
    assert english.endswith("1 event(s) stay queued on this kiosk"), english
