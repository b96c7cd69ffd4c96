"""A shelter opened or closed at HQ reaches every kiosk on its next sync round.  At the start of a disaster a
kiosk held every other shelter as not opened for up to ten minutes (its periodic fetch of HQ's configuration):
the evacuee screen left out 大井川中学校 as a place to move to though HQ had opened it with people in it, and
the tablet asked for an override.  Restarting the kiosk did not help: when it last fetched is in its file.
A shelter's opened-or-closed state is in HQ's config_version now; "full" still comes with the periodic fetch
(a count crossing a capacity would send every kiosk to fetch the whole list).  A real HQ process
(`evac hq serve`, on SQLite and PostgreSQL), real kiosk files, real HTTP; the screen is the kiosk's own app."""
from __future__ import annotations

import datetime as dt
import sqlite3

from evac.events import Person
from kiosk import create_app, sync
from kiosk.staff_store import set_shelter_status
from kiosk.store import KioskStore
from kiosk.sync import HQClient, sync_once
from tests.conftest import run_evac
from tests.test_sync_http import enroll

OIGAWA_JHS = "H039"   # 大井川中学校


class CountingClient(HQClient):
    """HQ's real client, noting each path it asks for."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.asked: list[str] = []

    def request(self, method, path, body=None, compress=False):
        self.asked.append(path)
        return super().request(method, path, body, compress=compress)

    def round(self, store: KioskStore) -> int:
        """One sync round; how many times it fetched HQ's configuration."""
        self.asked.clear()
        sync_once(store, self)
        return self.asked.count("/api/v1/kiosk/config")


def offered(db, shelter: str = "H001") -> set[str]:
    """The places the evacuee screen offers to move to (kiosk/screen.py)."""
    app = create_app({"KIOSK_DB": str(db), "SHELTER_ID": shelter, "TESTING": True})
    page = app.test_client().get("/").get_data(as_text=True)
    return {sid for sid in ("H039", "H031", "H052") if f'data-testid="dest-{sid}"' in page}


def test_a_shelter_opened_or_closed_at_hq_reaches_another_kiosk_on_its_next_round(hq_db_url, hq_server, tmp_path):
    hq = hq_server(hq_db_url)
    here = KioskStore(tmp_path / "here.sqlite3")
    client = CountingClient(hq.url, enroll(hq.db_url, "H001"))
    there = KioskStore(tmp_path / "there.sqlite3")
    there_client = HQClient(hq.url, enroll(hq.db_url, OIGAWA_JHS))

    assert client.round(here) == 1    # the first round takes HQ's configuration: nothing opened yet
    assert here.shelter_statuses()[OIGAWA_JHS] == "not_opened"
    assert OIGAWA_JHS not in offered(here.path)
    assert [client.round(here) for _ in range(2)] == [0, 0]   # nothing changed: nothing fetched

    # People check in at 大井川中学校: HQ opens it.  This kiosk hears it on its next round, not in ten minutes.
    there.check_in(OIGAWA_JHS, [Person("大井川 花子", "1980-04-01", "female", "焼津市下江留191")])
    sync_once(there, there_client)
    assert client.round(here) == 1
    assert here.shelter_statuses()[OIGAWA_JHS] == "open"
    assert OIGAWA_JHS in offered(here.path)
    assert client.round(here) == 0

    # Declared full: not fetched at once (it comes with the periodic fetch, as a count crossing capacity).
    set_shelter_status(there, OIGAWA_JHS, "full")
    sync_once(there, there_client)
    assert client.round(here) == 0
    assert here.shelter_statuses()[OIGAWA_JHS] == "open"

    # Closed by its staff: on the next round, and no longer offered.
    set_shelter_status(there, OIGAWA_JHS, "closed")
    sync_once(there, there_client)
    assert client.round(here) == 1
    assert here.shelter_statuses()[OIGAWA_JHS] == "closed"
    assert OIGAWA_JHS not in offered(here.path)
    assert client.round(here) == 0
    here.close()
    there.close()


def _sync_as_a_new_process(db, hq, token) -> dict[str, str]:
    """`evac kiosk sync` on the kiosk's file: a process of its own, as a kiosk restarted; what it then holds."""
    synced = run_evac("kiosk", "sync", "--db", str(db), "--hq", hq.url, "--token", token)
    assert synced.returncode == 0, synced.stderr
    kiosk = KioskStore(db, create=False)
    try:
        return kiosk.shelter_statuses()
    finally:
        kiosk.close()


def test_a_kiosk_restarted_takes_what_changed_and_what_it_holds_older_than_the_period(hq_server, tmp_path):
    hq = hq_server()
    token = enroll(hq.db_url, "H001")
    db = tmp_path / "kiosk.sqlite3"
    KioskStore(db).close()
    assert _sync_as_a_new_process(db, hq, token)[OIGAWA_JHS] == "not_opened"
    there = KioskStore(tmp_path / "there.sqlite3")
    there_client = HQClient(hq.url, enroll(hq.db_url, OIGAWA_JHS))
    there.check_in(OIGAWA_JHS, [Person("大井川 太郎", "1975-06-01", "male", "焼津市下江留191")])
    sync_once(there, there_client)
    # Restarted within the period of its last fetch (kept in its file): the opening is taken at once.
    assert _sync_as_a_new_process(db, hq, token)[OIGAWA_JHS] == "open"

    # Declared full: a kiosk restarted within the period keeps what it holds...
    set_shelter_status(there, OIGAWA_JHS, "full")
    sync_once(there, there_client)
    there.close()
    assert _sync_as_a_new_process(db, hq, token)[OIGAWA_JHS] == "open"
    # ...one whose last fetch is older than the period (it was off for a while) fetches on its first round.
    with sqlite3.connect(db) as file:
        long_ago = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=sync.CONFIG_EVERY_S + 60)
        assert file.execute("UPDATE meta SET value = ? WHERE key = 'config_at'", (long_ago.isoformat(),)).rowcount == 1
    file.close()
    assert _sync_as_a_new_process(db, hq, token)[OIGAWA_JHS] == "full"
