"""The console's line for HQ's refusal of a kiosk's records (`evac kiosk sync`, the log of `evac kiosk serve`,
/api/status) says what to do whole in Japanese, then whole in English with HQ's own words, and says once in each
that nothing is lost and how many records wait: not "nothing is lost, the records stay on this kiosk; N event(s)
stay queued on this kiosk".  Against a real HQ process for a retired kiosk and a wrong token; every other code
HQ (or the kiosk itself: hq_outdated) can give, as the console words it."""
from __future__ import annotations

import pytest

from kiosk.staff import hq_refusals
from kiosk.store import HQ_OUTDATED, KioskStore
from kiosk.sync import HQClient, SyncError, console_text, sync_once
from tests.conftest import run_evac
from tests.test_sync_http import checkin, enroll
from tests.test_sync_refusal_words import WHO, ja



def halves(line: str) -> tuple[str, str]:
    japanese, sep, english = line.partition(" / ")
    assert sep and english, line
    return japanese, english


def said_once(line: str) -> None:
    """That the records stay on this kiosk (nothing is lost), once in each language."""
    japanese, english = halves(line)
    assert japanese.count("この端末に残") == 1 and japanese.count("失われ") <= 1, japanese
    english = english.lower()
    assert english.count("stay on this kiosk") + english.count("stay queued on this kiosk") == 1, english
    assert english.count("nothing is lost") <= 1, english


def test_a_retired_kiosk_says_once_in_each_language_that_nothing_is_lost(hq_server, tmp_path):
    hq = hq_server()
    token = enroll(hq.db_url, "H001")
    kiosk_id = token.split(".")[0]
    assert run_evac("hq", "retire-kiosk", "--db", hq.db_url, kiosk_id).returncode == 0
    kiosk = tmp_path / "kiosk.sqlite3"
    checkin(kiosk, "退役 二")
    said = run_evac("kiosk", "sync", "--db", str(kiosk), "--hq", hq.url, "--token", token)
    assert said.returncode == 1 and "Traceback" not in said.stderr, said.stderr
    line = next(x for x in said.stderr.splitlines() if x.startswith("evac: 同期できませんでした: "))
    said_once(line)
    japanese, english = halves(line.removeprefix("evac: 同期できませんでした: "))
    assert japanese.startswith("本部がこの端末の記録を受け付けません: " + ja("kiosk_retired")), japanese
    assert "未送信の記録 1 件" in japanese, japanese
    # The English is whole too: what to do (not only "call HQ"), HQ's own words, how many records wait.
    assert english.startswith(f"sync failed: HQ refuses this kiosk's records: HQ retired kiosk {kiosk_id}"), english
    assert hq_refusals.ADVICE["kiosk_retired"] in english, english
    assert english.endswith("Nothing is lost: 1 event(s) stay queued on this kiosk."), english


def test_a_wrong_token_says_once_in_each_language_that_nothing_is_lost(hq_server, tmp_path):
    hq = hq_server()
    kiosk_id = enroll(hq.db_url, "H001").split(".")[0]
    store = KioskStore(tmp_path / "k.sqlite3")
    store.check_in("H001", [WHO])
    with pytest.raises(SyncError) as refused:
        sync_once(store, HQClient(hq.url, f"{kiosk_id}." + "w" * 43))
    assert refused.value.code == "wrong_token" and refused.value.pending == 1
    line = console_text(refused.value)
    said_once(line)
    japanese, english = halves(line)
    assert japanese.startswith("本部がこの端末の記録を受け付けません: " + ja("wrong_token")), japanese
    assert hq_refusals.ADVICE["wrong_token"] in english, english


@pytest.mark.parametrize("code", sorted({*hq_refusals.ADVICE, "a_code_from_a_newer_hq"}))
@pytest.mark.parametrize("pending", [3, None])
def test_every_refusal_code_says_it_once_in_both_languages(code, pending):
    refused = SyncError(SyncError.REFUSED, "HQ's own words", "http://hq.example", code=code)
    refused.pending = pending
    line = console_text(refused)
    said_once(line)
    japanese, english = halves(line)
    advice = hq_refusals.ADVICE.get(code, hq_refusals.GENERAL)
    assert japanese.startswith("本部がこの端末の記録を受け付けません: " + ja(code) if code in hq_refusals.ADVICE
                               else "本部がこの端末の記録を受け付けません: 本部に電話してください。"), japanese
    assert english.startswith("HQ refuses this kiosk's records: HQ's own words — " + advice), english
    if pending:
        assert f"{pending} 件" in japanese and f"{pending} event(s)" in english, line
        assert line.count(f"{pending} 件") == 1 and english.count(str(pending)) == 1, line
    if code == HQ_OUTDATED:
        assert "取り下げないでください" in japanese and "Do NOT withdraw" in english, line
