"""HQ's taken-back word on a kiosk record a correction refiled, and the corrected person's word on that same
record, reach the kiosk in that order however many people the merge tells of: the kiosk applies HQ's words
by record, the last one standing, so a taken-back word after the corrected person's "moved" would put her
back on its roster while HQ has her at another shelter.  (The merge tells kiosks of its persons 500 at a
time: the two persons here fall in different rounds.)"""
from __future__ import annotations

import datetime as dt

from evac.events import CHECKIN, Person
from kiosk.sync import sync_once
from tests.test_kiosk_moved_on import ADDRESS, HANAKO, Site, sites  # noqa: F401  (sites: fixture)
from tests.test_hq_left_elsewhere_rules import she_alone_moves_on
from tests.test_kiosk_moved_on_edges import correct_name, hq_has
from tests.test_sync_hq_answers import serve  # noqa: F401  (fixture: HQ over real HTTP in a thread)

HANAKO_CORRECTED = {**HANAKO, "name": "大石 華子"}
OTHERS = 520   # more than one round of the merge's telling (left_elsewhere.note: 500 persons a round)


def others() -> list[Person]:
    """Neighbours checked in at the first shelter, each their own identity (their birth dates differ)."""
    first = dt.date(1940, 1, 1)
    return [Person(name="焼津 一郎", birth_date=(first + dt.timedelta(days=i)).isoformat(), sex="male",
                   address=ADDRESS) for i in range(OTHERS)]


def test_corrected_to_someone_hq_met_long_before_she_stays_moved_on(sites, hq_app, enroll, tmp_path):
    """Hanako is checked in at A with many neighbours, then at B: HQ tells A she moved.  Staff at A correct her
    name to 華子, someone HQ met at C before any of them (so the lowest person id) and who checked in at C again
    since; the same sync checks A's neighbours out.  HQ refiles A's record under 華子 (at C, so "moved") and
    takes its word back from 花子 (at B); the kiosk must end with 華子 moved on, as HQ has her."""
    class HQ:
        url = sites[0].link.base
    a, b = sites
    c = Site(tmp_path, HQ, enroll("H003"), "H003")
    c.check_in(HANAKO_CORRECTED)
    c.sync()
    c.check_out(HANAKO_CORRECTED)
    c.sync()
    neighbours = others()
    a.store.append([{"type": CHECKIN, "shelter_id": "H001", "person": p.to_wire(), "household_id": "",
                     "data": {"stay_type": "in_shelter"}} for p in neighbours])   # each their own household
    she_alone_moves_on(a, b)
    c.check_in(HANAKO_CORRECTED)
    c.sync()
    correct_name(a, "大石 花子", "大石 華子")
    a.store.leave([(p.name, p.birth_date, p.address) for p in neighbours])
    sync_once(a.store, a.link, batch_size=1000)   # the correction and the check-outs in one batch
    a.sync()
    assert hq_has(hq_app, "大石 華子") == [("checked_in", "H003")]
    assert hq_has(hq_app, "大石 花子") == [("checked_in", "H002")]
    assert a.here() == [] and a.headcount() == 0
    assert {name: how for name, how in a.left().items() if name != "焼津 一郎"} == {"大石 華子": "moved"}
