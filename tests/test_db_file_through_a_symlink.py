"""A kiosk --db that is a symlink to a file not made yet (a kiosk's database kept on another disk, linked
where the service expects it) is made there, owner-only, as a new file given directly is."""
from __future__ import annotations

import stat

from tests.conftest import run_evac


def test_a_kiosk_database_made_through_a_symlink_is_its_owners_only(tmp_path):
    target = tmp_path / "disk" / "kiosk.sqlite3"
    target.parent.mkdir()
    link = tmp_path / "kiosk.sqlite3"
    link.symlink_to(target)
    done = run_evac("kiosk", "checkin", "--db", str(link), "--shelter", "H031", "--name", "焼津 花子", "--birth",
                    "1990-01-01", "--sex", "female")
    assert done.returncode == 0 and "checked in: 焼津 花子" in done.stdout, done.stderr
    assert link.is_symlink() and target.is_file() and target.stat().st_size > 0
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
