"""HQ's word to a kiosk about someone it has as here (hq_dashboard.left_elsewhere), merged from real kiosk
batches into a real HQ (SQLite and PostgreSQL): a stay-type change the kiosk wrote before it heard that
they moved on does not say where they are; and a protection that lands after the word takes "moved" back
to "left" at once, not at their next move."""
from __future__ import annotations

import json

from sqlalchemy import select

from tests.test_kiosk_moved_on import ADDRESS, HANAKO, SABURO, sites  # noqa: F401  (fixture)
from tests.test_sync_hq_answers import serve  # noqa: F401  (fixture: HQ over real HTTP in a thread)

NEVER_DISCLOSE = {"consent": "none", "family_code": "", "never_disclose": True}


def hq_whereabouts(hq_app, who) -> tuple[str, str | None, str | None]:
    """(state, shelter, stay type) HQ holds for this person."""
    from hq_dashboard.db import db
    from hq_dashboard.models import Person
    with hq_app.app_context():
        row = db.session.execute(select(Person.state, Person.shelter_id, Person.stay_type)
                                 .where(Person.name == who["name"], Person.birth_date == who["birth_date"])).one()
        db.session.remove()
    return tuple(row)


def hq_counts(hq_app) -> dict[str, tuple[int, int, int]]:
    """(occupancy, at home, in car) per shelter, as HQ's counters hold them."""
    from hq_dashboard.db import db
    from hq_dashboard.models import Shelter
    with hq_app.app_context():
        rows = db.session.execute(select(Shelter.id, Shelter.occupancy, Shelter.at_home, Shelter.in_car)
                                  .where(Shelter.id.in_(["H001", "H002"]))).all()
        db.session.remove()
    return {sid: (n, home, car) for sid, n, home, car in rows}


def test_a_stay_type_changed_here_after_she_checked_in_elsewhere_does_not_keep_her_here(sites, hq_app):
    """Staff change her stay type at the first shelter before its kiosk heard she checked in at the second:
    that record names this shelter, but says nothing of her being here.  HQ keeps her at the second shelter
    with her stay type there, and tells the first kiosk she moved."""
    a, b = sites
    a.check_in(HANAKO)
    a.sync()
    b.check_in(HANAKO)
    b.sync()
    a.store.set_stay_type(HANAKO["name"], HANAKO["birth_date"], ADDRESS, "in_car")   # A has not heard yet
    a.sync()
    assert hq_whereabouts(hq_app, HANAKO) == ("checked_in", "H002", "in_shelter")
    assert hq_counts(hq_app) == {"H001": (0, 0, 0), "H002": (1, 0, 0)}
    assert a.here() == [] and a.headcount() == 0 and a.left() == {"大石 花子": "moved"}
    assert b.here() == ["大石 花子"] and b.headcount() == 1


def test_a_stay_type_changed_here_that_hq_hears_before_her_check_in_elsewhere(sites, hq_app):
    """The same records arriving the other way round (the second shelter's kiosk offline): HQ folds her
    records again in their order, and its word is the same."""
    a, b = sites
    a.check_in(HANAKO)
    a.sync()
    b.check_in(HANAKO)
    # Written after her check-in at B (minutes later in truth): A's clock has heard B's.
    (body,) = b.store.db.execute("SELECT body FROM written_events ORDER BY seq DESC LIMIT 1").fetchone()
    a.store.receive_hlc(json.loads(body)["hlc"])
    a.store.set_stay_type(HANAKO["name"], HANAKO["birth_date"], ADDRESS, "in_car")
    a.sync()
    assert hq_whereabouts(hq_app, HANAKO) == ("checked_in", "H001", "in_car")
    b.sync()
    assert hq_whereabouts(hq_app, HANAKO) == ("checked_in", "H002", "in_shelter")
    assert hq_counts(hq_app) == {"H001": (0, 0, 0), "H002": (1, 0, 0)}
    a.sync()
    assert a.here() == [] and a.headcount() == 0 and a.left() == {"大石 花子": "moved"}


def test_a_stay_type_changed_here_while_she_is_here_says_nothing(sites, hq_app):
    """Her stay type changed at the shelter she is at, after a check-in at another kiosk of it: no word."""
    a, b = sites
    a.check_in(HANAKO)
    a.sync()
    a.store.set_stay_type(HANAKO["name"], HANAKO["birth_date"], ADDRESS, "at_home")
    a.sync()
    a.sync()
    assert hq_whereabouts(hq_app, HANAKO) == ("checked_in", "H001", "at_home")
    assert a.here() == ["大石 花子"] and a.headcount() == 1 and a.left() == {}


def she_alone_moves_on(a, b):
    """Hanako alone (no household) checked in at A, then at B; A synced since, and was told "moved"."""
    a.check_in(HANAKO)
    a.sync()
    b.check_in(HANAKO)
    b.sync()
    a.sync()
    assert a.left() == {"大石 花子": "moved"}

def test_protected_at_the_shelter_she_moved_to_the_first_kiosks_word_becomes_left(sites):
    """She moved on, the first kiosk was told "moved"; then she is made never-disclose where she is now.
    The first kiosk is told "left" with its next sync: not "moved" until she moves again, when "left" would
    tell when the protection came."""
    a, b = sites
    she_alone_moves_on(a, b)
    b.store.set_consent("H002", HANAKO["name"], HANAKO["birth_date"], ADDRESS, NEVER_DISCLOSE)
    b.sync()
    a.sync()
    assert a.left() == {"大石 花子": "left"} and a.here() == [] and a.headcount() == 0
    assert [tuple(r) for r in a.store.db.execute("SELECT kind FROM left_elsewhere")] == [("left",)]


def test_protected_by_the_kiosk_she_left_its_word_becomes_left(sites):
    """Staff at the first shelter learn she needs protection and record it there: HQ's word is "left" too."""
    a, b = sites
    she_alone_moves_on(a, b)
    a.store.set_consent("H001", HANAKO["name"], HANAKO["birth_date"], ADDRESS, NEVER_DISCLOSE)
    a.sync()
    a.sync()
    assert a.left() == {"大石 花子": "left"}


def test_his_mother_protected_after_they_moved_on_the_childs_word_becomes_left(sites):
    """Protection reaches the household: her child, of whom the batch said nothing, is "left" too."""
    a, b = sites
    assert a.api.post("/api/checkin", json={"persons": [HANAKO, SABURO]}).status_code == 201
    a.sync()
    assert b.api.post("/api/checkin", json={"persons": [HANAKO, SABURO]}).status_code == 201
    b.sync()
    a.sync()
    assert a.left() == {"大石 花子": "moved", "大石 三郎": "moved"}
    b.store.set_consent("H002", HANAKO["name"], HANAKO["birth_date"], ADDRESS, NEVER_DISCLOSE)
    b.sync()
    a.sync()
    assert a.left() == {"大石 花子": "left", "大石 三郎": "left"}


def test_put_in_a_protected_household_after_he_moved_on_his_word_becomes_left(sites):
    """He moved on alone and the first kiosk was told "moved"; then the second shelter records him in the
    household of a protected woman there (a register, no move): protection reaches him, and the word is
    "left"."""
    from evac.events import Person
    from tests.test_kiosk_moved_on import JIRO
    a, b = sites
    a.check_in(JIRO)
    a.sync()
    b.check_in(JIRO)
    b.check_in(HANAKO, SABURO)                           # she and her son: a household
    b.store.set_consent("H002", HANAKO["name"], HANAKO["birth_date"], ADDRESS, NEVER_DISCLOSE)
    b.sync()
    a.sync()
    assert a.left() == {"大石 次郎": "moved"}
    (home,) = b.store.db.execute("SELECT household_id FROM roster WHERE name = ?", (HANAKO["name"],)).fetchone()
    assert home
    b.store.register("H002", [Person(**JIRO)], household_id=home)
    b.sync()
    a.sync()
    assert a.left() == {"大石 次郎": "left"}
