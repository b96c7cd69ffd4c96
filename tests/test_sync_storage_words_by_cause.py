"""HQ took the records but this kiosk's disk would not take HQ's acknowledgement (SyncError.STORAGE): the console
says why in words staff can act on, one cause each (kiosk.disk_failure), Japanese first — not "full or
failing: delete photos" for a lock held too long, a card turned read-only or a damaged file.  A lock held by
another connection is made for real (a real HQ process; a full disk: tests/test_sync_kiosk_disk_full.py); the
others, which cannot be made under a running round (a card is not remounted read-only while a file on it is
open for writing), are worded from the SyncError the round raises."""
from __future__ import annotations

import sqlite3

import pytest

from evac.events import Person
from kiosk import disk_failure
from kiosk.store import KioskStore
from kiosk.sync import HQClient, SyncError, console_text, sync_once
from tests.test_sync_http import enroll

FREE_SPACE_JA, FREE_SPACE_EN = "写真・動画・ログ・ダウンロードを削除", "delete photos, videos, logs or downloads"
# What each cause says, in each language (besides that HQ has the records and nothing is lost).
SAYS = {
    disk_failure.FULL: ("ディスクが満杯のため", "disk is full, so"),
    disk_failure.BUSY: ("データベースが長く使用中", "database stayed busy too long"),
    disk_failure.READ_ONLY: ("読み取り専用", "has become read-only"),
    disk_failure.DAMAGED: ("壊れている", "is damaged"),
    disk_failure.REPLACED: ("削除または置き換えられた", "was deleted or replaced"),
    disk_failure.FAILED: ("書き込めない", "could not write to its disk"),
}


def _halves(text: str) -> tuple[str, str]:
    japanese, slash, english = text.partition(" / ")
    assert slash and english, text
    return japanese, english


def _storage(why: str, held: int = 42, db: str = "/srv/kiosk/kiosk.sqlite3") -> SyncError:
    failure = SyncError(SyncError.STORAGE, "OperationalError: ...", db=db)
    failure.held, failure.storage = held, why
    return failure


@pytest.mark.parametrize("why", sorted(SAYS))
def test_each_cause_has_its_own_words_japanese_first(why):
    japanese, english = _halves(console_text(_storage(why)))
    assert japanese.startswith("本部はこの受付機の記録（42 件目まで）を受け取りましたが、"), japanese
    assert english.startswith("HQ has received this kiosk's records (up to 42), but "), english
    assert "記録は失われていません" in japanese and "Nothing is lost" in english
    ja, en = SAYS[why]
    assert ja in japanese and en in english, (japanese, english)
    for other, (other_ja, other_en) in SAYS.items():
        if other != why:
            assert other_ja not in japanese and other_en not in english, (other, japanese, english)
    # Freeing space is what a full disk needs: said to no lock, card or file that space would not mend.
    if why in (disk_failure.BUSY, disk_failure.READ_ONLY, disk_failure.DAMAGED, disk_failure.REPLACED):
        assert FREE_SPACE_JA not in japanese and FREE_SPACE_EN not in english, (japanese, english)
    # Never "delete the database": each says to keep it, or nothing of deleting at all.
    if why != disk_failure.BUSY:
        assert "kiosk.sqlite3" in japanese and "kiosk.sqlite3" in english


def _three_checked_in(db) -> KioskStore:
    store = KioskStore(db)
    store.check_in("H001", [Person(f"原因 {i}", "1970-01-01", "female", f"焼津市本町{i}-2") for i in range(3)])
    return store


def test_a_lock_held_too_long_is_said_as_busy_not_as_a_full_disk(hq_server, tmp_path):
    hq = hq_server()
    token = enroll(hq.db_url, "H001")
    db = tmp_path / "k.sqlite3"
    store = _three_checked_in(db)
    store.db.execute("PRAGMA busy_timeout=200")   # (30 s as the kiosk runs: the same failure, sooner)
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")   # another process's write, held (a backup, `evac kiosk carry`)
    try:
        with pytest.raises(SyncError) as failed:
            sync_once(store, HQClient(hq.url, token))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert failed.value.kind == SyncError.STORAGE and failed.value.storage == disk_failure.BUSY, failed.value
    japanese, english = _halves(console_text(failed.value))
    assert "本部はこの受付機の記録（3 件目まで）を受け取りました" in japanese and SAYS[disk_failure.BUSY][0] in japanese
    assert SAYS[disk_failure.BUSY][1] in english and FREE_SPACE_EN not in english, english
    assert sync_once(store, HQClient(hq.url, token)).pending == 0   # the lock let go: written down
    store.close()

