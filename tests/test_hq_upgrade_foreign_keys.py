"""Upgrading an HQ SQLite database with kiosks enrolled: 0010 rebuilds `shelters`, which kiosks point at.
With foreign keys on (db.py turns them on for every connection) SQLite refused to drop the old table,
and the database stayed half upgraded (0009_map and _alembic_tmp_shelters), with no HQ able to start."""
import json
import shutil
import sqlite3
import urllib.request

import pytest
from sqlalchemy.exc import IntegrityError

from hq_dashboard import MIGRATIONS_DIR, create_app, prepare_database
from hq_dashboard.api import derived_ic_token_key
from hq_dashboard.db import db
from tests.old_hq import DEVICE, TARO, TOKEN, old_hq_database, old_kiosk_stream
from tests.wire import person

HANAKO = person("焼津 花子", sex="female", birth="1950-01-01")


def head_revision() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory
    config = Config()
    config.set_main_option("script_location", MIGRATIONS_DIR)
    return ScriptDirectory.from_config(config).get_current_head()


def the_next_batch() -> dict:
    """The old kiosk syncs on: its first event again (HQ holds it), a check-in, and its old person leaving."""
    stream = old_kiosk_stream()
    stream.checkin(HANAKO)
    stream.add("checkout", TARO)
    return {"device_id": DEVICE, "events": stream.events}


def assert_upgraded_intact(path, answer: dict) -> None:
    assert answer["acked_seq"] == 3 and answer["applied"] == 2 and answer["duplicates"] == 1, answer
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [(head_revision(),)]
        assert conn.execute("SELECT name FROM sqlite_master WHERE name GLOB '_alembic_tmp_*'").fetchall() == []
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert conn.execute("SELECT id, shelter_id, device_id, high_seq FROM kiosks").fetchall() == [
            ("K0LD0001", "H001", DEVICE, 3)]
        # The person checked in before the upgrade is found again by the identity key the old HQ stored.
        assert conn.execute("SELECT id, name, state FROM persons ORDER BY id").fetchall() == [
            (1, TARO["name"], "checked_out"), (2, HANAKO["name"], "checked_in")]
        assert conn.execute("SELECT occupancy FROM shelters WHERE id = 'H001'").fetchall() == [(1,)]
    finally:
        conn.close()


def test_an_hq_from_0002_with_a_kiosk_enrolled_upgrades_and_serves_its_kiosk(tmp_path, hq_server):
    path = tmp_path / "var" / "hq.sqlite3"
    path.parent.mkdir()
    url = old_hq_database(path, "0002_prereg")
    (path.parent / "hq-secret-key").write_text("cd" * 32 + "\n")   # where that release kept its key
    server = hq_server(url)   # `evac hq serve`: migrates, then serves
    request = urllib.request.Request(f"{server.url}/api/v1/sync", data=json.dumps(the_next_batch()).encode(),
                                     headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as resp:
        answer = json.load(resp)
    assert_upgraded_intact(path, answer)
    config = urllib.request.Request(f"{server.url}/api/v1/kiosk/config", headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(config, timeout=30) as resp:
        # Cards linked under the old release's key keep finding their person.
        assert json.load(resp)["ic_token_key"] == derived_ic_token_key("cd" * 32)


def the_old_kiosk_syncs_on(app, path) -> None:
    answer = app.test_client().post("/api/v1/sync", json=the_next_batch(),
                                    headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200, answer.get_json()
    assert_upgraded_intact(path, answer.get_json())


def test_an_hq_from_0009_with_a_kiosk_enrolled_upgrades_and_its_kiosk_syncs(tmp_path):
    path = tmp_path / "hq.sqlite3"
    app = create_app({"SQLALCHEMY_DATABASE_URI": old_hq_database(path, "0009_map"), "TESTING": True,
                      "SECRET_KEY": "k" * 64})
    prepare_database(app)
    the_old_kiosk_syncs_on(app, path)
    with app.app_context():
        # The migrations' connection went back to HQ's pool with foreign keys on again.
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        db.engine.dispose()


def migrations_before_the_fix(tmp_path) -> str:
    """HQ's migrations as they ran before this fix: with foreign keys on, as db.py sets them."""
    copy = tmp_path / "old-migrations"
    shutil.copytree(MIGRATIONS_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    env = copy / "env.py"
    text = env.read_text()
    assert 'sqlite = connection.dialect.name == "sqlite"' in text
    env.write_text(text.replace('sqlite = connection.dialect.name == "sqlite"', "sqlite = False"))
    return str(copy)


def test_a_database_left_half_upgraded_by_the_old_migrations_upgrades_now(tmp_path):
    from flask_migrate import upgrade
    path = tmp_path / "hq.sqlite3"
    app = create_app({"SQLALCHEMY_DATABASE_URI": old_hq_database(path, "0009_map"), "TESTING": True,
                      "SECRET_KEY": "k" * 64})
    with app.app_context():
        with pytest.raises(IntegrityError, match="FOREIGN KEY constraint failed"):
            upgrade(directory=migrations_before_the_fix(tmp_path))
        db.engine.dispose()
    conn = sqlite3.connect(path)
    left = (conn.execute("SELECT version_num FROM alembic_version").fetchall(),
            conn.execute("SELECT name FROM sqlite_master WHERE name GLOB '_alembic_tmp_*'").fetchall())
    conn.close()
    assert left == ([("0009_map",)], [("_alembic_tmp_shelters",)])   # as the bug left HQs

    prepare_database(app)
    the_old_kiosk_syncs_on(app, path)
    with app.app_context():
        db.engine.dispose()


def test_rows_pointing_at_nothing_after_the_migrations_stop_hq_with_the_table_named(tmp_path):
    from hq_dashboard.db import MigrationFailed
    path = tmp_path / "hq.sqlite3"
    url = old_hq_database(path, "0009_map")
    conn = sqlite3.connect(path)   # (foreign keys are off unless turned on: as a careless repair would)
    conn.execute("UPDATE kiosks SET shelter_id = 'H999'")
    conn.commit()
    conn.close()
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "SECRET_KEY": "k" * 64})
    with pytest.raises(MigrationFailed, match=r"kiosks row 1 \(its shelters row is missing\)"):
        prepare_database(app)
    with app.app_context():
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        db.engine.dispose()
