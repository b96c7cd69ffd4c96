"""HQ's wall display in Chromium: the lead's link, opened on the wall's browser, becomes the board, which
reloads itself (here every second) on and on past the staff idle limit (here 1.2 s) without a log-in page,
and the map opens from it; nothing leaves HQ's origin (tests.browser.page_at).  Real HQ app in a werkzeug
server thread on a real SQLite file."""
from __future__ import annotations

import pytest

from hq_dashboard import wall_display
from hq_dashboard.db import db
from tests.browser import hq_over_http, page_at, screenshot  # noqa: F401  (fixtures)

pytestmark = pytest.mark.slow


@pytest.fixture
def hq_served(tmp_path):
    with hq_over_http(tmp_path, WALL_DISPLAY_REFRESH_SECONDS=1, STAFF_IDLE_MINUTES=0.02,
                      MAP_REFRESH_SECONDS=1) as app:
        yield app


def test_the_link_opens_a_board_that_reloads_itself_past_the_idle_limit(hq_served, page_at):
    with hq_served.app_context():
        token = wall_display.add_display(db.session, "hq-wall", by="test")
        db.session.remove()
    page = page_at(hq_served.url)
    page.goto(f"/display/{token}")
    with page.expect_navigation():
        page.click("#open-display")
    assert page.url == f"{hq_served.url}/dashboard"
    assert page.locator('body[data-page="wall-board"]').count() == 1
    # The board reloads itself, marked as its own reload; three reloads outlast the idle limit twice.
    reload = f"{hq_served.url}/dashboard?sort=fullness&auto=1"
    page.wait_for_function(f"performance.getEntriesByType('navigation')[0].name === {reload!r}")
    for _ in range(3):
        with page.expect_navigation(url=reload):
            pass
    assert page.locator('body[data-page="wall-board"]').count() == 1
    assert page.get_by_text("避難状況").first.is_visible()
    assert not any("/staff/login" in url for url in page.requests)
    screenshot(page, "hq-wall-display-board")
    # The map, from the board: its markers come from HQ's own poll.
    with page.expect_navigation():
        page.click("#display-map")
    with page.expect_response(lambda answer: answer.url.startswith(f"{hq_served.url}/api/v1/shelters")) as polled:
        pass
    assert polled.value.status in (200, 304)
    assert page.url == f"{hq_served.url}/map"
