"""The nfcpy path: `evac card read --reader nfc` → nfcpy → its udp device → the software Type 4B card on nfcpy."""
from __future__ import annotations

import json
import threading
import time

import pytest

from evac.card.applet import CardIdentity, MyNumberApplet
from tests.conftest import free_udp_port, run_evac

NUMBER = "314159265358"
IDENTITY = dict(name="Nguyen Thi Lan", address="静岡県焼津市石津" + "一" * 70 + "番地", birth="19920704", sex="2",
                my_number=NUMBER, pin="2468", code_b="04070420321357")


@pytest.fixture
def nfc_card(in_background):
    """nfc_card(applet) -> device string of a udp 'reader' with the software card in its field."""
    pytest.importorskip("nfc")
    from kiosk.card_emulator import NfcUdpCard

    def start(applet: MyNumberApplet) -> str:
        device = f"udp:127.0.0.1:{free_udp_port()}"
        in_background(NfcUdpCard(applet, device))
        return device
    return start


def read(device: str, *flags: str, secret: str):
    return run_evac("card", "read", "--reader", "nfc", "--device", device, "--wait", "10", *flags,
                    input=secret + "\n", timeout=90)


def test_reads_the_basic_four_through_nfcpy(nfc_card):
    applet = MyNumberApplet(CardIdentity(**IDENTITY))
    result = read(nfc_card(applet), "--pin-stdin", secret="2468")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"name": "Nguyen Thi Lan", "address": IDENTITY["address"],
                                         "birth_date": "1992-07-04", "sex": "female"}
    assert NUMBER not in result.stdout + result.stderr
    assert 0x0001 not in applet.selected and 0x0014 not in applet.selected
    assert not applet._verified, "leaving the field powers the card off"


def test_code_b_and_a_wrong_pin_through_nfcpy(nfc_card):
    applet = MyNumberApplet(CardIdentity(**IDENTITY))
    device = nfc_card(applet)
    wrong = read(device, "--pin-stdin", secret="0000")
    assert wrong.returncode == 2 and "2 tries left" in wrong.stderr
    ok = read(device, "--code-b-stdin", secret="04070420321357")
    assert ok.returncode == 0, ok.stderr


def test_the_last_try_is_refused_through_nfcpy(nfc_card):
    applet = MyNumberApplet(CardIdentity(**IDENTITY), pin_tries=1)
    result = read(nfc_card(applet), "--pin-stdin", secret="2468")
    assert result.returncode == 2 and "only one try" in result.stderr and applet.pin_tries == 1


def test_no_card_in_the_field(nfc_card):
    pytest.importorskip("nfc")
    result = run_evac("card", "read", "--reader", "nfc", "--device", f"udp:127.0.0.1:{free_udp_port()}",
                      "--wait", "1", "--pin-stdin", input="2468\n", timeout=60)
    assert result.returncode == 2 and "no card" in result.stderr


def test_the_kiosk_checks_a_card_holder_in_through_nfcpy(nfc_card, tmp_path):
    """The kiosk's check-in flow on an nfcpy reader: it waits in nfcpy's connect loop for the tap."""
    from kiosk import create_app
    from kiosk.store import KioskStore
    applet = MyNumberApplet(CardIdentity(**IDENTITY))
    device = nfc_card(applet)
    app = create_app({"KIOSK_DB": str(tmp_path / "k.sqlite3"), "SHELTER_ID": "H031", "TESTING": True,
                      "CARD_READER": "nfc", "NFC_DEVICE": device, "CARD_WAIT": 10})
    client = app.test_client()
    wrong = client.post("/api/card-checkin", json={"pin": "0000"})
    assert wrong.status_code == 422 and wrong.get_json()["tries_left"] == 2
    ok = client.post("/api/card-checkin", json={"pin": "2468"})
    assert ok.status_code == 201, ok.get_json()
    assert ok.get_json()["name"] == "Nguyen Thi Lan"
    assert [e.person.name for e in KioskStore(tmp_path / "k.sqlite3").checked_in("H031")] == ["Nguyen Thi Lan"]
    for path in tmp_path.rglob("*"):
        assert not path.is_file() or NUMBER.encode() not in path.read_bytes()


# --- review fixes: a reader that fails or cannot read the card is named, never a crash ----------

def _open_sockets() -> int:
    """Sockets this process holds open (nfcpy's udp device is one while its frontend is open)."""
    import os
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            count += os.readlink(f"/proc/self/fd/{fd}").startswith("socket:")
        except OSError:  # the directory listing's own descriptor, gone by now
            pass
    return count


def test_a_reader_that_fails_while_waiting_is_named_and_closed():
    """An OSError out of nfcpy's sense loop (a USB reader unplugged or reset gives ENODEV; here nfcpy's
    udp device gets EACCES from the kernel for a broadcast address) is 'no reader', and the frontend's
    device is closed, for NfcReader (My Number) and read_felica_idm (transport IC cards) alike."""
    pytest.importorskip("nfc")
    from evac.card.mynumber import CardError
    from kiosk.card_readers import NfcReader, read_felica_idm
    device = f"udp:255.255.255.255:{free_udp_port()}"
    before = _open_sockets()
    with pytest.raises(CardError) as failed:
        NfcReader(device, wait=2)
    assert failed.value.code == "no_reader" and "stopped working" in failed.value.message
    assert _open_sockets() == before, "the NFC frontend was left open"
    with pytest.raises(CardError) as failed:
        read_felica_idm(device, wait=2)
    assert failed.value.code == "no_reader" and "stopped working" in failed.value.message
    assert _open_sockets() == before


def test_the_kiosk_answers_a_failed_reader_with_a_message_not_a_500(tmp_path):
    pytest.importorskip("nfc")
    from kiosk import create_app
    app = create_app({"KIOSK_DB": str(tmp_path / "k.sqlite3"), "SHELTER_ID": "H031", "TESTING": True,
                      "CARD_READER": "nfc", "NFC_DEVICE": f"udp:255.255.255.255:{free_udp_port()}", "CARD_WAIT": 2})
    resp = app.test_client().post("/api/card-checkin", json={"pin": "2468"})
    assert resp.status_code == 422 and resp.get_json()["error"] == "no_reader"
    assert "plugged in" in resp.get_json()["message"]


def test_a_reader_that_cannot_read_type_b_says_so(monkeypatch):
    """Some nfcpy readers (PN531-based ones, say) cannot sense Type B: nfcpy raises
    UnsupportedTargetError.  No such reader is here, so the udp device is given the PN531 driver's own
    sense_ttb; the rest (ContactlessFrontend.sense re-raising it for a single target) is nfcpy's."""
    pytest.importorskip("nfc")
    import nfc.clf.pn531
    import nfc.clf.udp

    from evac.card.mynumber import CardError
    from kiosk.card_readers import NfcReader
    monkeypatch.setattr(nfc.clf.udp.Device, "sense_ttb", nfc.clf.pn531.Device.sense_ttb)
    before = _open_sockets()
    with pytest.raises(CardError) as failed:
        NfcReader(f"udp:127.0.0.1:{free_udp_port()}", wait=2)
    assert failed.value.code == "no_reader" and "cannot read My Number cards" in failed.value.message
    assert _open_sockets() == before, "the NFC frontend was left open"


def test_full_width_pin_digits_check_the_card_holder_in(nfc_card, tmp_path):
    """２４６８ from a Japanese IME at /api/card-checkin: read and checked in (was a 500)."""
    from kiosk import create_app
    applet = MyNumberApplet(CardIdentity(**IDENTITY))
    app = create_app({"KIOSK_DB": str(tmp_path / "k.sqlite3"), "SHELTER_ID": "H031", "TESTING": True,
                      "CARD_READER": "nfc", "NFC_DEVICE": nfc_card(applet), "CARD_WAIT": 10})
    ok = app.test_client().post("/api/card-checkin", json={"pin": "２４６８"})
    assert ok.status_code == 201, ok.get_json()
    assert ok.get_json()["name"] == "Nguyen Thi Lan" and applet.pin_tries == 3


def test_full_width_pin_digits_through_evac_card_read(nfc_card):
    """The same at `evac card read` (was a UnicodeEncodeError traceback)."""
    applet = MyNumberApplet(CardIdentity(**IDENTITY))
    result = read(nfc_card(applet), "--pin-stdin", secret="２４６８")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["name"] == "Nguyen Thi Lan" and "Traceback" not in result.stderr


# --- review: a card left on an NFC reader after its read ------------------------------------------------

def _kiosk_on(device: str, tmp_path):
    from kiosk import create_app
    return create_app({"KIOSK_DB": str(tmp_path / "k.sqlite3"), "SHELTER_ID": "H031", "TESTING": True,
                       "CARD_READER": "nfc", "NFC_DEVICE": device, "CARD_WAIT": 10}).test_client()


def test_a_card_left_on_an_nfc_reader_is_not_read_for_the_next_person(in_background, tmp_path):
    """Review: A checked in and left the card on the reader; B typed B's own PIN and was told "wrong, 2 tries
    left", C "1 left": A's card was read with their PINs, and every kiosk then refused A's PIN.  An NFC reader
    has no watcher telling when a card lies on it: the next read must find the field empty before a card."""
    pytest.importorskip("nfc")
    from kiosk.card_emulator import NfcUdpCard
    applet = MyNumberApplet(CardIdentity(**IDENTITY))
    device = f"udp:127.0.0.1:{free_udp_port()}"
    card = in_background(NfcUdpCard(applet, device))
    client = _kiosk_on(device, tmp_path)
    assert client.post("/api/card-checkin", json={"pin": "2468"}).status_code == 201
    for pin in ("1357", "8642"):   # the next people, A's card still on the reader
        left = client.post("/api/card-checkin", json={"pin": pin})
        assert left.status_code == 422 and left.get_json()["error"] == "card_left", left.get_json()
    assert applet.pin_tries == 3   # no PIN was tried on A's card
    # Taken off and held to the reader again (the same card, or the next person's): read as a new placing.
    card.take_off()
    answer = {}
    reading = threading.Thread(target=lambda: answer.update(
        resp=client.post("/api/card-checkin", json={"pin": "0000"})))
    reading.start()
    deadline = time.monotonic() + 30
    while card.unanswered < 3 and time.monotonic() < deadline:   # the reader has found the field empty, three polls running
        time.sleep(0.05)
    card.put_on()
    reading.join(60)
    resp = answer["resp"]
    assert resp.status_code == 422 and resp.get_json()["error"] == "wrong_secret", resp.get_json()
    assert applet.pin_tries == 2   # this time the card was read: a new placing
