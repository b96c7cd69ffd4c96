"""A record the running kiosk writes wakes its background sync: HQ hears of a check-in seconds after it
once the network is up, not at the end of the backoff the kiosk grew while HQ was out of reach (up to its
KIOSK_SYNC_MAX_BACKOFF).  And a rush of check-ins while HQ is down is not a rush of tries.  Real processes:
`evac kiosk serve`, `evac hq serve`, and, for HQ down behind the city's proxy, a server answering 502 as
nginx does then.  (`evac kiosk checkin`, another process, cannot wake the kiosk's sync: the next round
sends its records.)"""
from __future__ import annotations

import http.server
import json
import os
import subprocess
import threading
import time
import urllib.request

import pytest

from tests.conftest import ROOT, Server, copy_sqlite, evac_cmd, free_port
from tests.test_sync_http import enroll, get_json, occupancy

SHELTER = "H001"
# A round every 300 s, and each failure doubles the wait up to an hour: after HQ's first refusal the
# kiosk's next try is 480 s away at the soonest (jitter 0.8).  HQ must have the check-in long before.
SLOW_SYNC = {"KIOSK_SYNC_INTERVAL": "300", "KIOSK_SYNC_MAX_BACKOFF": "3600"}
WITHIN_S = 60


def _person(i: int) -> dict:
    return {"name": f"焼津 起床{i}", "birth_date": "1970-01-01", "sex": "female", "address": f"焼津市本町{i}-1"}


def _check_in(kiosk: Server, i: int) -> None:
    req = urllib.request.Request(f"{kiosk.url}/api/checkin", data=json.dumps({"persons": [_person(i)]}).encode(),
                                 method="POST", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        assert resp.status == 201 and json.loads(resp.read())["status"] == "confirmed"


def _hq(db_url: str, port: int, log) -> Server:
    return Server(evac_cmd("hq", "serve", "--db", db_url, "--port", str(port)), f"http://127.0.0.1:{port}", log,
                  "/api/v1/shelters")


@pytest.fixture
def enrolled(tmp_path, hq_template_sqlite):
    """(HQ's database URL, a token for a kiosk at SHELTER, the port HQ answers on): HQ started once (it makes
    its secret key), then stopped."""
    path = tmp_path / "hq.sqlite3"
    copy_sqlite(hq_template_sqlite, path)
    db_url, port = f"sqlite:///{path}", free_port()
    _hq(db_url, port, tmp_path / "hq-first.log").stop()
    return db_url, enroll(db_url, SHELTER), port


@pytest.fixture
def kiosks(tmp_path):
    started = []

    def start(hq_url: str, token: str) -> Server:
        port = free_port()
        env = {**os.environ, **SLOW_SYNC, "EVAC_KIOSK_TOKEN": token}
        kiosk = Server(evac_cmd("kiosk", "serve", "--db", str(tmp_path / "kiosk.sqlite3"), "--shelter", SHELTER,
                                "--hq", hq_url, "--port", str(port)),
                       f"http://127.0.0.1:{port}", tmp_path / "kiosk.log", "/api/status", env=env)
        started.append(kiosk)
        return kiosk
    yield start
    for kiosk in started:
        kiosk.stop()


def _until_hq_failed(kiosk: Server) -> None:
    """The kiosk's first round (at its start) has failed: it now waits out its backoff."""
    deadline = time.monotonic() + WITHIN_S
    while (status := get_json(f"{kiosk.url}/api/status"))["hq_reachable"] is not False:
        assert time.monotonic() < deadline, f"the kiosk's first round did not fail: {status}"
        time.sleep(0.1)


def test_a_check_in_after_hq_is_back_reaches_hq_without_waiting_out_the_backoff(enrolled, kiosks, tmp_path):
    db_url, token, hq_port = enrolled
    hq_url = f"http://127.0.0.1:{hq_port}"
    kiosk = kiosks(hq_url, token)
    _until_hq_failed(kiosk)                       # nothing listens at HQ's address yet
    hq = _hq(db_url, hq_port, tmp_path / "hq.log")
    try:
        _check_in(kiosk, 1)
        deadline = time.monotonic() + WITHIN_S
        while occupancy(hq_url) != {SHELTER: 1}:
            assert time.monotonic() < deadline, (
                f"HQ did not have the check-in within {WITHIN_S} s: the kiosk's sync waits out its backoff "
                f"(480 s or more) though a check-in was made after HQ came back:\n{kiosk.log_path.read_text()}")
            time.sleep(0.2)
    finally:
        hq.stop()


class _ProxyBeforeHQDown(http.server.BaseHTTPRequestHandler):
    """nginx before a stopped HQ: 502 with its own page; counts the kiosk's tries."""
    tries = 0

    def do_POST(self):
        type(self).tries += 1
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        page = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
        self.send_response(502)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(page)))
        self.end_headers()
        self.wfile.write(page)

    do_GET = do_POST

    def log_message(self, *args):
        pass


def test_a_rush_of_check_ins_while_hq_is_down_is_one_try_not_one_each(enrolled, kiosks):
    _, token, port = enrolled
    _ProxyBeforeHQDown.tries = 0
    proxy = http.server.ThreadingHTTPServer(("127.0.0.1", port), _ProxyBeforeHQDown)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    try:
        kiosk = kiosks(f"http://127.0.0.1:{port}", token)
        _until_hq_failed(kiosk)
        assert _ProxyBeforeHQDown.tries == 1      # the round at the kiosk's start
        _check_in(kiosk, 1)
        deadline = time.monotonic() + WITHIN_S
        while _ProxyBeforeHQDown.tries < 2:       # the first check-in's: tried at once
            assert time.monotonic() < deadline, "the check-in did not wake the kiosk's sync"
            time.sleep(0.05)
        for i in range(2, 12):
            _check_in(kiosk, i)
        time.sleep(2)   # a loop of tries would have made hundreds by now
        assert _ProxyBeforeHQDown.tries == 2, "each check-in while HQ is down made a try of its own"
        assert get_json(f"{kiosk.url}/api/status")["pending_events"] == 11
    finally:
        proxy.shutdown()
        proxy.server_close()


@pytest.mark.parametrize("value", ["an hour", "0", "-5", "nan"])
def test_a_max_backoff_that_is_no_number_of_seconds_is_refused_at_the_start(tmp_path, value):
    env = {**os.environ, "KIOSK_SYNC_MAX_BACKOFF": value}
    done = subprocess.run(evac_cmd("kiosk", "serve", "--db", str(tmp_path / "kiosk.sqlite3"), "--shelter", SHELTER,
                                   "--port", str(free_port())), capture_output=True, text=True, cwd=ROOT, env=env,
                          timeout=60)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "KIOSK_SYNC_MAX_BACKOFF must be a number of seconds above 0, like 60" in done.stderr
    assert done.stderr.splitlines()[-1].startswith("evac: KIOSK_SYNC_MAX_BACKOFF は 0 より大きい秒数にしてください"), \
        done.stderr
    assert list(tmp_path.iterdir()) == [], "a refused start left a kiosk database behind"
