"""Safety inquiries at HQ: tiers, consent, family code, never-disclose, review queue, audit, rate limits.

People reach HQ through the real sync API; inquiries through the real JSON API and pages."""
from __future__ import annotations

import re

import pytest

from evac.hlc import pack
from hq_dashboard.db import db
from hq_dashboard.models import AuditEntry, Inquiry

HANAKO = {"name": "髙橋 花子", "birth_date": "1950-04-01", "sex": "female", "address": "静岡県焼津市本町5-9-1",
          "name_kana": "タカハシ ハナコ"}
JIRO = {"name": "駿河 次郎", "birth_date": "1972-07-07", "sex": "male", "address": "焼津市小川1"}
SATO = {"name": "佐藤 光", "birth_date": "1985-01-01", "sex": "other", "address": "焼津市大住1"}
INQUIRER = {"name": "高橋 一郎", "address": "東京都港区1-1", "contact": "090-0000-0000"}


@pytest.fixture
def hq(hq_app, hq_client, enroll):
    """HQ holding three evacuees at 焼津中学校 (H031), sent by a kiosk through the sync API."""
    token = enroll("H031")
    events = []

    def add(etype, person, data):
        events.append({"kiosk_id": "dev-safety", "seq": len(events) + 1, "hlc": pack(1_764_000_000_000 + len(events)),
                       "type": etype, "shelter_id": "H031", "person": person, "data": data})
    for person in (HANAKO, JIRO, SATO):
        add("checkin", person, {"stay_type": "in_shelter"})
    add("status", HANAKO, {"status": "injured"})
    add("consent", JIRO, {"consent": "family", "family_code": "Sakura2024"})
    add("consent", SATO, {"consent": "public", "never_disclose": True})
    resp = hq_client.post("/api/v1/sync", json={"device_id": "dev-safety", "events": events},
                          headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200, resp.get_json()
    return hq_client


def ask(client, sought, relationship="household_family", code="", addr="10.0.0.1"):
    body = {"inquirer": INQUIRER, "relationship": relationship, "reason": "家族の安否確認",
            "sought": {"name": sought["name"], "birth_date": sought["birth_date"]}, "family_code": code}
    return client.post("/api/v1/safety/inquiries", json=body, environ_base={"REMOTE_ADDR": addr})


def csrf(client, path):
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


@pytest.fixture
def staff(hq_app, hq):
    from hq_dashboard.staff import add_staff
    with hq_app.app_context():
        add_staff(db.session, "reviewer1", "correct horse battery", "lead")
    form = {"csrf_token": csrf(hq, "/staff/login"), "username": "reviewer1", "password": "correct horse battery"}
    assert hq.post("/staff/login", data=form).status_code == 302
    return hq


def decide(client, inquiry_id, decision, note):
    return client.post(f"/staff/inquiries/{inquiry_id}/{decision}",
                       data={"csrf_token": csrf(client, "/staff/inquiries"), "how": "other", "note": note})


UNANSWERED = {"information_exists": None, "whereabouts": None, "injury_or_illness": None, "contact": None,
              "pending_review": True}


def test_family_without_consent_waits_then_gets_the_full_tier_after_review(staff):
    first = ask(staff, {**HANAKO, "name": "花子 高橋"})   # either order, 高 for 髙
    assert first.status_code == 201
    answer = first.get_json()
    assert {k: answer[k] for k in UNANSWERED} == UNANSWERED and answer["status"] == "pending_review"
    ref, key = answer["inquiry_id"], answer["access_key"]
    queue = staff.get("/staff/inquiries").get_data(as_text=True)
    assert ref in queue and "花子 高橋" in queue
    assert 'data-testid="self-consent"' not in queue, "her consent (none) came from a kiosk"
    assert decide(staff, ref, "release", "").status_code == 422       # how the inquirer was confirmed
    assert decide(staff, ref, "release", "折り返し電話で本人確認").status_code == 302
    released = staff.get(f"/api/v1/safety/inquiries/{ref}?key={key}").get_json()
    assert released["status"] == "released" and released["information_exists"] is True
    assert released["whereabouts"]["shelter_id"] == "H031" and released["whereabouts"]["state"] == "in_shelter"
    assert released["injury_or_illness"] == "injured"
    assert staff.get(f"/api/v1/safety/inquiries/{ref}?key=wrong").status_code == 404
    assert f'id="inquiry-{ref}"' not in staff.get("/staff/inquiries").get_data(as_text=True)


@pytest.mark.parametrize("relationship,whereabouts,injury", [("relative", False, True), ("workplace", False, True),
                                                              ("other", False, False)])
def test_other_tiers_after_review(staff, relationship, whereabouts, injury):
    answer = ask(staff, HANAKO, relationship).get_json()
    decide(staff, answer["inquiry_id"], "release", "窓口で身分証確認")
    released = staff.get(f"/api/v1/safety/inquiries/{answer['inquiry_id']}?key={answer['access_key']}").get_json()
    assert released["information_exists"] is True
    assert (released["whereabouts"] is not None) == whereabouts
    assert (released["injury_or_illness"] is not None) == injury
    assert released["contact"] is None


def test_the_family_code_answers_at_once(hq):
    right = ask(hq, JIRO, "other", code="sakura2024").get_json()
    assert right["status"] == "answered" and not right["pending_review"]
    assert right["whereabouts"]["shelter_name"] and right["information_exists"] is True
    wrong = ask(hq, JIRO, "other", code="sakura2025").get_json()
    assert {k: wrong[k] for k in UNANSWERED} == UNANSWERED


def test_never_disclose_looks_exactly_like_someone_unknown_and_is_flagged(staff, hq_app):
    hidden = ask(staff, SATO, "household_family").get_json()
    unknown = ask(staff, {**SATO, "name": "佐藤 誰"}, "household_family").get_json()
    strip = lambda a: {k: v for k, v in a.items() if k not in ("inquiry_id", "access_key")}  # noqa: E731
    assert strip(hidden) == strip(unknown)
    with hq_app.app_context():
        rows = {r.id: r for r in db.session.query(Inquiry)}
    assert rows[hidden["inquiry_id"]].flagged and not rows[unknown["inquiry_id"]].flagged
    queue = staff.get("/staff/inquiries").get_data(as_text=True)
    block = lambda ref: re.search(rf'<fieldset id="inquiry-{ref}".*?</fieldset>', queue, re.S).group(0)  # noqa: E731
    assert "never-disclose" in block(hidden["inquiry_id"]) and "never-disclose" not in block(unknown["inquiry_id"])
    for answer in (hidden, unknown):
        decide(staff, answer["inquiry_id"], "release", "身分証確認")
    released = [strip(staff.get(f"/api/v1/safety/inquiries/{a['inquiry_id']}?key={a['access_key']}").get_json())
                for a in (hidden, unknown)]
    assert released[0] == released[1] and released[0]["information_exists"] is False


def test_every_inquiry_and_answer_is_in_the_audit_log(staff, hq_app):
    answer = ask(staff, HANAKO, "relative").get_json()
    decide(staff, answer["inquiry_id"], "reject", "折り返し電話がつながらない")
    assert f'{answer["inquiry_id"]}: 断りました / refused' in staff.get("/staff/inquiries").get_data(as_text=True)
    with hq_app.app_context():
        actions = [(e.actor, e.action) for e in db.session.query(AuditEntry).filter_by(
            inquiry_id=answer["inquiry_id"]).order_by(AuditEntry.id)]
    assert actions == [("inquirer", "received"), ("system", "pending_review"), ("reviewer1", "rejected")]
    page = staff.get("/staff/audit?q=高橋 一郎").get_data(as_text=True)
    assert answer["inquiry_id"] in page
    rejected = staff.get(f"/api/v1/safety/inquiries/{answer['inquiry_id']}?key={answer['access_key']}").get_json()
    assert rejected["status"] == "rejected" and rejected["information_exists"] is None


def test_staff_pages_need_a_login(hq):
    assert hq.get("/staff/inquiries").status_code == 302
    bad = hq.post("/staff/login", data={"csrf_token": csrf(hq, "/staff/login"), "username": "x", "password": "y"})
    assert bad.status_code == 401 and "Wrong name or password" in bad.get_data(as_text=True)
    assert hq.post("/staff/login", data={"username": "x", "password": "y"}).status_code == 400   # no CSRF token


def test_rate_limit_per_client(hq_app, hq):
    hq_app.config["SAFETY_RATE_PER_CLIENT"] = "3 per minute"
    codes = [ask(hq, HANAKO, addr="10.9.9.9").status_code for _ in range(4)]
    assert codes == [201, 201, 201, 429]
    limited = ask(hq, HANAKO, addr="10.9.9.9")
    assert "try again later" in limited.get_json()["message"] and limited.headers.get("Retry-After")
    assert ask(hq, HANAKO, addr="10.9.9.10").status_code == 201   # someone else is not blocked


def test_rate_limit_per_client_and_person_sought(hq_app, hq):
    hq_app.config["SAFETY_RATE_PER_PERSON"] = "2 per hour"
    codes = [ask(hq, {**HANAKO, "name": name}, addr="10.8.0.1").status_code
             for name in ["高橋 花子", "花子高橋", "花子 髙橋"]]
    assert codes == [201, 201, 429]
    assert ask(hq, JIRO, addr="10.8.0.1").status_code == 201
    # Other families asking about her are not locked out by one who asked too often.
    assert [ask(hq, HANAKO, addr=f"10.8.1.{i}").status_code for i in range(4)] == [201] * 4


def test_malformed_inquiries_are_refused_with_the_field_named_and_nothing_kept(hq, hq_app):
    bad = hq.post("/api/v1/safety/inquiries", json={"inquirer": INQUIRER, "relationship": "neighbour",
                                                   "sought": {"name": "<b>x</b>", "birth_date": "1800-01-01"}})
    assert bad.status_code == 422
    assert set(bad.get_json()["fields"]) >= {"relationship", "reason", "sought.name", "sought.birth_date"}
    assert hq.post("/api/v1/safety/inquiries", data="not json", content_type="application/json").status_code == 400
    huge = hq.post("/api/v1/safety/inquiries", json={"inquirer": INQUIRER, "relationship": "other",
                                                    "reason": "x" * 10_000, "sought": HANAKO})
    assert huge.status_code == 422 and "too long" in huge.get_json()["fields"]["reason"]
    with hq_app.app_context():
        assert db.session.query(Inquiry).count() == 0 and db.session.query(AuditEntry).count() == 0


def test_the_inquiry_page_shows_errors_by_the_field_and_escapes_markup(staff):
    form = {"csrf_token": csrf(staff, "/safety/"), "inquirer_name": "高橋 一郎", "inquirer_address": "東京都",
            "inquirer_contact": "090", "relationship": "relative", "reason": "<img src=x onerror=alert(1)>",
            "sought_name": "", "sought_birth_date": "1950-04-01"}
    page = staff.post("/safety/", data=form)
    assert page.status_code == 422
    html = page.get_data(as_text=True)
    assert 'id="sought_name-error"' in html and "<img src=x" not in html and "&lt;img src=x" in html
    ok = staff.post("/safety/", data={**form, "sought_name": "花子 髙橋"}, follow_redirects=True)
    assert [r.status_code for r in ok.history] == [303] and ok.status_code == 200
    ref = re.search(r'id="reference">([0-9A-F]+)<', ok.get_data(as_text=True)).group(1)
    queue = staff.get("/staff/inquiries").get_data(as_text=True)
    assert ref in queue and "&lt;img src=x onerror=alert(1)&gt;" in queue and "<img src=x" not in queue


def test_scripted_checkin_records_consent_and_protection(tmp_path):
    from kiosk.store import KioskStore
    from tests.conftest import run_evac
    db_path = tmp_path / "kiosk.sqlite3"
    done = run_evac("kiosk", "checkin", "--new", "--db", str(db_path), "--shelter", "H031", "--name", "焼津 花",
                    "--birth", "1990-01-01", "--sex", "female", "--address", "焼津市本町1",
                    "--consent", "family", "--family-code", "Umi2026", "--never-disclose")
    assert done.returncode == 0, done.stderr
    bad = run_evac("kiosk", "checkin", "--db", str(db_path), "--shelter", "H031", "--name", "焼津 海",
                   "--birth", "1991-01-01", "--sex", "male", "--consent", "family")
    assert bad.returncode == 2 and "family code" in bad.stderr
    events = KioskStore(db_path).outbox(10)
    assert [e["type"] for e in events] == ["checkin", "consent"]
    assert events[1]["data"] == {"consent": "family", "family_code": "Umi2026", "never_disclose": True}


def test_the_per_person_limit_sees_through_date_spellings_and_counts_the_form_too(hq_app, hq):
    hq_app.config["SAFETY_RATE_PER_PERSON"] = "3 per hour"
    codes = [ask(hq, {**HANAKO, "birth_date": b}, addr="10.7.0.1").status_code for b in ["1950-04-01", "19500401"]]
    form = {"csrf_token": csrf(hq, "/safety/"), "inquirer_name": "高橋 一郎", "inquirer_address": "東京都",
            "inquirer_contact": "090", "relationship": "relative", "reason": "心配",
            "sought_name": "花子 高橋", "sought_birth_date": "1950-04-01"}
    codes.append(hq.post("/safety/", data=form, environ_base={"REMOTE_ADDR": "10.7.0.1"}).status_code)
    codes.append(ask(hq, {**HANAKO, "birth_date": " 1950-04-01"}, addr="10.7.0.1").status_code)
    assert codes == [201, 201, 303, 429]   # (303: the form goes on to the answer page)
