"""What the kiosk's input checks say (review): an impossible date of the right shape (2010-02-30) is said
to be no such date, not a wrong format.  Flask's test client on a real SQLite file, the screen's words from
its catalogs in every language, the real `evac` command."""
from __future__ import annotations

import datetime as dt
import time

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from evac.dates import NoSuchDay, NotADate, parse_typed_birth_date
from evac.prereg_qr import Household, Member, sign
from kiosk.i18n import LANGUAGES
from kiosk.store import KioskStore
from tests.screen_kiosk import screen_kiosk
from tests.conftest import run_evac

KEY = Ed25519PrivateKey.generate()
FAMILY = Household("hh-1", "焼津市本町1-1", (Member("p-1", "焼津 太郎", "1948-03-03", "male"),),
                   consent="public", expires=int(time.time()) + 3600)
NO_SUCH_DATE = "There is no such date: check the year, month and day."
WRONG_FORM = "Enter the birth date like 1980-02-17 (year-month-day)."


@pytest.fixture
def kiosk(tmp_path):
    with screen_kiosk(tmp_path, KEY) as client:
        yield client


def said(app, lang: str, text: str) -> str:
    from flask_babel import gettext
    with app.test_request_context(f"/?lang={lang}"):
        return gettext(text)


def identify(client) -> str:
    resp = client.post("/screen/qr", json={"qr": sign(FAMILY, KEY)})
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()["token"]


def member_errors(client, lang: str = "en", **typed) -> dict:
    """What the screen says of one household member typed in (it writes nothing)."""
    resp = client.post(f"/screen/member?lang={lang}", json={
        "token": identify(client), "present": [0], "members": [],
        **{"name": "焼津 梅", "birth_date": "1990-04-04", "sex": "female", **typed}})
    assert resp.status_code == 422, resp.get_json()
    return resp.get_json()["errors"]


# -- a date of the right form that does not exist -------------------------------------------

def test_a_day_that_does_not_exist_is_told_apart_from_a_wrong_form():
    today = dt.date(2026, 11, 26)
    for typed in ("2010-02-30", "2011-02-29", "2010/2/30", "2010年13月1日", "昭和65年1月1日", "H31.5.1"):
        with pytest.raises(NoSuchDay) as refused:
            parse_typed_birth_date(typed, today)
        assert isinstance(refused.value, NotADate)   # callers that do not tell them apart refuse it still
    for typed in ("2010-02-3x", "1980-W07-1", "30/02/2010", ""):
        with pytest.raises(NotADate) as wrong_form:
            parse_typed_birth_date(typed, today)
        assert not isinstance(wrong_form.value, NoSuchDay), typed
    assert parse_typed_birth_date("2012-02-29", today) == dt.date(2012, 2, 29)


@pytest.mark.parametrize("lang", list(LANGUAGES))
def test_the_screen_says_there_is_no_such_date_in_every_language(kiosk, lang):
    words = said(kiosk.app, lang, NO_SUCH_DATE)
    assert words != said(kiosk.app, lang, WRONG_FORM)
    assert words == NO_SUCH_DATE or lang != "en"
    assert words != NO_SUCH_DATE or lang == "en", f"{lang}: not translated"
    assert member_errors(kiosk, lang, birth_date="2010-02-30") == {"member.birth_date": words}
    # a wrong form is still said as one
    assert member_errors(kiosk, lang, birth_date="2010-02-3x") == {
        "member.birth_date": said(kiosk.app, lang, WRONG_FORM)}


def test_the_screen_check_in_says_it_of_a_member_too_and_saves_nothing(kiosk):
    seq = kiosk.store.last_seq
    resp = kiosk.post("/screen/checkin?lang=en", json={
        "token": identify(kiosk), "present": [0], "stay_type": "in_shelter", "needs": [[], []],
        "disclosure": "none", "members": [{"name": "焼津 梅", "birth_date": "2011-02-29", "sex": "female"}]})
    assert resp.status_code == 422
    assert resp.get_json()["errors"]["members.0.birth_date"] == NO_SUCH_DATE
    assert kiosk.store.last_seq == seq


def test_the_json_api_and_the_command_line_say_there_is_no_such_day(kiosk, tmp_path):
    seq = kiosk.store.last_seq
    resp = kiosk.post("/api/checkin", json={"persons": [{"name": "焼津 梅", "birth_date": "2010-02-30",
                                                          "sex": "female"}]})
    assert resp.status_code == 422 and "no such day" in resp.get_json()["message"], resp.get_json()
    assert kiosk.store.last_seq == seq
    typed = run_evac("kiosk", "checkin", "--db", str(kiosk.db), "--shelter", "H031", "--name", "焼津 梅",
                     "--birth", "2010-02-30", "--sex", "female")
    assert typed.returncode == 2 and "no such day" in typed.stderr, typed.stderr
    assert kiosk.store.last_seq == seq


# -- names and family codes of emoji or symbols alone ----------------------------------------

IN_LETTERS = "Enter the name in letters."
NO_LETTERS = ("😀😀", "★★", "😀 😀", "♡・♡", "🇯🇵")
# kana, kanji, Latin with accents, spaces, 「・」, hyphens; and an emoji among letters (a name still: HQ and
# person_key take it, and refusing it would refuse nothing a person could be told to fix)
SPELLED = ("やいづ はなこ", "焼津 花子", "José Martínez", "Nguyễn Thị Lan", "ジョン・スミス", "Anne-Marie O'Neil",
           "ｲﾁﾛｳ", "髙橋 一郎", "太郎😀")


def test_the_rule_wants_a_letter_or_a_digit():
    from kiosk.input_checks import in_letters
    assert not any(in_letters(text) for text in NO_LETTERS)
    assert all(in_letters(text) for text in SPELLED)


@pytest.mark.parametrize("lang", list(LANGUAGES))
def test_the_screen_refuses_a_name_of_emoji_or_symbols_alone_in_every_language(kiosk, lang):
    words = said(kiosk.app, lang, IN_LETTERS)
    assert words != NO_SUCH_DATE and (words != IN_LETTERS or lang == "en"), f"{lang}: not translated"
    for name in NO_LETTERS:
        assert member_errors(kiosk, lang, name=name) == {"member.name": words}, name


def test_the_screen_takes_names_in_any_script_with_spaces_dots_and_hyphens(kiosk):
    token = identify(kiosk)
    for name in SPELLED:
        resp = kiosk.post("/screen/member?lang=en", json={
            "token": token, "present": [0], "members": [], "name": name, "birth_date": "1990-04-04", "sex": "female"})
        assert resp.status_code == 200, (name, resp.get_json())


def test_the_screen_check_in_refuses_an_emoji_member_and_a_symbol_family_code_and_saves_nothing(kiosk):
    seq = kiosk.store.last_seq
    checkin = {"present": [0], "stay_type": "in_shelter", "needs": [[], []], "disclosure": "family"}
    resp = kiosk.post("/screen/checkin?lang=en", json={
        **checkin, "token": identify(kiosk), "family_code": "★★★★",
        "members": [{"name": "😀😀", "birth_date": "1990-04-04", "sex": "female"}]})
    assert resp.status_code == 422
    errors = resp.get_json()["errors"]
    assert errors["members.0.name"] == IN_LETTERS
    assert errors["family_code"] == said(kiosk.app, "en", "The family code is %(min)d to %(max)d characters "
                                                         "(letters, numbers or kana).") % {"min": 4, "max": 32}
    assert kiosk.store.last_seq == seq
    resp = kiosk.post("/screen/checkin?lang=en", json={
        **checkin, "token": identify(kiosk), "family_code": "さくら★7",
        "members": [{"name": "焼津 梅😀", "birth_date": "1990-04-04", "sex": "female"}]})
    assert resp.status_code == 201, resp.get_json()


def test_the_json_api_refuses_an_emoji_name_at_check_in_but_acts_on_one_already_kept(kiosk):
    seq = kiosk.store.last_seq
    resp = kiosk.post("/api/checkin", json={"persons": [{"name": "😀😀", "birth_date": "1990-04-04", "sex": "female"}]})
    assert resp.status_code == 422 and "letters" in resp.get_json()["message"], resp.get_json()
    assert kiosk.store.last_seq == seq
    # a record kept before (synced from HQ, or from an older kiosk) is still checked out, and sent to HQ
    from evac.events import Person
    kiosk.store.check_in("H031", [Person("★★", "1990-04-04", "other", "焼津市本町1-1")])
    out = kiosk.post("/api/checkout", json={"name": "★★", "birth_date": "1990-04-04", "address": "焼津市本町1-1"})
    assert out.status_code == 201, out.get_json()
    assert kiosk.store.pending() == 2


def test_evac_kiosk_checkin_refuses_an_emoji_name_or_symbol_family_code(kiosk):
    seq = kiosk.store.last_seq
    base = ("kiosk", "checkin", "--db", str(kiosk.db), "--shelter", "H031", "--birth", "1990-04-04", "--sex", "female")
    named = run_evac(*base, "--name", "😀😀")
    assert named.returncode == 2 and "letters" in named.stderr and "nothing was saved" in named.stderr, named.stderr
    coded = run_evac(*base, "--name", "焼津 梅", "--family-code", "★★★★")
    assert coded.returncode == 2 and "--family-code" in coded.stderr and "letters" in coded.stderr, coded.stderr
    assert kiosk.store.last_seq == seq
    assert run_evac(*base, "--name", "José Martínez", "--family-code", "sakura7").returncode == 0
    # one kept before is still checked out from the command line
    from evac.events import Person
    kiosk.store.check_in("H031", [Person("★★", "1990-04-04", "other", "")])
    assert run_evac("kiosk", "checkout", "--db", str(kiosk.db), "--name", "★★", "--birth", "1990-04-04").returncode == 0


def test_a_symbol_family_code_hq_signed_into_a_qr_is_taken_when_the_family_types_it_again(kiosk):
    # HQ's pre-registration (not changed here) may have taken one: the family is not refused its own code
    import dataclasses
    family = dataclasses.replace(FAMILY, household_id="hh-2", consent="family", family_code="★★★★")
    token = kiosk.post("/screen/qr", json={"qr": sign(family, KEY)}).get_json()["token"]
    resp = kiosk.post("/screen/checkin?lang=en", json={
        "token": token, "present": [0], "stay_type": "in_shelter", "needs": [[]], "disclosure": "family",
        "family_code": "★★★★"})
    assert resp.status_code == 201, resp.get_json()


# -- the staff tablet's forms ---------------------------------------------------------------

CARD = {"name": "焼津 次郎", "name_kana": "やいづ じろう", "birth_date": "1948-03-04", "sex": "male",
        "address": "焼津市本町2-2", "stay_type": "in_shelter", "home_damage": "unknown", "consent": "family",
        "family_code": "sakura7", "members-0-name": "焼津 桃", "members-0-birth_date": "2023-08-01",
        "members-0-sex": "female"}


@pytest.fixture
def tablet(tmp_path):
    from tests.staff_helpers import logged_in, make_app
    db = tmp_path / "tablet.sqlite3"
    client = logged_in(make_app(db))
    client.get("/staff/lang/en")   # (the words are the staff catalog's: English until it has them in Japanese)
    client.db = db
    return client


def test_the_tablet_refuses_a_name_or_family_code_of_symbols_alone_on_a_new_card(tablet):
    from tests.staff_helpers import errors, post, snapshot
    before = snapshot(tablet.db)
    resp = post(tablet, "/staff/register", {**CARD, "name": "😀😀", "members-0-name": "★★", "family_code": "★★★★"},
                "/staff/register")
    assert resp.status_code == 422
    assert errors(resp.text, "name") == [IN_LETTERS] and errors(resp.text, "members-0-name") == [IN_LETTERS]
    assert errors(resp.text, "family_code") == ["Use letters, numbers or kana in the family code."]
    assert snapshot(tablet.db) == before
    resp = post(tablet, "/staff/register", {**CARD, "name": "José Martínez", "members-0-name": "ジョン・スミス"},
                "/staff/register")
    assert resp.status_code == 302


def kept_here(tablet, kept, consent=None) -> KioskStore:
    """`kept` checked in at H001 as kept from before (with `consent`): this kiosk's checks let it be."""
    store = KioskStore(tablet.db)
    store.check_in("H001", [kept])
    if consent:
        store.set_consent("H001", kept.name, kept.birth_date, kept.address, consent)
    return store

def test_the_tablet_refuses_an_emoji_member_added_later_but_corrects_a_record_kept_with_one(tablet):
    from evac.events import Person
    from evac.identity import person_key
    from kiosk import staff_store
    from tests.staff_helpers import errors, post, snapshot
    kept = Person("★★", "1990-04-04", "other", "焼津市本町1-1")
    # (kept from before the kiosk refused it, or from HQ)
    store = kept_here(tablet, kept, {"consent": "family", "family_code": "♡♡♡♡"})
    row = staff_store.person(store, person_key(kept.name, kept.birth_date, kept.address))
    url = f"/staff/person/{row.key}"
    before = snapshot(tablet.db)
    resp = post(tablet, url + "/add-member", {"member-name": "😀", "member-birth_date": "2020-01-01",
                                              "member-sex": "female"}, url)
    assert resp.status_code == 422 and errors(resp.text, "member-name") == [IN_LETTERS], resp.text
    assert snapshot(tablet.db) == before
    # the rest of the record is corrected; its name and code are kept as they are
    form = {"name": "★★", "name_kana": "", "birth_date": "1990-04-04", "sex": "female", "address": kept.address,
            "stay_type": "in_shelter", "home_damage": "unknown", "consent": "family", "family_code": "♡♡♡♡",
            "drawn_from": row.version}
    resp = post(tablet, url, form, url)
    assert resp.status_code == 302, errors(resp.text, "name") + errors(resp.text, "family_code")
    assert staff_store.person(store, row.key).person.sex == "female"
    # but not corrected to another name of symbols alone
    row = staff_store.person(store, row.key)
    resp = post(tablet, url, {**form, "name": "☆☆", "drawn_from": row.version}, url)
    assert resp.status_code == 422 and errors(resp.text, "name") == [IN_LETTERS]
    store.close()


# -- the staff tablet: a birth date that names no day ---------------------------------------

TABLET_NO_SUCH_DATE = {"en": "This date of birth does not exist: check the year, month and day.",
                       "ja": "この生年月日は存在しない日付です。年・月・日を確かめてください。"}
TABLET_WRONG_FORM = {"en": "Enter a real date of birth (year-month-day).",
                     "ja": "正しい生年月日（年-月-日）を入力してください。"}
NO_DAY = ("2010-02-30", "2011-02-29", "1948-13-04", "昭和65年1月1日")


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_the_tablet_says_a_birth_date_names_no_day_on_a_new_card_and_its_member_rows(tablet, lang):
    from tests.staff_helpers import errors, post, snapshot
    tablet.get(f"/staff/lang/{lang}")
    before = snapshot(tablet.db)
    for typed in NO_DAY:
        resp = post(tablet, "/staff/register", {**CARD, "birth_date": typed, "members-0-birth_date": typed},
                    "/staff/register")
        assert resp.status_code == 422, typed
        assert errors(resp.text, "birth_date") == [TABLET_NO_SUCH_DATE[lang]], typed
        assert errors(resp.text, "members-0-birth_date") == [TABLET_NO_SUCH_DATE[lang]], typed
    # a wrong form, and the bounds, keep their own words
    for typed, words in (("2010-02-3x", TABLET_WRONG_FORM[lang]), ("30/02/2010", TABLET_WRONG_FORM[lang]),
                         ("1800-05-05", {"en": "This date of birth is before 1880: check the year.",
                                         "ja": "この生年月日は1880年より前です。年を確かめてください。"}[lang]),
                         ("2030-01-01", {"en": "This date of birth is in the future: check the year.",
                                         "ja": "この生年月日は未来の日付です。年を確かめてください。"}[lang])):
        resp = post(tablet, "/staff/register", {**CARD, "birth_date": typed}, "/staff/register")
        assert resp.status_code == 422 and errors(resp.text, "birth_date") == [words], typed
    assert snapshot(tablet.db) == before


def test_the_tablet_says_it_on_a_correction_and_on_a_member_added_later(tablet):
    from evac.events import Person
    from evac.identity import person_key
    from kiosk import staff_store
    from tests.staff_helpers import errors, post, snapshot
    tablet.get("/staff/lang/ja")
    store = KioskStore(tablet.db)
    kept = Person("焼津 松", "1990-04-04", "male", "焼津市本町1-1", "やいづ まつ")
    store.check_in("H001", [kept])
    row = staff_store.person(store, person_key(kept.name, kept.birth_date, kept.address))
    store.close()
    url = f"/staff/person/{row.key}"
    form = {"name": kept.name, "name_kana": kept.name_kana, "birth_date": "2011-02-29", "sex": "male",
            "address": kept.address, "stay_type": "in_shelter", "home_damage": "unknown", "consent": "none",
            "drawn_from": row.version}
    before = snapshot(tablet.db)
    resp = post(tablet, url, form, url)
    assert resp.status_code == 422 and errors(resp.text, "birth_date") == [TABLET_NO_SUCH_DATE["ja"]]
    resp = post(tablet, url + "/add-member", {"member-name": "焼津 竹", "member-birth_date": "2020-02-30",
                                              "member-sex": "female"}, url)
    assert resp.status_code == 422 and errors(resp.text, "member-birth_date") == [TABLET_NO_SUCH_DATE["ja"]]
    assert snapshot(tablet.db) == before


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_the_tablets_search_for_a_birth_date_that_names_no_day_says_so(tablet, lang):
    tablet.get(f"/staff/lang/{lang}")
    for typed in ("2010-02-30", "昭和65年1月1日"):
        page = tablet.get("/staff/", query_string={"q": typed}).text
        assert TABLET_NO_SUCH_DATE[lang] in page, typed
    for typed in ("焼津", "1990-04-04", "2010-02-3x"):   # a name, a real day, not a date: nothing said
        assert TABLET_NO_SUCH_DATE[lang] not in tablet.get("/staff/", query_string={"q": typed}).text, typed


def test_evac_kiosk_checkin_checkout_and_transfer_say_there_is_no_such_day_in_both_languages(kiosk):
    for command in (("checkin", "--shelter", "H031", "--sex", "female"), ("checkout",), ("transfer", "--to", "H002")):
        typed = run_evac("kiosk", *command, "--db", str(kiosk.db), "--name", "焼津 梅", "--birth", "2010-02-30")
        assert typed.returncode == 2, typed.stderr
        assert "--birth 2010-02-30: there is no such day" in typed.stderr and "存在しません" in typed.stderr, \
            typed.stderr
        assert "is not a date" not in typed.stderr, typed.stderr   # it is in the form: the day is wrong
    # a wrong form is still said as one
    typed = run_evac("kiosk", "checkout", "--db", str(kiosk.db), "--name", "焼津 梅", "--birth", "2010-02-3x")
    assert typed.returncode == 2 and "--birth '2010-02-3x' is not a date" in typed.stderr, typed.stderr


# -- a name's reading (name_kana, ふりがな) ----------------------------------------------------

NOT_READINGS = ("😀", "★★", "😀 😀", "・", "ーー", "123", "焼津 太郎", "やまだ🌸", "ヤマダ★")
# hiragana, katakana (half-width too), ー, small kana, the dots and = between names, a lone ゛ as typed; a
# foreign name's reading in Latin letters as its owner writes it
READINGS = ("やいづ はなこ", "ヤイヅ タロウ", "ﾔｲﾂﾞ ﾀﾛｳ", "タカハシ イチロー", "ジョン・スミス", "ジョン＝スミス",
            "ヴァン", "か゛とう", "ぁぃぅ", "José Martínez", "Nguyễn Thị Lan", "Anne-Marie O'Neil", "ＪＯＨＮ")
TABLET_KANA = {"en": "Write the reading in kana (a foreign name may be in Latin letters).",
               "ja": "ふりがなは、かなで入力してください（外国の名前はローマ字でもかまいません）。"}


def test_a_reading_is_kana_or_latin_letters():
    from kiosk.input_checks import reads_as_kana
    assert [text for text in NOT_READINGS if reads_as_kana(text)] == []
    assert [text for text in READINGS if not reads_as_kana(text)] == []


def test_the_json_api_refuses_a_reading_of_emoji_or_symbols_and_takes_none_or_a_real_one(kiosk):
    seq = kiosk.store.last_seq
    for kana in ("😀", "★★", "焼津"):
        resp = kiosk.post("/api/checkin", json={"persons": [{"name": "焼津 梅", "name_kana": kana,
                                                              "birth_date": "1990-04-04", "sex": "female"}]})
        assert resp.status_code == 422 and "name_kana" in resp.get_json()["message"], (kana, resp.get_json())
    assert kiosk.store.last_seq == seq
    for name, kana in (("焼津 梅", ""), ("焼津 竹", "やいづ たけ"), ("José Martínez", "José Martínez")):
        resp = kiosk.post("/api/checkin", json={"persons": [{"name": name, "name_kana": kana,
                                                              "birth_date": "1990-04-04", "sex": "female"}]})
        assert resp.status_code == 201, (kana, resp.get_json())
    # one kept before (from HQ, or an older kiosk) still checks out and is sent to HQ
    from evac.events import Person
    kiosk.store.check_in("H031", [Person("焼津 松", "1990-04-04", "other", "焼津市本町1-1", "★★")])
    out = kiosk.post("/api/checkout", json={"name": "焼津 松", "birth_date": "1990-04-04", "address": "焼津市本町1-1",
                                            "name_kana": "★★"})
    assert out.status_code == 201, out.get_json()


def test_a_reading_hq_signed_into_a_qr_is_taken_as_it_is(kiosk):
    import dataclasses
    family = dataclasses.replace(FAMILY, household_id="hh-3", members=(
        Member("p-3", "焼津 杉", "1960-06-06", "male", name_kana="★★"),))
    token = kiosk.post("/screen/qr", json={"qr": sign(family, KEY)}).get_json()["token"]
    resp = kiosk.post("/screen/checkin?lang=en", json={
        "token": token, "present": [0], "stay_type": "in_shelter", "needs": [[]], "disclosure": "none"})
    assert resp.status_code == 201, resp.get_json()


def test_evac_kiosk_checkin_refuses_a_reading_of_emoji_or_symbols(kiosk):
    seq = kiosk.store.last_seq
    base = ("kiosk", "checkin", "--db", str(kiosk.db), "--shelter", "H031", "--birth", "1990-04-04", "--sex", "female")
    for kana in ("😀", "★★"):
        typed = run_evac(*base, "--name", "焼津 梅", "--kana", kana)
        assert typed.returncode == 2 and "--kana" in typed.stderr and "nothing was saved" in typed.stderr, \
            typed.stderr
        assert "ふりがな" in typed.stderr, typed.stderr
    assert kiosk.store.last_seq == seq
    assert run_evac(*base, "--name", "焼津 梅", "--kana", "ﾔｲﾂﾞ ｳﾒ").returncode == 0
    assert run_evac(*base, "--name", "José Martínez", "--kana", "José Martínez").returncode == 0
    assert run_evac(*base, "--name", "焼津 竹").returncode == 0   # (a reading is not asked for)


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_the_tablet_refuses_a_reading_of_emoji_or_symbols_on_a_new_card(tablet, lang):
    from tests.staff_helpers import errors, post, snapshot
    tablet.get(f"/staff/lang/{lang}")
    before = snapshot(tablet.db)
    resp = post(tablet, "/staff/register", {**CARD, "name_kana": "😀", "members-0-name_kana": "★★"},
                "/staff/register")
    assert resp.status_code == 422
    assert errors(resp.text, "name_kana") == [TABLET_KANA[lang]]
    assert errors(resp.text, "members-0-name_kana") == [TABLET_KANA[lang]]
    assert snapshot(tablet.db) == before
    resp = post(tablet, "/staff/register", {**CARD, "name_kana": "", "members-0-name_kana": "ﾔｲﾂﾞ ﾓﾓ"},
                "/staff/register")
    assert resp.status_code == 302


def test_the_tablet_refuses_one_on_a_member_added_later_but_corrects_a_record_kept_with_one(tablet):
    from evac.events import Person
    from evac.identity import person_key
    from kiosk import staff_store
    from tests.staff_helpers import errors, post, snapshot
    kept = Person("焼津 杉", "1960-06-06", "male", "焼津市本町1-1", "★★")
    store = kept_here(tablet, kept)   # from HQ's QR, or from before the kiosk refused it
    row = staff_store.person(store, person_key(kept.name, kept.birth_date, kept.address))
    url = f"/staff/person/{row.key}"
    before = snapshot(tablet.db)
    resp = post(tablet, url + "/add-member", {"member-name": "焼津 桜", "member-name_kana": "🌸",
                                              "member-birth_date": "2020-01-01", "member-sex": "female"}, url)
    assert resp.status_code == 422 and errors(resp.text, "member-name_kana") == [TABLET_KANA["en"]], resp.text
    assert snapshot(tablet.db) == before
    form = {"name": kept.name, "name_kana": "★★", "birth_date": kept.birth_date, "sex": "male",
            "address": kept.address, "stay_type": "at_home", "home_damage": "unknown", "consent": "none",
            "drawn_from": row.version}
    resp = post(tablet, url, form, url)
    assert resp.status_code == 302, errors(resp.text, "name_kana")
    row = staff_store.person(store, row.key)
    assert row.entry.where.stay_type == "at_home" and row.person.name_kana == "★★"
    resp = post(tablet, url, {**form, "name_kana": "☆☆", "drawn_from": row.version}, url)
    assert resp.status_code == 422 and errors(resp.text, "name_kana") == [TABLET_KANA["en"]]
    resp = post(tablet, url, {**form, "name_kana": "やいづ すぎ", "drawn_from": row.version}, url)
    assert resp.status_code == 302 and staff_store.person(store, row.key).person.name_kana == "やいづ すぎ"
    store.close()
