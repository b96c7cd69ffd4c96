"""Shared pieces of the staff tablet tests: an app on a real SQLite file with two accounts, and
log-in / CSRF helpers for Flask's test client."""
from __future__ import annotations

import re
import time

import pytest

from evac.events import Person
from kiosk import create_app
from kiosk.staff_store import add_staff
from kiosk.store import KioskStore

PASSWORD = "correct horse 7"
SHELTER = "H001"


def make_app(db_path, **config):
    store = KioskStore(db_path)
    try:
        for name, role in (("sato", "staff"), ("tanaka", "lead")):
            try:
                add_staff(store, name, role, PASSWORD)
            except ValueError:
                pass  # already there
    finally:
        store.close()
    return create_app({"KIOSK_DB": str(db_path), "SHELTER_ID": SHELTER, "TESTING": True, **config})


def csrf(client, url: str = "/staff/login") -> str:
    page = client.get(url)
    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"', page.text)
    assert found, f"no CSRF token on {url}: {page.status_code}"
    return found.group(1) or found.group(2)


def login(client, name: str = "sato", password: str = PASSWORD):
    return client.post("/staff/login", data={"csrf_token": csrf(client), "name": name, "password": password})


def logged_in(app, name: str = "sato"):
    client = app.test_client()
    assert login(client, name).status_code == 302
    return client


def post(client, url: str, data: dict, token_from: str = "/staff/"):
    return client.post(url, data={"csrf_token": csrf(client, token_from), **data})


def errors(html: str, field_id: str) -> list[str]:
    """The messages shown next to one field."""
    return re.findall(rf'<p class="error" id="{re.escape(field_id)}-error">([^<]*)</p>', html)


def snapshot(db_path) -> tuple:
    """Everything a form could write: the event log, the roster and the IC links."""
    store = KioskStore(db_path)
    try:
        return (store.db.execute("SELECT seq, body FROM events ORDER BY seq").fetchall(),
                store.db.execute("SELECT * FROM roster ORDER BY person_key").fetchall(),
                store.db.execute("SELECT * FROM ic_links ORDER BY token").fetchall())
    finally:
        store.close()


TARO = Person("焼津 太郎", "1950-01-02", "male", "焼津市本町1-1", "やいづ たろう")
HANAKO = Person("焼津 花子", "2024-05-06", "female", "焼津市本町1-1", "ヤイヅ ハナコ")
ICHIRO = Person("髙橋 一郎", "1970-07-07", "male", "焼津市石津2-3", "たかはし いちろう")


# The fixtures every staff test module uses: a kiosk database file and the app on it.
@pytest.fixture
def db(tmp_path):
    return tmp_path / "kiosk.sqlite3"


@pytest.fixture
def app(db):
    return make_app(db)


def wait_for(condition, what: str, seconds: float = 30.0) -> None:
    """Until `condition()` holds (a background sync round, say); fails the test after `seconds`."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting: {what}"
        time.sleep(0.1)
