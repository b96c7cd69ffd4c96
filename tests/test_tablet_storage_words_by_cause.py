"""The staff tablet's sync panel, when HQ took the records but this kiosk's disk would not take HQ's
acknowledgement (SyncError.STORAGE), says the cause staff can act on, in the tablet's language: a lock held too
long, a card turned read-only or a damaged file are not "full or failing: delete photos".  The failure as the
sync round raises it (the causes cannot be made under a running round: tests/test_sync_storage_words_by_cause.py
makes a lock held too long for real, tests/test_sync_kiosk_disk_full.py a full disk)."""
from __future__ import annotations

import pytest

from kiosk import disk_failure
from kiosk.sync import BackgroundSync, HQClient, SyncError
from tests.staff_helpers import logged_in, make_app
from tests.test_staff_shelter import cell

FREE_SPACE = "写真・動画・ログ・ダウンロードを削除"
SAYS = {
    disk_failure.FULL: "ディスクが満杯のため",
    disk_failure.BUSY: "データベースが長く使用中",
    disk_failure.READ_ONLY: "読み取り専用",
    disk_failure.DAMAGED: "壊れている",
    disk_failure.FAILED: "書き込めない",
}


@pytest.mark.parametrize("why", sorted(SAYS))
def test_the_tablet_says_the_cause_of_a_storage_failure(tmp_path, why):
    db = tmp_path / "kiosk.sqlite3"
    app = make_app(db, START_SYNC=False)
    syncer = BackgroundSync(str(db), HQClient("http://127.0.0.1:9", "t"))   # never started
    failure = SyncError(SyncError.STORAGE, "OperationalError: ...", db=str(db))
    failure.held, failure.storage = 7, why
    syncer.failure = failure
    app.extensions["kiosk_sync"] = syncer
    page = logged_in(app).get("/staff/summary").text
    said = cell(page, "sync-storage")
    assert said.startswith("本部はこの受付機の記録（7 件目まで）を受け取りましたが、"), said
    assert "記録は失われていません" in said and SAYS[why] in said, said
    for other, words in SAYS.items():
        if other != why:
            assert words not in said, (other, said)
    if why in (disk_failure.BUSY, disk_failure.READ_ONLY, disk_failure.DAMAGED):
        assert FREE_SPACE not in said, said
