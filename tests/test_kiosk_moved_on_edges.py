"""Edges of HQ's left-elsewhere words on the kiosk (tests/test_kiosk_moved_on.py has the main story): a
correction of someone HQ said moved on, a cursor HQ should never send, and the tablet's words."""
from __future__ import annotations

from tests.test_kiosk_moved_on import ADDRESS, HANAKO, JIRO, hanako_moves_on, sites  # noqa: F401
from tests.test_sync_hq_answers import serve  # noqa: F401  (fixture: HQ over real HTTP in a thread)

from evac.events import Person


def hq_has(hq_app, name: str) -> list[tuple[str, str | None]]:
    """Where HQ has everyone of this name: (state, shelter_id) per person."""
    from sqlalchemy import select

    from hq_dashboard.db import db
    from hq_dashboard.models import Person as HQPerson
    with hq_app.app_context():
        return [tuple(r) for r in db.session.execute(
            select(HQPerson.state, HQPerson.shelter_id).where(HQPerson.name == name).order_by(HQPerson.id))]


def correct_name(site, old_name: str, new_name: str) -> None:
    """Staff at `site` correct a typo in the name (the identity key changes), on the person's row."""
    from kiosk import staff_store
    (row,) = [r for r in staff_store.checked_out(site.store, site.shelter) + staff_store.roster(site.store, site.shelter)
              if r.person.name == old_name]
    p = row.person
    staff_store.correct(site.store, site.shelter, row,
                        Person(name=new_name, birth_date=p.birth_date, sex=p.sex, address=p.address,
                               name_kana=p.name_kana),
                        stay_type="in_shelter", needs=[], contact_phone="", home_damage="unknown",
                        household_members=None, consent="none", family_code="")


def test_a_corrected_identity_of_someone_hq_said_moved_is_where_hq_has_it(sites, hq_app):
    """Staff correct the name of someone HQ said moved on: HQ files the kiosk's records under the corrected
    identity as someone new, at this shelter, and says nothing of them.  The kiosk counts the corrected
    person here too, not moved: the two agree, and go on agreeing (the cursor and the last word taken are
    HQ's log's, which the correction does not change; a roster folded again keeps it so)."""
    from kiosk.store import KioskStore
    a, b = sites
    hanako_moves_on(a, b)
    a.sync()
    assert a.left() == {"大石 花子": "moved"}
    after, last = a.store.left_elsewhere_after(), a.store.left_elsewhere_last()
    correct_name(a, "大石 花子", "大石 華子")
    assert sorted(a.here()) == ["大石 次郎", "大石 華子"] and a.headcount() == 2 and a.left() == {}
    a.sync()
    b.sync()
    a.sync()
    assert hq_has(hq_app, "大石 華子") == [("checked_in", "H001")]      # HQ: someone new, at A
    assert hq_has(hq_app, "大石 花子") == [("checked_in", "H002")]
    assert sorted(a.here()) == ["大石 次郎", "大石 華子"] and a.headcount() == 2 and a.left() == {}
    assert (a.store.left_elsewhere_after(), a.store.left_elsewhere_last()) == (after, last)
    with a.store._write():
        a.store.db.execute("DELETE FROM meta WHERE key = 'identity_form'")
    a.store.close()
    a.store = KioskStore(a.path)                         # folded again from its log and HQ's words
    assert sorted(a.here()) == ["大石 次郎", "大石 華子"] and a.left() == {}
    a.sync()
    assert sorted(a.here()) == ["大石 次郎", "大石 華子"] and a.left() == {}
    assert hq_has(hq_app, "大石 華子") == [("checked_in", "H001")]
