"""The evacuee's screen, review: a pre-registration QR held under the keyboard-wedge scanner straight away, on
the start screen or the "how will you show who you are?" screen (as printed instructions suggest), goes
into the QR flow as if 「QRコード」 had been chosen there: the same request, answers and errors, in the
screen's language; anything else typed there is ignored; a scanner reading the code twice sends it once.
Real HTTP, real SQLite, real Chromium."""
from __future__ import annotations

import dataclasses

from evac.prereg_qr import Member, sign
from kiosk.staff_store import set_shelter_status
from kiosk.store import KioskStore
from tests.browser import screenshot, wait_js
from tests.test_kiosk_screen import (  # noqa: F401  (hq_key: fixture)
    FAMILY, events, hq_key, said, shown, tid, trust, walk_to_consent)

PAIR = dataclasses.replace(FAMILY, household_id="hh-yaizu-0041", members=(
    Member("p-0041", "大井 一郎", "1955-05-05", "male"), Member("p-0042", "大井 和子", "1957-06-06", "female")))


def _wedge(page, text: str) -> None:
    """A USB keyboard-wedge scanner: keystrokes to whatever has the focus (here nothing), then Enter."""
    page.keyboard.type(text)
    page.keyboard.press("Enter")


def _screen(page) -> str:
    return page.evaluate("document.querySelector('.screen:not([hidden])').dataset.screen")


def _qr_requests(page) -> list[str]:
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.post_data) if "/screen/qr" in r.url else None)
    return sent


def _round_trip(page) -> None:
    """Everything the page queued so far has run (a request sent by it has been seen here)."""
    page.evaluate("() => new Promise((ok) => setTimeout(ok, 0))")
    page.evaluate("() => fetch('/static/kiosk.js', { cache: 'no-store' }).then((r) => r.text())")


def _check_in_everyone(page) -> None:
    tid(page, "everyone").click()
    walk_to_consent(page)
    tid(page, "consent-family").click()
    tid(page, "submit").click()
    shown(page, "done")


def _checkins(kiosk) -> list[str]:
    return [e["person"]["name"] for e in events(kiosk) if e["type"] == "checkin"]


def test_a_qr_scanned_on_the_start_screen_checks_the_household_in(kiosk_server, page_at, hq_key):
    kiosk = kiosk_server()
    trust(kiosk, hq_key)
    page = page_at(kiosk.url)
    page.goto("/?lang=vi")
    shown(page, "start")
    # a forged code: the QR screen's own error, in the screen's language
    qr = sign(PAIR, hq_key)
    _wedge(page, qr[:-6] + ("A" if qr[-6] != "A" else "B") + qr[-5:])
    page.wait_for_selector('[data-testid="error-qr"]:not(:empty)')
    assert _screen(page) == "qr"
    assert tid(page, "error-qr").inner_text() == said(kiosk, "vi", "This QR code is not genuine. Please ask staff.")
    assert events(kiosk) == []
    page.goto("/?lang=vi")
    shown(page, "start")
    _wedge(page, qr)
    shown(page, "confirm")
    assert tid(page, "checkout").is_hidden() and tid(page, "confirm-yes").is_visible()   # checking in
    screenshot(page, "qr-from-start-confirm-vi")
    _check_in_everyone(page)
    assert tid(page, "done-names").inner_text().split("\n") == ["大井 一郎", "大井 和子"]
    assert _checkins(kiosk) == ["大井 一郎", "大井 和子"]
    assert {e["household_id"] for e in events(kiosk)} == {"hh-yaizu-0041"}


def test_a_qr_scanned_on_the_method_screen_checks_in_or_out_as_chosen(kiosk_server, page_at, hq_key):
    kiosk = kiosk_server()
    trust(kiosk, hq_key)
    qr = sign(PAIR, hq_key)
    page = page_at(kiosk.url)
    page.goto("/?lang=pt")
    tid(page, "checkin").click()
    shown(page, "method")
    _wedge(page, qr)
    shown(page, "confirm")
    _check_in_everyone(page)
    assert tid(page, "done-names").inner_text().split("\n") == ["大井 一郎", "大井 和子"]
    assert _checkins(kiosk) == ["大井 一郎", "大井 和子"]
    # "Leaving", then the QR on the method screen: it checks them out, as the QR screen would
    page.goto("/?lang=pt")
    tid(page, "leave").click()
    shown(page, "method")
    _wedge(page, qr)
    shown(page, "confirm")
    assert tid(page, "confirm-yes").is_hidden()
    tid(page, "checkout").click()
    shown(page, "done")
    assert [e["person"]["name"] for e in events(kiosk) if e["type"] == "checkout"] == ["大井 一郎", "大井 和子"]


def on_the_start_screen(kiosk_server, page_at, hq_key):
    """A kiosk trusting HQ's key, its screen at the start in English: (kiosk, page, the QR requests it sends)."""
    kiosk = kiosk_server()
    trust(kiosk, hq_key)
    page = page_at(kiosk.url)
    page.goto("/?lang=en")
    shown(page, "start")
    return kiosk, page, _qr_requests(page)


def focus_checkin(page) -> None:
    """「チェックイン」 given the focus with Tab, as at a hardware keyboard."""
    for _ in range(20):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.dataset.testid") == "checkin":
            return
    raise AssertionError("「チェックイン」 was never reached with Tab")


def test_other_typing_on_the_start_screen_does_nothing(kiosk_server, page_at, hq_key):
    kiosk, page, sent = on_the_start_screen(kiosk_server, page_at, hq_key)
    _wedge(page, "hello 1234")   # someone at a hardware keyboard
    page.keyboard.type("EV", delay=150)
    page.keyboard.press("Escape")
    _round_trip(page)
    assert _screen(page) == "start"
    assert sent == [] and events(kiosk) == []
    assert page.evaluate("document.activeElement === document.body")
    # Enter on a button reached with Tab still presses it
    focus_checkin(page)
    page.keyboard.press("Enter")
    shown(page, "method")
    assert sent == [] and events(kiosk) == []
    # and what was typed before is no part of a scan that comes after
    page.goto("/?lang=en")
    shown(page, "start")
    page.keyboard.type("abc")   # the scanner's code comes after it, with no Enter between
    _wedge(page, sign(PAIR, hq_key))
    shown(page, "confirm")
    assert len(sent) == 1 and events(kiosk) == []


def test_a_code_read_twice_on_the_start_screen_is_sent_once(kiosk_server, page_at, hq_key):
    kiosk = kiosk_server()
    trust(kiosk, hq_key)
    qr = sign(PAIR, hq_key)
    page = page_at(kiosk.url)
    page.goto("/?lang=en")
    shown(page, "start")
    held = []   # the kiosk's answer is held back until both reads have landed
    page.route("**/screen/qr*", lambda route: held.append(route))
    _wedge(page, qr)
    _wedge(page, qr)
    wait_js(page, "document.querySelector('[data-screen=qr]').hidden === false", timeout=10_000)
    _round_trip(page)
    assert len(held) == 1
    held[0].continue_()
    shown(page, "confirm")
    _round_trip(page)
    assert len(held) == 1
    assert all(not el.inner_text() for el in page.locator("[data-error]").all())
    _check_in_everyone(page)
    assert _checkins(kiosk) == ["大井 一郎", "大井 和子"]


def test_a_code_read_twice_on_the_qr_screen_is_sent_once(kiosk_server, page_at, hq_key):
    kiosk = kiosk_server()
    trust(kiosk, hq_key)
    qr = sign(PAIR, hq_key)
    page = page_at(kiosk.url)
    page.goto("/?lang=en")
    tid(page, "checkin").click()
    tid(page, "method-qr").click()
    shown(page, "qr")
    held = []
    page.route("**/screen/qr*", lambda route: held.append(route))
    _wedge(page, qr)
    _wedge(page, qr)
    _round_trip(page)
    assert len(held) == 1
    held[0].continue_()
    shown(page, "confirm")
    _round_trip(page)
    assert len(held) == 1
    assert all(not el.inner_text() for el in page.locator("[data-error]").all())


def test_after_a_scan_on_the_start_screen_the_idle_timeout_returns_to_a_blank_start(kiosk_server, page_at, hq_key):
    kiosk = kiosk_server(SCREEN_TIMEOUT=2)
    trust(kiosk, hq_key)
    qr = sign(PAIR, hq_key)
    page = page_at(kiosk.url)
    page.goto("/")   # Japanese: the start screen itself has no timeout
    shown(page, "start")
    _wedge(page, qr)
    shown(page, "confirm")
    assert "大井 一郎" in page.content()
    page.wait_for_url(kiosk.url + "/", timeout=15_000)   # nobody touched the screen
    shown(page, "start")
    assert "大井 一郎" not in page.content() and "1955" not in page.content()
    assert events(kiosk) == []


def test_at_a_shelter_its_staff_closed_a_scan_on_the_start_screen_calls_them_as_check_in_does(
        kiosk_server, page_at, hq_key):
    kiosk = kiosk_server()
    trust(kiosk, hq_key)
    store = KioskStore(kiosk.db)
    set_shelter_status(store, "H031", "closed")
    store.close()
    page = page_at(kiosk.url)
    sent = _qr_requests(page)
    page.goto("/?lang=pt")
    shown(page, "start")
    _wedge(page, sign(PAIR, hq_key))
    shown(page, "called")
    store = KioskStore(kiosk.db)
    assert [(c["reason"], c["language"]) for c in store.open_staff_calls()] == [("shelter_closed", "pt")]
    store.close()
    assert sent == [] and _checkins(kiosk) == []
