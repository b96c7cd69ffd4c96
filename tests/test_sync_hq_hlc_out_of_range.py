"""HQ's timestamp (its answers' `hlc`) is the kiosk's reference clock, but one no HQ can give (2^63 or more, or
years ahead of the kiosk's clock and of HQ's own Date header) is not taken: taken, every later record of the
kiosk was dated by it, and one at or past 2^63 was refused by the kiosk's own check — no check-in could be
saved again, even after a restart.  HQ did take the round's records: the round succeeds and says the doubt.
A real HQ behind a real proxy that changes the `hlc` of HQ's answers, as a broken middlebox would."""
from __future__ import annotations

import sqlite3

import pytest

from evac.events import Person
from evac.hlc import MAX_DRIFT_MS, HybridLogicalClock, pack, wall_clock_ms, wall_ms
from kiosk.store import KioskStore
from kiosk.sync import HQClient, sync_once
from tests.hq_proxy import rewriting_proxy
from tests.test_sync_http import enroll, occupancy

TEN_YEARS_MS = 10 * 365 * 86_400_000


def _people(n: int) -> list[Person]:
    return [Person(f"時計 {i}", "1970-01-01", "female", f"焼津市本町{i}-1") for i in range(n)]


def _meta_hlc(db) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT value FROM meta WHERE key = 'hlc'").fetchone()[0])


def _sane(hlc: int) -> bool:
    return 0 < hlc < 1 << 63 and wall_ms(hlc) <= wall_clock_ms() + MAX_DRIFT_MS


@pytest.mark.parametrize("poison", ["2**63", "2**70", "ten years ahead"])
def test_an_hlc_no_hq_gives_is_not_taken_and_check_ins_go_on(hq_server, tmp_path, poison):
    hq = hq_server()
    token = enroll(hq.db_url, "H001")
    hlc = {"2**63": 1 << 63, "2**70": 1 << 70, "ten years ahead": pack(wall_clock_ms() + TEN_YEARS_MS)}[poison]
    db = tmp_path / "k.sqlite3"
    store = KioskStore(db)
    first, second, third = _people(3)
    store.check_in("H001", [first])

    def poisoned(path: str, answer: dict) -> dict:
        return {**answer, "hlc": hlc} if "hlc" in answer else answer

    with rewriting_proxy(hq.url, poisoned) as proxy_url:
        report = sync_once(store, HQClient(proxy_url, token))
    assert report.acked_seq == store.last_seq and report.pending == 0   # HQ took the round's records
    assert occupancy(hq.url) == {"H001": 1}
    (doubt,) = [d for d in report.doubts if "hlc" in d]
    japanese, slash, english = doubt.partition(" / ")
    assert slash and "本部の応答にある時刻" in japanese and "取り込みませんでした" in japanese, doubt
    assert english.startswith("HQ's answer carried a timestamp (hlc) ") and "not taken" in english, doubt
    assert _sane(_meta_hlc(db))
    (after,) = store.check_in("H001", [second])   # the kiosk's clock, not the answer's, dates its next record
    assert _sane(after.hlc)
    store.close()
    store = KioskStore(db)                           # and after a restart
    (restarted,) = store.check_in("H001", [third])
    assert _sane(restarted.hlc) and restarted.hlc > after.hlc
    report = sync_once(store, HQClient(hq.url, token))   # HQ itself, straight: everything taken
    assert report.pending == 0 and report.doubts == ()
    assert occupancy(hq.url) == {"H001": 3}
    store.close()


def test_the_clock_never_gives_a_timestamp_past_63_bits():
    """Records nobody accepts (the kiosk's own check and HQ's refuse an hlc of 2^63 or more) are not made:
    the clock refuses, in words."""
    clock = HybridLogicalClock((1 << 63) - 2, now_ms=lambda: 1_000_000)
    assert clock.tick() == (1 << 63) - 1
    with pytest.raises(OverflowError, match="2\\^63"):
        clock.tick()
    assert clock.last == (1 << 63) - 1
    with pytest.raises(OverflowError, match="2\\^63"):
        HybridLogicalClock(now_ms=lambda: 1_000_000).adopt(1 << 63)


def test_a_kiosk_file_that_took_one_before_is_mended_by_its_next_check_in(tmp_path):
    """A file whose clock was set past 2^63 by an answer taken before answers were checked: its next
    check-in is dated after its last record, by its own clock, and the file's clock is mended."""
    db = tmp_path / "k.sqlite3"
    store = KioskStore(db)
    first, second, third = _people(3)
    (before,) = store.check_in("H001", [first])
    store.close()
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE meta SET value = ? WHERE key = 'hlc'", (str((1 << 63) + 5),))
    store = KioskStore(db)
    (after,) = store.check_in("H001", [second])
    assert _sane(after.hlc) and after.hlc > before.hlc and _sane(_meta_hlc(db))
    store.close()
    (restarted,) = KioskStore(db).check_in("H001", [third])
    assert _sane(restarted.hlc) and restarted.hlc > after.hlc
