"""A staff release never takes back "information exists" once the inquirer was told it (災対法 §86-15; review,
medium).  A household-family inquiry about someone with public consent is told at once that information exists
and where; the person is protected by a later kiosk batch; reading it again says "information exists" only.
The release staff then made stored "no information": a release without protection always keeps "exists" (even
when consent is withdrawn), so "exists" turning into "no information" told the inquirer she was protected.
Now the release says "information exists" and nothing more, as reading it again does.  Real HQ app and database
(SQLite and PostgreSQL), kiosks sending real syncs, staff deciding on the real queue."""
from __future__ import annotations

import json

from sqlalchemy import select

from hq_dashboard.db import db
from hq_dashboard.models import AuditEntry, Inquiry
from tests.test_safety_review_fixes import Kiosk, ask, check, decide, log_in

SATO = {"name": "佐藤 一郎", "birth_date": "1970-01-01", "sex": "male", "address": "焼津市本町2-2"}
KOBA = {"name": "小林 陽子", "birth_date": "1982-02-02", "sex": "female", "address": "焼津市本町9-9"}
NOTHING_MORE = {"whereabouts": None, "injury_or_illness": None, "contact": None}


def told(answer: dict) -> dict:
    return {k: answer.get(k) for k in ("status", "information_exists", "whereabouts", "injury_or_illness",
                                       "contact", "pending_review")}


def released_audit(hq_app, ref) -> dict:
    with hq_app.app_context():
        detail = db.session.execute(select(AuditEntry.detail).where(
            AuditEntry.inquiry_id == ref, AuditEntry.action == "released")).scalar_one()
        db.session.remove()
    return json.loads(detail)


def told_at_once_then(hq_client, enroll, person, later: dict) -> tuple[Kiosk, dict]:
    """`person` checked in with public consent, asked about by household family (told at once that information
    exists and where, waiting for staff), then `later` (the person's consent event) synced by the kiosk."""
    kiosk = Kiosk(hq_client, enroll("H031"), "dev-a")
    kiosk.send(("checkin", person, {"stay_type": "in_shelter"}), ("consent", person, {"consent": "public"}))
    asked = ask(hq_client, person["name"], person["birth_date"], "household_family",
                address=person["address"]).get_json()
    assert asked["status"] == "pending_review" and asked["information_exists"] is True
    assert asked["whereabouts"]["shelter_id"] == "H031"
    kiosk.send(("consent", person, later))
    return kiosk, asked


def test_a_release_after_protection_keeps_information_exists_and_says_nothing_more(hq_app, hq_client, enroll):
    kiosk, asked = told_at_once_then(hq_client, enroll, SATO, {"consent": "public", "never_disclose": True})
    again = check(hq_client, asked)
    assert told(again) == {"status": "pending_review", "information_exists": True, **NOTHING_MORE,
                           "pending_review": True}
    log_in(hq_app, hq_client)
    assert decide(hq_client, asked["inquiry_id"]).status_code == 302
    released = check(hq_client, asked)
    # Before: information_exists False, which no release of an unprotected person ever says after "exists".
    assert told(released) == {"status": "released", "information_exists": True, **NOTHING_MORE,
                              "pending_review": False}
    page = hq_client.get(f"/safety/check?id={asked['inquiry_id']}&key={asked['access_key']}").get_data(as_text=True)
    assert "H031" not in page and "焼津中学校" not in page
    # The audit says what was released and why no more: told before, protected now; news follows no record.
    audit = released_audit(hq_app, asked["inquiry_id"])
    assert audit["shown"] == ["information_exists"] and audit["record"] is None
    assert audit["kept_as_told"] is True and audit["protected_now"] is True
    with hq_app.app_context():
        assert db.session.get(Inquiry, asked["inquiry_id"]).person_id is None
        db.session.remove()
    # Later batches (she moves, protection stays) neither bring it back to staff nor change what it says.
    kiosk.send(("checkin", SATO, {"stay_type": "in_shelter", "note": "moved"}),
               ("consent", SATO, {"consent": "public", "never_disclose": True}))
    assert told(check(hq_client, asked)) == told(released)


def test_a_refusal_after_protection_keeps_information_exists_too(hq_app, hq_client, enroll):
    _, asked = told_at_once_then(hq_client, enroll, SATO, {"consent": "public", "never_disclose": True})
    log_in(hq_app, hq_client)
    assert decide(hq_client, asked["inquiry_id"], "reject", "確認できず").status_code == 302
    assert told(check(hq_client, asked)) == {"status": "rejected", "information_exists": True, **NOTHING_MORE,
                                             "pending_review": False}


def test_a_release_after_consent_withdrawn_is_unchanged_the_tier_with_the_shelter(hq_app, hq_client, enroll):
    _, asked = told_at_once_then(hq_client, enroll, KOBA, {"consent": "none"})
    again = check(hq_client, asked)
    assert told(again) == {"status": "pending_review", "information_exists": True, **NOTHING_MORE,
                           "pending_review": True}
    log_in(hq_app, hq_client)
    assert decide(hq_client, asked["inquiry_id"]).status_code == 302
    released = check(hq_client, asked)
    assert released["status"] == "released" and released["information_exists"] is True
    assert released["whereabouts"]["shelter_id"] == "H031"   # household family's tier, after staff confirmed
    audit = released_audit(hq_app, asked["inquiry_id"])
    assert "kept_as_told" not in audit and "whereabouts" in audit["shown"]


def test_no_information_at_once_stays_no_information_when_released_after_the_person_is_protected(
        hq_app, hq_client, enroll):
    asked = ask(hq_client, SATO["name"], SATO["birth_date"], "household_family", address=SATO["address"]).get_json()
    assert asked["status"] == "pending_review" and asked["information_exists"] is None   # unknown then
    kiosk = Kiosk(hq_client, enroll("H031"), "dev-a")
    kiosk.send(("checkin", SATO, {"stay_type": "in_shelter"}),
               ("consent", SATO, {"consent": "public", "never_disclose": True}))
    assert told(check(hq_client, asked))["information_exists"] is None
    log_in(hq_app, hq_client)
    assert decide(hq_client, asked["inquiry_id"]).status_code == 302
    assert told(check(hq_client, asked)) == {"status": "released", "information_exists": False, **NOTHING_MORE,
                                             "pending_review": False}
    assert "kept_as_told" not in released_audit(hq_app, asked["inquiry_id"])
