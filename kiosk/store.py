"""The kiosk's own database: an append-only event log in SQLite, durable before it is confirmed.

WAL mode with synchronous=FULL: when `append` returns, the event is on disk
and survives a power cut.  Nothing is ever deleted; the outbox is simply the
events after the highest sequence HQ has acknowledged, so a kiosk can resend
everything if HQ ever has to be restored from a backup.

The roster is this kiosk's view of who is checked in here; it is updated in
the same transaction as the event, so the two never disagree.
"""
from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import re
import secrets
import sqlite3
import time
import uuid
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Mapping, Sequence

from evac.dbfiles import KIOSK, create_private
from evac.disclosure import protection_digests, protection_forms
from evac.events import (
    CHECKIN, CHECKOUT, CLOCK_CORRECTION, CONSENT, CORRECTION, EARLIEST_TODAY, EVENT_TYPES, IC_LINK, LOCATION_TYPES,
    MAX_CORRECTED_DATES, NEEDS, REGISTER, STATUS, STAY_TYPE, TRANSFER, WITHDRAWN, Event, InvalidEvent, Person,
    canonical_json, parse_event, stored_event, withdrawal,
)
from evac.hlc import MAX_HLC, HybridLogicalClock, wall_clock_ms, wall_ms
from evac.identity import IDENTITY_FORM, person_key
from evac.whereabouts import CHECKED_IN, CHECKED_OUT, Whereabouts, step

from .heard import Heard, heard

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY,
    hlc INTEGER NOT NULL,
    body TEXT NOT NULL,
    written_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS roster (
    person_key TEXT PRIMARY KEY,
    name TEXT NOT NULL, name_kana TEXT NOT NULL, birth_date TEXT NOT NULL, sex TEXT NOT NULL,
    address TEXT NOT NULL, prereg_id TEXT NOT NULL, household_id TEXT NOT NULL,
    state TEXT NOT NULL, shelter_id TEXT, stay_type TEXT, last_seq INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_roster_household ON roster(household_id);
CREATE TABLE IF NOT EXISTS shelters (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL, capacity INTEGER
);
-- each shelter's reading (名称_カナ), for the screen's search: a table of its own, so that a kiosk
-- database from before it gets it without rewriting shelters
CREATE TABLE IF NOT EXISTS shelter_kana (id TEXT PRIMARY KEY, name_kana TEXT NOT NULL);
-- each shelter's status as HQ last said it (open, full, closed, not_opened): the screen leaves closed ones
-- out of where a family may move on to, the tablet marks them.  No row: HQ said none (an older HQ).
CREATE TABLE IF NOT EXISTS shelter_hq_status (id TEXT PRIMARY KEY, status TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS prereg_keys (kid TEXT PRIMARY KEY, public_raw TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS prereg_revoked (id TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS ic_links (token TEXT PRIMARY KEY, person_key TEXT NOT NULL, linked_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS staff_calls (
    id INTEGER PRIMARY KEY, called_at TEXT NOT NULL, language TEXT NOT NULL, reason TEXT NOT NULL,
    answered_at TEXT
);
-- Whom a call is about, when the screen knows and may say it to staff (never to the screen).
CREATE TABLE IF NOT EXISTS staff_call_people (call_id INTEGER NOT NULL, who TEXT NOT NULL, PRIMARY KEY (call_id, who));
-- What the screen is told of a call it raised, in place of its id: the ids count held-back check-ins too
-- (HELD_PROTECTED, which get no token), so that an id told whether a name typed in between was protected.
CREATE TABLE IF NOT EXISTS staff_call_tokens (call_id INTEGER PRIMARY KEY, token TEXT NOT NULL UNIQUE);
-- Check-ins held back for staff (HELD_PROTECTED: a never-disclose person's, from the screen or a QR) and what was
-- asked of them since (a check-out, a move on), under the roster's key, so that the screen and the API go on
-- answering about that person as about someone unknown checked in then, after a power cut too.  Kiosk-local:
-- never a record for HQ (nothing under the protected identity leaves the kiosk), and staff's call names whom.
CREATE TABLE IF NOT EXISTS held_back (
    person_key TEXT PRIMARY KEY, prereg_id TEXT NOT NULL, household_id TEXT NOT NULL, state TEXT NOT NULL,
    shelter_id TEXT
);
-- Identities staff corrected away, and the roster row the person is under now: a pre-registration
-- QR printed with the typo still finds them rather than making a second person.
CREATE TABLE IF NOT EXISTS corrected_keys (old_key TEXT PRIMARY KEY, new_key TEXT NOT NULL);
-- People under never-disclose (DV/stalker protection) as this kiosk knows them: a check-in on the
-- screen, by QR or typed in keeps the protection, and only a lead lifts it (set_never_disclose).
CREATE TABLE IF NOT EXISTS protected (person_key TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS protected_forms (digest TEXT PRIMARY KEY);
-- Records HQ refused for good, withdrawn by the shelter lead: the original body, kept here, while
-- the events row at the same seq holds a `withdrawn` placeholder that HQ takes in its place.
CREATE TABLE IF NOT EXISTS withdrawn_events (
    seq INTEGER PRIMARY KEY, body TEXT NOT NULL, reason TEXT NOT NULL, withdrawn_by TEXT NOT NULL,
    withdrawn_at TEXT NOT NULL
);
-- Who wrote each record (kiosk-local, never synced: the wire format stays as it is): the staff member
-- logged in on the tablet (via 'tablet') or named with --by on the command line (via 'cli').  A record
-- without a row was written by the evacuee screen, an IC tap, a QR or a card (self-service), or before
-- this kiosk recorded who (meta staff_recorded_from: the first record it did).
CREATE TABLE IF NOT EXISTS event_staff (seq INTEGER PRIMARY KEY, staff TEXT NOT NULL, via TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS event_staff_by_name ON event_staff(staff, seq);
-- Whom each record is about: the roster key the person had when it was written, so that a person's
-- page finds their records (under identities corrected away too, by corrected_keys) without a scan.
CREATE TABLE IF NOT EXISTS event_person (seq INTEGER PRIMARY KEY, person_key TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS event_person_by_key ON event_person(person_key, seq);
-- This kiosk's log as it wrote it, a withdrawn record's original in place of its placeholder: what
-- the kiosk folds for itself (needs, consent, protection, its shelter's status) still counts it.
-- Records dated by this kiosk's own clock before it heard HQ's since it started (kiosk-local): when it
-- hears HQ, their true times are worked out from the time since boot and sent as a clock_correction.
CREATE TABLE IF NOT EXISTS unchecked_dates (seq INTEGER PRIMARY KEY, boot_id TEXT NOT NULL, boot_ms INTEGER NOT NULL);
-- HQ's word that someone this kiosk checked in was recorded since at another shelter ('moved') or checked
-- out elsewhere ('left'): `seq`, this kiosk's own record HQ found superseded.  Kiosk-local, never an event
-- (HQ holds the move): a projection over the roster (roster_seen), cleared by any later location record
-- about them written here.
CREATE TABLE IF NOT EXISTS left_elsewhere (person_key TEXT PRIMARY KEY, seq INTEGER NOT NULL, kind TEXT NOT NULL);
-- The roster as staff and the screen see it: someone HQ says left elsewhere is checked out from here,
-- with how they left (left_elsewhere: '' for everyone else).
CREATE VIEW IF NOT EXISTS roster_seen AS
    SELECT r.person_key AS person_key, r.name AS name, r.name_kana AS name_kana, r.birth_date AS birth_date,
           r.sex AS sex, r.address AS address, r.prereg_id AS prereg_id, r.household_id AS household_id,
           CASE WHEN l.kind IS NOT NULL AND r.state = 'checked_in' THEN 'checked_out' ELSE r.state END AS state,
           r.shelter_id AS shelter_id,
           CASE WHEN l.kind IS NOT NULL AND r.state = 'checked_in' THEN NULL ELSE r.stay_type END AS stay_type,
           r.last_seq AS last_seq,
           CASE WHEN r.state = 'checked_in' THEN COALESCE(l.kind, '') ELSE '' END AS left_elsewhere
    FROM roster r LEFT JOIN left_elsewhere l ON l.person_key = r.person_key;
CREATE VIEW IF NOT EXISTS written_events AS
    SELECT e.seq AS seq, COALESCE(w.body, e.body) AS body
    FROM events e LEFT JOIN withdrawn_events w ON w.seq = e.seq;
"""


_SCHEMA_TABLES = set(re.findall(r"CREATE (?:TABLE|VIEW|INDEX) IF NOT EXISTS (\w+)", SCHEMA))


@functools.cache
def _boot_id() -> str | None:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return None


def _since_boot() -> tuple[str, int] | None:
    """(this boot's id, milliseconds since boot): a clock no one can set, unlike the wall clock;
    None where the system does not say (not Linux)."""
    boot_id = _boot_id()
    if boot_id is None or not hasattr(time, "CLOCK_BOOTTIME"):
        return None
    return boot_id, time.clock_gettime_ns(time.CLOCK_BOOTTIME) // 1_000_000


# Beyond this a kiosk's clock is not trusted against HQ's: its events would be ordered wrongly at HQ
# against other shelters' (the staff tablet says so too).
HQ_CLOCK_TOLERANCE_MS = 120_000

# What an idle sync round leaves unwritten (kiosk/heard.py keeps it in memory for this process):
# HQ's timestamp goes into the file only once the file's, or this kiosk's clock, would date the next
# record more than this before it.  This process dates its records after all HQ said (memory); a
# record written by another process (`evac kiosk checkin`) or after a restart is at most a minute
# early, less than it takes to walk from one shelter to the next (evac.hlc MAX_DRIFT_MS): a move
# HQ held is still ordered before it.  A kiosk whose clock is within a minute of HQ's writes none.
HLC_WRITE_SLACK_MS = 60_000
# The last sync's time, while nothing else changes, at most this often: this process's pages (tablet,
# /api/status) read the exact time from memory; the file, for another process and after a restart,
# is at most a minute old, and every page shows it to the minute.
LAST_SYNC_WRITE_EVERY_S = 60
# HQ's clock as heard (hq_clock, used while this kiosk's clock is off by more than the tolerance) is
# written again only when it would put HQ's time now this far from what HQ just said: more than the
# Date header's whole seconds and a slow link's delay (a steady clock is never rewritten), far less
# than the 2 minutes within which records of different shelters are ordered as clocks allow.
HQ_CLOCK_REANCHOR_MS = 2_000
# The clock offset (whole seconds) moves by one from answer to answer with rounding and the link's
# delay: written when it moved by more.  The tablet warns beyond 120 s and words it in minutes or
# more, so a second's lag changes nothing staff see, and the warning comes at most a second late.
CLOCK_OFFSET_MOVE_S = 1


TABLET, CLI = "tablet", "cli"   # how a staff member wrote a record (event_staff.via)


@dataclass(frozen=True)
class Acting:
    """The staff member the kiosk is writing for: their log-in name on the tablet, or the name given
    with --by on the command line (not checked against the accounts)."""
    staff: str
    via: str = TABLET


# Set by the staff tablet for the request of a logged-in staff member (kiosk.staff.auth), and by the
# CLI's --by; _append attributes every record it writes to them, in the same transaction.  Unset (the
# evacuee screen, an IC tap, a QR, a card): no attribution row, the record is self-service.
acting_staff: ContextVar[Acting | None] = ContextVar("acting_staff", default=None)


@contextmanager
def acting_as(staff: str, via: str = TABLET) -> Iterator[None]:
    token = acting_staff.set(Acting(staff, via))
    try:
        yield
    finally:
        acting_staff.reset(token)


class KioskError(ValueError):
    """Something the person at the kiosk must be told; nothing was written.  `ja`: the same in Japanese,
    for the command line, which says both ("日本語 / English"); `about`: what to correct ("name",
    "password", "seq"), which the command line names as its option, or "event": the event checks'
    words (evac.events), which the command line says as it says theirs."""
    ja = ""
    about = ""

    def __init__(self, *args, ja: str = "", about: str = ""):
        super().__init__(*args)
        self.ja, self.about = ja, about


# The kiosk's own code for a record HQ refuses because HQ's software is older than this kiosk's: it
# does not know the record's type, one this kiosk writes (a `correction` at an HQ from before it).  Not
# to be withdrawn: withdrawn, HQ, once updated, never learns what the record said (a corrected name
# stays wrong, the next check-out makes a second person); kept, the queue goes through after HQ's update.
HQ_OUTDATED = "hq_outdated"
# How HQ words it (evac.events.parse_event): today "unknown event type: it must be one of ...", older
# HQs "unknown event type 'correction'".  Today's HQ also says so in its answer (`unknown_type`).
_UNKNOWN_TYPE = re.compile(r"\bunknown event type\b")


def hq_lacks_type(code: str, message: str, event: dict, flagged: bool = False) -> bool:
    """Whether HQ refused `event` (as this kiosk holds it) because HQ does not know its type, and the
    type is one this kiosk writes itself: HQ's software is older than this kiosk's."""
    if code == HQ_OUTDATED:
        return True
    return (code in ("invalid_event", "") and (flagged or bool(_UNKNOWN_TYPE.search(message or "")))
            and event.get("type") in EVENT_TYPES)


@dataclass(frozen=True)
class Refusal:
    """The record HQ refuses for good (invalid_event or unknown_shelter; hq_outdated: HQ's software
    does not know its type yet), as of the last sync."""
    seq: int
    message: str
    event: dict          # the record as this kiosk holds it (its wire form)
    code: str = ""       # HQ's refusal code ("" when noted before the kiosk kept it), or HQ_OUTDATED


@dataclass(frozen=True)
class Withdrawn:
    seq: int
    event: dict          # the original record, kept on this kiosk
    reason: str
    withdrawn_by: str
    withdrawn_at: str


@dataclass(frozen=True)
class Attributed:
    """A record of this kiosk's log with who wrote it."""
    seq: int
    event: dict          # as written here (a withdrawn record's original)
    staff: str | None    # None: not written for a staff member
    via: str | None      # TABLET or CLI, with staff
    recorded: bool       # False: written before this kiosk recorded who
    withdrawn_by: str | None = None   # the lead who withdrew it from HQ (KioskStore.withdraw), if so

    @property
    def self_service(self) -> bool:
        return self.staff is None and self.recorded


@dataclass(frozen=True)
class HeldBack:
    """A protected person's check-in the screen or the API held back for staff (KioskStore.hold_for_staff), and
    what was asked of it since: how they go on answering about that person as if the check-in had been written,
    as they would about someone unknown checked in then (a second scan of the QR, a check-out, the same name
    typed in again would otherwise tell the two apart).  Nothing under the protected person's identity is
    written as a record; staff see the call."""
    prereg_id: str
    household_id: str
    state: str
    shelter_id: str | None


@dataclass(frozen=True)
class RosterEntry:
    person: Person
    household_id: str
    where: Whereabouts


WAL_SIZE_LIMIT = 8 * 1024 * 1024   # bytes the -wal is cut back to after a checkpoint

# HQ's left-elsewhere word ids (its cursor) and this kiosk's record numbers stay below this, as HQ checks
# them (hq_dashboard.api): beyond it SQLite's integers end, and HQ refuses such a cursor sent back.
WORD_LIMIT = 1 << 62


def _readable_word(said) -> bool:
    """One of HQ's left-elsewhere words as this kiosk reads it: [seq of one of its records, kind]."""
    return isinstance(said, (list, tuple)) and len(said) == 2 and isinstance(said[0], int) \
        and not isinstance(said[0], bool) and 0 <= said[0] < WORD_LIMIT and isinstance(said[1], str)


# A staff call the screen raised itself: it refused what someone asked there and told them to ask staff.
SENT_TO_STAFF = "sent_to_staff"
# ... because a pre-registration QR's member is on the roster under another name or birth date: the family
# changed its registration at HQ since (a new QR); staff correct the record, then check them in.
PREREG_CHANGED = "prereg_changed"
# ... because this shelter's own staff closed it (the screen checks no one in) or because a QR's check-out left
# household members typed in at check-in still recorded here (a QR cannot act on them: qr_proves).
SHELTER_CLOSED = "shelter_closed"
HOUSEHOLD_LEFT_BEHIND = "household_left_behind"
# ... held back: a check-in from the screen or a QR named someone under never-disclose protection. The screen
# answered as for anyone unknown (a refusal told a QR's holder that the name is protected: 災対法 §86-15) and
# nothing was written for them; staff see whom, and check them in themselves once they have seen them.
HELD_PROTECTED = "held_protected"
# The statuses HQ's configuration may give a shelter (hq_dashboard.api.kiosk_config).
HQ_SHELTER_STATUSES = ("open", "full", "closed", "not_opened")
# Calls the screen raises itself (not a press for staff): never joined to the last press.
SCREEN_REASONS = (SENT_TO_STAFF, PREREG_CHANGED, SHELTER_CLOSED, HOUSEHOLD_LEFT_BEHIND, HELD_PROTECTED)
# A press for staff this soon after the screen's last call, while that call is open, is the same person
# (back at the start and pressing again, unsure anyone heard): one call, not one per press.
STAFF_CALL_PRESSES_JOIN_S = 120
LAST_STAFF_CALL = "staff_call_last_press"   # meta: "<call id> <now_ms>" of the screen's last call

class KioskStore:
    # Called once a transaction that wrote new records has committed: the running kiosk's requests wake its
    # background sync with it (kiosk.db), so that HQ hears of a check-in within seconds, not after a backoff.
    after_new_records: Callable[[], None] | None = None
    _wrote_records = False

    def __init__(self, path: str | Path, create: bool = True):
        """`create`: make the file if it is not there; otherwise (a running kiosk's requests) an
        existing file only, so that a deleted database never quietly becomes a new, empty one."""
        self.path = Path(path)
        if create:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            create_private(self.path, KIOSK)
        # isolation_level=None: we issue BEGIN IMMEDIATE ourselves so that the
        # sequence number is read and used under the write lock.
        target, uri = (self.path, False) if create else (f"{self.path.resolve().as_uri()}?mode=rw", True)
        self.db = sqlite3.connect(target, isolation_level=None, timeout=30, check_same_thread=False, uri=uri)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("PRAGMA busy_timeout=30000")
        # A rush can grow the -wal far past the file (133 MB beside 29 MB, measured) while readers hold
        # the checkpoint back; without a limit it keeps that size on a small SD card for good.
        self.db.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")
        if not self._initialised():
            self._initialise()

    @classmethod
    def read_only(cls, path: str | Path) -> "KioskStore":
        """The store for reading only (`evac kiosk carry`), also on a disk that became read-only:
        nothing is written, not even a missing table.  evac.dbfiles.open_read_only says how."""
        from evac.dbfiles import open_read_only
        store = cls.__new__(cls)
        store.path = Path(path)
        store.db = open_read_only(path)
        return store

    def _initialised(self) -> bool:
        # A read, so that opening the store for each request takes no write lock.
        # A database from before a table was added gets it added here.
        tables = {r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view', 'index')")}
        return (_SCHEMA_TABLES <= tables and self._meta("device_id") is not None and bool(self.shelter_ids())
                and self._meta("identity_form") == str(IDENTITY_FORM))

    def _initialise(self) -> None:
        with self._write():
            had = {r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    self.db.execute(statement)
            # Read under the write lock: a second process opening the file meanwhile finds it done.
            stale = self._meta("identity_form") != str(IDENTITY_FORM)
            if "events" in had and (stale or "protected" not in had or "event_person" not in had):
                # Keys written under another identity form (none recorded: form 1), or tables from
                # before: what is derived from the log is folded again under today's person_key.
                self._refold()
            if stale:
                self._set_meta("identity_form", str(IDENTITY_FORM))
                # keyed under another form, and with no identity to key again: they would match no one
                self.db.execute("DELETE FROM held_back")
            if "shelter_kana" not in had and "shelters" in had:
                # HQ's list (which has the readings) is written again at the next fetch, even if unchanged
                self.db.execute("DELETE FROM meta WHERE key = 'config_applied'")
                self._put_kana(self._bundled_kana())
            if "shelter_hq_status" not in had and "shelters" in had:
                # the statuses come with HQ's list: written at the next fetch, even if unchanged
                self.db.execute("DELETE FROM meta WHERE key = 'config_applied'")
            if "event_staff" not in had and "events" in had:
                # Who wrote the records already there was not recorded: the tablet says so.
                self._set_meta("staff_recorded_from", str(self.last_seq + 1))
            if self._meta("device_id") is None:
                self._set_meta("device_id", "kiosk-" + uuid.uuid4().hex)
                self._set_meta("acked_seq", "0")
                self._set_meta("hlc", "0")
        if not self.shelter_ids():
            self._seed_shelters()

    def close(self) -> None:
        self.db.close()

    def quick_check(self) -> list[str]:
        """What SQLite's quick_check finds wrong with the file (pages overwritten, cut short): [] if
        nothing.  It reads every page once."""
        found = [r[0] for r in self.db.execute("PRAGMA quick_check")]
        return [] if found == ["ok"] else found

    # -- low level ---------------------------------------------------------
    _together = False

    @contextmanager
    def together(self) -> Iterator[None]:
        """The writes made inside, committed as one transaction: all of them or, after a power cut or an error,
        none (a check-in, and the check-in held back for staff beside it).  Inside another, part of it."""
        if self._together:
            yield
            return
        with self._write():
            self._together = True
            try:
                yield
            finally:
                self._together = False

    @contextmanager
    def _write(self) -> Iterator[None]:
        if self._together:   # inside together(): its transaction commits, or rolls back, all of it
            yield
            return
        self.db.execute("BEGIN IMMEDIATE")
        self._wrote_records = False
        try:
            yield
            self.db.execute("COMMIT")  # in WAL mode the pages reach the disk here: it can fail too
        except BaseException:
            self._wrote_records = False
            # After a full disk or an I/O error SQLite may have rolled back already; a failing
            # ROLLBACK must not hide the error that matters.
            if self.db.in_transaction:
                try:
                    self.db.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
            raise
        self._checkpoint()
        if self._wrote_records:
            self._wrote_records = False
            if self.after_new_records is not None:
                self.after_new_records()   # (committed: another connection reads them from now on)

    def _checkpoint(self) -> None:
        """Copy what was just committed from the WAL into the database file itself.  Left in the WAL
        until SQLite's own checkpoint at 1000 pages (some 700 check-ins), confirmed records were lost
        by anyone deleting kiosk.sqlite3-wal to free space.  PASSIVE: it waits for nobody; a reader
        still on an older snapshot only defers some pages to the next write's checkpoint.  A failure
        (a full disk) loses nothing: the records are committed, in the WAL."""
        try:
            self.db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error:
            pass

    def _meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def _set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT INTO meta(key, value) VALUES (?, ?) "
                        "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, value))

    @property
    def device_id(self) -> str:
        return self._meta("device_id")

    @functools.cached_property
    def _heard(self) -> Heard:
        """What this process last heard from HQ about this file, in memory (kiosk/heard.py)."""
        return heard(self.path)

    def _hlc(self) -> int:
        """The latest timestamp this kiosk knows: its own last, or HQ's heard by this process."""
        return max(self._stored_hlc(), self._heard.hlc)

    def _stored_hlc(self) -> int:
        """The kiosk's clock as kept in the file.  One past what a record can carry was taken from an answer
        before the sync checked them (kiosk.sync._take_hlc), and let no record be written: the latest record's
        is taken instead, and the next record written mends the file."""
        stored = int(self._meta("hlc") or 0)
        if stored > MAX_HLC:
            stored = self.db.execute("SELECT COALESCE(MAX(hlc), 0) FROM events").fetchone()[0]
        return stored

    # -- shelters (from bundled open data, replaced by HQ's list on sync) ---
    @staticmethod
    def _bundled_sites() -> list | None:
        from evac.shelters import default_data_dir, load_yaizu_sites
        try:
            return load_yaizu_sites(default_data_dir())
        except OSError:
            return None  # no bundled data: the list comes with the first sync

    @classmethod
    def bundled_shelter_ids(cls) -> set[str]:
        """The shelters a new kiosk database starts with, known before one is made (`evac kiosk checkin`)."""
        return {s.id for s in cls._bundled_sites() or ()}

    def _seed_shelters(self) -> None:
        from evac.capacity import capacity_from_area
        sites = self._bundled_sites()
        if sites is None:
            return
        self.replace_shelters([{"id": s.id, "name": s.name, "name_kana": s.name_kana, "kind": s.kind,
                                "capacity": capacity_from_area(s.area_m2)} for s in sites], from_hq=False)

    def replace_shelters(self, shelters: Sequence[dict], from_hq: bool = True) -> None:
        with self._write():
            if from_hq:
                self._set_meta("config_at", dt.datetime.now(dt.timezone.utc).isoformat())
            self.db.execute("DELETE FROM meta WHERE key = 'config_applied'")   # the list is not that config's now
            self._put_shelters(shelters)

    def _put_shelters(self, shelters: Sequence[dict]) -> None:
        self.db.execute("DELETE FROM shelters")
        self.db.executemany("INSERT INTO shelters(id, name, kind, capacity) VALUES (?, ?, ?, ?)",
                            [(s["id"], s["name"], s["kind"], s.get("capacity")) for s in shelters])
        self.db.execute("DELETE FROM shelter_kana")
        self._put_kana({s["id"]: s.get("name_kana") for s in shelters})
        self.db.execute("DELETE FROM shelter_hq_status")
        self.db.executemany("INSERT OR REPLACE INTO shelter_hq_status(id, status) VALUES (?, ?)",
                            [(s["id"], s["status"]) for s in shelters
                             if isinstance(s.get("status"), str) and s["status"] in HQ_SHELTER_STATUSES])

    def _put_kana(self, kana: dict[str, object]) -> None:
        self.db.executemany("INSERT OR REPLACE INTO shelter_kana(id, name_kana) VALUES (?, ?)",
                            [(sid, k) for sid, k in kana.items() if isinstance(k, str) and k])

    @staticmethod
    def _bundled_kana() -> dict[str, object]:
        from evac.shelters import default_data_dir, load_yaizu_sites
        try:
            return {s.id: s.name_kana for s in load_yaizu_sites(default_data_dir())}
        except (OSError, ValueError):
            return {}

    def config_due(self, every_s: float) -> bool:
        """Whether HQ's configuration (the shelter list) should be fetched again."""
        fetched = [dt.datetime.fromisoformat(t) for t in (self._meta("config_at"), self._heard.config_at) if t]
        now = dt.datetime.now(dt.timezone.utc)
        since = [(now - t).total_seconds() for t in fetched]
        # A clock set back since the last fetch (negative time since) must not put the next one off for good.
        return not since or min(since) >= every_s or min(since) < 0

    def apply_config(self, config: dict) -> None:
        """What HQ sends down: shelters, the keys QRs are checked with, and cancelled QRs.  The same
        configuration as the one last applied writes nothing: fetched every ten minutes, it rewrote every
        table (212 shelters) each time."""
        now = dt.datetime.now(dt.timezone.utc)
        digest = _config_digest(config)
        stored_at = self._meta("config_at")
        # A fetch noted in the future (by a clock since set back) is written again.
        if self._meta("config_applied") == digest and stored_at and dt.datetime.fromisoformat(stored_at) <= now:
            self._heard.config_at = now.isoformat()
            return
        with self._write():
            self._set_meta("config_at", now.isoformat())
            self._put_shelters(config["shelters"])
            self.db.execute("DELETE FROM prereg_keys")
            self.db.executemany("INSERT INTO prereg_keys(kid, public_raw) VALUES (?, ?)",
                                sorted(config.get("prereg_keys", {}).items()))
            self.db.execute("DELETE FROM prereg_revoked")
            self.db.executemany("INSERT INTO prereg_revoked(id) VALUES (?)", [(r,) for r in config.get("revoked", [])])
            self._set_meta("config_version", config.get("config_version", ""))
            if isinstance(config.get("shelter_id"), str):
                self._set_meta("enrolled_shelter", config["shelter_id"])
            if config.get("ic_token_key"):
                self._set_meta("ic_token_key", config["ic_token_key"])
            protected = config.get("protected")
            if isinstance(protected, list):   # never-disclose set at any shelter (evac.disclosure.protection_digests)
                self.db.execute("DELETE FROM protected_forms")
                self.db.executemany("INSERT OR IGNORE INTO protected_forms(digest) VALUES (?)",
                                    [(d,) for d in protected if isinstance(d, str)])
            self._set_meta("config_applied", digest)
        self._heard.config_at = now.isoformat()   # not before: a configuration not written is fetched again

    def config_version(self) -> str:
        return self._meta("config_version") or ""

    def enrolled_shelter(self) -> str | None:
        """The shelter HQ enrolled this kiosk at, as HQ last said (None before the first sync)."""
        return self._meta("enrolled_shelter")

    def prereg_keys(self) -> dict[str, str]:
        return dict(self.db.execute("SELECT kid, public_raw FROM prereg_keys"))

    def prereg_revoked(self) -> set[str]:
        return {r[0] for r in self.db.execute("SELECT id FROM prereg_revoked")}

    def shelter_ids(self) -> set[str]:
        return {r[0] for r in self.db.execute("SELECT id FROM shelters")}

    def checked_in_at(self) -> set[str]:
        """The shelters this kiosk has checked people in at (its own, and any a form typed in named)."""
        return {r[0] for r in self.db.execute(
            "SELECT DISTINCT json_extract(body, '$.shelter_id') FROM events "
            "WHERE json_extract(body, '$.type') = 'checkin'") if r[0]}

    def shelter_list(self) -> list[tuple[str, str, str]]:
        """(id, name, kind) of every shelter this kiosk knows, by id."""
        return list(self.db.execute("SELECT id, name, kind FROM shelters ORDER BY id"))

    def shelter_kana(self) -> dict[str, str]:
        """Each shelter's reading (名称_カナ) where known, by id."""
        return dict(self.db.execute("SELECT id, name_kana FROM shelter_kana"))

    def shelter_statuses(self) -> dict[str, str]:
        """Each shelter's status as HQ last said it, by id (empty: HQ said none)."""
        return dict(self.db.execute("SELECT id, status FROM shelter_hq_status"))

    def shelter_name(self, shelter_id: str) -> str | None:
        row = self.db.execute("SELECT name FROM shelters WHERE id = ?", (shelter_id,)).fetchone()
        return row[0] if row else None

    def _require_shelter(self, shelter_id: str) -> None:
        if self.db.execute("SELECT 1 FROM shelters WHERE id = ?", (shelter_id,)).fetchone() is None:
            raise KioskError(f"unknown shelter id {shelter_id!r}: this kiosk knows no such shelter")

    # -- writing events ----------------------------------------------------
    def append(self, drafts: Sequence[dict], lift_protection: bool = False) -> list[Event]:
        """Write events atomically; returns them once they are durable.

        A draft is a wire event without kiosk_id, seq and hlc.  Each is
        validated exactly as HQ will validate it, so a kiosk can never queue
        an event that HQ would refuse (which would block its outbox).
        """
        with self._write():
            return self._append(drafts, lift_protection)

    def _append(self, drafts: Sequence[dict], lift_protection: bool = False) -> list[Event]:
        """`append` inside a transaction the caller holds.  A consent that would lift someone's
        never-disclose is written keeping it, unless `lift_protection` (a lead's decision)."""
        clock = HybridLogicalClock(self._hlc(), now_ms=self.now_ms)
        seq = self.db.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0]
        device = self.device_id
        now = self.now().isoformat(timespec="seconds")
        acting = acting_staff.get()
        boot = _since_boot()
        unchecked = boot is not None and not self._heard_hq_this_boot(boot)
        written = []
        for draft in drafts:
            seq += 1
            if draft.get("type") == CONSENT and not lift_protection and isinstance(draft.get("data"), dict) \
                    and not draft["data"].get("never_disclose") and isinstance(draft.get("person"), dict):
                p = draft["person"]
                try:
                    if self.is_protected(p.get("name"), p.get("birth_date"), p.get("address") or ""):
                        draft = {**draft, "data": {**draft["data"], "never_disclose": True}}
                except (TypeError, ValueError):
                    pass  # not a person at all: parse_event says why, below
            event = parse_event({**draft, "kiosk_id": device, "seq": seq, "hlc": clock.tick()})
            self.db.execute("INSERT INTO events(seq, hlc, body, written_at) VALUES (?, ?, ?, ?)",
                            (seq, event.hlc, canonical_json(event.to_wire()), now))
            if unchecked:
                self.db.execute("INSERT INTO unchecked_dates(seq, boot_id, boot_ms) VALUES (?, ?, ?)",
                                (seq, boot[0], boot[1]))
            keys = self._keys(event)   # normalised and looked up once, for both
            self._attribute(event, acting, keys)
            self._update_roster(event, keys)
            if event.type == CHECKIN and keys is not None:
                # Her own record (staff checked her in, having seen her in private) answers for her from now
                # on, as anyone's does: what was held back of her ends with it (hold_for_staff).
                self.db.execute("DELETE FROM held_back WHERE person_key IN (?, ?)", keys)
            written.append(event)
        self._set_meta("hlc", str(clock.last))
        self._wrote_records = self._wrote_records or bool(written)
        return written

    def _keys(self, ev: Event) -> tuple[str, str] | None:
        """(the key of the identity `ev` states, the roster key of whoever that is now), before `ev`
        changes anything; None for an event about no person."""
        if ev.person is None:
            return None
        p = ev.person
        said = person_key(p.name, p.birth_date, p.address)
        return said, self.current_key(said)

    def _attribute(self, ev: Event, acting: Acting | None, keys: tuple[str, str] | None) -> None:
        """Who wrote `ev` and whom it is about (before the roster moves on: a correction is filed
        under the identity it corrects), in the transaction that writes it."""
        if acting is not None:
            self.db.execute("INSERT INTO event_staff(seq, staff, via) VALUES (?, ?, ?)",
                            (ev.seq, acting.staff, acting.via))
        if keys is not None:
            self.db.execute("INSERT INTO event_person(seq, person_key) VALUES (?, ?)", (ev.seq, keys[1]))

    def _update_roster(self, ev: Event, keys: tuple[str, str] | None, refolding: bool = False) -> None:
        if keys is None:
            return
        if ev.type == CORRECTION:
            self._correct_roster(ev, keys[1], refolding)
            return
        p = ev.person
        said_key, key = keys
        row = self.db.execute("SELECT state, shelter_id, stay_type, household_id FROM roster WHERE person_key = ?",
                              (key,)).fetchone()
        where = Whereabouts(*row[:3]) if row else Whereabouts()
        if ev.type in LOCATION_TYPES:
            where = step(where, ev.type, ev.shelter_id, ev.data)
            # Written here after HQ's word that they had left: this record says where they are now.
            self.db.execute("DELETE FROM left_elsewhere WHERE person_key = ?", (key,))
        household = ev.household_id or (row[3] if row else "")
        if ev.type == CONSENT:
            if ev.data["never_disclose"]:
                self.db.execute("INSERT OR IGNORE INTO protected(person_key) VALUES (?)", (key,))
            else:
                self.db.execute("DELETE FROM protected WHERE person_key = ?", (key,))
        if key != said_key and row:
            # Said under an identity staff corrected away: the person's row keeps the corrected one.
            self.db.execute("UPDATE roster SET household_id = ?, state = ?, shelter_id = ?, stay_type = ?,"
                            " last_seq = ? WHERE person_key = ?",
                            (household, where.state, where.shelter_id, where.stay_type, ev.seq, key))
            return
        self.db.execute(
            "INSERT INTO roster(person_key, name, name_kana, birth_date, sex, address, prereg_id, household_id,"
            " state, shelter_id, stay_type, last_seq) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"
            " ON CONFLICT(person_key) DO UPDATE SET name=excluded.name, name_kana=excluded.name_kana,"
            " sex=excluded.sex, address=excluded.address, prereg_id=excluded.prereg_id,"
            " household_id=excluded.household_id, state=excluded.state, shelter_id=excluded.shelter_id,"
            " stay_type=excluded.stay_type, last_seq=excluded.last_seq",
            (key, p.name, p.name_kana, p.birth_date, p.sex, p.address, p.prereg_id, household,
             where.state, where.shelter_id, where.stay_type, ev.seq))

    def _correct_roster(self, ev: Event, old_key: str, refolding: bool = False) -> None:
        """The same person under their corrected identity: the roster row (`old_key`, whoever the
        corrected identity names now) and IC links move to the new key, keeping whereabouts and
        household.  Refused (the transaction rolls back) if the new identity is already someone else
        on this kiosk's roster.  `refolding` (_refold, under a newer identity form): that someone is
        now the same person, and the two rows become one."""
        new = Person(**ev.data["person"])  # validated with the event
        new_key = person_key(new.name, new.birth_date, new.address)
        if new_key == old_key:
            # Written under an older identity form, for which only the spelling differs now: restated.
            self._move_row(ev, new, old_key, new_key)
            return
        # Protection of the identity corrected away, wherever it was set (HQ's digests, a protected household
        # here), is the corrected identity's too, at once: HQ's digests name her by the old one until the
        # correction reaches HQ (hq_dashboard.safety.protected_identities links the two).
        old = ev.person
        carried = self.is_protected(old.name, old.birth_date, old.address, old.name_kana)
        taken = self.db.execute("SELECT last_seq FROM roster WHERE person_key = ?", (new_key,)).fetchone()
        if taken and not refolding:
            raise KioskError(f"{new.name} ({new.birth_date}) is already someone else on this kiosk's roster")
        if taken and self.db.execute("SELECT 1 FROM roster WHERE person_key = ?", (old_key,)).fetchone():
            # One row: where the person is, as the later of the two rows' records says.  Its links,
            # protection and the identities corrected to it stay on new_key.
            self.db.execute("UPDATE roster SET (household_id, state, shelter_id, stay_type) = (SELECT household_id,"
                            " state, shelter_id, stay_type FROM roster WHERE person_key = ?)"
                            " WHERE person_key = ? AND last_seq < ?", (new_key, old_key, taken[0]))
            self.db.execute("DELETE FROM roster WHERE person_key = ?", (new_key,))
        self._move_row(ev, new, old_key, new_key)
        self.db.execute("UPDATE ic_links SET person_key = ? WHERE person_key = ?", (new_key, old_key))
        # OR REPLACE: rows made one (refolding) stay protected if either was.
        self.db.execute("UPDATE OR REPLACE protected SET person_key = ? WHERE person_key = ?", (new_key, old_key))
        if carried:
            self.db.execute("INSERT OR IGNORE INTO protected(person_key) VALUES (?)", (new_key,))
        # HQ's word is not carried: HQ files this kiosk's records under the corrected identity as someone new,
        # where they are here (and says nothing of them), so the corrected person is here as HQ has them.
        # The cursor and the last word taken stay: they are of HQ's log, which this does not change.
        self.db.execute("DELETE FROM left_elsewhere WHERE person_key = ?", (old_key,))
        # Remember the way from the old identity (and from any it had replaced) to the new one;
        # correcting back makes the new one good again.
        self.db.execute("UPDATE corrected_keys SET new_key = ? WHERE new_key = ?", (new_key, old_key))
        self.db.execute("INSERT OR REPLACE INTO corrected_keys(old_key, new_key) VALUES (?, ?)", (old_key, new_key))
        self.db.execute("DELETE FROM corrected_keys WHERE old_key = new_key OR old_key = ?", (new_key,))

    def _move_row(self, ev: Event, new: Person, old_key: str, new_key: str) -> None:
        moved = self.db.execute(
            "UPDATE roster SET person_key = ?, name = ?, name_kana = ?, birth_date = ?, sex = ?, address = ?,"
            " last_seq = ? WHERE person_key = ?",
            (new_key, new.name, new.name_kana, new.birth_date, new.sex, new.address, ev.seq, old_key)).rowcount
        if not moved:
            raise KioskError(f"{ev.person.name} ({ev.person.birth_date}) is not known at this kiosk")

    def _refold(self) -> None:
        """The roster, whom each record is about, the corrections and the protection folded again from
        this kiosk's own log, as `_append` folded each record when it wrote it, under today's
        person_key (evac.identity.IDENTITY_FORM): a database whose keys were written under another form
        (or from before these tables), in the caller's transaction.  IC links follow their person.  The
        log itself is not touched: HQ has it as it is."""
        now_keys = {}   # each roster row's key -> its key under today's form
        for old_key, name, birth_date, address in self.db.execute(
                "SELECT person_key, name, birth_date, address FROM roster").fetchall():
            try:
                now_keys[old_key] = person_key(name, birth_date, address)
            except ValueError:
                pass   # a row no key can be made from: its links stay as they are
        # HQ's words name this kiosk's records: found again under today's keys once the log is folded.
        words = self.db.execute("SELECT seq, kind FROM left_elsewhere ORDER BY seq").fetchall()
        for table in ("roster", "event_person", "corrected_keys", "protected", "left_elsewhere"):
            self.db.execute(f"DELETE FROM {table}")
        for seq, body in self.db.execute("SELECT seq, body FROM written_events ORDER BY seq").fetchall():
            try:
                ev = stored_event(json.loads(body))
                keys = self._keys(ev)
            except (LookupError, TypeError, ValueError):
                continue   # a record no person can be read from: left out, the kiosk still opens
            self._attribute(ev, None, keys)
            # One record's roster move that cannot be made now (a correction of someone this log does
            # not know under today's keys) is left out, and only that.
            self.db.execute("SAVEPOINT refold_record")
            try:
                self._update_roster(ev, keys, refolding=True)
            except (LookupError, TypeError, ValueError, sqlite3.IntegrityError):
                self.db.execute("ROLLBACK TO refold_record")
            self.db.execute("RELEASE refold_record")
        for seq, kind in words:
            self._mark_left(seq, kind)
        for token, old_key in self.db.execute("SELECT token, person_key FROM ic_links").fetchall():
            if old_key in now_keys:
                self.db.execute("UPDATE ic_links SET person_key = ? WHERE token = ?",
                                (self.current_key(now_keys[old_key]), token))

    def is_protected(self, name: str, birth_date: str, address: str, name_kana: str = "") -> bool:
        """Never-disclose: set on this kiosk for this person, or for someone of their household here (the
        children, the parent who fled with the victim: as HQ decides, before the next sync says so), or
        (as HQ last said, protected households' members included) anywhere for anyone sharing a name
        form, in kanji or kana, and the birth date with them."""
        key = self.current_key(person_key(name, birth_date, address))
        if self.db.execute("SELECT 1 FROM protected WHERE person_key = ?", (key,)).fetchone() is not None:
            return True
        if self.db.execute("SELECT 1 FROM roster AS me JOIN roster AS member ON member.household_id = me.household_id"
                           " JOIN protected ON protected.person_key = member.person_key"
                           " WHERE me.person_key = ? AND me.household_id != '' LIMIT 1", (key,)).fetchone():
            return True
        key_hex = self._meta("ic_token_key")
        if not key_hex or self.db.execute("SELECT 1 FROM protected_forms LIMIT 1").fetchone() is None:
            return False
        digests = protection_digests(bytes.fromhex(key_hex), protection_forms(name, name_kana, birth_date))
        return any(self.db.execute("SELECT 1 FROM protected_forms WHERE digest = ?", (d,)).fetchone() for d in digests)

    def current_key(self, key: str) -> str:
        """The roster key of whoever `key` names now (itself, unless staff corrected that identity)."""
        row = self.db.execute("SELECT new_key FROM corrected_keys WHERE old_key = ?", (key,)).fetchone()
        return row[0] if row else key

    def check_in(self, shelter_id: str, persons: Sequence[Person], stay_type: str = "in_shelter",
                 household_id: str = "", needs: Sequence[Sequence[str]] | None = None,
                 disclosure: str | None = None, family_code: str = "", never_disclose: bool = False,
                 unvouched: Sequence[bool] = ()) -> list[Event]:
        """Check a person, or a household present together, in at one shelter.

        `needs` (one list per person, in order) and the household's disclosure consent for
        family inquiries (a `consent` event per person: evac.disclosure) go in the same
        transaction as the check-in: all of it or nothing.  No consent is written for a person
        `unvouched` marks (typed in at the screen beside whoever was identified: nothing says it is them
        nor that they chose it)."""
        self._require_shelter(shelter_id)
        return self.append(self.check_in_drafts(shelter_id, persons, stay_type, household_id, needs, disclosure,
                                                family_code, never_disclose, unvouched))

    @staticmethod
    def check_in_drafts(shelter_id: str, persons: Sequence[Person], stay_type: str = "in_shelter",
                        household_id: str = "", needs: Sequence[Sequence[str]] | None = None,
                        disclosure: str | None = None, family_code: str = "", never_disclose: bool = False,
                        unvouched: Sequence[bool] = ()) -> list[dict]:
        """The records check_in writes, before any store holds them (`evac kiosk checkin` checks them before
        it makes a new database for them)."""
        if not persons:
            raise KioskError("nobody to check in")
        if len(persons) > 1 and not household_id:
            household_id = "hh-" + uuid.uuid4().hex[:16]
        drafts = []
        for i, p in enumerate(persons):
            drafts.append({"type": CHECKIN, "shelter_id": shelter_id, "person": p.to_wire(),
                           "household_id": household_id, "data": {"stay_type": stay_type}})
            if needs and needs[i]:
                drafts.append({"type": NEEDS, "shelter_id": shelter_id, "person": p.to_wire(),
                               "household_id": household_id, "data": {"needs": list(needs[i])}})
            if (disclosure is not None or never_disclose) and not (i < len(unvouched) and unvouched[i]):
                drafts.append({"type": CONSENT, "shelter_id": shelter_id, "person": p.to_wire(),
                               "household_id": household_id,
                               "data": {"consent": disclosure or "none", "family_code": family_code,
                                        "never_disclose": never_disclose}})
        return drafts

    def set_consent(self, shelter_id: str, name: str, birth_date: str, address: str, consent: dict) -> Event:
        """What family inquiries may be told about someone this kiosk knows, or never-disclose."""
        entry = self._known(name, birth_date, address)
        (event,) = self.append([{"type": CONSENT, "shelter_id": shelter_id, "person": entry.person.to_wire(),
                                 "household_id": entry.household_id, "data": consent}])
        return event

    def check_in_prereg(self, shelter_id: str, household, stay_type: str = "in_shelter") -> list[Event]:
        """Check in every member of a pre-registered household (from its verified QR) at once,
        with the needs and the disclosure consent they registered."""
        persons = [Person(m.name, m.birth_date, m.sex, household.address, m.name_kana, m.prereg_id)
                   for m in household.members]
        return self.check_in(shelter_id, persons, stay_type, household.household_id,
                             [m.needs for m in household.members], household.consent,
                             household.family_code)

    def ic_token_key(self) -> bytes:
        return bytes.fromhex(self._meta("ic_token_key") or "")

    def link_ic(self, token: str, name: str, birth_date: str, address: str,
                shelter_id: str | None = None) -> RosterEntry:
        """Staff link a transport IC card to someone this kiosk knows; later taps check them in or out."""
        entry = self._known(name, birth_date, address)
        with self._write():
            self._save_link(token, entry.person)
            # HQ learns the link with the next sync, so the card works at every shelter.
            where = entry.where.shelter_id or shelter_id
            if not where:
                raise KioskError("link the card where the person is registered: this kiosk's shelter is not known")
            self._append([{"type": IC_LINK, "shelter_id": where,
                           "person": entry.person.to_wire(), "household_id": entry.household_id,
                           "data": {"token": token}}])
        return entry

    def _save_link(self, token: str, person: Person) -> None:
        self.db.execute("INSERT INTO ic_links(token, person_key, linked_at) VALUES (?, ?, ?)"
                        " ON CONFLICT(token) DO UPDATE SET person_key = excluded.person_key,"
                        " linked_at = excluded.linked_at",
                        (token, self.current_key(person_key(person.name, person.birth_date, person.address)),
                         self.now().isoformat(timespec="seconds")))

    def is_linked(self, token: str) -> bool:
        return self.db.execute("SELECT 1 FROM ic_links WHERE token = ?", (token,)).fetchone() is not None

    def adopt_link(self, token: str, person: Person, household_id: str, shelter_id: str) -> tuple[str, Event]:
        """A card linked at another shelter, looked up at HQ: remember the link here and check the holder in."""
        self._require_shelter(shelter_id)
        with self._write():
            self._save_link(token, person)
            (event,) = self._append([{"type": CHECKIN, "shelter_id": shelter_id, "person": person.to_wire(),
                                      "household_id": household_id, "data": {"stay_type": "in_shelter"}}])
        return "checked_in", event

    def ic_holder(self, token: str) -> RosterEntry | None:
        """The person a transport IC card is linked to, or None."""
        row = self.db.execute("SELECT person_key FROM ic_links WHERE token = ?", (token,)).fetchone()
        if row is None:
            return None
        found = self.db.execute(
            "SELECT name, birth_date, sex, address, name_kana, prereg_id, household_id, state, shelter_id, stay_type"
            " FROM roster_seen WHERE person_key = ?", (row[0],)).fetchone()
        return RosterEntry(Person(*found[:6]), found[6], Whereabouts(*found[7:]))

    def tap_ic(self, token: str, shelter_id: str) -> tuple[str, Event]:
        """A linked card tapped: check the holder out if checked in here, otherwise in."""
        entry = self.ic_holder(token)
        if entry is None:
            raise KioskError("this IC card is not linked to anyone yet; please ask staff")
        if entry.where.state == CHECKED_IN and entry.where.shelter_id == shelter_id:
            return "checked_out", self.check_out(entry.person.name, entry.person.birth_date, entry.person.address)
        (event,) = self.check_in(shelter_id, [entry.person], household_id=entry.household_id)
        return "checked_in", event

    def find(self, name: str, birth_date: str, address: str) -> RosterEntry | None:
        row = self.db.execute(
            "SELECT name, birth_date, sex, address, name_kana, prereg_id, household_id, state, shelter_id, stay_type"
            " FROM roster_seen WHERE person_key = ?", (self.current_key(person_key(name, birth_date, address)),)).fetchone()
        if row is None:
            return None
        return RosterEntry(Person(*row[:6]), row[6], Whereabouts(*row[7:]))

    def last_seen(self, name: str, birth_date: str, address: str) -> tuple[str, str | None, str] | None:
        """(state, shelter, HQ's word that they left elsewhere: 'moved', 'left' or '') of someone this
        kiosk's roster knows, as staff see it; None for someone it does not."""
        return self.db.execute("SELECT state, shelter_id, left_elsewhere FROM roster_seen WHERE person_key = ?",
                               (self.current_key(person_key(name, birth_date, address)),)).fetchone()

    def qr_proves(self, p: Person) -> bool:
        """Whether a pre-registration QR's member `p` may be acted on as someone this kiosk knows.
        HQ's public pre-registration signs whatever identity anyone types, so a QR proves only itself:
        it speaks for someone on this roster only if they were checked in here with this same
        pre-registration (the roster keeps its id).  Anyone checked in by card or by staff, or under
        another pre-registration, is someone a QR cannot act on (災対法 §86-15: an ex-partner knows name,
        birth date and address).  Someone the roster does not know yet is new here: a family arriving
        with its QR, unless its pre-registration id is on the roster under another identity: the family
        changed the name or birth date since (a new QR) and, checked in again as new, the person would be
        on the roster twice; staff correct the record instead."""
        entry = self.find(p.name, p.birth_date, p.address)
        if entry is not None:
            return bool(p.prereg_id) and entry.person.prereg_id == p.prereg_id
        return not (p.prereg_id and self.db.execute("SELECT 1 FROM roster WHERE prereg_id = ? LIMIT 1",
                                                    (p.prereg_id,)).fetchone())

    def _checked_in_here(self, name: str, birth_date: str, address: str) -> RosterEntry:
        entry = self.find(name, birth_date, address)
        if entry is None or entry.where.state != CHECKED_IN:
            raise KioskError(f"{name} ({birth_date}) is not checked in at this kiosk's shelter")
        return entry

    # Check-out, transfer, leaving and stay type decide "checked in here?" inside the transaction that
    # writes: two taps of the same confirm (a slow tablet, a retried script) cannot both pass it.

    def check_out(self, name: str, birth_date: str, address: str) -> Event:
        with self._write():
            entry = self._checked_in_here(name, birth_date, address)
            return self._append([{"type": CHECKOUT, "shelter_id": entry.where.shelter_id,
                                  "person": entry.person.to_wire(), "household_id": entry.household_id}])[0]

    def transfer(self, name: str, birth_date: str, address: str, to_shelter_id: str) -> Event:
        with self._write():
            entry = self._checked_in_here(name, birth_date, address)
            self._require_shelter(to_shelter_id)
            if to_shelter_id == entry.where.shelter_id:
                raise KioskError("the destination is the shelter they are already in")
            return self._append([{"type": TRANSFER, "shelter_id": entry.where.shelter_id,
                                  "person": entry.person.to_wire(), "household_id": entry.household_id,
                                  "data": {"to_shelter_id": to_shelter_id}}])[0]

    def leave(self, people: Sequence[tuple[str, str, str]], to_shelter_id: str | None = None) -> list[Event]:
        """Several people (name, birth date, address) check out, or move on to another shelter, together:
        all of them or, if any cannot, none."""
        with self._write():
            drafts = []
            for who in people:
                entry = self._checked_in_here(*who)
                draft = {"type": CHECKOUT, "shelter_id": entry.where.shelter_id, "person": entry.person.to_wire(),
                         "household_id": entry.household_id}
                if to_shelter_id is not None:
                    self._require_shelter(to_shelter_id)
                    if to_shelter_id == entry.where.shelter_id:
                        raise KioskError("the destination is the shelter they are already in")
                    draft.update(type=TRANSFER, data={"to_shelter_id": to_shelter_id})
                drafts.append(draft)
            return self._append(drafts)

    def set_stay_type(self, name: str, birth_date: str, address: str, stay_type: str) -> Event:
        with self._write():
            entry = self._checked_in_here(name, birth_date, address)
            return self._append([{"type": STAY_TYPE, "shelter_id": entry.where.shelter_id,
                                  "person": entry.person.to_wire(), "household_id": entry.household_id,
                                  "data": {"stay_type": stay_type}}])[0]

    def register(self, shelter_id: str, persons: Sequence[Person], household_id: str = "") -> list[Event]:
        """Make people known (a household's members, say) without checking them in."""
        self._require_shelter(shelter_id)
        if len(persons) > 1 and not household_id:
            household_id = "hh-" + uuid.uuid4().hex[:16]
        return self.append([{"type": REGISTER, "shelter_id": shelter_id, "person": p.to_wire(),
                             "household_id": household_id} for p in persons])

    def _known(self, name: str, birth_date: str, address: str) -> RosterEntry:
        entry = self.find(name, birth_date, address)
        if entry is None:
            raise KioskError(f"{name} ({birth_date}) is not known at this kiosk")
        return entry

    def set_needs(self, shelter_id: str, name: str, birth_date: str, address: str, needs: Sequence[str]) -> Event:
        entry = self._known(name, birth_date, address)
        return self.append([{"type": NEEDS, "shelter_id": shelter_id, "person": entry.person.to_wire(),
                             "household_id": entry.household_id, "data": {"needs": list(needs)}}])[0]

    def set_status(self, shelter_id: str, name: str, birth_date: str, address: str, status: str,
                   note: str = "") -> Event:
        entry = self._known(name, birth_date, address)
        return self.append([{"type": STATUS, "shelter_id": shelter_id, "person": entry.person.to_wire(),
                             "household_id": entry.household_id, "data": {"status": status, "note": note}}])[0]

    # -- calls for staff (from the screen's "I have nothing"); local, not events: nobody's data
    def call_staff(self, language: str, reason: str = "no_id", again: int | None = None,
                   who: Sequence[str] = ()) -> int:
        """A call from the screen: `reason` "no_id" (the person pressed for staff: no card or QR), or
        SENT_TO_STAFF (the screen refused what they asked and told them to ask staff).  `again`: the call
        this person raised before, which stands (in the language they use now) while staff have not
        answered it.  A press for staff within STAFF_CALL_PRESSES_JOIN_S of the screen's last call, while
        that call is open, joins it: nobody is known by a press, so the time tells.  Decided under the
        write lock, so two presses at once cannot both add a call.  `who`: whom it is about, for the tablet
        (PREREG_CHANGED); a call joined for that reason takes it, as the one staff can act on."""
        with self._write():
            now = self.now_ms()
            call = None
            for earlier in (again, self._last_call_pressed(now) if reason not in SCREEN_REASONS else None):
                # every language pressed is kept (comma-separated, in the order pressed): staff come to
                # the screen knowing each one the people there read
                if earlier is not None and self.db.execute(
                        "UPDATE staff_calls SET language = CASE WHEN instr(',' || language || ',', ',' || ? || ',')"
                        " THEN language ELSE language || ',' || ? END,"
                        " reason = CASE WHEN ? IN (?, ?, ?) THEN ? ELSE reason END"
                        " WHERE id = ? AND answered_at IS NULL",
                        (language, language, reason, PREREG_CHANGED, SHELTER_CLOSED, HOUSEHOLD_LEFT_BEHIND, reason,
                         earlier)).rowcount:
                    call = earlier
                    break
            if call is None:
                call = self.db.execute("INSERT INTO staff_calls(called_at, language, reason) VALUES (?, ?, ?)",
                                       (self.now().isoformat(timespec="seconds"), language, reason)).lastrowid
            self.db.executemany("INSERT OR IGNORE INTO staff_call_people(call_id, who) VALUES (?, ?)",
                                [(call, w) for w in who])
            self._set_meta(LAST_STAFF_CALL, f"{call} {now}")
            # (a call joined from before the screen had tokens gets one here)
            self.db.execute("INSERT OR IGNORE INTO staff_call_tokens(call_id, token) VALUES (?, ?)",
                            (call, secrets.token_urlsafe(16)))
        return call

    def staff_call_token(self, call_id: int) -> str:
        """What the screen is given for a call it raised (call_staff), and asks after it by: never the id."""
        return self.db.execute("SELECT token FROM staff_call_tokens WHERE call_id = ?", (call_id,)).fetchone()[0]

    def screen_call_open(self, token: str) -> bool:
        """Whether staff have yet to answer the screen's call `token`; any other string (an id) is no call."""
        return self.db.execute("SELECT 1 FROM staff_call_tokens t JOIN staff_calls c ON c.id = t.call_id"
                               " WHERE t.token = ? AND c.answered_at IS NULL AND c.reason != ?",
                               (token, HELD_PROTECTED)).fetchone() is not None

    def hold_for_staff(self, language: str, who: Sequence[str], held: Mapping[str, HeldBack] | None = None) -> int:
        """A check-in held back for staff (HELD_PROTECTED), naming whom.  Never joined to a press nor made
        the screen's last call: a press after it joins what it would have joined without it.  No token
        (staff_call_tokens): the screen is told nothing of it, and its tokens count nothing.  `held`: what was
        held back, by person_key, kept (held_back) in the same transaction as the call: a power cut leaves
        neither without the other."""
        with self._write():
            call = self.db.execute("INSERT INTO staff_calls(called_at, language, reason) VALUES (?, ?, ?)",
                                   (self.now().isoformat(timespec="seconds"), language, HELD_PROTECTED)).lastrowid
            self.db.executemany("INSERT OR IGNORE INTO staff_call_people(call_id, who) VALUES (?, ?)",
                                [(call, w) for w in who])
            self.db.executemany(
                "INSERT OR REPLACE INTO held_back(person_key, prereg_id, household_id, state, shelter_id)"
                " VALUES (?, ?, ?, ?, ?)",
                [(key, h.prereg_id, h.household_id, h.state, h.shelter_id) for key, h in (held or {}).items()])
        return call

    def held_back(self, key: str) -> HeldBack | None:
        """What was last held back for staff under person_key `key` (hold_for_staff), as asked of since."""
        row = self.db.execute("SELECT prereg_id, household_id, state, shelter_id FROM held_back WHERE person_key = ?",
                              (key,)).fetchone()
        return None if row is None else HeldBack(*row)

    def held_back_left(self, keys: Sequence[str], to_shelter_id: str | None = None) -> None:
        """People held back for staff checked out, or moved on to `to_shelter_id`, as if they had been checked in."""
        with self._write():
            self.db.executemany("UPDATE held_back SET state = ?, shelter_id = ? WHERE person_key = ?",
                                [(CHECKED_OUT, to_shelter_id, key) for key in keys])

    def held_back_in(self, household_id: str, shelter_id: str) -> list[str]:
        """The keys of the household's people held back for staff as checked in at `shelter_id`."""
        return [k for (k,) in self.db.execute(
            "SELECT person_key FROM held_back WHERE household_id = ? AND state = ? AND shelter_id = ?",
            (household_id, CHECKED_IN, shelter_id))]

    def _last_call_pressed(self, now_ms: int) -> int | None:
        """The call the screen's last press (or refusal) went to, if that was recent."""
        call, _, at = (self._meta(LAST_STAFF_CALL) or "").partition(" ")
        try:
            recent = abs(now_ms - int(at)) <= STAFF_CALL_PRESSES_JOIN_S * 1000
            return int(call) if recent else None
        except ValueError:
            return None

    def staff_call_open(self, call_id: int) -> bool:
        return self.db.execute("SELECT 1 FROM staff_calls WHERE id = ? AND answered_at IS NULL",
                               (call_id,)).fetchone() is not None

    def open_staff_calls(self, with_who: bool = False, with_token: bool = False) -> list[dict]:
        """Calls not answered yet; `with_who`: with whom each is about (names: for the staff tablet only);
        `with_token`: with the screen's token for each (`call`: None for a call it has none for)."""
        rows = self.db.execute("SELECT c.id, c.called_at, c.language, c.reason, t.token FROM staff_calls c"
                               " LEFT JOIN staff_call_tokens t ON t.call_id = c.id"
                               " WHERE c.answered_at IS NULL ORDER BY c.id")
        calls = [{**dict(zip(("id", "called_at", "language", "reason"), r)), **({"call": r[4]} if with_token else {})}
                 for r in rows]
        for call in calls:
            # `languages`: every one pressed; `language`: the last (as before)
            call["languages"] = [lang for lang in call["language"].split(",") if lang]
            call["language"] = call["languages"][-1] if call["languages"] else call["language"]
        if with_who:
            for call in calls:
                call["who"] = [w for (w,) in self.db.execute(
                    "SELECT who FROM staff_call_people WHERE call_id = ? ORDER BY rowid", (call["id"],))]
        return calls

    def prereg_renamed(self, p: Person) -> RosterEntry | None:
        """The roster's person under a QR member's pre-registration id when the QR names them otherwise (the
        family changed the name or birth date at HQ since: qr_proves refuses the QR's member)."""
        if not p.prereg_id or self.find(p.name, p.birth_date, p.address) is not None:
            return None
        row = self.db.execute("SELECT name, birth_date, sex, address, name_kana, prereg_id, household_id, state,"
                              " shelter_id, stay_type FROM roster_seen WHERE prereg_id = ? LIMIT 1",
                              (p.prereg_id,)).fetchone()
        return None if row is None else RosterEntry(Person(*row[:6]), row[6], Whereabouts(*row[7:]))

    def answer_staff_call(self, call_id: int) -> None:
        with self._write():
            self.db.execute("UPDATE staff_calls SET answered_at = ? WHERE id = ? AND answered_at IS NULL",
                            (self.now().isoformat(timespec="seconds"), call_id))

    def checked_in(self, shelter_id: str | None = None) -> list[RosterEntry]:
        sql, args = self._checked_in_where(shelter_id)
        return [RosterEntry(Person(*r[:6]), r[6], Whereabouts(*r[7:])) for r in self.db.execute(
            "SELECT name, birth_date, sex, address, name_kana, prereg_id, household_id, state, shelter_id,"
            " stay_type FROM roster_seen" + sql + " ORDER BY last_seq", args)]

    def count_checked_in(self, shelter_id: str | None = None) -> int:
        """How many checked_in() would list, counted by SQLite: the status page and /api/status are polled,
        and building the whole roster only to count it grows with the shelter (12,000 people: 43 ms, 0.7 ms)."""
        sql, args = self._checked_in_where(shelter_id)
        return self.db.execute("SELECT COUNT(*) FROM roster_seen" + sql, args).fetchone()[0]

    # -- HQ's word on people seen elsewhere since (hq_dashboard.left_elsewhere) --------------------
    def left_elsewhere_after(self) -> int:
        """The last of HQ's words on this kiosk's people that it took (0: none yet)."""
        try:
            after = int(self._meta("left_elsewhere_after") or 0)
        except ValueError:   # not a number (edited by hand): HQ's words are read again from the start
            return 0
        # Beyond any id HQ gives (and HQ refuses it): read again from the start, not refused every round.
        return after if 0 <= after < WORD_LIMIT else 0

    def left_elsewhere_last(self) -> dict | None:
        """The last of HQ's words this kiosk took, {seq, kind}, and how many it has taken (`count`, when
        known: not for words taken before this was kept), sent with the cursor: HQ restored from a backup
        whose log grew again past the cursor gave its ids to other words, and tells it by them.  None: no
        word taken yet, or not known."""
        try:
            last = json.loads(self._meta("left_elsewhere_last") or "null")
        except ValueError:
            return None
        return last if isinstance(last, dict) and self.left_elsewhere_after() > 0 else None

    def note_left_elsewhere(self, people: Sequence, after: int | None = None, from_start: bool = False) -> None:
        """HQ's words, [seq, kind] each: this kiosk's record `seq` no longer says where its person is
        ("moved": at another shelter; "left": checked out elsewhere, or nothing more said) or says it again
        (""), in HQ's order.  Only the roster as seen changes: no record is written, HQ has the move.
        `after`: where HQ's words stopped (read from there next); `from_start`: HQ's words begin again
        (its database was restored), those taken before are dropped."""
        if not people and not from_start and (after is None or after == self.left_elsewhere_after()):
            return   # an idle round's answer: nothing is written
        with self._write():
            if from_start:
                self.db.execute("DELETE FROM left_elsewhere")
            for said in people:
                if _readable_word(said):
                    self._mark_left(*said)
            if after is not None:
                self._note_last_taken(people, after, from_start)
                self._set_meta("left_elsewhere_after", str(after))

    def _note_last_taken(self, people: Sequence, after: int, from_start: bool) -> None:
        """left_elsewhere_last as of this answer (before the cursor moves to `after`)."""
        if from_start or self.left_elsewhere_after() == 0:
            before = {"count": 0}            # every word taken since HQ's log began for this kiosk
        else:
            before = self.left_elsewhere_last() or {}
        said = people[-1] if people else None
        if said is None:
            last = before if after > 0 and "seq" in before else None
        elif _readable_word(said):
            last = {"seq": said[0], "kind": said[1]}
            if isinstance(before.get("count"), int):
                last["count"] = before["count"] + len(people)
        else:
            last = None                      # a word this kiosk cannot say back: the cursor alone, as before
        if last is None:
            self.db.execute("DELETE FROM meta WHERE key = 'left_elsewhere_last'")
        else:
            self._set_meta("left_elsewhere_last", json.dumps(last, ensure_ascii=False))

    def _mark_left(self, seq: int, kind: str) -> None:
        """One of HQ's words: the person this kiosk's record `seq` is about, under the key the roster knows
        them by now (after corrections and re-keying), marked as left, unless a location record written
        here after `seq` says where they are (a later check-in here wins); or unmarked ("")."""
        row = self.db.execute("SELECT person_key FROM event_person WHERE seq = ?", (seq,)).fetchone()
        if row is None:
            return
        key = self.current_key(row[0])
        if kind == "":
            self.db.execute("DELETE FROM left_elsewhere WHERE person_key = ? AND seq = ?", (key, seq))
            return
        if kind not in ("moved", "left"):
            return   # a word of a newer HQ this kiosk does not know: the roster stays as it is
        keys = [key] + [r[0] for r in self.db.execute("SELECT old_key FROM corrected_keys WHERE new_key = ?", (key,))]
        later = self.db.execute(
            "SELECT w.body FROM event_person p JOIN written_events w ON w.seq = p.seq"
            f" WHERE p.person_key IN ({','.join('?' * len(keys))}) AND p.seq > ?", (*keys, seq)).fetchall()
        if any(json.loads(body).get("type") in LOCATION_TYPES for (body,) in later):
            return
        self.db.execute("INSERT OR REPLACE INTO left_elsewhere(person_key, seq, kind) VALUES (?, ?, ?)",
                        (key, seq, kind))

    @staticmethod
    def _checked_in_where(shelter_id: str | None) -> tuple[str, tuple]:
        if shelter_id:
            return " WHERE state = 'checked_in' AND shelter_id = ?", (shelter_id,)
        return " WHERE state = 'checked_in'", ()

    # -- outbox ------------------------------------------------------------
    @property
    def acked_seq(self) -> int:
        """What HQ holds from this database: as the file says, or as HQ said to this process when the
        file would not take it (a full disk, kiosk/heard.py)."""
        stored = int(self._meta("acked_seq"))
        unwritten = self._heard.unwritten_ack
        if unwritten is not None and unwritten[:2] == (self.device_id, stored):
            return unwritten[2]
        return stored

    @property
    def last_seq(self) -> int:
        return self.db.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0]

    def pending(self) -> int:
        return self.last_seq - self.acked_seq

    def outbox(self, limit: int) -> list[dict]:
        """The next events HQ has not acknowledged, oldest first, as sent on the wire."""
        rows = self.db.execute("SELECT body FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
                               (self.acked_seq, limit))
        return [json.loads(r[0]) for r in rows]

    def events_after(self, seq: int) -> list[dict]:
        """Every event after `seq`, oldest first, as sent on the wire (a carried file's, evac.carried)."""
        return [json.loads(r[0]) for r in self.db.execute("SELECT body FROM events WHERE seq > ? ORDER BY seq",
                                                          (seq,))]

    def set_acked(self, seq: int) -> None:
        """What HQ holds, from its answer; the time of the sync with it.  A changed acknowledgement is
        written at once; the same one again (an idle round) writes nothing, but the time once a minute."""
        if not 0 <= seq <= self.last_seq:
            raise KioskError(f"HQ acknowledged event {seq}, but this kiosk has only written {self.last_seq}")
        now = self.now()
        refused = self._meta("refused")
        stored = int(self._meta("acked_seq"))
        if seq == stored and not (refused and json.loads(refused)["seq"] <= seq) \
                and not self._sync_time_old(now):
            self._heard.sync_at = now.isoformat(timespec="seconds")
            self._heard.unwritten_ack = None
            return
        # HQ answered, whether or not the file takes it: the pages of this process say so.
        self._heard.sync_at = now.isoformat(timespec="seconds")
        try:
            with self._write():
                self._set_meta("acked_seq", str(seq))
                self._set_meta("last_sync_at", now.isoformat(timespec="seconds"))
                refused = self._meta("refused")
                if refused and json.loads(refused)["seq"] <= seq:   # HQ took it after all (HQ was fixed)
                    self.db.execute("DELETE FROM meta WHERE key = 'refused'")
        except sqlite3.Error:
            # Kept in memory for this process (the next batch is read from it); raised all the same,
            # for the sync to say the disk would not take it.
            self._heard.unwritten_ack = (self.device_id, stored, seq)
            raise
        self._heard.unwritten_ack = None

    # -- a record HQ refuses for good, and its withdrawal ---------------------
    def note_refusal(self, seq: int, message: str, sent: dict | None = None, code: str = "") -> None:
        """HQ refused the batch because of the record `seq` (its answer's index): remembered for the
        tablet, which shows it and lets the lead withdraw it.  Not if the record is no longer what was
        `sent` (the lead withdrew it while the batch was on its way)."""
        with self._write():
            if sent is not None:
                row = self.db.execute("SELECT body FROM events WHERE seq = ?", (seq,)).fetchone()
                if row is None or row[0] != canonical_json(sent):
                    return
            self._set_meta("refused", json.dumps({"seq": seq, "message": message, "code": code}, ensure_ascii=False))

    def refusal(self) -> Refusal | None:
        raw = self._meta("refused")
        if raw is None:
            return None
        noted = json.loads(raw)
        row = self.db.execute("SELECT body FROM events WHERE seq = ?", (noted["seq"],)).fetchone()
        if row is None or noted["seq"] <= self.acked_seq:
            return None
        event, code = json.loads(row[0]), noted.get("code", "")
        if hq_lacks_type(code, noted["message"], event):   # noted so by a kiosk version from before HQ_OUTDATED
            code = HQ_OUTDATED
        return Refusal(noted["seq"], noted["message"], event, code)

    def withdraw(self, seq: int, reason: str, by: str, kiosk_shelter: str = "") -> Event:
        """Withdraw the record HQ refuses, so that the records after it reach HQ: in one transaction the
        original is kept in withdrawn_events and its events row becomes a `withdrawn` placeholder with
        the same seq and hlc.  The roster stays as it is: this kiosk still knows the person.  Only the
        record HQ refused at the last sync, and only while HQ has not acknowledged it."""
        with self._write():
            raw = self._meta("refused")
            noted = json.loads(raw) if raw else None
            if noted is None or noted["seq"] != seq:
                raise KioskError(f"record {seq} is not the one HQ refuses: only that record can be withdrawn",
                                 ja=f"記録 {seq} は本部が受け付けない記録ではありません。取り下げられるのはその記録だけです",
                                 about="seq")
            if seq <= self.acked_seq:
                raise KioskError(f"HQ already holds record {seq}: it cannot be withdrawn",
                                 ja=f"本部は記録 {seq} をすでに受け取っています。取り下げられません", about="seq")
            row = self.db.execute("SELECT body FROM events WHERE seq = ?", (seq,)).fetchone()
            if row is None:
                raise KioskError(f"this kiosk has no record {seq}", ja=f"この端末に記録 {seq} はありません", about="seq")
            original = json.loads(row[0])
            if original.get("type") == WITHDRAWN:
                raise KioskError(f"record {seq} is already withdrawn; HQ refuses even the withdrawal: "
                                 "HQ's software must be updated — call HQ",
                                 ja=f"記録 {seq} はすでに取り下げてありますが、本部は取り下げも受け付けません。"
                                 "本部のソフトウェアの更新が必要です。本部に連絡してください")
            if hq_lacks_type(noted.get("code", ""), noted.get("message", ""), original):
                raise KioskError(f"record {seq} must not be withdrawn: HQ's software is older than this kiosk's and "
                                 f"does not know this kind of record ({original.get('type')}) — ask HQ to update "
                                 "its software; the records stay queued on this kiosk and are sent once HQ is "
                                 "updated",
                                 ja=f"記録 {seq} は取り下げないでください。本部のソフトウェアがこの端末より古く、この種類の"
                                 f"記録（{original.get('type')}）を知りません。本部にソフトウェアの更新を頼んでください。"
                                 "記録はこの端末に残り、更新後に送られます")
            try:
                placeholder = parse_event(withdrawal(original, kiosk_shelter, reason))
            except InvalidEvent as exc:
                raise KioskError(str(exc), about="event") from None
            now = self.now().isoformat(timespec="seconds")
            self.db.execute("INSERT INTO withdrawn_events(seq, body, reason, withdrawn_by, withdrawn_at)"
                            " VALUES (?, ?, ?, ?, ?)", (seq, row[0], placeholder.data["reason"], by, now))
            self.db.execute("UPDATE events SET body = ? WHERE seq = ?",
                            (canonical_json(placeholder.to_wire()), seq))
            self.db.execute("DELETE FROM meta WHERE key = 'refused'")
        return placeholder

    def withdrawn(self) -> list[Withdrawn]:
        """Every record withdrawn on this kiosk, newest first."""
        return [Withdrawn(seq, json.loads(body), reason, by, at) for seq, body, reason, by, at in self.db.execute(
            "SELECT seq, body, reason, withdrawn_by, withdrawn_at FROM withdrawn_events ORDER BY seq DESC")]

    # -- who wrote what (event_staff, event_person: this kiosk's own, never synced) ----------
    def staff_records(self, staff: str | None = None, self_service: bool = False, before: int | None = None,
                      limit: int = 50) -> list[Attributed]:
        """Records written for staff, newest first: everyone's, or `staff`'s only; or, `self_service`,
        those the evacuee screen wrote (since this kiosk recorded who).  `before`: older than that seq."""
        before = before if before is not None else self.last_seq + 1
        if self_service:
            rows = self.db.execute(
                "SELECT e.seq, NULL, NULL FROM events e WHERE e.seq < ? AND e.seq >= ?"
                " AND NOT EXISTS (SELECT 1 FROM event_staff s WHERE s.seq = e.seq) ORDER BY e.seq DESC LIMIT ?",
                (before, self.staff_recorded_from(), limit)).fetchall()
        elif staff is not None:
            rows = self.db.execute("SELECT seq, staff, via FROM event_staff WHERE staff = ? AND seq < ?"
                                   " ORDER BY seq DESC LIMIT ?", (staff, before, limit)).fetchall()
        else:
            rows = self.db.execute("SELECT seq, staff, via FROM event_staff WHERE seq < ? ORDER BY seq DESC LIMIT ?",
                                   (before, limit)).fetchall()
        return self._attributed(rows)

    def person_records(self, key: str, limit: int = 20) -> list[Attributed]:
        """The newest records about the person `key` names (under identities corrected away too)."""
        key = self.current_key(key)
        keys = [key] + [r[0] for r in self.db.execute("SELECT old_key FROM corrected_keys WHERE new_key = ?", (key,))]
        rows = self.db.execute(
            "SELECT p.seq, s.staff, s.via FROM event_person p LEFT JOIN event_staff s ON s.seq = p.seq"
            f" WHERE p.person_key IN ({','.join('?' * len(keys))}) ORDER BY p.seq DESC LIMIT ?",
            (*keys, limit)).fetchall()
        return self._attributed(rows)

    def _attributed(self, rows: Sequence[tuple[int, str | None, str | None]]) -> list[Attributed]:
        recorded_from = self.staff_recorded_from()
        bodies = {seq: (body, by) for seq, body, by in self.db.execute(
            "SELECT e.seq, COALESCE(w.body, e.body), w.withdrawn_by FROM events e"
            f" LEFT JOIN withdrawn_events w ON w.seq = e.seq WHERE e.seq IN ({','.join('?' * len(rows))})",
            [r[0] for r in rows])} if rows else {}
        return [Attributed(seq, json.loads(bodies[seq][0]), staff, via, seq >= recorded_from, bodies[seq][1])
                for seq, staff, via in rows if seq in bodies]

    def staff_recorded_from(self) -> int:
        """The first record whose writer this kiosk recorded (1: all of them)."""
        return int(self._meta("staff_recorded_from") or 1)

    def recorded_staff(self) -> list[str]:
        """Every name records were written for on this kiosk, in order."""
        return [r[0] for r in self.db.execute("SELECT DISTINCT staff FROM event_staff ORDER BY staff")]

    def new_device(self) -> str:
        """Give this database a fresh device id, its whole event log renumbered from 1 under it and
        nothing acknowledged, in one transaction; returns the new id.  For a database restored from
        a backup, whose sequence numbers HQ already holds with other events: enrolled again at HQ
        (a new token), it sends everything it holds, and HQ merges what it already had into the same
        persons."""
        device = "kiosk-" + uuid.uuid4().hex
        with self._write():
            renumbered = {}
            # Ascending, a new number is never above the old one: no row is overwritten on the way.
            for new_seq, (old_seq, body) in enumerate(
                    self.db.execute("SELECT seq, body FROM events ORDER BY seq").fetchall(), start=1):
                wire = {**json.loads(body), "kiosk_id": device, "seq": new_seq}
                self.db.execute("UPDATE events SET seq = ?, body = ? WHERE seq = ?",
                                (new_seq, canonical_json(wire), old_seq))
                renumbered[old_seq] = new_seq
            for old_seq, new_seq in renumbered.items():
                if old_seq != new_seq:
                    self.db.execute("UPDATE roster SET last_seq = ? WHERE last_seq = ?", (new_seq, old_seq))
                    self.db.execute("UPDATE withdrawn_events SET seq = ? WHERE seq = ?", (new_seq, old_seq))
                    self.db.execute("UPDATE event_staff SET seq = ? WHERE seq = ?", (new_seq, old_seq))
                    self.db.execute("UPDATE event_person SET seq = ? WHERE seq = ?", (new_seq, old_seq))
            recorded_from = self._meta("staff_recorded_from")
            if recorded_from is not None:   # the first record whose writer was recorded, renumbered too
                self._set_meta("staff_recorded_from",
                               str(1 + sum(old < int(recorded_from) for old in renumbered)))
            self.db.execute("DELETE FROM meta WHERE key = 'refused'")   # HQ is asked afresh
            # HQ's words name records of the old device id: told afresh for the new one, as HQ merges its log.
            self.db.execute("DELETE FROM left_elsewhere")
            self.db.execute("DELETE FROM meta WHERE key IN ('left_elsewhere_after', 'left_elsewhere_last')")
            self._set_meta("device_id", device)
            self._set_meta("acked_seq", "0")
            self.db.execute("DELETE FROM meta WHERE key = 'last_sync_at'")
        self._heard.sync_at = None
        self._heard.unwritten_ack = None
        return device

    def receive_hlc(self, remote: int) -> None:
        """HQ's timestamp, from its answer: taken however far ahead (evac.hlc adopt), so that even a kiosk whose clock
        is days slow dates its next events after everything HQ had seen.  Taken in memory at once; into
        the file when it would otherwise date a record more than HLC_WRITE_SLACK_MS before it (HQ's
        clock moving on 2 s a round is no reason to write).  Not one no record can carry (kiosk.sync
        leaves aside one no HQ gives): every later record would be refused."""
        if not 0 < remote <= MAX_HLC:
            raise ValueError(f"HQ's timestamp {remote} is not one a record can carry (from 1 to 2^63 - 1)")
        self._heard.take_hlc(remote)
        if wall_ms(remote) - max(wall_ms(self._stored_hlc()), self.now_ms()) <= HLC_WRITE_SLACK_MS:
            return
        with self._write():
            clock = HybridLogicalClock(self._stored_hlc())
            self._set_meta("hlc", str(clock.adopt(self._hlc())))

    def now_ms(self) -> int:
        """This kiosk's idea of the time, for dating its events: its wall clock, or, when that is more
        than HQ_CLOCK_TOLERANCE_MS off HQ's, HQ's clock as heard at the last sync plus the time since on
        a clock nobody sets (until the kiosk restarts).  HQ's clock is the reference: a slow clock (an RTC
        reset to 2000) would date check-ins before earlier ones elsewhere, and a fast one after later
        ones, so that HQ would place people at the wrong shelter."""
        wall = wall_clock_ms()
        heard, boot = self._meta("hq_clock"), _since_boot()
        if heard and boot:
            hq_ms, boot_id, boot_ms = json.loads(heard)
            if boot_id == boot[0]:
                hq_now = hq_ms + boot[1] - boot_ms
                return wall if abs(wall - hq_now) <= HQ_CLOCK_TOLERANCE_MS else hq_now
        return wall

    def now(self) -> dt.datetime:
        """now_ms as a time (UTC), for what people read: when a record was written, a sync answered, staff
        were called.  The machine's own clock, changed while the kiosk runs, showed a check-in confirmed
        on the 29th and the last sync on the 25th."""
        return dt.datetime.fromtimestamp(self.now_ms() / 1000, dt.timezone.utc)

    def today(self) -> dt.date:
        """The date birth dates are checked against: the later of the machine's date and the date this
        kiosk's clock has reached (as dated by HQ), so a clock reset to 2000 refuses no child; never
        before this release's day (EARLIEST_TODAY), for a kiosk whose clock was reset before it ever ran."""
        reached = max(wall_ms(self._hlc()), self.now_ms())
        # Days counted in UTC, as HQ counts them (evac.events): by the local date, a kiosk in Japan would
        # accept from midnight to 9:00 a birth date HQ then refuses on every sync.
        return max(dt.date(1970, 1, 1) + dt.timedelta(milliseconds=reached), EARLIEST_TODAY)

    def last_sync_at(self) -> str | None:
        """When HQ last answered a sync round: as this process heard it, or as the file says (another
        process's sync, or before this one's first), whichever is later."""
        known = [t for t in (self._meta("last_sync_at"), self._heard.sync_at) if t]
        try:
            return max(known, key=dt.datetime.fromisoformat) if known else None
        except ValueError:   # not a time: the file's, as it is
            return self._meta("last_sync_at")

    def _sync_time_old(self, now: dt.datetime) -> bool:
        stored = self._meta("last_sync_at")
        try:
            since = (now - dt.datetime.fromisoformat(stored)).total_seconds() if stored else None
        except ValueError:
            since = None
        # A clock set back (negative time since) must not keep the file's time from ever moving.
        return since is None or since >= LAST_SYNC_WRITE_EVERY_S or since < 0

    def note_clock_offset(self, hq_time: dt.datetime, hq_hlc: int | None = None) -> None:
        """How far this kiosk's clock is from HQ's (seconds, + ahead), as of HQ's last answer (its Date
        header; HQ's timestamp in the answer, to the millisecond, when it agrees with that)."""
        hq_ms = int(hq_time.timestamp() * 1000)
        if hq_hlc is not None and hq_ms <= wall_ms(hq_hlc) < hq_ms + 2000:
            hq_ms = wall_ms(hq_hlc)
        boot = _since_boot()
        offset = round((wall_clock_ms() - hq_ms) / 1000)
        stored = self._meta("clock_offset_s")
        if stored is not None and abs(int(stored) - offset) <= CLOCK_OFFSET_MOVE_S \
                and not (boot and self._hq_clock_moved(hq_ms, boot)):
            return   # an idle round: nothing staff or the records' dates would notice
        with self._write():
            self._set_meta("clock_offset_s", str(offset))
            if boot:
                self._set_meta("hq_clock", json.dumps([hq_ms, *boot]))
                self._correct_unchecked(hq_ms, boot)

    def _heard_hq_this_boot(self, boot: tuple[str, int]) -> bool:
        heard = self._meta("hq_clock")
        return bool(heard) and json.loads(heard)[1] == boot[0]

    def _correct_unchecked(self, hq_ms: int, boot: tuple[str, int]) -> None:
        """HQ's clock heard (hq_ms, now): the records this boot dated by its own clock before get their
        true times, from the time since boot, in clock_correction records, where they are more than
        HQ_CLOCK_TOLERANCE_MS off (a slow clock put someone who moved here at the shelter they left).
        Records of an earlier boot cannot be: that boot's clock error is not known."""
        rows = self.db.execute("SELECT u.seq, u.boot_id, u.boot_ms, e.hlc, e.body FROM unchecked_dates u"
                               " JOIN events e ON e.seq = u.seq ORDER BY u.seq").fetchall()
        if not rows:
            return
        self.db.execute("DELETE FROM unchecked_dates")
        dates, shelter = [], None
        for seq, boot_id, boot_ms, hlc, body in rows:
            true_ms = hq_ms - (boot[1] - boot_ms)
            if boot_id == boot[0] and abs(true_ms - wall_ms(hlc)) > HQ_CLOCK_TOLERANCE_MS:
                dates.append([seq, true_ms])
                shelter = json.loads(body)["shelter_id"]
        for i in range(0, len(dates), MAX_CORRECTED_DATES):
            self._append([{"type": CLOCK_CORRECTION, "shelter_id": shelter,
                           "data": {"dates": dates[i:i + MAX_CORRECTED_DATES]}}])

    def _hq_clock_moved(self, hq_ms: int, boot: tuple[str, int]) -> bool:
        """Whether HQ's clock as kept (hq_clock) puts HQ's time now more than HQ_CLOCK_REANCHOR_MS
        from `hq_ms`, or was heard before this boot (or never)."""
        kept = self._meta("hq_clock")
        if not kept:
            return True
        kept_ms, boot_id, boot_ms = json.loads(kept)
        return boot_id != boot[0] or abs(kept_ms + boot[1] - boot_ms - hq_ms) > HQ_CLOCK_REANCHOR_MS

    def clock_check(self) -> tuple[int | None, int]:
        """(seconds this kiosk's clock was off HQ's at the last sync or None, seconds its events'
        time runs ahead of its clock now).  A clock that ran fast stamps events ahead of everyone
        else's; HQ then orders them after events that really came later."""
        offset = self._meta("clock_offset_s")
        ahead_ms = wall_ms(self._hlc()) - self.now_ms()
        return (None if offset is None else int(offset)), max(0, ahead_ms // 1000)


def _config_digest(config: dict) -> str:
    """What of HQ's configuration apply_config writes, as one digest: the same one writes nothing."""
    applied = {k: config.get(k) for k in ("shelters", "prereg_keys", "revoked", "config_version", "shelter_id",
                                          "ic_token_key", "protected")}
    return hashlib.sha256(json.dumps(applied, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()
