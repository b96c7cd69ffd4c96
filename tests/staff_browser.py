"""Browser fixtures for the staff tablet: Debian's Chromium driven by Playwright (one browser for
the whole session), a real `evac kiosk serve` process, and a watch on every request the page makes.

Import the fixtures into a test module: `from tests.staff_browser import chromium, staff_kiosk`.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import ROOT, Server, evac_cmd, free_port, run_evac

ARTIFACTS = ROOT / "test-artifacts" / "staff"
PASSWORD = "correct horse 7"


@pytest.fixture(scope="session")
def chromium(browser):
    """The session's one Chromium (tests/browser.py): playwright's sync API runs one at a time."""
    return browser


class StaffKiosk:
    """A kiosk server with a staff member and a lead, and the requests its pages made."""

    def __init__(self, server: Server, db: Path):
        self.server, self.db, self.url = server, db, server.url
        self.requests: list[str] = []

    def foreign_requests(self) -> list[str]:
        return [u for u in self.requests if not (u == self.url or u.startswith(self.url + "/"))]

    def page(self, browser, **context):
        context.setdefault("locale", "ja-JP")  # a Japanese tablet: date fields read 年/月/日
        ctx = browser.new_context(viewport={"width": 1024, "height": 1366}, accept_downloads=True, **context)
        page = ctx.new_page()
        page.on("request", lambda request: self.requests.append(request.url))
        return page

    def screenshot(self, page, name: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.fixture
def staff_kiosk(tmp_path):
    """start(seed=callable(store), shelter, *serve_args) -> StaffKiosk, with accounts sato (staff) and
    tanaka (lead)."""
    servers = []

    def start(seed=None, shelter: str = "H001", *serve_args: str) -> StaffKiosk:
        db = tmp_path / f"kiosk-{len(servers)}.sqlite3"
        for name, role in (("sato", "staff"), ("tanaka", "lead")):
            result = run_evac("kiosk", "add-staff", "--db", str(db), "--name", name, "--role", role,
                              input=PASSWORD + "\n")
            assert result.returncode == 0, result.stderr
        if seed is not None:
            from kiosk.store import KioskStore
            store = KioskStore(db)
            try:
                seed(store)
            finally:
                store.close()
        port = free_port()
        server = Server(evac_cmd("kiosk", "serve", "--db", str(db), "--shelter", shelter, "--port", str(port),
                                 *serve_args),
                        f"http://127.0.0.1:{port}", tmp_path / f"kiosk-{port}.log", "/api/status")
        servers.append(server)
        return StaffKiosk(server, db)
    yield start
    for s in servers:
        s.stop()
