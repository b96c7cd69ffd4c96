"""Two staff typing paper forms into a new kiosk's --db at the same moment, one form refused: the refused
check-in never takes back (deletes or empties) the database the other made, nor the check-in it confirmed.
The real `evac kiosk checkin`, twice at once, on real SQLite files."""
from __future__ import annotations

import subprocess

from kiosk.store import KioskStore
from tests.conftest import ROOT, evac_cmd

TRIES = 8


def checkin(db, name: str, *more: str) -> subprocess.Popen:
    return subprocess.Popen(evac_cmd("kiosk", "checkin", "--db", str(db), "--shelter", "H031", "--name", name,
                                     "--birth", "1990-01-01", "--sex", "male", *more),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)


def test_a_refused_form_never_takes_back_the_other_staff_members_check_in(tmp_path):
    for i in range(TRIES):
        db = tmp_path / f"kiosk{i}.sqlite3"
        good = checkin(db, "焼津 甲")
        refused = checkin(db, "焼津 乙", "--consent", "public", "--family-code", "abcd1234")
        good_out, good_err = good.communicate(timeout=120)
        _, refused_err = refused.communicate(timeout=120)
        assert good.returncode == 0 and "checked in: 焼津 甲" in good_out, good_err
        assert refused.returncode == 2 and "nothing was saved" in refused_err, refused_err
        store = KioskStore(db, create=False)
        try:
            assert [(e["type"], e["person"]["name"]) for e in store.events_after(0)] == [("checkin", "焼津 甲")]
        finally:
            store.close()
