"""What the screen's script shows of a closed shelter and of household members a QR left recorded here, in
a real browser (tests/browser.py) against the kiosk app on a real port and SQLite file
(tests/test_kiosk_shelter_closed.py covers the routes themselves)."""
from __future__ import annotations

from evac.events import Person
from evac.prereg_qr import keys_from_hex, sign, verify
from kiosk.staff_store import set_shelter_status
from kiosk.store import KioskStore
from tests.test_kiosk_screen import FAMILY, hq_key, said, scan_with_wedge, tid, trust  # noqa: F401 (fixture)


def _check_out_by_qr(page, hq_key) -> None:
    """The family's QR at "Leaving", then check-out, to the done page."""
    tid(page, "leave").click()
    tid(page, "method-qr").click()
    scan_with_wedge(page, sign(FAMILY, hq_key))
    page.wait_for_selector('[data-screen="confirm"]:not([hidden])')
    tid(page, "checkout").click()
    page.wait_for_selector('[data-screen="done"]:not([hidden])')


def test_the_done_page_says_household_members_a_qr_left_here_naming_nobody(kiosk_server, page_at, hq_key):  # noqa: F811
    kiosk = kiosk_server()
    trust(kiosk, hq_key)
    store = KioskStore(kiosk.db)
    store.check_in_prereg("H031", verify(sign(FAMILY, hq_key), keys_from_hex(store.prereg_keys())))
    # typed in beside the QR at its check-in: the same household, and no QR speaks for him
    store.check_in("H031", [Person("焼津 次郎", "2010-05-05", "male", FAMILY.address)], household_id=FAMILY.household_id)
    store.close()
    page = page_at(kiosk.url)
    page.goto("/?lang=en")
    assert not tid(page, "shelter-closed").count()
    _check_out_by_qr(page, hq_key)
    note = tid(page, "done-left-behind")
    assert note.is_visible()
    assert note.inner_text() == said(kiosk, "en", "%(n)d other person(s) of your household are still recorded as "
                                                  "staying here. If they are leaving too, staff will check them out: "
                                                  "staff are being called.", n=1)
    assert "次郎" not in page.locator('[data-screen="done"]').inner_text()
    store = KioskStore(kiosk.db)
    assert [c["reason"] for c in store.open_staff_calls()] == ["household_left_behind"]
    store.close()
    # the next person's done page says nothing of it
    tid(page, "done-ok").click()
    page.wait_for_url(kiosk.url + "/")
    assert not tid(page, "done-left-behind").is_visible()


def test_check_in_at_a_shelter_its_staff_closed_calls_staff_and_leaving_still_works(kiosk_server, page_at, hq_key):  # noqa: F811
    kiosk = kiosk_server()
    trust(kiosk, hq_key)
    store = KioskStore(kiosk.db)
    store.check_in_prereg("H031", verify(sign(FAMILY, hq_key), keys_from_hex(store.prereg_keys())))
    set_shelter_status(store, "H031", "closed")
    store.close()
    page = page_at(kiosk.url)
    page.goto("/?lang=pt")
    assert tid(page, "shelter-closed").inner_text() == said(
        kiosk, "pt", "This shelter is closed, so no one can check in here. Staff are being called: please wait.")
    tid(page, "checkin").click()
    page.wait_for_selector('[data-screen="called"]:not([hidden])')
    store = KioskStore(kiosk.db)
    assert [(c["reason"], c["language"]) for c in store.open_staff_calls()] == [("shelter_closed", "pt")]
    store.close()
    page.goto("/?lang=pt")
    _check_out_by_qr(page, hq_key)
    assert page.locator('[data-show="done-checkout"]').is_visible()
