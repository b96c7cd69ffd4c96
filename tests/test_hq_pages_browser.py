"""HQ's / and /dashboard in Chromium at a desk (1280 px) and on a phone (390 px): nothing runs off the
side of the page, the arrivals chart is all on screen with its peak label clear of every bar, and a
long name or kind stays on one line (its table scrolls sideways in its box instead)."""
from __future__ import annotations

import json
import time
import urllib.request

import pytest

from tests.browser import page_at, screenshot  # noqa: F401  (fixtures)
from tests.conftest import run_evac
from tests.wire import KioskStream, person

pytestmark = pytest.mark.slow

STAFF, PASSWORD = "hq-watch", "correct horse battery"


def sync(hq, shelter_id: str, people: int) -> None:
    token = run_evac("hq", "enroll-kiosk", "--db", hq.db_url, "--shelter", shelter_id).stdout.strip()
    now = int(time.time() * 1000)
    k = KioskStream(f"kiosk-{shelter_id}", shelter_id=shelter_id, start_ms=now - people * 1000)
    for i in range(people):   # all in this hour: the tallest bar is the last, right under the label
        p = person(f"焼津 {i}", birth=f"19{50 + i % 40}-01-0{1 + i % 9}")
        k.checkin(p, at_ms=now - (people - i) * 1000)
        if i % 7 == 0:
            k.add("needs", p, {"needs": ["infant", "dialysis", "elderly", "pets"]})
    body = json.dumps({"device_id": k.device_id, "events": k.events}).encode()
    request = urllib.request.Request(f"{hq.url}/api/v1/sync", body, {"Authorization": f"Bearer {token}",
                                                                       "Content-Type": "application/json"})
    assert urllib.request.urlopen(request).status == 200


def overflowing(page) -> list[str]:
    """Elements whose right edge is past the window's (what makes a phone's page scroll sideways)."""
    return page.evaluate("""[...document.querySelectorAll('body *')]
        .filter(e => !e.closest('.scroll') && e.getBoundingClientRect().right > innerWidth + 0.5)
        .map(e => e.tagName + ' ' + (e.id || e.textContent.slice(0, 30)))""")


def lines(cell) -> int:
    """How many lines a cell's text is laid out on."""
    return cell.evaluate("""td => { const r = document.createRange(); r.selectNodeContents(td);
        return new Set([...r.getClientRects()].map(x => Math.round(x.top))).size; }""")


def test_hq_pages_fit_a_desk_and_a_phone(hq_server, page_at):
    hq = hq_server()
    assert run_evac("hq", "add-staff", "--db", hq.db_url, "--username", STAFF, input=PASSWORD + "\n").returncode == 0
    sync(hq, "H001", 60)    # 二区コミュニティ防災センター: a long name
    for width in (1280, 390):
        page = page_at(hq.url, viewport=(width, 844))
        page.goto("/staff/login?next=/dashboard")
        page.fill("#username", STAFF)
        page.fill("#password", PASSWORD)
        with page.expect_navigation():
            page.click("button[type=submit]")
        assert page.url == f"{hq.url}/dashboard"
        screenshot(page, f"hq-dashboard-{width}")
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        assert overflowing(page) == []
        chart = page.locator("svg.arrivals")
        box = chart.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width
        label = page.locator("svg.arrivals text", has_text="人/時").bounding_box()
        bars = [page.locator("svg.arrivals rect").nth(i).bounding_box() for i in range(24)]
        tallest = min((b for b in bars if b["height"] > 0), key=lambda b: b["y"])
        assert tallest["x"] + tallest["width"] > label["x"]         # the tallest bar is under the label's column
        assert label["y"] + label["height"] <= tallest["y"]         # and the label ends above it
        # A name stays on one line; the table scrolls sideways in its box.
        name = page.locator("#shelters tr[data-site=H001] td").nth(1)
        assert name.inner_text() == "二区コミュニティ防災センター"
        assert lines(name) == 1
        assert page.locator("#shelters tr[data-site=H001] td").nth(2).inner_text() == "開設"

        page.goto("/")
        screenshot(page, f"hq-index-{width}")
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        assert overflowing(page) == []
        kind = page.locator("tr", has_text="E001").locator("td").nth(2)
        assert kind.inner_text() == "指定緊急避難場所" and lines(kind) == 1
