"""`evac kiosk checkin|checkout` refused (acceptance audit F2): nothing of a refused paper form is left behind.
A refusal makes no kiosk database (nor its -wal and -shm), and changes nothing in a file already there, as
`evac kiosk serve` with an unknown --shelter already left none.  A stray file made by a refusal took the
"a new kiosk database was made" note from the next, good check-in with the same --db.  The real `evac`
command on real SQLite files."""
from __future__ import annotations

import pytest

from tests.conftest import run_evac

FORM = {"--shelter": "H031", "--name": "焼津 花子", "--birth": "1990-01-01", "--sex": "female"}

# Refusals met before the database would be made, and those the kiosk's rules meet only in the check-in itself.
CHECKIN_REFUSALS = {
    "unknown shelter": {"--shelter": "H999"},
    "birth not a date": {"--birth": "yesterday"},
    "empty name": {"--name": "  "},
    "family code too short": {"--family-code": "ab"},
    "Individual Number in --by": {"--by": "1234 5678 9018"},
    "family consent without a code": {"--consent": "family"},
}
CHECKOUT_REFUSALS = {
    "not checked in": {},
    "birth not a date": {"--birth": "yesterday"},
    "empty name": {"--name": "  "},
}


def checkin(db, **changes: str):
    form = {**FORM, **changes}
    return run_evac("kiosk", "checkin", "--db", str(db), *[x for kv in form.items() for x in kv])


def checkout(db, **changes: str):
    form = {k: v for k, v in {**FORM, **changes}.items() if k in ("--name", "--birth", "--by")}
    return run_evac("kiosk", "checkout", "--db", str(db), *[x for kv in form.items() for x in kv])


def files(folder) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize("refusal", CHECKIN_REFUSALS)
def test_a_refused_checkin_makes_no_kiosk_database(tmp_path, refusal):
    db = tmp_path / "new.sqlite3"
    done = checkin(db, **CHECKIN_REFUSALS[refusal])
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert files(tmp_path) == {}, done.stderr


def test_after_a_refusal_the_first_good_checkin_still_says_it_made_a_new_database(tmp_path):
    db = tmp_path / "new.sqlite3"
    assert checkin(db, **{"--shelter": "H999"}).returncode == 2
    done = checkin(db)
    assert done.returncode == 0, done.stderr
    assert f"there was no kiosk database at {db}" in done.stderr and "a new kiosk database was made" in done.stderr


@pytest.mark.parametrize("refusal", CHECKIN_REFUSALS)
def test_a_refused_checkin_leaves_an_empty_file_as_it_was(tmp_path, refusal):
    """An empty file at --db (a power cut on a failing card can leave one): a refusal leaves it empty."""
    db = tmp_path / "kiosk.sqlite3"
    db.touch()
    done = checkin(db, **CHECKIN_REFUSALS[refusal])
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert files(tmp_path) == {"kiosk.sqlite3": b""}, done.stderr


@pytest.mark.parametrize("refusal", CHECKIN_REFUSALS)
def test_a_refused_checkin_changes_nothing_in_a_kiosk_database(tmp_path, refusal):
    db = tmp_path / "kiosk.sqlite3"
    assert checkin(db, **{"--name": "焼津 太郎", "--sex": "male"}).returncode == 0
    before = files(tmp_path)
    done = checkin(db, **CHECKIN_REFUSALS[refusal])
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert files(tmp_path) == before, done.stderr


@pytest.mark.parametrize("refusal", CHECKOUT_REFUSALS)
def test_a_refused_checkout_makes_nothing_and_changes_nothing(tmp_path, refusal):
    absent = tmp_path / "absent" / "new.sqlite3"
    absent.parent.mkdir()
    done = checkout(absent, **CHECKOUT_REFUSALS[refusal])
    assert done.returncode == 2 and files(absent.parent) == {}, done.stderr

    empty = tmp_path / "empty" / "kiosk.sqlite3"
    empty.parent.mkdir()
    empty.touch()
    done = checkout(empty, **CHECKOUT_REFUSALS[refusal])
    assert done.returncode == 2 and files(empty.parent) == {"kiosk.sqlite3": b""}, done.stderr

    db = tmp_path / "kiosk" / "kiosk.sqlite3"
    db.parent.mkdir()
    assert checkin(db, **{"--name": "焼津 太郎", "--sex": "male"}).returncode == 0
    before = files(db.parent)
    done = checkout(db, **CHECKOUT_REFUSALS[refusal])
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert files(db.parent) == before, done.stderr
