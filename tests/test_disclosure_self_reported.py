"""A consent given on the public self-report page, where anyone can claim to be anyone (pure rules)."""
import dataclasses

import pytest

from evac.disclosure import answer_after_review, answer_for_notice, answer_now, identity_forms
from tests.test_disclosure import HANAKO, inquiry

SAFE_AT_HOME = {"state": "at_home", "shelter_id": None, "shelter_name": None, "self_reported": True}


@pytest.mark.parametrize("consent,code", [("public", ""), ("family", "Attacker99")])
def test_it_answers_nothing_at_once_and_after_review_only_what_the_report_says(consent, code):
    claimed = dataclasses.replace(HANAKO, consent=consent, family_code=code, consent_self_reported=True,
                                  whereabouts=SAFE_AT_HOME)
    asked = inquiry("other", code=code)
    answer, person, flagged = answer_now(asked, [claimed])
    assert answer.pending_review and not answer.shown and person is claimed and not flagged
    assert answer_for_notice("answered", asked, claimed) is None      # no e-mail news before review either
    released = answer_after_review(asked, claimed)
    if consent == "public":
        assert released.whereabouts == SAFE_AT_HOME
    # Whatever a kiosk recorded (injury, contact) stays out; the statutory tier still applies.
    assert released.information_exists and released.injury_or_illness is None and released.contact is None
    family = answer_after_review(inquiry("household_family", code=code), claimed)
    assert family.injury_or_illness == "injured" and family.contact == "054-000-0000"


def test_the_same_consent_from_a_kiosk_still_answers_at_once():
    given = dataclasses.replace(HANAKO, consent="public")
    answer, _, _ = answer_now(inquiry("other"), [given])
    assert answer.whereabouts == HANAKO.whereabouts and answer.injury_or_illness == "injured"


def test_identity_forms_are_what_an_inquiry_finds_a_person_by():
    forms = identity_forms("髙橋 花子", "タカハシ ハナコ", "1950-04-01")
    assert forms & identity_forms("花子 高橋", "", "1950-04-01")
    assert forms & identity_forms("鈴木 一", "たかはし はなこ", "1950-04-01")
    assert not forms & identity_forms("高橋 花子", "", "1950-04-02")


@pytest.mark.parametrize("relationship", ["other", "household_family"])
def test_someone_known_only_from_self_reports_is_answered_as_nobody(relationship):
    """Anyone can self-report a name and then ask about it: were their own report told back, a protected
    name (never told) would be told from an unknown one.  So a person nobody has seen is nobody, for every
    relationship, at once, after review and in e-mail news."""
    claimed = dataclasses.replace(HANAKO, consent="public", consent_self_reported=True, whereabouts=SAFE_AT_HOME,
                                  only_self_reported=True)
    asked = inquiry(relationship)
    answer, person, flagged = answer_now(asked, [claimed])
    nobody, _, _ = answer_now(asked, [])
    assert answer == nobody and answer.pending_review and not flagged
    assert person is claimed, "staff still see the record the inquiry found"
    assert answer_after_review(asked, claimed) == answer_after_review(asked, None)
    assert answer_after_review(asked, claimed).information_exists is False
    for status in ("answered", "released"):
        assert answer_for_notice(status, asked, claimed) is None
