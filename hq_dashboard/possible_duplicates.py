"""HQ staff's list of records that may be one person counted at two shelters (evac.duplicates).

HQ never joins them itself: staff phone the shelters, and the shelter that no longer has the person checks
them out (or corrects the record on its tablet).  Names are shown, so only those who see safety records
open it (roles.INQUIRIES); a protected person's records are never listed, only counted."""
from __future__ import annotations

from flask import Blueprint, render_template
from sqlalchemy import select

from evac.duplicates import Record, possible_same_people

from . import safety
from .db import db
from .models import Person, Shelter
from .roles import INQUIRIES, staff_only

bp = Blueprint("possible_duplicates", __name__)


def pairs_now() -> tuple[list[tuple[Record, Record, str]], int]:
    """(pairs of records checked in now that may be one person, how many more involve a protected record)."""
    protected = safety.protected_identities(db.session, households=True)
    rows = db.session.execute(select(Person).where(Person.state == "checked_in")).scalars().all()
    hidden = {p.id for p in rows if safety.is_protected(p, protected)}
    records = [Record(p.id, p.name, p.name_kana, p.birth_date, p.address, p.sex or "", p.shelter_id or "")
               for p in rows]
    pairs = possible_same_people(records)
    shown = [pair for pair in pairs if pair[0].id not in hidden and pair[1].id not in hidden]
    return shown, len(pairs) - len(shown)


@bp.get("/staff/possible-duplicates")
@staff_only(INQUIRIES)
def page():
    pairs, protected = pairs_now()
    shelters = {s.id: s.name for s in db.session.execute(select(Shelter)).scalars()}
    return render_template("possible_duplicates.html", pairs=pairs, protected=protected, shelters=shelters)
