"""`evac kiosk sync` on a kiosk database damaged where its records are (a power cut on a failing card): said in
one line, Japanese first, with what to do (carry what can be read, a new database, enroll again), as every other
command says it; it was a Python traceback.  Real SQLite file, real `evac` process."""
from __future__ import annotations

from tests.conftest import run_evac
from tests.test_cli_errors import A_TOKEN
from tests.test_kiosk_cli_operator_lines_japanese_first import _overwrite, _three_hundred_records, japanese_first


def test_sync_of_a_damaged_database_says_what_to_do_japanese_first(tmp_path):
    db = tmp_path / "kiosk.sqlite3"
    leaves = _three_hundred_records(db)
    _overwrite(db, leaves[0])
    # Nothing answers there: the damage is met before HQ is asked anything.
    done = run_evac("kiosk", "sync", "--db", str(db), "--hq", "http://127.0.0.1:9", "--token", A_TOKEN)
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 2, done.stderr
    (line,) = done.stderr.splitlines()
    assert line.startswith("evac: "), line
    ja = japanese_first(line, f"the kiosk database at {db} is damaged")
    for words in (f"端末のデータベース（{db}）が壊れています", "消さずに残してください", "evac kiosk carry",
                  "evac hq enroll-kiosk"):
        assert words in ja, ja
