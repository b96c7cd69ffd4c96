"""The event model: every change at a shelter is an immutable event written by one kiosk.

An event is identified by (kiosk_id, seq): the kiosk's own id and its gap-free
sequence number, which is also the idempotency key at HQ.  `hlc` is the
kiosk's hybrid logical clock timestamp (see evac.hlc), which orders events
from different kiosks.

The wire form is a plain JSON object; `parse_event` is the only way in from
outside and says in words what is wrong with a bad one.
"""
from __future__ import annotations

import datetime as dt
import json
import re
import time
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from .hlc import COUNTER_BITS as HLC_COUNTER_BITS
from .identity import normalize_name, person_key
from .individual_number import (
    contains_individual_number, is_individual_number, looks_like_individual_number_not_phone,
)

REGISTER = "register"            # a person or household member becomes known
CHECKIN = "checkin"
CHECKOUT = "checkout"
TRANSFER = "transfer"            # leaving this shelter for another one
STAY_TYPE = "stay_type"          # in the shelter / at home / in a car
NEEDS = "needs"                  # 要配慮 needs
STATUS = "status"                # injury or illness
SHELTER_STATUS = "shelter_status"  # the shelter itself opens or closes
IC_LINK = "ic_link"              # a transport IC card now stands for this person (keyed hash only)
CONSENT = "consent"              # what family inquiries may be told (災対法 §86-15); never-disclose (DV/stalker)
DETAILS = "details"              # the paper 避難者カード's other fields: contact phone, home damage, household
SELF_REPORT = "self_report"      # safe, not in a shelter: reported by the person from a phone (at HQ)
# Identity corrected by staff (a typo in name, birth date or address): `person` is the identity as it
# was, data["person"] the corrected one; everything known about the person follows to the new identity.
CORRECTION = "correction"
# A record HQ refuses for good (written by an older kiosk version, or at a shelter HQ does not know),
# withdrawn by the shelter lead: it keeps the refused event's seq and hlc, so the stream stays gap-free,
# and says nothing about anyone, so that the records after it reach HQ.  The original stays on the kiosk.
WITHDRAWN = "withdrawn"
# The true times of this kiosk's earlier records that it dated by its own clock before it had heard HQ's
# since it started (a board without a clock battery back from a power cut with no network): data["dates"]
# lists [seq, milliseconds since the epoch by HQ's clock].  HQ orders those records by them instead.
CLOCK_CORRECTION = "clock_correction"

EVENT_TYPES = (REGISTER, CHECKIN, CHECKOUT, TRANSFER, STAY_TYPE, NEEDS, STATUS, SHELTER_STATUS, IC_LINK, CONSENT,
               DETAILS, SELF_REPORT, CORRECTION, WITHDRAWN, CLOCK_CORRECTION)
LOCATION_TYPES = frozenset({CHECKIN, CHECKOUT, TRANSFER, STAY_TYPE, SELF_REPORT})
PERSON_TYPES = frozenset(EVENT_TYPES) - {SHELTER_STATUS, WITHDRAWN, CLOCK_CORRECTION}
MAX_CORRECTED_DATES = 500

STAY_TYPES = ("in_shelter", "at_home", "in_car")
SELF_REPORT_PLACES = ("at_home", "with_relatives", "in_car", "elsewhere")
SEXES = ("female", "male", "other")
NEEDS_CODES = (
    "elderly", "disability", "pregnancy", "infant", "allergy",
    "medication", "dialysis", "pets", "interpreter", "care",
)
PERSON_STATUSES = ("safe", "injured", "ill", "hospitalised")
SHELTER_STATUSES = ("open", "full", "closed")
# none: only what the law allows after HQ confirms the inquirer; family: at once to whoever gives the
# family code; public: whereabouts and injury at once to anyone who asks by name and birth date.
CONSENTS = ("none", "family", "public")
DISCLOSURES = CONSENTS   # the kiosk screen's name for the same choice
HOME_DAMAGES = ("none", "partial", "half", "total", "unknown")  # 一部損壊, 半壊, 全壊 as on the paper form
FAMILY_CODE_LEN = (4, 32)


def clean_family_code(code: str) -> str:
    """A family code as kept: ＹＡＩＺＵ７ from an IME is YAIZU7, spaces around it dropped, and characters
    nobody sees (a zero-width space pasted in) gone: a relative typing what they see must match it."""
    text = unicodedata.normalize("NFKC", code)
    return "".join(c for c in text if unicodedata.category(c) not in ("Cc", "Cf")).strip()


def family_code_fits(code: str) -> bool:
    """The one rule for a cleaned family code, wherever it is chosen or typed again (HQ's
    pre-registration, the kiosk screen): FAMILY_CODE_LEN characters, any script, so that a code HQ
    signed into a QR is also accepted when the family types it at a kiosk."""
    return FAMILY_CODE_LEN[0] <= len(code) <= FAMILY_CODE_LEN[1]
MAX_HOUSEHOLD = 30

MAX_NAME = 100
MAX_ADDRESS = 200
MAX_ID = 64
MAX_SHELTER_ID = 16       # HQ's column; a withdrawal's shelter is not checked against HQ's list
MAX_WITHDRAW_REASON = 300
OLDEST_BIRTH = dt.date(1880, 1, 1)

ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]*\Z")   # ids: kiosk, shelter, household
# evac.ictoken's form: never the card's IDm itself.
IC_TOKEN_RE = re.compile(r"ic:[0-9a-f]{32}\Z")
# Control characters never belong in a name or an address; they are how
# terminal and log injection starts.
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_SURROGATE_RE = re.compile("[\ud800-\udfff]")


class InvalidEvent(ValueError):
    """An event that must not be stored.  The message is for people."""


class UnknownEventType(InvalidEvent):
    """An event of a type this software does not know: most likely written by newer software (a kiosk
    updated before HQ), which needs this one updated rather than the record withdrawn."""


@dataclass(frozen=True, slots=True)
class Person:
    name: str
    birth_date: str
    sex: str
    address: str = ""
    name_kana: str = ""
    prereg_id: str = ""

    def to_wire(self) -> dict[str, str]:
        wire = {"name": self.name, "birth_date": self.birth_date, "sex": self.sex,
                "address": self.address}
        if self.name_kana:
            wire["name_kana"] = self.name_kana
        if self.prereg_id:
            wire["prereg_id"] = self.prereg_id
        return wire


@dataclass(frozen=True, slots=True)
class Event:
    kiosk_id: str
    seq: int
    hlc: int
    type: str
    shelter_id: str
    person: Person | None = None
    household_id: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def order(self) -> tuple[int, str, int]:
        """Total order across all kiosks: clock first, then kiosk and sequence as tie-breakers."""
        return (self.hlc, self.kiosk_id, self.seq)

    def to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = {
            "kiosk_id": self.kiosk_id, "seq": self.seq, "hlc": self.hlc,
            "type": self.type, "shelter_id": self.shelter_id, "data": self.data,
        }
        if self.person is not None:
            wire["person"] = self.person.to_wire()
        if self.household_id:
            wire["household_id"] = self.household_id
        return wire


_CANONICAL = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def canonical_json(obj: Any) -> str:
    """One text per value, so that a retried event can be compared with the stored one."""
    return _CANONICAL.encode(obj)


def event_json(ev: Event) -> str:
    """`canonical_json(ev.to_wire())`, built from cached pieces because it is on HQ's ingest path.

    Ids are validated to need no escaping; keys are written in sorted order.
    """
    household = f',"household_id":"{ev.household_id}"' if ev.household_id else ""
    person = "" if ev.person is None else ',"person":' + _person_json(ev.person)
    data = ev.data
    # Most events' data is one of a few validated shapes that need no escaping.
    if not data:
        data_json = "{}"
    elif ev.type in _CHOICE_DATA and len(data) == 1:
        data_json = f'{{"stay_type":"{data["stay_type"]}"}}'
    elif ev.type == NEEDS and len(data) == 1:
        data_json = _needs_json(tuple(data["needs"]))  # validated codes: a few combinations
    elif ev.type == TRANSFER and len(data) == 1:
        data_json = f'{{"to_shelter_id":"{data["to_shelter_id"]}"}}'  # a validated id
    elif ev.type == STATUS and len(data) == 2:
        data_json = _status_json(data["status"], data["note"])  # notes are mostly empty
    else:
        data_json = _CANONICAL.encode(data)
    return (f'{{"data":{data_json},"hlc":{ev.hlc}{household},"kiosk_id":"{ev.kiosk_id}"'
            f'{person},"seq":{ev.seq},"shelter_id":"{ev.shelter_id}","type":"{ev.type}"}}')


_CHOICE_DATA = frozenset({CHECKIN, STAY_TYPE})


@lru_cache(maxsize=1024)
def _needs_json(needs: tuple[str, ...]) -> str:
    return _CANONICAL.encode({"needs": needs})


@lru_cache(maxsize=4096)
def _status_json(status: str, note: str) -> str:
    return _CANONICAL.encode({"status": status, "note": note})


@lru_cache(maxsize=65536)
def _person_json(person: Person) -> str:
    p = person
    fields = (p.name, p.address, p.name_kana, p.prereg_id, p.birth_date, p.sex)
    if any(type(f) is not str for f in fields) or _JSON_ESCAPED.search("".join(fields)):
        return _CANONICAL.encode(p.to_wire())
    # Nothing to escape (the usual case; ensure_ascii is off): the encoder's text, keys in sorted order.
    kana = f',"name_kana":"{p.name_kana}"' if p.name_kana else ""
    prereg = f',"prereg_id":"{p.prereg_id}"' if p.prereg_id else ""
    return (f'{{"address":"{p.address}","birth_date":"{p.birth_date}","name":"{p.name}"{kana}{prereg}'
            f',"sex":"{p.sex}"}}')


# What json escapes with ensure_ascii=False.
_JSON_ESCAPED = re.compile(r'["\\\x00-\x1f]')


def order_key(hlc: int, kiosk_id: str, seq: int) -> str:
    """`Event.order` as text that sorts the same way (compared by code point), for one database column.

    The separator is a space: below every character a kiosk id may hold (ID_RE), so that of two ids
    where one is a prefix of the other ("dev-1", "dev-10") the shorter sorts first, as in the tuple."""
    return f"{hlc:020d} {kiosk_id} {seq:012d}"


def _text(value: Any, what: str, max_len: int, required: bool = True) -> str:
    if type(value) is not str:
        if value is None:
            value = ""
        else:
            raise InvalidEvent(f"{what} must be text")
    value = value.strip()
    if not value:
        if required:
            raise InvalidEvent(f"{what} is missing")
        return value
    if len(value) > max_len:
        raise InvalidEvent(f"{what} is too long ({len(value)} characters, at most {max_len})")
    if _CONTROL_RE.search(value):
        raise InvalidEvent(f"{what} contains control characters")
    if _SURROGATE_RE.search(value):
        # JSON can carry half of a UTF-16 pair ("\ud800"); no database or key can hold it.
        raise InvalidEvent(f"{what} contains a broken character (half of a UTF-16 pair)")
    if what != "contact phone" and contains_individual_number(value):
        raise InvalidEvent(f"{what} holds what looks like a 12-digit Individual Number (マイナンバー): "
                           "a shelter must not record it (番号法 §20)")
    return value


# An id of digits only (and - . _ :): no id the system makes (kiosk-…, hh-…, HH-…, PR-…, H001) is one, but
# a typed shelter or household id may be the Individual Number (1234-5678-9018).  Ids with letters are not
# searched: random hex has twelve-digit runs often enough that a kiosk's own id would be refused.
_DIGITS_ONLY_RE = re.compile(r"[0-9][0-9_.:-]{11,}\Z")


def _ident(value: Any, what: str, required: bool = True) -> str:
    if type(value) is str and ID_RE.match(value) and len(value) <= MAX_ID:
        # the common case, checked in one step
        if _DIGITS_ONLY_RE.match(value) and is_individual_number(re.sub(r"[_.:-]", "", value)):
            raise InvalidEvent(f"{what} holds what looks like a 12-digit Individual Number (マイナンバー): "
                               "a shelter must not record it (番号法 §20)")
        return value
    value = _text(value, what, MAX_ID, required)
    if value and not ID_RE.match(value):
        raise InvalidEvent(f"{what} may only contain letters, digits and . _ : -")
    return value


def parse_birth_date(value: Any, today: dt.date | None = None) -> str:
    if not isinstance(value, str):
        raise InvalidEvent("birth date must be text in the form YYYY-MM-DD")
    return _birth_date(value.strip(), today.toordinal() if today else _today())


_DASHES = str.maketrans({c: "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u30fc"})


@lru_cache(maxsize=65536)
def _birth_date(value: str, today: int) -> str:
    # Cached: the same people's birth dates come again and again in a batch.
    try:
        born = dt.date.fromisoformat(value)
    except ValueError:
        born = None
    if born is None:
        # As a Japanese IME types it: full-width digits, a full-width or typographic hyphen.
        value = unicodedata.normalize("NFKC", value).translate(_DASHES)
        try:
            born = dt.date.fromisoformat(value)
        except ValueError:
            born = None
    if born is None:
        # The value is not repeated: refusals are kept and shown at HQ, and it may be anything (番号法 §20).
        shaped = len(value) == 10 and value[4] == value[7] == "-" and value.replace("-", "").isdigit()
        raise InvalidEvent("birth date is not a date in the form YYYY-MM-DD"
                           + (": there is no such day (month 01-12, and a day that month has)" if shaped else "")) from None
    if born < OLDEST_BIRTH:
        raise InvalidEvent(f"birth date {born.isoformat()} is not plausible: before {OLDEST_BIRTH.isoformat()}")
    if born.toordinal() > today + 1:
        raise InvalidEvent(f"birth date {born.isoformat()} is not plausible: it is in the future")
    return born.isoformat()


def parse_person(raw: Any, today: int | None = None) -> Person:
    """A person as given; `today` (a day ordinal, default the machine's date) bounds the birth date."""
    if not isinstance(raw, dict):
        raise InvalidEvent("person must be an object")
    get = raw.get
    fields = (get("name"), get("birth_date"), get("sex"), get("address"), get("name_kana"), get("prereg_id"))
    today = today or _today()
    try:
        return _person(*fields, today)
    except TypeError:  # something unhashable (a list for a name, say): validate uncached to say what
        return _person.__wrapped__(*fields, today)


# No machine runs this release before the day it was made: a kiosk that boots with its clock reset (a
# flat clock battery: 2000; a board with no clock at all: 1970) and has never heard HQ still takes
# today to be at least this, so a child born since its clock's date is not refused.  A lower bound
# only: moving it on with a release makes it tighter, never wrong.
EARLIEST_TODAY = dt.date(2026, 11, 26)


def _today() -> int:
    return max(int(time.time() // 86400) + _EPOCH_ORDINAL, EARLIEST_TODAY.toordinal())


def _event_today(hlc: int) -> int:
    """The later of this machine's date and the event's own: a birth date the writing kiosk could
    accept is accepted here too.  Otherwise a kiosk whose clock ran ahead writes an event HQ refuses
    on every sync, and everything queued behind it never arrives; and a kiosk whose clock was reset
    to the past (a flat clock battery) keeps the date its clock last reached."""
    return max(_today(), (hlc >> HLC_COUNTER_BITS) // 86_400_000 + _EPOCH_ORDINAL)


_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()


@lru_cache(maxsize=65536)
def _person(name, birth_date, sex, address, name_kana, prereg_id, today: int) -> Person:
    # Cached: one person's events come again and again; validating them once is enough.
    if sex not in SEXES:
        raise InvalidEvent(f"sex must be one of {', '.join(SEXES)}")
    if not isinstance(birth_date, str):
        raise InvalidEvent("birth date must be text in the form YYYY-MM-DD")
    name = _text(name, "name", MAX_NAME)
    if not normalize_name(name):
        raise InvalidEvent("the name has no letters once spaces and separators (・, =) are taken away")
    return Person(
        name,
        _birth_date(birth_date.strip(), today),
        sex,
        _text(address, "address", MAX_ADDRESS, False),
        _text(name_kana, "name in kana", MAX_NAME, False),
        _ident(prereg_id, "pre-registration id", False),
    )


def _choice(value: Any, what: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise InvalidEvent(f"{what} must be one of {', '.join(choices)}")
    return value


def _parse_data(etype: str, raw: Any) -> dict[str, Any]:
    raw = {} if raw is None else raw
    if not isinstance(raw, dict):
        raise InvalidEvent("data must be an object")
    if etype == CHECKIN:
        return {"stay_type": _choice(raw.get("stay_type", "in_shelter"), "stay type", STAY_TYPES)}
    if etype == STAY_TYPE:
        return {"stay_type": _choice(raw.get("stay_type"), "stay type", STAY_TYPES)}
    if etype == TRANSFER:
        return {"to_shelter_id": _ident(raw.get("to_shelter_id"), "destination shelter")}
    if etype == NEEDS:
        needs = raw.get("needs")
        if not isinstance(needs, list) or any(n not in NEEDS_CODES for n in needs):
            raise InvalidEvent(f"needs must be a list of: {', '.join(NEEDS_CODES)}")
        return {"needs": sorted(set(needs))}
    if etype == STATUS:
        return {"status": _choice(raw.get("status"), "status", PERSON_STATUSES),
                "note": _text(raw.get("note"), "note", 500, False)}
    if etype == SHELTER_STATUS:
        return {"status": _choice(raw.get("status"), "shelter status", SHELTER_STATUSES)}
    if etype == CONSENT:
        return _consent_data(raw)
    if etype == DETAILS:
        return _details_data(raw)
    if etype == SELF_REPORT:
        return {"where": _choice(raw.get("where"), "where you are", SELF_REPORT_PLACES),
                "note": _text(raw.get("note"), "note", 200, False)}
    if etype == IC_LINK:
        token = raw.get("token")
        if type(token) is not str or not IC_TOKEN_RE.match(token):
            raise InvalidEvent("an IC card link needs the card's token ('ic:' and 32 hexadecimal digits)")
        return {"token": token}
    if etype == CLOCK_CORRECTION:
        dates = raw.get("dates")
        if not isinstance(dates, list) or not 0 < len(dates) <= MAX_CORRECTED_DATES or not all(
                isinstance(d, list) and len(d) == 2 and all(type(v) is int for v in d) and d[0] >= 1
                and 0 < d[1] < 1 << 47 for d in dates):
            raise InvalidEvent(f"a clock correction lists 1 to {MAX_CORRECTED_DATES} [record, time] pairs")
        if any(b[0] <= a[0] for a, b in zip(dates, dates[1:])):
            raise InvalidEvent("a clock correction lists its records in order, each once")
        return {"dates": [list(d) for d in dates]}
    if etype == WITHDRAWN:
        kind = raw.get("type", "")
        if kind not in EVENT_TYPES + ("",):
            raise InvalidEvent(f"a withdrawn record's type must be an event type or empty ({', '.join(EVENT_TYPES)})")
        return {"reason": _text(raw.get("reason"), "reason for the withdrawal", MAX_WITHDRAW_REASON),
                "type": kind}
    return {}


def _consent_data(raw: dict) -> dict[str, Any]:
    consent = _choice(raw.get("consent"), "consent", CONSENTS)
    never = raw.get("never_disclose", False)
    if type(never) is not bool:
        raise InvalidEvent("never_disclose must be true or false")
    data: dict[str, Any] = {"consent": consent, "never_disclose": never}
    code = raw.get("family_code") or ""
    if type(code) is not str:
        raise InvalidEvent("the family code must be text")
    code = _text(unicodedata.normalize("NFKC", code), "family code", FAMILY_CODE_LEN[1], required=False)
    # The family code is a shared secret: kept only when it is what the consent rests on.  Without
    # one, 'family' widens nothing (evac.disclosure): inquiries wait for HQ's review.
    if code and consent != "family":
        raise InvalidEvent("a family code only goes with consent for the family")
    if code:
        if len(code) < FAMILY_CODE_LEN[0]:
            raise InvalidEvent(f"the family code must be {FAMILY_CODE_LEN[0]} to {FAMILY_CODE_LEN[1]} characters")
        data["family_code"] = code
    return data


PHONE_RE = re.compile(r"\+?[0-9][0-9 ()-]{4,22}[0-9]\Z")


def _details_data(raw: dict) -> dict[str, Any]:
    data: dict[str, Any] = {"home_damage": _choice(raw.get("home_damage", "unknown"), "home damage", HOME_DAMAGES)}
    phone = _text(raw.get("contact_phone"), "contact phone", 30, required=False)
    if phone:
        phone = unicodedata.normalize("NFKC", phone)  # 全角 digits typed on a Japanese IME
        if not PHONE_RE.match(phone):
            raise InvalidEvent("contact phone must be a phone number: digits, with - ( ) + or spaces")
        if looks_like_individual_number_not_phone(phone):
            raise InvalidEvent("contact phone holds what looks like a 12-digit Individual Number (マイナンバー), "
                               "not a phone number: a shelter must not record it (番号法 §20)")
        data["contact_phone"] = phone
    members = raw.get("household_members")
    if members is not None:
        if type(members) is not int or not 1 <= members <= MAX_HOUSEHOLD:
            raise InvalidEvent(f"household members must be a whole number from 1 to {MAX_HOUSEHOLD}")
        data["household_members"] = members
    return data


def _correction_data(old: Person, raw: Any, today: int) -> dict[str, Any]:
    """The corrected identity, validated as any person is.  Only a change of identity key is a
    correction: a new spelling of the same key (髙橋 for 高橋, kana) is a `register` re-statement."""
    if not isinstance(raw, dict):
        raise InvalidEvent("data must be an object")
    if raw.get("person") is None:
        raise InvalidEvent("a correction needs the corrected person")
    new = parse_person(raw["person"], today)
    if new.prereg_id != old.prereg_id:
        raise InvalidEvent("a correction cannot change the pre-registration id")
    try:
        keys = [person_key(p.name, p.birth_date, p.address) for p in (old, new)]
    except ValueError as exc:
        raise InvalidEvent(str(exc)) from None
    if keys[0] == keys[1]:
        raise InvalidEvent("the correction does not change name, birth date or address: "
                           "that is the same person, written as a register event")
    return {"person": new.to_wire()}


def parse_event(raw: Any) -> Event:
    """Validate one wire event.  Raises InvalidEvent with a message fit for a person."""
    if not isinstance(raw, dict):
        raise InvalidEvent("each event must be an object")
    etype = raw.get("type")
    if etype not in EVENT_TYPES:
        raise UnknownEventType(f"unknown event type: it must be one of {', '.join(EVENT_TYPES)}")
    seq, hlc = raw.get("seq"), raw.get("hlc")
    if type(seq) is not int or seq < 1:
        raise InvalidEvent("seq must be a positive whole number")
    if type(hlc) is not int or hlc < 1 or hlc >= 1 << 63:
        raise InvalidEvent("hlc must be a positive 63-bit whole number")
    person = None
    today = _event_today(hlc)
    if etype in PERSON_TYPES:
        person = parse_person(raw.get("person"), today)
    elif raw.get("person") is not None:
        raise InvalidEvent(f"a {etype} event is not about a person")
    data = (_correction_data(person, raw.get("data"), today) if etype == CORRECTION
            else _parse_data(etype, raw.get("data")))
    shelter_id = _ident(raw.get("shelter_id"), "shelter id")
    if etype == WITHDRAWN and len(shelter_id) > MAX_SHELTER_ID:
        raise InvalidEvent(f"a withdrawn record's shelter id is too long (at most {MAX_SHELTER_ID} characters)")
    if etype == WITHDRAWN and raw.get("household_id"):
        raise InvalidEvent("a withdrawn record is not about a household")
    if etype == CLOCK_CORRECTION and data["dates"][-1][0] >= seq:
        raise InvalidEvent("a clock correction is about records written before it")
    return Event(
        kiosk_id=_ident(raw.get("kiosk_id"), "kiosk id"),
        seq=seq,
        hlc=hlc,
        type=etype,
        shelter_id=shelter_id,
        person=person,
        household_id=_ident(raw.get("household_id"), "household id", required=False),
        data=data,
    )


def stored_event(wire: dict[str, Any]) -> Event:
    """An event already stored (its canonical wire form), rebuilt without validating it again.  It
    was valid under the rules of the day it arrived; refused under a stricter rule of today, it would
    stop every later batch about its person."""
    person = wire.get("person")
    return Event(kiosk_id=wire["kiosk_id"], seq=wire["seq"], hlc=wire["hlc"], type=wire["type"],
                 shelter_id=wire["shelter_id"], person=None if person is None else Person(**person),
                 household_id=wire.get("household_id", ""), data=wire.get("data", {}))


def withdrawal(refused: dict[str, Any], kiosk_shelter: str, reason: str) -> dict[str, Any]:
    """The `withdrawn` placeholder for a refused wire event (as the kiosk holds it): the same kiosk, seq
    and hlc; its shelter if that is a valid id HQ can hold, else the kiosk's own.  Validate with parse_event."""
    shelter = refused.get("shelter_id")
    try:
        shelter = _ident(shelter, "shelter id")
    except InvalidEvent:
        shelter = ""
    if not shelter or len(shelter) > MAX_SHELTER_ID:
        shelter = kiosk_shelter
    kind = refused.get("type")
    return {"kiosk_id": refused.get("kiosk_id"), "seq": refused.get("seq"), "hlc": refused.get("hlc"),
            "type": WITHDRAWN, "shelter_id": shelter,
            "data": {"reason": reason, "type": kind if kind in EVENT_TYPES else ""}}
