"""HQ's SQLite file written by another process for longer than HQ waits (SQLite's busy timeout, 30 s unless
EVAC_SQLITE_BUSY_TIMEOUT_SECONDS says otherwise): `evac hq` commands say so in one line and change nothing,
not sqlalchemy's traceback.  (The commands here wait 1 s, the setting's, not 30: the holder never lets go
while they run, so how long they wait changes nothing of what they say.)"""
from __future__ import annotations

import os
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


def test_commands_on_a_database_another_process_keeps_writing_say_it_is_busy(hq_initialised_sqlite, tmp_path):
    db = tmp_path / "hq.sqlite3"
    hq_initialised_sqlite(db)
    kiosk_id = run_evac("hq", "enroll-kiosk", "--db", str(db), "--shelter", "H001").stdout.strip().split(".")[0]
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        commands = [("enroll-kiosk", "--db", str(db), "--shelter", "H001"),
                    ("add-staff", "--db", str(db), "--username", "sato", "--role", "lead"),
                    ("retire-kiosk", "--db", str(db), kiosk_id)]
        env = {**os.environ, "EVAC_SQLITE_BUSY_TIMEOUT_SECONDS": "1"}
        running = [subprocess.Popen(evac_cmd("hq", *args), cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True, env=env) for args in commands]
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


def test_hqs_wait_for_another_writer_is_a_setting_and_a_transactions_shorter_wait_goes_back_to_it(tmp_path):
    from hq_dashboard import SettingError, create_app
    from hq_dashboard.db import db, lock_wait_at_most
    url = f"sqlite:///{tmp_path / 'hq.sqlite3'}"
    for setting, waits_ms in ((None, 30_000), (1.5, 1500), ("2", 2000)):   # (the environment gives text)
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "x",
                          **({} if setting is None else {"SQLITE_BUSY_TIMEOUT_SECONDS": setting})})
        with app.app_context():
            conn = db.session.connection()
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == waits_ms
            with lock_wait_at_most(conn, 0.2):   # a kiosk's sync waits only so long
                assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 200
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == waits_ms
            db.engine.dispose()
    for bad in (0, -1, "soon", True, 3601):
        try:
            create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "x", "SQLITE_BUSY_TIMEOUT_SECONDS": bad})
        except SettingError as exc:
            assert "EVAC_SQLITE_BUSY_TIMEOUT_SECONDS" in str(exc), exc
        else:
            raise AssertionError(f"HQ started with SQLITE_BUSY_TIMEOUT_SECONDS={bad!r}")
