"""A software My Number card: the card side of the 券面事項入力補助AP, for tests and the demo.

It answers APDUs the way the card does (SELECT by AID and by EF, VERIFY with
retry counters, READ BINARY with offsets), so the real reader code and the
real transports (pcscd's vpcd driver, nfcpy's udp device) can be exercised
end to end.  It also holds an Individual Number, so a test can prove that the
number never leaves the card: `selected` records every EF anyone selected.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .ber import encode
from .mynumber import EF_BASIC4, EF_CODE_B, EF_PIN, KENHOJO_AID

SW_OK = b"\x90\x00"
SW_NOT_FOUND = b"\x6a\x82"
SW_WRONG_LENGTH = b"\x67\x00"
SW_SECURITY = b"\x69\x82"
SW_BLOCKED = b"\x69\x84"
SW_NO_EF = b"\x69\x86"
SW_INS = b"\x6d\x00"
SW_OFFSET = b"\x6b\x00"
EF_MY_NUMBER = 0x0001
EF_CODE_A = 0x0014


class CardVanished(ConnectionError):
    """Raised by the software card to play a card pulled away; its transport drops the link."""


@dataclass
class CardIdentity:
    name: str
    address: str
    birth: str            # YYYYMMDD, as on the card
    sex: str              # "1" male, "2" female, "3"/"9" other
    my_number: str        # the Individual Number; never to leave the card
    pin: str = "1234"
    code_b: str = ""      # 14 digits; empty: 照合番号B not usable
    filler: int = 64      # bytes of FF after the data, as a real file has


def basic4_file(identity: CardIdentity) -> bytes:
    body = b"".join([
        encode(0xDF21, bytes.fromhex("0000000000000000")),
        encode(0xDF22, identity.name.encode()),
        encode(0xDF23, identity.address.encode()),
        encode(0xDF24, identity.birth.encode()),
        encode(0xDF25, identity.sex.encode()),
    ])
    return encode(0xFF20, body) + b"\xff" * identity.filler


@dataclass
class MyNumberApplet:
    identity: CardIdentity
    pin_tries: int = 3
    code_b_tries: int = 10
    is_my_number_card: bool = True
    corrupt_basic4: bool = False
    basic4: bytes | None = None   # EF 0002 exactly as given, for a broken or hostile card; None: from identity
    vanish_on_read: int = 0   # taken away at this READ BINARY (1 = the first); 0: never
    selected: list[int] = field(default_factory=list)   # every EF ever selected, for tests
    _in_ap: bool = False
    _ef: int | None = None
    _verified: bool = False

    def power_off(self) -> None:
        """Removing the card or powering it down ends the unlocked state."""
        self._in_ap, self._ef, self._verified = False, None, False

    def _files(self) -> dict[int, bytes]:
        data = basic4_file(self.identity) if self.basic4 is None else self.basic4
        if self.corrupt_basic4:  # the name's length byte says more than the file holds
            broken = bytearray(data)
            at = broken.index(b"\xdf\x22") + 2
            broken[at:at + 1] = b"\x82\xff\xf0"
            data = bytes(broken)
        return {EF_BASIC4: data, EF_MY_NUMBER: encode(0xDF11, self.identity.my_number.encode())}

    def process(self, apdu: bytes) -> bytes:
        if len(apdu) < 4:
            return SW_WRONG_LENGTH
        ins, p1, p2 = apdu[1], apdu[2], apdu[3]
        if ins == 0xA4:
            return self._select(p1, apdu[5:5 + apdu[4]] if len(apdu) > 5 else b"")
        if ins == 0x20:
            return self._verify(apdu[5:5 + apdu[4]] if len(apdu) > 5 else b"")
        if ins == 0xB0:
            return self._read((p1 << 8) | p2, apdu[4] if len(apdu) > 4 else 0)
        return SW_INS

    def _select(self, p1: int, data: bytes) -> bytes:
        if p1 == 0x04:
            self._in_ap = self.is_my_number_card and data == KENHOJO_AID
            self._ef = None
            return SW_OK if self._in_ap else SW_NOT_FOUND
        if p1 == 0x02 and self._in_ap and len(data) == 2:
            ef = int.from_bytes(data, "big")
            self.selected.append(ef)
            if ef not in (EF_BASIC4, EF_PIN, EF_CODE_B, EF_MY_NUMBER, EF_CODE_A):
                return SW_NOT_FOUND
            self._ef = ef
            return SW_OK
        return SW_NOT_FOUND

    def _verify(self, data: bytes) -> bytes:
        if self._ef == EF_PIN:
            secret, attr = self.identity.pin, "pin_tries"
        elif self._ef == EF_CODE_B and self.identity.code_b:
            secret, attr = self.identity.code_b, "code_b_tries"
        else:
            return SW_NO_EF
        tries = getattr(self, attr)
        if tries == 0:
            return SW_BLOCKED
        if not data:
            return bytes([0x63, 0xC0 | tries])
        if data.decode("ascii", "replace") == secret:
            self._verified = True
            setattr(self, attr, {"pin_tries": 3, "code_b_tries": 10}[attr])
            return SW_OK
        tries -= 1
        setattr(self, attr, tries)
        return bytes([0x63, 0xC0 | tries])

    def _read(self, offset: int, le: int) -> bytes:
        self._reads = getattr(self, "_reads", 0) + 1
        if self.vanish_on_read and self._reads >= self.vanish_on_read:
            raise CardVanished("the card left the reader")
        if self._ef not in (EF_BASIC4, EF_MY_NUMBER):
            return SW_NO_EF
        if not self._verified:
            return SW_SECURITY
        data = self._files()[self._ef]
        if offset > len(data):
            return SW_OFFSET
        return data[offset:offset + (le or 256)] + SW_OK
