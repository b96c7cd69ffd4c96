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
from .dashboard import site_names
from .models import Person
from .roles import INQUIRIES, staff_only

bp = Blueprint("possible_duplicates", __name__)


def pairs_now() -> tuple[list[tuple[Record, Record, str]], int]:
    """(pairs of records checked in now that may be one person, how many more involve a protected record)."""
    rows = db.session.execute(select(Person.id, Person.name, Person.name_kana, Person.birth_date, Person.address,
                                     Person.sex, Person.shelter_id).where(Person.state == "checked_in")).all()
    pairs = possible_same_people(Record(i, name, kana, born, address or "", sex or "", shelter or "")
                                 for i, name, kana, born, address, sex, shelter in rows)
    if not pairs:
        return [], 0
    # Protection is decided only for the few records paired (by the same rule as inquiries: safety.is_protected).
    protected = safety.protected_identities(db.session, households=True)
    paired = {r.id for a, b, _ in pairs for r in (a, b)}
    hidden = {p.id for p in db.session.execute(select(Person).where(Person.id.in_(paired))).scalars()
              if safety.is_protected(p, protected)}
    shown = [pair for pair in pairs if pair[0].id not in hidden and pair[1].id not in hidden]
    return shown, len(pairs) - len(shown)


@bp.get("/staff/possible-duplicates")
@staff_only(INQUIRIES)
def page():
    pairs, protected = pairs_now()
    shelters = site_names()
    return render_template("possible_duplicates.html", pairs=pairs, protected=protected, shelters=shelters)
