"""Which person an identity key belongs to, held in HQ's memory.

The person_keys table is the durable truth: an append-only log in which the
latest row for a key wins.  Looking keys up in a database index would cost a
random page per new person on every batch (identity keys are hashes), so HQ
keeps the map in memory and, before each batch, reads only the rows appended
since it last looked.  That catch-up runs under the merge's write lock, so it
sees every committed batch and nothing uncommitted; a batch that rolls back
never touched the map.

A map belongs to one database: `hq_meta.instance` is a random id written the
first time, and a map whose database no longer has the rows it read (a
restore, a reset test database) is thrown away and read again.
"""
from __future__ import annotations

import secrets
import threading
import weakref

from sqlalchemy import Connection
from sqlalchemy.engine import Engine

from .db import driver_rows, param_mark


class IdentityIndex:
    def __init__(self) -> None:
        self.pid_of: dict[str, int] = {}
        self.instance: str | None = None
        self.last_id = 0
        self.last_row: tuple[str, int] | None = None

    def catch_up(self, conn: Connection) -> None:
        """Read what other batches appended.  Call with the merge's write lock held."""
        instance = _instance(conn)
        if instance != self.instance or (self.last_id and _row(conn, self.last_id) != self.last_row):
            self.__init__()
            self.instance = instance
        rows = driver_rows(
            conn, f"SELECT id, key, person_id FROM person_keys WHERE id > {int(self.last_id)} ORDER BY id")
        if rows:
            pid_of = self.pid_of
            for _, key, pid in rows:
                pid_of[key] = pid
            last = rows[-1]
            self.last_id, self.last_row = last[0], (last[1], last[2])


def _row(conn: Connection, row_id: int) -> tuple[str, int] | None:
    row = conn.exec_driver_sql(f"SELECT key, person_id FROM person_keys WHERE id = {int(row_id)}").first()
    return None if row is None else (row[0], row[1])


def _instance(conn: Connection) -> str:
    row = conn.exec_driver_sql("SELECT value FROM hq_meta WHERE name = 'instance'").first()
    if row:
        return row[0]
    value = secrets.token_hex(16)
    mark = param_mark(conn)
    conn.exec_driver_sql(f"INSERT INTO hq_meta (name, value) VALUES ('instance', {mark})", (value,))
    return value


_indexes: "weakref.WeakKeyDictionary[Engine, IdentityIndex]" = weakref.WeakKeyDictionary()
_guard = threading.Lock()


def identity_index(conn: Connection) -> IdentityIndex:
    """The map of this connection's database, caught up.  Call with the merge's write lock held."""
    with _guard:
        index = _indexes.get(conn.engine)
        if index is None:
            index = _indexes[conn.engine] = IdentityIndex()
        index.catch_up(conn)
        return index
