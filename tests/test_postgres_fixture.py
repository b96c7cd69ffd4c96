"""The test PostgreSQL is real: a database can be created, written in Japanese, read back and dropped;
it sorts text as Japanese, not by byte."""
import os
import uuid

import psycopg
import pytest
from sqlalchemy.engine import make_url

from tests.postgres import create_database, drop_database, postgres_server, why_unavailable


def _connect(url: str):
    u = make_url(url)
    return psycopg.connect(host=u.host, port=u.port, user=u.username, password=u.password,
                           dbname=u.database, autocommit=True)


def test_a_private_postgresql_serves_real_databases():
    base = postgres_server()
    if base is None:
        pytest.skip(why_unavailable() or "no PostgreSQL for the tests")
    assert base.endswith("/")
    assert postgres_server() == base  # one server per test session
    name = f"evac_fixture_{uuid.uuid4().hex[:8]}"
    url = create_database(base, name)
    assert url == base + name
    try:
        with _connect(url) as conn:
            conn.execute("CREATE TABLE shelter (id serial PRIMARY KEY, name text NOT NULL)")
            conn.execute("INSERT INTO shelter (name) VALUES (%s)", ("避難所",))
            assert conn.execute("SELECT name FROM shelter").fetchall() == [("避難所",)]
            assert conn.execute("SHOW server_encoding").fetchone()[0] == "UTF8"
            if not os.environ.get("EVAC_TEST_PG_URL"):
                # The private cluster sorts as a Japanese city's would (tests.postgres._collation),
                # not by byte: in "C", 'B' < 'a'.
                assert conn.execute("SELECT 'a' < 'B'").fetchone()[0] is True

        # Creating it again gives a fresh, empty database even while a connection is open.
        with _connect(url) as stale:
            assert create_database(base, name) == url
            with pytest.raises(psycopg.OperationalError):
                stale.execute("SELECT 1")
        with _connect(url) as conn:
            assert conn.execute("SELECT to_regclass('shelter')").fetchone()[0] is None
    finally:
        drop_database(base, name)
    with _connect(base + "postgres") as conn:
        assert conn.execute("SELECT count(*) FROM pg_database WHERE datname = %s", (name,)).fetchone()[0] == 0
