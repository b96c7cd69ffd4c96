"""When the kiosk cannot write to its own database: a full or failing disk, or a lock held too long.

Every write is one transaction, so nothing of the failed action was saved.  The person at the
screen or the tablet is told exactly that, in their language, with what to do instead (the staff
desk; paper forms, entered later with `evac kiosk checkin`), and the kiosk keeps running: reading
the roster still works, and the next write succeeds once there is room again.
"""
from __future__ import annotations

import signal
import sqlite3

from flask import current_app

from evac.dbfiles import disk_full, on_read_only_disk

FULL, BUSY, FAILED, REPLACED, DAMAGED, READ_ONLY = "full", "busy", "failed", "replaced", "damaged", "read-only"


class DatabaseReplaced(sqlite3.OperationalError):
    """The database file the kiosk started with was deleted or replaced while it runs (kiosk.db).
    Every request is refused: a request must never open a new, empty file by the same name.  The
    running kiosk still holds the records; `rescued` is where it copied them, if it could."""

    def __init__(self, path: str, rescued: str | None):
        super().__init__(f"the kiosk database file {path} was deleted or replaced while the kiosk was running")
        self.path, self.rescued = path, rescued


def cause(exc: sqlite3.Error, path: str | None = None) -> str:
    """What went wrong, in the terms staff can act on.  With the database's `path`, a write that
    failed on a disk with no room left is FULL, whatever SQLite called it (often a disk I/O error)."""
    if isinstance(exc, DatabaseReplaced):
        return REPLACED
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        primary = code & 0xFF  # extended codes (SQLITE_IOERR_WRITE, …) carry the primary one in the low byte
        if primary == sqlite3.SQLITE_FULL:
            return FULL
        if primary in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
            return BUSY
        if primary in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
            return DAMAGED
    elif "locked" in str(exc):
        return BUSY
    elif "malformed" in str(exc) or "not a database" in str(exc):
        return DAMAGED
    if path is not None and on_read_only_disk(path):
        return READ_ONLY
    if path is not None and disk_full(path):
        return FULL
    return FAILED


# Deleting the WAL to free space was the obvious move, and lost confirmed records.
KEEP_THE_DATABASE = ("Never delete kiosk.sqlite3, kiosk.sqlite3-wal or kiosk.sqlite3-shm: they hold the "
                     "records; to make room, delete photos, videos, logs or downloads instead")

# For programs and the command line (English); the screen and the tablet say it in their own words.
EXPLANATIONS = {
    FULL: "the kiosk's disk is full, so nothing was saved; write people in on paper forms "
          "(避難者カード) and enter them when there is room again. " + KEEP_THE_DATABASE,
    BUSY: "the kiosk's database stayed busy too long, so nothing was saved; try again in a moment",
    FAILED: "the kiosk could not write to its disk (it may be full or failing), so nothing was saved; "
            "write people in on paper forms (避難者カード) and tell HQ. " + KEEP_THE_DATABASE,
    # Japanese first: whoever reads it stands at the shelter.
    REPLACED: "受付機のデータベースファイル（kiosk.sqlite3、-wal、-shm）が動作中に削除または置き換えられたため、"
              "何も保存されませんでした。受付機を再起動しないでください。記録は動作中の受付機が保持しています"
              "（隣に kiosk.sqlite3.rescued-日時 の写しを作りました）。本部か責任者に連絡してください。 / The kiosk's "
              "database file (kiosk.sqlite3, -wal or -shm) was deleted or replaced while the kiosk was running, so "
              "nothing was saved. Do NOT restart the kiosk: the running kiosk still holds the records (it wrote a "
              "copy, kiosk.sqlite3.rescued-TIME, beside the file). Call HQ or the shelter lead.",
    READ_ONLY: "受付機のディスクが読み取り専用になったため（SDカードやディスクの故障）、何も保存されませんでした。"
               "避難者カード（紙）で受け付け、本部に連絡してください。記録は evac kiosk carry で本部へ持ち込むか、"
               "kiosk.sqlite3 を -wal・-shm と一緒に別のディスクへ写してください。 / The kiosk's disk has become "
               "read-only (a failing card or disk), so nothing was saved. Write people in on paper forms (避難者カード) "
               "and tell HQ; take the records to HQ with `evac kiosk carry`, or copy kiosk.sqlite3 together with "
               "kiosk.sqlite3-wal and kiosk.sqlite3-shm to another disk.",
    DAMAGED: "受付機のデータベースファイルが壊れているため、何も保存されませんでした。このファイルは消さずに残し、"
             "避難者カード（紙）で受け付けてください。本部か責任者に連絡してください（新しい --db で受付機を起動し、"
             "本部で登録し直します）。 / The kiosk's database file is damaged, so nothing was saved. Keep the file "
             "(do not delete it), write people in on paper forms (避難者カード) and call HQ or the shelter lead: "
             "the kiosk is started on a new --db and enrolled again at HQ.",
}


def damaged_in_words(path: str) -> str:
    """What to do with a damaged kiosk database (command line: serve, checkin, carry)."""
    return (f"the kiosk database at {path} is damaged (SQLite finds it corrupt: a failing card or a power cut). "
            f"Keep the file, do not delete it. Take what can still be read to HQ with `evac kiosk carry --db {path} "
            "--out FILE --all`; start the kiosk on a new database (another --db, on a good disk) and have it "
            "enrolled again at HQ (`evac hq enroll-kiosk`, a new token); write people in on paper forms meanwhile")


def explain(exc: sqlite3.Error, path: str | None = None) -> str:
    return EXPLANATIONS[cause(exc, path)]


def log(exc: sqlite3.Error) -> str:
    """Log it for whoever maintains the kiosk (SQLite's own words: never anyone's data); returns the cause."""
    why = cause(exc, current_app.config.get("KIOSK_DB"))
    current_app.logger.error("the kiosk database refused a write (%s): %s", why, exc)
    return why


def survive_file_size_limits() -> None:
    """A file-size limit (ulimit -f) must make a write fail, not kill the kiosk with SIGXFSZ."""
    if hasattr(signal, "SIGXFSZ"):
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
