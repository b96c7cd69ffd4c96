"""HQ's map as officers read it (review with real kiosks and Chromium): a shelter its staff closed with
people still in it, the 指定避難所 under its 津波避難ビル twin, the first view, a colour-blind-safe legend, and
how old each site's numbers are."""
from __future__ import annotations

import datetime as dt
import itertools
import math
import re
import time

import pytest

from hq_dashboard.db import db
from hq_dashboard.models import Kiosk
from tests.browser import browser_page, chromium, hq_over_http  # noqa: F401  (fixtures)
from tests.wire import KioskStream, person


def sync(client, token, stream):
    r = client.post("/api/v1/sync", json={"device_id": stream.device_id, "events": stream.events},
                    headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.get_json()


def sites(client) -> dict[str, dict]:
    return {f["properties"]["id"]: f["properties"] for f in client.get("/api/v1/shelters").get_json()["features"]}


def people_at(shelter_id: str, n: int, *, then: str | None = None, device: str | None = None) -> KioskStream:
    k = KioskStream(device or f"kiosk-{shelter_id.lower()}", shelter_id=shelter_id,
                    start_ms=int(time.time() * 1000) - 60_000)
    for i in range(n):
        k.checkin(person(f"焼津 {shelter_id}{i}", birth=f"19{50 + i}-01-0{1 + i % 9}"))
    if then:
        k.add("shelter_status", None, {"status": then})
    return k


def enroll_in(app, shelter_id: str) -> str:
    from hq_dashboard.enrollment import enroll_kiosk
    with app.app_context():
        return enroll_kiosk(db.session, shelter_id)


# --- H1: closed by its staff is not "never opened", and not "room" ----------------------------------

def test_a_shelter_its_staff_closed_with_people_in_it_says_closed_not_unopened(hq_app, hq_client, enroll):
    from hq_dashboard.site_words import STATUS_LABELS
    from hq_dashboard.situation import PALETTE
    sync(hq_client, enroll("H031"), people_at("H031", 3, then="closed"))
    s = sites(hq_client)
    h031, h003 = s["H031"], s["H003"]
    assert h031["status"] == "closed" and STATUS_LABELS["closed"] == "閉鎖"
    assert h031["closed_with_people"] == 3
    # Not the "has room" look (it was green <50%), and its own look, listed in the legend with a symbol.
    assert h031["marker"]["look"] == "closed_people" and h031["marker"]["fillColor"] == PALETTE["closed_people"]
    assert h031["marker"]["fillColor"] not in (PALETTE["low"], PALETTE["half"], PALETTE["empty"])
    assert h031["marker"]["symbol"] == "閉" and h031["marker"]["color"] == "#000000"
    # Never opened: its own word.
    assert h003["status"] == "not_opened" and STATUS_LABELS["not_opened"] == "未開設"
    assert h003["closed_with_people"] == 0 and h003["marker"]["look"] == "empty"
    # HQ's tables say it as the tablet does (the words are one list: site_words).
    from hq_dashboard.dashboard import site_status
    assert site_status("closed") == "閉鎖" and site_status("not_opened") == "未開設"
    # The dashboard's helper reads it from the picture.
    with hq_app.test_request_context():
        from hq_dashboard.situation import site_views
        by_id = {v.shelter.id: v for v in site_views()}
        assert by_id["H031"].closed_with_people == 3 and by_id["H003"].closed_with_people == 0


def test_a_shelter_closed_and_empty_is_closed_and_grey_and_reopens_when_its_staff_open_it(hq_client, enroll):
    from hq_dashboard.situation import PALETTE
    token = enroll("H032")
    k = people_at("H032", 0, then="closed", device="kiosk-h032")
    sync(hq_client, token, k)
    h032 = sites(hq_client)["H032"]
    assert h032["status"] == "closed" and h032["closed_with_people"] == 0
    assert h032["marker"]["fillColor"] == PALETTE["empty"] and h032["marker"]["symbol"] is None
    # A check-in leaves it closed, with someone in it (test_hq_closed_stays_closed); its staff re-open it.
    k.checkin(person("焼津 再開"))
    sync(hq_client, token, k)
    assert (sites(hq_client)["H032"]["status"], sites(hq_client)["H032"]["marker"]["symbol"]) == ("closed", "閉")
    k.add("shelter_status", None, {"status": "open"})
    sync(hq_client, token, k)
    assert sites(hq_client)["H032"]["status"] == "open"


# --- M1: a colour-blind-safe palette, every look in the legend -------------------------------------

_MACHADO = {"deuteranopia": [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413],
                             [-0.011820, 0.042940, 0.968881]],
            "protanopia": [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216],
                           [-0.003882, -0.048116, 1.051998]]}


def _lab(hex_colour: str, matrix=None) -> tuple[float, float, float]:
    def lin(c):
        c /= 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
    rgb = [lin(int(hex_colour[i:i + 2], 16)) for i in (1, 3, 5)]
    if matrix:
        rgb = [min(max(sum(matrix[i][j] * rgb[j] for j in range(3)), 0), 1) for i in range(3)]
    r, g, b = rgb
    x, y, z = ((0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047, 0.2126 * r + 0.7152 * g + 0.0722 * b,
               (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883)
    f = lambda t: t ** (1 / 3) if t > 0.008856 else 7.787 * t + 16 / 116  # noqa: E731
    return 116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))


def test_the_marker_palette_is_colour_blind_safe_and_full_is_not_colour_alone():
    from hq_dashboard.situation import MARKER_SYMBOLS, PALETTE
    okabe_ito = {"#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000"}
    assert {c for look, c in PALETTE.items() if look != "empty"} <= okabe_ito
    # The occupancy scale and its neighbours stay apart for deuteranopes and protanopes (the old green <50%
    # and red 満員 were ΔE 7.3 apart under deuteranopia).
    scale = ["low", "half", "most", "full", "no_capacity", "closed_people"]
    for name, matrix in _MACHADO.items():
        for a, b in itertools.combinations(scale, 2):
            gap = math.dist(_lab(PALETTE[a], matrix), _lab(PALETTE[b], matrix))
            assert gap > 15, (name, a, b, round(gap, 1))
    # Full and closed-with-people say it with a symbol too.
    assert MARKER_SYMBOLS == {"full": "満", "closed_people": "閉"}


def test_the_legend_lists_every_look_a_marker_has(hq_app, hq_client, enroll):
    from hq_dashboard.situation import MARKER_SYMBOLS, PALETTE
    sync(hq_client, enroll("H031"), people_at("H031", 2, then="closed"))        # closed, people in it
    sync(hq_client, enroll("H032"), people_at("H032", 1))                         # under half
    sync(hq_client, enroll("H033"), people_at("H033", 1, then="full"))           # full
    sync(hq_client, enroll("E001"), people_at("E001", 1))                         # no capacity estimate
    page = hq_client.get("/map").get_data(as_text=True)
    assert page.startswith("<!DOCTYPE html>\n<html lang=\"ja\">")
    bar = page[page.index('<div id="evac-bar">'):page.index('<div id="evac-credits">')]
    listed = dict(re.findall(r'<span data-look="(\w+)"><i class="look-\w+" style="background:(#\w+)"></i>', bar))
    assert listed == PALETTE
    for look, sym in MARKER_SYMBOLS.items():
        assert re.search(rf'<span data-look="{look}">[^\n]*<b class="evac-symbol">{sym}</b>', bar), look
    assert 'data-look="unsuitable"' in bar and 'data-look="at_risk"' in bar
    used = {p["marker"]["look"] for p in sites(hq_client).values()}
    assert {"closed_people", "low", "full", "no_capacity", "empty"} <= used <= set(listed)
    assert {p["marker"]["fillColor"] for p in sites(hq_client).values()} <= set(PALETTE.values())


# --- M2: how old each site's numbers are ------------------------------------------------------------

def test_each_site_says_when_its_numbers_were_last_heard_from_its_kiosks(hq_app, hq_client, enroll):
    sync(hq_client, enroll("H031"), people_at("H031", 1))
    s = sites(hq_client)
    assert s["H001"]["last_heard_at"] is None and s["H001"]["heard_silent"] is False   # no kiosk there
    heard = dt.datetime.fromisoformat(s["H031"]["last_heard_at"])
    assert heard.utcoffset() is not None                                          # ISO 8601 with its offset
    assert abs((dt.datetime.now(dt.timezone.utc) - heard).total_seconds()) < 600
    assert s["H031"]["heard_silent"] is False
    # A second kiosk there that went quiet long ago: the site's numbers are from its latest kiosk, but some
    # of them may be old, as the wall and the dashboard say (one rule for the three).
    enroll("H031")
    with hq_app.app_context():
        silent = hq_app.config["KIOSK_SILENT_ALERT_S"]
        kiosks = db.session.query(Kiosk).filter_by(shelter_id="H031").order_by(Kiosk.enrolled_at).all()
        long_ago = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=silent + 120)
        kiosks[-1].last_sync_at = long_ago - dt.timedelta(hours=1)
        first_id, quiet_id = kiosks[0].id, kiosks[-1].id
        db.session.commit()
    h031 = sites(hq_client)["H031"]
    assert dt.datetime.fromisoformat(h031["last_heard_at"]) == heard and h031["heard_silent"] is True
    with hq_app.app_context():
        from hq_dashboard.dashboard import kiosk_rows, silent_sites
        with hq_app.test_request_context():
            assert "H031" in silent_sites(kiosk_rows())
    # Retired (its database replaced), it counts no more; a kiosk checking people in at another site than
    # it was enrolled at counts there.
    with hq_app.app_context():
        db.session.get(Kiosk, quiet_id).retired_at = dt.datetime.now(dt.timezone.utc)
        db.session.get(Kiosk, first_id).checks_in_at = "H044"
        db.session.commit()
    s = sites(hq_client)
    assert s["H031"]["last_heard_at"] is None and s["H031"]["heard_silent"] is False
    assert dt.datetime.fromisoformat(s["H044"]["last_heard_at"]) == heard and s["H044"]["heard_silent"] is False
    with hq_app.app_context():
        db.session.get(Kiosk, first_id).checks_in_at = "H031"
        db.session.commit()
    # Every kiosk there quiet past the dashboard's silence alert: marked stale.
    with hq_app.app_context():
        for k in db.session.query(Kiosk).filter_by(shelter_id="H031"):
            k.last_sync_at = long_ago
        db.session.commit()
    h031 = sites(hq_client)["H031"]
    assert dt.datetime.fromisoformat(h031["last_heard_at"]) == long_ago and h031["heard_silent"] is True


# --- in Chromium -------------------------------------------------------------------------------------

MAP_NAME = "Object.keys(window).find(k => k.startsWith('map_'))"


def _open_map(browser, url, size, **context):
    ctx = browser.new_context(viewport={"width": size[0], "height": size[1]}, **context)
    page = ctx.new_page()
    page.console_errors = []
    page.on("pageerror", lambda exc: page.console_errors.append(str(exc)))
    page.goto(f"{url}/map")
    page.wait_for_function("window.evacState !== undefined", timeout=30_000)
    page.evaluate(f"void (window.theMap = window[{MAP_NAME}])")
    return ctx, page


@pytest.mark.slow
@pytest.mark.parametrize("size", [(1366, 768), (768, 1024)])
def test_the_first_view_shows_every_site_clear_of_the_controls(chromium, tmp_path, size):
    with hq_over_http(tmp_path) as hq:
        ctx, page = _open_map(chromium, hq.url, size)
        try:
            page.wait_for_timeout(300)   # the bar's fonts and the ResizeObserver's refit
            r = page.evaluate("""(() => {
              const map = window.theMap, box = e => e.getBoundingClientRect();
              const ctl = box(document.querySelector('.leaflet-control-layers'));
              const credits = box(document.getElementById('evac-credits'));
              const c = box(map.getContainer()), out = [], under = [];
              for (const [id, m] of Object.entries(window.evacState.markers)) {
                const pt = map.latLngToContainerPoint(m.getLatLng()), x = pt.x + c.left, y = pt.y + c.top;
                if (!map.getBounds().contains(m.getLatLng()) || y < c.top || y > c.bottom) out.push(id);
                else for (const b of [ctl, credits])
                  if (x >= b.left && x <= b.right && y >= b.top && y <= b.bottom) { under.push(id); break; }
              }
              return {out, under, n: Object.keys(window.evacState.markers).length,
                      folded: !document.querySelector('.leaflet-control-layers')
                                .classList.contains('leaflet-control-layers-expanded')};
            })()""")
            assert r["n"] == 212
            assert r["out"] == [] and r["under"] == [], r
            # The layer list folds on a narrow screen (a tablet upright), and stays open on a desk's.
            assert r["folded"] is (size[0] <= 900)
            if r["folded"]:   # and opens from its button (a pointer over it, or a tap)
                b = page.locator(".leaflet-control-layers-toggle").bounding_box()
                page.mouse.move(b["x"] + b["width"] / 2, b["y"] + b["height"] / 2)
                page.wait_for_selector(".leaflet-control-layers-expanded")
            # Metres only.
            scales = page.locator(".leaflet-control-scale-line").all_inner_texts()
            assert len(scales) == 1 and re.fullmatch(r"\d+ k?m", scales[0].strip()), scales
            assert page.evaluate("document.documentElement.lang") == "ja"
            assert page.console_errors == []
        finally:
            ctx.close()


@pytest.mark.slow
def test_the_shelter_is_on_top_of_its_tsunami_building_twin_and_its_popup_lists_both(chromium, tmp_path):
    with hq_over_http(tmp_path) as hq:
        client = hq.test_client()
        with hq.app_context():
            from hq_dashboard.models import Shelter
            h, t = db.session.get(Shelter, "H001"), db.session.get(Shelter, "T002")
            assert (h.lat, h.lon) == (t.lat, t.lon)          # one building, two sites
        sync(client, enroll_in(hq, "T002"), people_at("T002", 2))   # the tsunami building has people
        sync(client, enroll_in(hq, "H001"), people_at("H001", 1))   # and so has the shelter
        ctx, page = _open_map(chromium, hq.url, (1024, 768))
        try:
            page.evaluate("void theMap.setView(evacState.markers['H001'].getLatLng(), 17, {animate: false})")
            order = page.evaluate("""(() => {
                const seen = []; const rd = evacState.markers['H001']._renderer;
                for (let o = rd._drawFirst; o; o = o.next) seen.push(o.layer.feature && o.layer.feature.properties.id);
                return seen; })()""")
            assert order.index("H001") > order.index("T002"), "the 指定避難所 is drawn under its twin"
            x, y = page.evaluate("""(() => { const p = theMap.latLngToContainerPoint(evacState.markers['H001'].getLatLng());
                const r = theMap.getContainer().getBoundingClientRect(); return [p.x + r.left, p.y + r.top]; })()""")
            page.mouse.click(x, y)
            popup = page.locator(".leaflet-popup .evac-popup")
            popup.wait_for()
            assert popup.get_attribute("data-site") == "H001"
            text = popup.inner_text()
            assert "二区コミュニティ防災センター" in text and "同じ地点の施設" in text
            same = page.locator(".leaflet-popup .same-point li[data-site='T002']").inner_text()
            assert "T002" in same and "2 / —" in same
            assert "T002" in page.evaluate("evacState.markers['H001'].getTooltip().getContent()")
        finally:
            ctx.close()


@pytest.mark.slow
def test_an_empty_shelter_does_not_hide_its_twin_with_people(chromium, tmp_path):
    """A 指定避難所 never opened drew its grey circle over the 津波避難ビル at its door with 200 people in it."""
    with hq_over_http(tmp_path) as hq:
        sync(hq.test_client(), enroll_in(hq, "T002"), people_at("T002", 2))
        ctx, page = _open_map(chromium, hq.url, (1024, 768))
        try:
            order = page.evaluate("""(() => {
                const seen = []; const rd = evacState.markers['H001']._renderer;
                for (let o = rd._drawFirst; o; o = o.next) seen.push(o.layer.feature && o.layer.feature.properties.id);
                return seen; })()""")
            assert order.index("T002") > order.index("H001"), "the empty 指定避難所 is drawn over its twin with people"
        finally:
            ctx.close()


@pytest.mark.slow
def test_the_popup_says_closed_with_its_people_how_old_its_numbers_are_and_truncates(chromium, tmp_path):
    with hq_over_http(tmp_path, KIOSK_SILENT_ALERT_S=600) as hq:
        client = hq.test_client()
        sync(client, enroll_in(hq, "H031"), people_at("H031", 3, then="closed"))
        sync(client, enroll_in(hq, "H032"), people_at("H032", 1))
        sync(client, enroll_in(hq, "H033"), people_at("H033", 1))
        sync(client, enroll_in(hq, "H034"), people_at("H034", 1))
        now = dt.datetime.now(dt.timezone.utc)
        with hq.app_context():
            for site, ago in (("H032", dt.timedelta(minutes=25)), ("H033", dt.timedelta(hours=3, minutes=5)),
                              ("H034", dt.timedelta(days=2, hours=1))):
                db.session.query(Kiosk).filter_by(shelter_id=site).one().last_sync_at = now - ago
            db.session.commit()
        ctx, page = _open_map(chromium, hq.url, (1366, 768))
        try:
            m = "evacState.markers['H031']"
            assert page.evaluate(f"{m}.evacSymbol && {m}.evacSymbol.getElement().textContent") == "閉"
            page.evaluate(f"{m}.openPopup() && true")
            text = page.locator(".evac-popup[data-site='H031']").inner_text()
            assert "指定避難所 · H031 · 閉鎖（まだ 3 人）\n" in text
            assert re.search(r"\d{2}:\d{2} JST 時点（[01] 分前）", text), text
            page.evaluate("evacState.markers['H032'].openPopup() && true")
            heard = page.locator(".evac-popup[data-site='H032'] .heard")
            assert "stale" in heard.get_attribute("class")
            assert re.search(r"\d{2}:\d{2} JST 時点（2[56] 分前）", heard.inner_text()), heard.inner_text()
            # hours past the hour, and days with the date: "3060 分前" read as today
            page.evaluate("evacState.markers['H033'].openPopup() && true")
            # (with its date when three hours ago was yesterday in Yaizu: between midnight and 3 a.m. JST)
            jst = dt.timezone(dt.timedelta(hours=9))
            earlier = (now - dt.timedelta(hours=3, minutes=5)).astimezone(jst)
            day = "" if earlier.date() == now.astimezone(jst).date() else f"{earlier.month}/{earlier.day} "
            assert re.search(rf"^{re.escape(day)}\d{{2}}:\d{{2}} JST 時点（3 時間 [45] 分前）",
                             page.locator(".evac-popup[data-site='H033'] .heard").inner_text())
            page.evaluate("evacState.markers['H034'].openPopup() && true")
            two_days = (now - dt.timedelta(days=2, hours=1)).astimezone(dt.timezone(dt.timedelta(hours=9)))
            assert page.locator(".evac-popup[data-site='H034'] .heard").inner_text().startswith(
                f"{two_days.month}/{two_days.day} {two_days:%H:%M} JST 時点（2 日前）")
            page.evaluate("evacState.markers['H001'].openPopup() && true")
            assert "端末からの同期なし" in page.locator(".evac-popup[data-site='H001'] .heard").inner_text()
            # 466 of 467 is not yet 100 %, as the dashboard says it.
            html = page.evaluate("""evacMap.popup({id: 'X1', name: 'x', kind: 'shelter', status: 'open', capacity: 467,
                occupancy: 466, at_home: 0, in_car: 0, suitability: 'suitable', hazard_areas: [], needs: null,
                hazards: [], notes: [], overflow: [], credit: '', last_heard_at: null}, '')""")
            assert "466 / 467 (99%)" in html
        finally:
            ctx.close()


@pytest.mark.slow
def test_hq_out_of_reach_says_since_when_in_japanese_without_the_browsers_error(chromium, tmp_path):
    with hq_over_http(tmp_path, MAP_REFRESH_SECONDS=0.5) as hq:
        ctx, page = _open_map(chromium, hq.url, (1024, 768), locale="en-US", timezone_id="America/New_York")
    try:   # HQ has stopped under the open map
        page.wait_for_function("document.getElementById('evac-updated').className === 'stale'", timeout=30_000)
        shown = page.locator("#evac-updated").inner_text()
        assert re.fullmatch(r"\d{2}:\d{2} JST から更新されていません（本部につながりません）", shown), shown
    finally:
        ctx.close()


@pytest.mark.slow
def test_hq_answering_with_an_error_says_so_not_that_it_cannot_be_reached(chromium, tmp_path):
    from sqlalchemy import text
    with hq_over_http(tmp_path, MAP_REFRESH_SECONDS=0.5) as hq:
        ctx, page = _open_map(chromium, hq.url, (1024, 768))
        try:
            with hq.app_context():   # HQ's database loses a table under it: /api/v1/shelters answers 500
                db.session.execute(text("ALTER TABLE kiosks RENAME TO kiosks_gone"))
                db.session.commit()
            page.wait_for_function("document.getElementById('evac-updated').className === 'stale'", timeout=30_000)
            shown = page.locator("#evac-updated").inner_text()
            assert re.fullmatch(r"\d{2}:\d{2} JST から更新されていません（本部のエラー）", shown), shown
        finally:
            ctx.close()
