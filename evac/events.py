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
from dataclasses import dataclass, field
from typing import Any

REGISTER = "register"            # a person or household member becomes known
CHECKIN = "checkin"
CHECKOUT = "checkout"
TRANSFER = "transfer"            # leaving this shelter for another one
STAY_TYPE = "stay_type"          # in the shelter / at home / in a car
NEEDS = "needs"                  # 要配慮 needs
STATUS = "status"                # injury or illness
SHELTER_STATUS = "shelter_status"  # the shelter itself opens or closes

EVENT_TYPES = (REGISTER, CHECKIN, CHECKOUT, TRANSFER, STAY_TYPE, NEEDS, STATUS, SHELTER_STATUS)
LOCATION_TYPES = frozenset({CHECKIN, CHECKOUT, TRANSFER, STAY_TYPE})
PERSON_TYPES = frozenset(EVENT_TYPES) - {SHELTER_STATUS}

STAY_TYPES = ("in_shelter", "at_home", "in_car")
SEXES = ("female", "male", "other")
NEEDS_CODES = (
    "elderly", "disability", "pregnancy", "infant", "allergy",
    "medication", "dialysis", "pets", "interpreter", "care",
)
PERSON_STATUSES = ("safe", "injured", "ill", "hospitalised")
SHELTER_STATUSES = ("open", "closed")

MAX_NAME = 100
MAX_ADDRESS = 200
MAX_ID = 64
OLDEST_BIRTH = dt.date(1880, 1, 1)

_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]*\Z")
# Control characters never belong in a name or an address; they are how
# terminal and log injection starts.
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class InvalidEvent(ValueError):
    """An event that must not be stored.  The message is for people."""


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


def canonical_json(obj: Any) -> str:
    """One text per value, so that a retried event can be compared with the stored one."""
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def order_key(hlc: int, kiosk_id: str, seq: int) -> str:
    """`Event.order` as text that sorts the same way, for one database column."""
    return f"{hlc:020d}|{kiosk_id}|{seq:012d}"


def _text(value: Any, what: str, *, max_len: int, required: bool = True) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidEvent(f"{what} must be text")
    value = value.strip()
    if required and not value:
        raise InvalidEvent(f"{what} is missing")
    if len(value) > max_len:
        raise InvalidEvent(f"{what} is too long ({len(value)} characters, at most {max_len})")
    if _CONTROL_RE.search(value):
        raise InvalidEvent(f"{what} contains control characters")
    return value


def _ident(value: Any, what: str, *, required: bool = True) -> str:
    value = _text(value, what, max_len=MAX_ID, required=required)
    if value and not _ID_RE.match(value):
        raise InvalidEvent(f"{what} may only contain letters, digits and . _ : -")
    return value


def parse_birth_date(value: Any, today: dt.date | None = None) -> str:
    if not isinstance(value, str):
        raise InvalidEvent("birth date must be text in the form YYYY-MM-DD")
    try:
        born = dt.date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidEvent(f"birth date {value!r} is not a date in the form YYYY-MM-DD") from None
    today = today or dt.date.today()
    if born < OLDEST_BIRTH or born > today + dt.timedelta(days=1):
        raise InvalidEvent(f"birth date {born.isoformat()} is not plausible")
    return born.isoformat()


def parse_person(raw: Any) -> Person:
    if not isinstance(raw, dict):
        raise InvalidEvent("person must be an object")
    sex = raw.get("sex")
    if sex not in SEXES:
        raise InvalidEvent(f"sex must be one of {', '.join(SEXES)}")
    return Person(
        name=_text(raw.get("name"), "name", max_len=MAX_NAME),
        birth_date=parse_birth_date(raw.get("birth_date")),
        sex=sex,
        address=_text(raw.get("address"), "address", max_len=MAX_ADDRESS, required=False),
        name_kana=_text(raw.get("name_kana"), "name in kana", max_len=MAX_NAME, required=False),
        prereg_id=_ident(raw.get("prereg_id"), "pre-registration id", required=False),
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
                "note": _text(raw.get("note"), "note", max_len=500, required=False)}
    if etype == SHELTER_STATUS:
        return {"status": _choice(raw.get("status"), "shelter status", SHELTER_STATUSES)}
    return {}


def parse_event(raw: Any) -> Event:
    """Validate one wire event.  Raises InvalidEvent with a message fit for a person."""
    if not isinstance(raw, dict):
        raise InvalidEvent("each event must be an object")
    etype = raw.get("type")
    if etype not in EVENT_TYPES:
        raise InvalidEvent(f"unknown event type {etype!r}")
    seq, hlc = raw.get("seq"), raw.get("hlc")
    if type(seq) is not int or seq < 1:
        raise InvalidEvent("seq must be a positive whole number")
    if type(hlc) is not int or hlc < 1 or hlc >= 1 << 63:
        raise InvalidEvent("hlc must be a positive 63-bit whole number")
    person = None
    if etype in PERSON_TYPES:
        person = parse_person(raw.get("person"))
    elif raw.get("person") is not None:
        raise InvalidEvent(f"a {etype} event is not about a person")
    return Event(
        kiosk_id=_ident(raw.get("kiosk_id"), "kiosk id"),
        seq=seq,
        hlc=hlc,
        type=etype,
        shelter_id=_ident(raw.get("shelter_id"), "shelter id"),
        person=person,
        household_id=_ident(raw.get("household_id"), "household id", required=False),
        data=_parse_data(etype, raw.get("data")),
    )
