"""The software My Number card on real transports: pcscd's vpcd driver (and, later, nfcpy's udp device).

vpcd (Debian's vsmartcard-vpcd) listens on a TCP port; a virtual card
connects to it and answers: each message is a 2-byte big-endian length and a
payload; a 1-byte payload is a control (0 power off, 1 power on, 2 reset,
4 send the ATR), anything longer is a command APDU.  Closing the connection
is taking the card out of the reader.
"""
from __future__ import annotations

import select
import socket
import struct
import threading
import time

from evac.card.applet import CardIdentity, MyNumberApplet

VPCD_PORT = 0x8C7B  # Debian's /etc/reader.conf.d/vpcd: DEVICENAME /dev/null:0x8C7B
# T=1, no historical bytes: TS=3B, T0=80 (TD1 follows), TD1=01 (T=1), TCK = 80 xor 01.
ATR = bytes.fromhex("3B800181")


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        # vpcd writes the length and the APDU separately; acknowledging at once keeps Nagle's
        # algorithm on its side from holding the APDU back for our delayed ACK (40 ms a message).
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("vpcd closed the connection")
        data += chunk
    return data


class VpcdCard:
    """Runs an applet as the card in vpcd's reader until stopped."""

    def __init__(self, applet: MyNumberApplet, host: str = "127.0.0.1", port: int = VPCD_PORT):
        self.applet, self.host, self.port = applet, host, port
        self.stopping = threading.Event()
        self.sock: socket.socket | None = None

    def insert(self, timeout: float = 30) -> None:
        """Connect to vpcd: the card is in the reader."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.sock = socket.create_connection((self.host, self.port), timeout=5)
                self.sock.settimeout(None)
                self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise ConnectionError(f"no vpcd reader on {self.host}:{self.port}; is pcscd running?") from None
                time.sleep(0.2)

    def remove(self) -> None:
        self.stopping.set()
        sock, self.sock = self.sock, None
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
        self.applet.power_off()

    def serve(self) -> None:
        sock = self.sock
        try:
            while not self.stopping.is_set():
                (length,) = struct.unpack(">H", _recv_exact(sock, 2))
                payload = _recv_exact(sock, length)
                if length == 1:
                    if payload[0] in (0, 2):
                        self.applet.power_off()
                    elif payload[0] == 4:
                        sock.sendall(struct.pack(">H", len(ATR)) + ATR)
                    continue
                response = self.applet.process(payload)
                sock.sendall(struct.pack(">H", len(response)) + response)
        except (ConnectionError, OSError):
            pass  # vpcd went away, or the card was removed (CardVanished is a ConnectionError)
        finally:
            sock, self.sock = self.sock, None
            if sock is not None:
                sock.close()


class NfcUdpCard:
    """Runs an applet as an ISO 14443 Type 4B card on nfcpy's udp device (nfcpy's own stack on both sides)."""

    # SENSB_RES: 50, NFCID0, application data, bit rates, FSCI 8 (256 bytes) | ISO 14443-4,
    # FWI 14 (generous: the "radio" is a loaded test machine's loopback).
    SENSB_RES = bytes.fromhex("50" "4D594E41" "00000000" "00" "81" "E0")

    def __init__(self, applet: MyNumberApplet, device: str):
        import nfc
        self.applet, self.device = applet, device
        self.clf = nfc.ContactlessFrontend(device)
        self.stopping = threading.Event()
        self.in_field = threading.Event()   # cleared: the card is taken off the reader (answers nothing)
        self.in_field.set()
        self.unanswered = 0   # what the reader sent while the card was off it
        self._off = threading.Event()

    def take_off(self) -> None:
        """Off the reader once its present exchange is over (returns then; a test's reader finds no card)."""
        self._off.clear()
        self.in_field.clear()
        self._off.wait(5)

    def put_on(self) -> None:
        self.in_field.set()

    def serve(self) -> None:
        import nfc.clf
        target = nfc.clf.LocalTarget("106B")
        target.sensb_res = self.SENSB_RES
        try:
            while not self.stopping.is_set():
                if not self.in_field.is_set():
                    self._away()
                    continue
                activated = self.clf.listen(target, timeout=0.5)
                if activated is None or not activated.tt4_cmd or activated.tt4_cmd[0] != 0x1D:
                    continue
                self._session()
                self.applet.power_off()  # out of the field
        finally:
            self.clf.close()

    def _away(self) -> None:
        """Off the reader: what the reader sends reaches no card (dropped here, never answered later)."""
        self._off.set()
        sock = getattr(self.clf.device, "socket", None)
        if sock is None:
            self.in_field.wait(0.1)
            return
        while not self.in_field.is_set() and select.select([sock], [], [], 0.1)[0]:
            sock.recvfrom(1024)
            self.unanswered += 1

    def _session(self) -> None:
        import nfc.clf
        response = b"\x00"  # ATTRIB answer: MBLI 0, CID 0
        while not self.stopping.is_set():
            try:
                command = self.clf.exchange(response, timeout=2.0)
            except nfc.clf.CommunicationError:
                return  # the reader went away
            if not command:
                return
            pcb = command[0]
            if pcb & 0xEE == 0x02:  # I-block: an APDU
                response = bytes([0x02 | (pcb & 0x01)]) + self.applet.process(bytes(command[1:]))
            elif pcb & 0xF6 == 0xB2:  # R(NAK): send the last block again
                continue
            else:  # S(DESELECT) or anything unexpected: the session is over
                return

    def stop(self) -> None:
        self.stopping.set()


class NfcUdpFelica:
    """A transport IC card (FeliCa, 212 kbps) with a given IDm, on nfcpy's udp device."""

    def __init__(self, idm: bytes, device: str):
        import nfc
        self.idm, self.clf = idm, nfc.ContactlessFrontend(device)
        self.stopping = threading.Event()

    def serve(self) -> None:
        import nfc.clf
        target = nfc.clf.LocalTarget("212F")
        # SENSF_RES: response code 01, IDm, PMm, system code 0003 (the transport cards' common area)
        target.sensf_res = b"\x01" + self.idm + bytes.fromhex("0100000000000000") + b"\x00\x03"
        try:
            while not self.stopping.is_set():
                self.clf.listen(target, timeout=0.5)
        finally:
            self.clf.close()

    def stop(self) -> None:
        self.stopping.set()


def synthetic_identity(seed: int | None = None) -> CardIdentity:
    """A made-up resident of Yaizu (Faker, ja_JP) with a made-up Individual Number."""
    import random

    from faker import Faker
    fake = Faker("ja_JP")
    rng = random.Random(seed)
    if seed is not None:
        fake.seed_instance(seed)
    sex = rng.choice(("1", "2"))
    given = fake.first_name_male() if sex == "1" else fake.first_name_female()
    born = fake.date_of_birth(minimum_age=1, maximum_age=95)
    return CardIdentity(
        name=f"{fake.last_name()}　{given}", address=f"静岡県焼津市本町{rng.randint(1, 6)}丁目{rng.randint(1, 20)}番{rng.randint(1, 30)}号",
        birth=born.strftime("%Y%m%d"), sex=sex, my_number="".join(str(rng.randrange(10)) for _ in range(12)),
        pin="".join(str(rng.randrange(10)) for _ in range(4)))


def vpcd_listening() -> bool:
    """Whether vpcd's port is in LISTEN state; read from /proc, because connecting would insert a card."""
    from pathlib import Path
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            local, state = row.split()[1], row.split()[3]
            if state == "0A" and int(local.rsplit(":", 1)[1], 16) == VPCD_PORT:
                return True
    return False


def ensure_pcscd(wait_s: float = 15.0):
    """pcscd with Debian's vpcd reader listening: started when it is not running, restarted when it
    runs without the reader (one started before the driver was installed never loads it).  Returns
    the process started here (to stop afterwards), or None when a good one was running."""
    import shutil
    import subprocess
    import time
    if not shutil.which("pcscd"):
        raise RuntimeError("pcscd is not installed (make setup installs it as root)")
    running = subprocess.run(["pgrep", "-x", "pcscd"], capture_output=True).returncode == 0
    if running and vpcd_listening():
        return None
    if running:
        # by name: pcscd is the machine's one daemon, whoever started it; fine for tests and the demo
        # (the card tests take turns at it), not something a kiosk in service does
        subprocess.run(["pkill", "-x", "pcscd"])
        time.sleep(1)
    started = subprocess.Popen(["pcscd", "--foreground"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + wait_s
    while not vpcd_listening():
        if time.monotonic() > deadline:
            started.terminate()
            raise RuntimeError("pcscd started but its vpcd reader does not listen")
        time.sleep(0.2)
    return started

