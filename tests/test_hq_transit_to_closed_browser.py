"""People on their way to a shelter its staff closed (閉鎖), in Chromium, with HQ served over real HTTP (a
SQLite file) and kiosks syncing to it: the dashboard's table, refreshing itself in place, gains the closed
shelter's row with how many are on their way (the page never reloaded); the map's popup of that shelter says
it is closed and how many are on their way, in Japanese then the reader's language, and follows as its
markers are polled.  No one is named."""
from __future__ import annotations

import json
import time
import urllib.request

import pytest

from evac.hlc import pack
from hq_dashboard.db import db
from tests.browser import hq_over_http, page_at, screenshot, wait_js  # noqa: F401  (fixtures)
from tests.test_hq_dashboard_refresh_browser import PASSWORD, STAFF, _log_in, _refreshed

pytestmark = pytest.mark.slow

PEOPLE = [{"name": f"焼津 {n}", "birth_date": f"19{50 + i}-04-01", "sex": "female", "address": "静岡県焼津市本町5-9-1"}
          for i, n in enumerate(("一", "二", "三"))]


@pytest.fixture
def hq_served(tmp_path):
    with hq_over_http(tmp_path, DASHBOARD_REFRESH_SECONDS=1, MAP_REFRESH_SECONDS=1) as app:
        from hq_dashboard.enrollment import enroll_kiosk
        from hq_dashboard.staff import add_staff
        with app.app_context():
            add_staff(db.session, STAFF, PASSWORD, "desk")
            app.tokens = {site: enroll_kiosk(db.session, site) for site in ("H031", "H052")}
            db.session.remove()
        app.sent = {}
        yield app


def _sync(app, site: str, *events) -> None:
    """A kiosk at `site` sends these (type, person, data) to HQ over HTTP, after what it sent before."""
    device = f"dev-{site}"
    batch = []
    for etype, who, data in events:
        seq = app.sent[site] = app.sent.get(site, 0) + 1
        # Sent on a minute ago (the long-transit alert's hours are far off): the row is there at once.
        batch.append({"kiosk_id": device, "shelter_id": site, "seq": seq,
                      "hlc": pack(int(time.time() * 1000) - 60_000 + seq), "type": etype, "person": who,
                      "data": data})
    sent = urllib.request.Request(f"{app.url}/api/v1/sync", json.dumps({"device_id": device, "events": batch}).encode(),
                                  {"Authorization": f"Bearer {app.tokens[site]}", "Content-Type": "application/json"})
    with urllib.request.urlopen(sent, timeout=30) as answer:
        assert answer.status == 200


def _sent_on_to_closed_h052(app, people) -> None:
    _sync(app, "H031", *[("checkin", p, {"stay_type": "in_shelter"}) for p in people],
          *[("transfer", p, {"to_shelter_id": "H052"}) for p in people])


def test_the_dashboards_refresh_brings_the_row_of_a_closed_shelter_people_are_on_their_way_to(hq_served, page_at):
    page = page_at(hq_served.url)
    _log_in(page, hq_served.url)
    page.evaluate("window.markedByTest = true")
    _refreshed(page)
    assert page.locator('#shelters tr[data-site="H052"]').count() == 0

    # H052's staff close it; H031 sends two people on to it: closed and empty, yet the row comes, in place.
    _sync(hq_served, "H052", ("shelter_status", None, {"status": "open"}), ("shelter_status", None, {"status": "closed"}))
    _sent_on_to_closed_h052(hq_served, PEOPLE[:2])
    wait_js(page, "!!document.querySelector('#shelters tr[data-site=\"H052\"] .transit-closed')")
    row = page.locator('#shelters tr[data-site="H052"]')
    assert row.locator("td").nth(2).inner_text() == "閉鎖\n閉鎖済みのこの避難所へ 2 人が移動中"
    assert row.locator(".transit-closed").is_visible()
    assert page.evaluate("window.markedByTest === true")            # refreshed in place, never reloaded
    # It stays through the refreshes after, and follows: a third on the way.
    _sent_on_to_closed_h052(hq_served, PEOPLE[2:])
    wait_js(page, "document.querySelector('#shelters tr[data-site=\"H052\"] .transit-closed')"
                  "?.dataset.inTransitToClosed === '3'")
    _refreshed(page, 2)
    assert row.locator(".transit-closed").inner_text() == "閉鎖済みのこの避難所へ 3 人が移動中"
    assert not any(p["name"] in page.locator("#dashboard-part").inner_text() for p in PEOPLE)
    screenshot(page, "hq-dashboard-transit-to-closed")


def _popup(page, site: str):
    page.evaluate(f"evacState.markers['{site}'].openPopup() && true")
    return page.locator(f".evac-popup[data-site='{site}']")


def test_the_map_popup_of_a_closed_shelter_says_how_many_are_on_their_way_in_the_readers_language(hq_served,
                                                                                                   page_at):
    _sync(hq_served, "H052", ("shelter_status", None, {"status": "open"}), ("shelter_status", None, {"status": "closed"}))
    _sent_on_to_closed_h052(hq_served, PEOPLE[:2])
    page = page_at(hq_served.url)          # a visitor's map: counts, as its occupancy, no one named
    page.goto("/map")
    page.wait_for_function("window.evacState && document.body.dataset.evacRefreshes >= 1", timeout=30_000)
    said = _popup(page, "H052").locator(".transit-closed")
    assert said.inner_text() == ("この避難所は閉鎖されています。ここへ移動中の人: 2 人 / "
                                 "This shelter is closed. People on their way to it: 2")
    assert said.locator('[lang="en"]').inner_text() == "/ This shelter is closed. People on their way to it: 2"
    # The open site they left says nothing of it.
    assert _popup(page, "H031").locator(".transit-closed").count() == 0
    # A third sent on: the popup follows as the markers are polled (the page is not reloaded).
    page.evaluate("window.sameDocument = true")
    _sent_on_to_closed_h052(hq_served, PEOPLE[2:])
    page.wait_for_function("evacState.markers['H052'].evacSite.in_transit_to_closed === 3", timeout=30_000)
    assert _popup(page, "H052").locator(".transit-closed").inner_text().startswith(
        "この避難所は閉鎖されています。ここへ移動中の人: 3 人")
    assert page.evaluate("window.sameDocument") is True
    assert not any(p["name"] in page.content() for p in PEOPLE)
    screenshot(page, "hq-map-transit-to-closed")

    # In Portuguese for a reader who chose it, after the Japanese.
    page.goto("/map?lang=pt")
    page.wait_for_function("window.evacState && document.body.dataset.evacRefreshes >= 1", timeout=30_000)
    said = _popup(page, "H052").locator(".transit-closed")
    assert said.locator('[lang="pt"]').inner_text() == "/ Este abrigo está fechado. Pessoas a caminho dele: 3"
    assert said.inner_text().startswith("この避難所は閉鎖されています。ここへ移動中の人: 3 人")


def test_a_closed_empty_shelter_people_are_on_their_way_to_is_marked_closed_and_its_twin_says_so(hq_served,
                                                                                                  page_at):
    """Its marker was the grey of a site that needs nobody, drawn under the 津波避難ビル at its door, whose
    popup's list of the sites at its point said only 閉鎖."""
    from hq_dashboard.enrollment import enroll_kiosk
    with hq_served.app_context():
        hq_served.tokens["T032"] = enroll_kiosk(db.session, "T032")   # 焼津中学校's tsunami building, one point
        db.session.remove()
    _sync(hq_served, "H031", ("shelter_status", None, {"status": "open"}), ("shelter_status", None, {"status": "closed"}))
    _sync(hq_served, "H052", *[("checkin", p, {"stay_type": "in_shelter"}) for p in PEOPLE[:2]],
          *[("transfer", p, {"to_shelter_id": "H031"}) for p in PEOPLE[:2]])
    _sync(hq_served, "T032", ("checkin", PEOPLE[2], {"stay_type": "in_shelter"}))
    page = page_at(hq_served.url)
    page.goto("/map")
    page.wait_for_function("window.evacState && document.body.dataset.evacRefreshes >= 1", timeout=30_000)
    m = "evacState.markers['H031']"
    assert page.evaluate(f"{m}.evacSite.marker.look") == "closed_people"
    assert page.evaluate(f"{m}.evacSymbol && {m}.evacSymbol.getElement().textContent") == "閉"
    # On top of its twin with one person in it: the site someone must act on takes the click.
    order = page.evaluate(f"""(() => {{
        const seen = []; for (let o = {m}._renderer._drawFirst; o; o = o.next) seen.push(o.layer.evacSite && o.layer.evacSite.id);
        return seen; }})()""")
    assert order.index("H031") > order.index("T032")
    same = _popup(page, "T032").locator(".same-point li[data-site='H031']")
    assert same.inner_text() == "指定避難所 · H031 · 焼津中学校 · 閉鎖（移動中 2 人） · 0 / " + str(
        page.evaluate(f"{m}.evacSite.capacity")) + " (0%)"
    assert not any(p["name"] in page.content() for p in PEOPLE[:2])
