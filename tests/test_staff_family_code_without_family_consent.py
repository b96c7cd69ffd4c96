"""A family code typed on the tablet's 避難者カード with a consent other than "family" is refused with words
saying why, as the evacuee screen refuses it, and nothing is saved: the tablet saved the card and threw the code
away without a word (found in review), and the family would later give HQ a code it never had.  A real kiosk app
and database, its staff logged in."""
from __future__ import annotations

import pytest

from tests.staff_helpers import errors, post, snapshot
from tests.test_kiosk_input_checks import CARD, tablet  # noqa: F401  (tablet: the fixture)

SAID = {"en": "A family code is only needed when the family may be told (“Family who give our family code”): "
              "leave it empty, or choose that.",
        "ja": "合言葉は「合言葉を伝えた家族」を選んだときだけ使います。空欄にするか、それを選んでください。"}


@pytest.mark.parametrize("lang", ["en", "ja"])
@pytest.mark.parametrize("consent", ["none", "public"])
def test_a_family_code_with_another_consent_is_refused_and_nothing_saved(tablet, lang, consent):  # noqa: F811
    tablet.get(f"/staff/lang/{lang}")
    before = snapshot(tablet.db)
    resp = post(tablet, "/staff/register", {**CARD, "consent": consent, "family_code": "sakura7"}, "/staff/register")
    assert resp.status_code == 422, resp.text[:300]
    assert errors(resp.text, "family_code") == [SAID[lang]]
    assert snapshot(tablet.db) == before


def test_without_a_code_the_same_card_is_saved(tablet):  # noqa: F811
    resp = post(tablet, "/staff/register", {**CARD, "consent": "public", "family_code": ""}, "/staff/register")
    assert resp.status_code == 302
