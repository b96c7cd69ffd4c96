"""The public self-report page cannot be used to tell a protected name from an unknown one (災対法 §86-15).

The attack: self-report a name (any consent), then ask about it.  If the city answered with that report,
an unknown name would come back "safe at home" and a protected one "no information".  A person known only
from self-reports is therefore answered as nobody, for every relationship, at once and after review, and
gives no e-mail news; staff are told why on the queue."""
from __future__ import annotations

import re

import pytest

from evac.disclosure import answer_for_notice
from hq_dashboard import safety
from hq_dashboard.db import db
from hq_dashboard.models import Inquiry
from tests.test_safety_review_fixes import Kiosk, ask, at_hq, check, csrf, decide, log_in

BORN = "1985-05-05"
PROTECTED = {"name": "藤枝 光", "birth_date": BORN, "sex": "female", "address": "焼津市大住3"}
UNKNOWN = {"name": "藤枝 茜", "birth_date": BORN, "sex": "female", "address": "焼津市大住3"}


def self_report(client, person, consent="public", code=""):
    form = {**person, "name_kana": "", "where": "at_home", "consent": consent, "family_code": code,
            "csrf_token": csrf(client, "/safety/self-report")}
    return client.post("/safety/self-report", data=form)


def what_the_inquirer_sees(client, asked) -> tuple[dict, str]:
    """The JSON answer and the answer page, without what differs between any two inquiries (their reference
    and key)."""
    answer = {k: v for k, v in check(client, asked).items() if k not in ("inquiry_id", "access_key")}
    page = client.get(f"/safety/check?id={asked['inquiry_id']}&key={asked['access_key']}",
                      headers={"Accept-Language": "ja"}).get_data(as_text=True)
    page = page.replace(asked["inquiry_id"], "REF").replace(asked["access_key"], "KEY")
    return answer, re.sub(r'name="csrf_token" value="[^"]+"', "", page)


@pytest.mark.parametrize("relationship,consent,code", [("other", "public", ""), ("household_family", "none", ""),
                                                       ("relative", "family", "Attacker99")])
def test_a_self_report_then_an_inquiry_tells_a_protected_name_from_nobody_in_no_way(
        hq_app, hq_client, enroll, relationship, consent, code):
    Kiosk(hq_client, enroll("H031"), "dev-a").send(
        ("checkin", PROTECTED, {"stay_type": "in_shelter"}),
        ("consent", PROTECTED, {"consent": "none", "never_disclose": True}))
    for person in (PROTECTED, UNKNOWN):   # the attacker reports both names "safe at home"
        assert self_report(hq_client, person, consent, code).status_code == 201
    log_in(hq_app, hq_client)
    seen = []
    for i, person in enumerate((PROTECTED, UNKNOWN)):
        asked = ask(hq_client, person["name"], BORN, relationship, code=code, addr=f"10.9.0.{i}",
                    email="asker@example.jp").get_json()
        at_once = {k: v for k, v in asked.items() if k not in ("inquiry_id", "access_key")}
        assert decide(hq_client, asked["inquiry_id"]).status_code == 302
        seen.append((at_once, what_the_inquirer_sees(hq_client, asked)))
        with hq_app.app_context():
            row = db.session.get(Inquiry, asked["inquiry_id"])
            assert answer_for_notice(row.status, *safety.inquiry_and_person(db.session, row)) is None, "no news"
    assert seen[0] == seen[1]
    at_once, (released, page) = seen[0]
    assert at_once["status"] == "pending_review" and at_once["information_exists"] is None
    assert released["status"] == "released" and released["information_exists"] is False
    assert released["whereabouts"] is None and "市の自己申告ページでの報告（未確認）" not in page
    assert 'id="no-information-note"' in page, "a family is told that no information does not mean not safe"


def test_the_queue_says_a_record_known_only_from_self_reports_is_answered_as_nobody(hq_app, hq_client):
    """One self-reported record the inquiry names: said beside the match.  Two of the same name and birth
    date (no address asked): each is marked among the records to choose."""
    assert self_report(hq_client, UNKNOWN).status_code == 201
    log_in(hq_app, hq_client)
    one = ask(hq_client, UNKNOWN["name"], BORN, "household_family", addr="10.9.1.1").get_json()
    queue = hq_client.get("/staff/inquiries").get_data(as_text=True)
    mine = queue.split(f'id="inquiry-{one["inquiry_id"]}"')[1]
    assert 'data-testid="only-self-reported"' in mine and 'data-testid="self-consent"' not in mine
    assert "「情報なし」と同じ回答" in mine, "what a release tells: nothing"
    assert self_report(hq_client, {**UNKNOWN, "address": "焼津市本町9"}).status_code == 201
    several = ask(hq_client, UNKNOWN["name"], BORN, "household_family", addr="10.9.1.2").get_json()
    queue = hq_client.get("/staff/inquiries").get_data(as_text=True)
    mine = queue.split(f'id="inquiry-{several["inquiry_id"]}"')[1]
    assert mine.count('data-testid="record-only-self-reported"') == 2


def test_a_self_report_after_a_no_information_release_brings_back_neither_a_protected_nor_an_unknown_name(
        hq_app, hq_client, enroll):
    """Both released "no information"; the attacker then self-reports both names at the protected person's
    address, and any kiosk batch of that birth date arrives: both stay as they were (before, only the unknown
    name's inquiry went back to staff, since her report merged into the protected record)."""
    kiosk = Kiosk(hq_client, enroll("H031"), "dev-a")
    kiosk.send(("checkin", PROTECTED, {"stay_type": "in_shelter"}),
               ("consent", PROTECTED, {"consent": "none", "never_disclose": True}))
    log_in(hq_app, hq_client)
    asked = [ask(hq_client, p["name"], BORN, "other", addr=f"10.9.2.{i}").get_json()
             for i, p in enumerate((PROTECTED, UNKNOWN))]
    for a in asked:
        assert decide(hq_client, a["inquiry_id"]).status_code == 302
    for person in (PROTECTED, UNKNOWN):
        assert self_report(hq_client, person).status_code == 201
    kiosk.send(("checkin", {"name": "大井川 健", "birth_date": BORN, "sex": "male", "address": "焼津市小川2"},
                {"stay_type": "in_shelter"}))
    assert [at_hq(hq_app, a) for a in asked] == ["released", "released"]


def test_a_self_reported_person_checked_in_later_brings_the_inquiry_back(hq_app, hq_client, enroll):
    """Released "no information" while she was known only from her own report; a kiosk then records her:
    the family's inquiry goes back to staff, who can now answer it."""
    assert self_report(hq_client, UNKNOWN).status_code == 201
    log_in(hq_app, hq_client)
    asked = ask(hq_client, UNKNOWN["name"], BORN, "household_family", addr="10.9.3.1").get_json()
    assert decide(hq_client, asked["inquiry_id"]).status_code == 302
    assert check(hq_client, asked)["information_exists"] is False
    Kiosk(hq_client, enroll("H031"), "dev-a").send(("checkin", UNKNOWN, {"stay_type": "in_shelter"}))
    assert at_hq(hq_app, asked) == "pending_review"
    assert decide(hq_client, asked["inquiry_id"]).status_code == 302
    assert check(hq_client, asked)["whereabouts"]["shelter_id"] == "H031"
