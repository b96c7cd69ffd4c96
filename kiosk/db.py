"""One KioskStore connection per request, closed at the end of it (and one held for the app's life).

A request opens the database file the kiosk started with, or none: if that file (or its -wal or
-shm) was deleted or replaced while the kiosk runs (someone freeing space, a copy put back),
opening it by name would make a new, empty kiosk (every earlier record gone from view, staff
unable to log in) or mix the old WAL into another file.  The request is refused instead
(disk_failure.DatabaseReplaced), and the connection held for the app's life, which still reads
the old file, copies it out once.
"""
from __future__ import annotations

import os
import sqlite3
import tempfile
import threading
import time
from pathlib import Path

from flask import Flask, current_app, g

from evac.dbfiles import KIOSK, DatabaseFileError, create_private

from .disk_failure import DatabaseReplaced
from .store import KioskStore


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino


class HeldFile:
    """The kiosk's database file, and its -wal and -shm, as they were when the app started:
    (st_dev, st_ino) of each.  While the app holds its keeper connection SQLite never deletes the
    -wal or -shm, so a change is someone's doing (freeing space): a request's new connection would
    make new, empty ones beside the old ones the app's other connections still use, and what either
    side writes then is lost to the other."""

    def __init__(self, path: str | os.PathLike, keeper: KioskStore):
        self.path = Path(path)
        self.keeper = keeper
        self.files = [f for f in (self.path, Path(f"{path}-wal"), Path(f"{path}-shm")) if f.exists()]
        self.identities = [_identity(f) for f in self.files]
        self.rescued: str | None = None
        self._noticed = False
        self._lock = threading.Lock()

    def check(self) -> None:
        """Raise DatabaseReplaced if any of the files by those names is gone or another one."""
        changed = [f for f, known in zip(self.files, self.identities) if _identity(f) != known]
        if not changed:
            return
        with self._lock:
            if not self._noticed:
                self._noticed = True
                self.rescued = self._rescue()
                current_app.logger.error(
                    "the kiosk database file %s was deleted or replaced while the kiosk runs; do not restart it. %s",
                    changed[0], f"Its records were copied to {self.rescued}" if self.rescued else
                    "No copy of its records could be written: keep the kiosk running")
        raise DatabaseReplaced(str(changed[0]), self.rescued)

    def _rescue(self) -> str | None:
        """A copy of what the held connection still reads (the old file, its WAL), beside the file or,
        if that folder takes no writes, in the temporary folder."""
        name = f"{self.path.name}.rescued-{time.strftime('%Y%m%d-%H%M%S')}"
        for folder in (self.path.parent, Path(tempfile.gettempdir())):
            target = folder / name
            try:
                create_private(target, KIOSK)   # every evacuee's record: not for the machine's other users
                copy = sqlite3.connect(target)
                try:
                    self.keeper.db.backup(copy)
                    copy.execute("PRAGMA journal_mode=DELETE")   # one file to carry, no -wal beside it
                finally:
                    copy.close()
                return str(target.resolve())
            except (sqlite3.Error, OSError, DatabaseFileError) as exc:
                current_app.logger.error("could not copy the kiosk's records to %s: %s", target, exc)
                target.unlink(missing_ok=True)
        return None


def get_store() -> KioskStore:
    if "store" not in g:
        current_app.extensions["kiosk_db_file"].check()
        # mode=rw: a request never creates the file (it is gone between the check and here: refused too).
        g.store = KioskStore(current_app.config["KIOSK_DB"], create=False)
        syncer = current_app.extensions.get("kiosk_sync")
        if syncer is not None:   # every record the kiosk's pages write goes to HQ at once, not after a backoff
            g.store.after_new_records = syncer.new_records
    return g.store


def close_store(_exc=None) -> None:
    store = g.pop("store", None)
    if store is not None:
        store.close()


def init_app(app: Flask) -> None:
    app.teardown_appcontext(close_store)
    # Created with its shelter list before the first person arrives, and held open for the app's
    # life: the WAL and its index then stay on disk between requests, so a request can still open
    # the database (and staff read the roster) when the disk is full.
    keeper = KioskStore(app.config["KIOSK_DB"])
    app.extensions["kiosk_db_keeper"] = keeper
    app.extensions["kiosk_db_file"] = HeldFile(app.config["KIOSK_DB"], keeper)
