"""A person a shelter sent to hospital is told as in hospital (registered with the shelter), never as "in
the shelter"; told without the injury, the whereabouts of everyone say only the shelter they are registered
with, so that the words for a hospitalised person tell nothing a tier may not be told."""
from __future__ import annotations

import pytest

from evac.disclosure import IN_HOSPITAL, REGISTERED, PersonFacts, answer_after_review, answer_now, parse_inquiry
from hq_dashboard import pfif_exchange
from hq_dashboard.db import db
from tests.test_notifications import KEN, ask, hq, release  # noqa: F401 (hq: the fixture)

IN_SHELTER = {"state": "in_shelter", "shelter_id": "H031", "shelter_name": "焼津中学校"}


def facts(status="hospitalised", where=IN_SHELTER, **more) -> PersonFacts:
    return PersonFacts(name="髙橋 花子", name_kana="タカハシ ハナコ", birth_date="1950-04-01",
                       address="焼津市本町5-9-1", whereabouts=where, injury_or_illness=status, **more)


def inquiry(relationship):
    return parse_inquiry({"inquirer": {"name": "高橋 一郎", "address": "東京都港区1-1", "contact": "090-0000-0000"},
                          "relationship": relationship, "reason": "家族の安否を知りたい",
                          "sought": {"name": "高橋 花子", "birth_date": "1950-04-01"}})


@pytest.mark.parametrize("stay", ["in_shelter", "at_home", "in_car"])
def test_told_with_the_injury_a_hospitalised_person_is_in_hospital_registered_with_the_shelter(stay):
    answer = answer_after_review(inquiry("household_family"), facts(where={**IN_SHELTER, "state": stay}))
    assert answer.whereabouts == {**IN_SHELTER, "state": IN_HOSPITAL} and answer.injury_or_illness == "hospitalised"
    # At once, by the person's public consent, too.
    now, _, _ = answer_now(inquiry("other"), [facts(consent="public")])
    assert now.whereabouts["state"] == IN_HOSPITAL


@pytest.mark.parametrize("status", ["safe", "injured", "ill", ""])
def test_anyone_not_in_hospital_is_told_where_they_stay(status):
    assert answer_after_review(inquiry("household_family"), facts(status)).whereabouts == IN_SHELTER


def test_told_without_the_injury_whereabouts_do_not_tell_a_hospital_stay():
    # A consent from the self-report page widens an acquaintance's answer by the whereabouts, not the injury.
    def told(status, stay="in_shelter"):
        person = facts(status, {**IN_SHELTER, "state": stay}, consent="public", consent_self_reported=True)
        answer = answer_after_review(inquiry("other"), person)
        assert answer.injury_or_illness is None
        return answer.whereabouts
    assert told("hospitalised") == told("safe") == told("injured", "at_home") == {**IN_SHELTER, "state": REGISTERED}


def test_left_the_shelter_and_self_reported_whereabouts_are_told_as_they_are():
    left = {"state": "left_shelter", "shelter_id": "H031", "shelter_name": None}
    assert answer_after_review(inquiry("household_family"), facts(where=left)).whereabouts == left
    reported = {"state": "at_home", "shelter_id": None, "shelter_name": None, "self_reported": True}
    assert answer_after_review(inquiry("household_family"), facts(where=reported)).whereabouts == reported


def test_the_answer_page_the_email_and_the_api_say_in_hospital(hq, smtp):  # noqa: F811
    client, kiosk = hq
    answer = ask(client, KEN, "household_family")
    kiosk({"type": "checkin", "person": KEN, "data": {"stay_type": "in_shelter"}},
          {"type": "status", "person": KEN, "data": {"status": "hospitalised"}})
    release(client, answer["inquiry_id"])
    ref, key = answer["inquiry_id"], answer["access_key"]
    said = {"ja": "入院中（焼津中学校に登録）", "en": "in hospital (registered with 焼津中学校)",
            "easy": "にゅういん して いる（焼津中学校 に とうろく）", "zh": "住院中（已在焼津中学校登记）"}
    for lang, words in said.items():
        page = client.get(f"/safety/check?id={ref}&key={key}&lang={lang}").get_data(as_text=True)
        assert words in page, (lang, page)
    page = client.get(f"/safety/check?id={ref}&key={key}&lang=ja").get_data(as_text=True)
    assert "避難所 焼津中学校" not in page   # the words for "in the shelter"
    api = client.get(f"/api/v1/safety/inquiries/{ref}?key={key}").get_json()
    assert api["whereabouts"]["state"] == IN_HOSPITAL and api["injury_or_illness"] == "hospitalised"
    mail = smtp[1].messages[0].get_payload(decode=True).decode()
    assert "入院中（焼津中学校に登録）" in mail and "in hospital (registered with 焼津中学校)" in mail


def test_pfif_publishes_a_hospitalised_person_as_in_hospital(hq, hq_app):  # noqa: F811
    client, kiosk = hq
    kiosk({"type": "checkin", "person": KEN, "data": {"stay_type": "in_shelter"}},
          {"type": "consent", "person": KEN, "data": {"consent": "public"}},
          {"type": "status", "person": KEN, "data": {"status": "hospitalised"}})
    with hq_app.app_context():
        document, count = pfif_exchange.export(db.session, "yaizu.example.jp")
    assert count == 1
    text = document.decode()
    assert "入院中（焼津中学校に登録） / in hospital, registered with 焼津中学校" in text
    assert "避難所 焼津中学校" not in text
