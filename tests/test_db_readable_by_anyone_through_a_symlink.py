"""A --db given as a symlink (a database kept on another disk, linked where the service expects it): the
warning that any user of the machine may read it looks at the -wal and -shm SQLite keeps beside the file the
link points to, not beside the link, where there are none."""
from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from evac.dbfiles import readable_by_anyone_warning


@pytest.fixture
def linked(tmp_path):
    """(link, target, connection): a real SQLite database in WAL mode on another "disk", its -wal and -shm
    there while the connection is open, reached through a link."""
    target = tmp_path / "disk" / "kiosk.sqlite3"
    target.parent.mkdir()
    link = tmp_path / "kiosk.sqlite3"
    link.symlink_to(target)
    conn = sqlite3.connect(link)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE events (seq INTEGER PRIMARY KEY, body TEXT)")
    conn.execute("INSERT INTO events (body) VALUES ('焼津 花子')")
    conn.commit()
    assert Path(f"{target}-wal").is_file() and not Path(f"{link}-wal").exists()
    yield link, target, conn
    conn.close()


def test_a_linked_database_anyone_may_read_names_the_wal_and_shm_beside_its_target(linked):
    link, target, _ = linked
    for file in (target, Path(f"{target}-wal"), Path(f"{target}-shm")):
        file.chmod(0o644)
    said = readable_by_anyone_warning(link)
    assert said is not None
    assert f"chmod 600 {target} {target}-wal {target}-shm（" in said, said
    assert f"chmod 600 {target} {target}-wal {target}-shm (and its" in said, said


def test_a_linked_private_database_whose_wal_anyone_may_read_is_warned_of(linked):
    link, target, _ = linked
    target.chmod(0o600)
    Path(f"{target}-shm").chmod(0o600)
    Path(f"{target}-wal").chmod(0o644)
    said = readable_by_anyone_warning(link)
    assert said is not None and f"chmod 600 {target}-wal（" in said, said
    for file in (target, Path(f"{target}-wal"), Path(f"{target}-shm")):
        file.chmod(0o600)
    assert readable_by_anyone_warning(link) is None
