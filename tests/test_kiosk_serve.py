"""A running kiosk process (`evac kiosk serve`) as a shelter runs it.

A disk that refuses writes: every screen says so clearly, nothing is half-written, and the kiosk
carries on once it can write again.  The failure is real: the running kiosk process gets a file-size
limit of zero (prlimit), so every write SQLite makes fails in the kernel with EFBIG, as on a full or
failing disk.  And its access log keeps no evacuee's name.
"""
from __future__ import annotations

import gettext
import http.cookiejar
import json
import re
import resource
import sqlite3
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from evac.identity import person_key
from kiosk.staff_store import add_staff
from kiosk.store import KioskStore
from tests.conftest import ROOT, Server, evac_cmd, free_port
from tests.staff_helpers import PASSWORD

SHELTER = "H001"
TRANSLATIONS = ROOT / "kiosk" / "translations"


class Browser:
    """Just enough of a browser for the tablet's forms: cookies, CSRF tokens, status codes."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def request(self, path: str, data: dict | None = None, json_body: dict | None = None) -> tuple[int, str]:
        body, headers = None, {}
        if data is not None:
            body = urllib.parse.urlencode(data, doseq=True).encode()
        elif json_body is not None:
            body, headers = json.dumps(json_body).encode(), {"Content-Type": "application/json"}
        req = urllib.request.Request(self.base + path, data=body, headers=headers)
        try:
            with self.opener.open(req, timeout=30) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode()

    def csrf(self, path: str) -> str:
        _, page = self.request(path)
        return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def _catalog(lang: str, domain: str = "messages") -> gettext.NullTranslations:
    return gettext.translation(domain, TRANSLATIONS, [lang])


def _events(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        return [r[0] for r in conn.execute("SELECT body FROM events ORDER BY seq")]


@pytest.fixture
def kiosk(tmp_path):
    db = tmp_path / "kiosk.sqlite3"
    store = KioskStore(db)
    add_staff(store, "sato", "staff", PASSWORD)
    store.close()
    port = free_port()
    server = Server(evac_cmd("kiosk", "serve", "--db", str(db), "--shelter", SHELTER, "--port", str(port)),
                    f"http://127.0.0.1:{port}", tmp_path / "kiosk.log", "/api/status")
    server.db = db
    yield server
    server.stop()


def _disk_refuses_writes(server: Server, refuses: bool) -> None:
    limit = 0 if refuses else resource.RLIM_INFINITY
    resource.prlimit(server.proc.pid, resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))


PERSON = {"name": "焼津 太郎", "birth_date": "1950-01-02", "sex": "male", "address": "焼津市本町1-1"}
HANAKO = {"name": "焼津 花子", "birth_date": "2024-05-06", "sex": "female", "address": "焼津市本町1-1"}
CARD = {"name": "焼津 次郎", "name_kana": "やいづ じろう", "birth_date": "1948-03-04", "sex": "male",
        "address": "焼津市本町2-2", "stay_type": "in_shelter", "needs": ["dialysis"], "contact_phone": "",
        "household_members": "", "home_damage": "unknown", "consent": "none", "family_code": ""}


def test_a_kiosk_that_cannot_write_says_so_everywhere_saves_nothing_and_recovers(kiosk, tmp_path):
    tablet = Browser(kiosk.url)
    status, _ = tablet.request("/staff/login", {"csrf_token": tablet.csrf("/staff/login"), "name": "sato",
                                                "password": PASSWORD})
    assert status == 200  # followed the redirect to the roster
    register_token = tablet.csrf("/staff/register")
    assert Browser(kiosk.url).request("/api/checkin", json_body={"persons": [PERSON]})[0] == 201
    taro = "/staff/person/" + person_key(PERSON["name"], PERSON["birth_date"], PERSON["address"])
    correct_token = tablet.csrf(taro)
    # The version of Taro's record the page was drawn from: a correction form carries it back.
    drawn_from = re.search(r'name="drawn_from"[^>]*value="(\d+)"', tablet.request(taro)[1]).group(1)
    _disk_refuses_writes(kiosk, True)

    # The kiosk's own JSON API: a clear error for programs, 503.
    status, body = Browser(kiosk.url).request("/api/checkin", json_body={"persons": [PERSON]})
    answer = json.loads(body)
    assert status == 503 and answer["error"] == "kiosk_storage_failed"
    assert "nothing was saved" in answer["message"] and "paper forms" in answer["message"]
    assert "Never delete kiosk.sqlite3, kiosk.sqlite3-wal or kiosk.sqlite3-shm" in answer["message"]

    # The evacuee's screen, in the language they chose: the message is the catalog's, not English.
    status, body = Browser(kiosk.url).request("/screen/call-staff?lang=pt", json_body={})
    expected = _catalog("pt").gettext(
        "This kiosk cannot save right now, so nothing was saved. Please go to the staff desk.")
    assert status == 503 and json.loads(body) == {"errors": {"form": expected}}
    assert expected.startswith("Este terminal")

    # The tablet: the registration form comes back as typed, with the reason above it.
    status, page = tablet.request("/staff/register", {"csrf_token": register_token, **CARD})
    assert status == 503
    said = re.search(r'data-testid="not-saved">([^<]*)<', page).group(1)
    assert said == _catalog("ja", "staff").gettext(
        "Nothing was saved: the kiosk could not write to its disk (it may be full or failing). "
        "Write people in on paper forms (避難者カード) and tell HQ. Never delete %(file)s, %(file)s-wal or "
        "%(file)s-shm: they hold the records. If the disk is full, delete photos, videos, logs or downloads "
        "instead.") % {"file": "kiosk.sqlite3"}
    assert "kiosk.sqlite3・kiosk.sqlite3-wal・kiosk.sqlite3-shm は絶対に削除しないでください" in said
    assert 'value="焼津 次郎"' in page and 'value="やいづ じろう"' in page
    # A correction likewise: the person's page comes back with what was typed.
    status, page = tablet.request(taro, {"csrf_token": correct_token, **PERSON, "birth_date": "1950-01-20",
                                         "name_kana": "", "stay_type": "in_shelter", "home_damage": "unknown",
                                         "consent": "none", "contact_phone": "", "household_members": "",
                                         "family_code": "", "drawn_from": drawn_from})
    assert status == 503 and re.search(r'data-testid="not-saved">([^<]*)<', page).group(1) == said
    assert 'value="1950-01-20"' in page
    # Reading still works: the roster is there for staff.
    assert tablet.request("/staff/")[0] == 200

    # The command line staff use for paper forms says the same, and exits non-zero.
    done = run_evac_limited("kiosk", "checkin", "--db", str(kiosk.db), "--shelter", SHELTER, "--name", "焼津 三郎",
                            "--birth", "1960-01-01", "--sex", "male", "--address", "焼津市本町3-3")
    assert done.returncode == 2 and "nothing was saved" in done.stderr and "Traceback" not in done.stderr

    assert len(_events(kiosk.db)) == 1, "only the check-in from before"
    # Room again: the same kiosk process checks people in without a restart.
    _disk_refuses_writes(kiosk, False)
    status, body = Browser(kiosk.url).request("/api/checkin", json_body={"persons": [HANAKO]})
    assert status == 201 and json.loads(body)["status"] == "confirmed"
    kiosk.stop()
    events = [json.loads(b) for b in _events(kiosk.db)]
    assert [(e["type"], e["person"]["name"], e["person"]["birth_date"]) for e in events] == [
        ("checkin", "焼津 太郎", "1950-01-02"), ("checkin", "焼津 花子", "2024-05-06")]
    with sqlite3.connect(kiosk.db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("SELECT count(*) FROM staff_calls").fetchone() == (0,)


def run_evac_limited(*args: str):
    """`evac …` in a process that may not write to any file (a file-size limit of zero)."""
    import signal
    import subprocess

    def no_writes():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (0, resource.RLIM_INFINITY))
    return subprocess.run(evac_cmd(*args), capture_output=True, text=True, cwd=ROOT, timeout=60,
                          preexec_fn=no_writes)


def test_the_access_log_keeps_no_query_strings(kiosk):
    """A roster search is an evacuee's name: the kiosk's log says which page, never what was asked."""
    tablet = Browser(kiosk.url)
    tablet.request("/staff/login", {"csrf_token": tablet.csrf("/staff/login"), "name": "sato", "password": PASSWORD})
    assert tablet.request("/staff/?q=" + urllib.parse.quote("焼津 太郎"))[0] == 200
    kiosk.stop()
    log = kiosk.log_path.read_text()
    assert '"GET /staff/" 200' in log
    assert "q=" not in log and "焼津" not in log and urllib.parse.quote("焼津") not in log
