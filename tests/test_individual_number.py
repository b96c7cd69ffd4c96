"""番号法 §20: a 12-digit Individual Number typed into any free-text field is refused before it is
stored, logged or synced; other numbers (phones, addresses, codes) are not."""
import pytest
from hypothesis import given, strategies as st

from evac.events import InvalidEvent, parse_event
from evac.individual_number import (
    check_digit, contains_individual_number, is_individual_number, looks_like_individual_number_not_phone,
)

VALID = "123456789018"   # a number with a correct check digit (not anyone's)


def test_the_check_digit_is_the_one_the_law_gives():
    assert check_digit("12345678901") == 8 and is_individual_number(VALID)
    assert not is_individual_number("123456789012") and not is_individual_number("12345678901")


@pytest.mark.parametrize("text", [VALID, "1234 5678 9018", "1234-5678-9018", "番号は１２３４５６７８９０１８です",
                                  # what a Japanese IME offers between digits, and how people space them
                                  "1234−5678−9018", "1234‐5678‐9018", "1234ー5678ー9018", "1234－5678－9018",
                                  "1234 - 5678 - 9018", "1234  5678\t9018", "1234.5678.9018", "1234/5678/9018",
                                  "１２３４　５６７８　９０１８", "1234_5678_9018"])
def test_found_however_it_is_written(text):
    assert contains_individual_number(text)


@pytest.mark.parametrize("text", ["090-1234-5678", "+81 90 1234 5678", "藤守1234-5", "焼津市本町5-9-1 101号",
                                  "1234567890180", "sakura7", "123456789012"])
def test_other_numbers_pass(text):
    assert not contains_individual_number(text)


def test_a_contact_may_hold_phone_numbers_but_not_the_number():
    # A phone from abroad is twelve digits too: written as a phone, it is taken for one.
    for contact in ("+81 90 1234 5678", "81-90-1234-5678", "電話 090-1234-5678 / 054-626-1111"):
        assert not contains_individual_number(contact, phones=True), contact
    for contact in (f"番号 {VALID}", "1234 5678 9018 まで", "1234−5678−9018"):
        assert contains_individual_number(contact, phones=True), contact


def test_a_phone_field_refuses_only_what_cannot_be_a_phone_number():
    assert looks_like_individual_number_not_phone(VALID)
    for phone in ("090-1234-5678", "0546261111", "+81 90 1234 5678", "819012345678"):
        assert not looks_like_individual_number_not_phone(phone), phone


@given(st.text(alphabet="焼津市あいう ", max_size=10), st.integers(0, 10**11 - 1), st.text(alphabet="様です。", max_size=5))
def test_any_valid_number_inside_text_is_found(before, first_eleven, after):
    eleven = f"{first_eleven:011d}"
    assert contains_individual_number(f"{before}{eleven}{check_digit(eleven)}{after}")


BASE = {"kiosk_id": "k", "seq": 1, "hlc": 5, "shelter_id": "H001",
        "person": {"name": "焼津 花", "birth_date": "1990-01-01", "sex": "female", "address": "焼津市本町1-1"}}


@pytest.mark.parametrize("event", [
    {"type": "status", "data": {"status": "safe", "note": f"マイナンバー {VALID}"}},
    {"type": "consent", "data": {"consent": "family", "family_code": VALID, "never_disclose": False}},
    {"type": "details", "data": {"home_damage": "none", "contact_phone": VALID}},
    {"type": "checkin", "person": {**BASE["person"], "address": f"焼津市本町1-1 {VALID}"}},
])
def test_events_refuse_the_number_in_every_free_text_field(event):
    with pytest.raises(InvalidEvent, match="Individual Number"):
        parse_event({**BASE, **event})


def test_events_keep_phones_and_addresses():
    ev = parse_event({**BASE, "type": "details", "data": {"home_damage": "none", "contact_phone": "090-1234-5678"}})
    assert ev.data["contact_phone"] == "090-1234-5678"


@pytest.mark.parametrize("field, value", [("contact", f"マイナンバー {VALID}"), ("contact", "1234−5678−9018"),
                                          ("family_code", "1234 5678 9018")])
def test_pre_registration_refuses_the_number_and_signs_nothing(hq_app, hq_client, field, value):
    # It would be stored at HQ and signed into the household's QR, and the kiosk would then refuse the QR.
    from sqlalchemy import func, select

    from hq_dashboard.db import db
    from hq_dashboard.models import PreregHousehold
    body = {"address": "焼津市本町1-1", "consent": "family", "family_code": "sakura2026", "contact": "090-1234-5678",
            "members": [{"name": "焼津 花", "birth_date": "1990-01-01", "sex": "female"}], field: value}
    answer = hq_client.post("/api/v1/prereg", json=body)
    assert answer.status_code == 422 and answer.get_json()["field"] == field
    assert "Individual Number" in answer.get_json()["message"]
    with hq_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(PreregHousehold)) == 0
    assert hq_client.post("/api/v1/prereg", json={**body, field: "+81 90 1234 5678" if field == "contact"
                                                  else "sakura2026"}).status_code == 201
