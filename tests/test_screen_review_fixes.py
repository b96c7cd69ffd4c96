"""What the review of the evacuee screen found, each fixed and kept fixed: never-disclose people behind a
household QR or an IC card (災対法 §86-15), an identification that lives while it is used, birth dates as
people type them, the pre-registration's family code, the QR's expiry by HQ's time, retries, wording."""
from __future__ import annotations

import datetime as dt
import time

import pytest
from hypothesis import given, strategies as st

from evac.dates import ERAS, InTheFuture, NotADate, parse_typed_birth_date, to_japanese_era
from evac.prereg_qr import Household, sign
from kiosk.identifications import Identifications, Identified
from tests.test_kiosk_screen_api import FAMILY, KEY, identify, kiosk  # noqa: F401  (fixture)

TODAY = dt.date(2026, 11, 26)
CHECKIN = {"stay_type": "in_shelter", "disclosure": "none"}


def _protect(store, member) -> None:
    store.set_consent("H031", member.name, member.birth_date, FAMILY.address,
                      {"consent": "none", "never_disclose": True})


def _held_back(store, resp, names: list[str], held: list[str]) -> None:
    """Answered as a check-in of someone unknown (a refusal told a QR's holder that the name is protected),
    but `held` were held back for staff: a call on the tablet naming them (test_kiosk_screen_no_protection_oracle)."""
    assert resp.status_code == 201 and resp.get_json()["names"] == names, resp.get_json()
    assert "seq" not in resp.get_json()
    calls = [c["who"] for c in store.open_staff_calls(with_who=True) if c["reason"] == "held_protected"]
    assert calls[-1] == held


# -- 1. never-disclose people (災対法 §86-15) ------------------------------------------------------

def test_a_household_qr_never_shows_checks_out_or_moves_a_protected_member(kiosk):
    token = identify(kiosk)
    assert kiosk.post("/screen/checkin", json={"token": token, "present": [0, 1], "needs": [[], []], **CHECKIN}).status_code == 201
    hanako = FAMILY.members[1]
    _protect(kiosk.store, hanako)
    before = kiosk.store.last_seq
    # whoever holds the QR (in DV, often the abuser) scans it at the shelter she is in
    body = kiosk.post("/screen/qr?lang=en", json={"qr": sign(FAMILY, KEY)}).get_json()
    # Her household with her (as HQ protects it, and every kiosk after its next sync): this kiosk alone
    # already knows them to be one household.
    assert [(p["name"], p["here"]) for p in body["persons"]] == [("焼津 太郎", False), ("焼津 花子", False)]
    # she cannot be checked out or moved on: the same words as for anyone who is not here
    for extra in ({}, {"to_shelter_id": "H001"}):
        resp = kiosk.post("/screen/leave?lang=en", json={"token": body["token"], "present": [1], **extra})
        assert resp.status_code == 422
        assert resp.get_json()["errors"] == {"present": "This cannot be done here. Please ask staff."}
        resp = kiosk.post("/screen/leave?lang=en", json={"token": body["token"], "present": [0, 1], **extra})
        assert resp.status_code == 422
    # nor checked in (again) from it: answered as for someone unknown, held back for staff, nothing written
    resp = kiosk.post("/screen/checkin?lang=en", json={"token": body["token"], "present": [1], "needs": [[]], **CHECKIN})
    _held_back(kiosk.store, resp, ["焼津 花子"], ["焼津 花子 1950-07-07"])
    # nor can the others of her household: staff check them out
    body = kiosk.post("/screen/qr?lang=en", json={"qr": sign(FAMILY, KEY)}).get_json()
    resp = kiosk.post("/screen/leave?lang=en", json={"token": body["token"], "present": [0]})
    assert resp.status_code == 422
    assert kiosk.store.last_seq == before


def test_a_protected_person_not_checked_in_anywhere_is_not_checked_in_from_a_qr(kiosk):
    kiosk.store.register("H031", [_person(FAMILY.members[1])])
    _protect(kiosk.store, FAMILY.members[1])
    token = identify(kiosk)
    before = kiosk.store.last_seq
    resp = kiosk.post("/screen/checkin?lang=ja", json={"token": token, "present": [0, 1], "needs": [[], []], **CHECKIN})
    _held_back(kiosk.store, resp, ["焼津 太郎", "焼津 花子"], ["焼津 花子 1950-07-07"])
    # 太郎 (whom this kiosk does not know to be her household) is checked in; nothing is written for her
    assert {e["person"]["name"] for e in kiosk.store.events_after(before)} == {"焼津 太郎"}


def test_a_protected_member_typed_in_by_hand_is_not_checked_in(kiosk):
    hanako = FAMILY.members[1]
    kiosk.store.register("H031", [_person(hanako)])
    _protect(kiosk.store, hanako)
    token = identify(kiosk)
    before = kiosk.store.last_seq
    typed = {"name": hanako.name, "birth_date": hanako.birth_date, "sex": hanako.sex}
    resp = kiosk.post("/screen/checkin?lang=en", json={"token": token, "present": [0], "needs": [[], []],
                                                       "members": [typed], **CHECKIN})
    _held_back(kiosk.store, resp, ["焼津 太郎", "焼津 花子"], ["焼津 花子 1950-07-07"])
    # 太郎 (whom this kiosk does not know to be her household) is checked in; nothing is written for her
    assert {e["person"]["name"] for e in kiosk.store.events_after(before)} == {"焼津 太郎"}


def test_the_kiosks_own_qr_check_in_api_does_not_check_in_a_protected_member(kiosk):
    kiosk.store.register("H031", [_person(FAMILY.members[1])])
    _protect(kiosk.store, FAMILY.members[1])
    before = kiosk.store.last_seq
    resp = kiosk.post("/api/qr-checkin", json={"qr": sign(FAMILY, KEY)})
    _held_back(kiosk.store, resp, ["焼津 太郎", "焼津 花子"], ["焼津 花子 1950-07-07"])
    # 太郎 (whom this kiosk does not know to be her household) is checked in; nothing is written for her
    assert {e["person"]["name"] for e in kiosk.store.events_after(before)} == {"焼津 太郎"}


def _person(member):
    from evac.events import Person
    return Person(member.name, member.birth_date, member.sex, FAMILY.address, member.name_kana, member.prereg_id)


# -- 2. an identification lives while it is used --------------------------------------------------

class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_identification_lives_while_used_up_to_its_cap():
    clock = Clock()
    ids = Identifications(150, cap=1800, clock=clock)
    token = ids.put(Identified("qr", [], []))
    for _ in range(11):           # someone typing in a household for 27.5 minutes, a touch every 150 s
        clock.now += 149
        assert ids.get(token) is not None
    clock.now += 149              # 29.8 minutes: still within the cap
    assert ids.get(token) is not None
    clock.now += 149              # past 30 minutes, however active
    assert ids.get(token) is None


def test_an_identification_left_alone_expires():
    clock = Clock()
    ids = Identifications(150, cap=1800, clock=clock)
    token = ids.put(Identified("qr", [], []))
    clock.now += 151
    assert ids.get(token) is None and len(ids) == 0


def test_the_screen_keeps_an_active_persons_identification(kiosk):
    clock = Clock()
    ids = kiosk.application.extensions["screen_ids"]
    ids.clock = clock
    token = identify(kiosk)
    for _ in range(3):   # four and a half minutes on the household screen, touching it all the time
        clock.now += ids.ttl - 1
        assert kiosk.post("/screen/still-here", data=token, content_type="text/plain").status_code == 204
    resp = kiosk.post("/screen/member?lang=en", json={"token": token, "present": [0, 1], "members": [],
                                                      "name": "焼津 三郎", "birth_date": "2012-01-01", "sex": "male"})
    assert resp.status_code == 200, resp.get_json()
    clock.now += ids.ttl - 1
    resp = kiosk.post("/screen/checkin", json={"token": token, "present": [0, 1], "needs": [[], []], **CHECKIN})
    assert resp.status_code == 201, resp.get_json()


# -- 3. birth dates as typed --------------------------------------------------------------------

@pytest.mark.parametrize("typed", ["1980-02-17", "１９８０-０２-１７", "1980/02/17", "1980-2-17", "1980.2.17",
                                   "1980年2月17日", "昭和55年2月17日", "S55.2.17", "s55/2/17", "Ｓ５５．２．１７",
                                   "昭和５５年２月１７日", " 1980/2/17 ",
                                   # (review: as paper forms abbreviate the era, and numbers parted by spaces)
                                   "昭55.2.17", "昭55年2月17日", "1980 2 17", "S55 2 17", "１９８０　２　１７"])
def test_birth_dates_are_read_as_people_type_them(typed):
    assert parse_typed_birth_date(typed, TODAY) == dt.date(1980, 2, 17)


@pytest.mark.parametrize("typed", ["1980-W07-1", "17/02/1980", "80-02-17", "1980-02-30", "昭和65年1月1日",
                                   "平成31年5月1日", "令和0年5月1日", "X55.2.17", "1980-02", "", "1980--02-17",
                                   "1879-12-31", "2/17", "1980 217", "80 2 17", "平31.5.1", "1980-2 17x"])
def test_anything_else_is_refused(typed):
    with pytest.raises(NotADate):
        parse_typed_birth_date(typed, TODAY)


def test_the_first_year_of_an_era_and_the_future():
    assert parse_typed_birth_date("平成元年1月8日", TODAY) == dt.date(1989, 1, 8)
    assert parse_typed_birth_date("R1.5.1", TODAY) == dt.date(2019, 5, 1)
    assert parse_typed_birth_date("昭和64年1月7日", TODAY) == dt.date(1989, 1, 7)
    with pytest.raises(InTheFuture):
        parse_typed_birth_date("2099-01-01", TODAY)
    with pytest.raises(InTheFuture):
        parse_typed_birth_date("令和10年1月1日", TODAY)


@given(st.dates(min_value=dt.date(1880, 1, 1), max_value=TODAY),
       st.sampled_from(["{y:04d}-{m:02d}-{d:02d}", "{y}/{m}/{d}", "{y}.{m}.{d}", "{y}年{m}月{d}日"]))
def test_any_western_date_comes_back(day, form):
    typed = form.format(y=day.year, m=day.month, d=day.day)
    assert parse_typed_birth_date(typed, TODAY) == day


@given(st.dates(min_value=dt.date(1880, 1, 1), max_value=TODAY), st.booleans(), st.booleans())
def test_any_japanese_era_date_comes_back(day, letter, wide):
    era, year = to_japanese_era(day)
    name = next(ltr for kanji, ltr, _start in ERAS if kanji == era) if letter else era
    nth = "元" if year == 1 and not letter else str(year)
    typed = f"{name}{nth}.{day.month}.{day.day}" if letter else f"{name}{nth}年{day.month}月{day.day}日"
    if wide:   # as a Japanese IME gives it
        typed = typed.translate({c: c + 0xFEE0 for c in range(0x21, 0x7F)})
    assert parse_typed_birth_date(typed, TODAY) == day


@pytest.mark.parametrize("typed, field_says", [
    ("昭和55年2月17日", None), ("１９８０/２/１７", None),
    ("1980-W07-1", "Enter the birth date like 1980-02-17 (year-month-day)."),
    ("2099-01-01", "The birth date cannot be in the future.")])
def test_the_screen_reads_typed_birth_dates(kiosk, typed, field_says):
    token = identify(kiosk)
    resp = kiosk.post("/screen/member?lang=en", json={"token": token, "present": [0, 1], "members": [],
                                                      "name": "焼津 三郎", "birth_date": typed, "sex": "male"})
    if field_says is None:
        assert resp.status_code == 200 and resp.get_json()["birth_date"] == "1980-02-17"
    else:
        assert resp.status_code == 422 and resp.get_json()["errors"] == {"member.birth_date": field_says}


def test_a_family_code_typed_in_full_width_is_taken(kiosk):
    token = identify(kiosk)
    resp = kiosk.post("/screen/checkin", json={"token": token, "present": [0, 1], "needs": [[], []],
                                               "stay_type": "in_shelter", "disclosure": "family",
                                               "family_code": "ｙａｉｚｕ７"})
    assert resp.status_code == 201, resp.get_json()
    consent = [e for e in kiosk.store.outbox(10) if e["type"] == "consent"]
    assert {e["data"]["family_code"] for e in consent} == {"yaizu7"}


# -- 4. the pre-registration's family code -------------------------------------------------------

def _scan(kiosk, household) -> dict:
    resp = kiosk.post("/screen/qr", json={"qr": sign(household, KEY)})
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def test_the_pre_registered_family_code_is_kept_and_never_sent_to_the_browser(kiosk):
    household = Household("hh-7", FAMILY.address, FAMILY.members, consent="family", family_code="sakura88",
                          expires=int(time.time()) + 3600)
    body = _scan(kiosk, household)
    assert "sakura88" not in str(body)
    resp = kiosk.post("/screen/checkin", json={"token": body["token"], "present": [0, 1], "needs": [[], []],
                                               "stay_type": "in_shelter", "disclosure": "family", "family_code": ""})
    assert resp.status_code == 201, resp.get_json()
    consent = [e for e in kiosk.store.outbox(10) if e["type"] == "consent"]
    assert [e["data"]["family_code"] for e in consent] == ["sakura88", "sakura88"]


def test_a_pre_registered_code_in_kana_is_kept_though_the_screen_takes_only_letters_and_digits(kiosk):
    household = Household("hh-10", FAMILY.address, FAMILY.members, consent="family", family_code="さくら88",
                          expires=int(time.time()) + 3600)
    body = _scan(kiosk, household)
    resp = kiosk.post("/screen/checkin", json={"token": body["token"], "present": [0, 1], "needs": [[], []],
                                               "stay_type": "in_shelter", "disclosure": "family"})
    assert resp.status_code == 201, resp.get_json()
    assert {e["data"]["family_code"] for e in kiosk.store.outbox(10) if e["type"] == "consent"} == {"さくら88"}


def test_a_pre_registered_code_that_is_an_individual_number_is_not_kept(kiosk):
    household = Household("hh-11", FAMILY.address, FAMILY.members, consent="family", family_code="123456789018",
                          expires=int(time.time()) + 3600)
    body = _scan(kiosk, household)
    resp = kiosk.post("/screen/checkin", json={"token": body["token"], "present": [0, 1], "needs": [[], []],
                                               "stay_type": "in_shelter", "disclosure": "family"})
    assert resp.status_code == 201, resp.get_json()
    assert "123456789018" not in str(kiosk.store.outbox(10))


def test_a_code_typed_on_the_screen_wins_and_other_consent_keeps_none(kiosk):
    household = Household("hh-8", FAMILY.address, FAMILY.members, consent="family", family_code="sakura88",
                          expires=int(time.time()) + 3600)
    body = _scan(kiosk, household)
    kiosk.post("/screen/checkin", json={"token": body["token"], "present": [0], "needs": [[]],
                                        "stay_type": "in_shelter", "disclosure": "family", "family_code": "momo22"})
    body = _scan(kiosk, household)
    kiosk.post("/screen/checkin", json={"token": body["token"], "present": [1], "needs": [[]],
                                        "stay_type": "in_shelter", "disclosure": "public"})
    consent = [e["data"] for e in kiosk.store.outbox(10) if e["type"] == "consent"]
    assert [(c["consent"], c.get("family_code", "")) for c in consent] == [("family", "momo22"), ("public", "")]


# -- 5. a QR's expiry by the kiosk's HQ-corrected time -------------------------------------------

def test_a_qr_expired_by_hqs_clock_is_refused_though_the_kiosks_clock_is_behind(kiosk):
    # the kiosk's clock is two days slow; HQ's answer at the last sync said so
    kiosk.store.note_clock_offset(dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=2))
    household = Household("hh-9", FAMILY.address, FAMILY.members, expires=int(time.time()) + 86400)
    resp = kiosk.post("/screen/qr?lang=en", json={"qr": sign(household, KEY)})
    assert resp.status_code == 422 and resp.get_json()["code"] == "expired"
    resp = kiosk.post("/api/qr-checkin", json={"qr": sign(household, KEY)})
    assert resp.status_code == 422 and resp.get_json()["error"] == "expired"
    # and the confirmation the person sees is dated by that time too
    later = Household("hh-9", FAMILY.address, FAMILY.members, expires=int(time.time()) + 3 * 86400)
    token = _scan(kiosk, later)["token"]
    resp = kiosk.post("/screen/checkin", json={"token": token, "present": [0, 1], "needs": [[], []], **CHECKIN})
    confirmed = dt.datetime.fromisoformat(resp.get_json()["confirmed_at"])
    assert confirmed > dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1)


# -- 6. retries ----------------------------------------------------------------------------------

def test_a_retried_check_in_gets_the_same_confirmation_and_writes_nothing_twice(kiosk):
    token = identify(kiosk)
    body = {"token": token, "present": [0, 1], "needs": [[], []], **CHECKIN}
    first = kiosk.post("/screen/checkin?lang=ja", json=body)
    written = kiosk.store.last_seq
    again = kiosk.post("/screen/checkin?lang=ja", json=body)  # the answer to the first was lost
    assert first.status_code == again.status_code == 201 and again.get_json() == first.get_json()
    assert kiosk.store.last_seq == written
    # but it is no way to leave or add people afterwards
    assert kiosk.post("/screen/leave", json={"token": token, "present": [0]}).status_code == 422
    assert kiosk.post("/screen/member", json={"token": token, "present": [0], "members": [], "name": "焼津 三郎",
                                              "birth_date": "2012-01-01", "sex": "male"}).status_code == 422
    # once the screen has shown the confirmation it forgets
    kiosk.post("/screen/forget", data=token, content_type="text/plain")
    assert kiosk.post("/screen/checkin", json=body).status_code == 422


def test_a_retried_departure_gets_the_same_confirmation(kiosk):
    token = identify(kiosk)
    kiosk.post("/screen/checkin", json={"token": token, "present": [0, 1], "needs": [[], []], **CHECKIN})
    token = identify(kiosk)
    first = kiosk.post("/screen/leave", json={"token": token, "present": [0, 1], "to_shelter_id": "H001"})
    written = kiosk.store.last_seq
    again = kiosk.post("/screen/leave", json={"token": token, "present": [0, 1], "to_shelter_id": "H001"})
    assert first.status_code == again.status_code == 201 and again.get_json() == first.get_json()
    assert kiosk.store.last_seq == written


# -- 7. words ------------------------------------------------------------------------------------

def test_a_damaged_shelter_qr_says_ask_staff(kiosk):
    resp = kiosk.post("/screen/qr?lang=ja", json={"qr": "EV1:" + "A" * 10})
    assert resp.status_code == 422
    assert resp.get_json()["errors"]["qr"] == "このQRコードは傷んでいて読み取れません。係員にお声がけください。"


def test_the_last_try_of_code_b_does_not_send_the_person_to_code_b(insert_card, tmp_path):
    from evac.card.applet import MyNumberApplet
    from kiosk import create_app
    from tests.test_card_pcsc import identity
    app = create_app({"KIOSK_DB": str(tmp_path / "k.sqlite3"), "SHELTER_ID": "H031", "TESTING": True,
                      "CARD_READER": "pcsc", "READER_NAME": "Virtual PCD", "WATCH_TAPS": False})
    client = app.test_client()
    applet = insert_card(MyNumberApplet(identity(), code_b_tries=1))
    resp = client.post("/screen/card-tries?lang=en", json={"code_b": True})
    assert resp.get_json()["warning"] == "Only one try is left. So that your card does not lock, please ask staff."
    resp = client.post("/screen/card?lang=en", json={"code_b": "55021720301234"})
    assert resp.status_code == 422 and resp.get_json()["code"] == "last_try"
    assert resp.get_json()["errors"] == {"code_b": "Only one try is left. So that your card does not lock, please ask staff."}
    assert applet.code_b_tries == 1
    resp = client.post("/screen/card-tries?lang=en", json={})
    assert "照合番号B" not in resp.get_json()["warning"]   # the PIN has its tries: nothing to warn of


# -- card readers' refusals, as the evacuee reads them ---------------------------------------------

def test_every_refusal_of_the_card_readers_has_words_on_the_screen():
    import re
    from pathlib import Path

    from kiosk.screen import CARD_MESSAGES
    root = Path(__file__).resolve().parent.parent
    codes = set()
    for source in [*root.joinpath("evac", "card").glob("*.py"), root / "kiosk" / "card_readers.py"]:
        codes |= set(re.findall(r'CardError\(\s*"([a-z_]+)"', source.read_text()))
    assert {"no_reader", "two_cards", "wrong_secret", "busy"} <= codes
    # bad_input (digits of another script) never reaches the card from the screen: it asks for the digits first
    assert codes - {"bad_input"} <= set(CARD_MESSAGES), codes - set(CARD_MESSAGES)


def test_a_wrong_pin_with_tries_unknown_and_two_cards_are_said_plainly(kiosk):
    from evac.card.mynumber import CardError
    from kiosk.screen import card_message
    with kiosk.application.test_request_context("/screen/card?lang=ja"):
        assert card_message(CardError("wrong_secret", "x", None), "pin") == "番号が違います。"
        # (review: it said "2 left" where the kiosk would try once more: it never spends the card's last try)
        assert card_message(CardError("wrong_secret", "x", 2), "pin") == (
            "番号が違います。もう一度入力してください（この受付機で試せるのはあと 1 回です。"
            "カードがロックされないよう、最後の1回は使いません）。")
        assert card_message(CardError("locked", "x", 0), "pin").startswith("このカードの暗証番号はロックされています。「照合番号Bを使う」")
        assert card_message(CardError("locked", "x", 0), "code_b").startswith("このカードの照合番号Bはロックされています。")
        assert card_message(CardError("two_cards", "x"), "pin").startswith("複数の読み取り機にカードが")
    with kiosk.application.test_request_context("/screen/card?lang=en"):
        assert card_message(CardError("wrong_secret", "x", None), "pin") == "That number is not right."


# -- never-disclose reaches every kiosk (HQ's configuration), so no kiosk answers differently ------------

def test_protection_set_at_one_shelter_reaches_every_kiosk_through_hq(kiosk, hq_app, hq_client, enroll):
    # The household QR is in the abuser's hands; staff at shelter A protected Hanako.  At shelter B's kiosk
    # (kiosk, H031) the same QR must not show, check in or probe her either.
    from tests.test_hq_sync_api import post
    from tests.wire import KioskStream
    hanako = FAMILY.members[1]
    a = KioskStream("kiosk-shelter-a", shelter_id="H001")
    # kiosk A had her under another address (where she stays now): protection goes by name and birth date
    her = {"name": "焼津　花子", "birth_date": hanako.birth_date, "sex": hanako.sex, "address": "静岡市葵区1-1"}
    a.checkin(her)
    a.add("consent", her, {"consent": "none", "never_disclose": True})
    token_a, token_b = enroll("H001"), enroll("H031")
    config_b = lambda: hq_client.get("/api/v1/kiosk/config", headers={"Authorization": f"Bearer {token_b}"}).get_json()
    # (her check-in opens shelter A, which changes the version too: sent first, so that the protection is seen)
    assert post(hq_client, token_a, "kiosk-shelter-a", a.events[:1]).status_code == 200
    unprotected = config_b()
    assert post(hq_client, token_a, "kiosk-shelter-a", a.events).status_code == 200
    config = config_b()
    assert config["protected"] and not any("花子" in d for d in config["protected"])  # digests, never names
    assert config["config_version"] != unprotected["config_version"]   # kiosks fetch it at their next sync
    keys = kiosk.store.prereg_keys()   # this test's QR signing key stands in for HQ's
    kiosk.store.apply_config({**config, "prereg_keys": keys})
    before = kiosk.store.last_seq
    body = kiosk.post("/screen/qr?lang=en", json={"qr": sign(FAMILY, KEY)}).get_json()
    assert [(p["name"], p["here"]) for p in body["persons"]] == [("焼津 太郎", False), ("焼津 花子", False)]
    # A bad field is said first, whether she is protected or not: nothing tells the two apart but the end.
    bad = kiosk.post("/screen/checkin?lang=en", json={"token": body["token"], "present": [1], "needs": [[]],
                                                      **CHECKIN, "disclosure": "family", "family_code": "ab"})
    assert bad.status_code == 422 and list(bad.get_json()["errors"]) == ["family_code"]
    held = kiosk.post("/screen/checkin?lang=en", json={"token": body["token"], "present": [1], "needs": [[]],
                                                       **CHECKIN})
    _held_back(kiosk.store, held, ["焼津 花子"], ["焼津 花子 1950-07-07"])
    assert kiosk.store.last_seq == before
    # Taro alone is checked in as before.
    body = kiosk.post("/screen/qr?lang=en", json={"qr": sign(FAMILY, KEY)}).get_json()
    assert kiosk.post("/screen/checkin?lang=en", json={"token": body["token"], "present": [0], "needs": [[]],
                                                       **CHECKIN}).status_code == 201
    assert kiosk.store.last_seq > before


def _ic_kiosk(tmp_path):
    """(screen client, store, nfcpy udp device) of a kiosk that knows HQ's IC token key."""
    pytest.importorskip("nfc")
    from kiosk import create_app
    from kiosk.store import KioskStore
    from tests.conftest import free_udp_port
    device = f"udp:127.0.0.1:{free_udp_port()}"
    db = tmp_path / "kiosk.sqlite3"
    client = create_app({"KIOSK_DB": str(db), "SHELTER_ID": "H031", "TESTING": True, "NFC_DEVICE": device,
                         "CARD_WAIT": 5}).test_client()
    store = KioskStore(db)
    store.apply_config({"shelters": [{"id": s, "name": n, "kind": k} for s, n, k in store.shelter_list()],
                        "ic_token_key": "ab" * 32})
    return client, store, device


def test_a_protected_holders_ic_card_is_answered_as_no_ones_and_writes_nothing(in_background, tmp_path):
    # Through nfcpy's own stack on its udp device, as tests/test_ic_tokens.py taps cards.
    from evac.ictoken import ic_token
    from kiosk.card_emulator import NfcUdpFelica
    client, store, device = _ic_kiosk(tmp_path)
    idm, hanako = bytes.fromhex("0114B3A1C2D3E4F6"), FAMILY.members[1]
    store.check_in("H031", [_person(hanako)])
    store.link_ic(ic_token(idm, store.ic_token_key()), hanako.name, hanako.birth_date, FAMILY.address,
                  shelter_id="H031")
    _protect(store, hanako)
    before = store.last_seq
    card = in_background(NfcUdpFelica(idm, device))
    try:
        tap = client.post("/api/ic/tap")
        assert tap.status_code == 422 and "not linked to anyone yet" in tap.get_json()["message"], tap.get_json()
        shown = client.post("/screen/ic?lang=en", json={})
        assert shown.status_code == 422
        assert shown.get_json()["errors"] == {"ic": "This IC card is not linked to anyone yet. Please ask staff."}
    finally:
        card.stop()
    assert store.last_seq == before   # she stays checked in; nothing was written


def test_the_household_of_someone_protected_at_this_kiosk_is_protected_before_any_sync(in_background, tmp_path):
    # The lead protects a man on a kiosk that has not heard from HQ since: his wife, checked in with him as
    # one household, is protected at once (HQ protects the household; the kiosk must not wait for
    # its next sync to learn it).  Her IC card is answered as no one's; a neighbour is not protected.
    from evac.events import Person
    from evac.ictoken import ic_token
    from kiosk.card_emulator import NfcUdpFelica
    client, store, device = _ic_kiosk(tmp_path)
    protected, wife = FAMILY.members
    neighbour = Person("小川 次郎", "1960-03-03", "male", "焼津市小川3-3")
    idm = bytes.fromhex("0114B3A1C2D3E4F7")
    store.check_in("H031", [_person(protected), _person(wife)])     # together: one household
    store.check_in("H031", [neighbour])
    store.link_ic(ic_token(idm, store.ic_token_key()), wife.name, wife.birth_date, FAMILY.address,
                  shelter_id="H031")
    assert not store.is_protected(wife.name, wife.birth_date, FAMILY.address)
    _protect(store, protected)
    assert store.is_protected(wife.name, wife.birth_date, FAMILY.address, wife.name_kana)
    assert not store.is_protected(neighbour.name, neighbour.birth_date, neighbour.address)
    before = store.last_seq
    card = in_background(NfcUdpFelica(idm, device))
    try:
        tap = client.post("/api/ic/tap")
        assert tap.status_code == 422 and "not linked to anyone yet" in tap.get_json()["message"], tap.get_json()
    finally:
        card.stop()
    assert store.last_seq == before   # she stays checked in; nothing was written
    # Lifted by the lead, the household is answered again.
    from evac.identity import person_key
    from kiosk import staff_store
    staff_store.set_never_disclose(store, "H031", staff_store.person(store, person_key(
        protected.name, protected.birth_date, FAMILY.address)), False)
    assert not store.is_protected(wife.name, wife.birth_date, FAMILY.address, wife.name_kana)
    store.close()
