"""HQ's wall display in Chromium.  The lead's link, opened on the wall's browser, becomes the board, whose
numbers refresh themselves in place (here every second; every half second from `evac hq serve`) past the
staff idle limit with no log-in page, and the map opens from it; nothing leaves HQ's origin
(tests.browser.page_at).  An unattended wall never ends on an error page: with a real `evac hq serve` (on
SQLite and PostgreSQL) whose database fails, then which is stopped, the last good numbers stay up saying
since when and why, and the board recovers by itself; revoked, it says so (the map too).  With sixty-odd
open sites the board fits a 1920x1080 screen at a size read across a room."""
from __future__ import annotations

import json
import os
import re
import urllib.request

import pytest
from sqlalchemy import create_engine, text

from evac.hlc import pack
from hq_dashboard import wall_display
from hq_dashboard.db import db
from tests.browser import hq_over_http, page_at, screenshot, wait_js  # noqa: F401  (fixtures)
from tests.conftest import Server, evac_cmd, free_port, run_evac
from tests.test_sync_http import enroll

pytestmark = pytest.mark.slow

REVOKED_JA, REVOKED_EN = "表示用リンクは取り消されました", "The display link was revoked"
# The size the wall's text is read at from across HQ's room, and the screen it is read on.
SMALLEST_TEXT_PX = 20
WALL = (1920, 1080)


@pytest.fixture
def hq_served(tmp_path):
    with hq_over_http(tmp_path, WALL_DISPLAY_REFRESH_SECONDS=1, STAFF_IDLE_MINUTES=0.02,
                      MAP_REFRESH_SECONDS=1) as app:
        yield app


def _open_board(page, token: str, base: str) -> None:
    page.goto(f"{base}/display/{token}")
    with page.expect_navigation():
        page.click("#open-display")
    assert page.url == f"{base}/dashboard"
    assert page.locator('body[data-page="wall-board"]').count() == 1


def _a_wall(hq_served, page_at, name: str, **browser):
    """A display made at HQ and its link opened in a fresh browser: the page on its board."""
    with hq_served.app_context():
        token = wall_display.add_display(db.session, name, by="test")
        db.session.remove()
    page = page_at(hq_served.url, **browser)
    _open_board(page, token, hq_served.url)
    return page


def _refreshed(page, times: int = 1) -> None:
    """Wait for the board to have refreshed its numbers `times` more times from now, as it is now."""
    done = int(page.evaluate("document.body.dataset.refreshes"))
    wait_js(page, f"Number(document.body.dataset.refreshes) >= {done + times}")


def test_the_link_opens_a_board_that_refreshes_itself_past_the_idle_limit(hq_served, page_at):
    page = _a_wall(hq_served, page_at, "hq-wall")
    # Three refreshes of its numbers (no reload of the page) outlast the idle limit twice.
    _refreshed(page, 3)
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1
    assert page.url == f"{hq_served.url}/dashboard"
    assert page.locator('body[data-page="wall-board"]').count() == 1
    assert page.get_by_text("避難状況").first.is_visible()
    assert not any("/staff/login" in url for url in page.requests)
    assert sum("/wall/numbers?sort=fullness" in url for url in page.requests) >= 3
    screenshot(page, "hq-wall-display-board")
    # The map, from the board: its markers come from HQ's own poll.
    with page.expect_navigation():
        page.click("#display-map")
    with page.expect_response(lambda answer: answer.url.startswith(f"{hq_served.url}/api/v1/shelters")) as polled:
        pass
    assert polled.value.status in (200, 304)
    assert page.url == f"{hq_served.url}/map"


def test_a_revoked_display_on_the_map_says_it_was_revoked(hq_served, page_at):
    """Not 'cannot reach HQ (403)', which sends someone to look at HQ's server: the lead revoked it."""
    page = _a_wall(hq_served, page_at, "map-wall")
    page.goto("/map")
    wait_js(page, "Number(document.body.dataset.evacRefreshes) >= 1")
    with hq_served.app_context():
        wall_display.revoke_display(db.session, "map-wall", by="test")
        db.session.remove()
    stamp = page.locator("#evac-updated")
    wait_js(page, "document.getElementById('evac-updated').className === 'stale'")
    said = stamp.inner_text()
    assert said.index(REVOKED_JA) < said.index(REVOKED_EN) and "接続できません" not in said
    assert stamp.locator('[lang="en"]').inner_text().startswith("/ " + REVOKED_EN)
    # A revoked display does not come back: the map stops asking (map.js polls again only while not revoked).
    assert page.evaluate("window.evacState.revoked") is True
    screenshot(page, "hq-wall-display-map-revoked")


# --- a real HQ that fails, stops and comes back ---------------------------------------------------------

SERVED_REFRESH_S = 0.5


def _serve(db_url: str, port: int, log) -> Server:
    """`evac hq serve`, its wall display refreshing every half second (set as an operator would)."""
    env = {**os.environ, "EVAC_WALL_DISPLAY_REFRESH_SECONDS": str(SERVED_REFRESH_S)}
    return Server(evac_cmd("hq", "serve", "--db", db_url, "--port", str(port)), f"http://127.0.0.1:{port}",
                  log, "/api/v1/shelters", env=env)


def _check_in(url: str, token: str, seq: int, name: str) -> None:
    """A kiosk at 焼津中学校 (H031) sends one check-in to HQ, over HTTP."""
    event = {"kiosk_id": "dev-wall", "shelter_id": "H031", "seq": seq, "hlc": pack(1_764_000_000_000 + seq),
             "type": "checkin", "data": {"stay_type": "in_shelter"},
             "person": {"name": name, "birth_date": f"19{50 + seq}-04-01", "sex": "female",
                        "address": "静岡県焼津市本町5-9-1"}}
    sent = urllib.request.Request(f"{url}/api/v1/sync", json.dumps({"device_id": "dev-wall", "events": [event]}).encode(),
                                  {"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(sent, timeout=30) as answer:
        assert answer.status == 200


def _rename(db_url: str, old: str, new: str) -> None:
    """A real failure of HQ's database, and its end: a table HQ reads is away, then back."""
    engine = create_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(text(f"ALTER TABLE {old} RENAME TO {new}"))
    finally:
        engine.dispose()


def _occupancy(page, site: str = "H031") -> str:
    return page.locator(f'tr[data-site="{site}"] td.occ').inner_text()


def test_the_wall_keeps_its_last_numbers_while_hq_fails_or_is_gone_and_recovers_by_itself(hq_db_url, tmp_path,
                                                                                         page_at):
    db_url = hq_db_url
    port = free_port()
    hq = _serve(db_url, port, tmp_path / "hq-1.log")
    servers = [hq]
    try:
        kiosk = enroll(db_url, "H031")
        _check_in(hq.url, kiosk, 1, "焼津 一")
        made = run_evac("hq", "add-display", "--db", db_url, "--name", "hq-wall", "--base-url", hq.url)
        assert made.returncode == 0, made.stderr
        token = made.stdout.strip().rsplit("/", 1)[1]
        page = page_at(hq.url, viewport=WALL)
        _open_board(page, token, hq.url)
        _refreshed(page)
        assert _occupancy(page).startswith("1/")
        stale = page.locator("#board-stale")
        assert not stale.is_visible() and page.locator("#display-updated").is_visible()

        # HQ's database fails (a table it reads is gone): HQ answers 500.  The numbers stay, and say so.
        _rename(db_url, "shelters", "shelters_away")
        wait_js(page, "document.body.dataset.boardState === 'error'")
        last = page.locator("#board-part").get_attribute("data-updated")
        assert re.fullmatch(r"\d\d:\d\d JST", last)
        said = stale.inner_text()
        assert stale.is_visible() and not page.locator("#display-updated").is_visible()
        assert said.index(f"{last} から更新されていません（本部のエラー）") < said.index(
            f"Not updated since {last} (HQ error)")
        assert stale.locator('[lang="en"]').count() == 1
        _refreshed_while_failing = page.evaluate("document.body.dataset.refreshes")
        assert _occupancy(page).startswith("1/") and page.get_by_text("避難状況").first.is_visible()
        assert page.locator('body[data-page="wall-board"]').count() == 1
        screenshot(page, "hq-wall-display-hq-error")

        # The database is back, with one more person: the board is itself again, by itself.
        _rename(db_url, "shelters_away", "shelters")
        _check_in(hq.url, kiosk, 2, "焼津 二")
        wait_js(page, "document.body.dataset.boardState === 'fresh'")
        wait_js(page, "document.querySelector('tr[data-site=\"H031\"] td.occ').textContent.startsWith('2/')")
        assert not stale.is_visible() and page.locator("#display-updated").is_visible()
        assert int(page.evaluate("document.body.dataset.refreshes")) > int(_refreshed_while_failing)

        # HQ stops altogether (nothing listens on its port): the numbers stay, saying HQ cannot be reached.
        hq.stop()
        wait_js(page, "document.body.dataset.boardState === 'unreachable'")
        last = page.locator("#board-part").get_attribute("data-updated")
        said = stale.inner_text()
        assert said.index(f"{last} から更新されていません（本部につながりません）") < said.index(
            f"Not updated since {last} (HQ cannot be reached)")
        assert _occupancy(page).startswith("2/") and page.url == f"{hq.url}/dashboard"
        screenshot(page, "hq-wall-display-hq-unreachable")

        # HQ starts again on its address: the wall comes back with it, nobody touching it.
        hq = _serve(db_url, port, tmp_path / "hq-2.log")
        servers.append(hq)
        _check_in(hq.url, kiosk, 3, "焼津 三")
        wait_js(page, "document.querySelector('tr[data-site=\"H031\"] td.occ').textContent.startsWith('3/')")
        assert page.evaluate("document.body.dataset.boardState") == "fresh" and not stale.is_visible()
        assert page.evaluate("performance.getEntriesByType('navigation').length") == 1   # never reloaded

        # A lead revokes the display: the board gives way to HQ's page saying so, Japanese first.
        revoked = run_evac("hq", "revoke-display", "--db", db_url, "--name", "hq-wall")
        assert revoked.returncode == 0, revoked.stderr
        page.wait_for_selector('body[data-page="revoked"]')
        shown = page.locator("body").inner_text()
        assert shown.index(REVOKED_JA) < shown.index(REVOKED_EN)
        assert page.locator("#board-numbers").count() == 0 and page.locator("html").get_attribute("lang") == "ja"
        assert page.locator(f'section[lang="en"]:has-text("{REVOKED_EN}")').count() == 1
        screenshot(page, "hq-wall-display-revoked")
        # ... and asks HQ nothing more (for two and a half refreshes' time).
        asked = len([url for url in page.requests if "/wall/numbers" in url])
        page.wait_for_timeout(SERVED_REFRESH_S * 2500)
        assert len([url for url in page.requests if "/wall/numbers" in url]) == asked
    finally:
        for server in servers:
            server.stop()


# --- sixty-odd open sites on a 1920x1080 wall ------------------------------------------------------------

def _open_sites(app, count: int) -> list[str]:
    """`count` sites open with people (the longest names: the hardest to fit), some full, some over their
    capacity, and some unsafe in the disaster chosen; the rest stay closed."""
    from hq_dashboard.models import Shelter
    from hq_dashboard.situation import set_disaster
    with app.app_context():
        set_disaster("tsunami")
        # Sites with a capacity estimate first (the 指定避難所), then those with none (evacuation spaces).
        sites = sorted(db.session.query(Shelter), key=lambda s: (not s.capacity, -len(s.name), s.id))[:count]
        assert len(sites) == count
        for i, s in enumerate(sites):
            s.opened = True
            s.occupancy = (s.capacity + 7 if i % 13 == 0 else (s.capacity * (i % 10)) // 10) if s.capacity else 3 + i
            s.at_home, s.in_car = i % 7, i % 5
        db.session.commit()
        ids = [s.id for s in sites]
        db.session.remove()
    return ids


@pytest.mark.parametrize("count", [60, 64, 90, 91])
def test_sixty_odd_open_sites_fit_a_1920x1080_wall_readable_across_the_room(hq_served, page_at, count):
    sites = _open_sites(hq_served, count)
    page = _a_wall(hq_served, page_at, "hq-wall", viewport=WALL)
    _refreshed(page)
    # Every open site is on the screen (past the columns a wall holds, the least full are a count), and the
    # screen does not scroll.
    shown = page.locator("tr[data-site]").evaluate_all("rows => rows.map(r => r.dataset.site)")
    if count <= wall_display.MOST_COLUMNS * wall_display.ROWS_PER_COLUMN:
        assert sorted(shown) == sorted(sites) and page.locator("#rest").count() == 0
    else:
        assert len(shown) == wall_display.MOST_COLUMNS * wall_display.ROWS_PER_COLUMN
        rest = page.locator("#rest").inner_text()
        assert f"ほか {count - len(shown)} か所は表示していません" in rest and f"Sites not shown: {count - len(shown)}" in rest
    _fits(page)
    # No text smaller than is read across the room (every element that holds text of its own).
    sizes = page.evaluate("""[...document.querySelectorAll('body *')].filter(e =>
        [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim()) && e.getClientRects().length)
        .map(e => [e.tagName + '.' + e.className, parseFloat(getComputedStyle(e).fontSize)])""")
    assert sizes and all(px >= SMALLEST_TEXT_PX for _, px in sizes), [s for s in sizes if s[1] < SMALLEST_TEXT_PX]
    numbers = page.evaluate("parseFloat(getComputedStyle(document.querySelector('td.occ')).fontSize)")
    assert numbers >= 22
    # A site's name keeps room for at least seven characters, however many columns.
    narrowest = page.evaluate("Math.min(...[...document.querySelectorAll('td.name')].map(e => e.clientWidth))")
    assert narrowest >= 7 * numbers
    # The sites in trouble come first: the top of the first column is full or over its capacity.
    first = page.locator("table.shelters").first.locator("tbody tr").first
    assert "full" in first.get_attribute("class")
    # The alerts are short: one line each, whatever the number of sites in them.
    for alert in page.locator("#alerts li").all():
        assert alert.bounding_box()["height"] < 2 * SMALLEST_TEXT_PX * 1.5
    screenshot(page, f"hq-wall-display-{count}-sites")
    # HQ out of reach (the browser's requests for the numbers fail): the notice fits as well.
    page.route("**/wall/numbers*", lambda route: route.abort())
    wait_js(page, "document.body.dataset.boardState === 'unreachable'")
    assert page.locator("#board-stale").is_visible()
    _fits(page)
    screenshot(page, f"hq-wall-display-{count}-sites-unreachable")


def _fits(page) -> None:
    assert page.evaluate("document.documentElement.scrollHeight") <= page.evaluate("window.innerHeight")
    assert page.evaluate("document.documentElement.scrollWidth") <= page.evaluate("window.innerWidth")
    assert page.evaluate("Math.max(...[...document.querySelectorAll('body *')].map("
                         "e => e.getBoundingClientRect().bottom))") <= WALL[1]
    assert page.locator("#board-bar").bounding_box()["height"] < 2 * SMALLEST_TEXT_PX * 1.5   # one line


def test_a_wall_with_every_alert_still_fits_and_marks_a_closed_and_a_silent_site_in_their_rows(hq_served, page_at):
    # Over capacity, unsafe in the disaster, a shelter closed with people in it, and a silent kiosk: four lines
    # of alerts above the rows, which still fit the screen.
    import datetime as dt
    from hq_dashboard.enrollment import enroll_kiosk
    from hq_dashboard.models import Kiosk, Shelter
    sites = _open_sites(hq_served, 91)
    closed, silent = sites[21], sites[41]   # (both with people: see _open_sites)
    with hq_served.app_context():
        db.session.get(Shelter, closed).opened = False   # its staff closed it (the tablet's 閉鎖)
        enroll_kiosk(db.session, silent)
        db.session.query(Kiosk).update({"enrolled_at": dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)})
        db.session.commit()
        names = {s: db.session.get(Shelter, s).name for s in (closed, silent)}
        db.session.remove()
    page = _a_wall(hq_served, page_at, "hq-wall", viewport=WALL)
    _refreshed(page)
    assert page.locator("#alerts li").count() == 4
    rows = page.locator("tr[data-site]").evaluate_all("rows => rows.map(r => r.dataset.site)")
    assert rows.index(closed) < 10, rows     # after the full ones, before the rest
    assert page.locator(f'tr[data-site="{closed}"] .closed-mark').inner_text() == "閉鎖"
    if silent in rows:
        mark = page.locator(f'tr[data-site="{silent}"] .silent-mark')
        assert mark.is_visible() and mark.inner_text() == "受信なし"
        assert mark.get_attribute("title") == "10分以上 受信なし"
    assert names[silent] in page.locator("#alert-silent").inner_text()
    _fits(page)
    for alert in page.locator("#alerts li").all():
        assert alert.bounding_box()["height"] < 2 * SMALLEST_TEXT_PX * 1.5
    screenshot(page, "hq-wall-display-every-alert")


def _cut(page, selector: str) -> list[str]:
    """The cells (or marks) under `selector` whose text does not fit them (an ellipsis, or hidden)."""
    return page.locator(selector).evaluate_all(
        "cells => cells.filter(c => c.scrollWidth > c.clientWidth).map(c => c.textContent)")


def test_a_silent_site_closed_with_people_shows_both_closed_and_no_data_in_full(hq_served, page_at):
    """Kiosks gone quiet (a network down) must not hide which sites are closed with people, full or unsafe:
    受信なし is a mark of its own beside the name, and the status cell keeps its word (review H1)."""
    import datetime as dt
    from hq_dashboard.enrollment import enroll_kiosk
    from hq_dashboard.models import Kiosk, Shelter
    sites = _open_sites(hq_served, 91)   # three columns: the narrowest cells
    quiet = sites[21:31]
    closed = quiet[0]
    with hq_served.app_context():
        db.session.get(Shelter, closed).opened = False   # its staff closed it, people still counted in it
        for site in quiet:
            enroll_kiosk(db.session, site)
        db.session.query(Kiosk).update({"enrolled_at": dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)})
        db.session.commit()
        db.session.remove()
    page = _a_wall(hq_served, page_at, "hq-wall", viewport=WALL)
    _refreshed(page)
    row = page.locator(f'tr[data-site="{closed}"]')
    assert row.locator(".closed-mark").inner_text() == "閉鎖"
    assert row.locator(".silent-mark").inner_text() == "受信なし"
    assert row.locator(".silent-mark").is_visible() and row.locator(".closed-mark").is_visible()
    silent_rows = page.locator("tr.silent")
    assert silent_rows.count() >= 5
    # Nothing in a silent row's status cell, nor its mark, is cut short.
    assert _cut(page, "tr.silent td.status") == []
    assert _cut(page, "tr.silent .silent-mark") == []
    assert _cut(page, "td.status") == []
    _fits(page)
    screenshot(page, "hq-wall-display-silent-and-closed")


def test_the_dashboards_in_transit_total_wraps_on_a_phone(tmp_path, page_at):
    """(The staff dashboard, beside the wall's board.)  移動中 with those in transit for long (「（うち 2 時間以上
    N 人）」) is wider than a 390px phone: it wraps instead of running off the page (review, low)."""
    from hq_dashboard.enrollment import enroll_kiosk
    from hq_dashboard.staff import add_staff
    from tests.wire import KioskStream, person
    with hq_over_http(tmp_path, TRANSIT_ALERT_HOURS=1.5) as app:
        with app.app_context():
            add_staff(db.session, "desk1", "correct horse battery", "desk")
            token = enroll_kiosk(db.session, "H031")
            db.session.remove()
        kiosk = KioskStream("kiosk-phone", shelter_id="H031")
        for i in range(1000):   # four figures, as in a real disaster
            moving = person(f"焼津 {i}", birth=f"19{40 + i // 300 % 60:02d}-{1 + i // 28 % 12:02d}-{1 + i % 28:02d}")
            kiosk.checkin(moving)
            kiosk.add("transfer", moving, {"to_shelter_id": "H052"})   # (2025: long ago)
        for first in range(0, len(kiosk.events), 250):   # in batches, as a kiosk sends them
            sent = urllib.request.Request(f"{app.url}/api/v1/sync", json.dumps(
                {"device_id": "kiosk-phone", "events": kiosk.events[first:first + 250]}).encode(),
                {"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
            with urllib.request.urlopen(sent, timeout=60) as answer:
                assert answer.status == 200
        page = page_at(app.url, viewport=(390, 844))
        page.goto("/staff/login?next=/dashboard")
        page.fill("#username", "desk1")
        page.fill("#password", "correct horse battery")
        with page.expect_navigation():
            page.click("button[type=submit]")
        assert page.locator("#total-in-transit").inner_text() == "1000"
        assert page.locator("#transit-long").is_visible()
        past = page.locator("#totals div").evaluate_all(
            "cells => cells.filter(c => c.getBoundingClientRect().right > window.innerWidth"
            " || c.scrollWidth > c.clientWidth).map(c => c.textContent)")
        assert past == []
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        screenshot(page, "hq-dashboard-390-in-transit")


@pytest.mark.parametrize("screen", [(1366, 768), (1600, 900)])
def test_a_smaller_wall_screen_keeps_the_names_readable_and_does_not_scroll(hq_served, page_at, screen):
    """A wall that is a 1366x768 or 1600x900 screen: the board is the 1920x1080 one, its type scaled down,
    not its names cut to one character and the page scrolling (review M3)."""
    _open_sites(hq_served, 91)   # three full columns: the narrowest names
    page = _a_wall(hq_served, page_at, "hq-wall", viewport=screen)
    _refreshed(page)
    assert page.evaluate("document.documentElement.scrollHeight") <= screen[1]
    assert page.evaluate("document.documentElement.scrollWidth") <= screen[0]
    assert page.evaluate("Math.max(...[...document.querySelectorAll('body *')].map("
                         "e => e.getBoundingClientRect().bottom))") <= screen[1]
    # Every name cell holds at least six characters of its own type.
    narrow = page.locator("td.name").evaluate_all(
        "cells => cells.filter(c => c.clientWidth < 6 * parseFloat(getComputedStyle(c).fontSize))"
        ".map(c => c.textContent)")
    assert narrow == []
    screenshot(page, f"hq-wall-display-{screen[0]}x{screen[1]}")
