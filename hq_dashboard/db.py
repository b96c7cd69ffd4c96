"""The HQ database handle (Flask-SQLAlchemy).  SQLite file by default, PostgreSQL by URL."""
import threading
from contextlib import contextmanager
from typing import Iterator

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase

# Named constraints keep Alembic migrations identical on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


db = SQLAlchemy(model_class=Base)


def driver_rows(conn, sql: str, params=()) -> list[tuple]:
    """Rows as the driver's plain tuples, on the connection's own transaction: on HQ's merge
    path wrapping each row in a SQLAlchemy Row costs more than the query itself."""
    cursor = conn.connection.cursor()
    try:
        cursor.execute(sql, params)
        return cursor.fetchall()
    finally:
        cursor.close()


SQLITE_BUSY_TIMEOUT_MS = 30_000   # the default of HQ's SQLITE_BUSY_TIMEOUT_SECONDS


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_conn, _record):
    # WAL lets the dashboard read while a kiosk batch is being applied;
    # synchronous=FULL because an acknowledged batch must survive a power cut.
    if type(dbapi_conn).__module__.startswith("sqlite3"):
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        # HQ holds every person of the city: keep the person and key indexes in memory.
        cur.execute("PRAGMA cache_size=-131072")
        # Checkpoint every ~40 MB of WAL instead of every 4 MB: a checkpoint writes each page once
        # however often batches changed it (index pages above all), and commits stay fsynced.
        cur.execute("PRAGMA wal_autocheckpoint=10000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()


def wait_when_busy(engine: Engine, seconds: float) -> None:
    """HQ's SQLite connections wait this long (SQLITE_BUSY_TIMEOUT_SECONDS) for another process's write, not
    the usual 30 s every engine gets above (its listener runs first: listeners on the class go before the
    engine's own)."""
    if engine.dialect.name != "sqlite":
        return
    ms = max(1, int(seconds * 1000))
    if ms == SQLITE_BUSY_TIMEOUT_MS:
        return

    @event.listens_for(engine, "connect")
    def _busy_timeout(dbapi_conn, _record):
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout={ms}")
        cur.close()


_one_writer = threading.Lock()


class MigrationFailed(Exception):
    """The migrations could not be run as they must, or left rows pointing at rows that are not there;
    the message says where, in Japanese, then in English (HQ's command line says it as it is).  (Not a
    RuntimeError: Flask-Migrate would swallow that and exit.)"""


class WriterBusy(Exception):
    """The database was being written for longer than this request may wait (one_writer's wait_s)."""


@contextmanager
def one_writer(engine, wait_s: float | None = None) -> Iterator[None]:
    """Queue this process's writers in order.  SQLite lets one writer in at a time and makes the
    others nap and retry (naps of up to 100 ms), which is what made the slowest of many families'
    inquiries slow; threads waiting on a lock are woken as soon as it is free.  PostgreSQL has row
    locks and needs none of this.  `wait_s`: wait at most this long, then raise WriterBusy (a kiosk's
    sync: a request that waits longer than the kiosk does only holds one of HQ's threads)."""
    if engine.dialect.name != "sqlite":
        yield
        return
    if not _one_writer.acquire(timeout=-1 if wait_s is None else wait_s):
        raise WriterBusy()
    try:
        yield
    finally:
        _one_writer.release()


@contextmanager
def lock_wait_at_most(conn, wait_s: float) -> Iterator[None]:
    """This transaction waits at most `wait_s` for a lock, then fails as busy (is_busy).  PostgreSQL:
    lock_timeout, for the merge's advisory lock among others.  SQLite: this process's writers queue in
    one_writer; another process writing (`evac hq import`, a second HQ on the same file) is waited for
    by SQLite's busy timeout, for this transaction only as long, then back to HQ's usual wait (30 s unless
    SQLITE_BUSY_TIMEOUT_SECONDS says otherwise)."""
    ms = max(1, int(wait_s * 1000))
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SET LOCAL lock_timeout = {ms}")
        yield
        return
    if conn.dialect.name != "sqlite":
        yield
        return
    usual = conn.exec_driver_sql("PRAGMA busy_timeout").scalar()
    conn.exec_driver_sql(f"PRAGMA busy_timeout = {ms}")
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA busy_timeout = {usual}")


def is_busy(exc: Exception) -> bool:
    """A database error that only says the database was busy for too long: another writer held it."""
    orig = getattr(exc, "orig", None)
    return getattr(orig, "sqlstate", None) == "55P03" or "database is locked" in str(orig or "")


def param_mark(conn) -> str:
    """The driver's placeholder for exec_driver_sql: sqlite3 takes ?, psycopg %s."""
    return "?" if conn.dialect.paramstyle == "qmark" else "%s"
