"""HQ's SQLite file written by another process for longer than HQ waits (SQLite's busy timeout, 30 s,
hq_dashboard.db.SQLITE_BUSY_TIMEOUT_MS; no setting shortens it): `evac hq` commands say so in one line
and change nothing, not sqlalchemy's traceback.  (This test waits out the real 30 s, once for all three.)"""
from __future__ import annotations

import sqlite3
import subprocess
import sys

from tests.conftest import ROOT, evac_cmd, run_evac

HOLD = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("held", flush=True)
sys.stdin.readline()
conn.execute("ROLLBACK")
"""


def test_commands_on_a_database_another_process_keeps_writing_say_it_is_busy(tmp_path):
    db = tmp_path / "hq.sqlite3"
    assert run_evac("hq", "init", "--db", str(db)).returncode == 0
    kiosk_id = run_evac("hq", "enroll-kiosk", "--db", str(db), "--shelter", "H001").stdout.strip().split(".")[0]
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        commands = [("enroll-kiosk", "--db", str(db), "--shelter", "H001"),
                    ("add-staff", "--db", str(db), "--username", "sato", "--role", "lead"),
                    ("retire-kiosk", "--db", str(db), kiosk_id)]
        running = [subprocess.Popen(evac_cmd("hq", *args), cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True) for args in commands]
        answers = [p.communicate("long enough password\n", timeout=120) for p in running]
    finally:
        holder.communicate("\n", timeout=30)
    for p, (out, err) in zip(running, answers):
        assert p.returncode == 1, (p.args, p.returncode, err)
        assert "Traceback" not in err and "OperationalError" not in err, err
        assert "HQ's database is busy (another process is writing); nothing was changed; try again" in err, err
        assert "token" not in out.lower() and "." not in out.strip(), "no token printed for a kiosk not enrolled"
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("SELECT id, retired_at FROM kiosks").fetchall() == [(kiosk_id, None)]
        assert conn.execute("SELECT count(*) FROM staff_users").fetchone() == (0,)
    finally:
        conn.close()
