"""What the staff tablet keeps and reads beside the kiosk's event log.

Staff accounts live in their own table of the kiosk's SQLite file (passwords
hashed with werkzeug).  Everything about evacuees stays in the event log: the
needs, consent and paper-form details shown on the roster are folded from
the log on each read, so the tablet can never disagree with what syncs to HQ.
Each tablet action is one `KioskStore.append`, so a form either writes all
its events or none.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import secrets
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass, field, replace
from typing import Iterable, Sequence


from evac.corrections import moved_on
from evac.dates import parse_typed_birth_date
from evac.events import (
    CHECKIN, CONSENT, CORRECTION, DETAILS, NEEDS, NEEDS_CODES, REGISTER, SHELTER_STATUS, STATUS, STAY_TYPES, Person,
)
from evac.identity import normalize_name, person_key
from evac.individual_number import contains_individual_number
from evac.passwords import hash_password, password_matches
from evac.spreadsheet import safe_cell
from evac.whereabouts import CHECKED_IN, CHECKED_OUT, Whereabouts

from .store import KioskError, KioskStore, RosterEntry

ROLES = ("staff", "lead")
MIN_PASSWORD = 8

SCHEMA = """
CREATE TABLE IF NOT EXISTS staff_accounts (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    disabled_at TEXT,
    password_set_at INTEGER
)
"""
# Columns added to staff_accounts after kiosks were set up: added to an older kiosk's table on opening.
ADDED_COLUMNS = (("disabled_at", "TEXT"), ("password_set_at", "INTEGER"))

# One row per log-in: the session cookie only names it, so a log-out or an idle timeout here ends
# the session for every copy of the cookie (a shared tablet, a cookie sniffed on the shelter Wi-Fi).
SESSIONS_SCHEMA = """
CREATE TABLE IF NOT EXISTS staff_sessions (
    id TEXT PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES staff_accounts(id),
    started_at INTEGER NOT NULL,
    seen_at INTEGER NOT NULL
)
"""
# The 避難者カード forms already saved, by the one-time id each form page carries: a card sent twice
# (a double tap, a resend after a slow answer) is written once.  Kept a day.
FORMS_DONE_SCHEMA = """
CREATE TABLE IF NOT EXISTS staff_forms_done (
    once TEXT PRIMARY KEY,
    person_keys TEXT NOT NULL,
    done_at INTEGER NOT NULL
)
"""
FORMS_DONE_KEPT = 24 * 3600
# seen_at is written at most this often (seconds): a page view is a read, not a write per request.
SEEN_EVERY = 60


# -- staff accounts ----------------------------------------------------------

@dataclass(frozen=True)
class StaffAccount:
    id: int
    name: str
    role: str

    @property
    def is_lead(self) -> bool:
        return self.role == "lead"


def _accounts(store: KioskStore) -> sqlite3.Connection:
    # Made when first needed (IF NOT EXISTS is no write once they are there): a kiosk database
    # from before a table was added gets it here.
    store.db.execute(SCHEMA)
    have = _columns(store)
    for column, kind in ADDED_COLUMNS:
        if column not in have:
            try:
                store.db.execute(f"ALTER TABLE staff_accounts ADD COLUMN {column} {kind}")
            except sqlite3.Error:
                # Added meanwhile by another process; or a disk that takes no write (full, read-only):
                # staff still log in (_column), and the next opening that can write adds it.
                pass
    store.db.execute(SESSIONS_SCHEMA)
    store.db.execute(FORMS_DONE_SCHEMA)
    return store.db


def _columns(store: KioskStore) -> set[str]:
    return {r[1] for r in store.db.execute("PRAGMA table_info(staff_accounts)")}


def _column(store: KioskStore, name: str) -> str:
    """An added column in SQL; NULL on an older kiosk database whose disk would not take it (nobody
    can have been disabled or given a new password there: that needs the column)."""
    return name if name in _columns(store) else "NULL"


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise KioskError(f"the password must be at least {MIN_PASSWORD} characters",
                         ja=f"パスワードは {MIN_PASSWORD} 文字以上にしてください", about="password")


def checked_new_account(name: str, role: str, password: str) -> str:
    """The account's name as it is kept, once name, role and password are found good (KioskError saying
    which is not): asked before a new kiosk database is made for the account (`evac kiosk add-staff`)."""
    name = name.strip()
    if not name or len(name) > 60:
        raise KioskError("a staff name must be 1 to 60 characters", ja="職員名は 1〜60 文字にしてください",
                         about="name")
    if contains_individual_number(name):   # 番号法 §20: kept, and with every record the account types in
        raise KioskError("a staff name must not hold an Individual Number (My Number)",
                         ja="職員名にマイナンバー（個人番号）は書けません", about="name")
    if role not in ROLES:
        raise KioskError(f"role must be one of {', '.join(ROLES)}", ja=f"役割は {'、'.join(ROLES)} のどれかです",
                         about="role")
    _check_password(password)
    return name


def add_staff(store: KioskStore, name: str, role: str, password: str) -> StaffAccount:
    name = checked_new_account(name, role, password)
    db = _accounts(store)
    try:
        cur = db.execute("INSERT INTO staff_accounts(name, role, password_hash, created_at) VALUES (?, ?, ?, ?)",
                         (name, role, hash_password(password),
                          dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")))
    except sqlite3.IntegrityError:
        raise KioskError(f"there is already a staff account named {name!r}",
                         ja=f"{name!r} という職員アカウントはすでにあります", about="name") from None
    return StaffAccount(cur.lastrowid, name, role)


def _change_account(store: KioskStore, name: str, sql: str, params: tuple) -> StaffAccount:
    """One change to the named account, and its live log-ins ended in the same write: the tablet
    logged in as it is logged out at its next request.  The account itself stays, so the records it
    wrote stay attributed to it."""
    db = _accounts(store)
    with store._write():
        row = db.execute("SELECT id, name, role FROM staff_accounts WHERE name = ?", (name.strip(),)).fetchone()
        if row is None:
            known = [r[0] for r in db.execute("SELECT name FROM staff_accounts ORDER BY name")]
            raise KioskError(f"there is no staff account named {name.strip()!r} on this kiosk"
                             + (f" (its accounts: {', '.join(known)})" if known else " (it has none yet)"),
                             ja=f"この端末に {name.strip()!r} という職員アカウントはありません"
                             + (f"（あるのは {', '.join(known)}）" if known else "（まだ 1 つもありません）"),
                             about="name")
        db.execute(sql, (*params, row[0]))
        db.execute("DELETE FROM staff_sessions WHERE account_id = ?", (row[0],))
    return StaffAccount(*row)


def disable_staff(store: KioskStore, name: str) -> StaffAccount:
    """A volunteer who left: their log-ins end now and their password is refused from now on."""
    return _change_account(store, name, "UPDATE staff_accounts SET disabled_at = COALESCE(disabled_at, ?) WHERE id = ?",
                           (dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),))


def enable_staff(store: KioskStore, name: str) -> StaffAccount:
    return _change_account(store, name, "UPDATE staff_accounts SET disabled_at = NULL WHERE id = ?", ())


def set_password(store: KioskStore, name: str, password: str) -> StaffAccount:
    """A new password (one seen over a shoulder, say): every log-in made with the old one ends."""
    _check_password(password)
    # password_set_at: a log-in the kiosk holds in memory (its disk refused it) and writes later is
    # not deleted here, so it is refused by its start (login_session).
    return _change_account(store, name, "UPDATE staff_accounts SET password_hash = ?, password_set_at = ? WHERE id = ?",
                           (hash_password(password), int(time.time())))


def accounts(store: KioskStore) -> list[StaffAccount]:
    """Every staff account on this kiosk, by name."""
    return [StaffAccount(*r) for r in _accounts(store).execute("SELECT id, name, role FROM staff_accounts ORDER BY name")]


def authenticate(store: KioskStore, name: str, password: str) -> StaffAccount | None:
    db = _accounts(store)
    row = db.execute(f"SELECT id, name, role, password_hash, {_column(store, 'disabled_at')} FROM staff_accounts"
                     " WHERE name = ?", (name.strip(),)).fetchone()
    # An unknown name costs the same hash check as a known one (password_matches): the answer's time must
    # not tell a stranger on the shelter's Wi-Fi which staff names exist (to lock them out, say).  A
    # disabled account gets the same answer as a wrong password.
    if not password_matches(row[3] if row else None, password) or row[4]:
        return None
    return StaffAccount(*row[:3])



# -- log-in sessions -----------------------------------------------------------

class UnwrittenSessions:
    """Log-ins and their use that the disk would not take (full, read-only, failing), held in the
    kiosk's memory.  Without them a full disk logged every staff member out within the idle limit
    (the use not noted) and let nobody log in again: the tablet, the one way to read the roster, was
    lost with it.  Written to the database by the next write that works (write_back); a restart of the
    kiosk forgets them, which only means logging in again."""

    def __init__(self):
        self._lock = threading.Lock()
        self.started: dict[str, tuple[int, int]] = {}   # session id -> (account id, started_at)
        self.seen: dict[str, int] = {}                  # session id -> last use

    def start(self, session_id: str, account_id: int, now: int) -> None:
        with self._lock:
            self.started[session_id] = (account_id, now)
            self.seen[session_id] = now

    def saw(self, session_id: str, now: int) -> None:
        with self._lock:
            self.seen[session_id] = max(now, self.seen.get(session_id, 0))

    def forget(self, session_id: str) -> None:
        with self._lock:
            self.started.pop(session_id, None)
            self.seen.pop(session_id, None)

    def snapshot(self) -> tuple[dict, dict]:
        with self._lock:
            return dict(self.started), dict(self.seen)

    def written(self, started: dict, seen: dict) -> None:
        """What `snapshot` gave is in the database now (unless it changed since)."""
        with self._lock:
            for sid, value in started.items():
                if self.started.get(sid) == value:
                    del self.started[sid]
            for sid, value in seen.items():
                if self.seen.get(sid) == value and sid not in self.started:
                    del self.seen[sid]


def _write_back(db: sqlite3.Connection, started: dict, seen: dict) -> None:
    """Inside a write transaction: the sessions and uses held in memory, into the database."""
    for sid, (account_id, started_at) in started.items():
        db.execute("INSERT OR IGNORE INTO staff_sessions(id, account_id, started_at, seen_at) VALUES (?, ?, ?, ?)",
                   (sid, account_id, started_at, seen.get(sid, started_at)))
    for sid, at in seen.items():
        db.execute("UPDATE staff_sessions SET seen_at = MAX(seen_at, ?) WHERE id = ?", (at, sid))


def start_session(store: KioskStore, account_id: int, idle_seconds: float,
                  unwritten: UnwrittenSessions | None = None) -> str:
    """A new log-in session for the account; returns its random id.  Sessions nobody has used for
    longer than the idle limit are removed on the way (their cookies are logged out anyway).  If the
    disk refuses the write, the session is held in `unwritten` (sqlite3.Error without it)."""
    now = int(time.time())
    session_id = secrets.token_urlsafe(32)
    db = _accounts(store)
    started, seen = unwritten.snapshot() if unwritten else ({}, {})
    try:
        with store._write():
            _write_back(db, started, seen)
            db.execute("DELETE FROM staff_sessions WHERE seen_at < ?", (now - _stale_after(idle_seconds),))
            db.execute("INSERT INTO staff_sessions(id, account_id, started_at, seen_at) VALUES (?, ?, ?, ?)",
                       (session_id, account_id, now, now))
    except sqlite3.Error:
        if unwritten is None:
            raise
        unwritten.start(session_id, account_id, now)
        return session_id
    if unwritten:
        unwritten.written(started, seen)
    return session_id


def _stale_after(idle_seconds: float) -> int:
    return int(idle_seconds) + SEEN_EVERY + 1


@dataclass(frozen=True)
class LoginSession:
    id: str
    account: StaffAccount
    seen_at: int  # last use, to within SEEN_EVERY seconds


def login_session(store: KioskStore, account_id: int, session_id: str, idle_seconds: float,
                  unwritten: UnwrittenSessions | None = None) -> LoginSession | None:
    """A live session: it exists (in the database, or held in memory), is this account's, and was
    used within the idle limit."""
    db = _accounts(store)
    # Not a disabled account's, nor begun before its password was last set.
    usable = (f"{_column(store, 'disabled_at')} IS NULL"
              f" AND {{started}} >= COALESCE({_column(store, 'password_set_at')}, 0)")
    row = db.execute(
        "SELECT a.id, a.name, a.role, s.seen_at FROM staff_sessions s JOIN staff_accounts a ON a.id = s.account_id"
        f" WHERE s.id = ? AND s.account_id = ? AND {usable.format(started='s.started_at')}",
        (session_id, account_id)).fetchone()
    if unwritten is not None:
        started, seen = unwritten.snapshot()
        if row is None and started.get(session_id, (None,))[0] == account_id:
            account = store.db.execute(f"SELECT id, name, role FROM staff_accounts WHERE id = ?"
                                       f" AND {usable.format(started='?')}",
                                       (account_id, started[session_id][1])).fetchone()
            row = (*account, 0) if account else None
        if row is not None and session_id in seen:
            row = (*row[:3], max(row[3], seen[session_id]))
    if row is None or row[3] < time.time() - _stale_after(idle_seconds):
        return None
    return LoginSession(session_id, StaffAccount(*row[:3]), row[3])


def session_seen(store: KioskStore, login: LoginSession, unwritten: UnwrittenSessions | None = None) -> None:
    """Note that the session was used now, at most once a minute: most page views stay reads, which
    wait for no writer.  A disk that refuses writes must not stop staff reading the roster: then the
    use is held in `unwritten`, and written with what else is held there once the disk takes it."""
    now = int(time.time())
    if now - login.seen_at < SEEN_EVERY:
        return
    if unwritten is None:
        try:
            store.db.execute("UPDATE staff_sessions SET seen_at = ? WHERE id = ?", (now, login.id))
        except sqlite3.Error:
            pass
        return
    unwritten.saw(login.id, now)
    started, seen = unwritten.snapshot()
    try:
        with store._write():
            _write_back(_accounts(store), started, seen)
    except sqlite3.Error:
        return   # held in memory until the disk takes it
    unwritten.written(started, seen)


def end_session(store: KioskStore, session_id: str, unwritten: UnwrittenSessions | None = None) -> None:
    if unwritten is not None:
        unwritten.forget(session_id)
    _accounts(store).execute("DELETE FROM staff_sessions WHERE id = ?", (session_id,))


def secret_key(store: KioskStore) -> str:
    """The kiosk's session key, made once and kept in its database so logins survive a restart."""
    store.db.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('staff_secret_key', ?)",
                     (secrets.token_hex(32),))
    return store.db.execute("SELECT value FROM meta WHERE key = 'staff_secret_key'").fetchone()[0]


# -- what the log says about each person -------------------------------------

@dataclass
class Profile:
    needs: tuple[str, ...] = ()
    consent: str = "none"
    family_code: str = ""
    never_disclose: bool = False
    contact_phone: str = ""
    home_damage: str = "unknown"
    household_members: int | None = None
    status: str = ""        # injury or illness (evac.events PERSON_STATUSES); "" if never recorded here
    status_note: str = ""


@dataclass
class RosterRow:
    key: str
    entry: RosterEntry
    profile: Profile = field(default_factory=Profile)
    version: int = 0   # the newest record about them when read (`version`); only `person` reads it
    # HQ's word that they were recorded since at another shelter ("moved") or checked out elsewhere ("left"):
    # checked out from here as the roster shows them (KioskStore.note_left_elsewhere); "" otherwise.
    left_elsewhere: str = ""

    @property
    def person(self) -> Person:
        return self.entry.person


_PROFILE_TYPES = (NEEDS, CONSENT, DETAILS, CORRECTION, STATUS)


def profiles(store: KioskStore) -> dict[str, Profile]:
    """Latest needs, consent and details per person key, folded from this kiosk's log in order.
    A correction moves what was known under the old identity to the corrected one."""
    found: dict[str, Profile] = {}
    moved: dict[str, str] = {}   # identities corrected away -> the one now, as the store's corrected_keys
    rows = store.db.execute(
        "SELECT json_extract(body, '$.type'), json_extract(body, '$.person.name'),"
        " json_extract(body, '$.person.birth_date'), json_extract(body, '$.person.address'),"
        " json_extract(body, '$.data') FROM written_events"
        f" WHERE json_extract(body, '$.type') IN ({','.join('?' * len(_PROFILE_TYPES))}) ORDER BY seq",
        _PROFILE_TYPES)
    for etype, name, birth, address, data in rows:
        key = person_key(name, birth, address or "")
        key = moved.get(key, key)
        data = json.loads(data)
        if etype == CORRECTION:
            new = data["person"]
            new_key = person_key(new["name"], new["birth_date"], new["address"])
            found[new_key] = found.pop(key, Profile())
            moved = moved_on(moved, key, new_key)
            continue
        profile = found.setdefault(key, Profile())
        if etype == NEEDS:
            profile.needs = tuple(data["needs"])
        elif etype == CONSENT:
            profile.consent = data["consent"]
            profile.family_code = data.get("family_code", "")
            profile.never_disclose = data["never_disclose"]
        elif etype == STATUS:
            profile.status, profile.status_note = data["status"], data.get("note", "")
        else:
            profile.contact_phone = data.get("contact_phone", "")
            profile.home_damage = data["home_damage"]
            profile.household_members = data.get("household_members")
    return found


# The roster as seen (kiosk.store roster_seen): someone HQ says left elsewhere is checked out from here.
_ROW_SQL = ("SELECT person_key, name, birth_date, sex, address, name_kana, prereg_id, household_id, state,"
            " shelter_id, stay_type, left_elsewhere FROM roster_seen")


def _row(r) -> tuple[str, RosterEntry]:
    return r[0], RosterEntry(Person(*r[1:7]), r[7], Whereabouts(*r[8:11]))


def _rows(rows, found: dict[str, Profile] | None = None) -> list[RosterRow]:
    return [RosterRow(r[0], _row(r)[1], (found or {}).get(r[0], Profile()), left_elsewhere=r[11]) for r in rows]


def roster(store: KioskStore, shelter_id: str) -> list[RosterRow]:
    """Everyone checked in at this shelter, in kana order, with their profile."""
    found = profiles(store)
    rows = store.db.execute(_ROW_SQL + " WHERE state = ? AND shelter_id = ? ORDER BY name_kana, name",
                            (CHECKED_IN, shelter_id))
    return _rows(rows, found)


def checked_out(store: KioskStore, shelter_id: str) -> list[RosterRow]:
    """Everyone whose last move was a check-out from this shelter: found by a search, so that a
    check-out by mistake (or someone back the next day) can be checked in again."""
    found = profiles(store)
    rows = store.db.execute(_ROW_SQL + " WHERE state = ? AND shelter_id = ? ORDER BY name_kana, name",
                            (CHECKED_OUT, shelter_id))
    return _rows(rows, found)


# At most this many of those HQ says left elsewhere are listed on the shelter's page (all are counted).
LEFT_ELSEWHERE_LISTED = 200


def left_elsewhere(store: KioskStore, shelter_id: str) -> tuple[list[RosterRow], int]:
    """Those checked in here whom HQ has since seen at another shelter or checked out elsewhere, the
    latest HQ word first (at most LEFT_ELSEWHERE_LISTED), and how many there are."""
    where = " WHERE left_elsewhere != '' AND shelter_id = ?"
    count = store.db.execute("SELECT COUNT(*) FROM roster_seen" + where, (shelter_id,)).fetchone()[0]
    rows = store.db.execute(
        _ROW_SQL + where + " ORDER BY (SELECT l.seq FROM left_elsewhere l WHERE l.person_key = roster_seen.person_key)"
        " DESC LIMIT ?", (shelter_id, LEFT_ELSEWHERE_LISTED))
    return _rows(rows), count


def person(store: KioskStore, key: str) -> RosterRow | None:
    """The person `key` names, under their corrected identity if staff corrected it: an old link, or
    a correction sent twice, finds them still."""
    r = store.db.execute(_ROW_SQL + " WHERE person_key = ?", (store.current_key(key),)).fetchone()
    if r is None:
        return None
    key, entry = _row(r)
    return RosterRow(key, entry, profiles(store).get(key, Profile()), version(store, key), left_elsewhere=r[11])


def household(store: KioskStore, row: RosterRow) -> list[RosterRow]:
    """The others of `row`'s household this kiosk knows (none for a household of one)."""
    if not row.entry.household_id:
        return []
    rows = store.db.execute(_ROW_SQL + " WHERE household_id = ? AND person_key != ? ORDER BY name_kana, name",
                            (row.entry.household_id, row.key))
    return _rows(rows)


# -- search and counts ------------------------------------------------------

def _orders(text: str) -> set[str]:
    """A name as typed and with its parts the other way round, each normalised (spaces gone)."""
    parts = text.split()
    forms = {normalize_name(text)}
    if len(parts) > 1:
        forms.add(normalize_name(" ".join(reversed(parts))))
    return {f for f in forms if f}


def matches(row: RosterRow, query: str) -> bool:
    """Name or kana, family or given name first, with or without a space; 髙/高, ひらがな/カタカナ alike."""
    wanted = _orders(query)
    if not wanted:
        return True
    have = _orders(row.person.name) | _orders(row.person.name_kana)
    return any(w in h for w in wanted for h in have)


def search(rows: Iterable[RosterRow], query: str = "", need: str = "", stay_type: str = "") -> list[RosterRow]:
    """Rows by name or kana (matches), or, for a query that is a birth date as people type it (1980/2/17,
    昭55.2.17), by birth date: of ten 佐藤 at one shelter, staff find the one by the date on a paper card."""
    born = _typed_birth_date(query)
    return [r for r in rows
            if (not query or (r.person.birth_date == born if born else matches(r, query)))
            and (not need or need in r.profile.needs)
            and (not stay_type or r.entry.where.stay_type == stay_type)]


def _typed_birth_date(query: str) -> str | None:
    try:
        return parse_typed_birth_date(query, dt.date.today()).isoformat()
    except ValueError:   # (a name; a date before 1880 or in the future is no one's birth date here either)
        return None


@dataclass
class Summary:
    total: int
    by_stay_type: dict[str, int]
    by_need: dict[str, int]
    never_disclose: int


def summary(rows: Sequence[RosterRow]) -> Summary:
    return Summary(
        total=len(rows),
        by_stay_type={s: sum(r.entry.where.stay_type == s for r in rows) for s in STAY_TYPES},
        by_need={n: sum(n in r.profile.needs for r in rows) for n in NEEDS_CODES},
        never_disclose=sum(r.profile.never_disclose for r in rows),
    )


def shelter_status(store: KioskStore, shelter_id: str) -> str | None:
    """The last status this kiosk set for its shelter (None: never set here).  Read at every screen load and
    check-in: the log (tens of thousands of records after days) is read once, then only what was written
    since (by this process or another: the tablet, `evac kiosk` commands)."""
    read = store.__dict__.setdefault("_shelter_status_read", {})
    upto, status = read.get(shelter_id, (0, None))
    last = store.last_seq
    if last > upto:
        row = store.db.execute(
            "SELECT json_extract(body, '$.data.status') FROM written_events WHERE seq > ? AND seq <= ?"
            " AND json_extract(body, '$.type') = ? AND json_extract(body, '$.shelter_id') = ? ORDER BY seq DESC"
            " LIMIT 1", (upto, last, SHELTER_STATUS, shelter_id)).fetchone()
        if row:
            status = row[0]
        read[shelter_id] = (last, status)
    return status


# A transfer destination HQ says takes no one in: closed, or not opened yet (未開設: nobody there to receive a
# family).  The screen does not offer it; the tablet marks it and asks before sending anyone there.
NOT_RECEIVING = ("closed", "not_opened")


def closed_by_staff(store: KioskStore, shelter_id: str) -> bool:
    """Whether this shelter's own staff closed it on the tablet (the last status they set here).  Then no one
    is checked in there from the screen, the JSON API or `evac kiosk checkin` (without --even-if-closed);
    check-out, moving on, stay type, needs and status go on for whoever is still there."""
    return shelter_status(store, shelter_id) == "closed"


# -- what staff write --------------------------------------------------------

def _in_person(wire: dict) -> dict:
    """A person as a consent staff took in person says them: without the pre-registration id, which
    HQ reads as "only a QR said this" (hq_dashboard.merge.consent_rank).  The roster row then keeps no
    id either, so the household's QR no longer speaks for them at the screen (KioskStore.qr_proves)."""
    return {k: v for k, v in wire.items() if k != "prereg_id"}


def _consent_data(consent: str, family_code: str, never_disclose: bool) -> dict:
    data = {"consent": consent, "never_disclose": never_disclose}
    if consent == "family":
        data["family_code"] = family_code
    return data


class AlreadyHere(KioskError):
    """Someone on the form is already checked in at this shelter: registered again, the form's blank
    fields would wipe their consent, family code and phone.  `here`: (position on the form, their key)."""

    def __init__(self, here: list[tuple[int, str]]):
        super().__init__("someone on this form is already checked in at this shelter")
        self.here = here


class SentTwice(Exception):
    """This form (its one-time id) was saved already: nothing is written again."""

    def __init__(self, keys: list[str]):
        super().__init__("this form was saved already")
        self.keys = keys


def register_household(store: KioskStore, shelter_id: str, persons: Sequence[Person], *, stay_type: str,
                       needs: Sequence[str], contact_phone: str, home_damage: str,
                       household_members: int | None, consent: str, family_code: str,
                       member_needs: Sequence[Sequence[str]] = (), once: str = "") -> list[str]:
    """A paper 避難者カード typed in: everyone on it checked in together, with the form's details and
    consent; `needs` are the first person's, `member_needs` the others' in order.  Returns their
    person keys.  `once` is the form's one-time id: if it was saved already, SentTwice (with the
    keys it saved) and nothing is written."""
    if not persons:
        raise KioskError("nobody to register")
    try:
        keys = [person_key(p.name, p.birth_date, p.address) for p in persons]
    except ValueError as exc:  # a name of only spaces or separators, say: refused, as correct() does
        raise KioskError(str(exc)) from None
    if len(set(keys)) != len(keys):
        raise KioskError("the same person is on the form twice")
    # Someone a lead protected, registered again (back after a check-out, say), stays protected:
    # only a lead lifts never-disclose, on its own form.
    known = profiles(store)
    household = "hh-" + uuid.uuid4().hex[:16] if len(persons) > 1 else ""
    # A field left blank says nothing: a phone given elsewhere stays (the card may only lack it).
    details = {"home_damage": home_damage, **({"contact_phone": contact_phone} if contact_phone else {})}
    if household_members:
        details["household_members"] = household_members
    drafts = []
    for i, (p, key) in enumerate(zip(persons, keys)):
        protected = key in known and known[key].never_disclose
        base = {"shelter_id": shelter_id, "person": p.to_wire(), "household_id": household}
        drafts.append({**base, "type": CHECKIN, "data": {"stay_type": stay_type}})
        own = needs if i == 0 else (member_needs[i - 1] if i - 1 < len(member_needs) else ())
        if own:
            drafts.append({**base, "type": NEEDS, "data": {"needs": sorted(set(own))}})
        drafts.append({**base, "type": DETAILS, "data": details})
        if consent or protected:   # "" is not asked: the consent given elsewhere stands
            drafts.append({**base, "type": CONSENT, "data": _consent_data(consent or "none", family_code, protected)})
    if shelter_id not in store.shelter_ids():
        raise KioskError(f"unknown shelter id {shelter_id!r}: this kiosk knows no such shelter")
    db = _accounts(store)
    # One transaction: of two copies sent at once, the second waits for the first and finds it done.
    with store._write():
        if once:
            done = db.execute("SELECT person_keys FROM staff_forms_done WHERE once = ?", (once,)).fetchone()
            if done:
                raise SentTwice(json.loads(done[0]))
        here = [(i, store.current_key(key)) for i, key in enumerate(keys)
                if db.execute("SELECT 1 FROM roster_seen WHERE person_key = ? AND state = ? AND shelter_id = ?",
                              (store.current_key(key), CHECKED_IN, shelter_id)).fetchone()]
        if here:
            raise AlreadyHere(here)
        store._append(drafts)
        if once:
            now = int(time.time())
            db.execute("DELETE FROM staff_forms_done WHERE done_at < ?", (now - FORMS_DONE_KEPT,))
            db.execute("INSERT INTO staff_forms_done(once, person_keys, done_at) VALUES (?, ?, ?)",
                       (once, json.dumps(keys), now))
    return keys


class AlreadyKnown(KioskError):
    """The person is already in this kiosk's records: staff open their page instead."""

    def __init__(self, key: str, entry: RosterEntry):
        super().__init__(f"{entry.person.name} ({entry.person.birth_date}) is already in this kiosk's records")
        self.key, self.entry = key, entry


def add_to_household(store: KioskStore, shelter_id: str, row: RosterRow, member: Person,
                     needs: Sequence[str]) -> str:
    """Someone of `row`'s household arriving later (the 避難者カード is the household's): checked in
    under the same household id, with the household's details and consent, as if on the card from
    the start.  A household of one gets its household id now (a `register` of the first person).
    Refused (AlreadyKnown) for someone this kiosk knows already: their own consent and details must
    not be overwritten; staff open their page.  Returns the new member's key."""
    try:
        key = person_key(member.name, member.birth_date, member.address)
    except ValueError as exc:
        raise KioskError(str(exc)) from None
    known = store.db.execute(_ROW_SQL + " WHERE person_key = ?", (store.current_key(key),)).fetchone()
    if known:
        raise AlreadyKnown(*_row(known))
    household = row.entry.household_id
    drafts = []
    if not household:
        household = "hh-" + uuid.uuid4().hex[:16]
        drafts.append({"type": REGISTER, "shelter_id": shelter_id, "person": row.person.to_wire(),
                       "household_id": household})
    base = {"shelter_id": shelter_id, "person": member.to_wire(), "household_id": household}
    drafts.append({**base, "type": CHECKIN, "data": {"stay_type": row.entry.where.stay_type or "in_shelter"}})
    if needs:
        drafts.append({**base, "type": NEEDS, "data": {"needs": sorted(set(needs))}})
    pr = row.profile
    details = {"home_damage": pr.home_damage, "contact_phone": pr.contact_phone}
    if pr.household_members:
        details["household_members"] = pr.household_members
    drafts.append({**base, "type": DETAILS, "data": details})
    # The household's consent, never its protection: only a lead marks someone never-disclose.  Nor the
    # consent of a protected person (災対法 §86-15): a family code that finds her child finds her shelter.
    if pr.never_disclose:
        drafts.append({**base, "type": CONSENT, "data": _consent_data("none", "", False)})
    else:
        drafts.append({**base, "type": CONSENT, "data": _consent_data(pr.consent, pr.family_code, False)})
    store.append(drafts)
    return key


class IdentityTaken(KioskError):
    """The corrected identity already belongs to another person on this kiosk's roster."""


class ChangedSince(KioskError):
    """The person's record changed after the form was drawn (another tablet saved meanwhile): the
    form's old values would undo that change, so nothing is written."""


def version(store: KioskStore, key: str) -> int:
    """The newest record about the person `key` names on this kiosk (identities corrected away too):
    a form drawn from their record carries it, and is refused once a newer record is written."""
    key = store.current_key(key)
    keys = [key] + [r[0] for r in store.db.execute("SELECT old_key FROM corrected_keys WHERE new_key = ?", (key,))]
    return store.db.execute(f"SELECT COALESCE(MAX(seq), 0) FROM event_person WHERE person_key IN"
                            f" ({','.join('?' * len(keys))})", keys).fetchone()[0]


def correct(store: KioskStore, shelter_id: str, row: RosterRow, corrected: Person, *, stay_type: str,
            needs: Sequence[str], contact_phone: str, home_damage: str, household_members: int | None,
            consent: str, family_code: str, drawn_from: int | None = None) -> str:
    """A correction is new events, never an edit: only what changed is written, all at once.
    Returns the person's key afterwards.

    A new spelling of the same identity (髙橋 for 高橋, a kana fix) is re-stated with a `register`
    event.  A changed identity key (a typo in name, birth date or address: see person_key) is a
    `correction` event first; everything else is then written under the corrected identity, and
    the roster, profile and IC links follow it.  Refused if the corrected identity is already
    someone else on this kiosk's roster.
    Never-disclose is carried over as it is: only a lead changes it, on its own form.
    Events are written as this kiosk's shelter (`shelter_id`); the stay type only changes for
    someone checked in there.
    `drawn_from` is the `version` the form was drawn from: if the person's record changed since
    (another tablet's correction, a check-out), ChangedSince and nothing is written.
    """
    try:
        new_key = person_key(corrected.name, corrected.birth_date, corrected.address)
    except ValueError as exc:  # a name that is only separators, say
        raise KioskError(str(exc)) from None
    where, profile = row.entry.where, row.profile
    base = {"shelter_id": shelter_id, "person": corrected.to_wire(), "household_id": row.entry.household_id}
    drafts = []
    if new_key != row.key:
        drafts.append({**base, "type": CORRECTION, "person": row.person.to_wire(),
                       "data": {"person": corrected.to_wire()}})
    elif corrected != row.person:
        drafts.append({**base, "type": REGISTER})
    if where.state == CHECKED_IN and where.shelter_id == shelter_id and stay_type != where.stay_type:
        drafts.append({**base, "type": "stay_type", "data": {"stay_type": stay_type}})
    if tuple(sorted(set(needs))) != profile.needs:
        drafts.append({**base, "type": NEEDS, "data": {"needs": list(needs)}})
    if (contact_phone, home_damage, household_members) != (profile.contact_phone, profile.home_damage,
                                                           profile.household_members):
        details = {"home_damage": home_damage, "contact_phone": contact_phone}
        if household_members:
            details["household_members"] = household_members
        drafts.append({**base, "type": DETAILS, "data": details})
    if (consent, family_code if consent == "family" else "") != (profile.consent, profile.family_code):
        drafts.append({**base, "type": CONSENT, "person": _in_person(base["person"]),
                       "data": _consent_data(consent, family_code, profile.never_disclose)})
    if not drafts:   # the form says what the record says now: nothing to write, nothing undone
        return new_key
    # Checked and written in one transaction: of two tablets saving at once, the second finds the first's.
    with store._write():
        if drawn_from is not None and version(store, row.key) != drawn_from:
            raise ChangedSince(f"the record of {row.person.name} changed after this form was opened")
        if new_key != row.key and store.db.execute("SELECT 1 FROM roster WHERE person_key = ?",
                                                   (new_key,)).fetchone():
            raise IdentityTaken(f"{corrected.name} ({corrected.birth_date}) is already someone else on this "
                                "kiosk's roster")
        store._append(drafts)
    return new_key


def set_never_disclose(store: KioskStore, shelter_id: str, row: RosterRow, never_disclose: bool) -> None:
    """DV or stalker protection, on a shelter lead's authority: the consent stays as the person gave it."""
    p = row.profile
    store.append([{"type": CONSENT, "shelter_id": shelter_id, "person": _in_person(row.person.to_wire()),
                   "household_id": row.entry.household_id,
                   "data": _consent_data(p.consent, p.family_code, never_disclose)}], lift_protection=True)


def set_status(store: KioskStore, shelter_id: str, row: RosterRow, status: str, note: str) -> None:
    """Injury or illness as staff saw or were told it: a `status` event HQ holds and safety
    inquiries answer from (as consent allows)."""
    store.append([{"type": STATUS, "shelter_id": shelter_id, "person": row.person.to_wire(),
                   "household_id": row.entry.household_id, "data": {"status": status, "note": note}}])


def set_shelter_status(store: KioskStore, shelter_id: str, status: str) -> None:
    store.append([{"type": SHELTER_STATUS, "shelter_id": shelter_id, "data": {"status": status}}])


# -- the 避難者名簿 as CSV -----------------------------------------------------

CSV_COLUMNS = ("name", "name_kana", "birth_date", "sex", "address", "household_id", "stay_type", "needs",
               "contact_phone", "home_damage", "household_members", "consent", "never_disclose")


def protected(store: KioskStore, row: RosterRow) -> bool:
    """Whoever the kiosk treats as never-disclose (災対法 §86-15): the person a lead marked, anyone of a
    protected person's household, anyone HQ protects (KioskStore.is_protected)."""
    p = row.person
    return row.profile.never_disclose or store.is_protected(p.name, p.birth_date, p.address, p.name_kana)


def for_export(store: KioskStore, rows: Sequence[RosterRow], lead: bool) -> tuple[list[RosterRow], int]:
    """The rows a list that leaves the tablet (a CSV file, a printed page) carries, and how many were
    left out.  A staff member's list leaves out everyone protected: a roster posted on a shelter wall
    must not show a stalker the victim's name, nor her children's at the same address.  A lead's keeps
    them, each marked never-disclose, her household too, so that whoever the lead hands it to sees
    who must not be told about."""
    if not lead:
        kept = [r for r in rows if not protected(store, r)]
        return kept, len(rows) - len(kept)
    return [replace(r, profile=replace(r.profile, never_disclose=True))
            if not r.profile.never_disclose and protected(store, r) else r for r in rows], 0


def roster_csv(rows: Sequence[RosterRow], header: Sequence[str], label) -> str:
    """UTF-8 with a BOM, so that Excel in Japan opens it as UTF-8 and not as Shift_JIS.

    `label(column, value)` turns codes into the words of the chosen language."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for r in rows:
        p, pr = r.person, r.profile
        values = {"name": p.name, "name_kana": p.name_kana, "birth_date": p.birth_date, "sex": p.sex,
                  "address": p.address, "household_id": r.entry.household_id,
                  "stay_type": r.entry.where.stay_type, "needs": pr.needs, "contact_phone": pr.contact_phone,
                  "home_damage": pr.home_damage, "household_members": pr.household_members,
                  "consent": pr.consent, "never_disclose": pr.never_disclose}
        writer.writerow([safe_cell(label(c, values[c])) for c in CSV_COLUMNS])
    return out.getvalue()
