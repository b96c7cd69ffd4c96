"""A protected person's record by card (kanji, no reading) protects her record typed only in kana at
another shelter, same birth date and address (safety review, high): the kana record, unprotected, was told
to anyone asking for the kana name without an address, e-mailed, exported over PFIF and listed by name on
the needing-care page, while HQ's own duplicates page paired the two.  Real HQ app, kiosk syncs."""
from __future__ import annotations

import dataclasses

import pytest

from evac import pfif
from evac.disclosure import PersonFacts, is_protected, protected_forms
from hq_dashboard.db import db
from tests.test_possible_duplicates import log_in
from tests.test_safety_review_fixes import Kiosk, ask

CARD = {"name": "佐藤 美咲", "birth_date": "1985-05-05", "sex": "female", "address": "静岡県焼津市本町二丁目2番地"}
KANA = {"name": "サトウ ミサキ", "birth_date": "1985-05-05", "sex": "female", "address": "焼津市本町2-2"}
UNKNOWN = {"name": "スズキ ハナ", "birth_date": "1985-05-05", "sex": "female", "address": "焼津市本町2-2"}


def test_the_kana_record_of_a_protected_card_record_is_never_told_exported_or_named(hq_app, hq_client, enroll):
    a, b = Kiosk(hq_client, enroll("H031"), "dev-a"), Kiosk(hq_client, enroll("H039"), "dev-b", "H039")
    a.send(("checkin", CARD, {"stay_type": "in_shelter"}),
           ("consent", CARD, {"consent": "public", "never_disclose": True}))
    b.send(("checkin", KANA, {"stay_type": "in_shelter"}), ("consent", KANA, {"consent": "public"}),
           ("status", KANA, {"status": "hospitalised", "note": "救急搬送"}))
    for relationship, address, addr in (("other", "", "10.0.0.1"), ("relative", "", "10.0.0.2"),
                                        ("other", KANA["address"], "10.0.0.3")):
        told = ask(hq_client, KANA["name"], KANA["birth_date"], relationship, address=address, addr=addr).get_json()
        unknown = ask(hq_client, UNKNOWN["name"], UNKNOWN["birth_date"], relationship, address=address,
                      addr=addr).get_json()
        assert told.get("status") == unknown.get("status") == "pending_review", told
        assert told["whereabouts"] is None and told["injury_or_illness"] is None and told["contact"] is None
        assert {k: v for k, v in told.items() if k not in ("inquiry_id", "access_key")} == \
            {k: v for k, v in unknown.items() if k not in ("inquiry_id", "access_key")}
    from hq_dashboard import pfif_exchange
    with hq_app.app_context():
        document, count = pfif_exchange.export(db.session, "yaizu.example.jp")
    assert count == 0 and [p.full_name for p in pfif.read(document)] == []
    log_in(hq_app, hq_client, "safety")
    html = hq_client.get("/staff/needing-care").get_data(as_text=True)
    assert KANA["name"] not in html and "救急搬送" not in html and "非開示の人が1人いて" in html


def facts(person, **more):
    return PersonFacts(name=person["name"], name_kana="", birth_date=person["birth_date"],
                       address=person["address"], sex=person["sex"], **more)


@pytest.mark.parametrize("other,reached", [
    (KANA, True),                                                   # the same address, written otherwise
    ({**KANA, "sex": ""}, True),                                    # a form that did not say the sex
    ({**KANA, "sex": "male"}, False),                               # a brother: another person
    # At another home, or with none: where she fled to (it was told at once to whoever asked in kana).
    ({**KANA, "address": ""}, True),
    ({**KANA, "address": "焼津市本町3-3"}, True),
    ({**KANA, "birth_date": "1985-05-06"}, False),
    ({**KANA, "name": "Sato Misaki"}, False),                       # letters, no reading either: not a pair
])
def test_protection_reaches_a_kana_record_of_the_same_birth_date_and_sex_at_any_address(other, reached):
    card, record = facts(CARD, never_disclose=True), facts(other)
    assert is_protected(record, protected_forms([card, record])) is reached
    assert is_protected(record, protected_forms([record, card])) is reached   # in either order
    # and on from it, by its kana, to a third record of that kana elsewhere
    elsewhere = facts({**other, "address": "焼津市大井川9"})
    assert is_protected(elsewhere, protected_forms([elsewhere, record, card])) is (reached and other["name"] == KANA["name"])


def test_protection_never_flows_from_an_unprotected_pair():
    assert protected_forms([facts(CARD), facts(KANA)]) == frozenset()


# --- a kana-only record at another address; a name alike but for 斎/斉 (safety review, high) -----------------

def test_her_kana_record_at_the_address_she_fled_to_is_never_told_nor_exported(hq_app, hq_client, enroll):
    """Asked in kana with her birth date only, HQ answered at once "safe at 大井川中学校" from the kana record
    she gave at the shelter she fled to, and the PFIF export published it."""
    a, b = Kiosk(hq_client, enroll("H031"), "dev-a"), Kiosk(hq_client, enroll("H039"), "dev-b", "H039")
    card = {"name": "石井 恵子", "birth_date": "1983-12-12", "sex": "female", "address": "焼津市本町7-7-7"}
    fled = {"name": "イシイ ケイコ", "birth_date": "1983-12-12", "sex": "female", "address": "藤枝市青木1-1"}
    nobody = {**fled, "name": "イシダ ケイコ"}
    a.send(("checkin", card, {"stay_type": "in_shelter"}), ("consent", card, {"consent": "none", "never_disclose": True}))
    b.send(("checkin", fled, {"stay_type": "in_shelter"}), ("consent", fled, {"consent": "public"}))
    for name, addr in (("いしい けいこ", "10.0.1.1"), ("イシイ ケイコ", "10.0.1.2")):
        told = ask(hq_client, name, fled["birth_date"], "other", addr=addr).get_json()
        unknown = ask(hq_client, nobody["name"], nobody["birth_date"], "other", addr=addr).get_json()
        assert told["status"] == unknown["status"] == "pending_review", told
        assert told["whereabouts"] is None and "大井川" not in str(told)
    from hq_dashboard import pfif_exchange
    with hq_app.app_context():
        document, count = pfif_exchange.export(db.session, "yaizu.example.jp")
    assert count == 0 and [p.full_name for p in pfif.read(document)] == []


def test_a_child_of_a_protected_household_typed_in_kana_elsewhere_is_never_told(hq_app, hq_client, enroll):
    """Protection reaches the household she fled with: her son registered with her by hand (kanji, no reading),
    typed in kana at another shelter under another address."""
    a, b = Kiosk(hq_client, enroll("H031"), "dev-a"), Kiosk(hq_client, enroll("H039"), "dev-b", "H039")
    mother = {"name": "森田 真理", "birth_date": "1988-01-01", "sex": "female", "address": "焼津市大住1-1"}
    child = {"name": "森田 陽", "birth_date": "2016-03-03", "sex": "male", "address": "焼津市大住1-1"}
    a.send(("checkin", mother, {"stay_type": "in_shelter"}), ("checkin", child, {"stay_type": "in_shelter"}),
           ("consent", mother, {"consent": "none", "never_disclose": True}), household="hh-morita")
    kana = {"name": "モリタ ヒナタ", "birth_date": "2016-03-03", "sex": "male", "address": "焼津市大住8-8"}
    b.send(("checkin", kana, {"stay_type": "in_shelter"}), ("consent", kana, {"consent": "public"}))
    told = ask(hq_client, "もりた ひなた", "2016-03-03", "other", addr="10.0.2.1").get_json()
    assert told["status"] == "pending_review" and told["whereabouts"] is None, told
    from hq_dashboard import pfif_exchange
    with hq_app.app_context():
        assert pfif_exchange.export(db.session, "yaizu.example.jp")[1] == 0


def test_a_record_whose_name_differs_from_a_protected_ones_by_sai_is_not_exported(hq_app, hq_client, enroll):
    """An inquiry for 斉藤美穂 about a protected 齋藤美穂 was held and flagged, but the PFIF export published the
    斉藤美穂 record to outside finders, whose searches are fuzzy."""
    a, b = Kiosk(hq_client, enroll("H031"), "dev-a"), Kiosk(hq_client, enroll("H039"), "dev-b", "H039")
    protected = {"name": "齋藤 美穂", "name_kana": "サイトウ ミホ", "birth_date": "1979-04-21", "sex": "female",
                 "address": "焼津市本町2-9"}
    alike = {"name": "斉藤 美穂", "birth_date": "1979-04-21", "sex": "female", "address": "焼津市大住5-5"}
    other = {"name": "斉藤 美保", "birth_date": "1979-04-21", "sex": "female", "address": "焼津市大住5-6"}
    a.send(("checkin", protected, {"stay_type": "in_shelter"}),
           ("consent", protected, {"consent": "none", "never_disclose": True}))
    b.send(("checkin", alike, {"stay_type": "in_shelter"}), ("consent", alike, {"consent": "public"}),
           ("checkin", other, {"stay_type": "in_shelter"}), ("consent", other, {"consent": "public"}))
    from hq_dashboard import pfif_exchange
    with hq_app.app_context():
        document, count = pfif_exchange.export(db.session, "yaizu.example.jp")
    assert [p.full_name for p in pfif.read(document)] == ["斉藤 美保"] and count == 1   # another name: published
    assert ask(hq_client, "斉藤 美穂", "1979-04-21", "other", addr="10.0.3.1").get_json()["whereabouts"] is None


def test_protection_reaches_a_name_alike_but_for_sai_or_ryu():
    card = PersonFacts(name="齋藤 美穂", name_kana="", birth_date="1979-04-21", address="", sex="female",
                       never_disclose=True)
    for name in ("斉藤 美穂", "斎藤 美穂", "齊藤 美穂"):
        alike = PersonFacts(name=name, name_kana="サイトウ ミホ", birth_date="1979-04-21", address="焼津市", sex="female")
        assert is_protected(alike, protected_forms([card, alike])), name
    dragon = PersonFacts(name="龍 太郎", name_kana="", birth_date="1990-01-01", address="", sex="male",
                         never_disclose=True)
    alike = PersonFacts(name="竜 太郎", name_kana="タツ タロウ", birth_date="1990-01-01", address="焼津市", sex="male")
    assert is_protected(alike, protected_forms([dragon, alike]))
    born_later = dataclasses.replace(dragon, birth_date="1990-01-02")
    assert not is_protected(alike, protected_forms([born_later, alike]))
