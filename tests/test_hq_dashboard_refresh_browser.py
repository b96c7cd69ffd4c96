"""HQ's staff dashboard in Chromium, with a real `evac hq serve` (on SQLite and PostgreSQL) refreshing its
numbers every half second: a check-in merged at HQ shows on the page in place (the page is never reloaded); HQ's
database failing, then HQ stopped, leave the last numbers up saying since when and why; HQ back, the page
is itself again by itself; and a log-in that ended takes the page to the log-in page saying why, as the
whole page's reload did.  Without scripts, the page still reloads itself whole."""
from __future__ import annotations

import datetime as dt
import json
import os
import re

import pytest
from sqlalchemy import create_engine, text

from hq_dashboard.db import db
from tests.browser import hq_over_http, page_at, screenshot, wait_js  # noqa: F401  (fixtures)
from tests.conftest import Server, evac_cmd, free_port, run_evac
from tests.test_hq_wall_display_browser import _check_in, _rename
from tests.test_sync_http import enroll

pytestmark = pytest.mark.slow

STAFF, PASSWORD = "watch1", "correct horse battery"
IDLE = "30分間操作がなかったため、ログアウトしました。もう一度ログインしてください。"
STALE = "#dashboard-stale"


def _serve(db_url: str, port: int, log) -> Server:
    """`evac hq serve`, its dashboard refreshing every half second (set as an operator would)."""
    env = {**os.environ, "EVAC_DASHBOARD_REFRESH_SECONDS": "0.5"}
    return Server(evac_cmd("hq", "serve", "--db", db_url, "--port", str(port)), f"http://127.0.0.1:{port}",
                  log, "/api/v1/shelters", env=env)


def _log_in(page, base: str) -> None:
    page.goto("/staff/login?next=/dashboard")
    page.fill("#username", STAFF)
    page.fill("#password", PASSWORD)
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert page.url == f"{base}/dashboard"


def _refreshed(page, times: int = 1) -> None:
    """Wait for the page to have put new numbers up `times` more times from now."""
    done = int(page.evaluate("document.body.dataset.refreshes"))
    wait_js(page, f"Number(document.body.dataset.refreshes) >= {done + times}")


def _people(page) -> tuple[str, str]:
    """The total in shelters, and 焼津中学校's (H031) evacuees, as the page shows them."""
    return (page.locator("#total-occupancy").inner_text(),
            page.locator('#shelters tr[data-site="H031"] td:nth-child(5)').inner_text())


def _until_people(page, count: int) -> None:
    n = json.dumps(str(count))
    wait_js(page, f"document.getElementById('total-occupancy').textContent === {n} && "
                  f"document.querySelector('#shelters tr[data-site=\"H031\"] td:nth-child(5)').textContent === {n}")


def _same_page(page) -> bool:
    """Whether the page is still the document the test marked (a reload would be a new one)."""
    return page.evaluate("window.markedByTest === true")


def _unused_for(db_url: str, minutes: int) -> None:
    """The staff member's log-in as if last used `minutes` ago (HQ's idle limit is 30)."""
    then = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=minutes)
    if db_url.startswith("sqlite"):
        then = then.replace(tzinfo=None)   # as HQ keeps times there: UTC, without its zone
    engine = create_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("UPDATE staff_sessions SET last_seen_at = :then WHERE ended_at IS NULL"), {"then": then})
    finally:
        engine.dispose()


def _last_seen(db_url: str):
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT last_seen_at FROM staff_sessions WHERE ended_at IS NULL")).scalar_one()
    finally:
        engine.dispose()


def test_the_dashboard_keeps_its_numbers_while_hq_fails_or_is_gone_and_recovers_by_itself(hq_db_url, tmp_path,
                                                                                          page_at):
    db_url = hq_db_url
    port = free_port()
    hq = _serve(db_url, port, tmp_path / "hq-1.log")
    servers = [hq]
    try:
        kiosk = enroll(db_url, "H031")
        _check_in(hq.url, kiosk, 1, "焼津 一")
        added = run_evac("hq", "add-staff", "--db", db_url, "--username", STAFF, "--role", "desk",
                         input=PASSWORD + "\n")
        assert added.returncode == 0, added.stderr
        page = page_at(hq.url)
        _log_in(page, hq.url)
        page.evaluate("window.markedByTest = true")
        _refreshed(page)
        assert _people(page) == ("1", "1")
        stale, updated = page.locator(STALE), page.locator("#dashboard-updated")
        assert not stale.is_visible() and updated.is_visible()

        # A check-in merged at HQ: the numbers change in place, the page is not reloaded.
        _check_in(hq.url, kiosk, 2, "焼津 二")
        _until_people(page, 2)
        assert _same_page(page) and page.url == f"{hq.url}/dashboard"
        assert not any("/dashboard?" in url and "auto=1" in url and "/numbers" not in url for url in page.requests)
        assert sum("/dashboard/numbers?sort=fullness&auto=1" in url for url in page.requests) >= 2
        # The kiosk's row came with them: its three records received.
        kiosk_id = kiosk.split(".")[0]
        assert page.locator("#kiosks tbody tr").first.locator("td").nth(2).inner_text().startswith("2")
        assert page.locator("#kiosks tbody tr").first.locator("td").first.inner_text() == kiosk_id
        screenshot(page, "hq-dashboard-refreshed")

        # HQ's database fails (a table it reads is gone): HQ answers 500.  The numbers stay, and say so.
        _rename(db_url, "shelters", "shelters_away")
        wait_js(page, "document.body.dataset.boardState === 'error'")
        last = page.locator("#dashboard-part").get_attribute("data-updated")
        assert re.fullmatch(r"\d\d:\d\d JST", last)
        said = stale.inner_text()
        assert stale.is_visible() and not updated.is_visible()
        assert said.index(f"{last} から更新されていません（本部のエラー）") < said.index(
            f"Not updated since {last} (HQ error)")
        assert stale.locator('[lang="en"]').count() == 1
        assert _people(page) == ("2", "2") and _same_page(page)
        screenshot(page, "hq-dashboard-hq-error")

        # The database is back, with one more person: the page is itself again, by itself.
        _rename(db_url, "shelters_away", "shelters")
        _check_in(hq.url, kiosk, 3, "焼津 三")
        wait_js(page, "document.body.dataset.boardState === 'fresh'")
        _until_people(page, 3)
        assert not stale.is_visible() and updated.is_visible()

        # HQ stops altogether (nothing listens on its port): the numbers stay, saying HQ cannot be reached.
        hq.stop()
        wait_js(page, "document.body.dataset.boardState === 'unreachable'")
        last = page.locator("#dashboard-part").get_attribute("data-updated")
        said = stale.inner_text()
        assert said.index(f"{last} から更新されていません（本部につながりません）") < said.index(
            f"Not updated since {last} (HQ cannot be reached)")
        assert _people(page) == ("3", "3") and _same_page(page) and page.url == f"{hq.url}/dashboard"
        assert page.locator("#kiosks tbody tr").count() == 1 and page.get_by_text("避難状況ダッシュボード").is_visible()
        screenshot(page, "hq-dashboard-hq-unreachable")

        # HQ starts again on its address: fresh numbers come back with it, nobody touching the page.
        hq = _serve(db_url, port, tmp_path / "hq-2.log")
        servers.append(hq)
        _check_in(hq.url, kiosk, 4, "焼津 四")
        _until_people(page, 4)
        assert page.evaluate("document.body.dataset.boardState") == "fresh" and not stale.is_visible()
        assert _same_page(page)

        # The page refreshing itself is not staff at work: it keeps no unattended PC logged in.
        _unused_for(db_url, 20)
        before = _last_seen(db_url)
        _refreshed(page, 2)
        assert _last_seen(db_url) == before
        # Past the idle limit the page does not retry for ever on the log-in page's HTML: it goes to the
        # log-in page, which says why, as the whole page's reload did.
        _unused_for(db_url, 31)
        page.wait_for_url(re.compile(r".*/staff/login\?next=%2Fdashboard%3Fsort%3Dfullness$"))
        assert page.get_by_text(IDLE).is_visible()
        screenshot(page, "hq-dashboard-logged-out")
    finally:
        for server in servers:
            server.stop()


@pytest.fixture
def hq_served(tmp_path):
    from hq_dashboard.staff import add_staff
    with hq_over_http(tmp_path, DASHBOARD_REFRESH_SECONDS=1) as app:
        with app.app_context():
            add_staff(db.session, STAFF, PASSWORD, "desk")
            db.session.remove()
        yield app


def test_without_scripts_the_dashboard_reloads_itself_whole(hq_served, chromium):
    from hq_dashboard.models import Shelter
    context = chromium.new_context(java_script_enabled=False, base_url=hq_served.url)
    try:
        page = context.new_page()
        _log_in(page, hq_served.url)
        assert page.locator("#total-occupancy").inner_text() == "0"
        with hq_served.app_context():
            db.session.get(Shelter, "H031").occupancy = 5
            db.session.commit()
            db.session.remove()
        # The page's own reload (marked auto=1) brings the new numbers.
        page.wait_for_url(f"{hq_served.url}/dashboard?sort=fullness&auto=1")
        page.wait_for_selector('#total-occupancy:text-is("5")')
        assert page.locator("#dashboard-stale").is_hidden()
    finally:
        context.close()
