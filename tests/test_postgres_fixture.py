"""The test PostgreSQL is real: a database can be created, written in Japanese, read back and dropped."""
import uuid

import psycopg
import pytest
from sqlalchemy.engine import make_url

from tests.postgres import create_database, drop_database, postgres_server


def test_a_private_postgresql_serves_real_databases():
    base = postgres_server()
    if base is None:
        pytest.skip("PostgreSQL from Debian's package is not installed")
    name = f"evac_fixture_{uuid.uuid4().hex[:8]}"
    url = make_url(create_database(base, name))
    with psycopg.connect(host=url.host, port=url.port, user=url.username, dbname=name, autocommit=True) as conn:
        conn.execute("CREATE TABLE t (name text)")
        conn.execute("INSERT INTO t VALUES (%s)", ("避難所",))
        assert conn.execute("SELECT name FROM t").fetchone()[0] == "避難所"
        assert conn.execute("SHOW server_encoding").fetchone()[0] == "UTF8"
    drop_database(base, name)
