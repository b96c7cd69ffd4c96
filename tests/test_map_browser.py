"""The HQ map in Chromium: all layers load, a check-in synced from a kiosk restyles its marker without
a reload, and every request stays on HQ's origin."""
from __future__ import annotations

import pytest

from tests.browser import browser_page, chromium  # noqa: F401  (fixtures)
from hq_dashboard.situation import PALETTE
from tests.conftest import run_evac

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _hq_warms_its_map_up(monkeypatch):
    """These HQs read the map's layers at their start, as HQ does unless told not to (conftest tells the rest)."""
    monkeypatch.setenv("EVAC_MAP_WARM_UP", "1")


def test_map_loads_offline_and_a_kiosk_checkin_restyles_its_marker_live(hq_server, browser_page, tmp_path,
                                                                        monkeypatch):
    monkeypatch.setenv("EVAC_MAP_REFRESH_SECONDS", "0.5")
    hq = hq_server()
    # A site name that, written raw into the page's script, would stop the whole map.
    import sqlite3
    with sqlite3.connect(hq.db_url.removeprefix("sqlite:///")) as conn:
        conn.execute("UPDATE shelters SET name = name || '<!--<script>' WHERE id = 'E031'")
    page = browser_page
    page.goto(f"{hq.url}/map")
    page.wait_for_function("window.evacState && document.body.dataset.evacRefreshes >= 1", timeout=30_000)

    overlays = page.locator(".leaflet-control-layers-overlays label").all_inner_texts()
    bases = page.locator(".leaflet-control-layers-base label").all_inner_texts()
    assert [b.strip() for b in bases] == ["市域（オフライン地図）"]
    names = " | ".join(o.strip() for o in overlays)
    for name in ("小学校区", "自主防災会", "自治会", "内水浸水想定区域", "浸水履歴", "指定: 津波 (151)",
                 "指定避難所 (56)", "指定緊急避難場所 (31)", "津波避難ビル等 (125)"):
        assert name in names
    assert page.evaluate("Object.keys(evacState.markers).length") == 212
    assert page.evaluate("evacState.markers['E031'].evacSite.name").endswith("<!--<script>")
    assert page.locator("#evac-credits").inner_text().startswith("出典：焼津市オープンデータ")
    h001 = "evacState.markers['H001']"
    assert page.evaluate(f"{h001}.options.fillColor") == PALETTE["empty"]    # never opened, empty
    page.evaluate("window.sameDocument = true")

    # A check-in at the kiosk, synced to HQ over HTTP by the kiosk's own command.
    token = run_evac("hq", "enroll-kiosk", "--db", hq.db_url, "--shelter", "H001").stdout.strip()
    kiosk_db = str(tmp_path / "kiosk.sqlite3")
    checkin = run_evac("kiosk", "checkin", "--new", "--db", kiosk_db, "--shelter", "H001", "--name", "焼津 花子",
                       "--birth", "1980-02-02", "--sex", "female", "--address", "焼津市本町1-1")
    assert checkin.returncode == 0, checkin.stderr
    sync = run_evac("kiosk", "sync", "--db", kiosk_db, "--hq", hq.url, "--token", token)
    assert sync.returncode == 0, sync.stderr

    page.wait_for_function(f"{h001}.options.fillColor === '{PALETTE['low']}'", timeout=30_000)
    # Painted, not only set (Leaflet's circle markers are hollow unless filled): the canvas pixel at the
    # marker's centre is sky blue (under half full).
    r, g, b = page.evaluate(f"""(() => {{
        const m = {h001}, rd = m._renderer, p = m._point.subtract(rd._bounds.min), d = window.devicePixelRatio || 1;
        return Array.from(rd._ctx.getImageData(Math.round(p.x * d), Math.round(p.y * d), 1, 1).data).slice(0, 3);
    }})()""")
    assert b > r + 40 and g > r + 40, (r, g, b)
    # Drawn after every closed, empty site (a school is often a shelter and a tsunami building at one spot).
    assert page.evaluate(f"""(() => {{
        const order = new Map();
        let i = 0;
        for (let o = {h001}._renderer._drawFirst; o; o = o.next) order.set(o.layer, i++);
        return Object.values(evacState.markers)
            .filter(m => m.evacSite.status === 'not_opened' && m.evacSite.occupancy === 0)
            .every(m => order.get(m) < order.get({h001}));
    }})()""") is True
    assert page.evaluate("window.sameDocument") is True                  # no reload happened
    assert "1 / 135" in page.evaluate(f"{h001}.getTooltip().getContent()")
    page.evaluate(f"{h001}.openPopup() && true")
    popup = page.locator(".evac-popup[data-site='H001']")
    assert "二区コミュニティ防災センター" in popup.inner_text() and "1 / 135" in popup.inner_text()
    # Its kind and status in HQ's words, which the page had from HQ (site_words), not from map.js.
    from hq_dashboard.site_words import KIND_LABELS, STATUS_LABELS
    assert f"{KIND_LABELS['shelter']} · H001 · {STATUS_LABELS['open']}" in popup.inner_text()

    # HQ staff (logged in: a visitor cannot) choose the disaster on the page: 津波避難ビル are no
    # place to go in a 風水害.
    assert page.evaluate("evacState.markers['T001'].options.dashArray") in (None, "")
    added = run_evac("hq", "add-staff", "--db", hq.db_url, "--username", "hq-watch", input="correct horse battery\n")
    assert added.returncode == 0, added.stderr
    # A visitor reads the disaster and logs in from the map's bar, back to the map (never a 405 page).
    assert page.locator("select[name=disaster]").count() == 0
    assert page.locator("#evac-disaster").inner_text() == "発生中の災害: （未選択）"
    with page.expect_navigation():
        page.click("#evac-login")
    page.fill("#username", "hq-watch")
    page.fill("#password", "correct horse battery")
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert page.url == f"{hq.url}/map"
    page.wait_for_function("window.evacState && document.body.dataset.evacRefreshes >= 1", timeout=30_000)
    assert page.locator("#evac-login").count() == 0
    # It changes every site's suitability for the whole city: asked first, and a slip cancelled stays a slip.
    asked = []
    page.evaluate("window.sameDocument = true")
    page.once("dialog", lambda d: (asked.append(d.message), d.dismiss()))
    page.select_option("select[name=disaster]", "storm_flood")
    assert "「風水害」に変えます" in asked[0]
    assert page.locator("select[name=disaster]").input_value() == "" and page.evaluate("window.sameDocument")
    page.once("dialog", lambda d: d.accept())
    with page.expect_navigation():
        page.select_option("select[name=disaster]", "storm_flood")
    page.wait_for_function("window.evacState && evacState.markers['T001'].options.dashArray === '3 3'")
    assert page.evaluate("evacState.markers['H001'].options.dashArray") in (None, "")
    assert page.locator("select[name=disaster] option:checked").inner_text() == "風水害"
    assert page.locator("#evac-disaster-by").inner_text().startswith("（hq-watch、")   # who chose it, and when
    with sqlite3.connect(hq.db_url.removeprefix("sqlite:///")) as conn:
        assert conn.execute("SELECT actor, detail FROM audit_log WHERE action = 'disaster_chosen'").fetchall() == [
            ("hq-watch", '{"before": "", "disaster": "storm_flood"}')]
        # Another desk changes it: the bar follows, as the markers do (it said 風水害 over landslide rings).
        conn.execute("UPDATE hq_meta SET value = 'landslide' WHERE name = 'disaster'")
    page.wait_for_function("document.querySelector('select[name=disaster]').value === 'landslide'", timeout=30_000)
    assert page.locator("#evac-disaster-by").inner_text() == "（他の端末で変更されました）"
    visitor_context = page.context.browser.new_context()
    visitor = visitor_context.new_page()
    visitor.goto(f"{hq.url}/map")
    visitor.wait_for_function("window.evacState && document.body.dataset.evacRefreshes >= 1", timeout=30_000)
    assert visitor.locator("#evac-disaster").inner_text().startswith("発生中の災害: 土砂災害")
    assert visitor.locator("#evac-disaster-by").count() == 0   # who chose it: for staff only
    with sqlite3.connect(hq.db_url.removeprefix("sqlite:///")) as conn:
        conn.execute("UPDATE hq_meta SET value = 'tsunami' WHERE name = 'disaster'")
    visitor.wait_for_function("document.querySelector('#evac-disaster strong').textContent === '津波'",
                              timeout=30_000)
    visitor_context.close()

    assert page.requests and all(url.startswith(hq.url + "/") for url in page.requests), page.requests
    assert page.console_errors == []


def test_online_tiles_that_fail_fall_back_to_the_citys_outline(hq_server, browser_page, monkeypatch):
    # Tiles "online" at an address on HQ that has none: what a cut line looks like, without leaving HQ.
    monkeypatch.setenv("EVAC_MAP_TILES_URL", "/tiles-unreachable/{z}/{x}/{y}.png")
    monkeypatch.setenv("EVAC_MAP_TILES_ATTRIBUTION", "tiles of nowhere")
    hq = hq_server()
    page = browser_page
    page.goto(f"{hq.url}/map")
    page.wait_for_function("window.evacState && evacState.tilesFailed === true", timeout=30_000)
    checked = page.locator(".leaflet-control-layers-base input:checked + span").inner_text()
    assert checked.strip() == "市域（オフライン地図）"
    assert any("/tiles-unreachable/" in url for url in page.requests)
    assert all(url.startswith(hq.url + "/") for url in page.requests), page.requests


def test_the_maps_time_is_japans_whatever_the_browsers_zone(hq_server, chromium):
    """An aid worker's laptop set to New York in English showed "更新 3:30:41 AM" beside the dashboard's JST."""
    import re
    hq = hq_server()
    context = chromium.new_context(timezone_id="America/New_York", locale="en-US")
    try:
        page = context.new_page()
        page.goto(f"{hq.url}/map")
        page.wait_for_function("window.evacState", timeout=30_000)
        shown = page.locator("#evac-updated").inner_text()
        assert re.fullmatch(r"更新 \d{2}:\d{2}:\d{2} JST", shown), shown
        now_in_japan = page.evaluate("new Date().toLocaleString('en-GB', {timeZone: 'Asia/Tokyo', hourCycle: 'h23', "
                                     "hour: '2-digit'})")
        # Japan's hour (or the next, when the hour turned between the two readings)
        assert (int(now_in_japan[:2]) - int(shown.split()[1][:2])) % 24 in (0, 1), (shown, now_in_japan)
    finally:
        context.close()
