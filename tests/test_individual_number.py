"""番号法 §20: a 12-digit Individual Number typed into any free-text field is refused before it is
stored, logged or synced; other numbers (phones, addresses, codes) are not."""
import pytest
from hypothesis import assume, given, strategies as st

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
                                  "1234567890180", "sakura7", "123456789012",
                                  # kanji numerals with place values, as addresses and names have them
                                  "焼津市本町三丁目四番五号", "一二三 四郎", "千二百三十四万五千六百七十八", "一二三四五六七八九〇一二"])
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


# How people (or a copy from another app) can disguise the number: digits of other scripts, long runs of
# spaces, Japanese punctuation, invisible characters, another group of digits just before it.
SCRIPTS = ["0", "０", "\u0660", "\u06f0", "\u0966", "\u0e50", "\U0001d7ce"]   # where each script's 0 is
SEPARATORS = st.one_of(
    st.text(alphabet=" \u3000\t\n\u00a0", max_size=8),                          # any run of spaces
    st.builds(lambda a, marks, b: a + "".join(marks) + b,
              st.text(alphabet=" \u3000", max_size=3),
              st.lists(st.sampled_from(list("-‐−ー－_.,/・、。:()（）：")), min_size=1, max_size=3),
              st.text(alphabet=" \u3000", max_size=3)))
KANJI = "〇一二三四五六七八九"                                                   # read out digit by digit
FORMAT_CHARS = st.text(alphabet="\u200b\u00ad\u200c\u2060\ufeff", max_size=2)    # category Cf: unseen
WORDS = st.text(alphabet="焼津市本町あいうカナ様番号はです。 abc", max_size=12)


@st.composite
def disguised_numbers(draw):
    eleven = f"{draw(st.integers(0, 10**11 - 1)):011d}"
    number = eleven + str(check_digit(eleven))
    written = []
    for i, digit in enumerate(number):
        if i and i % 4 == 0:
            written.append(draw(SEPARATORS))
        script = draw(st.sampled_from([*SCRIPTS, KANJI]))
        written.append((script[int(digit)] if script == KANJI else chr(ord(script) + int(digit))) + draw(FORMAT_CHARS))
    # Another group of digits right before it (a postal code, a phone), as a match that began there
    # would hide it.
    before = draw(WORDS) + draw(st.sampled_from(["", "〒425-0000 ", "0000 ", "1234 5678 ", "054-626-1111 "]))
    return before + "".join(written) + draw(st.sampled_from(["", " ", "。", " 1"])) + draw(WORDS)


@given(disguised_numbers())
def test_a_valid_number_in_any_disguise_inside_text_is_found(text):
    assert contains_individual_number(text)


@pytest.mark.parametrize("text", ["١٢٣٤٥٦٧٨٩٠١٨", "१२३४ ५६७८ ९०१८", "๑๒๓๔๕๖๗๘๙๐๑๘", "1234    5678    9018",
                                  "1234 -- 5678 -- 9018", "1234:5678:9018", "1234、5678、9018", "1234。5678。9018",
                                  "(1234)5678-9018", "1\u200b2\u200b3\u200b4\u200b5\u200b6\u200b7\u200b8\u200b9\u200b0\u200b18",
                                  "1234\u00ad5678\u00ad9018", "〒425-0000 1234 5678 9018", "0000 1234 5678 9018",
                                  "123456٧٨٩٠١٨", "一二三四五六七八九〇一八", "一二三四 五六七八 九〇一八",
                                  "番号は壱弐参四・五六七八・九零壱八です", "12345六七八九〇18"])
def test_the_disguises_the_review_found_are_found(text):
    assert contains_individual_number(text) and contains_individual_number(text, phones=True)
    assert looks_like_individual_number_not_phone(text)


@given(st.text())
def test_a_text_with_fewer_than_twelve_digits_never_holds_the_number(text):
    import unicodedata
    from evac.individual_number import _CIRCLES, _KANJI_DIGITS
    assume(sum(c.isdecimal() or c in _KANJI_DIGITS or c in _CIRCLES for c in unicodedata.normalize("NFKC", text)) < 12)
    assert not contains_individual_number(text) and not contains_individual_number(text, phones=True)


@given(st.one_of(st.text(), disguised_numbers(), st.text(alphabet="0123456789٠١٢ -、:+\u200b", max_size=40)), st.booleans())
def test_skipping_texts_of_few_digits_changes_no_answer(text, phones):
    # The count before the search must count the digits the search sees (any script's, after NFKC).
    import unicodedata

    from evac import individual_number as detector
    normal = unicodedata.normalize("NFKC", text)
    labelled = phones and detector._labelled(normal)
    searched = detector._holds_number(detector._plain(normal), phones, labelled) or (
        "一" in normal and detector._holds_number(detector._plain(normal.replace("一", "ー")), phones, labelled))
    assert contains_individual_number(text, phones) == searched


def test_phone_numbers_and_dates_that_are_twelve_digits_pass():
    # All four carry the number's check digit: only how they are written tells them apart.
    assert is_individual_number("081234567896") and is_individual_number("639171234566")
    assert is_individual_number("819012345673") and is_individual_number("202611260000")
    for contact in ("+63 917 123 4566", "+81 90 1234 5673", "81-90-1234-5673", "+62 812 3456 7896"):
        assert not contains_individual_number(contact, phones=True), contact
        assert not looks_like_individual_number_not_phone(contact), contact
    # Twelve digits from 0 are no phone number dialled in Japan (10 or 11 digits): an Indonesian mobile
    # is dialled with its +62.
    for contact in ("0812-3456-7896", "(0812) 3456 7896"):
        assert looks_like_individual_number_not_phone(contact), contact
    # A staff note's date and time is twelve digits too.
    assert not contains_individual_number("2026/11/26 00:00 救急搬送")
    # 81 then 0 is no way to write a Japanese number from abroad (the 0 is dropped after +81).
    eleven = "81012345678"
    assert contains_individual_number(eleven + str(check_digit(eleven)), phones=True)


@pytest.mark.parametrize("field", ["household_id", "prereg_id", "shelter_id", "to_shelter_id", "kiosk_id"])
@pytest.mark.parametrize("value", [VALID, "1234-5678-9018", "1234.5678.9018"])
def test_an_id_that_is_the_number_is_refused_without_repeating_it(field, value):
    event = {**BASE, "type": "checkin", "data": {"stay_type": "in_shelter"}}
    if field == "prereg_id":
        event["person"] = {**BASE["person"], "prereg_id": value}
    elif field == "to_shelter_id":
        event.update(type="transfer", data={"to_shelter_id": value})
    else:
        event[field] = value
    with pytest.raises(InvalidEvent, match="Individual Number") as refused:
        parse_event(event)
    assert "9018" not in str(refused.value)


@pytest.mark.parametrize("ids", [
    # What the system makes (kiosk store, HQ pre-registration, the city's site list), even where a random
    # hex id has a run of twelve digits with the number's check digit; and a twelve-digit id without it.
    {"kiosk_id": "kiosk-0123456789018abcdef0123456789a", "household_id": "hh-123456789018abcd"},
    {"household_id": "HH-0123456789AB", "shelter_id": "T125", "prereg": "PR-123456789018"},
    {"household_id": "123456789012", "kiosk_id": "kiosk-1"},
])
def test_ids_the_system_makes_pass(ids):
    prereg = ids.pop("prereg", "")
    event = {**BASE, "type": "checkin", "data": {"stay_type": "in_shelter"}, **ids,
             "person": {**BASE["person"], **({"prereg_id": prereg} if prereg else {})}}
    parsed = parse_event(event)
    assert parsed.household_id == ids["household_id"] and (not prereg or parsed.person.prereg_id == prereg)
