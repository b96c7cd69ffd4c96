"""The disclosure rules of 災対法 §86-15 as evac.disclosure applies them (pure, no database)."""
import pytest

from evac.disclosure import (
    InvalidInquiry, PersonFacts, answer_after_review, answer_now, matches, name_forms, parse_inquiry,
)

HANAKO = PersonFacts(name="髙橋 花子", name_kana="タカハシ ハナコ", birth_date="1950-04-01",
                     address="静岡県焼津市本町5-9-1", whereabouts={"state": "in_shelter", "shelter_id": "H031",
                                                             "shelter_name": "焼津中学校"},
                     injury_or_illness="injured", contact="054-000-0000")


def inquiry(relationship="household_family", name="高橋 花子", birth="1950-04-01", address="", code=""):
    return parse_inquiry({"inquirer": {"name": "高橋 一郎", "address": "東京都港区1-1", "contact": "090-0000-0000"},
                          "relationship": relationship, "reason": "家族の安否を知りたい",
                          "sought": {"name": name, "birth_date": birth, "address": address},
                          "family_code": code})


@pytest.mark.parametrize("name", ["高橋 花子", "高橋花子", "花子 高橋", "花子　髙橋", "はなこ たかはし",
                                  "タカハシハナコ", "ﾀｶﾊｼ ﾊﾅｺ"])
def test_a_name_matches_in_either_order_with_or_without_a_space_in_kanji_or_kana(name):
    assert matches(inquiry(name=name), HANAKO)


@pytest.mark.parametrize("name,birth,address", [("高橋 花", "1950-04-01", ""), ("高橋 花子", "1950-04-02", ""),
                                                ("高橋", "1950-04-01", ""), ("高橋 花子", "1950-04-01", "焼津市小川1")])
def test_no_partial_or_fuzzy_match(name, birth, address):
    assert not matches(inquiry(name=name, birth=birth, address=address), HANAKO)


def test_a_partial_address_is_enough_when_it_agrees():
    assert matches(inquiry(address="焼津市本町"), HANAKO)
    assert matches(inquiry(address="本町５－９－１"), HANAKO)


def test_name_forms_of_a_latin_name():
    assert name_forms("Silva Ana") == name_forms("ana SILVA") == name_forms("ANA  silva")


@pytest.mark.parametrize("relationship,shown", [
    ("household_family", {"information_exists": True, "whereabouts": HANAKO.whereabouts,
                          "injury_or_illness": "injured", "contact": "054-000-0000"}),
    ("relative", {"information_exists": True, "whereabouts": None, "injury_or_illness": "injured", "contact": None}),
    ("workplace", {"information_exists": True, "whereabouts": None, "injury_or_illness": "injured", "contact": None}),
    ("other", {"information_exists": True, "whereabouts": None, "injury_or_illness": None, "contact": None}),
])
def test_each_tier_after_review(relationship, shown):
    assert answer_after_review(inquiry(relationship), HANAKO).to_json() == {**shown, "pending_review": False}


def test_without_consent_nothing_is_said_at_once_and_it_goes_to_review():
    for relationship in ("household_family", "relative", "workplace", "other"):
        answer, person, flagged = answer_now(inquiry(relationship), [HANAKO])
        assert answer.to_json() == {"information_exists": None, "whereabouts": None, "injury_or_illness": None,
                                    "contact": None, "pending_review": True}
        assert person is HANAKO and not flagged


def test_public_consent_answers_anyone_at_once_but_never_the_contact():
    public = PersonFacts(**{**HANAKO.__dict__, "consent": "public"})
    answer, _, _ = answer_now(inquiry("other"), [public])
    assert answer.to_json() == {"information_exists": True, "whereabouts": HANAKO.whereabouts,
                                "injury_or_illness": "injured", "contact": None, "pending_review": False}
    # A household member may also have the contact: that part waits for review.
    assert answer_now(inquiry("household_family"), [public])[0].pending_review


def test_the_family_code_widens_only_when_it_is_right():
    family = PersonFacts(**{**HANAKO.__dict__, "consent": "family", "family_code": "Sakura2024"})
    right, _, _ = answer_now(inquiry("other", code="sakura2024"), [family])
    assert right.to_json()["whereabouts"] == HANAKO.whereabouts and right.contact == "054-000-0000"
    assert not right.pending_review
    wrong, _, _ = answer_now(inquiry("other", code="Sakura2025"), [family])
    assert wrong.information_exists is None and wrong.whereabouts is None and wrong.pending_review


def test_never_disclose_is_answered_exactly_as_unknown_and_flagged():
    hidden = PersonFacts(**{**HANAKO.__dict__, "consent": "public", "never_disclose": True})
    unknown_now, _, unknown_flag = answer_now(inquiry(), [])
    hidden_now, person, flagged = answer_now(inquiry(), [hidden])
    assert hidden_now.to_json() == unknown_now.to_json() and person is None
    assert flagged and not unknown_flag
    assert answer_after_review(inquiry(), hidden).to_json() == answer_after_review(inquiry(), None).to_json()
    assert answer_after_review(inquiry(), None).information_exists is False


def test_two_people_matching_is_answered_as_unknown():
    twin = PersonFacts(**{**HANAKO.__dict__, "address": "焼津市小川1", "consent": "public"})
    public = PersonFacts(**{**HANAKO.__dict__, "consent": "public"})
    answer, person, _ = answer_now(inquiry(), [public, twin])
    assert person is None and answer.to_json() == answer_now(inquiry(), [])[0].to_json()


@pytest.mark.parametrize("raw,field", [
    ({"inquirer": "someone"}, "inquirer"),
    ({"inquirer": {"name": "", "address": "a", "contact": "c"}}, "inquirer.name"),
    ({"relationship": "neighbour"}, "relationship"),
    ({"sought": {"name": "高橋 花子", "birth_date": "1850-01-01"}}, "sought.birth_date"),
    ({"sought": {"name": "高橋 花子", "birth_date": "2999-01-01"}}, "sought.birth_date"),
    ({"sought": {"name": "高橋 花子", "birth_date": "1990-02-30"}}, "sought.birth_date"),
    ({"sought": {"name": "高橋 花子"}}, "sought.birth_date"),
    ({"sought": {"name": "<script>alert(1)</script>", "birth_date": "1950-04-01"}}, "sought.name"),
    ({"inquirer": {"name": "x" * 101, "address": "a", "contact": "c"}}, "inquirer.name"),
    ({"reason": "r" * 501}, "reason"),
    ({"sought": {"name": "・・ ", "birth_date": "1950-04-01"}}, "sought.name"),
    ({"family_code": ["x"]}, "family_code"),
    # shorter than any family's code (safety review: taken silently, and counted as a wrong guess)
    ({"family_code": "ab"}, "family_code"), ({"family_code": "!!"}, "family_code"), ({"family_code": "ｕｍｉ "}, "family_code"),
    # bidirectional formatting marks: the queue would show 焼津市3-2-1 for 焼津市1-2-3
    ({"inquirer": {"name": "高橋 一郎", "address": "焼津市\u202e1-2-3", "contact": "090"}}, "inquirer.address"),
    ({"inquirer": {"name": "高橋 一郎", "address": "焼津市1", "contact": "090\u2067-1234"}}, "inquirer.contact"),
    ({"sought": {"name": "高橋\u200f 花子", "birth_date": "1950-04-01"}}, "sought.name"),
])
def test_bad_inquiries_say_which_field_is_wrong(raw, field):
    good = {"inquirer": {"name": "高橋 一郎", "address": "東京都港区1-1", "contact": "090"},
            "relationship": "relative", "reason": "心配", "sought": {"name": "高橋 花子", "birth_date": "1950-04-01"}}
    with pytest.raises(InvalidInquiry) as exc:
        parse_inquiry({**good, **raw})
    assert field in exc.value.errors and exc.value.errors[field]


def test_not_an_object():
    with pytest.raises(InvalidInquiry, match="JSON object"):
        parse_inquiry(["x"])


def test_one_protected_record_protects_every_record_of_that_name_and_birth_date():
    """The same person on record twice (card address, typed address): the protected one wins even
    when the inquirer's address picks out the other record, and HQ is alerted."""
    protected = PersonFacts(**{**HANAKO.__dict__, "never_disclose": True})
    typed = PersonFacts(**{**HANAKO.__dict__, "address": "焼津市大住100", "consent": "public"})
    answer, person, flagged = answer_now(inquiry("other", address="焼津市大住"), [protected, typed])
    assert person is None and flagged
    assert answer.to_json() == answer_now(inquiry("other"), [])[0].to_json()
