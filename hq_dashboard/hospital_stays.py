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

from evac.events import CHECKIN, STATUS, order_key

from .models import EventRecord, Person

HOSPITALISED = "hospitalised"


def _chunks(ids: list[int], size: int = 500):
    for i in range(0, len(ids), size):
        yield ids[i:i + size]


def ended(session: Session, persons: Iterable[Person]) -> set[int]:
    """The ids of these persons whose recorded hospital stay has ended: a check-in at another shelter than
    the one that recorded it came after it, whatever came since (checked out or moved on from there, back
    at the first shelter: still ended, until a shelter records a stay again).  One query per 500
    persons with a stay recorded, however many."""
    stays = {p.id: p.status_order for p in persons if p.status == HOSPITALISED}
    out: set[int] = set()
    for chunk in _chunks(sorted(stays)):
        records = session.execute(
            select(EventRecord.person_id, EventRecord.type, EventRecord.hlc, EventRecord.device_id, EventRecord.seq,
                   EventRecord.shelter_id)
            .where(EventRecord.person_id.in_(chunk), EventRecord.type.in_((CHECKIN, STATUS)))).all()
        # Where each stay was recorded: the status record whose order the person holds.
        recorded_at = {r.person_id: r.shelter_id for r in records
                       if r.type == STATUS and order_key(r.hlc, r.device_id, r.seq) == stays[r.person_id]}
        for r in records:
            if (r.type == CHECKIN and r.person_id in recorded_at and r.shelter_id != recorded_at[r.person_id]
                    and order_key(r.hlc, r.device_id, r.seq) > stays[r.person_id]):
                out.add(r.person_id)
    return out


def status_now(session: Session, person: Person) -> str:
    """The person's status as HQ tells it: "" for a hospital stay that has ended (`ended`)."""
    return "" if person.id in ended(session, [person]) else person.status
