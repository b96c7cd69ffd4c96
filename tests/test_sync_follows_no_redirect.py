"""Where HQ should answer, a redirect (a Wi-Fi's log-in page, a misconfigured proxy) is not followed: the
kiosk's token never goes to the host the redirect names (urllib re-sent it there, as a GET, even from https
to http).  The answer is a web page where HQ should be, said as one (Japanese first), and nothing is lost.
Two real HTTP servers on loopback: the one at HQ's address answers 302 to the other."""
from __future__ import annotations

import http.server
import threading

import pytest

from evac.events import Person
from kiosk.store import KioskStore
from kiosk.sync import HQClient, SyncError, sync_once
from tests.conftest import run_evac

TOKEN = "KAAAAAAAA." + "s" * 43


class _Portal(http.server.BaseHTTPRequestHandler):
    """The log-in page the redirect names: notes every request it gets, with its headers."""
    received: list = []

    def log_message(self, *args):
        pass

    def _answer(self):
        self.received.append((self.command, self.path, dict(self.headers)))
        body = b"<html>Wi-Fi login</html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_HEAD = _answer


def _redirecting_to(location: str, status: int):
    class Redirector(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _answer(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(status)
            self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_POST = do_HEAD = _answer
    return Redirector


@pytest.fixture
def portal_behind_redirect():
    """(HQ's address, which answers `status` to the portal; what the portal received)."""
    servers = []

    def start(status: int = 302) -> tuple[str, list]:
        received: list = []
        portal = http.server.ThreadingHTTPServer(("127.0.0.1", 0), type("Portal", (_Portal,), {"received": received}))
        where = f"http://localhost:{portal.server_port}/login?from=hq"
        redirector = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _redirecting_to(where, status))
        for server in (portal, redirector):
            servers.append(server)
            threading.Thread(target=server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{redirector.server_port}", received
    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _kiosk(tmp_path) -> KioskStore:
    store = KioskStore(tmp_path / "k.sqlite3")
    store.check_in("H001", [Person("転送 太郎", "1970-01-01", "male", "焼津市本町1-1")])
    return store


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_is_not_followed_and_the_token_goes_nowhere_else(portal_behind_redirect, tmp_path, status):
    hq_url, received = portal_behind_redirect(status)
    store = _kiosk(tmp_path)
    with pytest.raises(SyncError) as failed:
        sync_once(store, HQClient(hq_url, TOKEN, timeout=5))
    assert received == [], received   # not even a request without the token: the kiosk goes nowhere it was sent
    assert failed.value.kind == SyncError.NOT_HQ and failed.value.web_page, failed.value
    assert failed.value.pending == 1 and store.pending() == 1
    japanese, _, english = str(failed.value).partition(" / ")
    assert japanese.startswith(f"本部のアドレス {hq_url} で、本部ではなくウェブページが応答しました"), japanese
    assert f"HTTP {status}" in english and "a web page answered" in english, english


def test_evac_kiosk_sync_says_a_redirect_is_a_web_page_japanese_first(portal_behind_redirect, tmp_path):
    hq_url, received = portal_behind_redirect()
    _kiosk(tmp_path).close()
    done = run_evac("kiosk", "sync", "--db", str(tmp_path / "k.sqlite3"), "--hq", hq_url, "--token", TOKEN,
                    "--timeout", "5")
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert received == [] and TOKEN not in done.stderr
    line = next(x for x in done.stderr.splitlines() if x.startswith("evac: 同期できませんでした: "))
    japanese, _, english = line.removeprefix("evac: 同期できませんでした: ").partition(" / ")
    assert japanese.startswith(f"本部のアドレス {hq_url} で、本部ではなくウェブページが応答しました"), line
    assert "ログインしてください" in japanese and "失われていません" in japanese, line
    assert english.startswith(f"sync failed: the server at {hq_url} is not HQ (") and "log in" in english, line
