"""The event types the staff tablet adds: consent (with never-disclose) and the paper form's details."""
import pytest

from evac.events import CONSENT, DETAILS, EVENT_TYPES, PERSON_TYPES, InvalidEvent, canonical_json, parse_event

PERSON = {"name": "焼津 花子", "birth_date": "1980-02-03", "sex": "female", "address": "焼津市本町1-1"}


def wire(etype, data):
    return {"kiosk_id": "kiosk-1", "seq": 1, "hlc": 99, "type": etype, "shelter_id": "H001",
            "person": PERSON, "data": data}


def test_both_types_are_person_events():
    assert CONSENT in EVENT_TYPES and DETAILS in EVENT_TYPES
    assert CONSENT in PERSON_TYPES and DETAILS in PERSON_TYPES


@pytest.mark.parametrize("data, expected", [
    ({"consent": "none"}, {"consent": "none", "never_disclose": False}),
    ({"consent": "public", "never_disclose": True}, {"consent": "public", "never_disclose": True}),
    ({"consent": "family", "family_code": " sakura7 "},
     {"consent": "family", "family_code": "sakura7", "never_disclose": False}),
])
def test_consent_is_kept_as_given(data, expected):
    ev = parse_event(wire(CONSENT, data))
    assert ev.data == expected
    assert canonical_json(parse_event(ev.to_wire()).to_wire()) == canonical_json(ev.to_wire())


@pytest.mark.parametrize("data, message", [
    ({}, "consent must be one of none, family, public"),
    ({"consent": "everyone"}, "consent must be one of"),
    ({"consent": "family", "family_code": "abc"}, "family code must be 4 to 32 characters"),
    ({"consent": "family", "family_code": "x" * 33}, "family code is too long"),
    ({"consent": "none", "family_code": "sakura7"}, "only goes with consent for the family"),
    ({"consent": "public", "family_code": "sakura7"}, "only goes with consent for the family"),
    ({"consent": "none", "never_disclose": "yes"}, "never_disclose must be true or false"),
    ({"consent": "none", "never_disclose": 1}, "never_disclose must be true or false"),
])
def test_bad_consent_is_refused_with_a_reason(data, message):
    with pytest.raises(InvalidEvent, match=message):
        parse_event(wire(CONSENT, data))


@pytest.mark.parametrize("data, expected", [
    ({}, {"home_damage": "unknown"}),
    ({"home_damage": "half", "contact_phone": "０５４-６２６-１１１１", "household_members": 4},
     {"home_damage": "half", "contact_phone": "054-626-1111", "household_members": 4}),
    ({"home_damage": "none", "contact_phone": "+81 90 1234 5678"},
     {"home_damage": "none", "contact_phone": "+81 90 1234 5678"}),
])
def test_details_are_kept_normalised(data, expected):
    ev = parse_event(wire(DETAILS, data))
    assert ev.data == expected
    assert parse_event(ev.to_wire()).data == expected


@pytest.mark.parametrize("data, message", [
    ({"home_damage": "flooded"}, "home damage must be one of none, partial, half, total, unknown"),
    ({"contact_phone": "call me"}, "contact phone must be a phone number"),
    ({"contact_phone": "12"}, "contact phone must be a phone number"),
    ({"household_members": 0}, "household members must be a whole number from 1 to 30"),
    ({"household_members": "3"}, "household members must be a whole number"),
    ({"household_members": True}, "household members must be a whole number"),
])
def test_bad_details_are_refused_with_a_reason(data, message):
    with pytest.raises(InvalidEvent, match=message):
        parse_event(wire(DETAILS, data))


def test_full_is_a_shelter_status():
    ev = parse_event({"kiosk_id": "k", "seq": 1, "hlc": 1, "type": "shelter_status", "shelter_id": "H001",
                      "data": {"status": "full"}})
    assert ev.data == {"status": "full"}


def test_family_consent_without_a_code_widens_nothing_but_is_kept():
    """Chosen on the screen or a pre-registration without a code: inquiries then wait for review."""
    raw = {"kiosk_id": "k1", "seq": 1, "hlc": 1, "type": "consent", "shelter_id": "H001",
           "person": {"name": "焼津 太郎", "birth_date": "1948-03-03", "sex": "male"}, "data": {"consent": "family"}}
    assert parse_event(raw).data == {"consent": "family", "never_disclose": False}
