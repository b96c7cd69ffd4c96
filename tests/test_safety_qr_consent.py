"""災対法 §86-15: HQ's public pre-registration signs whatever identity anyone types, so a consent given at
a kiosk's screen by someone identified only by a pre-registration QR (the event carries their
pre-registration id) never outranks one the person gave in person (My Number card, IC card, staff),
whichever arrives first and whichever is later.  A stranger who made a QR with someone's details and
chose "public" at another shelter's screen is then not told where that person is.  Real HQ app and
database (SQLite and PostgreSQL), real sync batches."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from hq_dashboard.db import db
from hq_dashboard.models import Person
from tests.test_safety_review_fixes import Kiosk, ask, check, decide, log_in

ICHIRO = {"name": "鈴木 一郎", "birth_date": "1950-02-02", "sex": "male", "address": "焼津市栄町2-2"}
OTHER = {"name": "鈴木 花子", "birth_date": "1952-03-03", "sex": "female", "address": "焼津市港1"}
BY_QR = {**ICHIRO, "prereg_id": "pr-0123456789abcdef"}   # a stranger's pre-registration of him


def _source(app) -> tuple[str, str]:
    with app.app_context():
        p = db.session.scalars(select(Person).where(Person.name == ICHIRO["name"])).one()
        return p.consent, p.consent_source


@pytest.mark.parametrize("qr_first", [False, True])
def test_a_qr_consent_never_overrides_one_given_in_person(hq_app, hq_client, enroll, qr_first):
    in_person = Kiosk(hq_client, enroll("H031"), "dev-card")
    screen = Kiosk(hq_client, enroll("H001"), "dev-qr", "H001")
    sends = [lambda: in_person.send(("checkin", ICHIRO, {"stay_type": "in_shelter"}),
                                    ("consent", ICHIRO, {"consent": "none"})),
             # someone else first, so that the QR's check-in is the later one
             lambda: screen.send(("checkin", OTHER, {"stay_type": "in_shelter"}),
                                 ("checkin", BY_QR, {"stay_type": "in_shelter"}),
                                 ("consent", BY_QR, {"consent": "public"}))]
    for send in (reversed(sends) if qr_first else sends):
        send()
    assert _source(hq_app) == ("none", "kiosk")
    answer = ask(hq_client, ICHIRO["name"], ICHIRO["birth_date"], "other", addr="10.7.0.1").get_json()
    assert answer["status"] == "pending_review" and answer["whereabouts"] is None


def test_a_qr_consent_stands_until_the_person_gives_one_in_person(hq_app, hq_client, enroll):
    # a family arriving with its own QR: what they chose on the pre-registration page is told once staff have
    # confirmed who asks (never at once: tests/test_qr_consent_after_review.py)
    screen = Kiosk(hq_client, enroll("H001"), "dev-qr", "H001")
    screen.send(("checkin", BY_QR, {"stay_type": "in_shelter"}), ("consent", BY_QR, {"consent": "public"}))
    assert _source(hq_app) == ("public", "qr")   # "qr" fits the column (8 characters) on both databases
    log_in(hq_app, hq_client)
    answer = ask(hq_client, ICHIRO["name"], ICHIRO["birth_date"], "other", addr="10.7.0.2").get_json()
    assert answer["status"] == "pending_review" and answer["whereabouts"] is None
    assert decide(hq_client, answer["inquiry_id"]).status_code == 302
    assert check(hq_client, answer)["whereabouts"]["shelter_id"] == "H001"
    # the person's own word, later, in person (staff send it without the pre-registration id), wins
    Kiosk(hq_client, enroll("H031"), "dev-card").send(("consent", ICHIRO, {"consent": "none"}))
    assert _source(hq_app) == ("none", "kiosk")
    answer = ask(hq_client, ICHIRO["name"], ICHIRO["birth_date"], "other", addr="10.7.0.3").get_json()
    assert answer["status"] == "pending_review" and answer["whereabouts"] is None
    assert decide(hq_client, answer["inquiry_id"]).status_code == 302
    released = check(hq_client, answer)
    assert released["information_exists"] is True and released["whereabouts"] is None
