"""`evac kiosk add-staff` into an empty file (a kiosk database a power cut on a failing card emptied, or one made
with `touch`) says that the file was empty, Japanese first, and to call HQ if the kiosk held records, as
`evac kiosk checkin` does.  The real `evac` on a real file."""
from __future__ import annotations

from tests.conftest import run_evac


def test_add_staff_into_an_empty_file_says_the_file_was_empty(tmp_path):
    db = tmp_path / "kiosk.sqlite3"
    db.touch()
    done = run_evac("kiosk", "add-staff", "--db", str(db), "--name", "sato", "--role", "staff",
                    input="long enough pw\n")
    assert done.returncode == 0, done.stderr
    assert (f"evac: 注意: {db} は空のファイルで、まだ端末のデータベースではありませんでした" in done.stderr
            and f"/ note: the file at {db} was empty, not yet a kiosk database" in done.stderr
            and "call HQ" in done.stderr), done.stderr
    assert (f"端末のデータベースを {db} に新しく作りました。端末は --db {db} で起動してください / a new kiosk database "
            f"was made at {db}: start the kiosk with --db {db}") in done.stdout, done.stdout


def test_add_staff_where_no_file_was_says_nothing_of_an_empty_file(tmp_path):
    db = tmp_path / "kiosk.sqlite3"
    done = run_evac("kiosk", "add-staff", "--db", str(db), "--name", "sato", "--role", "staff",
                    input="long enough pw\n")
    assert done.returncode == 0 and "was empty" not in done.stderr and "a new kiosk database" in done.stdout
