"""PFIF 1.4 (People Finder Interchange Format, http://zesty.ca/pfif/1.4/): write and read.

Person Finder and other finders exchange person records and notes in this
XML.  Writing: only people who consented to public disclosure, never anyone
under never-disclose protection (one published before and no longer public is
withdrawn by an expired record that says nothing else about them), and only what a public finder needs (name,
sex, birth date, city; the shelter as last known location) -- never a street
address or a contact.  Reading: every record is checked against the 1.4
rules (required fields, field order, enumerations, date formats, record ids
of the form domain/id), and a document with any bad record is refused whole
with the reasons.

Standard library only (xml.etree); pure.
"""
from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as defused

from .individual_number import contains_individual_number

NS = "http://zesty.ca/pfif/1.4"
_Q = f"{{{NS}}}"

# The 1.4 schema's sequences: a record's fields must come in this order.
PERSON_FIELDS = (
    "person_record_id", "entry_date", "expiry_date", "author_name", "author_email", "author_phone",
    "source_name", "source_date", "source_url", "full_name", "given_name", "family_name", "alternate_names",
    "description", "sex", "date_of_birth", "age", "home_street", "home_neighborhood", "home_city",
    "home_state", "home_postal_code", "home_country", "photo_url", "profile_urls",
)
NOTE_FIELDS = (
    "note_record_id", "person_record_id", "linked_person_record_id", "entry_date", "author_name",
    "author_email", "author_phone", "source_date", "author_made_contact", "status", "email_of_found_person",
    "phone_of_found_person", "last_known_location", "text", "photo_url",
)
PERSON_REQUIRED = ("person_record_id", "source_date", "full_name")
NOTE_REQUIRED = ("note_record_id", "author_name", "source_date", "text")
NOTE_STATUSES = ("information_sought", "is_note_author", "believed_alive", "believed_missing", "believed_dead")
SEXES = ("female", "male", "other")

_RECORD_ID_RE = re.compile(r"[^/\s]+/\S+\Z")
_UTC_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z\Z")
_BIRTH_RE = re.compile(r"\d{4}(-\d{2}(-\d{2})?)?\Z")
_AGE_RE = re.compile(r"\d{1,3}(-\d{1,3})?\Z")
MAX_FIELD = 2000


class InvalidPFIF(ValueError):
    """`problems` lists every reason, each naming the record and field."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems[:20]) + (f" (and {len(problems) - 20} more)" if len(problems) > 20 else ""))
        self.problems = problems


@dataclass
class Note:
    note_record_id: str
    person_record_id: str
    author_name: str
    source_date: str
    text: str
    status: str = ""
    last_known_location: str = ""
    entry_date: str = ""


@dataclass
class PersonRecord:
    person_record_id: str
    source_date: str
    full_name: str
    given_name: str = ""
    family_name: str = ""
    sex: str = ""
    date_of_birth: str = ""
    home_city: str = ""
    source_name: str = ""
    author_name: str = ""
    entry_date: str = ""
    expiry_date: str = ""
    notes: list[Note] = field(default_factory=list)

    def deleted(self, now: str) -> bool:
        """PFIF 1.4's deletion: a record whose expiry date has passed (`now` as utc() writes it)."""
        return bool(self.expiry_date) and self.expiry_date <= now


# The human text of a record HQ keeps (not dates or enumerations): what a finder's user typed, and the record
# ids, which HQ keeps as keys and another finder may have made of anything (shizuoka.example/123456789018).
_PERSON_TEXT = ("person_record_id", "full_name", "given_name", "family_name", "home_city", "source_name",
                "author_name")
_NOTE_TEXT = ("note_record_id", "person_record_id", "author_name", "text", "last_known_location")


def individual_number_fields(record: PersonRecord) -> list[str]:
    """Which of the record's text fields seem to hold an Individual Number (番号法 §20: HQ may not keep
    it): their names (`note 2 text`), never their values."""
    found = [name for name in _PERSON_TEXT if contains_individual_number(getattr(record, name))]
    for i, note in enumerate(record.notes, start=1):
        found += [f"note {i} {name}" for name in _NOTE_TEXT if contains_individual_number(getattr(note, name))]
    return found


def deletion(person_record_id: str, now: dt.datetime) -> PersonRecord:
    """The record that withdraws one published earlier: expired, and nothing else about the person
    (PFIF 1.4: an expired record keeps only its id and dates; the finder deletes its copy and notes)."""
    stamp = utc(now)
    return PersonRecord(person_record_id=person_record_id, source_date=stamp, full_name="", entry_date=stamp,
                        expiry_date=utc(now - dt.timedelta(seconds=1)))


def utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _append(parent: ET.Element, name: str, value: str) -> None:
    if value:
        ET.SubElement(parent, _Q + name).text = value


def write(persons: list[PersonRecord]) -> bytes:
    """A PFIF 1.4 document, notes nested in their person."""
    ET.register_namespace("pfif", NS)
    root = ET.Element(_Q + "pfif")
    for p in persons:
        el = ET.SubElement(root, _Q + "person")
        values = {"person_record_id": p.person_record_id, "entry_date": p.entry_date, "expiry_date": p.expiry_date,
                  "author_name": p.author_name, "source_name": p.source_name, "source_date": p.source_date,
                  "full_name": p.full_name, "given_name": p.given_name, "family_name": p.family_name,
                  "sex": p.sex, "date_of_birth": p.date_of_birth, "home_city": p.home_city}
        for name in PERSON_FIELDS:
            _append(el, name, values.get(name, ""))
        for n in p.notes:
            note = ET.SubElement(el, _Q + "note")
            values = {"note_record_id": n.note_record_id, "person_record_id": n.person_record_id,
                      "entry_date": n.entry_date, "author_name": n.author_name, "source_date": n.source_date,
                      "status": n.status, "last_known_location": n.last_known_location, "text": n.text}
            for name in NOTE_FIELDS:
                _append(note, name, values.get(name, ""))
    ET.indent(root)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8")


def _fields(el: ET.Element, allowed: tuple[str, ...], where: str, problems: list[str],
            nested: str | None = None) -> dict[str, str]:
    values: dict[str, str] = {}
    last = -1
    for child in el:
        if not isinstance(child.tag, str) or not child.tag.startswith(_Q):
            continue  # other namespaces are extensions PFIF allows
        name = child.tag[len(_Q):]
        if name == nested:
            continue
        if name not in allowed:
            problems.append(f"{where}: <{name}> is not a PFIF 1.4 field here")
            continue
        index = allowed.index(name)
        if name in values:
            problems.append(f"{where}: <{name}> appears twice")
        elif index < last:
            problems.append(f"{where}: <{name}> is out of the order PFIF 1.4 requires")
        last = max(last, index)
        text = (child.text or "").strip()
        if len(text) > MAX_FIELD:
            problems.append(f"{where}: <{name}> is longer than {MAX_FIELD} characters")
        values[name] = text
    return values


def _check_common(values: dict[str, str], required: tuple[str, ...], where: str, problems: list[str]) -> None:
    for name in required:
        if not values.get(name):
            problems.append(f"{where}: <{name}> is required")
    for name in ("entry_date", "expiry_date", "source_date"):
        if values.get(name) and not _UTC_RE.match(values[name]):
            problems.append(f"{where}: <{name}> must be a UTC time like 2026-11-25T09:30:00Z")
    for name in ("person_record_id", "note_record_id", "linked_person_record_id"):
        if values.get(name) and not _RECORD_ID_RE.match(values[name]):
            problems.append(f"{where}: <{name}> must be domain/id, for example example.org/person.1")


def _note(el: ET.Element, where: str, problems: list[str], person_id: str | None) -> Note:
    values = _fields(el, NOTE_FIELDS, where, problems)
    _check_common(values, NOTE_REQUIRED, where, problems)
    pid = values.get("person_record_id") or person_id or ""
    if not pid:
        problems.append(f"{where}: <person_record_id> is required for a note outside a person")
    elif person_id and values.get("person_record_id") and values["person_record_id"] != person_id:
        problems.append(f"{where}: the note's person_record_id is not the person it sits in")
    if values.get("status") and values["status"] not in NOTE_STATUSES:
        problems.append(f"{where}: <status> must be one of {', '.join(NOTE_STATUSES)}")
    if values.get("author_made_contact") and values["author_made_contact"] not in ("true", "false"):
        problems.append(f"{where}: <author_made_contact> must be true or false")
    return Note(values.get("note_record_id", ""), pid, values.get("author_name", ""), values.get("source_date", ""),
                values.get("text", ""), values.get("status", ""), values.get("last_known_location", ""),
                values.get("entry_date", ""))


def read(document: bytes) -> list[PersonRecord]:
    """Every person (with their notes) of a PFIF 1.4 document.  Raises InvalidPFIF with all reasons."""
    # The parser itself refuses them (defusedxml): a byte search misses a UTF-16 document's.
    refused = InvalidPFIF(["document type declarations and entities are not accepted"])
    try:
        root = defused.fromstring(document, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise refused from None
    except ET.ParseError as exc:
        raise InvalidPFIF([f"not well-formed XML: {exc}"]) from None
    except ValueError as exc:   # expat reads no multi-byte encoding but UTF-8 and UTF-16 (Shift_JIS, EUC-JP)
        raise InvalidPFIF([f"the document's encoding cannot be read ({exc}): save it as UTF-8"]) from None
    if root.tag != _Q + "pfif":
        raise InvalidPFIF([f"the root element must be <pfif> in the PFIF 1.4 namespace {NS}, not {root.tag}"])
    problems: list[str] = []
    persons: dict[str, PersonRecord] = {}
    loose: list[Note] = []
    for i, el in enumerate(root, start=1):
        if el.tag == _Q + "person":
            where = f"person {i}"
            values = _fields(el, PERSON_FIELDS, where, problems, nested="note")
            # A record already expired when it was written is a deletion: its id and dates are all it carries.
            expired = bool(values.get("expiry_date")) and values["expiry_date"] <= values.get("source_date", "")
            _check_common(values, PERSON_REQUIRED[:2] if expired else PERSON_REQUIRED, where, problems)
            if values.get("sex") and values["sex"] not in SEXES:
                problems.append(f"{where}: <sex> must be female, male or other")
            if values.get("date_of_birth") and not _BIRTH_RE.match(values["date_of_birth"]):
                problems.append(f"{where}: <date_of_birth> must be YYYY, YYYY-MM or YYYY-MM-DD")
            if values.get("age") and not _AGE_RE.match(values["age"]):
                problems.append(f"{where}: <age> must be a number or a range like 30-40")
            record = PersonRecord(**{k: values.get(k, "") for k in (
                "person_record_id", "source_date", "full_name", "given_name", "family_name", "sex",
                "date_of_birth", "home_city", "source_name", "author_name", "entry_date", "expiry_date")})
            record.notes = [_note(n, f"{where}, note {j}", problems, record.person_record_id)
                            for j, n in enumerate(el.findall(_Q + "note"), start=1)]
            if record.person_record_id in persons:
                problems.append(f"{where}: person_record_id {record.person_record_id} appears twice")
            persons[record.person_record_id] = record
        elif el.tag == _Q + "note":
            loose.append(_note(el, f"note {i}", problems, None))
        elif isinstance(el.tag, str) and el.tag.startswith(_Q):
            problems.append(f"element {i}: <{el.tag[len(_Q):]}> is not a PFIF 1.4 record")
    for note in loose:
        if note.person_record_id in persons:
            persons[note.person_record_id].notes.append(note)
        else:
            # A note about a person held elsewhere: kept under a bare record of that id.
            persons.setdefault(note.person_record_id, PersonRecord(note.person_record_id, note.source_date, ""))
            persons[note.person_record_id].notes.append(note)
    if problems:
        raise InvalidPFIF(problems)
    return list(persons.values())
