"""Which identity a person goes by once staff have corrected it (a typo in name, birth date or address).

A correction says "the identity known as A is really B".  From then on, anything still said under A —
a pre-registration QR printed with the typo, a kiosk that never saw the correction — is still about
this person (HQ keeps A's key for them) but is no longer news about their name: it must not undo the
correction.  Correcting back (B → A) makes A good again and B the typo.

The result depends only on the *set* of events, never on the order they arrived in, like
evac.whereabouts: sort by order, find which keys the corrections left superseded, then take
the identity statements in order, skipping those made under a superseded key.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from .events import CORRECTION, Person
from .identity import person_key


@dataclass(frozen=True)
class Said:
    """One event's word on a person: its order (evac.events.order_key), type, person, data, household."""
    order: str
    type: str
    person: Person
    data: dict
    household_id: str = ""


@dataclass(frozen=True)
class Identity:
    person: Person
    household_id: str
    order: str   # of the last statement taken: name, birth date and sex are its
    kana_order: str = ""        # of the latest statement taken that gave a kana
    address_order: str = ""     # of the latest statement taken that gave an address
    household_order: str = ""   # of the latest statement (under any name) that gave a household


# HQ's own stream of what people report on the public self-report page, where anyone can claim to be
# anyone.  Kiosk ids never hold a space, so this is found in an order key (evac.events.order_key) only
# when the order is of a self-report.
SELF_REPORT_DEVICE = "hq-self-report"
_SELF_REPORTED = f" {SELF_REPORT_DEVICE} "


def identity_rank(order: str) -> tuple[int, str]:
    """How strongly a statement of someone's name, sex, kana or address stands: what a kiosk recorded
    (a card, staff, a pre-registration QR shown in person) beats a self-report whatever their order;
    within one source the latest wins.  No statement yet ranks lowest."""
    if not order:
        return (0, "")
    return (1 if _SELF_REPORTED in order else 2, order)


def identity_outranks(order: str, current: str) -> bool:
    return identity_rank(order) > identity_rank(current)


def _key(p: Person) -> str:
    return person_key(p.name, p.birth_date, p.address)


def moved_on(moved: dict[str, str], old_key: str, new_key: str) -> dict[str, str]:
    """Identities corrected away -> the one the person goes by now, after a correction old -> new:
    what one kiosk's corrections leave (its corrected_keys, HQ's kiosk_corrections), followed through
    chains; correcting back makes the new one good again."""
    moved = {gone: (new_key if now == old_key else now) for gone, now in moved.items()}
    moved[old_key] = new_key
    return {gone: now for gone, now in moved.items() if gone not in (now, new_key)}


def superseded_keys(said: Iterable[Said]) -> set[str]:
    """Keys that the latest correction involving them corrected away."""
    gone: set[str] = set()
    for s in sorted((s for s in said if s.type == CORRECTION), key=lambda s: s.order):
        gone.add(_key(s.person))
        gone.discard(_key(Person(**s.data["person"])))
    return gone


def current_identity(said: Iterable[Said]) -> Identity | None:
    """The identity the statements leave, by HQ's merge rule (hq_dashboard.merge): name, birth date
    and sex of the latest statement taken; kana and address of the latest statement taken that gave
    one (a statement without them keeps the ones known).  The household is not identity: the latest
    one given under any name stands."""
    # In rank order: the last statement taken is the one that stands (identity_rank).
    said = sorted(said, key=lambda s: identity_rank(s.order))
    gone = superseded_keys(said)
    current: Person | None = None
    order = household = kana_order = address_order = household_order = ""
    for s in said:
        if s.household_id:
            household, household_order = s.household_id, s.order
        if s.type == CORRECTION:
            p = Person(**s.data["person"])
        elif _key(s.person) in gone:
            continue
        else:
            p = s.person
        if p.name_kana:
            kana_order = s.order
        if p.address:
            address_order = s.order
        if current is not None:
            p = Person(p.name, p.birth_date, p.sex, p.address or current.address,
                       p.name_kana or current.name_kana, p.prereg_id)
        current, order = p, s.order
    if current is None:
        return None
    return Identity(current, household, order, kana_order, address_order, household_order)
