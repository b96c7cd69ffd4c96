"""A protected person's record by card (kanji, no reading) protects her record typed only in kana at
another shelter, same birth date and address (safety review, high): the kana record, unprotected, was told
to anyone asking for the kana name without an address, e-mailed, exported over PFIF and listed by name on
the needing-care page, while HQ's own duplicates page paired the two.  Real HQ app, kiosk syncs."""
from __future__ import annotations

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
    ({**KANA, "address": ""}, False),                               # no address: every namesake born that day
    ({**KANA, "address": "焼津市本町3-3"}, False),                   # another home
    ({**KANA, "birth_date": "1985-05-06"}, False),
    ({**KANA, "name": "Sato Misaki"}, False),                       # letters, no reading either: not a pair
])
def test_protection_reaches_a_kana_record_only_where_the_duplicates_page_would_pair_it(other, reached):
    card, record = facts(CARD, never_disclose=True), facts(other)
    assert is_protected(record, protected_forms([card, record])) is reached
    assert is_protected(record, protected_forms([record, card])) is reached   # in either order
    # and on from it, by its kana, to a third record of that kana elsewhere
    elsewhere = facts({**other, "address": "焼津市大井川9"})
    assert is_protected(elsewhere, protected_forms([elsewhere, record, card])) is (reached and other["name"] == KANA["name"])


def test_protection_never_flows_from_an_unprotected_pair():
    assert protected_forms([facts(CARD), facts(KANA)]) == frozenset()
