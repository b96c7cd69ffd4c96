"""One KioskStore connection per request, closed at the end of it."""
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
    with app.app_context():
        get_store()  # create the database and its shelter list before the first person arrives
