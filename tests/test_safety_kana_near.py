"""A family asks in kana (「やまだ たろう」, a birth date, no address or an old one) about someone checked in
with a My Number card, which gives the name in kanji only (山田太郎) and no reading: they were told the city
has no information while the person was in a shelter.  Now such a record, born on the day asked, goes to
staff as a near record (never answered at once, never shown to the inquirer) marked 「読みを確認してください」;
staff choose it, or say it is none of them (at most READING_NEAR_CAP such records, by record id).  A name
in kanji asked about a record typed only in kana is near at the address asked, as before, and now marked the
same way.  A protected record (or household) among them flags the inquiry, answered as about someone
unknown, exactly as other protected near records.  Domain rules pure; the HQ path on the real app and database
(SQLite and PostgreSQL), people sent by real kiosk syncs."""
from __future__ import annotations

import dataclasses
import json
import re

from evac.disclosure import (
    KANA_INQUIRY, KANA_RECORD, READING_NEAR_CAP, Answer, PersonFacts, answer_now, could_mean, near, offered_near,
    parse_inquiry, reading_differs, the_person,
)
from hq_dashboard.db import db
from hq_dashboard.models import Inquiry, Person
from tests.test_safety_household_protection import Kiosk as HouseholdKiosk
from tests.test_safety_release_choice import radios, release, released_audit
from tests.test_safety_review_fixes import INQUIRER, Kiosk, ask, check, log_in

# From a My Number card: kanji, no reading.
CARD_TARO = {"name": "山田 太郎", "birth_date": "1975-05-05", "sex": "male", "address": "焼津市本町1-1"}
# The same name and no reading, born the next day: never offered for 1975-05-05.
NEXT_DAY = {**CARD_TARO, "name": "山田 太朗", "birth_date": "1975-05-06", "address": "焼津市本町1-3"}
# A paper form typed in kana only.
PAPER_HANAKO = {"name": "スズキ ハナコ", "birth_date": "1980-08-08", "sex": "female", "address": "焼津市中港2-2"}
READING_MARK = "読みを確認してください"


def _inquiry(name: str, born: str, address: str = "", sex: str = ""):
    asked = parse_inquiry({"inquirer": INQUIRER, "relationship": "household_family", "reason": "心配",
                           "sought": {"name": name, "birth_date": born, "address": address}})
    return dataclasses.replace(asked, sought_sex=sex)


def _facts(person: dict, **more) -> PersonFacts:
    return PersonFacts(name=person["name"], name_kana=person.get("name_kana", ""), birth_date=person["birth_date"],
                       address=person["address"], sex=person.get("sex", ""), **more)


def _public(answer: dict) -> dict:
    return {k: v for k, v in answer.items() if k not in ("inquiry_id", "access_key")}


def _block(queue: str, ref: str) -> str:
    return queue.split(f'id="inquiry-{ref}"', 1)[1].split("</form>", 1)[0]


def _marks(block: str) -> list[str]:
    """What staff are told differs of the records offered."""
    return re.findall(r'data-testid="differs">([^<]*)<', block)


# -- the rule (evac.disclosure, pure) ---------------------------------------------------------------------

def test_a_kana_name_is_near_a_record_without_reading_born_that_day_at_any_address():
    card = _facts(CARD_TARO)
    # Hiragana, katakana, half-width, any spacing; no address, an old one, the record's own.
    for name, address in [("やまだ たろう", ""), ("ヤマダタロウ", ""), ("ﾔﾏﾀﾞ ﾀﾛｳ", ""), ("たろう　やまだ", ""),
                          ("やまだ・たろう", "焼津市中港9-9"), ("やまだ たろう", "焼津市本町1-1")]:
        asked = _inquiry(name, "1975-05-05", address)
        assert near(asked, card) and reading_differs(asked, card) == KANA_INQUIRY, (name, address)
    # Born another day: not near, whatever the name.
    assert not near(_inquiry("やまだ たろう", "1975-05-06"), card)
    # A record with a reading is compared by it: another reading is another person.
    assert not near(_inquiry("やまだ たろう", "1975-05-05"), _facts({**CARD_TARO, "name_kana": "ヤマダ タカオ"}))
    assert not reading_differs(_inquiry("やまだ たろう", "1975-05-05"), _facts({**CARD_TARO, "name_kana": "ヤマダ タカオ"}))


def test_the_sex_when_both_give_one_must_agree():
    card = _facts(CARD_TARO)
    assert near(_inquiry("やまだ たろう", "1975-05-05", sex="male"), card)
    assert not near(_inquiry("やまだ たろう", "1975-05-05", sex="female"), card)
    # Not known on one side: the birth date alone.
    assert near(_inquiry("やまだ たろう", "1975-05-05", sex="female"), _facts({**CARD_TARO, "sex": ""}))
    assert near(_inquiry("やまだ たろう", "1975-05-05"), card)


def test_a_kanji_name_is_near_a_record_only_in_kana_born_that_day_at_the_address_asked():
    paper = _facts(PAPER_HANAKO)
    asked = _inquiry("鈴木 花子", "1980-08-08", "焼津市中港2-2")
    assert near(asked, paper) and reading_differs(asked, paper) == KANA_RECORD
    assert not near(_inquiry("鈴木 花子", "1980-08-09", "焼津市中港2-2"), paper)
    # Elsewhere, or with no address, a kanji name is not near a kana-only record: most inquiries are in kanji,
    # and each would be near (and, the record protected, flagged by) every kana-only record born that day.
    assert not near(_inquiry("鈴木 花子", "1980-08-08"), paper)
    assert not near(_inquiry("鈴木 花子", "1980-08-08", "焼津市本町5-5"), paper)


def test_a_kana_name_that_matches_a_record_is_not_held_back_by_a_card_record_elsewhere():
    """The kana widening is for an inquiry that finds nobody: one its own name finds is answered as before."""
    with_kana = _facts({**CARD_TARO, "name": "山田 太郎", "name_kana": "ヤマダ タロウ", "address": "焼津市中港1"},
                       consent="public")
    card_elsewhere = _facts({**CARD_TARO, "name": "山田 太朗"}, never_disclose=True)
    asked = _inquiry("やまだ たろう", "1975-05-05")
    assert near(asked, card_elsewhere)
    assert could_mean(asked, [with_kana, card_elsewhere]) == [with_kana]
    assert the_person(asked, [with_kana, card_elsewhere]) == (with_kana, False)
    # Found nobody by its name: a card record elsewhere is what it could mean, unless protected: a protected
    # record near only by reading, away from the address asked, is as if not there (neither flags nor is
    # offered).  (This asserted (None, True) before: one protected card record flagged every kana inquiry
    # born that day and hid its other records from staff.)
    assert could_mean(asked, [dataclasses.replace(card_elsewhere, never_disclose=False)]) == [
        dataclasses.replace(card_elsewhere, never_disclose=False)]
    assert could_mean(asked, [card_elsewhere]) == []
    assert the_person(asked, [card_elsewhere]) == (None, False)
    # At the address asked, the card record was near before, and flags as before whatever else matches.
    at_home = _inquiry("やまだ たろう", "1975-05-05", "焼津市本町1-1")
    assert the_person(at_home, [with_kana, card_elsewhere]) == (None, True)


def test_at_most_the_cap_of_records_near_by_reading_are_offered_in_a_stable_order():
    others = [_facts({**CARD_TARO, "name": f"山田 {given}", "address": f"焼津市本町{i}-1"})
              for i, given in enumerate(["一郎", "二郎", "三郎", "四郎", "五郎", "六郎", "七郎"], start=2)]
    at_address = _facts({**CARD_TARO, "address": "焼津市中港9-9"})
    old_address = _facts({**CARD_TARO, "name_kana": "ヤマダ タロウ", "address": "焼津市大井川1"})
    near_ones = [*others, at_address, old_address]
    assert len(others) > READING_NEAR_CAP
    asked = _inquiry("やまだ たろう", "1975-05-05", "焼津市中港9-9")
    assert could_mean(asked, near_ones) == near_ones
    offered = offered_near(asked, near_ones)
    # The cap counts only those near by reading away from the address asked, first come first; the one at
    # that address and the one matching but for the address were offered before, and still are.
    assert offered == [*others[:READING_NEAR_CAP], at_address, old_address]
    assert offered_near(asked, near_ones) == offered
    assert offered_near(_inquiry("やまだ たろう", "1975-05-05"), others) == others[:READING_NEAR_CAP]


def test_a_protected_record_without_reading_flags_as_a_protected_near_record_does():
    """At the address asked (near there before kana inquiries were widened), as every protected near record.
    Elsewhere, near by nothing but the birth date, it is as if it were not there (see the next test)."""
    protected = _facts(CARD_TARO, never_disclose=True, consent="public")
    by_address = _facts({**CARD_TARO, "name_kana": "ヤマダ タロウ"}, never_disclose=True)
    unknown = answer_now(_inquiry("やまだ たろう", "1975-05-07"), [])
    for asked, record in [(_inquiry("やまだ たろう", "1975-05-05", "焼津市本町1-1"), protected),
                          (_inquiry("山田 太郎", "1975-05-05", "東京都港区1"), by_address)]:
        assert the_person(asked, [record]) == (None, True)
        answer, person, flagged = answer_now(asked, [record])
        assert (answer, person, flagged) == (Answer(pending_review=True), None, True)
        assert answer.to_json() == unknown[0].to_json()
    # An unprotected near record beside it is not offered either (the_person finds a protected one it could mean).
    beside = _facts(NEXT_DAY | {"birth_date": "1975-05-05"})
    assert the_person(_inquiry("やまだ たろう", "1975-05-05", "焼津市本町1-1"), [beside, protected]) == (None, True)


def test_a_protected_record_near_only_by_reading_elsewhere_neither_flags_nor_hides_the_others():
    """One protected card-only record born on a day flagged every kana inquiry for that day (before: 渡辺 優子
    was not offered, and the inquiry was reported as one about a protected person).  Now it is as if not there:
    the inquiry is answered, flagged and offered exactly as on a day without it."""
    hanako = _facts({"name": "山田 花子", "birth_date": "1980-03-03", "sex": "female", "address": "焼津市本町1-1"},
                    never_disclose=True)
    yuko = _facts({"name": "渡辺 優子", "birth_date": "1980-03-03", "sex": "female", "address": "焼津市西小川1-1"})
    for asked in (_inquiry("わたなべ ゆうこ", "1980-03-03", "焼津市西小川1-1"), _inquiry("わたなべ ゆうこ", "1980-03-03")):
        assert could_mean(asked, [hanako, yuko]) == could_mean(asked, [yuko]) == [yuko]
        assert the_person(asked, [hanako, yuko]) == the_person(asked, [yuko]) == (None, False)
        assert answer_now(asked, [hanako, yuko])[0].to_json() == answer_now(asked, [yuko])[0].to_json()
    # Asked for by her reading, with no address or another one: answered as if nobody were on record that day.
    for address in ("", "焼津市中港9-9"):
        asked = _inquiry("やまだ はなこ", "1980-03-03", address)
        assert could_mean(asked, [hanako]) == [] and the_person(asked, [hanako]) == (None, False)
        assert answer_now(asked, [hanako]) == answer_now(asked, [])
        # Beside an unprotected card-only record: that one is offered, as on a day without her.
        assert could_mean(asked, [hanako, yuko]) == [yuko]
        assert offered_near(asked, could_mean(asked, [hanako, yuko])) == [yuko]


# -- at HQ: the staff queue, the choice, the release ------------------------------------------------------

def _record_id(hq_app, name: str, born: str) -> int:
    with hq_app.app_context():
        return db.session.query(Person.id).filter_by(name=name, birth_date=born).scalar()


def test_a_kana_inquiry_reaches_staff_with_the_card_record_and_is_released_when_chosen(hq_app, hq_client, enroll):
    kiosk = Kiosk(hq_client, enroll("H031"), "dev-a")
    # Public consent: an exact match would be answered at once; a near record never is.
    kiosk.send(("checkin", CARD_TARO, {"stay_type": "in_shelter"}), ("consent", CARD_TARO, {"consent": "public"}),
               ("checkin", NEXT_DAY, {"stay_type": "in_shelter"}), ("consent", NEXT_DAY, {"consent": "public"}))
    taro = _record_id(hq_app, CARD_TARO["name"], CARD_TARO["birth_date"])
    log_in(hq_app, hq_client)
    asked = ask(hq_client, "やまだ たろう", "1975-05-05", "household_family", addr="10.7.0.1").get_json()
    old_address = ask(hq_client, "ヤマダ　タロウ", "1975-05-05", "household_family", address="焼津市中港9-9",
                      addr="10.7.0.2").get_json()
    for answer in (asked, old_address):
        assert answer["status"] == "pending_review" and answer["information_exists"] is None
        # The inquirer sees nothing of the near record, before or after asking again.
        for seen in (answer, check(hq_client, answer)):
            assert seen["whereabouts"] is None and "山田" not in json.dumps(seen, ensure_ascii=False)
    with hq_app.app_context():
        assert not db.session.get(Inquiry, asked["inquiry_id"]).flagged
    queue = hq_client.get("/staff/inquiries").get_data(as_text=True)
    # Only the record born that day, marked: staff check the reading (and the address, when another was given).
    assert radios(queue, asked["inquiry_id"]) == [str(taro)]
    assert radios(queue, old_address["inquiry_id"]) == [str(taro)]
    block, block_old = _block(queue, asked["inquiry_id"]), _block(queue, old_address["inquiry_id"])
    assert _marks(block) == ["記録の名前は漢字（読みなし）、照会はかなです。" + READING_MARK + " / The name is in kanji on the"
                             " record (no reading) and in kana in the inquiry: check the reading"]
    assert _marks(block_old) == [_marks(block)[0], "照会の住所と違う / not the address the inquirer gave"]
    assert "どれでもない" in block and 'data-testid="left-off"' not in block
    # No "no information" without a choice; staff choose the record after asking the family.
    assert release(hq_client, asked["inquiry_id"]).status_code == 422
    assert release(hq_client, asked["inquiry_id"], taro).status_code == 302
    answer = check(hq_client, asked)
    assert answer["status"] == "released" and answer["information_exists"] is True
    assert answer["whereabouts"]["shelter_id"] == "H031"
    assert json.loads(released_audit(hq_app, asked["inquiry_id"]).detail)["chosen_record"] == taro
    # Or it is not them: the unknown person's answer.
    assert release(hq_client, old_address["inquiry_id"], 0).status_code == 302
    assert check(hq_client, old_address)["information_exists"] is False


def test_a_kanji_inquiry_at_the_address_shows_staff_a_record_typed_only_in_kana_to_check(hq_app, hq_client, enroll):
    Kiosk(hq_client, enroll("H031"), "dev-a").send(("checkin", PAPER_HANAKO, {"stay_type": "in_shelter"}))
    hanako = _record_id(hq_app, PAPER_HANAKO["name"], PAPER_HANAKO["birth_date"])
    log_in(hq_app, hq_client)
    asked = ask(hq_client, "鈴木 花子", "1980-08-08", "household_family", address="焼津市中港2-2",
                addr="10.7.1.1").get_json()
    assert asked["status"] == "pending_review" and asked["information_exists"] is None
    queue = hq_client.get("/staff/inquiries").get_data(as_text=True)
    assert radios(queue, asked["inquiry_id"]) == [str(hanako)]
    assert _marks(_block(queue, asked["inquiry_id"])) == ["記録の名前はかなだけ、照会は漢字です。" + READING_MARK + " / The name"
                                                          " is only in kana on the record and in kanji in the inquiry:"
                                                          " check the reading"]
    assert release(hq_client, asked["inquiry_id"], hanako).status_code == 302
    assert check(hq_client, asked)["whereabouts"]["shelter_id"] == "H031"


def test_staff_are_offered_at_most_the_cap_in_the_same_order_each_time(hq_app, hq_client, enroll):
    kiosk = Kiosk(hq_client, enroll("H031"), "dev-a")
    people = [{**CARD_TARO, "name": f"山田 {n}", "address": f"焼津市本町{i}-1"}
              for i, n in enumerate(["一郎", "二郎", "三郎", "四郎", "五郎", "六郎", "七郎"], start=2)]
    kiosk.send(*[("checkin", p, {"stay_type": "in_shelter"}) for p in people])
    log_in(hq_app, hq_client)
    asked = ask(hq_client, "やまだ たろう", "1975-05-05", "household_family", addr="10.7.2.1").get_json()
    queue = hq_client.get("/staff/inquiries").get_data(as_text=True)
    first = radios(queue, asked["inquiry_id"])
    assert len(first) == READING_NEAR_CAP and first == sorted(first, key=int)
    # Staff are told there are more, before they answer "none of these".
    left_off = len(people) - READING_NEAR_CAP
    assert f'data-testid="left-off">読みのない、同じ生年月日の記録があと{left_off}件あり' in _block(queue, asked["inquiry_id"])
    assert radios(hq_client.get("/staff/inquiries").get_data(as_text=True), asked["inquiry_id"]) == first
    # A record not offered cannot be chosen (the release checks the choice against those offered).
    with hq_app.app_context():
        not_shown = [i for (i,) in db.session.query(Person.id).filter_by(birth_date="1975-05-05")
                     if str(i) not in first]
    assert len(not_shown) == left_off
    assert release(hq_client, asked["inquiry_id"], not_shown[0]).status_code == 422


def test_a_protected_card_record_or_its_household_answers_a_kana_inquiry_as_unknown(hq_app, hq_client, enroll):
    kiosk = HouseholdKiosk(hq_client, enroll("H031"))
    mother = {"name": "保護 花子", "name_kana": "ホゴ ハナコ", "birth_date": "1985-03-03", "sex": "female",
              "address": "焼津市保護町1-1"}
    child = {"name": "保護 一郎", "birth_date": "2012-02-02", "sex": "male", "address": "焼津市保護町1-1"}
    kiosk.send(("checkin", {**CARD_TARO, "sex": "male"}, {"stay_type": "in_shelter"}, ""),
               ("consent", CARD_TARO, {"consent": "public", "never_disclose": True}, ""),
               ("checkin", mother, {"stay_type": "in_shelter"}, "hh-0000000000000001"),
               ("consent", mother, {"consent": "none", "never_disclose": True}, "hh-0000000000000001"),
               ("checkin", child, {"stay_type": "in_shelter"}, "hh-0000000000000001"),
               ("consent", child, {"consent": "public"}, "hh-0000000000000001"))
    log_in(hq_app, hq_client)
    # At the address on record: near as before the kana widening, so flagged.  Elsewhere or with no address,
    # the birth date is all that links them: as if nobody were on record, not flagged (this test expected the
    # flag on those two before, which let one protected record hide every kana inquiry born that day).
    at_home = ask(hq_client, "やまだ たろう", "1975-05-05", "household_family", address="焼津市本町1-1",
                  addr="10.7.3.4")
    protected = ask(hq_client, "やまだ たろう", "1975-05-05", "household_family", addr="10.7.3.1")
    household = ask(hq_client, "ほご いちろう", "2012-02-02", "household_family", addr="10.7.3.2")
    unknown = ask(hq_client, "やまだ たろう", "1975-05-07", "household_family", addr="10.7.3.3")
    for asked in (at_home, protected, household):
        assert asked.status_code == unknown.status_code
        assert _public(asked.get_json()) == _public(unknown.get_json())
    refs = [r.get_json()["inquiry_id"] for r in (at_home, protected, household, unknown)]
    with hq_app.app_context():
        assert [db.session.get(Inquiry, r).flagged for r in refs] == [True, False, False, False]
    queue = hq_client.get("/staff/inquiries").get_data(as_text=True)
    assert all(radios(queue, r) == [] for r in refs) and READING_MARK not in queue
    for r in refs:
        assert release(hq_client, r).status_code == 302
    answers = [_public(check(hq_client, a.get_json())) for a in (at_home, protected, household, unknown)]
    assert answers[0] == answers[1] == answers[2] == answers[3] and answers[0]["information_exists"] is False


def test_the_review_queue_stays_japanese_and_english_after_staff_typed_an_inquiry_in_vietnamese(
        hq_app, hq_client, enroll):
    # At the desk staff type a caller's inquiry on /safety/?lang=vi; the language cookie it leaves must not turn
    # the queue's record choice, its "check the reading" marks or its "more not shown" warning into Vietnamese.
    kiosk = Kiosk(hq_client, enroll("H031"), "dev-a")
    people = [{**CARD_TARO, "name": f"山田 {n}", "address": f"焼津市本町{i}-1"}
              for i, n in enumerate(["一郎", "二郎", "三郎", "四郎", "五郎", "六郎", "七郎"], start=2)]
    kiosk.send(*[("checkin", p, {"stay_type": "in_shelter"}) for p in people])
    log_in(hq_app, hq_client)
    assert 'lang="vi"' in hq_client.get("/safety/?lang=vi").get_data(as_text=True)
    asked = ask(hq_client, "やまだ たろう", "1975-05-05", "household_family", addr="10.7.3.1").get_json()
    queue = hq_client.get("/staff/inquiries").get_data(as_text=True)
    block = _block(queue, asked["inquiry_id"])
    for vietnamese in ("Hồ sơ", "hồ sơ", "cách đọc", "kanji (không"):
        assert vietnamese not in queue, vietnamese
    left_off = len(people) - READING_NEAR_CAP
    assert "照会の相手の記録 / The record the inquiry is about</legend>" in block
    assert "同じ人の二重登録なら" in block and "If one person is recorded twice" in block
    assert _marks(block) == ["記録の名前は漢字（読みなし）、照会はかなです。" + READING_MARK + " / The name is in kanji on the"
                             " record (no reading) and in kana in the inquiry: check the reading"] * READING_NEAR_CAP
    assert f'data-testid="left-off">読みのない、同じ生年月日の記録があと{left_off}件あり' in block
    assert f"{left_off} more record(s) born that day without a reading of the name are not shown" in block
