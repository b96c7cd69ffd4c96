"""The hand registration card in a real browser (Debian's Chromium): each household member's 要配慮
boxes lie in a row with their labels beside them, as the main person's do; and no kiosk page asks
for a /favicon.ico the kiosk does not have (a 404 and a console error on every load)."""
from __future__ import annotations

import pytest

from tests.staff_browser import PASSWORD, staff_kiosk  # noqa: F401 (fixtures)

pytestmark = pytest.mark.slow


def boxes_and_labels(page, list_id: str) -> list[tuple[dict, dict]]:
    items = page.locator(f"ul#{list_id} li")
    return [(items.nth(i).locator("input").bounding_box(), items.nth(i).locator("label").bounding_box())
            for i in range(items.count())]


def test_member_needs_lie_in_a_row_like_the_main_persons(chromium, staff_kiosk):
    kiosk = staff_kiosk()
    page = kiosk.page(chromium)
    errors: list[str] = []
    page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
    page.goto(kiosk.url + "/staff/")
    page.fill("#name", "sato")
    page.fill("#password", PASSWORD)
    page.click("button.primary")
    page.goto(kiosk.url + "/staff/register")
    kiosk.screenshot(page, "register-member-needs")
    page.locator("#members-0-needs").screenshot(path=str(kiosk_artifact("register-member-needs-row")))

    main, member = boxes_and_labels(page, "needs"), boxes_and_labels(page, "members-0-needs")
    assert len(member) == len(main) == 10
    for box, label in member:   # each label beside its box, not under it
        assert label["x"] >= box["x"] + box["width"] and abs((label["y"] + label["height"] / 2)
                                                              - (box["y"] + box["height"] / 2)) < box["height"]
    rows = {round(box["y"]) for box, _ in member}
    assert len(rows) <= 3, f"the member's ten boxes wrap onto a few rows, not one each: {sorted(rows)}"
    assert {round(b["y"]) for b, _ in member[:2]} == {round(member[0][0]["y"])}, "two boxes share a row"
    # The same look as the main person's: bullets off, the same box-to-box spacing.
    assert page.eval_on_selector("ul#members-0-needs", "e => getComputedStyle(e).listStyleType") == "none"
    assert (member[1][0]["x"] - member[0][0]["x"]) == pytest.approx(main[1][0]["x"] - main[0][0]["x"], abs=1)
    row = page.locator(".member").first.bounding_box()
    assert row["height"] < 400, f"a member row is {row['height']} px tall (a box per line made ~750 px)"

    # Chromium asks for /favicon.ico after a page loads (playwright's request events do not show it; the
    # kiosk's access log and the console do).
    for url in ("/staff/register", "/staff/roster/print", "/status", "/", "/staff/"):
        page.goto(kiosk.url + url)
    assert "/favicon.ico" not in kiosk.server.log_path.read_text()
    assert not [e for e in errors if "404" in e], errors


def kiosk_artifact(name: str):
    from tests.staff_browser import ARTIFACTS
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / f"{name}.png"
