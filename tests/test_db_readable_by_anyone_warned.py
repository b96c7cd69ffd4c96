"""A kiosk's or HQ's database that any user of the machine may read (0644: made by a release before new
database files were their owner's only) is warned of when the kiosk or HQ starts, Japanese first, with the
command that mends it; a private one, or one only a group may read (an operator's backup user), is not.
Real `evac ... serve` processes."""
from __future__ import annotations

import stat
from pathlib import Path

import pytest

from tests.conftest import Server, evac_cmd, free_port, run_evac
from tests.test_db_file_private_when_empty import CHECKIN

WARNING_JA = "は、このマシンのどの利用者も読めます"


def started(tmp_path: Path, args: list[str], ready: str) -> str:
    """What the server said on its console once it answers."""
    port = free_port()
    server = Server(evac_cmd(*args, "--port", str(port)), f"http://127.0.0.1:{port}", tmp_path / "serve.log", ready)
    server.stop()
    return server.log_path.read_text()


def kiosk_database(tmp_path: Path, permissions: int) -> Path:
    db = tmp_path / "kiosk.sqlite3"
    assert run_evac("kiosk", "checkin", "--new", "--db", str(db), *CHECKIN).returncode == 0
    db.chmod(permissions)
    return db


def test_a_kiosk_database_anyone_may_read_is_warned_of_at_its_start_with_the_command_that_mends_it(tmp_path):
    db = kiosk_database(tmp_path, 0o644)
    said = started(tmp_path, ["kiosk", "serve", "--db", str(db), "--shelter", "H031"], "/api/status")
    (line,) = [line for line in said.splitlines() if WARNING_JA in line]
    assert line.startswith(f"evac: 警告: データベース {db} は") and f"chmod 600 {db}" in line, line
    assert " / warning: any user of this machine can read the database" in line, line
    assert stat.S_IMODE(db.stat().st_mode) == 0o644   # said, not changed behind the operator's back
    assert "(and its -wal and -shm when they are there)" in line, line
    mend(db)
    assert WARNING_JA not in started(tmp_path, ["kiosk", "serve", "--db", str(db), "--shelter", "H031"],
                                     "/api/status")


def mend(db: Path) -> None:
    """What the warning tells the operator to do."""
    for file in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
        if file.exists():
            file.chmod(0o600)


@pytest.mark.parametrize("permissions", [0o600, 0o640])
def test_a_private_or_group_kiosk_database_is_not_warned_of(tmp_path, permissions):
    db = kiosk_database(tmp_path, permissions)
    said = started(tmp_path, ["kiosk", "serve", "--db", str(db), "--shelter", "H031"], "/api/status")
    assert WARNING_JA not in said and "any user of this machine" not in said, said


def test_an_hq_database_anyone_may_read_is_warned_of_at_its_start(tmp_path):
    db = tmp_path / "hq.sqlite3"
    assert run_evac("hq", "init", "--db", str(db)).returncode == 0
    db.chmod(0o644)
    said = started(tmp_path, ["hq", "serve", "--db", f"sqlite:///{db}"], "/api/v1/shelters")
    (line,) = [line for line in said.splitlines() if WARNING_JA in line]
    assert line.startswith(f"evac: 警告: データベース {db} は") and f"chmod 600 {db}" in line, line
    mend(db)
    assert WARNING_JA not in started(tmp_path, ["hq", "serve", "--db", str(db)], "/api/v1/shelters")
