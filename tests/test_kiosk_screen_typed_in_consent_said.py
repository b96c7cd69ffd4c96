"""The consent screen says, when someone was typed in by hand, that the answer counts only for those the card or
QR identified, and to tell staff for the others: their consent is no longer written from the holder's choice (a
typed-in name proves no one, 災対法 §86-15), and a parent would think it covered the children they added.  Not
said when no one was typed in.  A real kiosk process, real Chromium, in Portuguese and Japanese."""
from __future__ import annotations

from tests.test_kiosk_screen import hq_key, said, shown, tid  # noqa: F401  (hq_key: fixture)
from tests.test_kiosk_screen_member_not_dropped import _on_members, _type_member

HINT = ("This answer counts only for the people your card or QR code identified. For the people you added by hand, "
        "please tell staff.")


def test_the_consent_screen_says_whom_the_answer_counts_for_when_someone_was_typed_in(kiosk_server, page_at,
                                                                                      hq_key):  # noqa: F811
    kiosk = kiosk_server()
    page = page_at(kiosk.url)
    _on_members(page, kiosk, hq_key)   # in Portuguese
    tid(page, "members-next").click()
    tid(page, "stay-in_shelter").click()
    tid(page, "needs-next").click()
    shown(page, "consent")
    assert not tid(page, "typed-own-consent").is_visible(), "no one typed in: nothing to say"
    tid(page, "back-needs").click()
    tid(page, "back-stay").click()
    tid(page, "back-members").click()
    _type_member(page, "Silva Pedro", "2015-04-01", "male")
    tid(page, "members-next").click()
    tid(page, "stay-in_shelter").click()
    tid(page, "needs-next").click()
    shown(page, "consent")
    hint = tid(page, "typed-own-consent")
    assert hint.is_visible()
    words = said(kiosk, "pt", HINT)
    assert words != HINT and hint.inner_text() == words
    assert said(kiosk, "ja", HINT).startswith("この答えは")
