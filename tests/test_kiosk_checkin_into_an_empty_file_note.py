"""`evac kiosk checkin` into an empty file (a kiosk's database a power cut on a failing card emptied, or one
made with `touch`) says that the file was empty, not that there was no database there, and what to do if
the kiosk held records before: the operator typing paper forms must not take it for a typo in --db."""
from __future__ import annotations

from tests.test_kiosk_cli_refusals_leave_no_file import checkin


def test_checkin_into_an_empty_file_says_the_file_was_empty(tmp_path):
    db = tmp_path / "kiosk.sqlite3"
    db.touch()
    done = checkin(db)
    assert done.returncode == 0, done.stderr
    assert f"note: the file at {db} was empty, not yet a kiosk database; a new kiosk database was made" \
        in done.stderr, done.stderr
    assert "call HQ" in done.stderr and "there was no kiosk database" not in done.stderr, done.stderr


def test_checkin_where_no_file_was_still_says_there_was_no_database(tmp_path):
    db = tmp_path / "kiosk.sqlite3"
    done = checkin(db)
    assert done.returncode == 0 and f"there was no kiosk database at {db}" in done.stderr, done.stderr
