"""HQ's persons, keyed under identity form 1, re-keyed to this release's form when HQ starts: the card's
「本町五丁目９番１号　焼津ハイツ２０３」 and the typed 「本町5-9-1 焼津ハイツ203号室」 were two persons under form
1 (two counted, an inquiry finding one), and are one after it; on SQLite and PostgreSQL alike.

Form 1's code is not in this release; what it stored is (tests/identity_form1.py: the same hash of the
normal forms it gave these addresses).  The merge runs with those keys, as the older release did, then
HQ starts again."""
from __future__ import annotations

import pytest
from sqlalchemy import select, text

from evac.identity import IDENTITY_FORM, person_key
from hq_dashboard import SettingError, prepare_database, rekey
from hq_dashboard import merge as hq_merge
from hq_dashboard.db import db
from hq_dashboard.models import Person, PersonKey, Shelter
from tests import identity_form1
from tests.conftest import run_evac
from tests.test_hq_sync_api import post
from tests.wire import KioskStream, person

CARD = person("曽根 実", "1940-03-03", address="静岡県焼津市本町五丁目９番１号　焼津ハイツ２０３")
TYPED = person("曽根 実", "1940-03-03", address="本町5-9-1 焼津ハイツ203号室")
ROOM = person("大井 花子", "1950-07-07", address="焼津市本町三丁目4番5号 コーポ大井101号室")
form_1_key = identity_form1.person_key


def test_form_1_keys_are_what_form_1_gave():
    # Pinned from form 1's own code: the stand-in keys as it did.
    for who, pinned in identity_form1.PINNED.items():
        assert identity_form1.person_key(*who) == pinned
    assert person_key(CARD["name"], CARD["birth_date"], CARD["address"]) != \
        form_1_key(CARD["name"], CARD["birth_date"], CARD["address"])


def merged_by_form_1(monkeypatch, hq_client, token: str, device: str, events: list[dict]) -> None:
    """A batch as the release of form 1 merged it."""
    with monkeypatch.context() as m:
        m.setattr(hq_merge, "_basic_key", form_1_key)
        assert post(hq_client, token, device, events).status_code == 200


def keyed_as_form_1(hq_app) -> None:
    with hq_app.app_context():
        db.session.execute(text("DELETE FROM hq_meta WHERE name = 'identity_form'"))
        db.session.commit()


def counts(hq_app) -> tuple[list[tuple], dict[str, int]]:
    with hq_app.app_context():
        persons = sorted(tuple(r) for r in db.session.execute(
            select(Person.name, Person.address, Person.state, Person.shelter_id)))
        occupancy = dict(db.session.execute(
            select(Shelter.id, Shelter.occupancy).where(Shelter.id.in_(["H001", "H002"]))).all())
    return persons, occupancy


def test_one_person_under_two_forms_of_an_address_becomes_one_at_the_start(hq_app, hq_client, enroll, monkeypatch):
    first, second = KioskStream("kiosk-1", "H001"), KioskStream("kiosk-2", "H002")
    first.checkin(CARD)
    first.checkin(ROOM)
    second.checkin(TYPED, at_ms=first.ms + 60_000)   # moved on to the second shelter
    token_1, token_2 = enroll("H001"), enroll("H002")
    merged_by_form_1(monkeypatch, hq_client, token_1, "kiosk-1", first.events)
    merged_by_form_1(monkeypatch, hq_client, token_2, "kiosk-2", second.events)
    keyed_as_form_1(hq_app)
    persons, occupancy = counts(hq_app)
    assert len(persons) == 3 and occupancy == {"H001": 2, "H002": 1}   # form 1: 曽根 counted at both

    prepare_database(hq_app)   # HQ's start
    persons, occupancy = counts(hq_app)
    assert persons == sorted([(CARD["name"], TYPED["address"], "checked_in", "H002"),
                              (ROOM["name"], ROOM["address"], "checked_in", "H001")])
    assert occupancy == {"H001": 1, "H002": 1}
    with hq_app.app_context():
        assert db.session.execute(text("SELECT value FROM hq_meta WHERE name = 'identity_form'")).scalar() \
            == str(IDENTITY_FORM)
        owners = dict(db.session.execute(select(PersonKey.key, PersonKey.person_id).order_by(PersonKey.id)).all())
    # Under the keys this release forms, the card, the typed form and the room each name their person.
    sone = {owners[person_key(p["name"], p["birth_date"], p["address"])] for p in (CARD, TYPED)}
    assert len(sone) == 1

    # Records under this release's keys find them: the one with the room leaves, 曽根 leaves the second shelter.
    first.add("checkout", ROOM)
    second.add("checkout", CARD)
    assert post(hq_client, token_1, "kiosk-1", first.events).status_code == 200
    assert post(hq_client, token_2, "kiosk-2", second.events).status_code == 200
    persons, occupancy = counts(hq_app)
    assert [p[2] for p in persons] == ["checked_out", "checked_out"] and occupancy == {"H001": 0, "H002": 0}


def test_re_keying_twice_changes_nothing(hq_app, hq_client, enroll, monkeypatch):
    kiosk = KioskStream("kiosk-1", "H001")
    kiosk.checkin(CARD)
    kiosk.checkin(TYPED)
    merged_by_form_1(monkeypatch, hq_client, enroll("H001"), "kiosk-1", kiosk.events)
    keyed_as_form_1(hq_app)
    with hq_app.app_context():
        assert rekey.bring_up_to_date(db.engine) == 1
        rows = db.session.execute(select(PersonKey.key, PersonKey.person_id).order_by(PersonKey.id)).all()
        assert rekey.bring_up_to_date(db.engine) is None
        assert db.session.execute(select(PersonKey.key, PersonKey.person_id).order_by(PersonKey.id)).all() == rows
    assert counts(hq_app)[1] == {"H001": 1, "H002": 0}


def test_a_database_of_a_newer_form_is_refused(hq_app):
    with hq_app.app_context():
        db.session.execute(text("UPDATE hq_meta SET value = :v WHERE name = 'identity_form'"),
                           {"v": str(IDENTITY_FORM + 1)})
        db.session.commit()
    with pytest.raises(SettingError, match="newer release"):
        prepare_database(hq_app)


def _form_row(hq_app, value: str) -> None:
    with hq_app.app_context():
        db.session.execute(text("UPDATE hq_meta SET value = :v WHERE name = 'identity_form'"), {"v": value})
        db.session.commit()


def test_a_newer_form_is_refused_by_every_command_with_the_same_advice(hq_app, hq_db_url):
    """Review: other commands told the operator to start HQ once, which then refused (a newer release)."""
    _form_row(hq_app, str(IDENTITY_FORM + 1))
    for command in (("hq", "list-staff", "--db", hq_db_url), ("hq", "init", "--db", hq_db_url)):
        done = run_evac(*command)
        assert done.returncode != 0 and "Traceback" not in done.stderr, done.stderr
        assert "from a newer release" in done.stderr and "run the newer release" in done.stderr, done.stderr
        assert "evac hq serve or evac hq init" not in done.stderr


@pytest.mark.parametrize("value", ["abc", "", "0"])
def test_a_form_row_that_is_no_form_is_said_so_not_a_traceback(hq_app, hq_db_url, value):
    _form_row(hq_app, value)
    for command in (("hq", "list-staff", "--db", hq_db_url), ("hq", "init", "--db", hq_db_url)):
        done = run_evac(*command)
        assert done.returncode != 0 and "Traceback" not in done.stderr, done.stderr
        assert "which is no form" in done.stderr and "Restore the database from a backup" in done.stderr


def test_a_command_other_than_the_start_refuses_keys_of_an_older_form(hq_app, hq_db_url):
    keyed_as_form_1(hq_app)
    done = run_evac("hq", "enroll-kiosk", "--db", hq_db_url, "--shelter", "H001")
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "identity form 1" in done.stderr and "evac hq serve" in done.stderr, done.stderr
    assert "Stop every HQ still running the older release" in done.stderr
    started = run_evac("hq", "init", "--db", hq_db_url)
    assert started.returncode == 0, started.stderr
    assert run_evac("hq", "enroll-kiosk", "--db", hq_db_url, "--shelter", "H001").returncode == 0


def test_a_kiosk_s_corrections_are_re_keyed_too(hq_app, hq_client, enroll, monkeypatch):
    """A correction kept under form 1's keys (kiosk_corrections) would no longer be found by the new ones:
    another kiosk's record of the slip's identity, a real person of that name, would join the corrected one."""
    typo = person("駿河 一朗", "1985-05-05", address="焼津市本町三丁目4番5号 コーポ大井103号室")
    fixed = person("駿河 一郎", "1985-05-05", address="焼津市本町三丁目4番5号 コーポ大井103号室")
    x, y = KioskStream("kiosk-x", "H001"), KioskStream("kiosk-y", "H002")
    tx, ty = enroll("H001"), enroll("H002")
    x.checkin(typo)
    x.add("correction", typo, {"person": fixed})
    merged_by_form_1(monkeypatch, hq_client, tx, "kiosk-x", x.events)
    keyed_as_form_1(hq_app)
    prepare_database(hq_app)
    y.checkin(typo, at_ms=y.ms + 3_600_000)   # the real 駿河 一朗, at another shelter
    assert post(hq_client, ty, "kiosk-y", y.events).status_code == 200
    persons, occupancy = counts(hq_app)
    assert sorted((p[0], p[3]) for p in persons) == sorted([(fixed["name"], "H001"), (typo["name"], "H002")])


def test_a_new_hq_database_is_made_in_this_form_and_its_start_says_nothing_of_re_keying(tmp_path):
    """The first start of a new HQ warned that it had re-keyed "0 person record(s)" (a review: IT staff
    read it as a change to data), and an empty --db file given to another command was told it was
    "keyed as an older release keyed them"."""
    url = f"sqlite:///{tmp_path / 'new.sqlite3'}"
    made = run_evac("hq", "init", "--db", url)
    assert made.returncode == 0, made.stderr
    assert "re-key" not in made.stderr and "brought to this release" not in made.stderr, made.stderr
    from sqlalchemy import create_engine
    engine = create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT value FROM hq_meta WHERE name = 'identity_form'")).scalar() == str(IDENTITY_FORM)
    engine.dispose()
    listed = run_evac("hq", "list-staff", "--db", f"sqlite:///{tmp_path / 'other.sqlite3'}")
    assert "older release" not in listed.stderr, listed.stderr
