"""The evacuee screen says a birth date before 1880 is too far in the past (check the year), as the staff
tablet does, not that it is in the wrong form; evac.dates tells the two apart."""
from __future__ import annotations

import datetime as dt
import time

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from evac.dates import NotADate, TooLongAgo, parse_typed_birth_date
from evac.prereg_qr import Household, Member, sign
from tests.screen_kiosk import screen_kiosk


KEY = Ed25519PrivateKey.generate()
FAMILY = Household("hh-1", "焼津市本町1-1", (Member("p-1", "焼津 太郎", "1948-03-03", "male"),),
                   consent="public", expires=int(time.time()) + 3600)


@pytest.fixture
def kiosk(tmp_path):
    with screen_kiosk(tmp_path, KEY) as client:
        yield client


def test_a_date_before_1880_is_too_long_ago_not_a_wrong_form():
    today = dt.date(2026, 11, 26)
    for typed in ("1879-12-31", "1879年12月31日", "明治12年12月31日", "M12.12.31"):
        with pytest.raises(TooLongAgo) as refused:
            parse_typed_birth_date(typed, today)
        assert isinstance(refused.value, NotADate) and refused.value.oldest == dt.date(1880, 1, 1)
    assert parse_typed_birth_date("1880-01-01", today) == dt.date(1880, 1, 1)
    with pytest.raises(NotADate) as wrong_form:
        parse_typed_birth_date("1879-W07-1", today)
    assert not isinstance(wrong_form.value, TooLongAgo)


@pytest.mark.parametrize("lang, too_long_ago, wrong_form", [
    ("ja", "この生年月日は1880年より前です。年を確かめてください。", "生年月日を 1980-02-17"),
    ("en", "This date of birth is before 1880: check the year.", "Enter the birth date like 1980-02-17"),
    ("pt", "Esta data de nascimento é anterior a 1880: confira o ano.", "Digite a data de nascimento"),
])
def test_the_screen_says_the_year_is_too_far_back_in_the_chosen_language(kiosk, lang, too_long_ago, wrong_form):
    token = kiosk.post("/screen/qr", json={"qr": sign(FAMILY, KEY)}).get_json()["token"]

    def member(birth):
        resp = kiosk.post(f"/screen/member?lang={lang}", json={
            "token": token, "present": [0], "members": [], "name": "焼津 梅", "birth_date": birth, "sex": "female"})
        assert resp.status_code == 422, resp.get_json()
        return resp.get_json()["errors"]["member.birth_date"]

    assert member("1879-02-17") == too_long_ago
    assert member("明治5年2月17日") == too_long_ago
    assert member("1979-W07-1").startswith(wrong_form)
    # no such day: said as such, not as the form to follow (tests/test_kiosk_input_checks.py)
    assert not member("1979-02-30").startswith(wrong_form)
    # The check-in itself says the same, and writes nothing.
    resp = kiosk.post(f"/screen/checkin?lang={lang}", json={
        "token": token, "present": [0], "stay_type": "in_shelter", "needs": [[]], "disclosure": "none",
        "members": [{"name": "焼津 梅", "birth_date": "1879-02-17", "sex": "female"}]})
    assert resp.status_code == 422 and resp.get_json()["errors"]["members.0.birth_date"] == too_long_ago
    assert kiosk.store.last_seq == 0
