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


def log_in_staff(app, client):
    from hq_dashboard.staff import add_staff
    with app.app_context():
        add_staff(db.session, "reviewer1", "correct horse battery", "lead")
    form = {"csrf_token": csrf(client, "/staff/login"), "username": "reviewer1", "password": "correct horse battery"}
    assert client.post("/staff/login", data=form).status_code == 302


def decide(client, inquiry_id, decision, note):
    return client.post(f"/staff/inquiries/{inquiry_id}/{decision}",
                       data={"csrf_token": csrf(client, "/staff/inquiries"), "how": "other", "note": note})


def counts(app):
    with app.app_context():
        return dict(db.session.execute(select(SelfReportCount.place, SelfReportCount.count)).all())


def ask_as_a_friend(client, name="花子 焼津"):
    return client.post("/api/v1/safety/inquiries", json={
        "inquirer": {"name": "焼津 一郎", "address": "東京都", "contact": "090"}, "relationship": "other",
        "reason": "友人として", "sought": {"name": name, "birth_date": "1950-04-01"}}).get_json()


def answer_of(client, asked):
    return client.get(f"/api/v1/safety/inquiries/{asked['inquiry_id']}?key={asked['access_key']}").get_json()


def test_a_self_report_counts_is_told_once_someone_has_seen_the_person_and_becomes_a_check_in(hq_app, hq_client,
                                                                                               enroll):
    resp = hq_client.post("/safety/self-report", data={**FORM, "csrf_token": csrf(hq_client, "/safety/self-report")})
    assert resp.status_code == 201 and "焼津 花子" in resp.get_data(as_text=True)
    import datetime as dt
    now_jst = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=9)
    assert f"{now_jst:%Y-%m-%d} " in resp.get_data(as_text=True) and " JST" in resp.get_data(as_text=True)
    assert counts(hq_app) == {"at_home": 1}
    # The counts are for HQ staff: anyone can self-report any name (test_self_report_counts_are_for_staff).
    assert "自宅 1" not in hq_client.get("/").get_data(as_text=True)

    # Known only from the self-report: answered as someone the city knows nothing about, even after review
    # (anyone could have sent it; test_self_report_oracle.py).  Staff are told why.
    asked = ask_as_a_friend(hq_client)
    assert asked["status"] == "pending_review" and asked["whereabouts"] is None
    log_in_staff(hq_app, hq_client)
    assert "自宅 1" in hq_client.get("/").get_data(as_text=True)
    queue = hq_client.get("/staff/inquiries").get_data(as_text=True)
    assert re.search(rf'id="inquiry-{asked["inquiry_id"]}".*?data-testid="only-self-reported">この人の記録は公開の自己申告',
                     queue, re.S)
    assert decide(hq_client, asked["inquiry_id"], "release", "折り返し電話で確認").status_code == 302
    answer = answer_of(hq_client, asked)
    assert answer["status"] == "released" and answer["information_exists"] is False and answer["whereabouts"] is None

    # Later she goes to a shelter and a kiosk checks her in, typed differently: one person, moved.
    token = enroll("H031")
    person = {"name": "焼津花子", "birth_date": "1950-04-01", "sex": "female", "address": "本町5-9-1"}

    def kiosk(seq, etype, data):
        sync = hq_client.post("/api/v1/sync", headers={"Authorization": f"Bearer {token}"}, json={
            "device_id": "dev-sr", "events": [{"kiosk_id": "dev-sr", "seq": seq, "hlc": pack(4_102_444_800_000 + seq),
                                               "type": etype, "shelter_id": "H031", "person": person, "data": data}]})
        assert sync.status_code == 200, sync.get_json()
    kiosk(1, "checkin", {"stay_type": "in_shelter"})
    assert counts(hq_app) == {"at_home": 0}
    with hq_app.app_context():
        assert db.session.get(Shelter, "H031").occupancy == 1

    # She leaves and reports from home: someone has seen her now, so her report's consent (public, given on
    # the public page) widens a reviewed answer to what the report says, marked as a report there.
    kiosk(2, "checkout", {})
    assert hq_client.post("/safety/self-report",
                          data={**FORM, "csrf_token": csrf(hq_client, "/safety/self-report")}).status_code == 201
    asked = ask_as_a_friend(hq_client)
    assert asked["status"] == "pending_review" and asked["whereabouts"] is None
    queue = hq_client.get("/staff/inquiries").get_data(as_text=True)
    # The reviewer is told the consent is the public page's, unverified, before releasing.
    assert re.search(rf'id="inquiry-{asked["inquiry_id"]}".*?data-testid="self-consent">公開の自己申告ページでの同意です',
                     queue, re.S)
    assert decide(hq_client, asked["inquiry_id"], "release", "折り返し電話で確認").status_code == 302
    answer = answer_of(hq_client, asked)
    assert answer["status"] == "released" and answer["whereabouts"]["state"] == "at_home"
    assert answer["whereabouts"]["self_reported"] and answer["whereabouts"]["shelter_name"] is None
    # Anyone may send the self-report page: the family's page says it is a report there, not her own word.
    page = hq_client.get(f"/safety/check?id={asked['inquiry_id']}&key={asked['access_key']}",
                         headers={"Accept-Language": "ja"}).get_data(as_text=True)
    assert "市の自己申告ページでの報告（未確認）：" in page and "本人からの報告" not in page
    from hq_dashboard.models import Inquiry as InquiryRow
    from hq_dashboard.notify import _body
    from evac.disclosure import Answer
    with hq_app.app_context():
        row = db.session.get(InquiryRow, asked["inquiry_id"])
        mail = _body(row, Answer(**{k: v for k, v in answer.items() if k in Answer.__dataclass_fields__}))
    assert "市の自己申告ページでの報告（未確認）：自宅" in mail and "self-report page (not confirmed): At home" in mail
    assert "at_home" not in mail


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


# --- a claim on the public page never widens or cancels what a kiosk recorded -------------------------

JIRO = {"name": "駿河 次郎", "birth_date": "1972-07-07", "sex": "male", "address": "焼津市小川1"}
ASKER = {"name": "誰か", "address": "東京都港区1-1", "contact": "090-0000-0000"}


def sync(client, token, stream):
    resp = client.post("/api/v1/sync", json={"device_id": stream.device_id, "events": stream.events},
                       headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200, resp.get_json()


def self_report(client, who, consent="public", where="at_home", code=""):
    form = {"name": who["name"], "birth_date": who["birth_date"], "sex": who["sex"], "address": who["address"],
            "where": where, "consent": consent, "family_code": code,
            "csrf_token": csrf(client, "/safety/self-report")}
    assert client.post("/safety/self-report", data=form).status_code == 201


def ask(client, who, relationship="other", code="", address=""):
    resp = client.post("/api/v1/safety/inquiries", json={
        "inquirer": ASKER, "relationship": relationship, "reason": "安否確認", "family_code": code,
        "sought": {"name": who["name"], "birth_date": who["birth_date"], "address": address}})
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def answer_only(answer):
    return {k: v for k, v in answer.items() if k not in ("inquiry_id", "access_key")}


def persons(app):
    from hq_dashboard.models import Person
    with app.app_context():
        return {p.name: (p.consent, p.family_code, p.consent_source, p.never_disclose)
                for p in db.session.execute(select(Person)).scalars()}


def test_a_kiosk_consent_beats_a_self_reported_one_whatever_order_they_arrive_in(hq_app, hq_client, enroll):
    from tests.wire import KioskStream
    token = enroll("H031")
    # The kiosk's consent was given yesterday, but the kiosk was offline: the claim on the page came first.
    self_report(hq_client, JIRO, consent="public")
    assert persons(hq_app)["駿河 次郎"] == ("public", "", "self", False)
    kiosk = KioskStream("dev-consent", "H031")
    kiosk.checkin(JIRO)
    kiosk.add("consent", JIRO, {"consent": "family", "family_code": "Sakura2024"})
    sync(hq_client, token, kiosk)
    assert persons(hq_app)["駿河 次郎"] == ("family", "Sakura2024", "kiosk", False)
    # A later claim, denying the family, changes nothing either.
    self_report(hq_client, JIRO, consent="none")
    assert persons(hq_app)["駿河 次郎"] == ("family", "Sakura2024", "kiosk", False)
    answer = ask(hq_client, JIRO, "household_family", code="Sakura2024")
    assert answer["status"] == "answered" and answer["whereabouts"]["shelter_id"] == "H031"
    # Between kiosks the latest consent wins; never-disclose, once set, stays.
    kiosk.add("consent", JIRO, {"consent": "none", "never_disclose": True})
    kiosk.add("consent", JIRO, {"consent": "public", "never_disclose": False})
    sync(hq_client, token, kiosk)
    self_report(hq_client, JIRO, consent="public")
    assert persons(hq_app)["駿河 次郎"] == ("public", "", "kiosk", True)


def test_self_reporting_a_name_and_asking_cannot_tell_protected_from_unknown(hq_app, hq_client, enroll):
    """The reviewer's oracle: self-report a name with public consent, then ask.  A checked-in protected
    person, a checked-in person without consent and someone HQ never heard of all answer the same."""
    from tests.wire import KioskStream
    token = enroll("H031")
    protected = {"name": "匿名 希", "birth_date": "1990-02-02", "sex": "female", "address": "焼津市大住1"}
    unknown = {"name": "無名 太郎", "birth_date": "1991-03-03", "sex": "male", "address": "焼津市大住1"}
    kiosk = KioskStream("dev-oracle", "H031")
    kiosk.checkin(protected)
    kiosk.add("consent", protected, {"consent": "none", "never_disclose": True})
    kiosk.checkin(JIRO)
    sync(hq_client, token, kiosk)
    answers = []
    for who in (protected, JIRO, unknown):
        self_report(hq_client, {**who, "address": "東京都新宿区9-9"}, consent="public")
        answers.append(answer_only(ask(hq_client, who, address="東京都新宿区9-9")))
    assert answers[0] == answers[1] == answers[2]
    assert answers[0]["status"] == "pending_review" and answers[0]["information_exists"] is None


def test_a_stranger_s_self_report_does_not_hand_them_what_a_kiosk_recorded(hq_app, hq_client, enroll):
    """A stranger who knows name, birth date and address claims them on the page with their own family
    code, then asks with it: nothing at once, and after review only the tier and the claim's own
    whereabouts, never the kiosk's contact or injury."""
    from tests.wire import KioskStream
    token = enroll("H031")
    hanako = {"name": "駿河 花子", "birth_date": "1950-05-06", "sex": "female", "address": "焼津市藤守1234-5"}
    kiosk = KioskStream("dev-widen", "H031")
    kiosk.checkin(hanako)
    kiosk.add("details", hanako, {"contact_phone": "090-1111-2222", "home_damage": "total"})
    kiosk.add("status", hanako, {"status": "hospitalised", "note": "搬送"})
    kiosk.add("checkout", hanako)
    sync(hq_client, token, kiosk)
    self_report(hq_client, hanako, consent="family", where="with_relatives", code="attacker1")
    asked = ask(hq_client, hanako, "other", code="attacker1")
    assert asked["status"] == "pending_review"
    assert (asked["information_exists"], asked["whereabouts"], asked["injury_or_illness"], asked["contact"]) == (
        None, None, None, None)
    self_report(hq_client, hanako, consent="public", where="with_relatives")
    asked = ask(hq_client, hanako, "other")
    assert asked["status"] == "pending_review" and asked["injury_or_illness"] is None
    log_in_staff(hq_app, hq_client)
    assert decide(hq_client, asked["inquiry_id"], "release", "折り返し電話で確認").status_code == 302
    released = hq_client.get(f"/api/v1/safety/inquiries/{asked['inquiry_id']}?key={asked['access_key']}").get_json()
    assert released["status"] == "released" and released["information_exists"] is True
    assert released["whereabouts"]["state"] == "with_relatives" and released["whereabouts"]["self_reported"]
    assert released["injury_or_illness"] is None and released["contact"] is None


def test_self_report_counts_are_for_staff_only(hq_app, hq_client, enroll):
    """A count that moves for an unknown name but not for a checked-in one would tell anyone which
    names are in a shelter: the public page shows none, logged-in staff see them."""
    from tests.wire import KioskStream
    token = enroll("H031")
    protected = {"name": "匿名 希", "birth_date": "1990-02-02", "sex": "female", "address": "焼津市大住1"}
    kiosk = KioskStream("dev-count", "H031")
    kiosk.checkin(protected)
    kiosk.add("consent", protected, {"consent": "none", "never_disclose": True})
    sync(hq_client, token, kiosk)
    before = hq_client.get("/").get_data(as_text=True)
    self_report(hq_client, protected, consent="none")
    assert hq_client.get("/").get_data(as_text=True) == before
    self_report(hq_client, {**JIRO, "name": "無名 花"}, consent="none")
    assert hq_client.get("/").get_data(as_text=True) == before
    log_in_staff(hq_app, hq_client)
    assert "自宅 1" in hq_client.get("/").get_data(as_text=True)


def test_a_later_self_report_after_hq_restarts_is_dated_after_the_earlier_one(hq_db_url, hq_app, hq_client, enroll):
    """HQ's clock took a kiosk's time a little ahead (inside its two-minute guard); HQ restarted and its
    clock started from nothing.  Her second word (at home) must still be the later one."""
    import time

    from hq_dashboard import create_app
    from tests.wire import KioskStream, person
    token = enroll("H001")
    kiosk = KioskStream("dev-1", start_ms=int(time.time() * 1000) + 100_000)
    kiosk.checkin(person("焼津 別人", "1960-01-01"))
    assert hq_client.post("/api/v1/sync", json={"device_id": "dev-1", "events": kiosk.events},
                          headers={"Authorization": f"Bearer {token}"}).status_code == 200
    first = {**FORM, "where": "with_relatives", "consent": "none"}
    assert hq_client.post("/safety/self-report", data={**first, "csrf_token": csrf(hq_client, "/safety/self-report")}
                          ).status_code == 201
    restarted = create_app({"SQLALCHEMY_DATABASE_URI": hq_db_url, "TESTING": True}).test_client()
    second = {**FORM, "where": "at_home", "consent": "none"}
    assert restarted.post("/safety/self-report", data={**second, "csrf_token": csrf(restarted, "/safety/self-report")}
                          ).status_code == 201
    with hq_app.app_context():
        stamps = db.session.execute(select(EventRecord.seq, EventRecord.hlc).where(
            EventRecord.device_id == "hq-self-report", EventRecord.type == "self_report")
            .order_by(EventRecord.seq)).all()
    assert len(stamps) == 2 and stamps[0].hlc < stamps[1].hlc, stamps
    assert {k: v for k, v in counts(hq_app).items() if v} == {"at_home": 1}, "her latest word counts, once"
