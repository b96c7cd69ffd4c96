"""番号法 §20, from a legal audit: ways of writing the 12-digit Individual Number that got past the detector
and were stored at the kiosk, at HQ and on the tablets' roster (〜 from a macOS IME, ○ for zero, ; = [] 「」
【】 → @, six or more marks, 大字, a "clock time" that is none), and contacts that took any number beginning
08 or 81 for a phone number, even one labelled マイナンバー.  One rule now: digits of any kind joined by
whatever holds no letter.  Real detector, real `evac` processes, real SQLite files, HQ's real prereg API."""
from __future__ import annotations

import sqlite3
import unicodedata

import pytest
from faker import Faker
from hypothesis import given, settings, strategies as st

from evac.individual_number import check_digit, contains_individual_number, looks_like_individual_number_not_phone
from tests.conftest import run_evac

VALID = "123456789018"      # valid check digits (no one's numbers)
JAPAN_MOBILE = "819012345673"
EIGHT = "081234567896"


@pytest.mark.parametrize("text", [
    "焼津市1234〜5678〜9018", "焼津市1234～5678～9018", "1234~5678~9018", "1234〜〜5678〜〜9018",
    "山田一二三四五六七八九○一八", "山田一二三四五六七八九〇一八", "一二三四五六七八九◯一八",
    "一 二 三 四 五 六 七 八 九 ○ 一 八", "1234 5678 9 ○ 18",
    "1234;5678;9018", "1234=5678=9018", "[1234][5678][9018]", "「1234」「5678」「9018」", "【1234】【5678】【9018】",
    "1234→5678→9018", "1234@5678@9018", "1234------5678------9018", "1234 ・・・・・・・・ 5678 ・・・・・・・・ 9018",
    "1234 -=-=-=-=- 5678\n\n\n9018", "壱弐参肆伍陸漆捌玖零壱捌", "壱弐参肆・伍陸漆捌・玖零壱捌",
    "12:34:56:78:90:18", "1234 56:78 9018", "1234 12:30 9019", "12:34 5678 9018", "1234/56/78/9018",
    "1234一5678一9018", "1234 ― 5678 ― 9018", "#1234 $5678 %9018", "1234♪5678♪9018", "1234★5678★9018",
])
def test_the_disguises_the_audit_found_are_found(text):
    assert contains_individual_number(text) and contains_individual_number(text, phones=True)
    assert looks_like_individual_number_not_phone(text)


@pytest.mark.parametrize("contact", [
    f"マイナンバー {EIGHT}", EIGHT, "0812-3456-7896", "(0812) 3456 7896",   # 12 digits from 0 are no Japanese phone
    "マイナンバー +81 90 1234 5673", "個人番号: 81-90-1234-5673", "my number +81 90 1234 5673",
    "My Number: 8190-1234-5673",
    JAPAN_MOBILE, "8190 1234 5673", "8190-1234-5673",          # 81… written as the Individual Number is
    "+81 12 3456 7894",                                          # +81 1…: no number in Japan begins 01
    "+1 234 5678 9018",                                          # +1 has ten digits after it
    "1234+5678+9018", "電話 1234 5678 9018",
])
def test_a_contact_refuses_what_is_no_phone_number_or_is_called_the_number(contact):
    assert contains_individual_number(contact, phones=True), contact
    assert looks_like_individual_number_not_phone(contact), contact


@pytest.mark.parametrize("contact", [
    "+81 90 1234 5673", "+81-90-1234-5673", "+819012345673", "＋81 90 1234 5673", "+8190-1234-5673",
    "81-90-1234-5673", "81 90 1234 5673", "0081-90-1234-5673", "+63 917 123 4566", "+62 812 3456 7896",
    "090-1234-5678", "0546261111", "電話 090-1234-5678 / 054-626-1111", "054-626-1111 (自宅)",
])
def test_a_contact_keeps_phone_numbers_written_as_phone_numbers(contact):
    assert not contains_individual_number(contact, phones=True), contact


@pytest.mark.parametrize("text", [
    "焼津市本町5-9-1", "焼津市本町5-9-1 101号", "焼津市1234番地の5", "焼津市大字藤守1234-5", "大字藤守字東1234番地",
    "〒425-0071 焼津市本町5-9-1", "1990-01-01", "1990/01/01", "平成2年1月1日", "2026/11/26 00:00 救急搬送",
    "2026-11-26 14:30 受付", "2026/1/5 14:30:00 搬送", "11/26 14:30 11/26", "焼津市本町三丁目四番五号",
    "陸上競技場 参加 12 名", "1234567890180", "123456789012",
    "○ 1234 5678 903",   # ○ alone is a bullet (012345678903 is valid): a zero only next to a digit
])
def test_addresses_dates_and_other_numbers_pass(text):
    assert not contains_individual_number(text)


def test_dates_and_times_in_a_note_pass_even_when_their_digits_have_the_check_digit():
    # A note with a row of dates and times (→ now joins them): twelve digits of whole dates and times.
    notes = [f"{m}/{d} {h}:{mi:02d} → {m}/{d + 1} {h2:02d}:00" for m in (11, 12) for d in range(10, 28)
             for h in (9, 14, 20) for mi in (0, 15, 30, 45) for h2 in (8, 9, 10)]
    windows = [n for n in notes if any(contains_individual_number(w) for w in _windows(n))]
    assert len(windows) > 20   # the check digit matches some of them, as it matches a tenth of all numbers
    assert not [n for n in windows if contains_individual_number(n)]


def _windows(note: str) -> list[str]:
    digits = "".join(c for c in note if c.isdigit())
    return [digits[i:i + 12] for i in range(len(digits) - 11)]


# Digits as people type them, and marks between them: any punctuation, symbol, space or control character
# (that is not itself a digit or a letter after NFKC: ℃ is °C, ㈠ is (一), ○ is a zero).
KANJI = "〇一二三四五六七八九"
DAIJI = "零壱弐参肆伍陸漆捌玖"
CIRCLE_KANJI = "○一二三四五六七八九"
SCRIPTS = ["0", "０", "\u0660", "\u0966", "\U0001d7ce", KANJI, DAIJI, CIRCLE_KANJI]


def _only_joins(c: str) -> bool:
    plain = unicodedata.normalize("NFKC", c)
    return all(unicodedata.category(x)[0] in "PSZCM" and not x.isdecimal() and x not in KANJI + DAIJI + "○◯"
               for x in plain)


MARK = st.characters(categories=["Pd", "Ps", "Pe", "Pi", "Pf", "Pc", "Po", "Sm", "Sc", "Sk", "So", "Zs", "Cc"]).filter(
    _only_joins)
BETWEEN = st.text(MARK, min_size=0, max_size=12)
WORDS = st.text(alphabet="焼津市本町あいうカナ様番号はです。 abc", max_size=12)


def _digit(script: str, d: int) -> str:
    return script[d] if len(script) == 10 else chr(ord(script) + d)


@st.composite
def disguised(draw, fours: bool):
    """A valid number written with any digits, split in fours (as it is printed) or anywhere, with any
    marks between; for anywhere, no : / - . (a split into 2026/11/26 14:30 would be a date and time)."""
    eleven = f"{draw(st.integers(0, 10**11 - 1)):011d}"
    number = eleven + str(check_digit(eleven))
    cuts = {4, 8} if fours else set(draw(st.lists(st.integers(1, 11), max_size=11)))
    between = BETWEEN if fours else st.text(MARK.filter(lambda c: unicodedata.normalize("NFKC", c) not in ":/-."),
                                            max_size=12)
    # (○ first or last, apart from the rest, is a bullet: 〇 there)
    written = "".join((draw(between) if i in cuts else "")
                      + _digit(draw(st.sampled_from(SCRIPTS if 0 < i < 11 else SCRIPTS[:-1])), int(d))
                      for i, d in enumerate(number))
    before = draw(WORDS) + draw(st.sampled_from(["", "〒425-0000 ", "0000 ", "054-626-1111 "]))
    return before + written + draw(st.sampled_from(["", " ", "。", " 1"])) + draw(WORDS)


@settings(max_examples=300)
@given(disguised(fours=True))
def test_a_valid_number_in_fours_with_any_marks_is_found_in_any_field(text):
    assert contains_individual_number(text) and contains_individual_number(text, phones=True)


@settings(max_examples=300)
@given(disguised(fours=False))
def test_a_valid_number_split_anywhere_with_any_marks_is_found(text):
    assert contains_individual_number(text)


@given(st.sampled_from(["マイナンバー", "個人番号", "my number", "My Number:"]), st.sampled_from(["", " ", "："]),
       st.integers(0, 10**8 - 1))
def test_a_phone_number_called_the_individual_number_is_refused(label, gap, rest):
    eleven = f"81{'90'}{rest:08d}"[:11]
    contact = f"{label}{gap}+{eleven[:2]} {eleven[2:4]} {eleven[4:8]} {eleven[8:]}{check_digit(eleven)}"
    assert contains_individual_number(contact, phones=True), contact


def test_random_addresses_and_phone_numbers_mostly_pass():
    fake = Faker("ja_JP")
    fake.seed_instance(20261129)
    texts = [f"{fake.address()} {fake.phone_number()}" for _ in range(3000)]
    found = [t for t in texts if contains_individual_number(t, phones=True)]
    assert len(found) <= len(texts) // 200, found[:10]   # at most 0.5 %


def test_a_disguised_number_is_stored_nowhere_at_the_kiosk(tmp_path):
    kiosk = tmp_path / "kiosk.sqlite3"
    made = run_evac("kiosk", "checkin", "--new", "--db", str(kiosk), "--shelter", "H001", "--name", "山田 花子",
                    "--birth", "1970-01-01", "--sex", "female", "--address", "焼津市本町1-1")
    assert made.returncode == 0, made.stderr
    for field, value in [("--address", "焼津市1234〜5678〜9018"), ("--name", "山田一二三四五六七八九○一八"),
                         ("--address", "焼津市1234;5678;9018"), ("--address", "焼津市12:34:56:78:90:18")]:
        args = {"--name": "山田 太郎", "--address": "焼津市本町1-1", field: value}
        typed = run_evac("kiosk", "checkin", "--db", str(kiosk), "--shelter", "H001", "--birth", "1970-01-01",
                         "--sex", "male", *[x for kv in args.items() for x in kv])
        assert typed.returncode != 0 and "Traceback" not in typed.stderr, (value, typed.stderr)
        assert "Individual Number" in typed.stderr, typed.stderr
        with sqlite3.connect(kiosk) as conn:
            dumped = "\n".join(conn.iterdump())
        assert "5678" not in dumped and "山田 太郎" not in dumped and "一二三" not in dumped


def test_hq_refuses_a_contact_labelled_my_number_and_a_domestic_twelve_digit_one(hq_app, hq_client):
    from sqlalchemy import func, select

    from hq_dashboard.db import db
    from hq_dashboard.models import PreregHousehold
    body = {"address": "焼津市本町1-1", "consent": "family", "family_code": "sakura2026", "contact": "090-1234-5678",
            "members": [{"name": "焼津 花", "birth_date": "1990-01-01", "sex": "female"}]}
    for contact in (f"マイナンバー {EIGHT}", EIGHT, "マイナンバー +81 90 1234 5673"):
        answer = hq_client.post("/api/v1/prereg", json={**body, "contact": contact})
        assert answer.status_code == 422 and answer.get_json()["field"] == "contact", contact
    for field, value in [("address", "焼津市1234〜5678〜9018"), ("family_code", "1234;5678;9018")]:
        answer = hq_client.post("/api/v1/prereg", json={**body, field: value})
        assert answer.status_code == 422 and "Individual Number" in answer.get_json()["message"], value
    with hq_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(PreregHousehold)) == 0
    assert hq_client.post("/api/v1/prereg", json={**body, "contact": "+81 90 1234 5673"}).status_code == 201
