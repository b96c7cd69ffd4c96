"""A kiosk app on a real SQLite file that takes pre-registration QRs signed with a test's own key: the
screen's JSON routes driven by Flask's test client (the screen-API, birth-date and input-check tests)."""
from __future__ import annotations

from contextlib import contextmanager

from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from evac.prereg_qr import key_id
from kiosk import create_app
from kiosk.store import KioskStore


@contextmanager
def screen_kiosk(tmp_path, key, shelter: str = "H031"):
    """The test client, with .app, .store (the kiosk's store) and .db (its file's path)."""
    db = tmp_path / "kiosk.sqlite3"
    app = create_app({"KIOSK_DB": str(db), "SHELTER_ID": shelter, "TESTING": True})
    store = KioskStore(db)
    public = key.public_key()
    store.apply_config({"shelters": [{"id": s, "name": n, "kind": k} for s, n, k in store.shelter_list()],
                        "prereg_keys": {key_id(public): public.public_bytes(Encoding.Raw, PublicFormat.Raw).hex()}})
    client = app.test_client()
    client.app, client.store, client.db = app, store, db
    try:
        yield client
    finally:
        store.close()
