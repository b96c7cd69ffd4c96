"""Which hospital stays a shelter recorded have ended without anyone saying so.

A shelter's staff record someone as in hospital (a status), and the shelter keeps that until its staff
change it.  When the person is checked in afterwards at another shelter (out of hospital, sent on to a
shelter near home), that shelter never knew of the stay and nobody changes the status: HQ must not go on
telling them as in hospital.  Only a check-in at another shelter ends it: a change of stay type, a QR
scanned again, or a self-report says nothing about a hospital stay, and the recording shelter's own
staff change the status when the person comes back to them (their tablet shows it)."""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from evac.events import CHECKIN, order_key
from evac.whereabouts import CHECKED_IN

from .models import EventRecord, Person

HOSPITALISED = "hospitalised"


def _recorded_at(session: Session, order: str) -> str | None:
    """The shelter of the record whose order (evac.events.order_key) this is."""
    parts = order.split(" ")
    if len(parts) < 3:
        return None
    try:
        hlc, seq = int(parts[0]), int(parts[-1])
    except ValueError:
        return None
    device = " ".join(parts[1:-1])
    row = session.get(EventRecord, (device, seq))
    return row.shelter_id if row is not None and row.hlc == hlc else None


def ended(session: Session, persons: Iterable[Person]) -> set[int]:
    """The ids of these persons whose recorded hospital stay a later check-in at another shelter ended."""
    out = set()
    for person in persons:
        if person.status != HOSPITALISED or person.state != CHECKED_IN:
            continue
        latest = session.execute(
            select(EventRecord.hlc, EventRecord.device_id, EventRecord.seq, EventRecord.shelter_id)
            .where(EventRecord.person_id == person.id, EventRecord.type == CHECKIN)
            .order_by(EventRecord.hlc.desc(), EventRecord.device_id.desc(), EventRecord.seq.desc()).limit(1)).first()
        if latest is None or order_key(latest.hlc, latest.device_id, latest.seq) <= person.status_order:
            continue
        if latest.shelter_id != _recorded_at(session, person.status_order):
            out.add(person.id)
    return out


def status_now(session: Session, person: Person) -> str:
    """The person's status as HQ tells it: "" for a hospital stay that has ended (`ended`)."""
    return "" if person.id in ended(session, [person]) else person.status
