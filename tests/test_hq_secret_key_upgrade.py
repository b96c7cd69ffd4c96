"""HQ's secret key across an upgrade.  Older releases kept var/hq.sqlite3 with var/hq-secret-key beside
it; the IC card token key was derived from that secret, and is kept in hq_meta from the first start of
today's HQ for good.  Started with a new secret, every IC card linked so far would stop finding its person."""
import os
import socket
import sqlite3
import subprocess

import pytest

from hq_dashboard.api import derived_ic_token_key
from tests.conftest import ROOT, evac_cmd
from tests.old_hq import old_hq_database

OLD_KEY = "ab" * 32


def evac_in(folder, *args: str, **env: str) -> subprocess.CompletedProcess:
    """An `evac` command started from `folder` (not the repository), without the tests' key settings."""
    base = {k: v for k, v in os.environ.items() if k not in ("EVAC_SECRET_KEY", "EVAC_VAR_DIR")}
    return subprocess.run(evac_cmd(*args), capture_output=True, text=True, cwd=folder, timeout=120, check=False,
                          env={**base, "PYTHONPATH": str(ROOT), **env})


def kept_ic_token_key(path) -> str | None:
    conn = sqlite3.connect(path)
    try:
        row = conn.execute("SELECT value FROM hq_meta WHERE name = 'ic_token_key'").fetchone()
    finally:
        conn.close()
    return row and row[0]


@pytest.fixture
def old_install(tmp_path):
    """An older release's HQ at /srv/evac: var/hq.sqlite3 (a kiosk enrolled, a person checked in);
    and the folder HQ is started from today, which is another one."""
    db = tmp_path / "srv" / "evac" / "var" / "hq.sqlite3"
    db.parent.mkdir(parents=True)
    old_hq_database(db, "0009_map")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    return db, elsewhere


def test_the_old_key_beside_the_database_is_kept_when_hq_is_started_from_another_folder(old_install):
    db, elsewhere = old_install
    (db.parent / "hq-secret-key").write_text(OLD_KEY + "\n")
    done = evac_in(elsewhere, "hq", "init", "--db", str(db))
    assert done.returncode == 0, done.stderr
    key = db.with_name("hq.sqlite3.secret-key")
    assert key.read_text().strip() == OLD_KEY and (key.stat().st_mode & 0o777) == 0o600
    assert f"copied {db.parent / 'hq-secret-key'} to {key}" in done.stderr
    assert kept_ic_token_key(db) == derived_ic_token_key(OLD_KEY)   # the cards linked so far still match
    assert not (elsewhere / "var").exists()


def test_hq_with_kiosks_but_no_old_key_found_refuses_to_start_and_says_where_it_looked(old_install):
    db, elsewhere = old_install
    with socket.socket() as busy:   # a taken port: an HQ that did not refuse would stop there, not serve on
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        said = evac_in(elsewhere, "hq", "serve", "--db", str(db), "--port", str(busy.getsockname()[1]))
    assert said.returncode == 2 and "Traceback" not in said.stderr, said.stderr
    for words in ("1 enrolled kiosk(s)", f"{db.parent / 'hq-secret-key'}", f"{elsewhere / 'var' / 'hq-secret-key'}",
                  "EVAC_SECRET_KEY", "EVAC_VAR_DIR", "stop finding its person"):
        assert words in said.stderr, said.stderr
    # Nothing new is kept that a later start would take for HQ's key.
    assert not db.with_name("hq.sqlite3.secret-key").exists() and kept_ic_token_key(db) is None
    # Told where the old key is, it starts, and keeps the cards' key made from it.
    old_var = elsewhere / "old-var"
    old_var.mkdir()
    (old_var / "hq-secret-key").write_text(OLD_KEY)
    done = evac_in(elsewhere, "hq", "init", "--db", str(db), EVAC_VAR_DIR=str(old_var))
    assert done.returncode == 0, done.stderr
    assert kept_ic_token_key(db) == derived_ic_token_key(OLD_KEY)


def test_hq_with_ic_links_and_the_key_in_the_environment_starts(old_install):
    db, elsewhere = old_install
    conn = sqlite3.connect(db)
    conn.execute("DELETE FROM kiosks")   # only an IC card link holds the old key now
    conn.execute("INSERT INTO ic_links (token, person_id, link_order) VALUES ('ic:0123456789abcdef0123456789abcdef',"
                 " 1, '')")
    conn.commit()
    conn.close()
    said = evac_in(elsewhere, "hq", "init", "--db", str(db))
    assert said.returncode == 2 and "1 IC card link(s)" in said.stderr, said.stderr
    done = evac_in(elsewhere, "hq", "init", "--db", str(db), EVAC_SECRET_KEY=OLD_KEY)
    assert done.returncode == 0, done.stderr
    assert kept_ic_token_key(db) == derived_ic_token_key(OLD_KEY)


@pytest.mark.parametrize("made", ["no file yet", "an empty file"])
def test_a_new_hq_database_does_not_take_the_key_in_the_folder_it_is_started_from(tmp_path, made):
    # ./var/hq-secret-key of some other HQ that once ran here: a new HQ taking it would accept that
    # HQ's staff log-ins.
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "hq-secret-key").write_text("ee" * 32)
    db = tmp_path / "new" / "hq.sqlite3"
    db.parent.mkdir()
    if made == "an empty file":
        db.touch()
    done = evac_in(tmp_path, "hq", "init", "--db", str(db))
    assert done.returncode == 0, done.stderr
    key = db.with_name("hq.sqlite3.secret-key").read_text().strip()
    assert len(key) == 64 and key != "ee" * 32 and "copied" not in done.stderr
    assert kept_ic_token_key(db) == derived_ic_token_key(key)
