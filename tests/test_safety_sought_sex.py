"""The sex of the person sought, when the family gives it, is kept with the inquiry at HQ: a name asked in
kana is near every card's kanji-only record born that day (a My Number card gives no reading), and the sex
leaves out those of the other sex, on the queue and at the release as when the inquiry came."""
from __future__ import annotations

import re

from evac.disclosure import InvalidInquiry, parse_inquiry
from hq_dashboard.db import db
from hq_dashboard.models import Inquiry
from tests.test_family_forms_all_errors import csrf, error_beside
from tests.test_safety_release_choice import radios, release
from tests.test_safety_review_fixes import INQUIRER, Kiosk, log_in

BORN = "1975-05-05"
CARD_TARO = {"name": "山田 太郎", "birth_date": BORN, "sex": "male", "address": "焼津市本町1-1"}
CARD_HANA = {"name": "佐藤 花", "birth_date": BORN, "sex": "female", "address": "焼津市本町2-2"}


def record_id(app, name):
    from hq_dashboard.models import Person
    with app.app_context():
        return db.session.query(Person.id).filter_by(name=name).scalar()


def form(**more):
    return {"inquirer_name": "山田 花子", "inquirer_address": "東京都港区1-1", "inquirer_contact": "090-1234-5678",
            "relationship": "household_family", "reason": "夫の安否", "sought_name": "やまだ たろう",
            "sought_birth_date": BORN, **more}


def test_the_sex_asked_leaves_out_the_card_records_of_the_other_sex(hq_app, hq_client, enroll):
    Kiosk(hq_client, enroll("H031"), "dev-a").send(("checkin", CARD_TARO, {"stay_type": "in_shelter"}),
                                                  ("checkin", CARD_HANA, {"stay_type": "in_shelter"}))
    taro, hana = record_id(hq_app, CARD_TARO["name"]), record_id(hq_app, CARD_HANA["name"])
    with_sex = hq_client.post("/safety/", data={**form(sought_sex="male"), "csrf_token": csrf(hq_client, "/safety/")},
                              environ_base={"REMOTE_ADDR": "10.40.0.1"}, follow_redirects=True)
    without = hq_client.post("/safety/", data={**form(), "csrf_token": csrf(hq_client, "/safety/")},
                             environ_base={"REMOTE_ADDR": "10.40.0.2"}, follow_redirects=True)
    assert with_sex.status_code == without.status_code == 200
    refs = [re.search(r'id="reference">([^<]+)<', p.get_data(as_text=True)).group(1) for p in (with_sex, without)]
    with hq_app.app_context():
        assert [db.session.get(Inquiry, r).sought_sex for r in refs] == ["male", ""]
    log_in(hq_app, hq_client)
    queue = hq_client.get("/staff/inquiries").get_data(as_text=True)
    assert radios(queue, refs[0]) == [str(taro)]
    assert sorted(radios(queue, refs[1])) == sorted([str(taro), str(hana)])
    # The release checks the choice against the same records: the other sex's is not one of them.
    assert release(hq_client, refs[0], hana).status_code == 422
    assert release(hq_client, refs[0], taro).status_code == 302


def test_a_sex_that_is_none_of_the_choices_is_said_beside_its_field_and_nothing_is_kept(hq_app, hq_client):
    page = hq_client.post("/safety/?lang=en", data={**form(sought_sex="unknown"), "csrf_token": csrf(hq_client, "/safety/")},
                          environ_base={"REMOTE_ADDR": "10.40.0.3"})
    html = page.get_data(as_text=True)
    assert page.status_code == 422
    assert error_beside(html, "sought_sex") == ("Please choose their sex from the list, or leave it empty if you do "
                                                "not know it.")
    assert 'value="やまだ たろう"' in html, "what was typed stays"
    with hq_app.app_context():
        assert db.session.query(Inquiry).count() == 0
    api = hq_client.post("/api/v1/safety/inquiries", json={
        "inquirer": INQUIRER, "relationship": "other", "reason": "r",
        "sought": {"name": "山田 太郎", "birth_date": BORN, "sex": 1}}, environ_base={"REMOTE_ADDR": "10.40.0.4"})
    assert api.status_code == 422 and "sought.sex" in api.get_json()["fields"], api.get_json()


def test_the_rule_reads_the_sex_when_given_and_nothing_when_not():
    base = {"inquirer": INQUIRER, "relationship": "other", "reason": "r", "sought": {"name": "山田 太郎", "birth_date": BORN}}
    assert parse_inquiry(base).sought_sex == ""
    assert parse_inquiry({**base, "sought": {**base["sought"], "sex": "female"}}).sought_sex == "female"
    try:
        parse_inquiry({**base, "sought": {**base["sought"], "sex": "f"}})
    except InvalidInquiry as exc:
        assert set(exc.errors) == {"sought.sex"}
    else:
        raise AssertionError("a sex outside the choices was taken")
