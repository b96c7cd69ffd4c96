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
