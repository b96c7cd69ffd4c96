"""What the kiosk holds back for staff of a protected person's check-in ends once staff write her own record
(they see her and her ID in private and check her in on the tablet): from then on her record answers for her,
as anyone's does, so that when staff later check her out the screen answers "not here", as for someone unknown
checked in and out.  Kept in the database since the held-back check-ins survive a restart, the row stayed
"checked in here" for good (found in review).  A real kiosk database."""
from __future__ import annotations

from evac.events import Person
from evac.identity import person_key
from evac.whereabouts import CHECKED_IN
from kiosk.store import HeldBack, KioskStore

HER = Person("保護 花子", "1985-05-05", "female", "焼津市本町5-5")


def test_her_own_record_ends_what_was_held_back_of_her(tmp_path):
    store = KioskStore(tmp_path / "kiosk.sqlite3")
    try:
        key = person_key(HER.name, HER.birth_date, HER.address)
        store.hold_for_staff("ja", [f"{HER.name} {HER.birth_date}"],
                             {key: HeldBack("p-1", "hh-1", CHECKED_IN, "H031")})
        assert store.held_back(key) is not None
        store.check_in("H031", [HER])                     # staff, on the tablet, having seen her in private
        assert store.held_back(key) is None
        store.check_out(HER.name, HER.birth_date, HER.address)
        assert store.held_back(key) is None and store.find(HER.name, HER.birth_date, HER.address) is not None
    finally:
        store.close()
