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
    """Nothing more of the file was applied.  The message is for people: what, and what to do."""

    def __init__(self, message: str, applied: int = 0):
        super().__init__(message)
        self.message, self.applied = message, applied


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


def apply_carried(session: Session, data: bytes, token: str | None = None) -> CarriedResult:
    """Apply a carried file.  `token` is for a file from a kiosk that ran without one (it has none)."""
    try:
        records = read_carried_file(data)
    except CarriedFileError as exc:
        raise CarriedRefused(f"{exc}; nothing was applied") from None
    token = token or records.token
    if not token:
        raise CarriedRefused("the file holds no kiosk token (it was written without one): import it with the "
                             "kiosk's token, or, for a kiosk never enrolled at HQ, enroll it (evac hq enroll-kiosk "
                             "--shelter ID) and use that token; nothing was applied")
    try:
        kiosk = authenticate(session, f"Bearer {token}")
    except AuthError as exc:
        raise CarriedRefused(f"{exc.message}; nothing was applied") from None
    kiosk_id, shelter_id = kiosk.id, kiosk.shelter_id
    session.rollback()  # authentication's read must not hold a snapshot into the writes
    engine = session.get_bind()
    events = records.events
    applied = duplicates = acked = 0
    for start in range(0, max(len(events), 1), MAX_BATCH_EVENTS):
        batch = events[start:start + MAX_BATCH_EVENTS]
        try:
            with one_writer(engine), engine.begin() as conn:
                result = apply_batch(conn, kiosk_id, records.device_id, batch)
        except BatchRejected as exc:
            hint = (" (HQ holds fewer of this kiosk's records than the file starts after: write the file "
                    "again with everything, `evac kiosk carry --all`)" if exc.code == "sequence_gap" else "")
            before = (f"the {applied} new record(s) before them are applied" if applied
                      else "nothing of the file was applied")
            raise CarriedRefused(f"HQ refuses records {start + 1}–{start + len(batch)} of the file "
                                 f"(counted from record {start + 1}): {exc.message}{hint}; {before}; "
                                 "applying the file again is safe", applied) from None
        applied, duplicates, acked = applied + result.applied, duplicates + result.duplicates, result.acked_seq
    last_hlc = max((e["hlc"] for e in events if isinstance(e.get("hlc"), int)), default=0)
    return CarriedResult(kiosk_id, shelter_id, records.device_id, len(events), applied, duplicates, acked, last_hlc)
