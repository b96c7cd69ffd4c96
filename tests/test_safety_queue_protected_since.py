"""An inquiry waiting for staff about someone protected after it came (a lead marked them never-disclose
later) is shown as one about a protected person: the warning, no "one person matches", no record."""
from __future__ import annotations

from tests.test_safety_review_fixes import Kiosk, ask, check, decide, log_in

HANA = {"name": "藤枝 花", "birth_date": "1988-08-08", "sex": "female", "address": "焼津市大住3"}


def test_the_queue_warns_of_a_protection_given_after_the_inquiry_came(hq_app, hq_client, enroll):
    kiosk = Kiosk(hq_client, enroll("H031"), "dev-a")
    kiosk.send(("checkin", HANA, {"stay_type": "in_shelter"}))
    log_in(hq_app, hq_client)
    asked = ask(hq_client, HANA["name"], HANA["birth_date"], "household_family", address=HANA["address"]).get_json()
    mine = hq_client.get("/staff/inquiries").get_data(as_text=True).split(f'id="inquiry-{asked["inquiry_id"]}"')[1]
    assert "一人に一致" in mine and 'data-testid="matched-record"' in mine and 'data-testid="flagged"' not in mine

    kiosk.send(("consent", HANA, {"consent": "none", "never_disclose": True}))
    mine = hq_client.get("/staff/inquiries").get_data(as_text=True).split(f'id="inquiry-{asked["inquiry_id"]}"')[1]
    assert 'data-testid="flagged"' in mine and "一人に一致" not in mine
    assert 'data-testid="matched-record"' not in mine and HANA["address"] not in mine.split("探している人")[0]
    assert "「情報なし」と同じ回答" in mine
    assert decide(hq_client, asked["inquiry_id"]).status_code == 302
    assert check(hq_client, asked)["information_exists"] is False
