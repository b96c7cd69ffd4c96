"""HQ staff's list of people their shelters recorded as injured, ill or in hospital, with the note the
shelter's staff wrote for HQ (the tablet's 「メモ（本部向け）」): where HQ sends a doctor, a nurse or an
ambulance, and whom it asks the hospitals about.

Names and health are shown, so only those who see safety records open it (roles.INQUIRIES); a protected
person's record is never listed, only counted (the lead asks the shelter), as on the duplicates page."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, render_template
from sqlalchemy import select

from evac.hlc import wall_ms
from evac.whereabouts import CHECKED_IN, CHECKED_OUT, IN_TRANSIT

from . import hospital_stays, safety
from .db import db
from .dashboard import site_names
from .models import Person, Shelter
from .roles import INQUIRIES, staff_only

bp = Blueprint("needing_care", __name__)

# What the tablet records (evac.events.PERSON_STATUSES), most urgent first; "safe" is not listed.
NEEDING_CARE = ("hospitalised", "injured", "ill")


# Whereabouts (evac.whereabouts) of those listed: at a shelter or registered with one; and those a shelter
# checked out or sent on (a shelter checks out whom an ambulance took to hospital: then most of all HQ asks
# the hospitals about them).  Self-reports carry no status of a shelter's staff.
LISTED_STATES = (CHECKED_IN, CHECKED_OUT, IN_TRANSIT)


def recorded_at(person: Person) -> dt.datetime | None:
    """When the shelter recorded the status (the clock of its record: evac.events.order_key)."""
    try:
        return dt.datetime.fromtimestamp(wall_ms(int(person.status_order[:20])) / 1000, dt.timezone.utc)
    except (ValueError, OverflowError, OSError):
        return None


def needing_care_now() -> tuple[list[Person], int]:
    """(people whose latest status a shelter recorded needs care, most urgent first, those still at a
    shelter before those who left, by shelter; how many more are protected and left out)."""
    rows = db.session.execute(select(Person).where(Person.state.in_(LISTED_STATES),
                                                   Person.status.in_(NEEDING_CARE))).scalars().all()
    over = hospital_stays.ended(db.session, rows)   # out of hospital, checked in elsewhere since: not listed
    rows = [p for p in rows if p.id not in over]
    if not rows:
        return [], 0
    protected = safety.protected_identities(db.session)
    shown = [p for p in rows if not safety.is_protected(p, protected)]
    shown.sort(key=lambda p: (NEEDING_CARE.index(p.status), p.state != CHECKED_IN, p.shelter_id or "", p.name))
    return shown, len(rows) - len(shown)


@bp.get("/staff/needing-care")
@staff_only(INQUIRIES)
def page():
    people, protected = needing_care_now()
    shelters = site_names()
    # Where those on the way are bound, if its staff closed it or it is full: they may never be checked in there.
    bound = {p.shelter_id for p in people if p.state == IN_TRANSIT}
    statuses = {s.id: s.status for s in db.session.execute(select(Shelter).where(Shelter.id.in_(bound))).scalars()
                } if bound else {}
    return render_template("needing_care.html", people=people, protected=protected, shelters=shelters,
                           statuses=statuses, recorded_at=recorded_at)
