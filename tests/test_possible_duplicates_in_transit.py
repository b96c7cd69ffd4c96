"""HQ's possible duplicates list a record of someone on their way to another shelter, too: checked in at
焼津中学校 without an address (a paper card), sent on to 大井川公民館 (in transit), then checked in there with
an address, HQ counted him twice (in the shelter there and on the way) and the page showed nothing.  Listed,
not joined: staff decide.  Kiosks' records through HQ's sync API, on SQLite and PostgreSQL, as
tests/test_possible_duplicates.py."""
from __future__ import annotations

import re

from hq_dashboard.db import db
from hq_dashboard.models import Person, Shelter
from tests.test_possible_duplicates import KANJI, log_in
from tests.test_safety_review_fixes import Kiosk

NO_ADDRESS = {**KANJI, "address": ""}


def _pairs(html: str) -> int:
    return len(re.findall(r'<tr class="pair-start"', html))


def test_a_record_on_its_way_without_an_address_pairs_with_its_check_in_at_the_shelter_it_went_to(
        hq_app, hq_client, enroll):
    a, b = Kiosk(hq_client, enroll("H031"), "dev-a"), Kiosk(hq_client, enroll("H039"), "dev-b", "H039")
    a.send(("checkin", NO_ADDRESS, {"stay_type": "in_shelter"}), ("transfer", NO_ADDRESS, {"to_shelter_id": "H039"}))
    b.send(("checkin", KANJI, {"stay_type": "in_shelter"}))
    with hq_app.app_context():
        states = sorted(p.state for p in db.session.query(Person))
        db.session.remove()
    assert states == ["checked_in", "in_transit"], "HQ holds two records (its merge is not what changes here)"
    log_in(hq_app, hq_client, "safety")
    html = hq_client.get("/staff/possible-duplicates").get_data(as_text=True)
    assert _pairs(html) == 1, html
    assert "一方に住所がない" in html and html.count("山田 太郎") == 2
    with hq_app.app_context():
        there = db.session.get(Shelter, "H039").name
        db.session.remove()
    assert re.search(rf'data-testid="on-the-way">{re.escape(there)}へ移動中 / on the way to {re.escape(there)}<', html)
    with hq_app.app_context():
        assert sorted(p.state for p in db.session.query(Person)) == states   # listed, never joined
        db.session.remove()

    # Checked out at the shelter he reached: he is counted once, and the pair is gone.
    b.send(("checkout", KANJI, {}))
    assert 'data-testid="no-pairs"' in hq_client.get("/staff/possible-duplicates").get_data(as_text=True)


def test_a_checked_out_record_without_an_address_is_not_listed(hq_app, hq_client, enroll):
    """Only records that count someone now pair up: one checked out at the first shelter counts nobody."""
    a, b = Kiosk(hq_client, enroll("H031"), "dev-a"), Kiosk(hq_client, enroll("H039"), "dev-b", "H039")
    a.send(("checkin", NO_ADDRESS, {"stay_type": "in_shelter"}), ("checkout", NO_ADDRESS, {}))
    b.send(("checkin", KANJI, {"stay_type": "in_shelter"}))
    log_in(hq_app, hq_client, "safety")
    assert 'data-testid="no-pairs"' in hq_client.get("/staff/possible-duplicates").get_data(as_text=True)
