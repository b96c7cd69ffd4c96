"""HQ staff in Chromium choose which of two matching records an inquiry is about and release it: the queue
then shows it decided, the audit log (page and database) names the chosen record, and the family's own
answer page shows only that record's tier information.  Real HQ app in a werkzeug server thread on a
real SQLite file; the session's one browser (tests.browser)."""
from __future__ import annotations

import json

import pytest

from hq_dashboard.db import db
from tests.browser import hq_over_http, page_at, screenshot  # noqa: F401  (fixtures)
from tests.test_safety_release_choice import CARD, record_ids, released_audit, two_records
from tests.test_safety_review_fixes import ask

pytestmark = pytest.mark.slow

STAFF, PASSWORD = "reviewer1", "correct horse battery"


@pytest.fixture
def hq_served(tmp_path):
    """HQ over real HTTP (a werkzeug server thread) with its app, to seed and to read the database."""
    with hq_over_http(tmp_path) as app:
        yield app


def test_staff_choose_one_of_two_records_in_the_browser_and_release_it(hq_served, page_at):
    app, client = hq_served, hq_served.test_client()

    def enroll(shelter_id):
        from hq_dashboard.enrollment import enroll_kiosk
        with app.app_context():
            return enroll_kiosk(db.session, shelter_id)
    two_records(client, enroll)          # 駿河 太郎 twice: injured at H031 (card's address), at H001 (typed)
    ids = record_ids(app)
    with app.app_context():
        from hq_dashboard.staff import add_staff
        add_staff(db.session, STAFF, PASSWORD, "lead")
    asked = ask(client, CARD["name"], CARD["birth_date"], "relative").get_json()
    ref = asked["inquiry_id"]
    assert asked["status"] == "pending_review"

    page = page_at(app.url)
    page.goto("/staff/login?next=/staff/inquiries")
    page.fill("#username", STAFF)
    page.fill("#password", PASSWORD)
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert page.url == f"{app.url}/staff/inquiries"
    inquiry = page.locator(f"#inquiry-{ref}")
    records = inquiry.locator("[data-testid=several-records] input[type=radio]")
    # The two records and "none of these"; no choice made for staff.
    assert records.count() == 3 and not any(records.nth(i).is_checked() for i in range(3))
    assert inquiry.locator(f"#record-{ref}-none").count() == 1
    # The inquirer said on the phone: 焼津市小川 (the card's address).  Staff choose that row and release.
    inquiry.locator("tr", has_text=CARD["address"]).locator("input[type=radio]").check()
    assert inquiry.locator(f"#record-{ref}-{ids['card']}").is_checked()
    assert not inquiry.locator(f"#record-{ref}-{ids['typed']}").is_checked()
    page.select_option(f"#how-{ref}", "call_back")
    page.fill(f"#note-{ref}", "折り返し電話で住所を確認")
    with page.expect_navigation():
        inquiry.get_by_role("button", name="本人確認済み・回答する / Confirmed: release").click()
    screenshot(page, "hq-release-choice-after")
    assert page.url == f"{app.url}/staff/inquiries"
    assert page.get_by_text(f"{ref}: 回答しました / released").is_visible()
    assert page.locator(f"#inquiry-{ref}").count() == 0
    assert page.get_by_text("確認待ちの照会はありません / No inquiries are waiting.").is_visible()

    # What was audited: the chosen record among the two, the relative's tier, by whom (in which role) and
    # how confirmed.
    entry = released_audit(app, ref)
    detail = json.loads(entry.detail)
    assert entry.actor == STAFF
    assert detail == {"chosen_record": ids["card"], "record": ids["card"], "matching_records": sorted(ids.values()),
                      "how_confirmed": "照会者の電話番号へ折り返して確認: 折り返し電話で住所を確認", "role": "lead",
                      "shown": ["information_exists", "injury_or_illness"]}
    page.goto(f"/staff/audit?q={ref}")
    row = page.locator("tr", has_text="released")
    assert row.count() == 1 and STAFF in row.inner_text() and f'"chosen_record": {ids["card"]}' in row.inner_text()

    # The family's page: the chosen record's injury, and nothing of the relative's tier beyond it.
    page.goto(f"/safety/check?id={ref}&key={asked['access_key']}&lang=en")
    answer = page.locator(".answer").inner_text()
    assert "City staff confirmed your inquiry" in answer and "Injury or illness: Injured" in answer
    assert "Whereabouts" not in answer and "二区コミュニティ防災センター" not in answer
