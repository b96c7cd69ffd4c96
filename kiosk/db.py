"""One KioskStore connection per request, closed at the end of it (and one held for the app's life)."""
from flask import Flask, current_app, g

from .store import KioskStore


def get_store() -> KioskStore:
    if "store" not in g:
        g.store = KioskStore(current_app.config["KIOSK_DB"])
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
    app.extensions["kiosk_db_keeper"] = KioskStore(app.config["KIOSK_DB"])
