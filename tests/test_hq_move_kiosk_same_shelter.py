"""`evac hq move-kiosk KIOSK --shelter H031` for a kiosk already at H031 says it already belongs there and
changes nothing (it said "now belongs to H031 (was H031)", as if it had been moved).  A real `evac`."""
from __future__ import annotations

import sqlite3

from tests.conftest import run_evac


def test_moving_a_kiosk_to_the_shelter_it_is_at_changes_nothing(hq_initialised_sqlite, tmp_path):
    hq_db = tmp_path / "hq.sqlite3"
    hq_initialised_sqlite(hq_db)
    token = run_evac("hq", "enroll-kiosk", "--db", str(hq_db), "--shelter", "H031").stdout.strip()
    kiosk_id = token.split(".")[0]
    with sqlite3.connect(hq_db) as conn:
        before = conn.execute("SELECT * FROM kiosks").fetchall()

    same = run_evac("hq", "move-kiosk", "--db", str(hq_db), kiosk_id, "--shelter", "H031")
    assert same.returncode == 0, same.stderr
    said = same.stdout + same.stderr
    assert "was H031" not in said and "now belongs" not in said, said
    # Japanese first, then English, each whole.
    ja = f"端末 {kiosk_id} はすでに H031 の端末です。何も変更していません"
    en = f"kiosk {kiosk_id} already belongs to H031; nothing was changed"
    assert ja in said and en in said and said.index(ja) < said.index(en), said
    with sqlite3.connect(hq_db) as conn:
        assert conn.execute("SELECT * FROM kiosks").fetchall() == before
