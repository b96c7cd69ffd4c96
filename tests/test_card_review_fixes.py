"""What the review of the My Number card path found (real pcscd, vpcd and the software card; the kiosk over
real HTTP; Chromium where the screen matters), each fixed and kept fixed: the last try said straight after
the wrong number that leaves it; a card left on the reader after a check-in is neither forgotten nor read
for the next person; the reader's watcher outlives pcscd stopping and starting."""
from __future__ import annotations

import subprocess
import threading
import time

import pytest

from evac.card.applet import MyNumberApplet
from tests.browser import screenshot
from tests.test_card_pcsc import NUMBER, identity
from tests.test_kiosk_screen import CARD, events, said, shown, tid, type_digits, walk_to_consent

LANGS = ("ja", "easy", "en", "zh", "pt", "vi", "tl")
LEFT = ("This card has already been read. Take it off the reader once, then put your card on (if it is your own "
        "card, put it back on).")


def _app(tmp_path, **over):
    from kiosk import create_app
    return create_app({"KIOSK_DB": str(tmp_path / "k.sqlite3"), "SHELTER_ID": "H031", "TESTING": True,
                       "CARD_READER": "pcsc", "READER_NAME": "Virtual PCD", "WATCH_TAPS": False, **over})


def _text(app, lang: str, msgid: str) -> str:
    from flask_babel import gettext
    with app.test_request_context(f"/?lang={lang}"):
        return gettext(msgid)


def _languages(app) -> list[str]:
    from kiosk.i18n import LANGUAGES
    assert set(LANGUAGES) == set(LANGS), LANGUAGES
    return list(LANGUAGES)


def _put(applet):
    """The software card put on vpcd's reader; returns the card, to take it away with .remove()."""
    from kiosk.card_emulator import VpcdCard
    card = VpcdCard(applet)
    card.insert()
    threading.Thread(target=card.serve, daemon=True).start()
    time.sleep(0.5)  # pcscd notices the card
    return card


def _take(card) -> None:
    card.remove()
    time.sleep(0.5)  # pcscd notices it is gone


# -- M3: the last try, said straight after the wrong number that leaves it ---------------------------

WRONG_LAST = ("That number is not right. Only one try is left. So that your card does not lock, this kiosk "
              "will not try it. Use 照合番号B or ask staff.")
WRONG_LAST_B = ("That number is not right. Only one try is left. So that your card does not lock, this kiosk "
                "will not try it. Please ask staff.")


def test_a_wrong_pin_that_leaves_one_try_says_at_once_that_the_kiosk_will_not_try_again(insert_card, tmp_path):
    app = _app(tmp_path)
    client = app.test_client()
    applet = insert_card(MyNumberApplet(identity()))
    for lang in _languages(app):
        applet.pin_tries = 2
        resp = client.post(f"/screen/card?lang={lang}", json={"pin": "9999"})
        assert resp.status_code == 422 and resp.get_json()["tries_left"] == 1
        message = resp.get_json()["errors"]["pin"]
        assert message == _text(app, lang, WRONG_LAST)
        assert lang == "en" or message != WRONG_LAST, f"{lang}: not translated"
        assert "照合番号B" in message or "しょうごうばんごうB" in message
        assert applet.pin_tries == 1
    with app.test_request_context("/?lang=ja"):
        from flask_babel import gettext
        assert gettext(WRONG_LAST).startswith("番号が違います。残りは1回です。")
    # 照合番号B that leaves one try: "ask staff", there is no other number to turn to
    applet.pin_tries = 3   # (with the PIN at one try too, no number is left: test_when_neither_number_…)
    for lang in _languages(app):
        applet.code_b_tries = 2
        resp = client.post(f"/screen/card?lang={lang}", json={"code_b": "55021720309999"})
        assert resp.status_code == 422
        message = resp.get_json()["errors"]["code_b"]
        assert message == _text(app, lang, WRONG_LAST_B) and (lang == "en" or message != WRONG_LAST_B)
        assert applet.code_b_tries == 1
    # two tries left after a wrong one: "try again" still holds
    applet.pin_tries = 3
    resp = client.post("/screen/card?lang=ja", json={"pin": "9999"})
    assert resp.get_json()["errors"]["pin"] == ("番号が違います。もう一度入力してください（この受付機で試せるのはあと 1 回です。"
                                              "カードがロックされないよう、最後の1回は使いません）。")
    assert 0x0001 not in applet.selected and 0x0014 not in applet.selected


def test_the_screen_says_the_last_try_after_the_second_wrong_pin(insert_card, kiosk_server, page_at):
    kiosk = kiosk_server(**CARD)
    applet = insert_card(MyNumberApplet(identity(), pin_tries=2))
    page = page_at(kiosk.url)
    page.goto("/")
    tid(page, "checkin").click()
    tid(page, "method-card").click()
    page.wait_for_selector(f'[data-testid="tries-left"]:has-text("{said(kiosk, "ja", "Tries left: %(n)s", n=2)}")')
    type_digits(page, "9999")
    tid(page, "pin-ok").click()
    last = said(kiosk, "ja", WRONG_LAST)
    page.wait_for_selector(f'[data-testid="error-pin"]:has-text("{last}")')
    assert tid(page, "error-pin").inner_text() == last
    assert applet.pin_tries == 1 and events(kiosk) == []


# -- M1: a card left on the reader --------------------------------------------------------------

def test_a_card_left_on_the_reader_is_not_read_for_the_next_person(pcscd, tmp_path):
    app = _app(tmp_path)
    client = app.test_client()
    applet = MyNumberApplet(identity())
    card = _put(applet)
    try:
        assert client.post("/screen/card?lang=ja", json={"pin": "4321"}).status_code == 200
        # the next person, the first one's card still on the reader: nothing reaches it, not even a look
        applet.selected.clear()
        left = _text(app, "ja", LEFT)
        assert left.startswith("このカードはすでに読み取りました") and "ご自分のカードなら" in left
        resp = client.post("/screen/card-tries?lang=ja", json={})
        assert resp.status_code == 422 and resp.get_json() == {"errors": {"pin": left}, "code": "card_left"}
        resp = client.post("/screen/card?lang=ja", json={"pin": "8642"})
        assert resp.status_code == 422 and resp.get_json()["code"] == "card_left"
        assert resp.get_json()["errors"] == {"pin": left}
        assert applet.pin_tries == 3 and applet.selected == []
        for lang in _languages(app):
            resp = client.post(f"/screen/card?lang={lang}", json={"pin": "8642"})
            assert resp.get_json()["errors"]["pin"] == _text(app, lang, LEFT)
            assert lang == "en" or _text(app, lang, LEFT) != LEFT, f"{lang}: not translated"
        # taken off and put on again (the same card, or the next person's): read as any card
        _take(card)
        card = _put(applet)
        resp = client.post("/screen/card-tries?lang=ja", json={})
        assert resp.status_code == 200 and resp.get_json()["tries_left"] == 3
        assert client.post("/screen/card?lang=ja", json={"pin": "4321"}).status_code == 200
        # the kiosk's scripted check-in reads the same reader: the same rule
        _take(card)
        card = _put(applet)
        assert client.post("/api/card-checkin", json={"pin": "4321"}).status_code == 201
        resp = client.post("/api/card-checkin", json={"pin": "8642"})
        assert resp.status_code == 422 and resp.get_json()["error"] == "card_left" and applet.pin_tries == 3
    finally:
        _take(card)


def test_the_done_screen_says_take_your_card_and_the_next_person_is_told_to_take_it_away(pcscd, kiosk_server, page_at):
    kiosk = kiosk_server(**CARD, WATCH_TAPS=True)
    applet = MyNumberApplet(identity())
    card = _put(applet)
    try:
        page = page_at(kiosk.url)
        page.goto("/")
        tid(page, "checkin").click()
        tid(page, "method-card").click()
        type_digits(page, "4321")
        tid(page, "pin-ok").click()
        shown(page, "confirm")
        walk_to_consent(page)
        tid(page, "consent-none").click()
        tid(page, "submit").click()
        shown(page, "done")
        take = said(kiosk, "ja", "Please take your My Number card.")
        assert take == "マイナンバーカードをお取りください。"
        page.wait_for_selector('[data-testid="take-card"]', state="visible")
        assert tid(page, "take-card").inner_text() == take
        screenshot(page, "10-card-done-take-your-card")
        # the person walks away without it; the next one starts
        tid(page, "done-ok").click()
        shown(page, "start")
        tid(page, "checkin").click()
        tid(page, "method-card").click()
        left = said(kiosk, "ja", LEFT)
        page.wait_for_selector(f'[data-testid="error-pin"]:has-text("{left}")')   # said before a PIN is typed
        type_digits(page, "8642")
        tid(page, "pin-ok").click()
        page.wait_for_selector(f'[data-testid="error-pin"]:has-text("{left}")')
        assert applet.pin_tries == 3   # the next person's PIN never reached the card left behind
        # taken away and a card put on: the message goes, the card's tries are shown
        _take(card)
        card = _put(applet)
        page.wait_for_selector(f'[data-testid="tries-left"]:has-text("{said(kiosk, "ja", "Tries left: %(n)s", n=3)}")',
                               timeout=15_000)
        page.wait_for_selector('[data-testid="error-pin"]', state="hidden")
        # the done screen of the next card check-in says "take your card" only while it lies there
        tid(page, "restart").click()
        shown(page, "start")
        tid(page, "leave").click()   # checking out with the card, the same
        tid(page, "method-card").click()
        type_digits(page, "4321")
        tid(page, "pin-ok").click()
        shown(page, "confirm")
        tid(page, "checkout").click()
        shown(page, "done")
        page.wait_for_selector('[data-testid="take-card"]', state="visible")
        _take(card)
        card = None
        page.wait_for_selector('[data-testid="take-card"]', state="hidden", timeout=15_000)
        # the next person puts their card on while the screen still says done: not told to take it away
        card = _put(applet)
        for _ in range(2):   # the screen's poll has seen the new card, and the next one after it
            with page.expect_response(lambda r: "/api/card-status" in r.url and r.json()["card_present"]):
                pass
        shown(page, "done")
        assert tid(page, "take-card").is_hidden()
    finally:
        if card is not None:
            _take(card)
        kiosk.app.extensions["tap_watcher"].stop()


# -- M2: the reader's watcher outlives pcscd ----------------------------------------------------------

def _pcscd_stop() -> None:
    # pkill by exact name is what ensure_pcscd does too: pcscd is the machine's one daemon, the tests hold
    # its turn (tests/conftest.py), and ensure_pcscd starts it again below
    subprocess.run(["pkill", "-x", "pcscd"])
    deadline = time.monotonic() + 15
    while _pcscd_running():
        assert time.monotonic() < deadline, "pcscd did not stop"
        time.sleep(0.2)


def _pcscd_running() -> bool:
    """A pcscd that is not a zombie (one this test run started stays one until it is reaped)."""
    found = subprocess.run(["pgrep", "-x", "pcscd"], capture_output=True, text=True).stdout.split()
    for pid in found:
        try:
            if open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] != "Z":
                return True
        except OSError:
            pass
    return False


def _pcscd_start() -> None:
    from kiosk.card_emulator import ensure_pcscd
    from tests.conftest import _pcscd_started
    started = ensure_pcscd()
    if started is not None:   # the run's own pcscd now, stopped when the run ends
        _pcscd_started().write_text(str(started.pid))


def _status_becomes(url: str, want: dict, seconds: float = 30) -> dict:
    import requests
    deadline = time.monotonic() + seconds
    while True:
        got = requests.get(url + "/api/card-status", timeout=10).json()
        got = {k: got[k] for k in ("reader", "card_present")}
        if got == want or time.monotonic() > deadline:
            return got
        time.sleep(0.3)


def test_the_card_watcher_outlives_pcscd_stopping_and_starting(pcscd, tmp_path):
    from tests.conftest import Server, evac_cmd, free_port
    _pcscd_stop()
    port = free_port()
    kiosk, card = None, None
    try:
        # pcscd is not running when the kiosk starts
        kiosk = Server(evac_cmd("kiosk", "serve", "--db", str(tmp_path / "k.sqlite3"), "--shelter", "H031",
                                "--port", str(port), "--card-reader", "pcsc", "--reader-name", "Virtual PCD"),
                       f"http://127.0.0.1:{port}", tmp_path / "kiosk.log", "/api/status")
        nothing = {"reader": False, "card_present": False}
        assert _status_becomes(kiosk.url, nothing, 3) == nothing   # it cannot know: no reader claimed
        _pcscd_start()
        assert _status_becomes(kiosk.url, {"reader": True, "card_present": False}) == {"reader": True, "card_present": False}
        card = _put(MyNumberApplet(identity()))
        assert _status_becomes(kiosk.url, {"reader": True, "card_present": True}) == {"reader": True, "card_present": True}
        # pcscd restarts with the card on the reader
        _pcscd_stop()
        assert _status_becomes(kiosk.url, nothing) == nothing
        card.remove()   # vpcd went with pcscd; the card is put on the new one's reader
        _pcscd_start()
        card = _put(MyNumberApplet(identity()))
        assert _status_becomes(kiosk.url, {"reader": True, "card_present": True}) == {"reader": True, "card_present": True}
        _take(card)
        card = None
        assert _status_becomes(kiosk.url, {"reader": True, "card_present": False}) == {"reader": True, "card_present": False}
    finally:
        if card is not None:
            _take(card)
        if kiosk is not None:
            kiosk.stop()
        _pcscd_start()   # the pcscd the other card tests expect
    log = (tmp_path / "kiosk.log").read_text()
    assert "Traceback" not in log, log
    # once an outage (at the start, and the restart), not a line a second; and when it is back
    assert log.count("card reader service not answering") == 2, log
    assert log.count("card reader service answering again") == 2, log
    assert NUMBER not in log



def test_a_card_left_through_a_pcscd_restart_is_not_read_for_the_next_person_and_a_new_one_is(pcscd, tmp_path):
    """pcsc-lite counts a reader's card events from 0 again when pcscd restarts, so the count of the card
    read before and of a card put on after can be the same.  A card that lay on the reader through the
    restart was read for the next person (their PIN spent its try); a new card after a restart was refused
    as "already read"."""
    import requests
    from tests.conftest import Server, evac_cmd, free_port
    port = free_port()
    kiosk = Server(evac_cmd("kiosk", "serve", "--db", str(tmp_path / "k.sqlite3"), "--shelter", "H031",
                            "--port", str(port), "--card-reader", "pcsc", "--reader-name", "Virtual PCD"),
                   f"http://127.0.0.1:{port}", tmp_path / "kiosk.log", "/api/status")
    first = MyNumberApplet(identity())
    _take(_put(MyNumberApplet(identity())))   # an earlier person's card came and went: counts differ
    card = _put(first)
    try:
        assert _status_becomes(kiosk.url, {"reader": True, "card_present": True})["card_present"]
        assert requests.post(kiosk.url + "/api/card-checkin", json={"pin": "4321"}, timeout=30).status_code == 201
        # pcscd restarts; the first person's card still lies on the reader
        _pcscd_stop()
        card.remove()
        _pcscd_start()
        card = _put(first)
        assert _status_becomes(kiosk.url, {"reader": True, "card_present": True}) == {"reader": True,
                                                                                      "card_present": True}
        resp = requests.post(kiosk.url + "/api/card-checkin", json={"pin": "8642"}, timeout=30)
        assert resp.status_code == 422 and resp.json()["error"] == "card_left", resp.json()
        assert first.pin_tries == 3
        # it is taken away; pcscd restarts again; the next person puts their own card on
        _take(card)
        card = None
        _pcscd_stop()
        _pcscd_start()
        assert _status_becomes(kiosk.url, {"reader": True, "card_present": False}) == {"reader": True,
                                                                                       "card_present": False}
        card = _put(MyNumberApplet(identity()))
        assert _status_becomes(kiosk.url, {"reader": True, "card_present": True})["card_present"]
        resp = requests.post(kiosk.url + "/api/card-checkin", json={"pin": "4321"}, timeout=30)
        assert resp.status_code == 201, resp.json()
    finally:
        if card is not None:
            _take(card)
        kiosk.stop()
        _pcscd_start()
    assert "Traceback" not in (tmp_path / "kiosk.log").read_text()

# -- L3, L4: a card locked for both numbers; a 照合番号B that cannot be one ---------------------------------

LOCKED_BOTH = ("This card is locked for the PIN and for 照合番号B. The city office (市役所の窓口) can unlock it. "
               "Staff can check you in now: please ask staff.")
BAD_CODE_B = ("This is not a 照合番号B. It is your birth date as printed on the card (6 digits: year, month, day; "
              "the year is the Japanese era year, or for foreign residents the last 2 digits of the year), the "
              "card's expiry year (4 digits, e.g. 2031), then the security code (4 digits). Check the card and "
              "enter it again.")


def test_a_card_locked_for_both_numbers_sends_the_person_to_staff_and_the_city_office(insert_card, tmp_path):
    app = _app(tmp_path)
    client = app.test_client()
    applet = insert_card(MyNumberApplet(identity(), pin_tries=0, code_b_tries=0))
    ja = _text(app, "ja", LOCKED_BOTH)
    assert "市役所の窓口" in ja and "係員" in ja
    for body in ({}, {"code_b": True}):
        resp = client.post("/screen/card-tries?lang=ja", json=body)
        assert resp.get_json()["tries_left"] == 0 and resp.get_json()["warning"] == ja
    for lang in _languages(app):
        for field, secret in (("pin", "4321"), ("code_b", "55021720301234")):
            resp = client.post(f"/screen/card?lang={lang}", json={field: secret})
            assert resp.status_code == 422 and resp.get_json()["code"] == "locked_both"
            message = resp.get_json()["errors"][field]
            assert message == _text(app, lang, LOCKED_BOTH) and (lang == "en" or message != LOCKED_BOTH)
    # one of them locked: the other way is still the way
    applet.code_b_tries = 10
    resp = client.post("/screen/card?lang=en", json={"pin": "4321"})
    assert resp.get_json()["code"] == "locked"
    assert resp.get_json()["errors"]["pin"] == "The PIN of this card is locked. Press “Use 照合番号B instead”, or ask staff. The city office (市役所の窓口) can unlock it."
    assert (applet.pin_tries, applet.code_b_tries) == (0, 10)



NO_WAY_LEFT = ("This card cannot be read at this kiosk now: neither the PIN nor 照合番号B has enough tries left (the "
               "kiosk never uses the last one, so that your card does not lock). Staff can check you in now: please "
               "ask staff.")


@pytest.mark.parametrize("pin_tries, code_b_tries", [(1, 0), (1, 1), (0, 1)])
def test_when_neither_number_has_a_try_the_kiosk_would_spend_the_person_is_sent_to_staff(
        insert_card, tmp_path, pin_tries, code_b_tries):
    """The PIN at its last try said "use 照合番号B"; 照合番号B, locked, said "use the other way": each way
    pointed to the other, and neither could be used at this kiosk."""
    app = _app(tmp_path)
    client = app.test_client()
    applet = insert_card(MyNumberApplet(identity(), pin_tries=pin_tries, code_b_tries=code_b_tries))
    for lang in _languages(app):
        wanted = _text(app, lang, NO_WAY_LEFT)
        assert lang == "en" or wanted != NO_WAY_LEFT, f"{lang}: not translated"
        for body, field, secret in (({}, "pin", "4321"), ({"code_b": True}, "code_b", "55021720301234")):
            resp = client.post(f"/screen/card-tries?lang={lang}", json=body)
            assert resp.get_json()["warning"] == wanted, (lang, field, resp.get_json())
            resp = client.post(f"/screen/card?lang={lang}", json={field: secret})
            assert resp.status_code == 422 and resp.get_json()["code"] == "no_way_left", (lang, field)
            assert resp.get_json()["errors"][field] == wanted
    assert (applet.pin_tries, applet.code_b_tries) == (pin_tries, code_b_tries)   # nothing spent
    assert _text(app, "ja", NO_WAY_LEFT).endswith("係員にお声がけください。")


def test_a_wrong_pin_that_leaves_one_when_code_b_is_locked_sends_the_person_to_staff(insert_card, tmp_path):
    app = _app(tmp_path)
    client = app.test_client()
    applet = insert_card(MyNumberApplet(identity(), pin_tries=2, code_b_tries=0))
    resp = client.post("/screen/card?lang=en", json={"pin": "9999"})
    assert resp.get_json()["code"] == "no_way_left" and resp.get_json()["errors"]["pin"] == NO_WAY_LEFT
    assert resp.get_json()["tries_left"] == 1 and applet.pin_tries == 1

def test_a_code_b_that_cannot_be_one_is_said_and_costs_no_try(insert_card, tmp_path):
    app = _app(tmp_path)
    client = app.test_client()
    applet = insert_card(MyNumberApplet(identity()))
    for lang in _languages(app):
        resp = client.post(f"/screen/card?lang={lang}", json={"code_b": "55021799991234"})   # expiry year 9999
        assert resp.status_code == 422 and resp.get_json()["code"] == "bad_code_b"
        message = resp.get_json()["errors"]["code_b"]
        assert message == _text(app, lang, BAD_CODE_B) and (lang == "en" or message != BAD_CODE_B)
    assert _text(app, "ja", BAD_CODE_B).startswith("照合番号Bの形になっていません。")
    resp = client.post("/screen/card?lang=ja", json={"code_b": "55023020301234"})   # 30 February
    assert resp.get_json()["code"] == "bad_code_b"
    assert applet.code_b_tries == 10 and applet.selected == []
    assert client.post("/screen/card?lang=ja", json={"code_b": "55021720301234"}).status_code == 200


# -- L1, L2: an NFC reader's wait for the card (nfcpy's udp device) --------------------------------------

def test_a_pin_given_up_on_never_reaches_the_next_persons_card(kiosk_server, page_at, in_background):
    pytest.importorskip("nfc")
    from evac.card.applet import CardIdentity
    from kiosk.card_emulator import NfcUdpCard
    from kiosk.checkin import _reader_in_use
    from tests.conftest import free_udp_port
    from tests.test_card_nfc import IDENTITY
    device = f"udp:127.0.0.1:{free_udp_port()}"
    kiosk = kiosk_server(CARD_READER="nfc", NFC_DEVICE=device, CARD_WAIT=10)
    page = page_at(kiosk.url)
    page.goto("/")
    tid(page, "checkin").click()
    tid(page, "method-card").click()
    type_digits(page, "9999")
    tid(page, "pin-ok").click()   # OK with no card on the reader: the kiosk waits for one...
    hold = said(kiosk, "ja", "Hold your card to the reader…")
    assert hold == "カードを読み取り機にかざしてください…"
    page.wait_for_selector('[data-testid="hold-card"]', state="visible")   # ...and says so at once
    assert tid(page, "hold-card").inner_text() == hold
    tid(page, "restart").click()   # the person gives up
    shown(page, "start")
    # the next person's card comes into the field
    applet = MyNumberApplet(CardIdentity(**IDENTITY))
    sent, verify = [], applet._verify
    applet._verify = lambda data: (sent.append(bytes(data)), verify(data))[1]
    in_background(NfcUdpCard(applet, device))
    deadline = time.monotonic() + 30
    while _reader_in_use.locked():   # the read given up on ends (at once; or, were it not given up, at the card)
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert b"9999" not in sent and applet.pin_tries == 3
    # and the next person reads their card as anyone
    tid(page, "checkin").click()
    tid(page, "method-card").click()
    type_digits(page, "2468")
    tid(page, "pin-ok").click()
    shown(page, "confirm")
    assert sent == [b"", b"2468"] and applet.pin_tries == 3
    page.wait_for_selector('[data-testid="hold-card"]', state="hidden")
