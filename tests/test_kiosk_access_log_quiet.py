"""The kiosk's console is where staff read its words (sync trouble, a full disk): the fonts and scripts every
page fetches, and what the screens poll each second (the card reader, an open call, the tablets' calls), are
no longer a line each when they succeed.  Pages, posts and every failure still are.  A real `evac kiosk serve`."""
from __future__ import annotations

import urllib.error
import urllib.request

from tests.conftest import Server, evac_cmd, free_port


def get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            resp.read()
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_static_files_and_polls_that_succeed_are_not_logged_pages_and_failures_are(tmp_path):
    port = free_port()
    server = Server(evac_cmd("kiosk", "serve", "--db", str(tmp_path / "k.sqlite3"), "--shelter", "H031",
                             "--port", str(port)), f"http://127.0.0.1:{port}", tmp_path / "kiosk.log", "/api/status")
    try:
        assert get(f"{server.url}/") == 200
        assert get(f"{server.url}/static/kiosk.js") == 200
        for _ in range(3):
            assert get(f"{server.url}/api/card-status") == 200
        assert get(f"{server.url}/static/no-such-file.js") == 404
    finally:
        server.stop()
    log = server.log_path.read_text()
    assert '"GET /" 200' in log, log
    assert '"GET /static/no-such-file.js" 404' in log, log
    assert "/static/kiosk.js" not in log and "/api/card-status" not in log, log
