"""A kiosk whose disk refuses writes while the network is back: HQ takes every record, the kiosk cannot
write HQ's acknowledgement down.  The round still sends the whole queue (what HQ said is kept in
memory), and staff are told the disk is the trouble and HQ has the records, never that HQ cannot be
reached.  Once there is room the acknowledgement is written and nothing is lost.

Real parts: a real HQ process, real kiosk SQLite files, a real `evac kiosk serve` and `evac kiosk sync`
whose writes the operating system refuses (a file-size limit of zero, as tests/test_kiosk_serve.py
does), while the test process writes check-ins into the same file, as the tablet's requests would.
"""
from __future__ import annotations

import json
import re
import resource
import sqlite3
import time

import pytest

from evac.events import Person
from kiosk.staff_store import add_staff
from kiosk.store import KioskStore
from tests.conftest import Server, evac_cmd, free_port, run_evac
from tests.staff_helpers import PASSWORD
from tests.test_kiosk_disk_trouble import card  # noqa: F401  (a 1 MB tmpfs of its own, unmounted after)
from tests.test_kiosk_serve import Browser, run_evac_limited
from tests.test_sync_http import enroll

SHELTER = "H001"
RECORDS = 1_200   # three batches of kiosk.sync.BATCH_SIZE (500): more than one round's first batch
HOUSEHOLD = 50


@pytest.fixture(scope="module")
def hq(tmp_path_factory):
    folder = tmp_path_factory.mktemp("disk-full-hq")
    port, db_url = free_port(), f"sqlite:///{folder / 'hq.sqlite3'}"
    server = Server(evac_cmd("hq", "serve", "--db", db_url, "--port", str(port)), f"http://127.0.0.1:{port}",
                    folder / "hq.log", "/api/v1/shelters")
    server.db_url, server.db = db_url, folder / "hq.sqlite3"
    yield server
    server.stop()


def check_in_many(store: KioskStore, start: int = 0) -> None:
    """RECORDS check-ins, a household of HOUSEHOLD people per transaction (fast, and as a tablet writes)."""
    for h in range(start, start + RECORDS // HOUSEHOLD):
        store.check_in(SHELTER, [Person(f"満杯 太郎{h}-{i}", "1970-01-01", "male", f"焼津市本町{h}-{i}")
                                 for i in range(HOUSEHOLD)])


def at_hq(hq, device_id: str) -> tuple[int, int]:
    """(records HQ holds from this kiosk database, how many distinct sequence numbers among them)."""
    with sqlite3.connect(f"file:{hq.db}?mode=ro", uri=True) as conn:
        return conn.execute("SELECT count(*), count(DISTINCT seq) FROM events WHERE device_id = ?",
                            (device_id,)).fetchone()


def acked_on_disk(db) -> int:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return int(conn.execute("SELECT value FROM meta WHERE key = 'acked_seq'").fetchone()[0])


def refuse_writes(server: Server, refuses: bool) -> None:
    limit = 0 if refuses else resource.RLIM_INFINITY
    resource.prlimit(server.proc.pid, resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))


def status_when(kiosk: Server, done, what: str, rounds: int = 600) -> dict:
    """/api/status once `done(status)` holds: the background sync runs every 2 s, a round of three
    batches takes a few; the loop bounds the wait, it measures nothing."""
    for _ in range(rounds):
        status = json.loads(Browser(kiosk.url).request("/api/status")[1])
        if done(status):
            return status
        time.sleep(0.1)
    raise AssertionError(f"the kiosk never got to {what}: {status}")


def test_a_serving_kiosk_whose_disk_refuses_writes_sends_everything_and_says_the_disk_not_hq(hq, tmp_path, monkeypatch):
    monkeypatch.setenv("EVAC_KIOSK_TOKEN", enroll(hq.db_url, SHELTER))
    db = tmp_path / "kiosk.sqlite3"
    store = KioskStore(db)
    add_staff(store, "sato", "staff", PASSWORD)
    port = free_port()
    kiosk = Server(evac_cmd("kiosk", "serve", "--db", str(db), "--shelter", SHELTER, "--port", str(port),
                            "--hq", hq.url), f"http://127.0.0.1:{port}", tmp_path / "kiosk.log", "/api/status")
    try:
        status_when(kiosk, lambda s: s["hq_reachable"] is True, "its first sync with HQ")
        tablet = Browser(kiosk.url)
        tablet.request("/staff/login", {"csrf_token": tablet.csrf("/staff/login"), "name": "sato",
                                        "password": PASSWORD})
        refuse_writes(kiosk, True)
        # Check-ins written before the disk filled (here: by this process), waiting to be sent.
        check_in_many(store)

        status = status_when(kiosk, lambda s: s["sync_error"] is not None, "a round that met the disk")
        # HQ has every record, once; the kiosk could not write that down.
        assert at_hq(hq, store.device_id) == (RECORDS, RECORDS)
        assert acked_on_disk(db) == 0
        # What /api/status says: HQ answers; the kiosk's own disk is what failed.
        assert status["hq_reachable"] is True, status
        assert status["kiosk_storage_failed"] == "failed", status
        assert status["pending_events"] == 0
        assert "HQ has received this kiosk's records (up to 1200)" in status["sync_error"]
        assert "could not write to its disk" in status["sync_error"] and "Nothing is lost" in status["sync_error"]
        assert "本部はこの受付機の記録（1200 件目まで）を受け取りました" in status["sync_error"]
        assert "cannot be reached" not in status["sync_error"] and "sync failed" not in status["sync_error"]
        # The tablet: HQ reachable, and the disk in Japanese, what to do and what never to delete.
        _, page = tablet.request("/staff/summary")
        hq_said = re.search(r'<dd id="sync-hq">(.*?)</dd>', page, re.S).group(1)
        assert hq_said.startswith("接続できます") and "接続できません" not in hq_said, hq_said
        storage = re.search(r'id="sync-storage">([^<]*)<', page).group(1)
        assert storage.startswith("本部はこの受付機の記録（1200 件目まで）を受け取りました"), storage
        assert "kiosk.sqlite3・kiosk.sqlite3-wal・kiosk.sqlite3-shm は記録そのものなので絶対に削除しないでください" \
            in storage
        assert re.search(r'<dd id="sync-pending">0</dd>', page)

        # Rounds go on while the disk stays full: from HQ's acknowledgement kept in memory, nothing to
        # send again, and the same truthful state.
        for _ in range(2):   # HQ answered again: the time of the last sync moves (whole seconds, rounds 2 s apart)
            seen = status["last_sync_at"]
            status = status_when(kiosk, lambda s: s["last_sync_at"] > seen, "another round")
        assert status["hq_reachable"] is True and status["kiosk_storage_failed"] == "failed"
        assert status["pending_events"] == 0 and at_hq(hq, store.device_id) == (RECORDS, RECORDS)

        # Room again: the next round writes HQ's acknowledgement, and all is well.
        refuse_writes(kiosk, False)
        status = status_when(kiosk, lambda s: s["sync_error"] is None, "a round after room was made")
        assert status["hq_reachable"] is True and status["kiosk_storage_failed"] is None
        assert acked_on_disk(db) == RECORDS and status["pending_events"] == 0
    finally:
        kiosk.stop()
    assert store.last_seq == RECORDS and store.quick_check() == []
    assert at_hq(hq, store.device_id) == (RECORDS, RECORDS)
    store.close()


def test_evac_kiosk_sync_on_a_disk_that_refuses_writes_sends_all_and_says_hq_has_them(hq, tmp_path, monkeypatch):
    monkeypatch.setenv("EVAC_KIOSK_TOKEN", enroll(hq.db_url, SHELTER))
    db = tmp_path / "kiosk.sqlite3"
    store = KioskStore(db)   # kept open: its -wal and -shm stay, as beside a running kiosk
    check_in_many(store)

    done = run_evac_limited("kiosk", "sync", "--db", str(db), "--hq", hq.url)
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 2, done.stderr
    assert at_hq(hq, store.device_id) == (RECORDS, RECORDS), "one round sends the whole queue"
    assert acked_on_disk(db) == 0
    assert "HQ has received this kiosk's records (up to 1200)" in done.stderr
    assert "本部はこの受付機の記録（1200 件目まで）を受け取りました" in done.stderr
    assert "delete photos, videos, logs or downloads" in done.stderr
    assert "never delete kiosk.sqlite3, kiosk.sqlite3-wal or kiosk.sqlite3-shm" in done.stderr
    assert "sync failed" not in done.stderr and "cannot be reached" not in done.stderr

    # Room again: the on-disk position is the truth after a restart; HQ takes the resent records as
    # the same ones, and the acknowledgement is written.
    done = run_evac("kiosk", "sync", "--db", str(db), "--hq", hq.url)
    assert done.returncode == 0, done.stderr
    assert acked_on_disk(db) == RECORDS and store.pending() == 0
    assert at_hq(hq, store.device_id) == (RECORDS, RECORDS)
    store.close()


def test_a_kiosk_on_a_really_full_disk_drains_its_queue_and_the_tablet_says_the_disk_is_full(hq, card):
    """A 1 MB filesystem of its own, filled for real: SQLite says the disk is full (not a limit set on
    the process), and staff read exactly that, with what to delete and what never to."""
    from kiosk.sync import BackgroundSync, HQClient
    from tests.staff_helpers import logged_in, make_app
    from tests.test_kiosk_disk_trouble import fill

    db = card / "kiosk.sqlite3"
    app = make_app(db, START_SYNC=False)
    store = KioskStore(db)
    for h in range(20):   # 60 records, three batches of 20
        store.check_in(SHELTER, [Person(f"満杯 花子{h}-{i}", "1980-02-02", "female", f"焼津市石津{h}-{i}")
                                 for i in range(3)])
    tablet = logged_in(app)
    # The WAL cut back to nothing: whatever the kiosk writes next needs room the disk no longer has.
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    photos = fill(card)

    client = HQClient(hq.url, enroll(hq.db_url, SHELTER))
    client.batch_size = 20
    console: list[str] = []   # what `evac kiosk serve` prints for the operator
    syncer = BackgroundSync(str(db), client, say=console.append)
    app.extensions["kiosk_sync"] = syncer
    syncer.start()
    try:
        for _ in range(600):   # the first round: a bound on the wait, not a measure
            if syncer.failure is not None:
                break
            time.sleep(0.05)
        failure = syncer.failure
        assert failure is not None and failure.kind == "storage", syncer.last_error
        assert at_hq(hq, store.device_id) == (60, 60), "the round sent every batch"
        assert acked_on_disk(db) == 0
        status = app.test_client().get("/api/status").get_json()
        assert status["hq_reachable"] is True and status["kiosk_storage_failed"] == "full", status
        assert status["pending_events"] == 0
        assert "this kiosk's disk is full" in status["sync_error"] and "(up to 60)" in status["sync_error"]
        assert "受付機のディスクが満杯のため" in status["sync_error"]
        page = tablet.get("/staff/summary").text
        said = re.search(r'id="sync-storage">([^<]*)<', page).group(1)
        assert said.startswith("本部はこの受付機の記録（60 件目まで）を受け取りましたが、受付機のディスクが満杯のため"), said
        assert "写真・動画・ログ・ダウンロードを削除して空きを作ってください" in said

        assert any(line.startswith("本部はこの受付機の記録（60 件目まで）を受け取りましたが、受付機のディスクが満杯")
                   for line in console), console
        assert not any("sync with HQ failed" in line for line in console), console

        photos.unlink()   # room made as told: the next round writes HQ's acknowledgement down
        for _ in range(600):
            if syncer.failure is None and acked_on_disk(db) == 60:
                break
            time.sleep(0.05)
        assert syncer.failure is None and acked_on_disk(db) == 60
        status = app.test_client().get("/api/status").get_json()
        assert status["kiosk_storage_failed"] is None and status["sync_error"] is None
    finally:
        syncer.stop()
        syncer.join(30)
    assert at_hq(hq, store.device_id) == (60, 60) and store.pending() == 0
    store.close()
