"""The evacuee's kiosk screen in a real browser (Debian's Chromium through playwright) against the kiosk
app on a real HTTP port with its real SQLite file: the emulated My Number card through pcscd, a signed
QR typed by a keyboard-wedge scanner or shown to the camera, a linked IC card, calling staff; wrong
PINs, the last try, a forged QR, bad form input, the inactivity timeout, languages.  Every page is
checked to load nothing from outside the app (tests/browser.py), and the main screens are kept as
pictures under test-artifacts/screenshots/."""
from __future__ import annotations

import datetime as dt
import json
import threading
import time
from zoneinfo import ZoneInfo

import pytest
import segno
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from evac.card.applet import MyNumberApplet
from evac.prereg_qr import Household, Member, key_id, sign
from kiosk.store import KioskStore
from tests.browser import screenshot, show_to_camera
from tests.staff_browser import staff_kiosk  # noqa: F401 (fixture)
from tests.test_card_pcsc import NUMBER, identity

CARD = {"CARD_READER": "pcsc", "READER_NAME": "Virtual PCD"}
TOKYO = ZoneInfo("Asia/Tokyo")
FAMILY = Household(
    household_id="hh-yaizu-0001", address="静岡県焼津市本町5-9-1", consent="family",
    expires=int(time.time()) + 86400, issued=int(time.time()),
    members=(Member("p-0001", "焼津 太郎", "1948-03-03", "male", "ヤイヅ タロウ", ("dialysis",)),
             Member("p-0002", "焼津 花子", "1950-07-07", "female"),
             Member("p-0003", "焼津 陽菜", "2022-01-15", "female", "", ("infant", "allergy"))))


@pytest.fixture(scope="module")
def hq_key():
    return Ed25519PrivateKey.generate()


def trust(server, private_key) -> None:
    """The kiosk learns HQ's QR key the way a sync brings it down."""
    store = KioskStore(server.db)
    public = private_key.public_key()
    store.apply_config({"shelters": [{"id": sid, "name": name, "kind": kind}
                                     for sid, name, kind in store.shelter_list()],
                        "prereg_keys": {key_id(public): public.public_bytes(Encoding.Raw, PublicFormat.Raw).hex()},
                        "ic_token_key": "11" * 32})
    store.close()


def events(server) -> list[dict]:
    store = KioskStore(server.db)
    try:
        return [json.loads(r[0]) for r in store.db.execute("SELECT body FROM events ORDER BY seq")]
    finally:
        store.close()


def tid(page, name: str):
    return page.get_by_test_id(name)


def language_chosen(page, code: str) -> None:
    """The screen drawn again in that language (a click before lands on the old page, seen in CI), and its
    deferred script run: the buttons are wired only then (a click before does nothing, seen under load)."""
    page.wait_for_selector(f'[data-testid="lang-{code}"].chosen')
    page.wait_for_load_state("domcontentloaded")


def said(kiosk, lang: str, text: str, **values) -> str:
    """`text` as the kiosk says it in the screen language `lang`: from its catalog, through Flask-Babel."""
    from flask_babel import gettext
    with kiosk.app.test_request_context(f"/?lang={lang}"):
        return gettext(text, **values)


def shown(page, name: str) -> None:
    page.wait_for_selector(f'[data-screen="{name}"]:not([hidden])')


def type_digits(page, digits: str) -> None:
    for d in digits:
        page.locator(f'[data-testid="pinpad"] [data-digit="{d}"]').click()


def scan_with_wedge(page, text: str) -> None:
    """A USB keyboard-wedge scanner: keystrokes into the focused field, then Enter."""
    field = tid(page, "qr-input")
    assert field.evaluate("el => el === document.activeElement"), "the scanner's field must have the focus"
    page.keyboard.type(text)
    page.keyboard.press("Enter")


def qr_on_screen(page, qr: str, purpose: str = "checkin", lang: str = "") -> None:
    """From the start screen, a household's QR scanned for `purpose` (checkin, leave): at the confirm screen."""
    page.goto(f"/?lang={lang}" if lang else "/")
    tid(page, purpose).click()
    tid(page, "method-qr").click()
    scan_with_wedge(page, qr)
    shown(page, "confirm")


def walk_to_consent(page, stay="stay-in_shelter"):
    tid(page, "confirm-yes").click()
    tid(page, "members-next").click()
    tid(page, stay).click()
    tid(page, "needs-next").click()


def tokyo_time(kiosk, lang: str, at: dt.datetime) -> str:
    """A moment as the screen shows it: the shelter's (Tokyo) time, in the language's short format."""
    from flask_babel import format_datetime
    with kiosk.app.test_request_context(f"/?lang={lang}"):
        return format_datetime(at, "short")


# -- My Number card -----------------------------------------------------------------------------

def test_card_checkin_with_household_needs_and_consent(insert_card, kiosk_server, page_at):
    kiosk = kiosk_server(**CARD)
    applet = insert_card(MyNumberApplet(identity()))
    page = page_at(kiosk.url)
    page.goto("/?lang=en")
    screenshot(page, "01-start-en")
    tid(page, "lang-pt").click()  # everything from here on in Portuguese, errors included
    language_chosen(page, "pt")
    tid(page, "checkin").click()
    screenshot(page, "02-method")
    tid(page, "method-card").click()
    # read without spending one
    page.wait_for_selector(f'[data-testid="tries-left"]:has-text("{said(kiosk, "pt", "Tries left: %(n)s", n=3)}")')
    type_digits(page, "99")
    tid(page, "pin-ok").click()  # too short: said next to the PIN, nothing sent to the card
    assert tid(page, "error-pin").inner_text() == said(kiosk, "pt", "Enter the 4-digit PIN.")
    type_digits(page, "9999")
    tid(page, "pin-ok").click()
    wrong = said(kiosk, "pt", "That number is not right. Please enter it again: this kiosk will try it %(n)s more time(s) (never the card's last try, so that it does not lock).", n=1)   # (the kiosk never spends the card's last try)
    assert wrong.startswith("O número")  # Portuguese indeed
    page.wait_for_selector(f'[data-testid="error-pin"]:has-text("{wrong}")')
    assert tid(page, "error-pin").inner_text() == wrong
    assert tid(page, "tries-left").inner_text() == said(kiosk, "pt", "Tries left: %(n)s", n=2)
    screenshot(page, "03-card-wrong-pin")
    assert applet.pin_tries == 2 and events(kiosk) == []
    type_digits(page, "4321")
    tid(page, "pin-ok").click()
    page.wait_for_selector('[data-screen="confirm"]:not([hidden])')
    assert "𠮷田　花子" in tid(page, "identified").inner_text()
    screenshot(page, "04-confirm")
    tid(page, "confirm-yes").click()

    # A household member typed in badly: each error next to its field, nothing saved.
    tid(page, "member-name").fill("")
    tid(page, "member-birth").fill("17/02/2015")
    tid(page, "member-add").click()
    page.wait_for_selector('[data-testid="error-member.birth_date"]:not(:empty)')
    assert tid(page, "error-member.birth_date").inner_text() == said(
        kiosk, "pt", "Enter the birth date like 1980-02-17 (year-month-day).")
    assert tid(page, "error-member.name").inner_text() == said(kiosk, "pt", "Enter the name.")
    assert tid(page, "error-member.sex").inner_text() == said(kiosk, "pt", "Choose one.")
    screenshot(page, "05-member-errors")
    # the card holder typed in again: said next to the name when added, not at the end
    tid(page, "member-name").fill("𠮷田 花子")
    tid(page, "member-birth").fill("1980-02-17")
    tid(page, "member-sex-other").check()
    tid(page, "member-add").click()
    page.wait_for_selector('[data-testid="error-member.name"]:not(:empty)')
    assert tid(page, "error-member.name").inner_text() == said(kiosk, "pt", "This person is already on the list.")
    assert tid(page, "members").inner_text().count("𠮷田") == 1
    tid(page, "member-name").fill("𠮷田　陽太")
    tid(page, "member-birth").fill("2015-02-17")
    tid(page, "member-sex-other").check()
    tid(page, "member-add").click()
    page.wait_for_selector('[data-testid="members"]:has-text("𠮷田　陽太")')
    assert events(kiosk) == []
    tid(page, "members-next").click()
    screenshot(page, "06-stay")
    tid(page, "stay-in_car").click()
    page.locator('[data-testid="needs-0"] [data-need="dialysis"]').click()
    page.locator('[data-testid="needs-1"] [data-need="infant"]').click()
    page.locator('[data-testid="needs-1"] [data-need="pets"]').click()
    page.locator('[data-testid="needs-1"] [data-need="pets"]').click()  # tapped again: undone
    screenshot(page, "07-needs")
    tid(page, "needs-next").click()

    tid(page, "submit").click()  # no consent chosen yet
    page.wait_for_selector('[data-testid="error-disclosure"]:not(:empty)')
    assert tid(page, "error-disclosure").inner_text() == said(kiosk, "pt", "Choose who may be told that you are here.")
    tid(page, "consent-family").click()
    tid(page, "family-code").fill("ab1")
    tid(page, "submit").click()
    page.wait_for_selector('[data-testid="error-family_code"]:not(:empty)')
    assert tid(page, "error-family_code").inner_text() == said(
        kiosk, "pt", "The family code is %(min)d to %(max)d characters (letters, numbers or kana).", min=4, max=32)
    assert events(kiosk) == []
    tid(page, "family-code").fill("Ab12")
    screenshot(page, "08-consent")
    before = dt.datetime.now(TOKYO).replace(microsecond=0)
    tid(page, "submit").click()
    page.wait_for_selector('[data-screen="done"]:not([hidden])')
    after = dt.datetime.now(TOKYO)
    screenshot(page, "09-done")
    assert tid(page, "done-names").inner_text().split("\n") == ["𠮷田　花子", "𠮷田　陽太"]
    # the time, as the kiosk saw it when it was saved, in Tokyo time as the page shows it
    confirmed_at = dt.datetime.fromisoformat(tid(page, "done-time").get_attribute("data-iso"))
    assert before <= confirmed_at <= after
    assert tid(page, "done-time").inner_text() == tokyo_time(kiosk, "pt", confirmed_at)

    saved = events(kiosk)
    checkins = [e for e in saved if e["type"] == "checkin"]
    assert [e["person"]["name"] for e in checkins] == ["𠮷田　花子", "𠮷田　陽太"]
    assert all(e["data"] == {"stay_type": "in_car"} for e in checkins)
    consents = [e for e in saved if e["type"] == "consent"]
    # the child typed in beside the card gets none from it: nothing proves who a typed-in person is, nor that
    # they chose it (tests/test_screen_typed_in_consent.py); staff record theirs in person
    assert [e["person"]["name"] for e in consents] == ["𠮷田　花子"]
    assert all(e["data"] == {"consent": "family", "family_code": "Ab12", "never_disclose": False} for e in consents)
    assert checkins[0]["household_id"] and checkins[0]["household_id"] == checkins[1]["household_id"]
    assert checkins[1]["person"]["address"] == checkins[0]["person"]["address"]  # the household's address
    assert {e["person"]["name"]: e["data"]["needs"] for e in saved if e["type"] == "needs"} == {
        "𠮷田　花子": ["dialysis"], "𠮷田　陽太": ["infant"]}
    for path in kiosk.db.parent.glob("kiosk-*"):
        assert NUMBER.encode() not in path.read_bytes()
    assert 0x0001 not in applet.selected


def test_the_screen_sees_the_card_put_on_the_reader(pcscd, page_at, tmp_path):
    # the kiosk as its own process, as on a shelter's machine (pyscard's card monitor lives there)
    from kiosk.card_emulator import VpcdCard
    from tests.conftest import Server, evac_cmd, free_port
    port = free_port()
    kiosk = Server(evac_cmd("kiosk", "serve", "--db", str(tmp_path / "k.sqlite3"), "--shelter", "H031",
                            "--port", str(port), "--card-reader", "pcsc", "--reader-name", "Virtual PCD"),
                   f"http://127.0.0.1:{port}", tmp_path / "kiosk.log", "/api/status")
    card = VpcdCard(MyNumberApplet(identity()))
    try:
        page = page_at(kiosk.url)
        page.goto("/?lang=en")
        tid(page, "checkin").click()
        tid(page, "method-card").click()
        page.wait_for_selector('[data-show="waiting-card"]:not([hidden])')  # no card yet
        card.insert()
        threading.Thread(target=card.serve, daemon=True).start()
        page.wait_for_selector('[data-show="waiting-card"]', state="hidden", timeout=15_000)
        type_digits(page, "4321")
        tid(page, "pin-ok").click()
        page.wait_for_selector('[data-screen="confirm"]:not([hidden])')
        assert "𠮷田　花子" in tid(page, "identified").inner_text()
    finally:
        card.remove()
        kiosk.stop()


def test_one_try_left_is_refused_and_code_b_reads_the_card(insert_card, kiosk_server, page_at):
    kiosk = kiosk_server(**CARD)
    applet = insert_card(MyNumberApplet(identity(), pin_tries=1))
    page = page_at(kiosk.url)
    page.goto("/?lang=en")
    tid(page, "checkin").click()
    tid(page, "method-card").click()
    # said before anything is typed...
    page.wait_for_selector('[data-testid="error-pin"]:has-text("Only one try is left")')
    assert tid(page, "tries-left").inner_text() == "Tries left: 1"
    screenshot(page, "10-card-last-try")
    # ...and the PIN is refused all the same if someone types it
    type_digits(page, "4321")
    with page.expect_response(lambda r: "/screen/card?" in r.url) as answer:
        tid(page, "pin-ok").click()
    assert answer.value.status == 422 and answer.value.json()["code"] == "last_try"
    assert "照合番号B" in tid(page, "error-pin").inner_text()
    assert applet.pin_tries == 1  # the last try was not spent
    tid(page, "use-code-b").click()
    type_digits(page, "55021720301234")
    tid(page, "pin-ok").click()
    page.wait_for_selector('[data-screen="confirm"]:not([hidden])')
    assert "𠮷田　花子" in tid(page, "identified").inner_text()
    assert applet.pin_tries == 1 and events(kiosk) == []


def test_a_locked_pin_and_a_wrong_code_b_are_said_in_the_chosen_language(insert_card, kiosk_server, page_at):
    kiosk = kiosk_server(**CARD)
    applet = insert_card(MyNumberApplet(identity(), pin_tries=0))
    page = page_at(kiosk.url)
    page.goto("/?lang=zh")
    tid(page, "checkin").click()
    tid(page, "method-card").click()
    locked = said(kiosk, "zh", "The PIN of this card is locked. Press “Use 照合番号B instead”, or ask staff. The city office (市役所の窓口) can unlock it.")
    page.wait_for_selector(f'[data-testid="error-pin"]:has-text("{locked}")')  # said before anything is typed
    assert tid(page, "error-pin").inner_text() == locked
    assert tid(page, "tries-left").inner_text() == said(kiosk, "zh", "Tries left: %(n)s", n=0)
    screenshot(page, "10-card-locked-zh")
    type_digits(page, "4321")  # the right PIN, but the card will not take it
    with page.expect_response(lambda r: "/screen/card?" in r.url) as answer:
        tid(page, "pin-ok").click()
    assert answer.value.status == 422 and answer.value.json()["code"] == "locked"
    assert tid(page, "error-pin").inner_text() == locked
    # 照合番号B: a wrong one spends one of its ten tries and says how many are left
    tid(page, "use-code-b").click()
    page.wait_for_selector(f'[data-testid="tries-left"]:has-text("{said(kiosk, "zh", "Tries left: %(n)s", n=10)}")')
    type_digits(page, "5502172030")
    screenshot(page, "10-code-b-entry-zh")
    type_digits(page, "9999")
    tid(page, "pin-ok").click()
    wrong = said(kiosk, "zh", "That number is not right. Please enter it again: this kiosk will try it %(n)s more time(s) (never the card's last try, so that it does not lock).", n=8)
    page.wait_for_selector(f'[data-testid="error-code_b"]:has-text("{wrong}")')
    assert tid(page, "error-code_b").inner_text() == wrong
    assert applet.code_b_tries == 9 and applet.pin_tries == 0
    screenshot(page, "10-code-b-wrong-zh")
    type_digits(page, "55021720301234")
    tid(page, "pin-ok").click()
    shown(page, "confirm")
    assert "𠮷田　花子" in tid(page, "identified").inner_text()
    assert events(kiosk) == []


# -- QR: keyboard-wedge scanner and camera --------------------------------------------------------

def test_qr_by_wedge_scanner_forged_refused_then_household_checks_in(kiosk_server, page_at, hq_key):
    kiosk = kiosk_server()
    trust(kiosk, hq_key)
    qr = sign(FAMILY, hq_key)
    forged = qr[:-6] + ("A" if qr[-6] != "A" else "B") + qr[-5:]
    page = page_at(kiosk.url)
    page.goto("/?lang=en")
    tid(page, "checkin").click()
    tid(page, "method-qr").click()
    screenshot(page, "11-qr")
    tid(page, "qr-input").evaluate("el => el.blur()")  # someone tapped elsewhere: the scan still lands
    page.keyboard.type(forged)
    page.keyboard.press("Enter")
    page.wait_for_selector('[data-testid="error-qr"]:not(:empty)')
    assert "not genuine" in tid(page, "error-qr").inner_text()
    screenshot(page, "11-qr-forged")
    assert events(kiosk) == []
    scan_with_wedge(page, qr)
    page.wait_for_selector('[data-screen="confirm"]:not([hidden])')
    names = tid(page, "identified").inner_text()
    assert all(m.name in names for m in FAMILY.members)
    # nobody ticked for them (some may be at another shelter): 太郎 and 陽菜 are here, 花子 is not
    page.get_by_test_id("present-0").check()
    page.get_by_test_id("present-2").check()
    walk_to_consent(page)
    # needs from pre-registration come ticked
    assert page.locator('[data-testid="needs-0"] [data-need="dialysis"]').get_attribute("aria-pressed") == "true"
    assert tid(page, "consent-family").get_attribute("aria-pressed") == "true"  # as pre-registered
    tid(page, "submit").click()
    page.wait_for_selector('[data-screen="done"]:not([hidden])')
    saved = events(kiosk)
    assert [e["person"]["name"] for e in saved if e["type"] == "checkin"] == ["焼津 太郎", "焼津 陽菜"]
    assert {e["household_id"] for e in saved} == {"hh-yaizu-0001"}
    assert {e["person"]["prereg_id"] for e in saved} == {"p-0001", "p-0003"}
    assert [e["data"]["needs"] for e in saved if e["type"] == "needs"] == [["dialysis"], ["allergy", "infant"]]


def test_a_person_listed_twice_is_shown_on_the_household_screen_and_can_go_back(kiosk_server, page_at, hq_key):
    kiosk = kiosk_server()
    trust(kiosk, hq_key)
    page = page_at(kiosk.url)
    page.goto("/?lang=vi")
    tid(page, "checkin").click()
    tid(page, "method-qr").click()
    scan_with_wedge(page, sign(FAMILY, hq_key))
    shown(page, "confirm")
    tid(page, "present-0").check()  # 花子 not ticked at first...
    tid(page, "present-2").check()
    tid(page, "confirm-yes").click()
    tid(page, "member-name").fill("焼津 花子")  # ...but typed in by hand (allowed: she is not listed)
    tid(page, "member-birth").fill("1950-07-07")
    page.locator('input[name="sex"][value="female"]').check()
    tid(page, "member-add").click()
    page.wait_for_selector('[data-testid="members"]:has-text("焼津 花子")')
    tid(page, "back-confirm").click()  # and then ticked as well
    shown(page, "confirm")
    tid(page, "present-1").check()
    tid(page, "confirm-yes").click()
    tid(page, "members-next").click()
    tid(page, "stay-in_shelter").click()
    tid(page, "needs-next").click()
    shown(page, "consent")
    tid(page, "back-needs").click()  # back from consent to the step before
    shown(page, "needs")
    tid(page, "back-stay").click()
    shown(page, "stay")
    tid(page, "back-members").click()
    shown(page, "members")
    tid(page, "members-next").click()
    tid(page, "stay-in_shelter").click()
    tid(page, "needs-next").click()
    tid(page, "consent-none").click()
    tid(page, "submit").click()
    # the check-in refuses it: the household screen is shown again, the message next to its list
    shown(page, "members")
    page.wait_for_selector('[data-testid="error-members"]:not(:empty)')
    assert tid(page, "error-members").inner_text() == said(kiosk, "vi", "The same person is listed twice.")
    screenshot(page, "11-listed-twice-vi")
    assert events(kiosk) == []
    tid(page, "members").get_by_role("button").click()  # remove the one typed in
    tid(page, "members-next").click()
    tid(page, "stay-in_shelter").click()
    tid(page, "needs-next").click()
    assert tid(page, "consent-none").get_attribute("aria-pressed") == "true"  # still as chosen
    tid(page, "submit").click()
    shown(page, "done")
    assert [e["person"]["name"] for e in events(kiosk) if e["type"] == "checkin"] == ["焼津 太郎", "焼津 花子", "焼津 陽菜"]


def test_a_double_tap_on_add_this_person_lists_them_once(kiosk_server, page_at, hq_key):
    kiosk = kiosk_server()
    trust(kiosk, hq_key)
    page = page_at(kiosk.url)
    page.goto("/?lang=en")
    tid(page, "checkin").click()
    tid(page, "method-qr").click()
    # while the person touches the screen, it tells the kiosk they are still there (their identification lives on)
    with page.expect_request(lambda r: r.url.endswith("/screen/still-here") and r.method == "POST"):
        scan_with_wedge(page, sign(FAMILY, hq_key))
    shown(page, "confirm")
    tid(page, "everyone").click()
    tid(page, "confirm-yes").click()
    tid(page, "member-name").fill("焼津 三郎")
    tid(page, "member-birth").fill("2012-01-01")
    page.locator('input[name="sex"][value="male"]').check()
    held = []   # the kiosk's answer is held back until both taps (and an Enter) have landed
    page.route("**/screen/member*", lambda route: held.append(route))
    tid(page, "member-add").dblclick()
    tid(page, "member-name").press("Enter")
    page.wait_for_function("document.querySelector('[data-testid=member-add]').disabled")
    page.evaluate("() => new Promise((ok) => setTimeout(ok, 0))")  # any further submit has been handled
    assert len(held) == 1
    held[0].continue_()
    page.wait_for_selector('[data-testid="members"]:has-text("焼津 三郎")')
    assert tid(page, "members").inner_text().count("焼津 三郎") == 1
    assert tid(page, "member-add").is_enabled()


def test_the_camera_reads_a_qr_through_the_bundled_scanner(browser, kiosk_server, page_at, hq_key):
    kiosk = kiosk_server()
    trust(kiosk, hq_key)
    qr = sign(FAMILY, hq_key)
    picture = _qr_picture(qr)
    page = page_at(kiosk.url)
    page.goto("/?lang=en")
    # the decoder in the page (static/vendor/jsQR.js) reads the QR from a picture
    data_url = "data:image/png;base64," + _png_base64(picture)
    assert page.evaluate("url => window.kioskScan.decodeImageUrl(url)", data_url) == qr
    # and from the camera: Chromium's fake camera shows the same picture
    show_to_camera(browser, picture)
    tid(page, "checkin").click()
    tid(page, "method-qr").click()
    tid(page, "camera").click()
    page.wait_for_selector('[data-screen="confirm"]:not([hidden])', timeout=20_000)
    assert "焼津 太郎" in tid(page, "identified").inner_text()
    assert page.evaluate("document.querySelector('#camera').hidden")  # the camera is off again


def _qr_picture(text: str):
    import io

    from PIL import Image
    buf = io.BytesIO()
    segno.make(text, error="m").save(buf, kind="png", scale=4, border=4)
    buf.seek(0)
    return Image.open(buf)


def _png_base64(picture) -> str:
    import base64
    import io
    buf = io.BytesIO()
    picture.save(buf, "PNG")
    return base64.b64encode(buf.getvalue()).decode()


# -- leaving: check-out and moving on, by a linked IC card and by QR -----------------------------------

def test_leaving_and_moving_to_another_shelter(kiosk_server, page_at, hq_key):
    kiosk = kiosk_server()
    trust(kiosk, hq_key)
    store = KioskStore(kiosk.db)
    from evac.prereg_qr import verify, keys_from_hex
    store.check_in_prereg("H031", verify(sign(FAMILY, hq_key), keys_from_hex(store.prereg_keys())))
    store.close()
    before = len(events(kiosk))
    page = page_at(kiosk.url)
    page.goto("/?lang=en")
    tid(page, "leave").click()
    tid(page, "method-qr").click()
    scan_with_wedge(page, sign(FAMILY, hq_key))
    page.wait_for_selector('[data-screen="confirm"]:not([hidden])')
    tid(page, "present-2").uncheck()  # 陽菜 stays
    tid(page, "moving").click()
    tid(page, "dest-filter").fill("H001")
    screenshot(page, "12-moving")
    page.locator('[data-testid="destinations"] button:visible').first.click()
    page.wait_for_selector('[data-screen="done"]:not([hidden])')
    screenshot(page, "13-moved")
    store = KioskStore(kiosk.db)
    assert tid(page, "done-destination").inner_text() == store.shelter_name("H001")
    store.close()
    moved = events(kiosk)[before:]
    assert [(e["type"], e["person"]["name"], e["data"]) for e in moved] == [
        ("transfer", "焼津 太郎", {"to_shelter_id": "H001"}), ("transfer", "焼津 花子", {"to_shelter_id": "H001"})]

    tid(page, "done-ok").click()
    page.wait_for_url(kiosk.url + "/")
    tid(page, "leave").click()
    tid(page, "method-qr").click()
    scan_with_wedge(page, sign(FAMILY, hq_key))
    page.wait_for_selector('[data-screen="confirm"]:not([hidden])')
    # only 陽菜 is still checked in here: the others cannot be ticked
    assert tid(page, "present-0").is_disabled() and tid(page, "present-2").is_checked()
    tid(page, "checkout").click()
    page.wait_for_selector('[data-screen="done"]:not([hidden])')
    assert tid(page, "done-names").inner_text() == "焼津 陽菜"
    assert page.locator('[data-show="done-checkout"]').is_visible()
    screenshot(page, "13-checked-out")
    assert [(e["type"], e["person"]["name"]) for e in events(kiosk)[before + 2:]] == [("checkout", "焼津 陽菜")]

    # nobody of the household is here any more: leaving again is refused, in words (in Japanese: the
    # screen started over for the next person), and saves nothing
    tid(page, "done-ok").click()
    page.wait_for_url(kiosk.url + "/")
    tid(page, "leave").click()
    tid(page, "method-qr").click()
    scan_with_wedge(page, sign(FAMILY, hq_key))
    tid(page, "checkout").click()
    page.wait_for_selector('[data-testid="error-present"]:has-text("ここでは手続きできません。係員にお声がけください。")')
    assert len(events(kiosk)) == before + 3


def test_a_linked_ic_card_checks_its_holder_out(kiosk_server, page_at, in_background):
    pytest.importorskip("nfc")
    from evac.ictoken import ic_token
    from kiosk.card_emulator import NfcUdpFelica
    from tests.conftest import free_udp_port
    device = f"udp:127.0.0.1:{free_udp_port()}"
    kiosk = kiosk_server(IC_READER=True, NFC_DEVICE=device, CARD_WAIT=5)
    trust(kiosk, Ed25519PrivateKey.generate())
    idm = bytes.fromhex("0114B3A1C2D3E4F5")
    store = KioskStore(kiosk.db)
    (person,) = [e.person for e in store.check_in("H031", [_person("焼津 一郎", "1960-01-01")])]
    store.link_ic(ic_token(idm, store.ic_token_key()), person.name, person.birth_date, person.address)
    store.close()
    in_background(NfcUdpFelica(idm, device))
    page = page_at(kiosk.url)
    page.goto("/?lang=en")
    tid(page, "leave").click()
    tid(page, "method-ic").click()
    tid(page, "ic-read").click()
    page.wait_for_selector('[data-screen="confirm"]:not([hidden])')
    assert "焼津 一郎" in tid(page, "identified").inner_text()
    tid(page, "checkout").click()
    page.wait_for_selector('[data-screen="done"]:not([hidden])')
    assert events(kiosk)[-1]["type"] == "checkout"


def test_a_linked_ic_card_checks_its_holder_in_to_stay_at_home(kiosk_server, page_at, in_background):
    pytest.importorskip("nfc")
    from evac.ictoken import ic_token
    from kiosk.card_emulator import NfcUdpFelica
    from tests.conftest import free_udp_port
    device = f"udp:127.0.0.1:{free_udp_port()}"
    kiosk = kiosk_server(IC_READER=True, NFC_DEVICE=device, CARD_WAIT=5, SCREEN_DONE_TIMEOUT=2)
    trust(kiosk, Ed25519PrivateKey.generate())
    idm = bytes.fromhex("0114B3A1C2D3E4F6")
    store = KioskStore(kiosk.db)
    # staff linked the card on an earlier stay; the holder went home and now comes back
    (person,) = [e.person for e in store.check_in("H031", [_person("焼津 二郎", "1962-02-02")])]
    store.link_ic(ic_token(idm, store.ic_token_key()), person.name, person.birth_date, person.address)
    store.check_out(person.name, person.birth_date, person.address)
    store.close()
    before = len(events(kiosk))
    in_background(NfcUdpFelica(idm, device))
    page = page_at(kiosk.url)
    page.goto("/?lang=en")
    tid(page, "checkin").click()
    tid(page, "method-ic").click()
    shown(page, "ic")
    screenshot(page, "17-ic")
    tid(page, "ic-read").click()
    shown(page, "confirm")
    assert "焼津 二郎" in tid(page, "identified").inner_text() and tid(page, "present-0").is_checked()
    walk_to_consent(page, stay="stay-at_home")
    tid(page, "consent-family").click()
    tid(page, "submit").click()
    shown(page, "done")
    screenshot(page, "18-ic-checked-in-at-home")
    assert [(e["type"], e["person"]["name"], e["data"]) for e in events(kiosk)[before:] if e["type"] == "checkin"] == [
        ("checkin", "焼津 二郎", {"stay_type": "at_home"})]
    # nobody taps "Finish": after SCREEN_DONE_TIMEOUT the screen starts over for the next person
    page.wait_for_url(kiosk.url + "/", timeout=15_000)
    shown(page, "start")
    assert "焼津 二郎" not in page.content() and page.evaluate("document.documentElement.lang") == "ja"
    screenshot(page, "19-start-after-done")


def _person(name, birth):
    from evac.events import Person
    return Person(name, birth, "male", "焼津市小川1")


# -- no identification, timeouts, languages, the outside-request guard -----------------------------

def test_i_have_nothing_calls_staff(kiosk_server, page_at):
    kiosk = kiosk_server()
    page = page_at(kiosk.url)
    page.goto("/?lang=vi")
    tid(page, "checkin").click()
    # the kiosk does not answer (the request fails in the browser, as when the network is down)
    page.route("**/screen/call-staff*", lambda route: route.abort("connectionrefused"))
    tid(page, "method-nothing").click()
    page.wait_for_selector('[data-testid="error-method"]:not(:empty)')
    assert tid(page, "error-method").inner_text() == said(
        kiosk, "vi", "The kiosk did not answer. Please try again or ask staff.")
    screenshot(page, "14-staff-call-failed-vi")
    page.unroute("**/screen/call-staff*")
    tid(page, "method-nothing").click()  # tried again: now it gets through
    page.wait_for_selector('[data-screen="called"]:not([hidden])')
    screenshot(page, "14-staff-called-vi")
    store = KioskStore(kiosk.db)
    calls = store.open_staff_calls()
    store.close()
    assert [(c["language"], c["reason"]) for c in calls] == [("vi", "no_id")]
    # the kiosk machine's own API: the screen's calls, each by its token (ids count held-back check-ins)
    listed = page.request.get(kiosk.url + "/api/staff-calls").json()["calls"]
    assert [{k: v for k, v in c.items() if k != "call"} for c in listed] == [
        {k: v for k, v in c.items() if k != "id"} for c in calls] and all(c["call"] for c in listed)
    assert events(kiosk) == []


def test_inactivity_returns_to_a_blank_start_in_japanese(insert_card, kiosk_server, page_at):
    kiosk = kiosk_server(SCREEN_TIMEOUT=2, **CARD)
    insert_card(MyNumberApplet(identity()))
    page = page_at(kiosk.url)
    page.goto("/?lang=en")
    tid(page, "checkin").click()
    tid(page, "method-card").click()
    type_digits(page, "4321")
    tid(page, "pin-ok").click()
    page.wait_for_selector('[data-screen="confirm"]:not([hidden])')
    assert "𠮷田" in page.content()
    page.wait_for_url(kiosk.url + "/", timeout=15_000)  # nobody touched the screen
    page.wait_for_selector('[data-screen="start"]:not([hidden])')
    screenshot(page, "20-start-after-timeout")
    assert "𠮷田" not in page.content() and "2015" not in page.content()
    assert page.evaluate("document.documentElement.lang") == "ja"
    assert events(kiosk) == []
    held = kiosk.app.extensions["screen_ids"]
    deadline = time.monotonic() + 10
    while len(held) and time.monotonic() < deadline:  # the page told the kiosk to forget the card's data
        time.sleep(0.1)
    assert len(held) == 0


TITLES = {"ja": "受付", "easy": "うけつけ", "en": "Check in", "pt": "entrada", "vi": "Đăng ký", "tl": "Mag-check in",
          "zh": "登记"}


def test_languages_one_tap_each_with_errors_in_that_language(kiosk_server, page_at):
    kiosk = kiosk_server()
    page = page_at(kiosk.url)
    page.goto("/")
    for code, word in TITLES.items():
        tid(page, f"lang-{code}").click()
        language_chosen(page, code)
        assert word in tid(page, "checkin").inner_text(), code
        screenshot(page, f"15-start-{code}")
    tid(page, "lang-pt").click()
    language_chosen(page, "pt")
    tid(page, "checkin").click()
    tid(page, "method-qr").click()
    scan_with_wedge(page, "HELLO")
    page.wait_for_selector('[data-testid="error-qr"]:not(:empty)')
    assert "QR" in tid(page, "error-qr").inner_text() and "This" not in tid(page, "error-qr").inner_text()
    screenshot(page, "16-qr-error-pt")
    tid(page, "restart").click()  # the next person starts in Japanese
    page.wait_for_url(kiosk.url + "/")
    assert TITLES["ja"] in tid(page, "checkin").inner_text()


def test_the_guard_catches_a_request_leaving_the_app(kiosk_server, page_at):
    kiosk = kiosk_server()
    page = page_at(kiosk.url)
    page.goto("/")
    # the kiosk's own content security policy keeps its pages to the kiosk...
    assert "default-src 'self'" in page.request.get(kiosk.url + "/").headers["content-security-policy"]
    # ...and a page without it that asks for something outside: the guard stops and records it
    page.goto("about:blank")
    page.set_content('<img src="http://192.0.2.1/outside.png">')
    page.wait_for_function("document.images[0].complete")
    assert page.evaluate("document.images[0].naturalWidth") == 0  # never loaded
    assert set(page_at.outside) == {"http://192.0.2.1/outside.png"}
    page_at.outside.clear()  # recorded as it should be; it is what this test is about


def test_every_kiosk_page_keeps_to_the_kiosk_and_the_staff_pages_still_work(staff_kiosk, page_at):
    """The Content-Security-Policy is the whole kiosk's (the screen, the staff tablet, the status page), and
    the staff pages break nothing under it: not even the print page's button."""
    from kiosk import CONTENT_SECURITY_POLICY
    from tests.staff_browser import PASSWORD
    kiosk = staff_kiosk()
    page = page_at(kiosk.url)
    refused = []
    page.on("console", lambda msg: "Content Security Policy" in msg.text and refused.append(msg.text))
    for path in ("/", "/status", "/staff/login"):
        assert page.goto(path).headers["content-security-policy"] == CONTENT_SECURITY_POLICY, path
    page.fill("#name", "sato")
    page.fill("#password", PASSWORD)
    page.click("button.primary")
    page.wait_for_url(kiosk.url + "/staff/")
    page.goto("/staff/roster/print")
    page.evaluate("window.print = () => { window.printed = true; }")  # no print dialog in a test
    page.locator("button", has_text="印刷").click()
    assert page.evaluate("window.printed === true")
    assert refused == []


def test_the_screen_draws_with_the_font_the_kiosk_serves(kiosk_server, page_at):
    """No font from outside and none assumed on the machine: Noto Sans JP comes from the kiosk."""
    kiosk = kiosk_server()
    page = page_at(kiosk.url)
    page.goto("/")
    loaded = page.evaluate("""async () => {
        await document.fonts.load('32px "Noto Sans JP"', '避難所 焼津');
        return document.fonts.check('32px "Noto Sans JP"', '避難所 焼津'); }""")
    assert loaded
    fonts = [u for u in page.requests if u.endswith(".woff2")]
    assert fonts and all(u.startswith(kiosk.url + "/static/vendor/fonts/") for u in fonts)


def test_the_chinese_screen_draws_every_character_with_fonts_the_kiosk_serves(kiosk_server, page_at):
    """Every character the Chinese screen can show (its screens, hidden ones too, and every text of the
    zh catalog, errors included) lies in a font face the kiosk served and the browser loaded: Noto Sans
    SC first, Noto Sans JP for Japanese names; nothing is left to the machine's own fonts."""
    from babel.messages.pofile import read_po
    with open("kiosk/translations/zh/LC_MESSAGES/messages.po", "rb") as f:
        catalog = "".join(m.string for m in read_po(f, locale="zh") if m.id and isinstance(m.string, str))
    kiosk = kiosk_server()
    page = page_at(kiosk.url)
    page.goto("/?lang=zh")
    found = page.evaluate("""async (catalog) => {
        const templates = [...document.querySelectorAll("template")].map((t) => t.content.textContent).join("");
        const text = document.title + document.body.textContent + templates + "⚠" + catalog;
        const chars = [...new Set(Array.from(text))].filter((c) => c.trim());
        const all = chars.join("");
        const stack = '"Noto Sans SC", "Noto Sans JP"';
        await Promise.all([document.fonts.load(`24px ${stack}`, all), document.fonts.load(`bold 24px ${stack}`, all)]);
        const inRange = (ranges, cp) => ranges.split(",").some((r) => {
            const [a, b] = r.trim().slice(2).split("-").map((h) => parseInt(h, 16));
            return cp >= a && cp <= (b === undefined ? a : b); });
        const family = (f) => f.family.replace(/["']/g, "");
        const loaded = [...document.fonts].filter((f) => f.status === "loaded");
        const by = (name, c) => loaded.some((f) => family(f) === name && inRange(f.unicodeRange, c.codePointAt(0)));
        // the catalog's Chinese (the page's own text has Japanese too: the shelter's name, 日本語)
        const chinese = [...new Set(Array.from(catalog))].filter((c) => /\\p{Script=Han}/u.test(c));
        return {
            missing: chars.filter((c) => !by("Noto Sans SC", c) && !by("Noto Sans JP", c)),
            chineseNotSc: chinese.filter((c) => !by("Noto Sans SC", c)),
            check: document.fonts.check(`24px ${stack}`, all) && document.fonts.check(`bold 24px ${stack}`, all),
            checkSc: document.fonts.check('16px "Noto Sans SC"', "这们为说对时请选择记难"),
            family: getComputedStyle(document.body).fontFamily,
        }; }""", catalog)
    assert found["missing"] == [], found["missing"]
    assert found["check"] and found["checkSc"]
    assert found["family"].startswith('"Noto Sans SC"')
    assert "这" in catalog and found["chineseNotSc"] == []  # simplified Chinese in its own font
    fonts = [u for u in page.requests if u.endswith(".woff2")]
    assert any("/noto-sans-sc-" in u for u in fonts)
    assert all(u.startswith(kiosk.url + "/static/vendor/fonts/") for u in fonts)
    # and the PIN pad's digits use the served font too (no monospace font of the machine)
    assert "mono" not in page.evaluate("getComputedStyle(document.querySelector('#secret')).fontFamily").lower()


TOUCH = 64  # px: the kiosk's own rule for anything a finger taps (kiosk.css)
BODY_TEXT = 24  # px


def too_small(page) -> list[str]:
    """What on the screen shown is too small: a touch target under TOUCH px in its smaller dimension, or
    text under BODY_TEXT px.  A checkbox or radio inside a label counts by its label (the whole label
    is the target); a caption label (for=...) is not a target, its input is."""
    return page.evaluate("""([touch, bodyText]) => {
        const seen = (el) => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== "hidden";
        const name = (el) => `${el.tagName.toLowerCase()}[${el.dataset.testid || el.id || el.className || ""}]`
                             + ` "${(el.innerText || el.value || "").trim().slice(0, 30)}"`;
        const bad = [];
        for (const el of document.querySelectorAll("button, a[href], input, select, textarea, label:has(input)")) {
            if (!seen(el) || (el.matches("input[type=checkbox], input[type=radio]") && el.closest("label"))) continue;
            const r = el.getBoundingClientRect();
            if (Math.min(r.width, r.height) < touch) bad.push(`${name(el)} ${Math.round(r.width)}x${Math.round(r.height)}`);
        }
        for (const el of document.querySelectorAll("body *")) {
            if (!seen(el) || el.closest("script, template")) continue;
            const text = [...el.childNodes].some((n) => n.nodeType === Node.TEXT_NODE && n.textContent.trim());
            const size = parseFloat(getComputedStyle(el).fontSize);
            if (text && size < bodyText) bad.push(`${name(el)} text ${size}px`);
        }
        return bad; }""", [TOUCH, BODY_TEXT])


def test_every_target_is_large_and_every_text_readable_on_every_screen(kiosk_server, page_at, hq_key):
    kiosk = kiosk_server(CARD_READER="nfc", IC_READER=True)  # their screens shown, no reader touched
    trust(kiosk, hq_key)
    page = page_at(kiosk.url)
    checked = []

    def measure(screen: str) -> None:
        shown(page, screen)
        assert too_small(page) == [], screen
        checked.append(screen)

    for method, screen in (("method-card", "card"), ("method-ic", "ic"), ("method-nothing", "called")):
        page.goto("/?lang=pt")
        measure("start")
        tid(page, "checkin").click()
        measure("method")
        tid(page, method).click()
        measure(screen)
    page.goto("/?lang=pt")
    tid(page, "checkin").click()
    tid(page, "method-qr").click()
    measure("qr")
    scan_with_wedge(page, sign(FAMILY, hq_key))
    measure("confirm")
    tid(page, "everyone").click()
    tid(page, "confirm-yes").click()
    tid(page, "member-add").click()  # with its errors shown
    page.wait_for_selector('[data-testid="error-member.name"]:not(:empty)')
    tid(page, "member-name").fill("焼津 次郎")
    tid(page, "member-birth").fill("2010-05-05")
    tid(page, "member-sex-other").check()
    tid(page, "member-add").click()
    page.wait_for_selector('[data-testid="members"]:has-text("焼津 次郎")')
    measure("members")
    tid(page, "members-next").click()
    measure("stay")
    tid(page, "stay-in_shelter").click()
    measure("needs")
    tid(page, "needs-next").click()
    measure("consent")
    tid(page, "consent-public").click()
    tid(page, "submit").click()
    measure("done")
    page.goto("/?lang=pt")
    tid(page, "leave").click()
    tid(page, "method-qr").click()
    scan_with_wedge(page, sign(FAMILY, hq_key))
    measure("confirm")
    tid(page, "moving").click()
    measure("transfer")
    assert set(checked) == {"start", "method", "card", "ic", "called", "qr", "confirm", "members", "stay", "needs",
                            "consent", "done", "transfer"}
