"""One kiosk in the first hour of an evacuation: check-ins never stop, staff tap twice on slow tablets.

1. HQ's configuration (a QR revoked, someone protected elsewhere, a new signing key) reaches a kiosk
   while its outbox is still being sent, not only once a rush lets it empty.
2. Two check-outs (or moves) of one person at the same moment write one record, and the other is told
   the person is not checked in here.

Real SQLite files, a real HQ over HTTP for the sync."""
from __future__ import annotations

import threading

import pytest

from evac.events import Person
from hq_dashboard import prereg
from hq_dashboard.db import db
from hq_dashboard.enrollment import enroll_kiosk
from kiosk.store import KioskError, KioskStore
from kiosk.sync import HQClient, sync_once
from tests.test_sync_hq_answers import serve  # noqa: F401  (fixture)


def people(n: int, prefix: str = "混雑") -> list[Person]:
    return [Person(f"{prefix} {i:03d}", "1980-01-01", "male", f"焼津市本町{i}") for i in range(n)]


def test_a_new_configuration_is_taken_in_the_middle_of_a_long_catch_up(hq_app, serve, tmp_path):  # noqa: F811
    with hq_app.app_context():
        token = enroll_kiosk(db.session, "H001")
    store = KioskStore(tmp_path / "k.sqlite3")
    client = HQClient(serve(hq_app).url, token)
    sync_once(store, client)                                   # the kiosk holds HQ's configuration
    for person in people(30):
        store.check_in("H001", [person])
    with hq_app.app_context():
        new_kid = prereg.rotate_key(db.session)                # HQ's configuration changes meanwhile
    assert new_kid not in store.prereg_keys()
    seen = []                                                  # (records still waiting, new key held) per batch
    report = sync_once(store, client, batch_size=10,
                       progress=lambda acked, pending: seen.append((pending, new_kid in store.prereg_keys())))
    assert report.pending == 0 and new_kid in store.prereg_keys()
    # Taken after the first batch said so, while 20 records still waited: not at the end of the round.
    assert seen[:2] == [(20, False), (10, True)]
    store.close()


@pytest.mark.parametrize("how", ["check_out", "transfer", "leave"])
def test_two_taps_of_one_check_out_at_the_same_moment_write_one_record(tmp_path, how):
    db_path = tmp_path / "k.sqlite3"
    first = KioskStore(db_path)
    crowd = people(15)
    for person in crowd:
        first.check_in("H001", [person])
    before = first.last_seq
    second = KioskStore(db_path)                               # another request's connection
    outcomes: list[str] = []

    def tap(store: KioskStore, person: Person, ready: threading.Barrier) -> None:
        who = (person.name, person.birth_date, person.address)
        ready.wait()
        try:
            if how == "check_out":
                store.check_out(*who)
            elif how == "transfer":
                store.transfer(*who, "H002")
            else:
                store.leave([who])
            outcomes.append("written")
        except KioskError as exc:
            assert "is not checked in at this kiosk's shelter" in str(exc)
            outcomes.append("refused")

    for person in crowd:
        ready = threading.Barrier(2)
        taps = [threading.Thread(target=tap, args=(store, person, ready)) for store in (first, second)]
        for t in taps:
            t.start()
        for t in taps:
            t.join()
    assert outcomes.count("written") == len(crowd) and outcomes.count("refused") == len(crowd)
    assert first.last_seq == before + len(crowd)               # one record per person
    assert first.count_checked_in("H001") == 0
    first.close()
    second.close()


def test_the_kiosks_wal_is_cut_back_after_a_checkpoint(tmp_path):
    # On a small SD card a -wal grown by a rush must not keep its size for good.
    from kiosk.store import WAL_SIZE_LIMIT
    store = KioskStore(tmp_path / "k.sqlite3")
    assert store.db.execute("PRAGMA journal_size_limit").fetchone()[0] == WAL_SIZE_LIMIT
    store.close()
