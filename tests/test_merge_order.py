"""HQ's merge orders events exactly as Event.order does, and a person's id always names that person;
on SQLite and PostgreSQL alike."""
import datetime as dt

import pytest
from sqlalchemy import select

from hq_dashboard.db import db
from hq_dashboard.models import IcLink, Inquiry, Person, Shelter
from tests.test_hq_sync_api import post
from tests.wire import KioskStream, person

SABURO = person("駿河 三郎", "1940-02-28", address="焼津市石津1")
CARD = "ic:" + "c3" * 16


@pytest.mark.parametrize("first", ["dev-1", "dev-10"])
def test_equal_clocks_at_kiosks_whose_ids_prefix_each_other_give_one_outcome(hq_app, hq_client, enroll, first):
    """Same clock reading at dev-1 and dev-10: dev-10's events come after dev-1's (Event.order), in
    whichever order the two batches arrive."""
    other = person("駿河 四郎", "1941-02-28", address="焼津市石津1")
    at = 1_764_000_005_000
    streams = {"dev-1": KioskStream("dev-1", "H001"), "dev-10": KioskStream("dev-10", "H002")}
    streams["dev-1"].checkin(SABURO, at_ms=at)
    streams["dev-1"].add("ic_link", SABURO, {"token": CARD}, at_ms=at + 1000)
    streams["dev-10"].checkin(SABURO, at_ms=at)
    streams["dev-10"].checkin(other, at_ms=at + 500)
    streams["dev-10"].add("ic_link", other, {"token": CARD}, at_ms=at + 1000)
    tokens = {"dev-1": enroll("H001"), "dev-10": enroll("H002")}
    for device in sorted(streams, key=lambda d: d != first):
        assert post(hq_client, tokens[device], device, streams[device].events).status_code == 200
    with hq_app.app_context():
        saburo = db.session.execute(select(Person).where(Person.name == SABURO["name"])).scalar_one()
        assert (saburo.state, saburo.shelter_id) == ("checked_in", "H002")
        assert saburo.loc_order.split(" ")[1] == "dev-10"
        occupancy = dict(db.session.execute(
            select(Shelter.id, Shelter.occupancy).where(Shelter.id.in_(["H001", "H002"]))).all())
        assert occupancy == {"H001": 0, "H002": 2}
        card_holder = db.session.execute(
            select(Person.name).join(IcLink, IcLink.person_id == Person.id).where(IcLink.token == CARD)).scalar()
        assert card_holder == other["name"]


def test_a_merged_person_s_id_is_never_given_again_and_their_inquiries_follow(hq_app, hq_client, enroll):
    typed = person("焼津 一郎", "1950-02-02", address="焼津市本町1-1")
    qr = person("焼津 一郎", "1950-02-02", address="焼津市本町1-1 コーポ201", prereg_id="PR-ABC")
    both = dict(typed, prereg_id="PR-ABC")
    kiosk, token = KioskStream("kiosk-1"), enroll("H001")
    kiosk.checkin(typed)
    kiosk.checkin(qr)
    assert post(hq_client, token, "kiosk-1", kiosk.events).status_code == 200
    with hq_app.app_context():
        ids = dict(db.session.execute(select(Person.address, Person.id)).all())
        typed_id, qr_id = ids[typed["address"]], ids[qr["address"]]
        db.session.add(Inquiry(
            id="Q-1", access_hash="0" * 64, created_at=dt.datetime.now(dt.timezone.utc), client="test",
            inquirer_name="焼津 花子", inquirer_address="東京都", inquirer_contact="090", relationship="family",
            reason="安否", sought_name=qr["name"], sought_birth_date=qr["birth_date"], person_id=qr_id,
            status="pending_review", answer="{}"))
        db.session.commit()
    kiosk.add("needs", both, {"needs": ["pets"]})        # the two records are one person
    assert post(hq_client, token, "kiosk-1", kiosk.events).status_code == 200
    kiosk.checkin(person("焼津 新", "1990-01-01", sex="female"))   # a batch of its own: ids counted afresh
    assert post(hq_client, token, "kiosk-1", kiosk.events).status_code == 200
    with hq_app.app_context():
        survivor = min(typed_id, qr_id)
        persons = dict(db.session.execute(select(Person.id, Person.name)).all())
        assert persons == {survivor: typed["name"], max(typed_id, qr_id) + 1: "焼津 新"}
        assert db.session.get(Inquiry, "Q-1").person_id == survivor
