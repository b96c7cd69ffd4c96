"""A kiosk with nothing to send writes nothing: kiosks run for days on SD cards, and an idle sync round
every 2 s wrote its acknowledgement, HQ's clock and timestamp and the sync time each time (3 commits,
12 fsyncs a round, measured).  What changes is still written and synced: a check-in, a new
acknowledgement, a new configuration from HQ.  A real kiosk file against a real HQ process."""
from __future__ import annotations

import datetime as dt
import sqlite3
import time

import pytest

from evac.events import Person
from evac.hlc import wall_ms
from kiosk import store as kiosk_store, sync
from kiosk.heard import heard
from kiosk.store import HLC_WRITE_SLACK_MS, KioskStore
from kiosk.sync import HQClient, sync_once
from tests.conftest import Server, evac_cmd, free_port, run_evac
from tests.staff_helpers import make_app
from tests.test_sync_http import enroll, occupancy

REAL_TIME_NS = time.time_ns


@pytest.fixture(scope="module")
def hq(tmp_path_factory):
    """One HQ process for the module: each test enrolls a kiosk of its own at it."""
    folder = tmp_path_factory.mktemp("idle-hq")
    port, db_url = free_port(), f"sqlite:///{folder / 'hq.sqlite3'}"
    server = Server(evac_cmd("hq", "serve", "--db", db_url, "--port", str(port)), f"http://127.0.0.1:{port}",
                    folder / "hq.log", "/api/v1/shelters")
    server.db_url = db_url
    yield server
    server.stop()


def person(i: int) -> Person:
    return Person(f"焼津 待機{i}", "1970-01-01", "female", f"焼津市本町{i}-1")


class Watcher:
    """A second connection to the kiosk's file: PRAGMA data_version changes when another connection
    committed anything to it."""

    def __init__(self, path):
        self.db = sqlite3.connect(path)
        self.seen = self.version()

    def version(self) -> int:
        return self.db.execute("PRAGMA data_version").fetchone()[0]

    def written(self) -> bool:
        now = self.version()
        written, self.seen = now != self.seen, now
        return written

    def meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None


def test_idle_rounds_write_nothing_and_a_check_in_or_new_configuration_still_is(hq, tmp_path, monkeypatch):
    path = tmp_path / "kiosk.sqlite3"
    store, client = KioskStore(path), HQClient(hq.url, enroll(hq.db_url, "H001"))
    store.check_in("H001", [person(1)])
    sync_once(store, client)                              # the first round writes what it heard
    watcher = Watcher(path)
    # The sync time is written once a minute (the next test): not within this test, however slow the machine.
    monkeypatch.setattr(kiosk_store, "LAST_SYNC_WRITE_EVERY_S", 3600)

    for _ in range(3):
        assert sync_once(store, client).pending == 0
    monkeypatch.setattr(sync, "CONFIG_EVERY_S", 0)        # HQ's configuration fetched again, unchanged
    sync_once(store, client)
    assert not watcher.written(), "an idle round wrote to the kiosk's database file"

    # A check-in (written by a request's own connection) is on disk at once, and the round that sends
    # it writes HQ's acknowledgement.
    request = KioskStore(path, create=False)
    request.check_in("H001", [person(2)])
    assert watcher.written()
    assert sync_once(store, client).pending == 0
    assert watcher.written() and watcher.meta("acked_seq") == "2"
    assert occupancy(hq.url)["H001"] == 2
    # The next check-in is dated after everything HQ said, though idle rounds kept that in memory.
    latest = heard(path).hlc
    (checkin,) = request.check_in("H001", [person(3)])
    assert checkin.hlc > latest
    sync_once(store, client)
    watcher.written()

    # A new configuration from HQ (a new QR signing key) is taken at the next round and written.
    keys_before = store.prereg_keys()
    rotated = run_evac("hq", "rotate-prereg-key", "--db", hq.db_url)
    assert rotated.returncode == 0, rotated.stderr
    monkeypatch.setattr(sync, "CONFIG_EVERY_S", 600)
    sync_once(store, client)
    assert watcher.written() and request.prereg_keys() != keys_before
    sync_once(store, client)
    assert not watcher.written()


def test_the_last_sync_shown_is_the_last_round_and_the_file_keeps_it_to_the_minute(hq, tmp_path):
    path = tmp_path / "kiosk.sqlite3"
    app = make_app(path)
    store, client = KioskStore(path), HQClient(hq.url, enroll(hq.db_url, "H001"))
    sync_once(store, client)
    watcher = Watcher(path)
    half_a_minute_ago = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=30)).isoformat(timespec="seconds")
    with store._write():
        store._set_meta("last_sync_at", half_a_minute_ago)
    watcher.written()
    round_began = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    sync_once(store, client)
    assert not watcher.written() and watcher.meta("last_sync_at") == half_a_minute_ago
    # The tablet and /api/status, in the kiosk's process, show the round just done.
    shown = app.test_client().get("/api/status").get_json()["last_sync_at"]
    assert dt.datetime.fromisoformat(shown) >= round_began
    # Written once what the file says is a minute old: another process reads it at most that late.
    with store._write():
        store._set_meta("last_sync_at", "2026-01-01T00:00:00+00:00")
    watcher.written()
    sync_once(store, client)
    assert watcher.written() and dt.datetime.fromisoformat(watcher.meta("last_sync_at")) >= round_began


def test_a_kiosk_clock_more_than_a_minute_behind_hqs_writes_hqs_timestamp(hq, tmp_path, monkeypatch):
    """Its own clock would date a record written by another process (`evac kiosk checkin`) before a move
    HQ already holds: the file keeps HQ's timestamp to within HLC_WRITE_SLACK_MS."""
    path = tmp_path / "kiosk.sqlite3"
    store, client = KioskStore(path), HQClient(hq.url, enroll(hq.db_url, "H001"))
    monkeypatch.setattr(time, "time_ns", lambda: REAL_TIME_NS() - 90 * 10**9)
    sync_once(store, client)
    sync_once(store, client)
    file_hlc = int(Watcher(path).meta("hlc"))
    assert max(wall_ms(file_hlc), store.now_ms()) >= wall_ms(heard(path).hlc) - HLC_WRITE_SLACK_MS
