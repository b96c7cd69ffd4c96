"""An empty file given as --db (made beforehand with `touch`, or by a tool that makes a temporary file)
becomes a kiosk's or HQ's database: it then holds evacuees' names, birth dates and addresses, and is
readable by its owner only, as a new database file is, and so are the -wal and -shm SQLite gives the
database file's permissions.  A file the command may not make its owner's only is refused and left as
it was; an existing database keeps the permissions its operator gave it.

Real `evac` commands in their own processes, with the most permissive umask (000), so that only what
the commands do themselves makes the files private.
"""
from __future__ import annotations

import json
import os
import pwd
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT, Server, evac_cmd, free_port
from tests.test_kiosk_disk_trouble import rescued
from tests.test_kiosk_serve import PERSON, SHELTER, Browser

CHECKIN = ("--shelter", SHELTER, "--name", "焼津 太郎", "--birth", "1950-01-02", "--sex", "male",
           "--address", "焼津市本町1-1")


def run(*args: str, prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    return subprocess.run([*prefix, *evac_cmd(*args)], capture_output=True, text=True, cwd=ROOT, timeout=120,
                          umask=0)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def empty_file(path: Path, permissions: int = 0o644) -> Path:
    path.touch()
    path.chmod(permissions)   # as `touch` makes it under the usual umask, whatever this run's is
    return path


def serving(args: list[str], url: str, ready: str, log: Path) -> Server:
    # umask 000 for the server too: its -wal and -shm must not owe their mode to the umask.
    return Server(["sh", "-c", 'umask 000 && exec "$@"', "sh", *args], url, log, ready)


def assert_private(db: Path, *, running: bool) -> None:
    files = [db, Path(f"{db}-wal"), Path(f"{db}-shm")] if running else [db]
    modes = {f.name: oct(mode(f)) for f in files}
    assert modes == {f.name: oct(0o600) for f in files}, modes


# -- the kiosk ---------------------------------------------------------------------------------

def test_an_empty_file_given_to_kiosk_checkin_becomes_a_database_for_its_owner_only(tmp_path):
    db = empty_file(tmp_path / "kiosk.sqlite3")
    done = run("kiosk", "checkin", "--db", str(db), *CHECKIN)
    assert done.returncode == 0, done.stderr
    assert db.stat().st_size > 0
    assert_private(db, running=False)


def test_an_empty_file_given_to_kiosk_serve_becomes_a_database_for_its_owner_only_with_its_wal(tmp_path):
    db = empty_file(tmp_path / "kiosk.sqlite3", 0o666)
    port = free_port()
    server = serving(evac_cmd("kiosk", "serve", "--db", str(db), "--shelter", SHELTER, "--port", str(port)),
                     f"http://127.0.0.1:{port}", "/api/status", tmp_path / "kiosk.log")
    try:
        assert Browser(server.url).request("/api/checkin", json_body={"persons": [PERSON]})[0] == 201
        assert_private(db, running=True)
    finally:
        server.stop()


def test_a_new_kiosk_database_is_for_its_owner_only_whatever_the_umask(tmp_path):
    db = tmp_path / "kiosk.sqlite3"
    done = run("kiosk", "checkin", "--new", "--db", str(db), *CHECKIN)
    assert done.returncode == 0, done.stderr
    assert_private(db, running=False)


def test_the_copy_a_kiosk_makes_of_a_deleted_database_is_for_its_owner_only(tmp_path):
    """The records a running kiosk copies out when its file is deleted under it are every evacuee's."""
    db = tmp_path / "kiosk.sqlite3"
    port = free_port()
    server = serving(evac_cmd("kiosk", "serve", "--db", str(db), "--shelter", SHELTER, "--port", str(port)),
                     f"http://127.0.0.1:{port}", "/api/status", tmp_path / "kiosk.log")
    try:
        assert Browser(server.url).request("/api/checkin", json_body={"persons": [PERSON]})[0] == 201
        db.unlink()
        status, body = Browser(server.url).request("/api/checkin", json_body={"persons": [PERSON]})
        assert status == 503 and "rescued" in json.loads(body)["message"], body
        (copy,) = rescued(tmp_path)
        assert mode(copy) == 0o600
    finally:
        server.stop()


def test_an_existing_kiosk_database_keeps_its_permissions(tmp_path):
    """An operator who made the database readable to a backup user's group meant it: not undone behind
    their back (only an empty file, no one's records yet, is made private)."""
    db = tmp_path / "kiosk.sqlite3"
    assert run("kiosk", "checkin", "--new", "--db", str(db), *CHECKIN).returncode == 0
    db.chmod(0o640)
    done = run("kiosk", "checkin", "--db", str(db), *CHECKIN[:2], "--name", "焼津 花子", "--birth", "1952-03-04",
               "--sex", "female", "--address", "焼津市本町1-1")
    assert done.returncode == 0, done.stderr
    assert mode(db) == 0o640


# -- HQ ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("given", ["sqlite:///{}", "{}"])
def test_an_empty_file_given_to_hq_init_becomes_a_database_for_its_owner_only(tmp_path, given):
    db = empty_file(tmp_path / "hq.sqlite3")
    done = run("hq", "init", "--db", given.format(db))
    assert done.returncode == 0, done.stderr
    assert db.stat().st_size > 0
    assert_private(db, running=False)
    enrolled = run("hq", "enroll-kiosk", "--db", given.format(db), "--shelter", SHELTER)
    assert enrolled.returncode == 0, enrolled.stderr
    assert_private(db, running=False)


def test_an_empty_file_given_to_hq_serve_becomes_a_database_for_its_owner_only_with_its_wal(tmp_path):
    db = empty_file(tmp_path / "hq.sqlite3", 0o666)
    port = free_port()
    server = serving(evac_cmd("hq", "serve", "--db", f"sqlite:///{db}", "--port", str(port)),
                     f"http://127.0.0.1:{port}", "/api/v1/shelters", tmp_path / "hq.log")
    try:
        assert_private(db, running=True)
    finally:
        server.stop()


def test_a_new_hq_database_is_for_its_owner_only_whatever_the_umask(tmp_path):
    db = tmp_path / "hq.sqlite3"
    done = run("hq", "init", "--db", f"sqlite:///{db}")
    assert done.returncode == 0, done.stderr
    assert_private(db, running=False)


def test_an_existing_hq_database_keeps_its_permissions(tmp_path):
    db = tmp_path / "hq.sqlite3"
    assert run("hq", "init", "--db", str(db)).returncode == 0
    db.chmod(0o640)
    done = run("hq", "init", "--db", str(db))
    assert done.returncode == 0, done.stderr
    assert mode(db) == 0o640


# -- an empty file of someone else's ------------------------------------------------------------

def without_owning_everything() -> tuple[str, ...]:
    """The command run as root without CAP_FOWNER: like any user, it may then not chmod another user's
    file (the tests' Python is under /root, out of reach of a real second user)."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to run a command that may not chmod another user's file")
    return ("setpriv", "--bounding-set=-fowner", "--inh-caps=-fowner", "--")


@pytest.mark.parametrize("command", [("kiosk", "checkin", "--db", "{}", *CHECKIN),
                                     ("hq", "init", "--db", "sqlite:///{}")])
def test_an_empty_file_of_another_user_s_is_refused_and_left_as_it_was(tmp_path, command):
    prefix = without_owning_everything()
    nobody = pwd.getpwnam("nobody")
    db = empty_file(tmp_path / "evac.sqlite3")
    os.chown(db, nobody.pw_uid, -1)
    done = run(*(part.format(db) for part in command), prefix=prefix)
    assert done.returncode == 2, (done.returncode, done.stderr)
    said = done.stderr
    assert "Traceback" not in said, said
    assert "is an empty file of nobody's that other users of this machine can read" in said, said
    assert f"Run `chmod 600 {db}` as nobody" in said, said
    assert "nothing was changed" in said, said
    if command[0] == "hq":   # HQ's operators read Japanese first
        assert said.index("他の利用者も読めます") < said.index(" / ") < said.index("other users"), said
    assert (mode(db), db.stat().st_size, db.stat().st_uid) == (0o644, 0, nobody.pw_uid)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evac.sqlite3"]
