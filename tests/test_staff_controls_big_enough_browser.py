"""The tablet's form controls and the banner telling staff someone waits at the screen are big enough to tap
with a finger (44 px, as its links and the evacuee screen's targets are): the controls were 42 px tall and the
banner's link 25 px (found in review).  A real kiosk process, real Chromium."""
from __future__ import annotations

import pytest

from kiosk.store import KioskStore
from tests.staff_browser import staff_kiosk  # noqa: F401 (fixture)
from tests.staff_helpers import SHELTER, TARO
from tests.test_staff_browser import log_in

pytestmark = pytest.mark.slow


def seed(store: KioskStore) -> None:
    store.check_in(SHELTER, [TARO])
    store.call_staff("ja")   # someone waits at the screen


def test_the_tablets_controls_and_the_call_banner_are_big_enough_to_tap(chromium, staff_kiosk):  # noqa: F811
    kiosk = staff_kiosk(seed, SHELTER)
    page = kiosk.page(chromium)
    page.set_viewport_size({"width": 1280, "height": 800})
    log_in(page, kiosk.url, "sato")
    banner = page.locator("#staff-call-banner a")
    assert banner.count() == 1
    box = banner.bounding_box()
    assert box["height"] >= 44, box
    page.goto(kiosk.url + "/staff/register")
    controls = page.locator("main input:not([type=hidden]):not([type=checkbox]):not([type=radio]), main select, "
                            "main button")
    assert controls.count() >= 5
    for i in range(controls.count()):
        if controls.nth(i).is_visible():
            box = controls.nth(i).bounding_box()
            assert box["height"] >= 44, (controls.nth(i).get_attribute("name"), box)
