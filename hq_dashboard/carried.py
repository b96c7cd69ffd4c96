"""HQ applies records carried by hand from a kiosk (evac.carried): as its sync would, batch by batch.

Each batch is applied atomically and idempotently by the same merge as /api/v1/sync, under the kiosk's
own token, so a file applied twice, or records that also arrive over the network later, count once.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from evac.carried import CarriedFileError, read_carried_file

from .db import one_writer
from .enrollment import AuthError, authenticate
from .merge import MAX_BATCH_EVENTS, BatchRejected, apply_batch


class CarriedRefused(Exception):
    """Nothing more of the file was applied.  The message is for people: what, and what to do.
    `applied` records before the refusal were applied (`last_hlc` the latest of their clocks)."""

    def __init__(self, message: str, applied: int = 0, last_hlc: int = 0):
        super().__init__(message)
        self.message, self.applied, self.last_hlc = message, applied, last_hlc


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
        raise CarriedRefused(f"{exc}; nothing was applied") from None
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
            raise CarriedRefused(f"HQ refuses {where}: {exc.message}{hint}; {before}; applying the file again "
                                 "is safe", applied, last_hlc) from None
        applied, duplicates, acked = applied + result.applied, duplicates + result.duplicates, result.acked_seq
        last_hlc = max(last_hlc, _latest(batch))
    return CarriedResult(kiosk_id, shelter_id, records.device_id, len(events), applied, duplicates, acked, last_hlc)


def _apply(engine, kiosk_id: str, device_id: str, batch: list):
    with one_writer(engine), engine.begin() as conn:
        return apply_batch(conn, kiosk_id, device_id, batch, by_hand=True)


def _latest(batch: list) -> int:
    return max((e["hlc"] for e in batch if isinstance(e, dict) and type(e.get("hlc")) is int), default=0)


def _kiosk(session: Session, records, typed: str | None):
    """The enrolled kiosk the file is from: its own token first, then the one typed at HQ."""
    tokens = [t for t in (records.token, typed) if t]
    if not tokens:
        raise CarriedRefused("the file holds no kiosk token (it was written without one): import it with the "
                             "kiosk's token, or, for a kiosk never enrolled at HQ, enroll it (evac hq enroll-kiosk "
                             "--shelter ID) and use that token; nothing was applied")
    refusal = None
    for token in tokens:
        try:
            kiosk = authenticate(session, f"Bearer {token}")
            break
        except AuthError as exc:
            refusal = refusal or exc
    else:
        raise CarriedRefused(f"{refusal.message}; nothing was applied")
    if kiosk.device_id is None:
        # The token's first records bind it to this kiosk database for good: a token of another
        # kiosk (several may serve one shelter) would lock the real one out, so its shelter must fit.
        shelters = {e.get("shelter_id") for e in records.events if isinstance(e, dict) and e.get("type") == "checkin"}
        if shelters and kiosk.shelter_id not in shelters:
            raise CarriedRefused(
                f"the token is for kiosk {kiosk.id}, enrolled at {kiosk.shelter_id} and never heard from, but the "
                f"file's check-ins are at {', '.join(sorted(str(s) for s in shelters))}: use the token of the kiosk "
                "that wrote the file (or enroll one at its shelter); nothing was applied")
    return kiosk
