"""Self-reports from a phone: safe at home, with relatives, in a car; the same person as at a kiosk."""
from __future__ import annotations

import re

from sqlalchemy import func, select

from evac.hlc import pack
from hq_dashboard.db import db
from hq_dashboard.models import EventRecord, SelfReportCount, Shelter


def csrf(client, path):
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


FORM = {"name": "焼津 花子", "name_kana": "やいづ はなこ", "birth_date": "1950-04-01", "sex": "female",
        "address": "静岡県焼津市本町5-9-1", "where": "at_home", "consent": "public", "family_code": ""}


def counts(app):
    with app.app_context():
        return dict(db.session.execute(select(SelfReportCount.place, SelfReportCount.count)).all())


def test_a_self_report_counts_answers_inquiries_and_becomes_a_check_in_later(hq_app, hq_client, enroll):
    resp = hq_client.post("/safety/self-report", data={**FORM, "csrf_token": csrf(hq_client, "/safety/self-report")})
    assert resp.status_code == 201 and "焼津 花子" in resp.get_data(as_text=True)
    assert counts(hq_app) == {"at_home": 1}
    assert "自宅 1" in hq_client.get("/").get_data(as_text=True)
    answer = hq_client.post("/api/v1/safety/inquiries", json={
        "inquirer": {"name": "焼津 一郎", "address": "東京都", "contact": "090"}, "relationship": "other",
        "reason": "友人として", "sought": {"name": "花子 焼津", "birth_date": "1950-04-01"}}).get_json()
    assert answer["status"] == "answered" and answer["whereabouts"]["state"] == "at_home"
    assert answer["whereabouts"]["self_reported"] and answer["whereabouts"]["shelter_name"] is None

    # Later she goes to a shelter and a kiosk checks her in, typed differently: one person, moved.
    token = enroll("H031")
    person = {"name": "焼津花子", "birth_date": "1950-04-01", "sex": "female", "address": "本町5-9-1"}
    sync = hq_client.post("/api/v1/sync", headers={"Authorization": f"Bearer {token}"}, json={
        "device_id": "dev-sr", "events": [{"kiosk_id": "dev-sr", "seq": 1, "hlc": pack(4_102_444_800_000),
                                           "type": "checkin", "shelter_id": "H031", "person": person,
                                           "data": {"stay_type": "in_shelter"}}]})
    assert sync.status_code == 200, sync.get_json()
    assert counts(hq_app) == {"at_home": 0}
    with hq_app.app_context():
        assert db.session.get(Shelter, "H031").occupancy == 1


def test_bad_self_reports_say_what_is_wrong_next_to_the_field_and_write_nothing(hq_app, hq_client):
    for field, value, words in (("sex", "", "sex"), ("where", "on_the_moon", "where you are"),
                                ("birth_date", "2999-01-01", "birth date"), ("name", "", "name"),
                                ("consent", "family", "family code")):
        form = {**FORM, field: value, "csrf_token": csrf(hq_client, "/safety/self-report")}
        # in English, to read the words; other languages: test_safety_page_languages
        page = hq_client.post("/safety/self-report?lang=en", data=form)
        html = page.get_data(as_text=True)
        expected_field = "consent" if field == "consent" else field
        assert page.status_code == 422 and f'id="{expected_field}-error"' in html and words in html, (field, html)
    with hq_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(EventRecord)) == 0
    assert counts(hq_app) == {}


def test_a_self_report_by_someone_else_neither_moves_nor_unmasks_a_checked_in_person(hq_app, hq_client, enroll):
    """The public page cannot tell who is reporting: a claim made there never takes someone off a
    shelter's roll, and the consent given with it never speaks for a kiosk's check-in."""
    from hq_dashboard import pfif_exchange
    token_a, token_b = enroll("H031"), enroll("H039")
    person = {"name": "焼津 花子", "birth_date": "1950-04-01", "sex": "female", "address": "静岡県焼津市本町5-9-1"}

    def kiosk(token, device, shelter, seq, etype="checkin"):
        resp = hq_client.post("/api/v1/sync", headers={"Authorization": f"Bearer {token}"}, json={
            "device_id": device, "events": [{"kiosk_id": device, "seq": seq, "hlc": pack(4_102_444_800_000 + seq),
                                             "type": etype, "shelter_id": shelter, "person": person,
                                             "data": {"stay_type": "in_shelter"} if etype == "checkin" else {}}]})
        assert resp.status_code == 200, resp.get_json()

    kiosk(token_a, "dev-a", "H031", 1)
    claim = {**FORM, "consent": "family", "family_code": "Attacker99", "where": "with_relatives"}
    assert hq_client.post("/safety/self-report",
                          data={**claim, "csrf_token": csrf(hq_client, "/safety/self-report")}).status_code == 201
    with hq_app.app_context():
        assert db.session.get(Shelter, "H031").occupancy == 1       # still on H031's roll
    kiosk(token_a, "dev-a", "H031", 2, "checkout")
    kiosk(token_b, "dev-b", "H039", 1)                            # no consent given at this check-in
    ask = {"inquirer": {"name": "誰か", "address": "東京都", "contact": "090"}, "relationship": "other",
           "reason": "r", "sought": {"name": person["name"], "birth_date": person["birth_date"]},
           "family_code": "Attacker99"}
    answer = hq_client.post("/api/v1/safety/inquiries", json=ask).get_json()
    assert answer["pending_review"] and answer["whereabouts"] is None and answer["contact"] is None
    with hq_app.app_context():
        _, count = pfif_exchange.export(db.session, "yaizu.example.jp")
    assert count == 0
