"""HQ staff's list of records that may be one person counted at two shelters (evac.duplicates): alike by
name, birth date and address, or linked by a shelter's correction (the identity it corrected away still
names someone at another shelter).  A record of someone on their way to another shelter counts them too
(the dashboard's "in transit"): checked in there under another record (a paper card's blank address at
the first shelter, say), they would be counted twice, so it is listed with the shelters' records.

HQ never joins them itself: staff phone the shelters, and the shelter that no longer has the person checks
them out (or corrects the record on its tablet).  Names are shown, so only those who see safety records
open it (roles.INQUIRIES); a protected person's records are never listed, only counted."""
from __future__ import annotations

from flask import Blueprint, render_template
from sqlalchemy import select

from evac.duplicates import Record, possible_same_people, with_corrected
from evac.events import CORRECTION
from evac.whereabouts import CHECKED_IN, IN_TRANSIT

from . import safety
from .dashboard import site_names
from .db import db
from .models import EventRecord, KioskCorrection, Person, PersonKey
from .roles import INQUIRIES, staff_only

bp = Blueprint("possible_duplicates", __name__)


def _corrected(records: dict[int, Record]) -> tuple[list[tuple[Record, Record]], dict[tuple[int, int], set[str]]]:
    """Pairs of records checked in now that a kiosk's correction links: the identity its staff corrected
    away still names another record (another kiosk's, which HQ keeps apart: merge.identity_keys), and
    where the corrections were made ((id, id) -> the shelters of the kiosks)."""
    corrections = db.session.execute(select(KioskCorrection.device_id, KioskCorrection.old_key,
                                            KioskCorrection.new_key)).all()
    if not corrections:
        return [], {}
    wanted = sorted({k for _, old, new in corrections for k in (old, new)})
    owner: dict[str, tuple[int, int]] = {}   # key -> (row id, person) of its latest person_keys row
    for i in range(0, len(wanted), 500):
        for row_id, key, pid in db.session.execute(select(PersonKey.id, PersonKey.key, PersonKey.person_id)
                                                   .where(PersonKey.key.in_(wanted[i:i + 500]))):
            if key not in owner or row_id > owner[key][0]:
                owner[key] = (row_id, pid)
    linked = []
    for device, old, new in corrections:
        a, b = (owner.get(old, (0, 0))[1], owner.get(new, (0, 0))[1])
        if a != b and a in records and b in records:
            linked.append((device, a, b))
    # Where: the shelters the correction records were written at (a kiosk moved since is elsewhere now);
    # they are filed under the corrected person.
    made_at: dict[tuple[str, int], set[str]] = {}
    corrected = sorted({b for _, _, b in linked})
    for i in range(0, len(corrected), 500):
        for device, pid, shelter in db.session.execute(
                select(EventRecord.device_id, EventRecord.person_id, EventRecord.shelter_id).where(
                    EventRecord.type == CORRECTION, EventRecord.person_id.in_(corrected[i:i + 500])).distinct()):
            made_at.setdefault((device, pid), set()).add(shelter)
    pairs, where = [], {}
    for device, a, b in linked:
        pairs.append((records[a], records[b]))
        where.setdefault((min(a, b), max(a, b)), set()).update(made_at.get((device, b)) or {""})
    return pairs, where


def pairs_now() -> tuple[list[tuple[Record, Record, str]], int, dict[tuple[int, int], set[str]], set[int]]:
    """(pairs of records that count someone now, checked in or on their way, and may be one person; how many
    more involve a protected record; where a correction linked a pair; the records on their way, whose
    shelter is where they are going)."""
    rows = db.session.execute(select(Person.id, Person.name, Person.name_kana, Person.birth_date, Person.address,
                                     Person.sex, Person.shelter_id, Person.state)
                              .where(Person.state.in_((CHECKED_IN, IN_TRANSIT)))).all()
    records = {i: Record(i, name, kana, born, address or "", sex or "", shelter or "")
               for i, name, kana, born, address, sex, shelter, _ in rows}
    on_the_way = {i for i, *_, state in rows if state == IN_TRANSIT}
    corrected, where = _corrected(records)
    pairs = with_corrected(possible_same_people(records.values()), corrected)
    if not pairs:
        return [], 0, {}, set()
    # Protection is decided only for the few records paired (by the same rule as inquiries: safety.is_protected).
    protected = safety.protected_identities(db.session)
    paired = {r.id for a, b, _ in pairs for r in (a, b)}
    hidden = {p.id for p in db.session.execute(select(Person).where(Person.id.in_(paired))).scalars()
              if safety.is_protected(p, protected)}
    shown = [pair for pair in pairs if pair[0].id not in hidden and pair[1].id not in hidden]
    return shown, len(pairs) - len(shown), where, on_the_way


@bp.get("/staff/possible-duplicates")
@staff_only(INQUIRIES)
def page():
    pairs, protected, corrected_at, on_the_way = pairs_now()
    shelters = site_names()
    corrected_at = {pair: sorted(shelters.get(s, s) or "?" for s in sites) for pair, sites in corrected_at.items()}
    return render_template("possible_duplicates.html", pairs=pairs, protected=protected, shelters=shelters,
                           corrected_at=corrected_at, on_the_way=on_the_way)
