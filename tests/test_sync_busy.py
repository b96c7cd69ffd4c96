"""HQ busy writing (many kiosks catching up at once): a sync waits for the database only so long, then
answers 503 busy, which the kiosk takes as HQ failing for now and retries with backoff.  Before, syncs
waited without limit, long after the kiosks had given up (15 s), until every one of HQ's threads held
one and HQ's pages stopped answering.  SQLite (one writer queued in the process) and PostgreSQL (the
merge's advisory lock)."""
from __future__ import annotations

import pytest

from evac.events import Person
from hq_dashboard.db import _one_writer, db
from hq_dashboard.enrollment import enroll_kiosk
from kiosk.store import KioskStore
from kiosk.sync import HQClient, SyncError, sync_once
from tests.test_sync_hq_answers import serve  # noqa: F401  (fixture)

WHO = [Person("混雑 一", "1980-01-01", "male", "焼津市本町1")]


class HeldWriter:
    """Another writer holding HQ's database: the process's writer queue on SQLite, the merge's
    advisory lock (hq_dashboard.merge.lock_merge) from another connection on PostgreSQL."""

    def __init__(self, app):
        with app.app_context():
            self.engine = db.engine
        self.conn = None

    def __enter__(self):
        if self.engine.dialect.name == "sqlite":
            _one_writer.acquire()
        else:
            self.conn = self.engine.connect()
            self.conn.exec_driver_sql("SELECT pg_advisory_lock(862212)")
        return self

    def __exit__(self, *exc):
        if self.conn is None:
            _one_writer.release()
        else:
            self.conn.exec_driver_sql("SELECT pg_advisory_unlock(862212)")
            self.conn.close()


@pytest.fixture
def sync(hq_app, hq_client, tmp_path):
    """sync() -> HQ's answer to one batch of a kiosk holding one check-in (HQ's test client)."""
    store = KioskStore(tmp_path / "k.sqlite3")
    store.check_in("H001", WHO)
    with hq_app.app_context():
        token = enroll_kiosk(db.session, "H001")
    yield lambda: hq_client.post("/api/v1/sync", headers={"Authorization": f"Bearer {token}"},
                                 json={"device_id": store.device_id, "events": store.outbox(10)})
    store.close()


def test_a_sync_that_waits_too_long_for_the_database_is_told_hq_is_busy(hq_app, sync):
    hq_app.config["SYNC_WRITER_WAIT_S"] = 0.2
    with HeldWriter(hq_app):
        answer = sync()
    assert answer.status_code == 503, answer.get_json()
    assert answer.get_json() == {"error": "busy",
                                 "message": "本部が混み合っています。端末が自動で送り直します。 / HQ is busy; the kiosk retries"}
    assert sync().get_json()["acked_seq"] == 1   # nothing was written by the busy one; now it goes


def test_the_kiosk_keeps_the_records_and_says_hq_is_busy(serve, tmp_path):  # noqa: F811
    from tests.test_sync_slow_uplink import _hq
    hq_app, token = _hq(tmp_path, SYNC_WRITER_WAIT_S=0.2)   # the kiosk's side is the same on either database
    store = KioskStore(tmp_path / "k.sqlite3")
    store.check_in("H001", WHO)
    client = HQClient(serve(hq_app).url, token)
    with HeldWriter(hq_app), pytest.raises(SyncError) as busy:
        sync_once(store, client)
    assert (busy.value.kind, busy.value.status, busy.value.slow) == (SyncError.UNREACHABLE, 503, False)
    assert "answered but cannot take records now (HTTP 503: 本部が混み合っています。" in str(busy.value)
    assert "HQ is busy; the kiosk retries" in str(busy.value) and store.pending() == 1
    assert sync_once(store, client).pending == 0


@pytest.mark.parametrize("hq_db_url", ["sqlite"], indirect=True)
def test_another_process_writing_hqs_sqlite_file_is_waited_for_only_so_long(hq_app, hq_db_url, sync):
    # `evac hq import`, say, writing the same file: SQLite's own busy wait (30 s for everything else)
    # is the sync's wait too, then 503 busy, rather than the kiosk giving up at 15 s and taking it for a
    # slow link.  The other process holds the write lock for 5 s; the sync is answered before it lets go.
    import subprocess
    import sys
    hq_app.config["SYNC_WRITER_WAIT_S"] = 0.3
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sqlite3, sys, time\n"
         "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
         "c.execute('BEGIN IMMEDIATE'); print('held', flush=True); time.sleep(5); c.execute('ROLLBACK')",
         hq_db_url.removeprefix("sqlite:///")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        answer = sync()
        still_held = holder.poll() is None
    finally:
        holder.wait(30)
    assert still_held, "the sync waited for the other process to finish"
    assert answer.status_code == 503 and answer.get_json()["error"] == "busy", answer.get_json()
    assert sync().get_json()["acked_seq"] == 1   # nothing was written by the busy one; now it goes
    # Other writers wait SQLite's usual 30 s again on the same pooled connection.
    with hq_app.app_context():
        assert db.session.connection().exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000
