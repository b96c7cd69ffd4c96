"""The inquirer's contact field takes phone numbers, as pre-registration's does (evac.individual_number,
phones=True): a twelve-digit phone number is not refused as a My Number; one typed bare still is."""
from __future__ import annotations

import pytest

from evac.disclosure import InvalidInquiry, parse_inquiry


def _body(contact: str) -> dict:
    return {"inquirer": {"name": "Maria Santos", "address": "焼津市本町1-1", "contact": contact},
            "relationship": "relative", "reason": "安否確認",
            "sought": {"name": "SANTOS JUAN", "birth_date": "1970-01-01"}}


# Each is 12 digits with a valid Individual Number check digit, written as a phone number.
@pytest.mark.parametrize("phone", ["+63 917 123 4507", "+81 90 1234 5606", "+81-90-1234-5606 (携帯)"])
def test_a_phone_number_with_twelve_digits_is_a_phone_number(hq_client, phone):
    assert parse_inquiry(_body(phone)).inquirer_contact == phone
    resp = hq_client.post("/api/v1/safety/inquiries", json=_body(phone))
    assert resp.status_code == 201, resp.get_json()


@pytest.mark.parametrize("number", ["1234 5678 9018", "マイナンバー 123456789018"])
def test_an_individual_number_typed_as_such_is_still_refused(hq_client, number):
    with pytest.raises(InvalidInquiry) as exc:
        parse_inquiry(_body(number))
    assert "Individual Number" in exc.value.errors["inquirer.contact"]
    resp = hq_client.post("/api/v1/safety/inquiries", json=_body(number))
    assert resp.status_code == 422 and "Individual Number" in resp.get_json()["fields"]["inquirer.contact"]
