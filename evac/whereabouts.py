"""Where a person is, as the fold of their location events in clock order.

The state is a function of the *set* of events, never of the order they
arrived in: HQ sorts a person's location events by `Event.order` and folds
them with `step`.  That is what makes duplicated, reordered and retried
batches from many kiosks converge to the state of in-order delivery.

A check-out or transfer only acts on someone who is checked in at the
shelter that wrote it: a kiosk at shelter A that checks someone out after
they were already seen arriving at shelter B must not take them off B.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from .events import CHECKIN, CHECKOUT, SELF_REPORT, STAY_TYPE, TRANSFER

UNKNOWN = "unknown"
CHECKED_IN = "checked_in"
CHECKED_OUT = "checked_out"
IN_TRANSIT = "in_transit"
SELF_REPORTED = "self_reported"   # safe outside the shelters, by their own report; stay_type says where


@dataclass(frozen=True, slots=True)
class Whereabouts:
    state: str = UNKNOWN
    shelter_id: str | None = None   # checked in: where; in transit: bound for; checked out: left from
    stay_type: str | None = None

    @property
    def slot(self) -> tuple[str, str] | None:
        """The (shelter, stay type) this person counts in, if any."""
        if self.state == CHECKED_IN:
            return (self.shelter_id, self.stay_type)
        return None


NOWHERE = Whereabouts()


def step(where: Whereabouts, etype: str, shelter_id: str, data: dict) -> Whereabouts:
    """The next whereabouts after one location event."""
    if etype == CHECKIN:
        return Whereabouts(CHECKED_IN, shelter_id, data.get("stay_type", "in_shelter"))
    if etype == SELF_REPORT:
        # Anyone can claim to be anyone on the public page: a claim never takes someone a shelter
        # has checked in off its roll (they are checked out there first).
        if where.state == CHECKED_IN:
            return where
        return Whereabouts(SELF_REPORTED, None, data["where"])
    here = where.state == CHECKED_IN and where.shelter_id == shelter_id
    if not here:
        return where
    if etype == CHECKOUT:
        return Whereabouts(CHECKED_OUT, shelter_id, None)
    if etype == TRANSFER:
        return Whereabouts(IN_TRANSIT, data["to_shelter_id"], None)
    if etype == STAY_TYPE:
        return Whereabouts(CHECKED_IN, shelter_id, data["stay_type"])
    return where


def fold(events: Iterable[tuple[str, str, dict]], start: Whereabouts = NOWHERE) -> Whereabouts:
    """Fold (type, shelter_id, data) location events, already in clock order."""
    where = start
    for etype, shelter_id, data in events:
        where = step(where, etype, shelter_id, data)
    return where
