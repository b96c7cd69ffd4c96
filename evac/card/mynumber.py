"""Reading the 基本4情報 (name, address, birth date, sex) from a My Number card.

Only the 券面事項入力補助AP is used, and in it only EF 0002 (the four basic
items), opened with the 4-digit PIN (EF 0011) or 照合番号B (EF 0015).  The
Individual Number (EF 0001) and 照合番号A (EF 0014, which *is* the number)
are never selected: 番号法 §20 forbids a shelter to collect it, and
`NumberSafeTransmit` refuses any APDU that would, before it reaches the card.

A card must never be locked by a kiosk: the retry counter is read first, and
when one try is left we refuse to spend it.
"""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from typing import Callable

from .ber import TLVError, header_size, parse

Transmit = Callable[[bytes], tuple[bytes, int]]

KENHOJO_AID = bytes.fromhex("D3921000310001010408")  # 券面事項入力補助AP
EF_BASIC4 = 0x0002
EF_PIN = 0x0011
EF_CODE_B = 0x0015
# EF 0001 holds the Individual Number; EF 0014 is 照合番号A, which is the number itself.
FORBIDDEN_EFS = frozenset({0x0001, 0x0014})

SW_OK = 0x9000
SW_NOT_FOUND = 0x6A82
SW_BLOCKED = 0x6984
SW_AUTH_BLOCKED = 0x6983
SW_VERIFY_FAILED = 0x6300  # verification failed, no count given
SEXES = {"1": "male", "2": "female"}  # anything else on the card: other
# EF 0002 holds four short texts (a few hundred bytes on a real card); a header saying more is a
# broken or hostile card, not one to spend minutes of READ BINARYs on while the reader is held.
MAX_BASIC4_BYTES = 4096


class CardError(Exception):
    """A read that did not happen.  `code` names the case for the screen's message; nothing was stored."""

    def __init__(self, code: str, message: str, tries_left: int | None = None):
        super().__init__(message)
        self.code, self.message, self.tries_left = code, message, tries_left


class CardRemoved(CardError):
    def __init__(self, detail: str = ""):
        super().__init__("card_removed", "the card was taken away before it was read; please hold it still"
                         + (f" ({detail})" if detail else ""))


class RefusedAPDU(Exception):
    """The §20 guard stopped an APDU: a defect in this program, never the card's doing.  Deliberately
    not an OSError, so that no transport handler can take it for a card pulled away and hide it."""


@dataclass(frozen=True)
class BasicFour:
    name: str
    address: str
    birth_date: str  # YYYY-MM-DD
    sex: str         # female | male | other

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "address": self.address, "birth_date": self.birth_date, "sex": self.sex}


class NumberSafeTransmit:
    """Wraps a transport so that only the APDUs a shelter's read needs ever leave: SELECT of the
    券面事項入力補助AP by name, SELECT of its EFs for the PIN, 照合番号B and the basic four by
    file id, VERIFY against those (with P2 = 80, the current EF), and READ BINARY of the current
    EF by offset.  Everything else -- another application, EF 0001 (the Individual Number), EF
    0014 (照合番号A, which is the number), a SELECT by path, a READ by short file id, odd-INS reads
    -- is refused before it reaches the card."""

    _ALLOWED_EFS = frozenset({EF_BASIC4, EF_PIN, EF_CODE_B})

    def __init__(self, transmit: Transmit):
        self._transmit = transmit

    def __call__(self, apdu: bytes) -> tuple[bytes, int]:
        self._check(apdu)
        return self._transmit(apdu)

    def _check(self, apdu: bytes) -> None:
        if len(apdu) < 4 or apdu[0] != 0x00:
            raise RefusedAPDU(f"refusing APDU {apdu[:4].hex()}: not one a shelter's read needs")
        ins, p1, p2 = apdu[1], apdu[2], apdu[3]
        if ins == 0xA4 and p1 == 0x04 and len(apdu) >= 5 and apdu[5:5 + apdu[4]] == KENHOJO_AID:
            return
        if ins == 0xA4 and p1 == 0x02 and len(apdu) >= 7 and apdu[4] == 2:
            ef = int.from_bytes(apdu[5:7], "big")
            if ef in FORBIDDEN_EFS:
                raise RefusedAPDU(f"refusing to select EF {ef:04X}: a shelter may not read the Individual Number")
            if ef in self._ALLOWED_EFS:
                return
        if ins == 0x20 and p1 == 0x00 and p2 == 0x80:
            return
        if ins == 0x20 and p2 in (0x14, 0x94):
            raise RefusedAPDU("refusing to verify 照合番号A")
        if ins == 0xB0 and not p1 & 0x80:
            return
        raise RefusedAPDU(f"refusing APDU {apdu[:4].hex()}: not one a shelter's read needs")


def _select_ef(transmit: Transmit, ef: int) -> int:
    return transmit(bytes([0x00, 0xA4, 0x02, 0x0C, 0x02]) + ef.to_bytes(2, "big"))[1]


def _tries_left(sw: int) -> int | None:
    return sw & 0x0F if sw & 0xFFF0 == 0x63C0 else None


def _check(sw: int, what: str) -> None:
    if sw != SW_OK:
        raise CardError("card_error", f"the card refused to {what} (status {sw:04X})")


def _verify(transmit: Transmit, ef: int, secret: str, what: str) -> None:
    _check(_select_ef(transmit, ef), f"open its {what}")
    # VERIFY with no data reports the tries left without spending one.
    _, sw = transmit(bytes([0x00, 0x20, 0x00, 0x80]))
    left = _tries_left(sw)
    if sw in (SW_BLOCKED, SW_AUTH_BLOCKED) or left == 0:
        raise CardError("locked", f"the card's {what} is locked; use the other way or ask staff", 0)
    if left is None:
        # No count, no try: without it the next wrong secret might be the card's last.
        raise CardError("card_error", f"the card did not say how many tries of the {what} are left "
                        f"(status {sw:04X}); not trying, so that the card cannot lock", None)
    if left <= 1:
        raise CardError("last_try", f"only one try of the {what} is left; to keep the card from locking, "
                        "use the other way or ask staff", left)
    data = secret.encode("ascii")
    _, sw = transmit(bytes([0x00, 0x20, 0x00, 0x80, len(data)]) + data)
    if sw == SW_OK:
        return
    left = _tries_left(sw)
    if sw in (SW_BLOCKED, SW_AUTH_BLOCKED) or left == 0:
        raise CardError("locked", f"the card's {what} is now locked; use the other way or ask staff", 0)
    if left == 1:
        # Said now, not at the next attempt: one try left is one this kiosk will not spend, so
        # "try again" would send the person to a refusal.
        raise CardError("wrong_secret", f"the {what} is not right, and only one try is left; to keep the card "
                        "from locking this kiosk will not try it: use the other way or ask staff", left)
    if left is not None:
        raise CardError("wrong_secret", f"the {what} is not right; {left} tries left", left)
    if sw == SW_VERIFY_FAILED:
        # Wrong, and the card does not say how many tries remain: the next read counts them
        # again before sending anything, so no try is ever spent blind.
        raise CardError("wrong_secret", f"the {what} is not right", None)
    _check(sw, f"check the {what}")


def _read_file(transmit: Transmit) -> bytes:
    """READ BINARY of the selected EF, as long as the TLV at its start says."""
    head, sw = transmit(bytes([0x00, 0xB0, 0x00, 0x00, 0x08]))
    _check(sw, "be read")
    try:
        header, length = header_size(head)
    except (TLVError, IndexError):
        raise CardError("corrupt", "the card's data could not be understood") from None
    total = header + length
    if total > MAX_BASIC4_BYTES:
        raise CardError("corrupt", f"the card's data says it is {total} bytes long, more than the basic "
                        "information can be; the card could not be understood")
    data = bytearray(head[:total])
    # A card answering each READ with a byte or two would otherwise hold the reader for thousands of READs
    # (MAX_BASIC4_BYTES does not bound those): as many as the length needs in full parts, and two to spare.
    reads_left = total // 0xF0 + 2
    while len(data) < total:
        if reads_left == 0:
            raise CardError("corrupt", "the card gave its data in parts too short to be read")
        reads_left -= 1
        chunk = min(0xF0, total - len(data))  # fits one contactless frame (FSD 256) with PCB and SW
        part, sw = transmit(bytes([0x00, 0xB0, len(data) >> 8, len(data) & 0xFF, chunk]))
        _check(sw, "be read")
        if not part:
            raise CardError("corrupt", "the card's data ended early")
        data += part
    return bytes(data[:total])


def _text(value: bytes, what: str) -> str:
    try:
        return value.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise CardError("corrupt", f"the card's {what} is not readable text") from None


def parse_basic4(data: bytes) -> BasicFour:
    """EF 0002: FF20 { DF21 header, DF22 name, DF23 address, DF24 birth YYYYMMDD, DF25 sex }."""
    try:
        (root, *_) = parse(data)
    except (TLVError, ValueError, RecursionError):
        raise CardError("corrupt", "the card's data could not be understood") from None
    fields = {t: root.find(t) for t in (0xDF22, 0xDF23, 0xDF24, 0xDF25)}
    if root.tag != 0xFF20 or any(v is None for v in fields.values()):
        raise CardError("corrupt", "the card's data is missing the name, address, birth date or sex")
    birth = _text(fields[0xDF24].value, "birth date")
    if not re.fullmatch(r"\d{8}", birth):
        raise CardError("corrupt", "the card's birth date is not readable")
    try:
        born = dt.date(int(birth[:4]), int(birth[4:6]), int(birth[6:]))
    except ValueError:
        raise CardError("corrupt", "the card's birth date is not a date") from None
    return BasicFour(name=_text(fields[0xDF22].value, "name"), address=_text(fields[0xDF23].value, "address"),
                     birth_date=born.isoformat(), sex=SEXES.get(_text(fields[0xDF25].value, "sex"), "other"))


def tries_left(transmit: Transmit, *, code_b: bool = False) -> int | None:
    """The tries left of the PIN (or 照合番号B), read without spending one: for the screen to show
    before anything is typed.  None when the card does not say."""
    transmit = NumberSafeTransmit(transmit)
    try:
        _, sw = transmit(bytes([0x00, 0xA4, 0x04, 0x0C, len(KENHOJO_AID)]) + KENHOJO_AID)
        if sw != SW_OK:
            raise CardError("not_my_number_card", "this card is not a My Number card")
        _check(_select_ef(transmit, EF_CODE_B if code_b else EF_PIN), "open its PIN")
        _, sw = transmit(bytes([0x00, 0x20, 0x00, 0x80]))
    except (ConnectionError, OSError) as exc:
        raise CardRemoved(str(exc)) from None
    if sw in (SW_BLOCKED, SW_AUTH_BLOCKED):
        return 0
    return _tries_left(sw)


def digits(text: str, count: int) -> str | None:
    """`text` as `count` ASCII digits, or None.  NFKC first: a Japanese IME types full-width
    digits (１２３４), which are the same PIN; other scripts' digits are not what the card holds."""
    if not isinstance(text, str):
        return None
    text = unicodedata.normalize("NFKC", text)
    return text if re.fullmatch(f"[0-9]{{{count}}}", text) else None


# The years a card's expiry can say: the first cards were issued in 2016; a card issued today runs at
# most ten years and to a birthday (the younger a holder, the shorter).
CODE_B_EXPIRY_YEARS = range(2016, 2046)
_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)   # 29 Feb: the era year's leap is unknown


def check_code_b(code_b: str) -> None:
    """Refuses 14 digits that cannot be a 照合番号B, before the card is touched (so a slip of the finger
    costs no try): the birth date as printed on the card, year, month and day, the card's expiry year,
    then the 4-digit security code.  The year is not checked: a Japanese national's card prints the era
    year, a foreign resident's the last two digits of the Western year (00 for 2000).  Raises
    CardError("bad_code_b")."""
    month, day, expiry = int(code_b[2:4]), int(code_b[4:6]), int(code_b[6:10])
    if not (1 <= month <= 12 and 1 <= day <= _DAYS_IN_MONTH[month - 1]):
        raise CardError("bad_code_b", "照合番号B starts with the birth date as printed on the card, year, month and "
                                      "day (6 digits); these are not a date")
    if expiry not in CODE_B_EXPIRY_YEARS:
        raise CardError("bad_code_b", f"照合番号B's digits 7 to 10 are the card's expiry year; {expiry} is not "
                                      "one a card can have")


def checked_secret(*, pin: str | None = None, code_b: str | None = None) -> dict[str, str]:
    """The PIN or 照合番号B as the card takes it ({"pin": …} or {"code_b": …}), or CardError("bad_input" or
    "bad_code_b") for one that cannot be it.  Called before the card reader is even opened: a slip of the
    finger neither costs a try nor waits for a card."""
    if (pin is None) == (code_b is None):
        raise ValueError("give the PIN or 照合番号B, one of them")
    if pin is not None:
        pin = digits(pin, 4)
        if pin is None:
            raise CardError("bad_input", "the PIN is 4 digits")
        return {"pin": pin}
    code_b = digits(code_b, 14)
    if code_b is None:
        raise CardError("bad_input", "照合番号B is 14 digits: birth date (YYMMDD as on the card), expiry year, "
                                     "security code")
    check_code_b(code_b)
    return {"code_b": code_b}


def read_basic4(transmit: Transmit, *, pin: str | None = None, code_b: str | None = None) -> BasicFour:
    """Read the four basic items with the PIN or 照合番号B.  Raises CardError; reads nothing else."""
    # Before the card is touched: a malformed secret never costs a try.
    secret = checked_secret(pin=pin, code_b=code_b)
    pin, code_b = secret.get("pin"), secret.get("code_b")
    transmit = NumberSafeTransmit(transmit)
    try:
        _, sw = transmit(bytes([0x00, 0xA4, 0x04, 0x0C, len(KENHOJO_AID)]) + KENHOJO_AID)
        if sw != SW_OK:
            raise CardError("not_my_number_card", "this card is not a My Number card")
        if pin is not None:
            _verify(transmit, EF_PIN, pin, "PIN")
        else:
            _verify(transmit, EF_CODE_B, code_b, "照合番号B")
        _check(_select_ef(transmit, EF_BASIC4), "open its basic information")
        return parse_basic4(_read_file(transmit))
    except (ConnectionError, OSError) as exc:
        raise CardRemoved(str(exc)) from None


ERAS = (  # first day of each era, newest first
    (dt.date(2019, 5, 1), "令和"), (dt.date(1989, 1, 8), "平成"), (dt.date(1926, 12, 25), "昭和"),
    (dt.date(1912, 7, 30), "大正"), (dt.date(1868, 1, 25), "明治"),
)


def era_yymmdd(born: dt.date) -> str:
    """The birth date as printed on the card for 照合番号B: the year of the Japanese era, month, day."""
    for start, _name in ERAS:
        if born >= start:
            return f"{born.year - start.year + 1:02d}{born.month:02d}{born.day:02d}"
    raise ValueError("a birth date before the Meiji era")


def code_b(born: dt.date, expiry_year: int, security_code: str) -> str:
    """照合番号B: birth date (era YYMMDD) + the card's expiry year + its 4-digit security code."""
    security_code = digits(security_code, 4)
    if security_code is None:
        raise ValueError("the security code is 4 digits")
    if not 2015 <= expiry_year <= 2100:
        raise ValueError("the expiry year is not plausible")
    return f"{era_yymmdd(born)}{expiry_year:04d}{security_code}"
