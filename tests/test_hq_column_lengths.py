"""Everything a validator lets through fits the column HQ keeps it in (PostgreSQL refuses what does not:
a kiosk's batch would then fail forever and a page would answer 500)."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from evac import pfif
from evac.events import FAMILY_CODE_LEN
from hq_dashboard.db import db
from hq_dashboard.models import Inquiry, Person, PfifRecord
from tests.test_pfif import OTHER_FINDER
from tests.wire import KioskStream, person

LONGEST_CODE = "sakura-no-hana-" + "x" * (FAMILY_CODE_LEN[1] - 15)
INQUIRER = {"name": "駿河 一郎", "address": "東京都港区1-1", "contact": "090-0000-0000"}


def csrf(client, path):
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


def test_the_longest_family_code_syncs_from_a_kiosk_and_from_the_self_report_page(hq_app, hq_client, enroll):
    assert len(LONGEST_CODE) == FAMILY_CODE_LEN[1] == 32
    token = enroll("H031")
    jiro = person("駿河 次郎", "1972-07-07", address="焼津市小川1")
    kiosk = KioskStream("dev-len", "H031")
    kiosk.checkin(jiro)
    kiosk.add("consent", jiro, {"consent": "family", "family_code": LONGEST_CODE})
    resp = hq_client.post("/api/v1/sync", json={"device_id": "dev-len", "events": kiosk.events},
                          headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200 and resp.get_json()["applied"] == 2, resp.get_json()
    answer = hq_client.post("/api/v1/safety/inquiries", json={
        "inquirer": INQUIRER, "relationship": "relative", "reason": "家族", "family_code": LONGEST_CODE,
        "sought": {"name": jiro["name"], "birth_date": jiro["birth_date"]}}).get_json()
    assert answer["status"] == "answered" and answer["whereabouts"]["shelter_id"] == "H031"

    form = {"name": "駿河 三郎", "birth_date": "1973-08-08", "sex": "male", "address": "焼津市小川1",
            "where": "at_home", "consent": "family", "family_code": LONGEST_CODE}
    page = hq_client.post("/safety/self-report", data={**form, "csrf_token": csrf(hq_client, "/safety/self-report")})
    assert page.status_code == 201, page.get_data(as_text=True)
    with hq_app.app_context():
        codes = set(db.session.execute(select(Person.family_code)).scalars())
    assert codes == {LONGEST_CODE}


def test_a_too_long_e_mail_address_is_refused_in_words_and_nothing_is_recorded(hq_app, hq_client):
    hq_app.config["SMTP_HOST"] = "127.0.0.1"   # an HQ that sends e-mail keeps the address (nothing is due here)
    email = "taro.yamada@mail." + "d" * 180 + ".example.co.jp"
    assert len(email) > 200
    resp = hq_client.post("/api/v1/safety/inquiries", json={
        "inquirer": INQUIRER, "relationship": "other", "reason": "r", "notify_email": email,
        "sought": {"name": "駿河 次郎", "birth_date": "1972-07-07"}})
    assert resp.status_code == 422, resp.get_data(as_text=True)
    assert "too long" in resp.get_json()["fields"]["notify_email"]
    fits = "taro@mail." + "d" * 170 + ".example.jp"
    assert len(fits) <= 200
    ok = hq_client.post("/api/v1/safety/inquiries", json={
        "inquirer": INQUIRER, "relationship": "other", "reason": "r", "notify_email": fits,
        "sought": {"name": "駿河 次郎", "birth_date": "1972-07-07"}})
    assert ok.status_code == 201, ok.get_data(as_text=True)
    with hq_app.app_context():
        assert list(db.session.execute(select(Inquiry.notify_email)).scalars()) == [fits]


def test_a_pfif_record_longer_than_hq_keeps_is_refused_whole_with_the_reason(hq_app):
    from hq_dashboard import pfif_exchange
    long_name = OTHER_FINDER.replace("大井川 太郎", "大" * 301).replace("{source_date}", "2026-11-25T02:00:00Z")
    with hq_app.app_context():
        with pytest.raises(pfif.InvalidPFIF, match="full_name> is longer than the 300 characters"):
            pfif_exchange.import_document(db.session, long_name.encode(), "yaizu.example.jp")
        assert db.session.scalar(select(func.count()).select_from(PfifRecord)) == 0
