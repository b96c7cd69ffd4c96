"""Families were told 「いいえ」 about people who are in a shelter, because an inquiry matched only the exact
name and address: a Vietnamese name typed with its accents, a Filipino name in natural order, an old
address.  Now accents and word order do not count for Latin names, and a record of the same name and birth
date at another address goes to staff as a near candidate (never answered at once): they choose it or say
it is none of them, and a release cannot say "no information" while one is offered.  A protected near
candidate still flags the inquiry, answered exactly as someone unknown.  Real HQ app and database (SQLite
and PostgreSQL), people sent by real kiosk syncs."""
from __future__ import annotations

import json

from evac.disclosure import Inquiry as InquiryFacts
from evac.disclosure import PersonFacts, matches, name_forms, near, parse_inquiry
from evac.identity import normalize_name
from hq_dashboard.db import db
from hq_dashboard.models import Inquiry
from hq_dashboard.safety import NONE_OF_THESE
from tests.test_safety_release_choice import radios, release, released_audit, written
from tests.test_safety_review_fixes import INQUIRER, TARO, Kiosk, ask, check, log_in

AN = {"name": "NGUYEN VAN AN", "birth_date": "1995-03-03", "sex": "male", "address": "焼津市中港4-1"}
JUAN = {"name": "DELA CRUZ JUAN", "birth_date": "1988-08-18", "sex": "male", "address": "焼津市中港4-2"}


def _public(answer: dict) -> dict:
    return {k: v for k, v in answer.items() if k not in ("inquiry_id", "access_key")}


def test_latin_names_fold_accents_and_word_order_japanese_names_keep_their_forms():
    assert name_forms("Nguyễn Văn An") & name_forms("NGUYEN VAN AN")
    assert name_forms("Đặng Thị Hoa") & name_forms("DANG THI HOA")
    assert name_forms("Juan Dela Cruz") & name_forms("DELA CRUZ JUAN")
    assert name_forms("José María") & name_forms("MARIA JOSE")
    assert not name_forms("Juan Dela Cruz") & name_forms("Juan Cruz")
    # Japanese names: family-first or given-first, nothing more (ガ is not カ, 斉 is not 斎).
    assert name_forms("山田 太郎") == {"山田太郎", "太郎山田"}
    assert name_forms("ガッツ 石松") == {"ガッツ石松", "石松ガッツ"}
    assert not name_forms("カッツ") & name_forms("ガッツ")
    # Every form a name had before is still there (kiosks not yet updated compare protection digests of them).
    assert {"nguyễnvănan", "anvănnguyễn"} <= name_forms("Nguyễn Văn An")


def test_a_kanji_folded_since_identity_form_2_keeps_the_form_older_kiosks_digest():
    # 曾根 實 on the card and 曽根 実 typed are one name since form 2 ...
    assert name_forms("曾根 實") & name_forms("曽根 実")
    # ... and a kiosk of form 1 digests the card's name unfolded: HQ's protection digests must have it.
    assert normalize_name("曾根 實", 1) == "曾根實" and "曾根實" in name_forms("曾根 實")
    assert name_forms("曽根 実") == {"曽根実", "実曽根"}


def test_an_accented_or_reordered_latin_name_finds_the_record_at_once(hq_app, hq_client, enroll):
    kiosk = Kiosk(hq_client, enroll("H031"), "dev-a")
    kiosk.send(("checkin", AN, {"stay_type": "in_shelter"}), ("consent", AN, {"consent": "public"}),
               ("checkin", JUAN, {"stay_type": "in_shelter"}), ("consent", JUAN, {"consent": "public"}))
    for i, (name, born) in enumerate([("Nguyễn Văn An", "1995-03-03"), ("Juan Dela Cruz", "1988-08-18")]):
        answer = ask(hq_client, name, born, "other", addr=f"10.2.0.{i}").get_json()
        assert answer["status"] == "answered" and answer["information_exists"] is True, name
        assert answer["whereabouts"]["shelter_id"] == "H031"


def test_another_address_makes_a_near_candidate_for_staff_not_a_no(hq_app, hq_client, enroll):
    kiosk = Kiosk(hq_client, enroll("H031"), "dev-a")
    # Public consent: an exact match would be answered at once; a near candidate never is.
    kiosk.send(("checkin", TARO, {"stay_type": "in_shelter"}), ("consent", TARO, {"consent": "public"}))
    log_in(hq_app, hq_client)
    old_address = ask(hq_client, "駿河 太郎", "1960-06-06", "household_family", address="焼津市本町9-9",
                      addr="10.3.0.1").get_json()
    assert old_address["status"] == "pending_review" and old_address["information_exists"] is None
    assert old_address["whereabouts"] is None
    ref = old_address["inquiry_id"]
    queue = hq_client.get("/staff/inquiries").get_data(as_text=True)
    with hq_app.app_context():
        record = db.session.get(Inquiry, ref)
        assert not record.flagged and record.person_id is None
    [offered] = radios(queue, ref)                 # the record at 小川1-2, for staff to ask about
    # Releasing without a choice would say 「いいえ」: refused, nothing written.
    before = written(hq_app, ref)
    refused = release(hq_client, ref)
    assert refused.status_code == 422 and written(hq_app, ref) == before
    # Staff ask the inquirer, who confirms it is them: the tier of that record.
    assert release(hq_client, ref, int(offered)).status_code == 302
    answer = check(hq_client, old_address)
    assert answer["status"] == "released" and answer["information_exists"] is True
    assert answer["whereabouts"]["shelter_id"] == "H031"
    assert json.loads(released_audit(hq_app, ref).detail)["chosen_record"] == int(offered)


def test_staff_may_say_the_near_candidate_is_not_the_person(hq_app, hq_client, enroll):
    Kiosk(hq_client, enroll("H031"), "dev-a").send(("checkin", TARO, {"stay_type": "in_shelter"}))
    log_in(hq_app, hq_client)
    asked = ask(hq_client, "駿河 太郎", "1960-06-06", "household_family", address="東京都港区9-9").get_json()
    ref = asked["inquiry_id"]
    queue = hq_client.get("/staff/inquiries").get_data(as_text=True)
    [offered] = radios(queue, ref)
    block = queue.split(f'id="inquiry-{ref}"', 1)[1].split("</form>", 1)[0]
    # The page says what differs and lets staff say it is none of them.
    assert "近い記録が1件" in block and "照会の住所と違う" in block
    assert 'name="record" value="0"' in block and "どれでもない" in block
    refused = release(hq_client, ref)
    assert refused.status_code == 422 and "「どれでもない」を選んでから" in refused.get_data(as_text=True)
    assert release(hq_client, ref, NONE_OF_THESE).status_code == 302
    answer = check(hq_client, asked)
    assert answer["status"] == "released" and answer["information_exists"] is False
    assert answer["whereabouts"] is None and answer["contact"] is None
    detail = json.loads(released_audit(hq_app, ref).detail)
    assert detail["none_of_these"] is True and detail["matching_records"] == [int(offered)]
    assert "chosen_record" not in detail


def test_a_protected_near_candidate_flags_the_inquiry_and_answers_as_unknown(hq_app, hq_client, enroll):
    kiosk = Kiosk(hq_client, enroll("H031"), "dev-a")
    kiosk.send(("checkin", TARO, {"stay_type": "in_shelter"}),
               ("consent", TARO, {"consent": "none", "never_disclose": True}),
               ("checkin", AN, {"stay_type": "in_shelter"}),
               ("consent", AN, {"consent": "none", "never_disclose": True}))
    log_in(hq_app, hq_client)
    other_address = ask(hq_client, "駿河 太郎", "1960-06-06", "household_family", address="焼津市本町9-9",
                        addr="10.4.0.1")
    accented = ask(hq_client, "Nguyễn Văn An", "1995-03-03", "household_family", addr="10.4.0.2")
    unknown = ask(hq_client, "駿河 次郎", "1960-06-06", "household_family", address="焼津市本町9-9",
                  addr="10.4.0.3")
    for asked in (other_address, accented):
        assert asked.status_code == unknown.status_code
        assert _public(asked.get_json()) == _public(unknown.get_json())
    refs = [r.get_json()["inquiry_id"] for r in (other_address, accented, unknown)]
    with hq_app.app_context():
        assert [db.session.get(Inquiry, r).flagged for r in refs] == [True, True, False]
    queue = hq_client.get("/staff/inquiries").get_data(as_text=True)
    assert all(radios(queue, r) == [] for r in refs)     # nothing to choose, nor a near candidate shown
    # Released, the protected and the unknown get the same answer.
    for r in refs[:2]:
        assert release(hq_client, r).status_code == 302
    assert release(hq_client, refs[2]).status_code == 302
    answers = [_public(check(hq_client, a.get_json())) for a in (other_address, accented, unknown)]
    assert answers[0] == answers[1] == answers[2] and answers[0]["information_exists"] is False


SAITO = {"name": "齋藤 大輔", "birth_date": "1982-02-22", "sex": "male", "address": "焼津市中港4-3"}
CARD_ONLY = {"name": "木村 拓也", "birth_date": "1972-12-24", "sex": "male", "address": "焼津市本町2-2"}


def _facts(person: dict, **more) -> PersonFacts:
    return PersonFacts(name=person["name"], name_kana=person.get("name_kana", ""), birth_date=person["birth_date"],
                       address=person["address"], **more)


def _inquiry(name: str, born: str, address: str = "") -> InquiryFacts:
    return parse_inquiry({"inquirer": INQUIRER, "relationship": "other", "reason": "心配",
                          "sought": {"name": name, "birth_date": born, "address": address}})


def test_near_names_stay_apart_from_identity_and_from_other_people():
    """斉/斎 are kept apart by the identity table (different registered names: person keys do not change);
    alike only for a near candidate.  Kana where the record has none is near at any address."""
    assert normalize_name("齊藤") == "斉藤" and normalize_name("齋藤") == "斎藤"
    saito, kimura = _facts(SAITO), _facts(CARD_ONLY)
    for name in ("斉藤 大輔", "齊藤 大輔", "斎藤 大輔"):
        assert near(_inquiry(name, "1982-02-22"), saito)
    assert not matches(_inquiry("斉藤 大輔", "1982-02-22"), saito)
    assert not near(_inquiry("斉藤 大輔", "1982-02-23"), saito)
    assert near(_inquiry("きむら たくや", "1972-12-24", "焼津市本町2-2"), kimura)
    # No address, or another: near too (the birth date narrows it; evac.disclosure.offered_near caps it).
    assert near(_inquiry("きむら たくや", "1972-12-24"), kimura)
    assert near(_inquiry("きむら たくや", "1972-12-24", "焼津市中港1"), kimura)
    # A twin at the same address with another name in kanji is not near; with a kana that differs, neither.
    assert not near(_inquiry("木村 拓海", "1972-12-24", "焼津市本町2-2"), kimura)
    assert not near(_inquiry("きむら たくみ", "1972-12-24", "焼津市本町2-2"),
                    _facts({**CARD_ONLY, "name_kana": "キムラ タクヤ"}))
    # Only kana on record (typed at a kiosk): a kanji or Latin name at that address is near.
    assert near(_inquiry("木村 拓也", "1972-12-24", "焼津市本町2-2"), _facts({**CARD_ONLY, "name": "キムラ タクヤ"}))


def test_a_name_written_another_way_goes_to_staff_and_a_protected_one_flags(hq_app, hq_client, enroll):
    kiosk = Kiosk(hq_client, enroll("H031"), "dev-a")
    kiosk.send(("checkin", SAITO, {"stay_type": "in_shelter"}), ("consent", SAITO, {"consent": "public"}),
               ("checkin", CARD_ONLY, {"stay_type": "in_shelter"}))
    log_in(hq_app, hq_client)
    saito = ask(hq_client, "斉藤 大輔", "1982-02-22", "household_family", addr="10.5.0.1").get_json()
    kana = ask(hq_client, "きむら たくや", "1972-12-24", "household_family", address="焼津市本町2-2",
               addr="10.5.0.2").get_json()
    for asked in (saito, kana):   # public consent or not: a near candidate is never answered at once
        assert asked["status"] == "pending_review" and asked["information_exists"] is None
    queue = hq_client.get("/staff/inquiries").get_data(as_text=True)
    [offered] = radios(queue, saito["inquiry_id"])
    assert len(radios(queue, kana["inquiry_id"])) == 1
    assert release(hq_client, kana["inquiry_id"]).status_code == 422          # no 「いいえ」 without a choice
    assert release(hq_client, saito["inquiry_id"], int(offered)).status_code == 302
    assert check(hq_client, saito)["whereabouts"]["shelter_id"] == "H031"
    # Protected, the same inquiry is flagged and answered as someone unknown.
    kiosk.send(("consent", SAITO, {"consent": "none", "never_disclose": True}))
    again = ask(hq_client, "斉藤 大輔", "1982-02-22", "household_family", addr="10.5.0.3")
    unknown = ask(hq_client, "斉藤 一郎", "1982-02-22", "household_family", addr="10.5.0.4")
    assert again.status_code == unknown.status_code and _public(again.get_json()) == _public(unknown.get_json())
    with hq_app.app_context():
        assert db.session.get(Inquiry, again.get_json()["inquiry_id"]).flagged
        assert not db.session.get(Inquiry, unknown.get_json()["inquiry_id"]).flagged
