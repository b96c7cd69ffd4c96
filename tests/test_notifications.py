"""E-mail news for inquirers, through a real SMTP server (aiosmtpd) on loopback, within the tiers."""
from __future__ import annotations

import re

import pytest

from evac.hlc import pack
from hq_dashboard import notify
from hq_dashboard.db import db
from hq_dashboard.models import AuditEntry
from tests.conftest import free_port
from tests.test_safety_review_fixes import at_hq

TARO = {"name": "大井川 太郎", "birth_date": "1980-05-05", "sex": "male", "address": "焼津市大井川1"}
KEN = {"name": "駿河 健", "birth_date": "1975-03-03", "sex": "male", "address": "焼津市小川2"}
INQUIRER = {"name": "大井川 花", "address": "静岡市葵区1-1", "contact": "090-1111-2222"}


@pytest.fixture
def hq(hq_app, hq_client, enroll, smtp):
    controller, _ = smtp
    hq_app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=controller.port, SMTP_FROM="anpi@city.yaizu.example",
                         NOTIFY_INLINE=True)
    from hq_dashboard.staff import add_staff
    with hq_app.app_context():
        add_staff(db.session, "reviewer", "correct horse battery", "lead")
    token = enroll("H031")
    form = {"csrf_token": _csrf(hq_client, "/staff/login"), "username": "reviewer", "password": "correct horse battery"}
    assert hq_client.post("/staff/login", data=form).status_code == 302
    seq = iter(range(1, 1000))

    def kiosk(*events):
        batch = [{"kiosk_id": "dev-n", "seq": (s := next(seq)), "hlc": pack(1_764_000_000_000 + s), "shelter_id": "H031",
                  **e} for e in events]
        assert hq_client.post("/api/v1/sync", json={"device_id": "dev-n", "events": batch},
                              headers={"Authorization": f"Bearer {token}"}).status_code == 200
        assert notify.drain(hq_app)   # inquiries put back to staff after the sync (notify.after_records)
    return hq_client, kiosk


def _csrf(client, path):
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


def ask(client, sought, relationship, to="hana@example.jp"):
    body = {"inquirer": INQUIRER, "relationship": relationship, "reason": "家族を探しています",
            "sought": {"name": sought["name"], "birth_date": sought["birth_date"]}, "notify_email": to}
    resp = client.post("/api/v1/safety/inquiries", json=body)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def release(client, ref):
    form = {"csrf_token": _csrf(client, "/staff/inquiries"), "how": "call_back", "note": "折り返し電話で確認"}
    assert client.post(f"/staff/inquiries/{ref}/release", data=form).status_code == 302


def test_family_is_told_the_shelter_once_staff_release(hq, smtp):
    client, kiosk = hq
    _, inbox = smtp
    answer = ask(client, TARO, "household_family")
    assert answer["email_news"].startswith("by e-mail")
    kiosk({"type": "checkin", "person": TARO, "data": {"stay_type": "in_shelter"}})
    assert inbox.messages == []                   # consent "none": nothing before staff confirm the inquirer
    release(client, answer["inquiry_id"])
    (mail,) = inbox.messages
    body = mail.get_payload(decode=True).decode()
    assert mail["To"] == "hana@example.jp" and answer["inquiry_id"] in mail["Subject"]
    assert "焼津中学校" in body
    kiosk({"type": "checkout", "person": TARO, "data": {}})
    assert len(inbox.messages) == 1               # news once, not on every change


def test_the_news_names_the_answer_page_at_hqs_public_address_never_the_key(hq, smtp, hq_app):
    client, kiosk = hq
    _, inbox = smtp
    hq_app.config["PUBLIC_URL"] = "https://anpi.city.yaizu.example"   # EVAC_PUBLIC_URL, checked at start
    answer = ask(client, TARO, "household_family")
    kiosk({"type": "checkin", "person": TARO, "data": {"stay_type": "in_shelter"}})
    release(client, answer["inquiry_id"])
    body = inbox.messages[0].get_payload(decode=True).decode()
    assert "https://anpi.city.yaizu.example/safety/check\n" in body and answer["access_key"] not in body


def test_a_public_address_that_is_not_one_stops_hq_at_its_start(tmp_path):
    from hq_dashboard import create_app
    with pytest.raises(ValueError, match="EVAC_PUBLIC_URL"):
        create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'hq.sqlite3'}", "PUBLIC_URL": "anpi.yaizu"})


def test_a_relative_is_told_only_what_their_tier_allows(hq, smtp):
    client, kiosk = hq
    _, inbox = smtp
    answer = ask(client, KEN, "relative")
    kiosk({"type": "checkin", "person": KEN, "data": {"stay_type": "in_shelter"}},
          {"type": "status", "person": KEN, "data": {"status": "injured"}})
    release(client, answer["inquiry_id"])
    (mail,) = inbox.messages
    body = mail.get_payload(decode=True).decode()
    assert "負傷・疾病：けが" in body and "Injury or illness: Injured" in body   # words, not the code alone
    assert "焼津中学校" not in body and "H031" not in body


def test_the_injury_is_said_in_words_on_the_answer_page_in_every_language(hq, smtp):
    client, kiosk = hq
    answer = ask(client, KEN, "relative")
    kiosk({"type": "checkin", "person": KEN, "data": {"stay_type": "in_shelter"}},
          {"type": "status", "person": KEN, "data": {"status": "hospitalised"}})
    release(client, answer["inquiry_id"])
    ref, key = answer["inquiry_id"], answer["access_key"]
    said = {"ja": "入院中", "easy": "にゅういん", "en": "In hospital", "pt": "Internado no hospital",
            "vi": "Đang nằm viện", "zh": "住院中", "tl": "Nasa ospital"}
    for lang, words in said.items():
        page = client.get(f"/safety/check?id={ref}&key={key}&lang={lang}").get_data(as_text=True)
        assert words in page and "hospitalised" not in page, (lang, page)
    mail = smtp[1].messages[0].get_payload(decode=True).decode()
    assert "負傷・疾病：入院中" in mail and "Injury or illness: In hospital" in mail and "hospitalised" not in mail


def _check(client, answer):
    """The answer as the inquirer reads it again: the JSON API, and the page."""
    ref, key = answer["inquiry_id"], answer["access_key"]
    api = client.get(f"/api/v1/safety/inquiries/{ref}?key={key}").get_json()
    page = client.get(f"/safety/check?id={ref}&key={key}").get_data(as_text=True)
    return api, page


def test_a_record_found_after_a_no_information_release_goes_back_to_staff_not_into_an_email(hq, smtp, hq_app):
    # 災対法 §86-15: staff released "no information" having judged the claimed relationship against no record.
    # The person turns up later: no tier may be e-mailed, nor shown, until staff judge it against that record.
    client, kiosk = hq
    _, inbox = smtp
    answer = ask(client, TARO, "household_family")
    release(client, answer["inquiry_id"])
    api, _ = _check(client, answer)
    assert api["status"] == "released" and api["information_exists"] is False
    kiosk({"type": "checkin", "person": TARO, "data": {"stay_type": "in_shelter"}},
          {"type": "status", "person": TARO, "data": {"status": "injured"}})
    assert inbox.messages == []
    api, page = _check(client, answer)
    assert at_hq(hq_app, answer) == "pending_review"
    assert api["status"] == "released" and api["information_exists"] is False   # as released, until staff judge
    assert api["whereabouts"] is None and api["injury_or_illness"] is None and api["contact"] is None
    assert "焼津中学校" not in page and "H031" not in page and "injured" not in page
    with hq_app.app_context():
        back = db.session.query(AuditEntry).filter_by(inquiry_id=answer["inquiry_id"], action="back_to_review").all()
        assert len(back) == 1 and db.session.query(AuditEntry).filter_by(action="notified").count() == 0
    queue = client.get("/staff/inquiries").get_data(as_text=True)
    assert answer["inquiry_id"] in queue                       # in staff's queue again, saying why
    assert "確認後に照会に一致する記録が見つかりました" in queue.split(f'id="inquiry-{answer["inquiry_id"]}"', 1)[1]
    kiosk({"type": "needs", "person": TARO, "data": {"needs": ["elderly"]}})
    assert inbox.messages == []                   # still nothing on the next batch
    release(client, answer["inquiry_id"])         # staff judged it against the record: now the tier goes out
    (mail,) = inbox.messages
    assert "焼津中学校" in mail.get_payload(decode=True).decode()


def test_never_disclose_still_wins_after_a_no_information_release(hq, smtp, hq_app):
    client, kiosk = hq
    _, inbox = smtp
    together = ask(client, TARO, "household_family")
    gap = ask(client, KEN, "household_family", to="someone@example.jp")
    release(client, together["inquiry_id"])
    release(client, gap["inquiry_id"])
    # Protected in the batch she checks in with: nothing for staff to judge (the answer could only stay "no
    # information"), so it stays as released, as one about someone unknown does.
    family = hq_app.test_client()   # as the inquirer reads it (staff's page would carry their flashed messages)
    before = _check(family, together)
    kiosk({"type": "checkin", "person": TARO, "data": {"stay_type": "in_shelter"}},
          {"type": "consent", "person": TARO, "data": {"consent": "none", "never_disclose": True}})
    assert at_hq(hq_app, together) == "released"
    assert _check(family, together) == before
    # Protected only after checking in (the gap): back to staff, then back to "no information" on its own
    # once she is protected (safety.settle_back), before staff could call the inquirer about her record.
    kiosk({"type": "checkin", "person": KEN, "data": {"stay_type": "in_shelter"}})
    assert at_hq(hq_app, gap) == "pending_review"
    kiosk({"type": "consent", "person": KEN, "data": {"consent": "none", "never_disclose": True}})
    assert at_hq(hq_app, gap) == "released"
    api, page = _check(client, gap)
    assert api["status"] == "released" and api["information_exists"] is False and "焼津中学校" not in page
    assert inbox.messages == []
    with hq_app.app_context():
        assert db.session.query(AuditEntry).filter_by(action="notified").count() == 0


def test_no_news_before_review_and_never_about_a_protected_person(hq, smtp, hq_app):
    client, kiosk = hq
    _, inbox = smtp
    unreviewed = ask(client, TARO, "household_family")
    protected = ask(client, KEN, "household_family", to="someone@example.jp")
    release(client, protected["inquiry_id"])
    kiosk({"type": "checkin", "person": TARO, "data": {"stay_type": "in_shelter"}},
          {"type": "checkin", "person": KEN, "data": {"stay_type": "in_shelter"}},
          {"type": "consent", "person": KEN, "data": {"consent": "none", "never_disclose": True}})
    assert inbox.messages == []
    release(client, unreviewed["inquiry_id"])     # now confirmed: the news goes out
    assert [m["To"] for m in inbox.messages] == ["hana@example.jp"]
    with hq_app.app_context():
        notified = db.session.query(AuditEntry).filter_by(action="notified").all()
    assert [e.inquiry_id for e in notified] == [unreviewed["inquiry_id"]]


def test_a_bad_address_is_refused(hq):
    client, _ = hq
    resp = client.post("/api/v1/safety/inquiries", json={
        "inquirer": INQUIRER, "relationship": "relative", "reason": "r",
        "sought": {"name": TARO["name"], "birth_date": TARO["birth_date"]}, "notify_email": "hana at example"})
    assert resp.status_code == 422 and "e-mail" in resp.get_json()["fields"]["notify_email"]


def test_mail_server_down_keeps_the_news_for_later(hq, smtp, hq_app):
    client, kiosk = hq
    controller, inbox = smtp
    answer = ask(client, TARO, "household_family")
    kiosk({"type": "checkin", "person": TARO, "data": {"stay_type": "in_shelter"}})
    hq_app.config["SMTP_PORT"] = free_port()      # nobody listens there
    release(client, answer["inquiry_id"])
    assert inbox.messages == []
    hq_app.config["SMTP_PORT"] = controller.port
    kiosk({"type": "needs", "person": TARO, "data": {"needs": ["elderly"]}})   # the next batch retries
    assert len(inbox.messages) == 1


def test_none_of_these_stays_answered_until_a_record_staff_did_not_see_appears(hq, smtp, hq_app):
    # Staff declined the near record ("none of these"): the next batch from the shelter must not put the inquiry
    # back in their queue with that same record, again and again; a record they have not judged must.
    client, kiosk = hq
    _, inbox = smtp
    kiosk({"type": "checkin", "person": TARO, "data": {"stay_type": "in_shelter"}})
    body = {"inquirer": INQUIRER, "relationship": "household_family", "reason": "家族を探しています",
            "sought": {"name": TARO["name"], "birth_date": TARO["birth_date"], "address": "東京都港区9-9"},
            "notify_email": "hana@example.jp"}
    answer = client.post("/api/v1/safety/inquiries", json=body).get_json()
    ref = answer["inquiry_id"]
    assert answer["status"] == "pending_review"
    form = {"csrf_token": _csrf(client, "/staff/inquiries"), "how": "call_back", "note": "折り返し電話で確認", "record": "0"}
    assert client.post(f"/staff/inquiries/{ref}/release", data=form).status_code == 302
    assert _check(client, answer)[0]["status"] == "released"
    kiosk({"type": "needs", "person": TARO, "data": {"needs": ["elderly"]}})
    api, _ = _check(client, answer)
    assert api["status"] == "released" and api["information_exists"] is False and at_hq(hq_app, answer) == "released"
    with hq_app.app_context():
        assert db.session.query(AuditEntry).filter_by(inquiry_id=ref, action="back_to_review").count() == 0
    # Another record of that name and birth date, at another address: staff never saw it.
    kiosk({"type": "checkin", "person": {**TARO, "address": "焼津市本町5-5"}, "data": {"stay_type": "in_shelter"}})
    assert at_hq(hq_app, answer) == "pending_review"
    assert inbox.messages == []


def test_news_carries_a_date_and_a_message_id_of_the_city_domain(hq, smtp, hq_app):
    # RFC 5322 §3.6 requires Date; big mail providers file mail without a Message-ID as spam.
    import email.utils
    hq_app.config["SMTP_FROM"] = "焼津市 安否確認 <anpi@city.yaizu.example>"
    client, kiosk = hq
    _, inbox = smtp
    answer = ask(client, TARO, "household_family")
    kiosk({"type": "checkin", "person": TARO, "data": {"stay_type": "in_shelter"}})
    release(client, answer["inquiry_id"])
    (mail,) = inbox.messages
    assert email.utils.parsedate_to_datetime(mail["Date"]).tzinfo is not None
    assert re.fullmatch(r"<[^<>@\s]+@city\.yaizu\.example>", mail["Message-ID"]), mail["Message-ID"]
