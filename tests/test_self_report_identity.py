"""A self-report never rewrites who a kiosk recorded someone as.

The public self-report page takes anyone's word.  A report with a kiosk record's name, birth date and
address joins that record (one person), but its spelling of the name, its kana, its sex and its address
are only taken while nothing better is known: a family's kana inquiry and the staff roster go by what a
card or staff recorded, in whatever order the two arrive."""
from __future__ import annotations

import pytest

from hq_dashboard.db import db
from hq_dashboard.models import Person
from tests.test_safety_review_fixes import Kiosk, csrf

AT_KIOSK = {"name": "髙橋 一郎", "name_kana": "タカハシ イチロウ", "birth_date": "1950-03-03", "sex": "male",
            "address": "静岡県焼津市藤守１２３４番地の５"}
# The same key (高 for 髙, the address typed short), another kana and sex.
SELF_SAID = {"name": "高橋一郎", "name_kana": "ダレカ ホカノヒト", "birth_date": "1950-03-03", "sex": "female",
             "address": "藤守1234-5"}


def self_report(client, person):
    form = {**person, "where": "at_home", "consent": "none", "family_code": "",
            "csrf_token": csrf(client, "/safety/self-report")}
    assert client.post("/safety/self-report", data=form).status_code == 201


def persons(app) -> list[tuple]:
    with app.app_context():
        return [(p.name, p.name_kana, p.sex, p.address, p.state)
                for p in db.session.scalars(db.select(Person).order_by(Person.id))]


@pytest.mark.parametrize("self_report_first", [False, True])
def test_a_self_report_joins_a_kiosk_record_without_rewriting_it(hq_app, hq_client, enroll, self_report_first):
    kiosk = Kiosk(hq_client, enroll("H031"), "dev-a")
    if self_report_first:
        self_report(hq_client, SELF_SAID)
    # The kiosk's record is dated before the self-report (2025): it arrives later or earlier, it stands.
    kiosk.send(("checkin", AT_KIOSK, {"stay_type": "in_shelter"}))
    if not self_report_first:
        self_report(hq_client, SELF_SAID)
    [(name, kana, sex, address, _)] = persons(hq_app)
    assert (name, kana, sex, address) == (AT_KIOSK["name"], AT_KIOSK["name_kana"], "male", AT_KIOSK["address"])


def test_a_later_kiosk_record_still_rewrites_and_self_reports_speak_for_the_self_reported(hq_app, hq_client, enroll):
    self_report(hq_client, SELF_SAID)
    assert persons(hq_app)[0][:4] == ("高橋一郎", "ダレカ ホカノヒト", "female", "藤守1234-5"), \
        "known only from the report: the report is all there is"
    self_report(hq_client, {**SELF_SAID, "name_kana": "タカハシ イチロウ"})
    assert persons(hq_app)[0][1] == "タカハシ イチロウ", "a later report of the self-reported rewrites it"
    kiosk = Kiosk(hq_client, enroll("H031"), "dev-a")
    kiosk.send(("checkin", {**AT_KIOSK, "name_kana": ""}, {"stay_type": "in_shelter"}))
    name, kana, sex, address, state = persons(hq_app)[0]
    # The card gave no kana: the reported one stays until a kiosk gives one.
    assert (name, kana, sex, address, state) == (AT_KIOSK["name"], "タカハシ イチロウ", "male", AT_KIOSK["address"],
                                                 "checked_in")
    kiosk.send(("register", {**AT_KIOSK, "name_kana": "タカハシ イチロー"}, {}))
    assert persons(hq_app)[0][1] == "タカハシ イチロー"


def test_a_corrected_person_is_named_by_the_kiosks_too_whatever_a_self_report_says_later():
    from evac.corrections import Said, current_identity
    from evac.events import Person, order_key
    typo = Person("高橋 一朗", "1950-03-03", "male", "藤守1234-5", "タカハシ イチロウ")
    right = Person("高橋 一郎", "1950-03-03", "male", "藤守1234-5", "タカハシ イチロウ")
    said = [Said(order_key(10, "dev-a", 1), "checkin", typo, {}),
            Said(order_key(20, "dev-a", 2), "correction", typo, {"person": right.to_wire()}),
            Said(order_key(30, "hq-self-report", 1), "self_report",
                 Person("高橋 一郎", "1950-03-03", "female", "", "ダレカ"), {})]
    now = current_identity(said)
    assert (now.person.sex, now.person.name_kana, now.order) == ("male", "タカハシ イチロウ", said[1].order)
    # With no kiosk statement at all, the self-report is what there is.
    assert current_identity(said[2:]).person.name_kana == "ダレカ"
