"""Apply one batch of kiosk events to HQ's picture: atomically, idempotently, incrementally.

This is the service layer of the sync endpoint and of `evac bench ingest`.  It
runs on a plain SQLAlchemy Connection (no Flask) inside the caller's
transaction: either the whole batch is applied or nothing of it is.

Per person only what the batch touches is read and written; occupancy moves by
the difference between each touched person's slot before and after.  A
location event that arrives older than what HQ already folded for that person
(a kiosk that was offline for a day) triggers a re-fold of that one person's
location events, never a global recomputation.
"""
from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, case, func, select, text, update

from evac.events import (
    CHECKIN, CLOCK_CORRECTION, CONSENT, CORRECTION, DETAILS, IC_LINK, LOCATION_TYPES, NEEDS, SELF_REPORT, SHELTER_STATUS, STATUS,
    TRANSFER, WITHDRAWN, Event, InvalidEvent, UnknownEventType, canonical_json, event_json, order_key, parse_event,
    stored_event,
)
from evac.corrections import SELF_REPORT_DEVICE, Said, current_identity, identity_outranks, moved_on
from evac.identity import person_key, prereg_key
from evac.hlc import pack
from evac.individual_number import without_individual_numbers
from evac.whereabouts import CHECKED_IN, SELF_REPORTED, Whereabouts, fold, step

from .db import driver_rows, param_mark
from . import left_elsewhere
from .identity_index import identity_index
from .left_elsewhere import left_elsewhere_t
from .models import (
    EventRecord, IcLink, Inquiry, Kiosk, KioskCorrection, Person, PersonHousehold, PersonKey, Shelter,
)

MAX_BATCH_EVENTS = 1000

events_t = EventRecord.__table__
persons_t = Person.__table__
shelters_t = Shelter.__table__
kiosks_t = Kiosk.__table__
ic_links_t = IcLink.__table__
person_keys_t = PersonKey.__table__
inquiries_t = Inquiry.__table__
person_households_t = PersonHousehold.__table__
kiosk_corrections_t = KioskCorrection.__table__

_SLOT_COLUMN = {"in_shelter": "occupancy", "at_home": "at_home", "in_car": "in_car"}
SELF = "SELF"   # the counter key of people safe outside the shelters, by their own report
AT_HQ = "HQ"    # the shelter field of what people report to HQ themselves
RESERVED_DEVICE_IDS = frozenset({SELF_REPORT_DEVICE})   # no kiosk may write into HQ's own streams
_PERSON_COLS = [c.name for c in persons_t.columns]
_EVENT_COLS = [c.name for c in events_t.columns]
_person_row = itemgetter(*_PERSON_COLS)
_PERSON_SELECT = ", ".join(_PERSON_COLS)


def insert_many(conn: Connection, table: str, columns, rows, upsert_key: str | None = None) -> None:
    """A plain driver-level executemany: the per-row cost of the ORM or even Core
    parameter processing is most of HQ's ingest time otherwise.  Table and
    column names are this module's own, never input."""
    mark = param_mark(conn)
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))})"
    if upsert_key:
        sql += f" ON CONFLICT ({upsert_key}) DO UPDATE SET " + ", ".join(
            f"{c} = excluded.{c}" for c in columns if c != upsert_key)
    conn.exec_driver_sql(sql, rows)


class BatchRejected(Exception):
    """Nothing of the batch was applied.  `code` is stable for programs, `message` is for people."""

    def __init__(self, status: int, code: str, message: str, **details: Any):
        # 番号法 §20: a message repeats what the kiosk sent (an unknown shelter id, a device id); it is kept
        # (kiosks.refused_message) and the kiosk keeps it too.
        message = without_individual_numbers(message)
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details

    def to_json(self) -> dict[str, Any]:
        return {"error": self.code, "message": self.message, **self.details}


@dataclass
class BatchResult:
    acked_seq: int
    applied: int
    duplicates: int


@lru_cache(maxsize=65536)
def _basic_key(name: str, birth_date: str, address: str) -> str:
    # A person's events come several to a batch and households share an
    # address: normalising each distinct identity once is most of the saving.
    return person_key(name, birth_date, address)


def identity_keys(ev: Event, moved: dict[str, str] | None = None) -> tuple[str, ...]:
    """The keys that name whom `ev` is about.  `moved`: the corrections of the kiosk that wrote it
    (kiosk_corrections): what it still says under an identity its staff corrected away is the
    corrected person's.  A correction is about the corrected identity alone: its old key stays whoever
    other kiosks' records name by it (_refile moves the correcting kiosk's own records)."""
    p = ev.person
    if ev.type == CORRECTION:
        new = ev.data["person"]
        key = _basic_key(new["name"], new["birth_date"], new["address"])
    else:
        key = _basic_key(p.name, p.birth_date, p.address)
    if moved:   # (a correction's own identity too, once its kiosk corrected that identity in turn or back)
        key = moved.get(key, key)
    return (key, prereg_key(p.prereg_id)) if p.prereg_id else (key,)


def said_key(ev: Event, moved: dict[str, str]) -> str:
    """The key of the identity `ev` states, as the kiosk that wrote it means it now."""
    p = ev.person
    key = _basic_key(p.name, p.birth_date, p.address)
    return moved.get(key, key)


def kiosk_corrections(conn: Connection, device_id: str) -> dict[str, str]:
    return dict(conn.execute(select(kiosk_corrections_t.c.old_key, kiosk_corrections_t.c.new_key)
                             .where(kiosk_corrections_t.c.device_id == device_id)).all())


class _Batch:
    """In-memory working set of one batch; flushed to the database at the end."""

    def __init__(self, conn: Connection, kiosk_shelter: str | None = None):
        self.conn = conn
        self.kiosk_shelter = kiosk_shelter   # where the sending kiosk is enrolled (None: HQ's own stream)
        self.index = identity_index(conn)
        self.key_to_pid: dict[str, int] = {}   # this batch's view: the index plus what it changed
        self.new_keys: dict[str, int] = {}
        self.persons: dict[int, dict[str, Any]] = {}   # touched persons, current values
        self.loaded: dict[int, tuple] = {}   # known persons' rows as read, to write back only what changed
        self.slot_before: dict[int, tuple[str, str] | None] = {}
        self.new_pids: set[int] = set()
        self.dirty: set[int] = set()
        self.refold: set[int] = set()
        self.reidentify: set[int] = set()   # corrected persons: identity re-derived from all they said
        self.widening: list[tuple[int, str, Event]] = []   # kiosk consents widening disclosure: _place_consents
        self.reconsent: set[int] = set()   # persons whose consent is decided again from all they said
        self.merged_into: dict[int, int] = {}
        self.ic_links: dict[str, tuple[str, int]] = {}   # token -> (order, person) of the batch's latest link
        self.households: set[tuple[int, str]] = set()   # (person, household) for person_households
        # Each kiosk's corrections (kiosk_corrections), as read and as the batch leaves them; and the
        # persons a correction's own kiosk filed records under before it (device, person): _refile.
        self.moved: dict[str, dict[str, str]] = {}
        self.moved_read: dict[str, dict[str, str]] = {}
        self.refile: list[tuple[str, int]] = []
        self.corrected_in_batch: set[str] = set()   # kiosks whose corrections the batch changed
        self.emptied: set[int] = set()   # persons left with no record by _refile: their row goes
        self.located: set[int] = set()   # persons with a location record in the batch (left_elsewhere.note)
        # Never an id a merge freed: inquiries and staff may still name it (person_keys is append-only).
        self.next_pid = max(conn.execute(select(func.max(persons_t.c.id))).scalar() or 0,
                            conn.execute(select(func.max(person_keys_t.c.person_id))).scalar() or 0) + 1

    def prefetch(self, keys: set[str]) -> None:
        """Load, in a few queries, everyone the batch mentions that HQ already knows."""
        pid_of = self.index.pid_of
        known = {k: pid_of[k] for k in keys if k in pid_of}
        self.key_to_pid.update(known)
        self.load(set(known.values()))

    def load(self, pids) -> None:
        """Read these persons into the batch (those it has not read yet)."""
        pids = sorted(p for p in set(pids) if p not in self.persons)
        mark = param_mark(self.conn)
        for i in range(0, len(pids), 500):
            chunk = pids[i:i + 500]
            for row in driver_rows(
                    self.conn, f"SELECT {_PERSON_SELECT} FROM persons WHERE id IN ({', '.join([mark] * len(chunk))})",
                    tuple(chunk)):
                person = dict(zip(_PERSON_COLS, row))
                self.persons[row[0]] = person
                self.loaded[row[0]] = row
                self.slot_before[row[0]] = _slot(person)

    def corrections_of(self, devices: set[str]) -> dict[str, dict[str, str]]:
        """These kiosks' corrections (kiosk_corrections), read once per batch."""
        for device in devices - set(self.moved):
            self.moved[device] = kiosk_corrections(self.conn, device)
            self.moved_read[device] = dict(self.moved[device])
        return self.moved

    def correct(self, ev: Event) -> None:
        """A correction: its kiosk now means the new identity by the old one, and its records filed
        before under the old one's person are to move (_refile)."""
        moved = self.moved.setdefault(ev.kiosk_id, {})
        self.corrected_in_batch.add(ev.kiosk_id)
        new = ev.data["person"]
        after = moved_on(moved, said_key(ev, moved), _basic_key(new["name"], new["birth_date"], new["address"]))
        self.moved[ev.kiosk_id] = after
        # Every identity the kiosk now means otherwise (the corrected one; one corrected back, good again):
        # its records are filed under whom it meant before.
        for key in moved.keys() | after.keys():
            was = moved.get(key, key)
            if was != after.get(key, key):
                owner = self.key_to_pid.get(was, self.index.pid_of.get(was))
                if owner is not None:
                    self.refile.append((ev.kiosk_id, owner))

    def resolve(self, pid: int) -> int:
        while pid in self.merged_into:
            pid = self.merged_into[pid]
        return pid

    def person_for(self, ev: Event, keys: tuple[str, ...]) -> int:
        key_to_pid = self.key_to_pid
        if len(keys) == 1:  # the common cases: someone HQ knows, or someone new
            pid = key_to_pid.get(keys[0])
            if pid is not None:
                pid = self.resolve(pid)
                if pid not in self.persons:
                    self._revive(pid, ev)
                return pid
            pids = []
        else:
            pids = sorted({self.resolve(key_to_pid[k]) for k in keys if k in key_to_pid})
            for pid in pids:
                if pid not in self.persons:
                    self._revive(pid, ev)
        if not pids:
            pid = self.next_pid
            self.next_pid += 1
            self._revive(pid, ev)
        else:
            pid = pids[0]
            for other in pids[1:]:
                self._merge(pid, other)
        for k in keys:
            if self.key_to_pid.get(k) != pid:
                self.key_to_pid[k] = pid
                self.new_keys[k] = pid
        return pid

    def _revive(self, pid: int, ev: Event) -> None:
        """A person record with nothing yet: someone new, or an identity whose records a correction
        moved to the corrected person (_refile) that another kiosk's record names again."""
        p = ev.person
        self.persons[pid] = {
            "id": pid, "name": p.name, "name_kana": "", "birth_date": p.birth_date,
            "sex": p.sex, "address": "", "household_id": "", "info_order": "",
            "kana_order": "", "address_order": "", "household_order": "",
            "state": "unknown", "shelter_id": None, "stay_type": None, "loc_order": "",
            "needs": "", "needs_order": "", "status": "", "status_note": "", "status_order": "",
            "consent": "none", "family_code": "", "consent_order": "", "never_disclose": False, "contact": "",
            "contact_order": "", "consent_source": "kiosk", "identity_corrected": False,
            "consent_elsewhere": False,
        }
        self.slot_before[pid] = None
        self.new_pids.add(pid)

    def _merge(self, survivor: int, other: int) -> None:
        """One person seen under two identities (a pre-registration id and a card, say)."""
        a, b = self.persons[survivor], self.persons[other]
        if a["household_id"] != b["household_id"] and a["household_id"] and b["household_id"]:
            # One record keeps one household: person_households keeps both (their former ones move over).
            self.households.update(((survivor, a["household_id"]), (survivor, b["household_id"])))
        for prefix, fields in _FIELD_GROUPS:
            if identity_outranks(b[f"{prefix}_order"], a[f"{prefix}_order"]):
                for f in fields + (f"{prefix}_order",):
                    a[f] = b[f]
        if (consent_rank(b["consent_source"], b["consent_order"])
                > consent_rank(a["consent_source"], a["consent_order"])):
            for f in ("consent", "family_code", "consent_source", "consent_order"):
                a[f] = b[f]
        a["loc_order"] = max(a["loc_order"], b["loc_order"])
        a["never_disclose"] = a["never_disclose"] or b["never_disclose"]
        if a["consent_elsewhere"] or b["consent_elsewhere"] or a["consent_order"] or b["consent_order"]:
            # One record's whereabouts are now the other's too: where they were when a consent was given.
            self.reconsent.add(survivor)
        if a["identity_corrected"] or b["identity_corrected"]:
            a["identity_corrected"] = True
            self.reidentify.add(survivor)
        self.merged_into[other] = survivor
        self.refold.add(survivor)
        self.dirty.add(survivor)

    def apply(self, ev: Event, pid: int, order: str) -> None:
        person = self.persons[pid]
        self.dirty.add(pid)
        household = ev.household_id
        if household and household != person["household_id"] and person["household_id"]:
            # Rare: a second household (a new one, or an older one arriving late).  persons.household_id
            # holds one; person_households keeps both, whichever stays, so protection through either stays.
            self.households.update(((pid, household), (pid, person["household_id"])))
        if ev.type == CORRECTION or person["identity_corrected"]:
            # Whether this is news about their name depends on every correction, including ones
            # still to arrive from other kiosks: decided from all they said (_reidentify).
            person["identity_corrected"] = True
            self.reidentify.add(pid)
        else:
            # Name, birth date and sex of the latest event; kana, address and household of the latest
            # event that gave one, each by its own order: the same in any order of arrival.
            # What a kiosk recorded beats what the public self-report page says, whatever their order
            # (identity_outranks).  A kiosk's event that is simply later wins at once (the common case).
            p = ev.person
            at_kiosk = ev.kiosk_id != SELF_REPORT_DEVICE
            if at_kiosk and order > person["info_order"] or identity_outranks(order, person["info_order"]):
                person.update(name=p.name, birth_date=p.birth_date, sex=p.sex, info_order=order)
            if p.name_kana and (at_kiosk and order > person["kana_order"]
                                or identity_outranks(order, person["kana_order"])):
                person["name_kana"], person["kana_order"] = p.name_kana, order
            if p.address and (at_kiosk and order > person["address_order"]
                              or identity_outranks(order, person["address_order"])):
                person["address"], person["address_order"] = p.address, order
            if household and order > person["household_order"]:
                person["household_id"], person["household_order"] = household, order
        if ev.type in LOCATION_TYPES:
            self.located.add(pid)
            if order > person["loc_order"] and pid not in self.refold:
                where = step(_whereabouts(person), ev.type, ev.shelter_id, ev.data)
                person.update(state=where.state, shelter_id=where.shelter_id, stay_type=where.stay_type)
            else:
                self.refold.add(pid)
            person["loc_order"] = max(order, person["loc_order"])
            if person["consent_elsewhere"] or order < person["consent_order"]:
                # Recorded where a kiosk consent came from, or before a consent taken: where they were then?
                self.reconsent.add(pid)
        elif ev.type in FIELD_TYPES:
            apply_fields(person, ev, order)
        elif ev.type == CONSENT:
            if ev.kiosk_id != SELF_REPORT_DEVICE and widens(ev):
                # In person only from a kiosk of a shelter where they have been: known once the batch's
                # whereabouts are (its check-in may come after the consent).
                self.widening.append((pid, order, ev))
            else:
                _take_consent(person, ev, order, consent_source(ev, where_they_were=True))
            if ev.data["never_disclose"]:
                person["never_disclose"] = True
        elif ev.type == IC_LINK:
            token = ev.data["token"]
            if token not in self.ic_links or order > self.ic_links[token][0]:
                self.ic_links[token] = (order, pid)


# Records that set a person's needs, status or phone: each field by its own latest order.  (Consent has
# its own rules: _take_consent, _place_consents, _reconsent.)
FIELD_TYPES = (NEEDS, STATUS, DETAILS)
_FIELD_DEFAULTS = {"needs": "", "needs_order": "", "status": "", "status_note": "", "status_order": "",
                   "contact": "", "contact_order": ""}


def apply_fields(person: dict[str, Any], ev: Event, order: str) -> None:
    """One of FIELD_TYPES on a person: the same outcome in any order of arrival."""
    if ev.type == NEEDS and order > person["needs_order"]:
        person.update(needs=" ".join(ev.data["needs"]), needs_order=order)
    elif ev.type == STATUS and order > person["status_order"]:
        person.update(status=ev.data["status"], status_note=ev.data["note"], status_order=order)
    elif ev.type == DETAILS:
        if "contact_phone" in ev.data and order > person["contact_order"]:
            person.update(contact=ev.data["contact_phone"], contact_order=order)


# Columns a merge of two persons takes from whichever side's order (the group's prefix + "_order") is later.
_FIELD_GROUPS = (("info", ("name", "birth_date", "sex")), ("kana", ("name_kana",)), ("address", ("address",)),
                 ("household", ("household_id",)), ("needs", ("needs",)), ("status", ("status", "status_note")),
                 ("contact", ("contact",)))


def widens(ev: Event) -> bool:
    """A consent that lets inquirers be told more than nothing.  "none" only narrows: any kiosk may say it."""
    return ev.data["consent"] != "none"


def consent_source(ev: Event, where_they_were: bool) -> str:
    """Where a consent came from: "self" (the public self-report page), "qr" (a kiosk's screen, for
    someone identified only by a pre-registration QR: the person's pre-registration id is on the event),
    "kiosk" (a My Number card, an IC card, or staff: in person), or "away": a consent widening disclosure
    from a kiosk that is not `where_they_were` (enrolled at a shelter where the person has a location
    event, from any kiosk).  Each kiosk's token is on its carried files: a copy must not let anyone
    disclose anyone in the city (災対法 §86-15).  An away consent is kept, and staff see it, but it
    counts as a self-report's does (models.UNCHECKED_CONSENT_SOURCES)."""
    if ev.kiosk_id == SELF_REPORT_DEVICE:
        return "self"
    if not where_they_were and widens(ev):
        return "away"
    return "qr" if ev.person is not None and ev.person.prereg_id else "kiosk"


def _take_consent(person: dict[str, Any], ev: Event, order: str, source: str) -> None:
    if consent_rank(source, order) > consent_rank(person["consent_source"], person["consent_order"]):
        person.update(consent=ev.data["consent"], family_code=ev.data.get("family_code", ""), consent_order=order,
                      consent_source=source)


CONSENT_SOURCE_RANK = {"self": 1, "away": 1, "qr": 2, "kiosk": 3}


def consent_rank(source: str, order: str) -> tuple[int, str]:
    """Which consent stands, whatever order they arrive in: one given in person at a kiosk (card, IC
    card, staff) beats one given with a pre-registration QR, which beats one from the public self-report
    page or from a kiosk away from where the person has been; within one rank the latest wins.  HQ's
    public pre-registration signs whatever identity anyone types, so a QR proves no one (災対法 §86-15):
    its consent never overrides the person's own."""
    if not order:
        return (0, "")   # no consent given yet
    return (CONSENT_SOURCE_RANK.get(source, 1), order)


def _slot(person: dict[str, Any]) -> tuple[str, str] | None:
    """Which counter a person is in: a shelter's, or (SELF, where) for a self-report."""
    if person["state"] == CHECKED_IN:
        return (person["shelter_id"], person["stay_type"])
    if person["state"] == SELF_REPORTED:
        return (SELF, person["stay_type"])
    return None


def _whereabouts(person: dict[str, Any]) -> Whereabouts:
    return Whereabouts(person["state"], person["shelter_id"], person["stay_type"])


def _parse_batch(raw_events: Any) -> list[Event]:
    if not isinstance(raw_events, list):
        raise BatchRejected(400, "malformed_batch", "'events' must be a list of events")
    if len(raw_events) > MAX_BATCH_EVENTS:
        raise BatchRejected(413, "batch_too_large",
                            f"a batch may hold at most {MAX_BATCH_EVENTS} events, this one has {len(raw_events)}")
    events = []
    for i, raw in enumerate(raw_events):
        try:
            events.append(parse_event(raw))
        except InvalidEvent as exc:
            # unknown_type: the kiosk's software is likely newer than HQ's; it keeps the record queued
            # for HQ's update instead of having it withdrawn (kiosk.store.hq_lacks_type).
            raise BatchRejected(422, "invalid_event", f"event {i + 1} of the batch: {exc}", index=i,
                                **({"unknown_type": True} if isinstance(exc, UnknownEventType) else {})) from None
    return events


def _lock_kiosk(conn: Connection, kiosk_id: str, heard: bool = True, last_seq: int | None = None) -> dict[str, Any]:
    # Writing first takes SQLite's write lock before anything is read, and the
    # advisory lock serialises batches on PostgreSQL: two kiosks checking in
    # the same person at once must not create two persons.  `heard`: the kiosk itself
    # is speaking (a sync), not a file carried from it, which says nothing of its network now.
    lock_merge(conn)
    conn.execute(update(kiosks_t).where(kiosks_t.c.id == kiosk_id)
                 .values(last_sync_at=dt.datetime.now(dt.timezone.utc) if heard else kiosks_t.c.last_sync_at,
                         **_wrote(last_seq)))
    row = conn.execute(select(kiosks_t).where(kiosks_t.c.id == kiosk_id)).first()
    if row is None:
        raise BatchRejected(403, "unknown_kiosk", "this kiosk is not enrolled at HQ")
    return dict(row._mapping)


def _check_sequence(conn: Connection, kiosk: dict, events: list[Event]) -> tuple[list[Event], int]:
    """Drop what HQ already holds (after checking it is the same), refuse gaps."""
    device = kiosk["device_id"]
    for ev in events:
        if ev.kiosk_id != device:
            raise BatchRejected(409, "wrong_device",
                                f"event {ev.seq} was written by kiosk database {ev.kiosk_id}, "
                                f"but this token belongs to kiosk database {device}")
    for prev, ev in zip(events, events[1:]):
        if ev.seq != prev.seq + 1:
            raise BatchRejected(409, "sequence_gap",
                                f"the batch is not consecutive: event {prev.seq} is followed by {ev.seq}",
                                expected_seq=prev.seq + 1)
    high = kiosk["high_seq"]
    seen = [ev for ev in events if ev.seq <= high]
    fresh = [ev for ev in events if ev.seq > high]
    if seen:
        stored = {seq: (etype, body) for seq, etype, body in conn.execute(
            select(events_t.c.seq, events_t.c.type, events_t.c.body)
            .where(events_t.c.device_id == device, events_t.c.seq.between(seen[0].seq, seen[-1].seq)))}
        for ev in seen:
            etype, body = stored.get(ev.seq, (None, None))
            if (ev.type == WITHDRAWN or etype == WITHDRAWN) and _written_at(body) == ev.hlc:
                # The lead withdrew a record HQ had already taken (from a file carried by hand, or after HQ
                # was fixed): HQ keeps the record, and the placeholder changes nothing.  Or the other way
                # round: a file carried before the withdrawal still holds the record HQ has as withdrawn.
                continue
            if body != canonical_json(ev.to_wire()) and not _same_record(body, ev):
                raise BatchRejected(409, "conflicting_event",
                                    f"event {ev.seq} differs from the event {ev.seq} HQ already holds "
                                    "for this kiosk; a kiosk's events can never change", seq=ev.seq)
    if fresh and fresh[0].seq != high + 1:
        raise BatchRejected(409, "sequence_gap",
                            f"HQ holds events up to {high} from this kiosk; the batch starts at {fresh[0].seq}",
                            expected_seq=high + 1, acked_seq=high)
    return fresh, len(seen)


def _written_at(body: str) -> int | None:
    """The record's own timestamp, as the kiosk wrote it (the events table's hlc column is HQ's order:
    apply_events)."""
    try:
        return json.loads(body)["hlc"]
    except (ValueError, TypeError, KeyError):
        return None


def _same_record(body: str, ev: Event) -> bool:
    """A record HQ holds as an older release wrote it (a consent with "family_code": "" that today's
    parser drops): the same record when read as today's HQ reads it.  Only for a resend, whose
    answer was lost (HQ stopped for its upgrade just after committing), never to let a record change."""
    try:
        return canonical_json(parse_event(json.loads(body)).to_wire()) == canonical_json(ev.to_wire())
    except (InvalidEvent, ValueError, TypeError):
        return False


def _check_shelters(conn: Connection, events: list[Event], first_index: int = 0) -> None:
    """Refuse a batch naming a shelter HQ does not know; `index` (counted from `first_index`, the place
    of events[0] in the batch as sent) is the first event naming one, so the kiosk knows which record."""
    wanted = {sid for ev in events for sid in _shelters_named(ev)}
    known = set(conn.execute(select(shelters_t.c.id).where(shelters_t.c.id.in_(wanted))).scalars())
    unknown = wanted - known
    if unknown:
        first = next(i for i, ev in enumerate(events) if not unknown.isdisjoint(_shelters_named(ev)))
        raise BatchRejected(422, "unknown_shelter", f"event {first_index + first + 1} of the batch: unknown shelter "
                            f"id(s): {', '.join(sorted(unknown))}", index=first_index + first)


def _shelters_named(ev: Event) -> tuple[str, ...]:
    # A self-report, and the consent given with it, is made at HQ, not at a shelter.  A withdrawn
    # record may name a shelter HQ never knew: that may be why it was withdrawn.
    if ev.type == WITHDRAWN or (ev.shelter_id == AT_HQ and ev.type in (SELF_REPORT, CONSENT)):
        named: tuple[str, ...] = ()
    else:
        named = (ev.shelter_id,)
    return named + (ev.data["to_shelter_id"],) if ev.type == TRANSFER else named


def _wrote(last_seq: int | None) -> dict[str, Any]:
    """kiosks.last_seq from what the kiosk says it has written (its batches may come out of order: the
    highest said); nothing from a kiosk that does not say it."""
    if last_seq is None:
        return {}
    return {"last_seq": case((kiosks_t.c.last_seq.is_(None), last_seq), (kiosks_t.c.last_seq < last_seq, last_seq),
                             else_=kiosks_t.c.last_seq)}


def apply_batch(conn: Connection, kiosk_id: str, device_id: str, raw_events: Any, by_hand: bool = False,
                last_seq: int | None = None, received: int | None = None) -> BatchResult:
    """Apply a kiosk's batch inside the caller's transaction.  Raises BatchRejected, applying nothing.
    `by_hand`: the batch comes from a file carried from the kiosk, not from the kiosk over the network.
    `last_seq`: the highest record the kiosk has written, as it says (the dashboard shows how many HQ
    has not received yet).  `received`: HQ's timestamp now (apply_events)."""
    if device_id in RESERVED_DEVICE_IDS:
        raise BatchRejected(422, "reserved_device_id",
                            f"'{device_id}' is HQ's own event stream; a kiosk database cannot use this id "
                            "(give the kiosk a new database, or another id)")
    events = _parse_batch(raw_events)
    kiosk = _lock_kiosk(conn, kiosk_id, heard=not by_hand, last_seq=last_seq)
    if kiosk["device_id"] is None:
        taken = conn.execute(select(kiosks_t.c.id, kiosks_t.c.retired_at, kiosks_t.c.high_seq,
                                    kiosks_t.c.last_event_hlc).where(kiosks_t.c.device_id == device_id)).first()
        if taken and taken.retired_at is None:
            raise BatchRejected(409, "device_taken", "this kiosk database is already enrolled under another token")
        carried = {}
        if taken:
            # A kiosk HQ retired (lost, then found), enrolled again: its database, and what HQ holds of it,
            # go with the new token; the retired token stays refused.
            conn.execute(update(kiosks_t).where(kiosks_t.c.id == taken.id).values(device_id=None))
            carried = {"high_seq": taken.high_seq, "last_event_hlc": taken.last_event_hlc}
        conn.execute(update(kiosks_t).where(kiosks_t.c.id == kiosk_id).values(device_id=device_id, **carried))
        kiosk.update(device_id=device_id, **carried)
    elif kiosk["device_id"] != device_id:
        raise BatchRejected(409, "wrong_device", "this token belongs to another kiosk database")
    fresh, duplicates = _check_sequence(conn, kiosk, events)
    if not fresh:
        if kiosk["refused_code"] is not None:
            conn.execute(update(kiosks_t).where(kiosks_t.c.id == kiosk_id).values(**_NOT_REFUSED))
        return BatchResult(kiosk["high_seq"], 0, duplicates)
    if received is not None and kiosk["high_seq"]:
        # Never before this kiosk's last record as HQ ordered it: HQ's clock restarts with HQ, may be set
        # back, and a carried file is read by the wall clock while a sync was ordered by HQ's timestamp,
        # which runs ahead of it.  One kiosk's records keep their order (ties go by seq).
        last = conn.execute(select(events_t.c.hlc).where(events_t.c.device_id == device_id,
                                                         events_t.c.seq == kiosk["high_seq"])).scalar()
        received = max(received, last or 0)
    apply_events(conn, fresh, first_index=duplicates, received=received, kiosk_shelter=kiosk["shelter_id"])
    withdrawn = sum(ev.type == WITHDRAWN for ev in fresh)
    checks_in_at = next((ev.shelter_id for ev in reversed(fresh) if ev.type == CHECKIN), None)
    conn.execute(update(kiosks_t).where(kiosks_t.c.id == kiosk_id).values(
        high_seq=fresh[-1].seq, last_event_hlc=max(kiosk["last_event_hlc"], max(ev.hlc for ev in fresh)),
        **({"withdrawn": kiosks_t.c.withdrawn + withdrawn} if withdrawn else {}),
        **({"checks_in_at": checks_in_at} if checks_in_at else {}),
        **(_NOT_REFUSED if kiosk["refused_code"] is not None else {})))
    return BatchResult(fresh[-1].seq, len(fresh), duplicates)


HQ_OUTDATED = "hq_outdated"   # a record of a type HQ does not know: HQ's software is older than the kiosk's
_NOT_REFUSED = {"refused_code": None, "refused_seq": None, "refused_message": None, "refused_at": None}
# Refusals a kiosk cannot get past by itself (its lead must withdraw a record, or its database was
# restored): HQ's staff are shown them.  A gap or an oversized batch the kiosk mends on its own.
STUCK_REFUSALS = frozenset({"invalid_event", "unknown_shelter", "conflicting_event", "wrong_device",
                            "device_taken", "reserved_device_id"})
FOREIGN_DATABASE = frozenset({"wrong_device", "device_taken", "reserved_device_id"})


def note_refusal(conn: Connection, kiosk_id: str, exc: BatchRejected, raw_events: Any,
                 last_seq: int | None = None) -> None:
    """Keep, in its own transaction after the refused one rolled back, that the kiosk spoke and what
    stops it: otherwise HQ shows it as never heard while its shelter's records wait (and how many).
    A database that is not this kiosk's (another's device id under its token) says nothing of this kiosk:
    its count of records would show records "still on their way" that this kiosk never wrote."""
    now = dt.datetime.now(dt.timezone.utc)
    values: dict[str, Any] = {} if exc.code in FOREIGN_DATABASE else {"last_sync_at": now, **_wrote(last_seq)}
    if exc.code in STUCK_REFUSALS:
        seq = exc.details.get("seq")
        index = exc.details.get("index")
        if seq is None and isinstance(index, int) and isinstance(raw_events, list) and 0 <= index < len(raw_events) \
                and isinstance(raw_events[index], dict):
            seq = raw_events[index].get("seq")
        # HQ_OUTDATED, as the kiosk calls it: HQ's dashboard must not advise withdrawing the record.
        code = HQ_OUTDATED if exc.details.get("unknown_type") else exc.code
        values.update(refused_code=code, refused_message=exc.message[:1000], refused_at=now,
                      refused_seq=seq if isinstance(seq, int) and not isinstance(seq, bool) and 0 < seq < 1 << 62
                      else None)
    if values:
        conn.execute(update(kiosks_t).where(kiosks_t.c.id == kiosk_id).values(**values))


def latest_order(conn: Connection) -> int:
    """The latest timestamp HQ has ordered a record at (the events table's hlc column)."""
    return conn.execute(select(func.max(events_t.c.hlc))).scalar() or 0


def lock_merge(conn: Connection) -> None:
    """Serialise merges on PostgreSQL (on SQLite the first write takes the database's write lock)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(862212)"))


def apply_events(conn: Connection, fresh: list[Event], first_index: int = 0, received: int | None = None,
                 kiosk_shelter: str | None = None) -> None:
    """Merge validated events HQ does not hold yet.  The caller holds the merge lock and the transaction.
    `first_index` is where fresh[0] stands in the batch as sent (for a refusal's `index`).  A withdrawn
    record is only logged: it has no person and moves no counter.

    `received`: HQ's timestamp as the batch arrives.  Nothing happened after HQ received it, so a record
    dated later (a kiosk whose clock runs fast, hours ahead, or set to JST as if it were UTC) is ordered
    at `received` instead: otherwise its check-in would outrank, for hours, the check-in at the next
    shelter of someone who moved on.  What is ordered stays causal: a record written after its kiosk
    heard of another is dated after it and received after it, so the smaller of the two is too; one
    kiosk's records stay in their order (ties go by seq).  The record keeps its own date in its body;
    the events table's hlc column holds the order.

    `kiosk_shelter`: the shelter the sending kiosk is enrolled at (kiosks.shelter_id), kept with its
    consents (consent_source); None for HQ's own stream."""
    _check_shelters(conn, fresh, first_index)
    batch = _Batch(conn, kiosk_shelter)
    moved = batch.corrections_of({ev.kiosk_id for ev in fresh if ev.person is not None})
    # (the keys of the kiosks' corrections as they stand before the batch: those the batch makes are
    # the keys of its correction records, as they say them)
    keys = [identity_keys(ev, moved.get(ev.kiosk_id)) if ev.person is not None else () for ev in fresh]
    said_in_corrections = {k for ev in fresh if ev.type == CORRECTION for k in identity_keys(ev)}
    batch.prefetch({k for ks in keys for k in ks} | said_in_corrections)
    rows = []
    opened: dict[str, str] = {}
    shelter_status: dict[str, tuple[str, bool]] = {}
    corrections: list[Event] = []
    for ev, ev_keys in zip(fresh, keys):
        hlc = ev.hlc if received is None or ev.hlc <= received else received
        order = order_key(hlc, ev.kiosk_id, ev.seq)
        pid = None
        if ev.person is not None:
            if ev.type == CORRECTION:
                batch.correct(ev)   # (its keys: as its kiosk means the corrected identity after it)
            if ev.type == CORRECTION or ev.kiosk_id in batch.corrected_in_batch:
                ev_keys = identity_keys(ev, batch.moved[ev.kiosk_id])
            pid = batch.person_for(ev, ev_keys)
            batch.apply(ev, pid, order)
            if ev.type == CHECKIN:
                opened[ev.shelter_id] = max(order, opened.get(ev.shelter_id, ""))
        elif ev.type == SHELTER_STATUS:
            prev = shelter_status.get(ev.shelter_id)
            if prev is None or order > prev[0]:
                shelter_status[ev.shelter_id] = (order, ev.data["status"])
        elif ev.type == CLOCK_CORRECTION:
            corrections.append(ev)
        rows.append((ev.kiosk_id, ev.seq, hlc, ev.type, ev.shelter_id, pid, event_json(ev),
                     kiosk_shelter if ev.type == CONSENT else None))
    if batch.merged_into:
        rows = [r[:5] + (None if r[5] is None else batch.resolve(r[5]),) + r[6:] for r in rows]
    insert_many(conn, "events", _EVENT_COLS, rows)
    _flush_merges(conn, batch)
    _refile(conn, batch)
    for sid in _correct_dates(conn, batch, corrections, received):
        opened.pop(sid, None)   # set from all their records already, at the corrected orders
        shelter_status.pop(sid, None)
    _refold(conn, batch)
    _reidentify(conn, batch)
    _place_consents(conn, batch)
    _flush_persons(conn, batch)
    _tell_kiosks_left_elsewhere(conn, batch)
    _flush_ic_links(conn, batch)
    _flush_shelters(conn, batch, opened, shelter_status)


def relink(conn: Connection) -> int:
    """Every stored record's identity keys, as evac.identity forms them now, linked to the person the
    record is filed under; two persons a key now names both become one, as a batch would join them.
    For a database keyed under an older identity form (hq_dashboard.rekey).  The caller holds the merge
    lock and the transaction.  Returns how many persons were joined into another."""
    batch = _Batch(conn)
    moved = _kiosk_corrections_again(conn)
    filed: set[tuple[int, tuple[str, ...]]] = set()   # (distinct: a person's records mostly share their keys)
    for pid, device, body in conn.execute(select(events_t.c.person_id, events_t.c.device_id, events_t.c.body)
                                          .where(events_t.c.person_id.isnot(None))):
        filed.add((pid, identity_keys(stored_event(json.loads(body)), moved.get(device))))
    filed = sorted(filed)
    batch.prefetch({k for _, keys in filed for k in keys})
    batch.load({pid for pid, _ in filed})
    for pid, keys in filed:
        pid = batch.resolve(pid)
        for key in keys:
            owner = batch.key_to_pid.get(key)
            owner = None if owner is None else batch.resolve(owner)
            if owner is not None and owner != pid:
                # The lower id stays, as when one record's keys name two persons (_Batch.person_for).
                survivor, other = min(owner, pid), max(owner, pid)
                batch._merge(survivor, other)
                pid = survivor
            if batch.key_to_pid.get(key) != pid:
                batch.key_to_pid[key] = pid
                batch.new_keys[key] = pid
    _flush_merges(conn, batch)
    _refold(conn, batch)
    _reidentify(conn, batch)
    _reconsent(conn, batch)
    _flush_persons(conn, batch)
    _tell_kiosks_left_elsewhere(conn, batch)
    _flush_shelters(conn, batch, {}, {})
    return len(batch.merged_into)


def _tell_kiosks_left_elsewhere(conn: Connection, batch: _Batch) -> None:
    """Kiosks whose record about someone the batch moved no longer says where they are (or says it again)
    are told with their next sync (hq_dashboard.left_elsewhere).  Someone new to HQ has records of this
    batch's kiosk only, which says where they are.  After the persons are written: their households'
    protection is read as the batch leaves it."""
    pids = {p for p in {batch.resolve(p) for p in batch.located | batch.refold} if p in batch.persons}
    # And those whose protection the batch changed, with their households' members, whatever else it said
    # of them: a protected person is "left" at once, not "moved" until their next move (when "left" would tell
    # when the protection came).  Members HQ holds but the batch did not read are read by note.
    pids |= _protection_changed(conn, batch)
    left_elsewhere.note(conn, batch.persons, {p for p in pids if p not in batch.new_pids
                                              and p not in batch.emptied and p not in batch.merged_into},
                        # (a merged-away person's words went to the survivor with its records: _flush_merges)
                        gone=batch.emptied - set(batch.merged_into))


_NEVER_DISCLOSE = _PERSON_COLS.index("never_disclose")
_HOUSEHOLD = _PERSON_COLS.index("household_id")


def _protection_changed(conn: Connection, batch: _Batch) -> set[int]:
    """Persons whose protection (never_disclose, or through a household: left_elsewhere._in_protected_household)
    the batch may have changed: those it made protected or unprotected, and the members of their households;
    those it put in a household (it may be a protected one), and, if they are protected, its members.  After
    the persons are written."""
    joined = {batch.resolve(p) for p, _ in batch.households}
    changed, rehomed = set(), set()
    for pid, person in batch.persons.items():
        if pid in batch.merged_into or pid in batch.emptied:
            continue
        before = batch.loaded.get(pid)
        was_protected, was_home = (bool(before[_NEVER_DISCLOSE]), before[_HOUSEHOLD]) if before else (False, "")
        if pid in joined or person["household_id"] != was_home:
            rehomed.add(pid)
        if bool(person["never_disclose"]) != was_protected or person["never_disclose"] and pid in rehomed:
            changed.add(pid)
    if not changed:
        return rehomed
    homes = {batch.persons[p]["household_id"] for p in changed} - {""}
    members = set(changed)
    ids = sorted(changed)
    for i in range(0, len(ids), 500):
        homes.update(conn.execute(select(person_households_t.c.household_id)
                                  .where(person_households_t.c.person_id.in_(ids[i:i + 500]))).scalars())
    wanted = sorted(homes)
    for i in range(0, len(wanted), 500):
        chunk = wanted[i:i + 500]
        members.update(conn.execute(select(persons_t.c.id).where(persons_t.c.household_id.in_(chunk))).scalars())
        members.update(conn.execute(select(person_households_t.c.person_id)
                                    .where(person_households_t.c.household_id.in_(chunk))).scalars())
    return rehomed | {batch.resolve(p) for p in members}


def _flush_merges(conn: Connection, batch: _Batch) -> None:
    mark = param_mark(conn)
    for other in batch.merged_into:
        survivor = batch.resolve(other)
        conn.execute(update(events_t).where(events_t.c.person_id == other).values(person_id=survivor))
        conn.execute(update(ic_links_t).where(ic_links_t.c.person_id == other).values(person_id=survivor))
        conn.execute(update(inquiries_t).where(inquiries_t.c.person_id == other).values(person_id=survivor))
        conn.execute(update(left_elsewhere_t).where(left_elsewhere_t.c.person_id == other).values(person_id=survivor))
        # The merged-away one's former households become the survivor's: protection through them stays.
        conn.exec_driver_sql(f"INSERT INTO person_households (person_id, household_id) SELECT {mark}, household_id"
                             f" FROM person_households WHERE person_id = {mark} ON CONFLICT DO NOTHING", (survivor, other))
        conn.execute(person_households_t.delete().where(person_households_t.c.person_id == other))
        # Every key the merged-away person had now names the survivor: the log gets a newer row.
        for (key,) in conn.exec_driver_sql(f"SELECT key FROM person_keys WHERE person_id = {mark}", (other,)):
            if batch.key_to_pid.get(key, batch.index.pid_of.get(key)) == other:
                batch.key_to_pid[key] = survivor
                batch.new_keys[key] = survivor
        if other not in batch.new_pids:
            conn.execute(persons_t.delete().where(persons_t.c.id == other))


def _refile(conn: Connection, batch: _Batch) -> None:
    """Move a correcting kiosk's own records, filed under the person its old identity named, to whom
    the kiosk means by them now (its corrections, followed through chains and corrections back); other
    kiosks' records stay.  The persons on both sides are folded again; one left with no record goes
    (its id stays in person_keys: another kiosk's record under that identity makes it again)."""
    _flush_kiosk_corrections(conn, batch)
    if not batch.refile:
        return
    mark = param_mark(conn)
    touched: set[int] = set()
    for device, owner in dict.fromkeys(batch.refile):
        owner = batch.resolve(owner)
        moved = batch.moved.get(device, {})
        moves: dict[int, list[int]] = {}
        links: list[tuple[str, str, int]] = []
        for seq, hlc, etype, body in conn.execute(
                select(events_t.c.seq, events_t.c.hlc, events_t.c.type, events_t.c.body)
                .where(events_t.c.device_id == device, events_t.c.person_id == owner)):
            ev = stored_event(json.loads(body))
            keys = identity_keys(ev, moved)
            if len(keys) > 1:
                continue   # a pre-registration id names its person whatever the name says
            now = batch.key_to_pid.get(keys[0], batch.index.pid_of.get(keys[0]))
            now = None if now is None else batch.resolve(now)
            if now is None or now == owner:
                continue
            if now not in moves and now not in batch.persons:
                batch.load([now])
                if now not in batch.persons:   # its records had all moved before: made again
                    batch._revive(now, ev)
            moves.setdefault(now, []).append(seq)
            if etype == IC_LINK:
                links.append((ev.data["token"], order_key(hlc, device, seq), now))
        if not moves:
            continue
        for now, seqs in moves.items():
            for i in range(0, len(seqs), 500):
                conn.execute(update(events_t).where(events_t.c.device_id == device, events_t.c.seq.in_(seqs[i:i + 500]))
                             .values(person_id=now))
        for token, order, now in links:   # the card's link, if that record is the one that stands
            held = batch.ic_links.get(token)
            if held is not None and held[0] == order and batch.resolve(held[1]) == owner:   # this batch's: not written yet
                batch.ic_links[token] = (order, now)
            conn.exec_driver_sql(f"UPDATE ic_links SET person_id = {mark} WHERE token = {mark} AND person_id = {mark}"
                                 f" AND link_order = {mark}", (now, token, owner, order))
        touched |= {owner, *moves}
        if conn.execute(select(events_t.c.seq).where(events_t.c.person_id == owner).limit(1)).first() is None:
            # Its inquiries keep its id (safety._chosen_still finds no record behind it): the same whichever
            # order the records came in, and theirs again if another kiosk's record makes it again.  Its
            # households went with its records (_reidentify gives them to whom the records went).
            batch.emptied.add(owner)
            conn.execute(person_households_t.delete().where(person_households_t.c.person_id == owner))
    if not touched:
        return
    batch.load(touched)
    alive = touched - batch.emptied
    batch.refold.update(alive)
    batch.reidentify.update(alive)
    batch.reconsent.update(alive)
    batch.dirty.update(alive)
    _refield(conn, batch, alive)


def _kiosk_corrections_again(conn: Connection) -> dict[str, dict[str, str]]:
    """kiosk_corrections made again from the correction records, each kiosk's in its order, with the
    keys of the identity form in force (relink): the table holds keys of the form it was written in."""
    moved: dict[str, dict[str, str]] = {}
    for device, body in conn.execute(select(events_t.c.device_id, events_t.c.body)
                                     .where(events_t.c.type == CORRECTION).order_by(events_t.c.device_id, events_t.c.seq)):
        ev = stored_event(json.loads(body))
        mine = moved.get(device, {})
        new = ev.data["person"]
        moved[device] = moved_on(mine, said_key(ev, mine), _basic_key(new["name"], new["birth_date"], new["address"]))
    conn.execute(kiosk_corrections_t.delete())
    rows = [(device, old, new) for device, mine in sorted(moved.items()) for old, new in sorted(mine.items())]
    if rows:
        insert_many(conn, "kiosk_corrections", ("device_id", "old_key", "new_key"), rows)
    return moved


def _flush_kiosk_corrections(conn: Connection, batch: _Batch) -> None:
    for device in batch.corrected_in_batch:
        moved = batch.moved[device]
        if moved != batch.moved_read.get(device):
            conn.execute(kiosk_corrections_t.delete().where(kiosk_corrections_t.c.device_id == device))
            if moved:
                insert_many(conn, "kiosk_corrections", ("device_id", "old_key", "new_key"),
                            [(device, old, new) for old, new in sorted(moved.items())])


def _correct_dates(conn: Connection, batch: _Batch, corrections: list[Event], received: int | None) -> set[str]:
    """A kiosk's records dated by its clock before it had heard HQ's (since it started) are ordered at
    the times it has since worked out by HQ's clock (evac.events.CLOCK_CORRECTION); their people's
    whereabouts and the rest are folded again, and their shelters' open, closed or full.  Only the order
    moves: each record keeps its own date in its body.  Returns the shelters set anew."""
    if not corrections:
        return set()
    mark = param_mark(conn)
    seqs: dict[str, list[int]] = {}
    for ev in corrections:
        rows = [(pack(ms) if received is None else min(pack(ms), received), ev.kiosk_id, seq)
                for seq, ms in ev.data["dates"]]
        conn.exec_driver_sql(f"UPDATE events SET hlc = {mark} WHERE device_id = {mark} AND seq = {mark}", rows)
        seqs.setdefault(ev.kiosk_id, []).extend(seq for _, _, seq in rows)
    moved: set[int] = set()
    fields: set[int] = set()
    shelters: set[str] = set()
    for device, listed in seqs.items():
        for i in range(0, len(listed), 500):
            chunk = listed[i:i + 500]
            for pid, etype, shelter_id in conn.execute(
                    select(events_t.c.person_id, events_t.c.type, events_t.c.shelter_id).distinct()
                    .where(events_t.c.device_id == device, events_t.c.seq.in_(chunk))):
                if etype in (CHECKIN, SHELTER_STATUS):
                    shelters.add(shelter_id)
                if pid is None:
                    continue
                pid = batch.resolve(pid)
                # Every record says who the person is: name, kana, address and household are taken again
                # in the corrected order (as for a corrected person, from all they said).
                batch.reidentify.add(pid)
                if etype in LOCATION_TYPES:
                    moved.add(pid)
                    # where they were when a consent was given moved: in person or from elsewhere again
                    batch.reconsent.add(pid)
                elif etype in FIELD_TYPES:
                    fields.add(pid)
                elif etype == CONSENT:
                    batch.reconsent.add(pid)   # decided again at the corrected orders
    # (their counters' slots as read: occupancy moves by the refold's difference)
    redated = moved | fields | batch.reconsent | batch.reidentify
    batch.load(redated)
    batch.refold.update(moved)
    batch.dirty.update(redated)
    _refield(conn, batch, fields)
    _reopen(conn, shelters)
    _relink_cards(conn, batch, seqs)
    return shelters


def _relink_cards(conn: Connection, batch: _Batch, seqs: dict[str, list[int]]) -> None:
    """The IC cards some of whose link records were dated again: each linked as its latest link record now
    says, at that record's order (a correction moving the record later finds the link by it: _refile)."""
    tokens = set()
    for device, listed in seqs.items():
        for i in range(0, len(listed), 500):
            tokens.update(json.loads(body)["data"]["token"] for (body,) in conn.execute(
                select(events_t.c.body).where(events_t.c.device_id == device, events_t.c.type == IC_LINK,
                                              events_t.c.seq.in_(listed[i:i + 500]))))
    if not tokens:
        return
    latest: dict[str, tuple[str, int]] = {}
    for hlc, device, seq, pid, body in conn.execute(
            select(events_t.c.hlc, events_t.c.device_id, events_t.c.seq, events_t.c.person_id, events_t.c.body)
            .where(events_t.c.type == IC_LINK)):
        token = json.loads(body)["data"]["token"]
        order = order_key(hlc, device, seq)
        if token in tokens and pid is not None and (token not in latest or order > latest[token][0]):
            latest[token] = (order, batch.resolve(pid))
    mark = param_mark(conn)
    for token, (order, pid) in latest.items():
        batch.ic_links.pop(token, None)   # (this batch's links are among those records: decided here)
        conn.exec_driver_sql(f"INSERT INTO ic_links (token, person_id, link_order) VALUES ({mark}, {mark}, {mark})"
                             " ON CONFLICT (token) DO UPDATE SET person_id = excluded.person_id,"
                             " link_order = excluded.link_order", (token, pid, order))


# Open or closed (shelters.opened, ordered by opened_order): its staff's latest status record, whatever its order
# against check-ins, which open only a shelter no status record has spoken of.  A check-in at a shelter its staff
# closed leaves it closed, with someone in it (the dashboard's alert; the tablet still says 閉鎖): opened by it,
# HQ showed the shelter open, and sent people on to it, while its staff had closed it.  Check-ins' orders are kept
# under one mark and status records' under a higher one, so that any status record outranks every check-in in
# opened_order, in any order of delivery (migration 0037 put the orders of before under their marks).
OPENED_BY_CHECKIN, OPENED_BY_STATUS = "c", "s"


def _opened_by(etype: str, order: str, declared: str | None) -> tuple[str, bool]:
    """(opened_order, opened) a check-in or a status record says."""
    if etype == SHELTER_STATUS:
        return OPENED_BY_STATUS + order, declared != "closed"
    return OPENED_BY_CHECKIN + order, True


def _reopen(conn: Connection, shelters: set[str]) -> None:
    """Open or closed, and declared full, of shelters some of whose check-ins or status records were dated
    again: as _flush_shelters decides them, from all their records in HQ's order."""
    mark = param_mark(conn)
    for sid in sorted(shelters):
        latest = status = None
        for hlc, device_id, seq, etype, body in conn.execute(
                select(events_t.c.hlc, events_t.c.device_id, events_t.c.seq, events_t.c.type, events_t.c.body)
                .where(events_t.c.shelter_id == sid, events_t.c.type.in_((CHECKIN, SHELTER_STATUS)))):
            order = order_key(hlc, device_id, seq)
            declared = json.loads(body)["data"]["status"] if etype == SHELTER_STATUS else None
            said = _opened_by(etype, order, declared)
            if latest is None or said[0] > latest[0]:
                latest = said
            if declared is not None and (status is None or order > status[0]):
                status = (order, declared == "full")
        if latest is not None:
            conn.exec_driver_sql(f"UPDATE shelters SET opened = {mark}, opened_order = {mark} WHERE id = {mark}",
                                 (latest[1], latest[0], sid))
        if status is not None:
            conn.exec_driver_sql(f"UPDATE shelters SET declared_full = {mark}, full_order = {mark} WHERE id = {mark}",
                                 (status[1], status[0], sid))


def _refield(conn: Connection, batch: _Batch, pids: set[int]) -> None:
    """Needs, status and phone of persons some of whose such records were dated again: set anew from all
    their records in HQ's order (a status recorded on a fast clock outranked a later one)."""
    pids = sorted(pids)
    said: dict[int, list] = {p: [] for p in pids}
    for i in range(0, len(pids), 500):
        for pid, hlc, body in conn.execute(
                select(events_t.c.person_id, events_t.c.hlc, events_t.c.body)
                .where(events_t.c.person_id.in_(pids[i:i + 500]), events_t.c.type.in_(FIELD_TYPES))):
            ev = stored_event(json.loads(body))
            said[pid].append((order_key(hlc, ev.kiosk_id, ev.seq), ev))
    for pid, records in said.items():
        person = batch.persons[pid]
        person.update(_FIELD_DEFAULTS)
        for order, ev in sorted(records, key=itemgetter(0)):
            apply_fields(person, ev, order)


def _refold(conn: Connection, batch: _Batch) -> None:
    pids = sorted({batch.resolve(p) for p in batch.refold})
    if not pids:
        return
    history: dict[int, list] = {p: [] for p in pids}
    for i in range(0, len(pids), 500):
        for pid, hlc, device_id, seq, etype, shelter_id, body in conn.execute(
                select(events_t.c.person_id, events_t.c.hlc, events_t.c.device_id, events_t.c.seq, events_t.c.type,
                       events_t.c.shelter_id, events_t.c.body)
                .where(events_t.c.person_id.in_(pids[i:i + 500]), events_t.c.type.in_(LOCATION_TYPES))):
            history[pid].append(((hlc, device_id, seq), etype, shelter_id, body))
    for pid, events in history.items():
        # Sorted here by Event.order, not by the database: a PostgreSQL collation may order ids otherwise.
        events.sort(key=itemgetter(0))
        where = fold([(etype, shelter_id, json.loads(body)["data"]) for _, etype, shelter_id, body in events])
        batch.persons[pid].update(state=where.state, shelter_id=where.shelter_id, stay_type=where.stay_type)
        # The latest as ordered now (a clock correction may have moved it); none left: a correction
        # moved their records to the corrected person.
        batch.persons[pid]["loc_order"] = order_key(*events[-1][0]) if events else ""


def _reidentify(conn: Connection, batch: _Batch) -> None:
    """Name, birth date, address and household of corrected persons, from everything said about them
    (this batch's events are already in the log).  Only persons staff have corrected come here."""
    pids = sorted({batch.resolve(p) for p in batch.reidentify})
    if not pids:
        return
    said: dict[int, list[Said]] = {p: [] for p in pids}
    for i in range(0, len(pids), 500):
        for pid, hlc, body in conn.execute(
                select(events_t.c.person_id, events_t.c.hlc, events_t.c.body)
                .where(events_t.c.person_id.in_(pids[i:i + 500]), events_t.c.type != SHELTER_STATUS)):
            ev = stored_event(json.loads(body))
            # Ordered by HQ's order (the hlc column, apply_events), not the date the record carries.
            said[pid].append(Said(order_key(hlc, ev.kiosk_id, ev.seq), ev.type, ev.person, ev.data,
                                  ev.household_id))
    for pid, statements in said.items():
        homes = {s.household_id for s in statements if s.household_id}
        if len(homes) > 1:   # persons.household_id holds one of them: person_households keeps them all
            batch.households.update((pid, h) for h in homes)
        now = current_identity(statements)
        if now is not None:
            p = now.person
            batch.persons[pid].update(name=p.name, name_kana=p.name_kana, birth_date=p.birth_date, sex=p.sex,
                                      address=p.address, household_id=now.household_id, info_order=now.order,
                                      kana_order=now.kana_order, address_order=now.address_order,
                                      household_order=now.household_order)


def _place_consents(conn: Connection, batch: _Batch) -> None:
    """The batch's kiosk consents widening disclosure: in person when the person is checked in where the
    kiosk is enrolled (the common case: the kiosk that checked them in, or another of that shelter);
    otherwise, and for anyone whose consent came from elsewhere before and who was recorded somewhere new
    now, their consent is decided again from everything they said (_reconsent)."""
    here = batch.kiosk_shelter
    for pid, order, ev in batch.widening:
        pid = batch.resolve(pid)
        person = batch.persons[pid]
        if pid in batch.reconsent:
            continue
        if (here is not None and person["state"] == CHECKED_IN and person["shelter_id"] == here
                and person["loc_order"] < order):   # (where they are now is where they were at the consent)
            _take_consent(person, ev, order, consent_source(ev, where_they_were=True))
        else:
            batch.reconsent.add(pid)
    _reconsent(conn, batch)


def _reconsent(conn: Connection, batch: _Batch) -> None:
    """Consent from all the person's consent events (this batch's are already in the log), each from a
    kiosk counted in person only if, at the consent's place in HQ's order, the person's latest location
    record was that kiosk's own, or left them at the kiosk's shelter (as HQ received the consent): the same
    whatever order consents and check-ins arrive in.  Any location record would not do: a copied token
    sent a check-in at its own shelter dated years back, and then its consent counted."""
    pids = sorted({batch.resolve(p) for p in batch.reconsent} - set(batch.merged_into))
    if not pids:
        return
    moves: dict[int, list[tuple]] = {p: [] for p in pids}
    said: dict[int, list[tuple]] = {p: [] for p in pids}
    for i in range(0, len(pids), 500):
        for pid, hlc, device, seq, etype, shelter_id, kiosk_shelter, body in conn.execute(
                select(events_t.c.person_id, events_t.c.hlc, events_t.c.device_id, events_t.c.seq, events_t.c.type,
                       events_t.c.shelter_id, events_t.c.kiosk_shelter_id, events_t.c.body)
                .where(events_t.c.person_id.in_(pids[i:i + 500]), events_t.c.type.in_(LOCATION_TYPES | {CONSENT}))):
            order = order_key(hlc, device, seq)   # HQ's order (the hlc column, apply_events)
            if etype == CONSENT:
                said[pid].append((order, kiosk_shelter, body))
            else:
                moves[pid].append((order, device, etype, shelter_id, json.loads(body)["data"]))
    for pid in pids:
        person = batch.persons[pid]
        # Never-disclose too, once set by any of their consents (a correction moves records between persons).
        person.update(consent="none", family_code="", consent_order="", consent_source="kiosk",
                      consent_elsewhere=False, never_disclose=False)
        history = sorted(moves[pid], key=itemgetter(0))
        for order, kiosk_shelter, body in said[pid]:
            ev = stored_event(json.loads(body))
            if ev.data["never_disclose"]:
                person["never_disclose"] = True
            before = [m for m in history if m[0] < order]
            where = fold([(etype, shelter_id, data) for _, _, etype, shelter_id, data in before])
            source = consent_source(ev, where_they_were=bool(before) and (
                before[-1][1] == ev.kiosk_id or (kiosk_shelter is not None and where.shelter_id == kiosk_shelter)))
            _take_consent(person, ev, order, source)
            if source == "away":
                person["consent_elsewhere"] = True
        batch.dirty.add(pid)


def _flush_persons(conn: Connection, batch: _Batch) -> None:
    alive = {batch.resolve(p) for p in batch.dirty} - set(batch.merged_into) - batch.emptied
    persons = batch.persons
    gone = sorted(batch.emptied - batch.new_pids)
    for i in range(0, len(gone), 500):
        conn.execute(persons_t.delete().where(persons_t.c.id.in_(gone[i:i + 500])))
    born = sorted(alive & batch.new_pids)
    if born:
        insert_many(conn, "persons", _PERSON_COLS, [_person_row(persons[p]) for p in born])
    known = sorted(alive - batch.new_pids)
    if known:
        _update_changed(conn, batch, known)
    fresh_keys = [(k, batch.resolve(p)) for k, p in batch.new_keys.items()]
    if fresh_keys:
        insert_many(conn, "person_keys", ("key", "person_id"), fresh_keys)  # already tuples
    if batch.households:
        mark = param_mark(conn)
        conn.exec_driver_sql(
            f"INSERT INTO person_households (person_id, household_id) VALUES ({mark}, {mark}) ON CONFLICT DO NOTHING",
            sorted({(batch.resolve(p), h) for p, h in batch.households}))


def _update_changed(conn: Connection, batch: _Batch, pids: list[int]) -> None:
    """Write back only the columns that changed, grouped by which ones did: the database then
    rewrites only the indexes over those columns (a stay-type change leaves birth_date's alone)."""
    groups: dict[tuple[int, ...], list[tuple]] = {}
    loaded = batch.loaded
    for pid in pids:
        row = _person_row(batch.persons[pid])
        before = loaded[pid]
        changed = tuple([i for i, (now, was) in enumerate(zip(row, before)) if now != was])
        if changed:
            groups.setdefault(changed, []).append(tuple([row[i] for i in changed]) + (pid,))
    mark = param_mark(conn)
    for changed, rows in sorted(groups.items()):
        sets = ", ".join(f"{_PERSON_COLS[i]} = {mark}" for i in changed)
        conn.exec_driver_sql(f"UPDATE persons SET {sets} WHERE id = {mark}", rows)


def _by_code_point(conn: Connection) -> str:
    """Order texts compare as Python compares them (evac.events.order_key), whatever the database's
    collation: SQLite's default is already by code point, PostgreSQL's "C" is by UTF-8 byte."""
    return ' COLLATE "C"' if conn.dialect.name == "postgresql" else ""


def _flush_ic_links(conn: Connection, batch: _Batch) -> None:
    if not batch.ic_links:
        return
    rows = [(token, batch.resolve(pid), order) for token, (order, pid) in sorted(batch.ic_links.items())]
    mark = param_mark(conn)
    # A link older than the one HQ holds (a kiosk that was offline) does not win.
    conn.exec_driver_sql(
        f"INSERT INTO ic_links (token, person_id, link_order) VALUES ({mark}, {mark}, {mark})"
        " ON CONFLICT (token) DO UPDATE SET person_id = excluded.person_id, link_order = excluded.link_order"
        f" WHERE ic_links.link_order < excluded.link_order{_by_code_point(conn)}", rows)


def _flush_shelters(conn: Connection, batch: _Batch, opened: dict[str, str],
                    shelter_status: dict[str, tuple[str, str]]) -> None:
    delta: Counter = Counter()
    for pid, before in batch.slot_before.items():
        if pid in batch.merged_into or pid in batch.emptied:
            after = None
        else:
            after = _slot(batch.persons[pid])
        if before == after:
            continue
        if before:
            delta[before] -= 1
        if after:
            delta[after] += 1
    mark = param_mark(conn)
    # One driver-level executemany per statement: a Core statement per shelter costs more than its update.
    moves: dict[str, list[tuple]] = {}
    for (shelter_id, where), d in sorted(delta.items()):
        if not d:
            continue
        if shelter_id == SELF:
            conn.exec_driver_sql(
                f"INSERT INTO self_report_counts (place, count) VALUES ({mark}, {mark})"
                " ON CONFLICT (place) DO UPDATE SET count = self_report_counts.count + excluded.count", (where, d))
        else:
            moves.setdefault(_SLOT_COLUMN[where], []).append((d, shelter_id))
    for col, rows in moves.items():
        conn.exec_driver_sql(f"UPDATE shelters SET {col} = {col} + {mark} WHERE id = {mark}", rows)
    # Open or closed: the latest status event, else the latest check-in (_opened_by).  Declared full: the
    # latest status event alone, so that the two converge in any order of delivery.
    status = {sid: _opened_by(CHECKIN, order, None) for sid, order in opened.items()}
    for sid, (order, declared) in shelter_status.items():
        said = _opened_by(SHELTER_STATUS, order, declared)
        if sid not in status or said[0] > status[sid][0]:
            status[sid] = said
    if status:
        conn.exec_driver_sql(
            f"UPDATE shelters SET opened = {mark}, opened_order = {mark}"
            f" WHERE id = {mark} AND opened_order < {mark}{_by_code_point(conn)}",
            [(is_open, order, sid, order) for sid, (order, is_open) in sorted(status.items())])
    if shelter_status:
        conn.exec_driver_sql(
            f"UPDATE shelters SET declared_full = {mark}, full_order = {mark}"
            f" WHERE id = {mark} AND full_order < {mark}{_by_code_point(conn)}",
            [(declared == "full", order, sid, order) for sid, (order, declared) in sorted(shelter_status.items())])
