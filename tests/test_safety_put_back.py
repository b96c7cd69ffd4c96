"""An inquiry staff released with "no information" goes back to them when a record it names appears,
whether or not it asked for e-mail news and whether or not HQ sends e-mail: a family checking its answer
again with the reference and key must not keep reading "no information" about someone HQ now holds."""
from __future__ import annotations

from hq_dashboard.db import db
from hq_dashboard.models import AuditEntry
from tests.test_safety_review_fixes import Kiosk, ask, check, decide, log_in

TARO = {"name": "焼津 太郎", "birth_date": "1950-03-03", "sex": "male", "address": "焼津市本町1-1"}
OTHER = {"name": "大井川 健", "birth_date": "1975-03-03", "sex": "male", "address": "焼津市小川2"}


def test_a_no_information_answer_goes_back_to_staff_when_the_person_checks_in(hq_app, hq_client, enroll):
    assert not hq_app.config.get("SMTP_HOST"), "no e-mail at this HQ"
    log_in(hq_app, hq_client)
    asked = ask(hq_client, TARO["name"], TARO["birth_date"], "household_family", address=TARO["address"]).get_json()
    assert decide(hq_client, asked["inquiry_id"]).status_code == 302
    assert check(hq_client, asked)["information_exists"] is False

    kiosk = Kiosk(hq_client, enroll("H031"), "dev-a")
    kiosk.send(("checkin", OTHER, {"stay_type": "in_shelter"}))     # someone else: it stays answered
    assert check(hq_client, asked)["status"] == "released"
    kiosk.send(("checkin", TARO, {"stay_type": "in_shelter"}))
    again = check(hq_client, asked)
    assert again["status"] == "pending_review" and again["information_exists"] is None
    with hq_app.app_context():
        assert db.session.query(AuditEntry).filter_by(inquiry_id=asked["inquiry_id"], action="back_to_review").count() == 1
    queue = hq_client.get("/staff/inquiries").get_data(as_text=True)
    assert f'id="inquiry-{asked["inquiry_id"]}"' in queue

    # Released again against the record now: the family reads where he is.
    assert decide(hq_client, asked["inquiry_id"]).status_code == 302
    released = check(hq_client, asked)
    assert released["information_exists"] is True and released["whereabouts"]["state"] == "in_shelter"
    kiosk.send(("status", TARO, {"status": "safe"}))                 # a later record of his: nothing to put back
    assert check(hq_client, asked)["status"] == "released"


def test_a_correction_to_the_birth_date_asked_puts_it_back_too(hq_app, hq_client, enroll):
    """The batch's people are found by each record's birth date, a correction's new one included."""
    log_in(hq_app, hq_client)
    kiosk = Kiosk(hq_client, enroll("H031"), "dev-a")
    typo = {**TARO, "birth_date": "1950-03-08"}
    kiosk.send(("checkin", typo, {"stay_type": "in_shelter"}))
    asked = ask(hq_client, TARO["name"], TARO["birth_date"], "household_family", address=TARO["address"]).get_json()
    assert decide(hq_client, asked["inquiry_id"]).status_code == 302
    assert check(hq_client, asked)["information_exists"] is False
    kiosk.send(("correction", typo, {"person": TARO}))
    assert check(hq_client, asked)["status"] == "pending_review"
