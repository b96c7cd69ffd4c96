"""HQ staff's list of people their shelters recorded as injured, ill or in hospital, with the note the
shelter's staff wrote for HQ (the tablet's 「メモ（本部向け）」): where HQ sends a doctor, a nurse or an
ambulance, and whom it asks the hospitals about.

Names and health are shown, so only those who see safety records open it (roles.INQUIRIES); a protected
person's record is never listed, only counted (the lead asks the shelter), as on the duplicates page."""
from __future__ import annotations

from flask import Blueprint, render_template
from sqlalchemy import select

from . import safety
from .db import db
from .dashboard import site_names
from .models import Person
from .roles import INQUIRIES, staff_only

bp = Blueprint("needing_care", __name__)

# What the tablet records (evac.events.PERSON_STATUSES), most urgent first; "safe" is not listed.
NEEDING_CARE = ("hospitalised", "injured", "ill")


def needing_care_now() -> tuple[list[Person], int]:
    """(people at a shelter or registered with one whose latest status needs care, most urgent first and by
    shelter; how many more are protected and left out)."""
    rows = db.session.execute(select(Person).where(Person.state == "checked_in", Person.status.in_(NEEDING_CARE))
                              ).scalars().all()
    if not rows:
        return [], 0
    protected = safety.protected_identities(db.session, households=True)
    shown = [p for p in rows if not safety.is_protected(p, protected)]
    shown.sort(key=lambda p: (NEEDING_CARE.index(p.status), p.shelter_id or "", p.name))
    return shown, len(rows) - len(shown)


@bp.get("/staff/needing-care")
@staff_only(INQUIRIES)
def page():
    people, protected = needing_care_now()
    shelters = site_names()
    return render_template("needing_care.html", people=people, protected=protected, shelters=shelters)
