"""A damaged card's reply on an nfcpy reader, and the PIN kept out of nfcpy's logs: nfcpy's own stack on both
sides (its udp device, the software Type 4B card of kiosk/card_emulator.py made to answer badly)."""
from __future__ import annotations

import logging

import pytest

from evac.card.applet import CardIdentity, MyNumberApplet
from tests.conftest import free_udp_port
from tests.test_card_nfc import IDENTITY, NUMBER, read

pytest.importorskip("nfc")

from kiosk.card_emulator import NfcUdpCard  # noqa: E402  (after the skip: nfcpy may be missing)

MOVED = "The card moved before it was read. Hold it still and try again."


class WtxWithoutItsByte(NfcUdpCard):
    """Answers the APDU numbered `at` (1 = the first) with a 1-byte S(WTX) block, its WTXM byte missing: a
    damaged card's reply, which nfcpy's ISO-DEP loop (tt4.IsoDepInitiator) reads past the end of."""

    def __init__(self, applet, device: str, at: int):
        super().__init__(applet, device)
        self.at, self.apdus = at, 0

    def _session(self) -> None:
        import nfc.clf
        response = b"\x00"  # ATTRIB answer
        while not self.stopping.is_set():
            try:
                command = self.clf.exchange(response, timeout=2.0)
            except nfc.clf.CommunicationError:
                return
            if not command or command[0] & 0xEE != 0x02:
                return
            self.apdus += 1
            if self.apdus == self.at:
                response = b"\xF2"
                continue
            response = bytes([0x02 | (command[0] & 0x01)]) + self.applet.process(bytes(command[1:]))


class GarbledAttrib(NfcUdpCard):
    """Answers the ATTRIB that activates it with a frame that is not hex: nfcpy's udp device raises a bare
    binascii.Error (a ValueError) out of nfc.tag.activate, as a real reader's driver may on a garbled frame."""

    def _session(self) -> None:
        self.clf.device.socket.sendto(b"106B zz", self.clf.target._addr)


def _kiosk(device: str, tmp_path):
    from kiosk import create_app
    return create_app({"KIOSK_DB": str(tmp_path / "k.sqlite3"), "SHELTER_ID": "H031", "TESTING": True,
                       "CARD_READER": "nfc", "NFC_DEVICE": device, "CARD_WAIT": 10}).test_client()


@pytest.mark.parametrize("at", [1, 3, 5])   # SELECT of the AP; the tries-left VERIFY; the first READ BINARY
def test_a_damaged_reply_is_a_card_that_could_not_be_read_not_a_500(in_background, tmp_path, at):
    applet = MyNumberApplet(CardIdentity(**IDENTITY))
    device = f"udp:127.0.0.1:{free_udp_port()}"
    card = in_background(WtxWithoutItsByte(applet, device, at))
    client = _kiosk(device, tmp_path)
    resp = client.post("/api/card-checkin", json={"pin": "2468"})
    assert resp.status_code == 422, resp.data[:300]
    body = resp.get_json()
    assert body["error"] == "card_removed" and "unreadable answer (IndexError)" in body["message"], body
    assert card.apdus == at and applet.pin_tries == 3
    # the screen: the same words as for a card moved away, with no hint that the kiosk itself failed
    card.apdus = 0
    resp = client.post("/screen/card?lang=en", json={"pin": "2468"})
    assert resp.status_code == 422, resp.data[:300]
    assert resp.get_json()["code"] == "card_removed" and resp.get_json()["errors"]["pin"] == MOVED
    assert applet.pin_tries == 3 and 0x0001 not in applet.selected


def test_a_garbled_answer_to_the_activation_is_a_card_that_could_not_be_read(in_background, tmp_path):
    device = f"udp:127.0.0.1:{free_udp_port()}"
    in_background(GarbledAttrib(MyNumberApplet(CardIdentity(**IDENTITY)), device))
    resp = _kiosk(device, tmp_path).post("/api/card-checkin", json={"pin": "2468"})
    assert resp.status_code == 422, resp.data[:300]
    assert resp.get_json()["error"] == "card_removed" and "unreadable answer" in resp.get_json()["message"]


def test_the_number_guard_still_stops_before_the_nfc_reader(in_background):
    """RefusedAPDU (番号法 §20) is raised before NfcReader.transmit: no handler there turns it into a card
    that could not be read."""
    from evac.card.mynumber import NumberSafeTransmit, RefusedAPDU
    from kiosk.card_readers import NfcReader
    applet = MyNumberApplet(CardIdentity(**IDENTITY))
    device = f"udp:127.0.0.1:{free_udp_port()}"
    in_background(NfcUdpCard(applet, device))
    reader = NfcReader(device, wait=10)
    try:
        transmit = NumberSafeTransmit(reader.transmit)
        assert transmit(bytes.fromhex("00A4040C0A") + bytes.fromhex("D3921000310001010408"))[1] == 0x9000
        with pytest.raises(RefusedAPDU):
            transmit(bytes.fromhex("00A4020C020001"))
    finally:
        reader.close()
    assert 0x0001 not in applet.selected


class _Everything(logging.Handler):
    def __init__(self):
        super().__init__(level=1)
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(f"{record.name} {record.getMessage()}")


# nfcpy sets its "nfc" logger to INFO when imported, so the root logger at DEBUG alone logs no frame; someone
# looking into a reader's trouble turns nfcpy's loggers down too, and then every APDU, VERIFY's PIN among them.
DEBUGGING_NFCPY = {"nfc": 1, "nfc.clf": logging.DEBUG, "nfc.tag.tt4": logging.DEBUG}


@pytest.fixture
def everything_logged():
    """The root logger at its lowest level (below DEBUG: nfcpy logs raw frames at DEBUG-1) with a handler,
    and nfcpy's loggers turned down as for debugging a reader."""
    root, handler = logging.getLogger(), _Everything()
    levels = {name: logging.getLogger(name).level for name in ("", *DEBUGGING_NFCPY)}
    root.setLevel(1)
    root.addHandler(handler)
    for name, level in DEBUGGING_NFCPY.items():
        logging.getLogger(name).setLevel(level)
    yield handler
    root.removeHandler(handler)
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def test_the_pin_never_reaches_a_log(nfc_card_on, everything_logged):
    from evac.card.mynumber import read_basic4
    from kiosk.card_readers import NfcReader
    applet = MyNumberApplet(CardIdentity(**IDENTITY))
    reader = NfcReader(nfc_card_on(applet), wait=10)
    try:
        assert read_basic4(reader.transmit, pin="2468").name == "Nguyen Thi Lan"
    finally:
        reader.close()
    pin = "2468".encode().hex()   # VERIFY's data, as nfcpy would log it
    assert applet.pin_tries == 3
    leaks = [line for line in everything_logged.lines if pin in line.lower() or NUMBER in line]
    assert not leaks, leaks[:5]


def test_the_pin_never_reaches_a_log_from_evac_card_read(nfc_card_on):
    """The same in a process of its own, whose loggers are set so before anything else."""
    import subprocess
    import sys

    from tests.conftest import ROOT
    device = nfc_card_on(MyNumberApplet(CardIdentity(**IDENTITY)))
    script = ("import logging, sys; logging.basicConfig(level=1, stream=sys.stderr); import nfc; "
              f"[logging.getLogger(n).setLevel(v) for n, v in {DEBUGGING_NFCPY!r}.items()]; "
              "from evac.cli import main; sys.exit(main())")
    result = subprocess.run([sys.executable, "-c", script, "card", "read", "--reader", "nfc", "--device", device,
                             "--wait", "10", "--pin-stdin"], input="2468\n", capture_output=True, text=True,
                            cwd=ROOT, timeout=90)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "2468".encode().hex() not in result.stderr.lower()


@pytest.fixture
def nfc_card_on(in_background):
    def start(applet):
        device = f"udp:127.0.0.1:{free_udp_port()}"
        in_background(NfcUdpCard(applet, device))
        return device
    return start


def test_a_normal_read_still_works(nfc_card_on):
    result = read(nfc_card_on(MyNumberApplet(CardIdentity(**IDENTITY))), "--pin-stdin", secret="2468")
    assert result.returncode == 0, result.stderr
