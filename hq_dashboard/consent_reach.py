"""What a kiosk's consent speaks for: what its own shelter recorded (災対法 §86-15).

A consent widening disclosure counts as given in person when the kiosk that sent it is where the person
was then (merge.consent_source).  But every kiosk's token is on its carried files, and a copy can send a
check-in at its own shelter and then a consent: in person by that rule, and it would open the injury,
the contact and, once the person is recorded anywhere, the whereabouts that other shelters recorded.  So
a kiosk consent tells only what a kiosk of the consenting shelter recorded; what another shelter recorded
is told as the law's tiers allow, after staff confirm the inquirer.  Someone who moves and wants to be
found says so again at the new shelter's kiosk.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from evac.corrections import SELF_REPORT_DEVICE
from evac.disclosure import CONTACT, INJURY, WHEREABOUTS

from .models import UNCHECKED_CONSENT_SOURCES, Kiosk, Person

_KIOSK_SHELTERS = "consent_reach.kiosk_shelters"


def kiosk_shelters(session: Session) -> dict[str, str]:
    """Each kiosk database (device id) and the shelter its kiosk is enrolled at; read once per session."""
    known = session.info.get(_KIOSK_SHELTERS)
    if known is None:
        known = session.info[_KIOSK_SHELTERS] = dict(session.execute(
            select(Kiosk.device_id, Kiosk.shelter_id).where(Kiosk.device_id.is_not(None))).all())
    return known


def recorded_by(order: str) -> str | None:
    """The device of an order key (evac.events.order_key: hlc, device, sequence)."""
    parts = order.split(" ") if order else ()
    return parts[1] if len(parts) == 3 else None


def consent_speaks_for(session: Session, person: Person, status: str) -> frozenset | None:
    """Of WHEREABOUTS, INJURY and CONTACT, those the person's kiosk consent may tell (PersonFacts); None when
    the consent is not a kiosk's (a self-report's, or one from elsewhere, counts for less already).
    `status`: the status as HQ tells it now (hospital_stays.status_now)."""
    if person.consent_source in UNCHECKED_CONSENT_SOURCES or person.consent == "none":
        return None
    shelters = kiosk_shelters(session)
    own = shelters.get(recorded_by(person.consent_order) or "")

    def here(order: str) -> bool:
        return own is not None and shelters.get(recorded_by(order) or "") == own

    location = recorded_by(person.loc_order)
    speaks = set()
    # (self-reported whereabouts keep their own rule: never told at once, evac.disclosure._consented)
    if location is None or location == SELF_REPORT_DEVICE or here(person.loc_order):
        speaks.add(WHEREABOUTS)
    # The injury and contact the consenting shelter recorded; and, while its record of where they are is
    # told, none ("not reported").  Not "none" once they are recorded elsewhere: a later status from there
    # would take it away, and the answer would tell a stranger that another shelter recorded something.
    if here(person.status_order) or (not status and WHEREABOUTS in speaks):
        speaks.add(INJURY)
    if here(person.contact_order) or (not person.contact and WHEREABOUTS in speaks):
        speaks.add(CONTACT)
    return frozenset(speaks)
