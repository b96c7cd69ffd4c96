"""An HQ staff page in Chromium (static/staff_idle.js): typing keeps the log-in alive past the idle
limit, and once the page lies unused it goes back to HQ by itself, which logs it out: the log-in page
says why and nothing of the page stays on a shared PC's screen.  Real HQ app in a werkzeug server
thread on a real SQLite file; the session's one browser (tests.browser).  A short idle limit (3 s)
keeps it quick; the page's own countdown is awaited, not slept through."""
from __future__ import annotations

import time

import pytest

from hq_dashboard.db import db
from tests.browser import hq_over_http, page_at, screenshot  # noqa: F401  (fixtures)

pytestmark = pytest.mark.slow

STAFF, PASSWORD = "reviewer1", "correct horse battery"
IDLE_MINUTES = 0.05   # 3 s


@pytest.fixture
def hq_served(tmp_path):
    from hq_dashboard.staff import add_staff
    with hq_over_http(tmp_path, STAFF_IDLE_MINUTES=IDLE_MINUTES) as app:
        with app.app_context():
            add_staff(db.session, STAFF, PASSWORD, "lead")
        yield app


def test_typing_keeps_an_hq_page_logged_in_and_an_unused_one_logs_itself_out(hq_served, page_at):
    page = page_at(hq_served.url)
    page.goto("/staff/login?next=/staff/audit")
    page.fill("#username", STAFF)
    page.fill("#password", PASSWORD)
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert page.url == f"{hq_served.url}/staff/audit"
    # Typing for longer than the idle limit, a key now and then: the log-in stays and so does the text.
    page.click("#q")
    started = time.monotonic()
    while time.monotonic() - started < IDLE_MINUTES * 60 * 1.3:
        page.keyboard.type("a")
        page.wait_for_timeout(400)
    page.fill("#q", page.input_value("#q"))   # (a change event: still use)
    assert page.url == f"{hq_served.url}/staff/audit"
    assert page.input_value("#q").endswith("aaaa")
    assert hq_served.url + "/staff/alive" in page.requests
    # HQ still takes the log-in, more than its idle limit after it was made (logged out: a redirect).
    assert page.evaluate("fetch('/staff/alive', {redirect: 'manual'}).then(r => r.status)") == 204
    # Left alone, the page goes back to HQ after the limit: logged out, and the log-in page says why.
    page.wait_for_url(f"{hq_served.url}/staff/login?next=%2Fstaff%2Faudit", timeout=60_000)
    screenshot(page, "hq-staff-idle-logged-out")
    assert page.get_by_text("分間操作がなかったため、ログアウトしました。もう一度ログインしてください。").is_visible()
    assert page.locator("#q").count() == 0
    # What was typed and never sent is gone with the page: said, not silent.
    assert page.get_by_text("入力途中の内容は送信されず、保存されていません").is_visible()
    # `next` brings staff back to the page.
    page.fill("#username", STAFF)
    page.fill("#password", PASSWORD)
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert page.url == f"{hq_served.url}/staff/audit"
