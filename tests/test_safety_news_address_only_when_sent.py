"""An HQ that sends no e-mail (no SMTP_HOST) keeps no inquirer's e-mail address for news it cannot send, and its
form, which offers no such field then, is never refused for one posted anyway (an error beside no field: found in
review).  An Individual Number is still refused wherever it is sent (番号法 §20).  A real HQ app and database."""
from __future__ import annotations

from sqlalchemy import select

from hq_dashboard.db import db
from hq_dashboard.models import Inquiry
from tests.test_safety_review_fixes import INQUIRER, csrf

SOUGHT = {"name": "駿河 次郎", "birth_date": "1961-06-06"}


def _kept(app) -> list[str]:
    with app.app_context():
        return list(db.session.execute(select(Inquiry.notify_email)).scalars())


def test_no_news_address_is_kept_when_hq_sends_no_mail(hq_app, hq_client):
    assert not hq_app.config.get("SMTP_HOST")
    body = {"inquirer": INQUIRER, "relationship": "relative", "reason": "安否確認", "sought": SOUGHT,
            "notify_email": "hana@example.jp"}
    made = hq_client.post("/api/v1/safety/inquiries", json=body)
    assert made.status_code == 201 and made.get_json()["email_news"] == "not available", made.get_json()
    assert _kept(hq_app) == [""]
    # A number is refused all the same, and nothing is kept.
    refused = hq_client.post("/api/v1/safety/inquiries", json={**body, "notify_email": "123456789018@example.jp"})
    assert refused.status_code == 422 and "Individual Number" in refused.get_json()["fields"]["notify_email"]
    assert _kept(hq_app) == [""]


def test_the_form_is_not_refused_for_a_news_address_it_does_not_offer(hq_app, hq_client):
    page = hq_client.post("/safety/", data={"csrf_token": csrf(hq_client, "/safety/"),
                                            "inquirer_name": INQUIRER["name"], "inquirer_address": INQUIRER["address"],
                                            "inquirer_contact": INQUIRER["contact"], "relationship": "relative",
                                            "reason": "安否確認", "sought_name": SOUGHT["name"],
                                            "sought_birth_date": SOUGHT["birth_date"],
                                            "notify_email": "hana at example"},
                          headers={"Accept-Language": "ja"})
    assert page.status_code in (200, 201, 303, 302), page.get_data(as_text=True)[:500]
    assert _kept(hq_app) == [""]
