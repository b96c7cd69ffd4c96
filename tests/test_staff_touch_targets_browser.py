"""The tablet's links are big enough to tap with a finger (44 px, as the evacuee screen's targets are),
on a 1280x800 tablet and at the default portrait size, and a long name does not squeeze a row's
「詳細」 link into a sliver (kiosk review: menu and name links were 25 px tall, 詳細 became 18x50 px)."""
from __future__ import annotations

import pytest

from evac.events import Person
from kiosk.store import KioskStore
from tests.browser import screenshot
from tests.staff_browser import staff_kiosk  # noqa: F401 (fixture)
from tests.staff_helpers import HANAKO, SHELTER, TARO
from tests.test_staff_browser import log_in

pytestmark = pytest.mark.slow

LONG = Person("長" * 60 + " " + "名" * 39, "1970-01-01", "female", "焼津市本町1-1")


def seed(store: KioskStore) -> None:
    store.check_in(SHELTER, [TARO, HANAKO, LONG])


@pytest.mark.parametrize("size", [(1280, 800), (1024, 1366)])
def test_the_tablets_links_are_big_enough_to_tap(chromium, staff_kiosk, size):  # noqa: F811
    kiosk = staff_kiosk(seed, SHELTER)
    page = kiosk.page(chromium)
    page.set_viewport_size({"width": size[0], "height": size[1]})
    log_in(page, kiosk.url, "sato")
    screenshot(page, f"staff-roster-{size[0]}x{size[1]}")
    links = page.locator("header.top a, table.roster tbody a")
    assert links.count() >= 8
    for i in range(links.count()):
        box = links.nth(i).bounding_box()
        text = links.nth(i).inner_text()
        assert box["height"] >= 44 and box["width"] >= 44, (text[:20], box)
