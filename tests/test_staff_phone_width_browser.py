"""The staff pages fit a phone's width (375x667): nothing scrolls sideways, and the transfer's 移動
button is on the screen (kiosk review: the person page was 698 px wide, its destination <select>
as wide as the longest site name; the roster and the card page 385/386 px).  Real Chromium against
`evac kiosk serve`."""
from __future__ import annotations

import pytest

from evac.identity import person_key
from kiosk.store import KioskStore
from tests.browser import screenshot
from tests.staff_browser import staff_kiosk  # noqa: F401 (fixture)
from tests.staff_helpers import HANAKO, SHELTER, TARO
from tests.test_staff_browser import log_in

pytestmark = pytest.mark.slow

PHONE = {"width": 375, "height": 667}


def seed(store: KioskStore) -> None:
    store.check_in(SHELTER, [TARO, HANAKO])


def test_the_staff_pages_fit_a_phone(chromium, staff_kiosk):  # noqa: F811
    kiosk = staff_kiosk(seed, SHELTER)
    page = kiosk.page(chromium)
    page.set_viewport_size(PHONE)
    log_in(page, kiosk.url, "sato")
    person = f"/staff/person/{person_key(TARO.name, TARO.birth_date, TARO.address)}"
    for path in ("/staff/", "/staff/register", person):
        page.goto(kiosk.url + path)
        screenshot(page, f"staff-phone-{path.strip('/').replace('/', '-')[:20] or 'roster'}")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{path} scrolls sideways: {width} px wide"
        if path == "/staff/":   # everyday names fit: the roster's own box need not scroll either
            right = page.evaluate("document.querySelector('table.roster').getBoundingClientRect().right")
            assert right <= PHONE["width"], f"the roster table is {right} px wide"
    # The transfer's destinations are there (long names among them), and its button is on the screen.
    assert page.locator("#to_shelter option").count() > 2
    button = page.locator("button#transfer").bounding_box()
    assert button["x"] >= 0 and button["x"] + button["width"] <= PHONE["width"], button
    select = page.locator("#to_shelter").bounding_box()
    assert select["x"] + select["width"] <= PHONE["width"], select
