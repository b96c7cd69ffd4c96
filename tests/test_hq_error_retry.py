"""A screen that reloads itself (the dashboard left on a PC, the public occupancy table) must not stop on
HQ's error page: one failed reload while the database restarts would otherwise leave it there for good."""
from __future__ import annotations

from hq_dashboard.db import db
from tests.test_safety_review_fixes import log_in


def test_an_error_on_a_reloading_page_tries_again_and_one_a_person_asked_for_does_not(hq_app, hq_client):
    log_in(hq_app, hq_client)
    hq_app.config["PROPAGATE_EXCEPTIONS"] = False   # as when served: the failure becomes HQ's error page
    assert hq_client.get("/dashboard?auto=1").status_code == 200
    with hq_app.app_context():   # the database loses a table HQ reads on these pages
        with db.engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE shelters RENAME TO shelters_gone")
    try:
        for url in ("/dashboard?auto=1", "/"):
            page = hq_client.get(url)
            assert page.status_code == 500
            text = page.get_data(as_text=True)
            assert '<meta http-equiv="refresh" content="15">' in text and "自動で読み込み直します" in text, url
        asked = hq_client.get("/dashboard")   # a person at the PC: told, not reloaded under them
        assert asked.status_code == 500 and "http-equiv" not in asked.get_data(as_text=True)
    finally:
        with hq_app.app_context():
            with db.engine.begin() as conn:
                conn.exec_driver_sql("ALTER TABLE shelters_gone RENAME TO shelters")
    assert hq_client.get("/dashboard?auto=1").status_code == 200
