"""HQ's persons, keyed under identity form 1, re-keyed to this release's form when HQ starts: the card's
「本町五丁目９番１号　焼津ハイツ２０３」 and the typed 「本町5-9-1 焼津ハイツ203号室」 were two persons under form
1 (two counted, an inquiry finding one), and are one after it; on SQLite and PostgreSQL alike.

Form 1's code is not in this release.  What it stored is: its keys are the same hash of other normal
forms, and the normal forms it gave for this test's addresses are written out below (as form 1's code
gave them).  The merge runs with those keys (as the older release did), then HQ starts again."""
from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select, text

from evac.identity import IDENTITY_FORM, normalize_name, person_key
from hq_dashboard import SettingError, prepare_database, rekey
from hq_dashboard import merge as hq_merge
from hq_dashboard.db import db
from hq_dashboard.models import Person, PersonKey, Shelter
from tests.conftest import run_evac
from tests.test_hq_sync_api import post
from tests.wire import KioskStream, person

CARD = person("曽根 実", "1940-03-03", address="静岡県焼津市本町五丁目９番１号　焼津ハイツ２０３")
TYPED = person("曽根 実", "1940-03-03", address="本町5-9-1 焼津ハイツ203号室")
ROOM = person("渡辺 咲子", "1985-12-31", address="焼津市本町三丁目4番5号 101号室")
# What form 1 made of these addresses (evac/identity.py as of 9c806a6): 号 was dropped only at the end,
# and a room's 号室 stayed.
FORM_1_ADDRESS = {CARD["address"]: "本町5-9-1号焼津ハイツ203", TYPED["address"]: "本町5-9-1焼津ハイツ203号室",
                  ROOM["address"]: "本町3-4-5-101号室"}


def form_1_key(name: str, birth_date: str, address: str) -> str:
    fields = "\x1f".join((normalize_name(name), birth_date, FORM_1_ADDRESS[address]))
    return "nba:" + hashlib.sha256(fields.encode()).hexdigest()[:32]


def test_form_1_keys_are_what_form_1_gave():
    # Pinned from form 1's own code: the stand-in above keys as it did.
    assert form_1_key(CARD["name"], CARD["birth_date"], CARD["address"]) == "nba:046ed03d7f215c81a5183d0c14aeb3a6"
    assert form_1_key("渡邊\u3000﨑子", "1985-12-31", ROOM["address"]) == "nba:2c27172970140049889eb9935806e6e1"
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
    assert persons == [(CARD["name"], TYPED["address"], "checked_in", "H002"),
                       (ROOM["name"], ROOM["address"], "checked_in", "H001")]
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


def test_a_command_other_than_the_start_refuses_keys_of_an_older_form(hq_app, hq_db_url):
    keyed_as_form_1(hq_app)
    done = run_evac("hq", "enroll-kiosk", "--db", hq_db_url, "--shelter", "H001")
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "keyed in identity form 1" in done.stderr and "evac hq serve" in done.stderr, done.stderr
    started = run_evac("hq", "init", "--db", hq_db_url)
    assert started.returncode == 0, started.stderr
    assert run_evac("hq", "enroll-kiosk", "--db", hq_db_url, "--shelter", "H001").returncode == 0
