"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from hq_dashboard.db import db


def test_migrated_schema_matches_the_models(hq_app):
    with hq_app.app_context():
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), db.metadata)
            tables = set(inspect(conn).get_table_names())
    assert diff == []
    assert {"shelters", "kiosks", "events", "persons", "person_keys", "alembic_version"} <= tables


def test_preparing_twice_neither_fails_nor_seeds_twice(hq_app):
    from hq_dashboard import prepare_database
    assert prepare_database(hq_app) == 0
    with hq_app.app_context():
        from hq_dashboard.models import Shelter
        assert db.session.query(Shelter).count() == 212


def test_identity_keys_survive_the_move_to_a_log_and_back(hq_db_url):
    """0003 turns person_keys into an append-only log; existing keys keep their persons both ways."""
    from flask_migrate import downgrade, upgrade

    from hq_dashboard import MIGRATIONS_DIR, create_app
    app = create_app({"SQLALCHEMY_DATABASE_URI": hq_db_url, "TESTING": True})
    with app.app_context():
        upgrade(directory=MIGRATIONS_DIR, revision="0002_prereg")
        with db.engine.begin() as conn:
            conn.execute(db.text("INSERT INTO person_keys (key, person_id) VALUES ('nba:a', 1), ('pre:X', 1), "
                                 "('nba:b', 2)"))
        upgrade(directory=MIGRATIONS_DIR)
        with db.engine.begin() as conn:
            rows = conn.execute(db.text("SELECT key, person_id FROM person_keys ORDER BY id")).all()
            assert sorted(rows) == [("nba:a", 1), ("nba:b", 2), ("pre:X", 1)]
            # A later merge appends a newer row for a key; going back keeps the newest.
            conn.execute(db.text("INSERT INTO person_keys (key, person_id) VALUES ('nba:b', 1)"))
        downgrade(directory=MIGRATIONS_DIR, revision="0002_prereg")
        with db.engine.connect() as conn:
            rows = conn.execute(db.text("SELECT key, person_id FROM person_keys ORDER BY key")).all()
        db.engine.dispose()
    assert rows == [("nba:a", 1), ("nba:b", 1), ("pre:X", 1)]
