"""Leaflet's own controls on HQ's map (zoom buttons, the layer list's button, the popups' close button,
Leaflet's credit) say their titles and labels in the page's language, Japanese unless asked for another of
HQ's seven, not in Leaflet's English.  Real Chromium on HQ served over HTTP."""
from __future__ import annotations

import pytest

from tests.browser import hq_over_http, page_at, wait_js  # noqa: F401  (page_at: the fixture)

pytestmark = pytest.mark.slow

LEAFLETS_ENGLISH = ("Zoom in", "Zoom out", "Layers", "Close popup", "A JavaScript library for interactive maps")

LABELS = """(() => {
  const q = s => document.querySelector(s), both = e => e && [e.getAttribute('title'), e.getAttribute('aria-label'),
                                                              e.closest('[lang]').getAttribute('lang')];
  evacState.markers['H001'].openPopup();
  const said = Array.from(document.querySelectorAll('[title], [aria-label]'))
    .flatMap(e => [e.getAttribute('title'), e.getAttribute('aria-label')]);
  return {zoomIn: both(q('.leaflet-control-zoom-in')), zoomOut: both(q('.leaflet-control-zoom-out')),
          layers: both(q('.leaflet-control-layers-toggle')),
          list: q('.leaflet-control-layers-list').getAttribute('aria-label'),
          close: both(q('.leaflet-popup-close-button')).slice(1),
          leaflet: both(q('.leaflet-control-attribution a[href="https://leafletjs.com"]'))[0],
          said: said};
})()"""


def _labels(page, path: str) -> dict:
    page.goto(path)
    wait_js(page, "window.evacState !== undefined && document.querySelector('.leaflet-control-zoom-in') !== null")
    return page.evaluate(LABELS)


@pytest.mark.parametrize("viewport", [(1024, 1366), (390, 844)])   # a phone: the layer list folded into its button
def test_leaflets_controls_say_their_titles_in_the_pages_language(tmp_path, page_at, viewport):
    with hq_over_http(tmp_path) as hq:
        page = page_at(hq.url, viewport=viewport)
        # A browser asking for no language HQ has: Japanese, as the page is.
        page.set_extra_http_headers({"Accept-Language": "de-DE,de;q=0.9"})
        ja = _labels(page, "/map")
        assert ja["zoomIn"] == ["拡大", "拡大", "ja"] and ja["zoomOut"] == ["縮小", "縮小", "ja"]
        assert ja["layers"] == ["地図の表示切り替え", "地図の表示切り替え", "ja"] and ja["list"] == "地図の表示切り替え"
        assert ja["close"] == ["閉じる", "ja"]
        assert ja["leaflet"] == "地図を表示する JavaScript ライブラリ"
        assert not set(LEAFLETS_ENGLISH) & set(ja["said"]), ja["said"]
        page.set_extra_http_headers({"Accept-Language": "ja-JP,ja;q=0.9"})
        assert _labels(page, "/map")["zoomIn"] == ["拡大", "拡大", "ja"]
        # The browser's language, when it is one of HQ's: Portuguese (Brazil).
        page.set_extra_http_headers({"Accept-Language": "pt-BR,pt;q=0.9"})
        pt = _labels(page, "/map")
        assert pt["zoomIn"] == ["Aproximar", "Aproximar", "pt"] and pt["close"] == ["Fechar", "pt"]
        # One chosen as on HQ's other pages (?lang=, then remembered), over the browser's.
        vi = _labels(page, "/map?lang=vi")
        assert vi["zoomIn"] == ["Phóng to", "Phóng to", "vi"] and vi["layers"][::2] == ["Lớp bản đồ", "vi"]
        assert vi["close"] == ["Đóng", "vi"]
        assert _labels(page, "/map")["zoomOut"] == ["Thu nhỏ", "Thu nhỏ", "vi"]
        en = _labels(page, "/map?lang=en")
        assert en["zoomIn"] == ["Zoom in", "Zoom in", "en"] and en["layers"] == ["Layers", "Layers", "en"]
        # The buttons made again still zoom the map, and there is one of each.
        page.evaluate("void evacState.markers['H001'].closePopup()")
        before = page.evaluate("Object.values(window).find(v => v instanceof L.Map).getZoom()")
        page.click(".leaflet-control-zoom-in")
        wait_js(page, f"Object.values(window).find(v => v instanceof L.Map).getZoom() > {before}")
        assert page.locator(".leaflet-control-zoom").count() == 1
        assert page.locator(".leaflet-control-layers-toggle").count() == 1
