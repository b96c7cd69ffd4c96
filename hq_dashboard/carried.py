"""HQ applies records carried by hand from a kiosk (evac.carried): as its sync would, batch by batch.

Each batch is applied atomically and idempotently by the same merge as /api/v1/sync, under the kiosk's
own token, so a file applied twice, or records that also arrive over the network later, count once.
"""
from __future__ import annotations

from dataclasses import dataclass

import datetime as dt

from sqlalchemy import select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from evac.carried import CarriedFileError, read_carried_file
from evac.hlc import pack, wall_clock_ms, wall_ms

from .db import one_writer
from .enrollment import AuthError, authenticate
from .merge import MAX_BATCH_EVENTS, BatchRejected, apply_batch, latest_order
from .models import HQMeta

# HQMeta's name for how far a kiosk's records carried by hand reach (+ the kiosk's id; 8 + 32 characters fit
# its 40): the newest record a file brought, by the record's own time.  A carried file says nothing of the
# kiosk's network (its last_sync_at stays), but HQ's numbers of its shelter are as fresh as that record
# (hq_dashboard.situation.heard_by_site, the dashboard's and the wall's silent sites).
CARRIED_KEY = "carried:"


class CarriedRefused(Exception):
    """Nothing more of the file was applied.  The message is for people: what, and what to do (English,
    for the command line).  `code` (merge.BatchRejected's, enrollment.AuthError's, or this module's) and
    `details` let a page say it in its own language (carried_pages).  `applied` records before the
    refusal were applied (`last_hlc` the latest of their clocks)."""

    def __init__(self, message: str, applied: int = 0, last_hlc: int = 0, code: str = "refused", **details):
        super().__init__(message)
        self.message, self.applied, self.last_hlc = message, applied, last_hlc
        self.code, self.details = code, details


@dataclass(frozen=True)
class CarriedResult:
    kiosk_id: str
    shelter_id: str
    device_id: str
    records: int
    applied: int
    duplicates: int
    acked_seq: int
    last_hlc: int


# What to do about a refusal, beyond HQ's reason.
_HINTS = {
    "sequence_gap": "HQ holds fewer of this kiosk's records than the file starts after: write the file again "
                    "with every record (`evac kiosk carry --all`)",
    "conflicting_event": "was the kiosk's database restored from a backup? Then run `evac kiosk new-device` "
                         "there, enroll it again and carry a new file",
    "device_taken": "this token belongs to another kiosk: use the token of the kiosk that wrote the file",
    "wrong_device": "this token belongs to another kiosk: use the token of the kiosk that wrote the file",
}


def apply_carried(session: Session, data: bytes, token: str | None = None) -> CarriedResult:
    """Apply a carried file.  The file's own token is used; `token` (typed at HQ) is for a file that
    has none, or whose token HQ does not take."""
    try:
        records = read_carried_file(data)
    except CarriedFileError as exc:
        raise CarriedRefused(f"{exc}; nothing was applied", code="unreadable_file", reason=str(exc)) from None
    kiosk = _kiosk(session, records, token)
    kiosk_id, shelter_id = kiosk.id, kiosk.shelter_id
    session.rollback()  # authentication's read must not hold a snapshot into the writes
    engine = session.get_bind()
    events = records.events
    applied = duplicates = acked = last_hlc = 0
    for start in range(0, max(len(events), 1), MAX_BATCH_EVENTS):
        batch = events[start:start + MAX_BATCH_EVENTS]
        try:
            result = _apply(engine, kiosk_id, records.device_id, batch)
        except BatchRejected as exc:
            index = exc.details.get("index")
            good = batch[:index] if isinstance(index, int) and 0 < index < len(batch) else []
            if good:   # the records before the one refused go in: they are not held back by it
                try:
                    result = _apply(engine, kiosk_id, records.device_id, good)
                    applied, last_hlc = applied + result.applied, max(last_hlc, _latest(good))
                except BatchRejected:
                    pass
            where = (f"record {batch[index].get('seq')} of the kiosk" if isinstance(index, int) and index < len(batch)
                     else f"records {start + 1}–{start + len(batch)} of the file")
            hint = f" ({_HINTS[exc.code]})" if exc.code in _HINTS else ""
            before = (f"the {applied} new record(s) before it are applied" if applied
                      else "nothing of the file was applied")
            named = batch[index] if isinstance(index, int) and index < len(batch) else None
            place = ({"seq": named.get("seq"), "shelters": _shelters_of(named)} if isinstance(named, dict)
                     else {"first": start + 1, "last": start + len(batch)})
            raise CarriedRefused(f"HQ refuses {where}: {exc.message}{hint}; {before}; applying the file again "
                                 "is safe", applied, last_hlc, exc.code, reason=exc.message, **place,
                                 **{k: v for k, v in exc.details.items() if k not in place}) from None
        applied, duplicates, acked = applied + result.applied, duplicates + result.duplicates, result.acked_seq
        last_hlc = max(last_hlc, _latest(batch))
    return CarriedResult(kiosk_id, shelter_id, records.device_id, len(events), applied, duplicates, acked, last_hlc)


def _shelters_of(event: dict) -> list[str]:
    """The shelter ids a record names (a refusal for an unknown shelter names one of them)."""
    data = event.get("data")
    named = [event.get("shelter_id"), data.get("to_shelter_id") if isinstance(data, dict) else None]
    return [s for s in named if isinstance(s, str)]


def _apply(engine, kiosk_id: str, device_id: str, batch: list):
    with one_writer(engine), engine.begin() as conn:
        # Carried records were all written before HQ reads the file: none is ordered later than now, nor
        # before what HQ has ordered already (a sync is ordered by HQ's timestamp, which may run ahead).
        received = max(pack(wall_clock_ms()), latest_order(conn))
        result = apply_batch(conn, kiosk_id, device_id, batch, by_hand=True, received=received)
        if result.applied:   # (in the batch's own transaction: the records and how far they reach, or neither)
            # Only new records are at the batch's end (what HQ held is its start), so its newest is theirs;
            # never later than now, as HQ orders it (a kiosk whose clock runs fast).
            _note_carried(conn, kiosk_id, min(wall_ms(_latest(batch)), wall_clock_ms()))
        return result


def _note_carried(conn: Connection, kiosk_id: str, newest_ms: int) -> None:
    meta = HQMeta.__table__
    name = CARRIED_KEY + kiosk_id
    newest = dt.datetime.fromtimestamp(newest_ms / 1000, dt.timezone.utc)
    held = conn.execute(select(meta.c.value).where(meta.c.name == name)).scalar()
    if held is None:
        conn.execute(meta.insert().values(name=name, value=newest.isoformat()))
    elif carried_time(held) is None or carried_time(held) < newest:
        conn.execute(update(meta).where(meta.c.name == name).values(value=newest.isoformat()))


def carried_time(value: str) -> dt.datetime | None:
    """A CARRIED_KEY row's time (UTC, aware); None for one that is not a time."""
    try:
        t = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc)


def _latest(batch: list) -> int:
    return max((e["hlc"] for e in batch if isinstance(e, dict) and type(e.get("hlc")) is int), default=0)


def _kiosk(session: Session, records, typed: str | None):
    """The enrolled kiosk the file is from: its own token first, then the one typed at HQ."""
    tokens = [t for t in (records.token, typed) if t]
    if not tokens:
        raise CarriedRefused("the file holds no kiosk token (it was written without one): import it with the "
                             "kiosk's token, or, for a kiosk never enrolled at HQ, enroll it (evac hq enroll-kiosk "
                             "--shelter ID) and use that token; nothing was applied", code="no_token")
    refusal = None
    for token in tokens:
        try:
            kiosk = authenticate(session, f"Bearer {token}")
            break
        except AuthError as exc:
            refusal = refusal or (exc, token.partition(".")[0])
    else:
        exc, kiosk_id = refusal
        raise CarriedRefused(f"{exc.message}; nothing was applied", code=exc.code, reason=exc.message,
                             kiosk=kiosk_id)
    if kiosk.device_id is None:
        # The token's first records bind it to this kiosk database for good: a token of another
        # kiosk (several may serve one shelter) would lock the real one out, so its shelter must fit.
        shelters = {e.get("shelter_id") for e in records.events if isinstance(e, dict) and e.get("type") == "checkin"}
        if shelters and kiosk.shelter_id not in shelters:
            raise CarriedRefused(
                f"the token is for kiosk {kiosk.id}, enrolled at {kiosk.shelter_id} and never heard from, but the "
                f"file's check-ins are at {', '.join(sorted(str(s) for s in shelters))}: use the token of the kiosk "
                "that wrote the file (or enroll one at its shelter); nothing was applied", code="other_shelters_token",
                kiosk=kiosk.id, enrolled_at=kiosk.shelter_id, shelters=sorted(str(s) for s in shelters))
    return kiosk
