"""An inquiry that matches several records: staff choose on the review page which record it is about, and
only that record's tier information is released (災対法 §86-15).  The choice is checked against the records
the inquiry matches at release; a forged or stale one releases nothing; a protected person among them still
leaves nothing to choose.  Real HQ app and database (SQLite and PostgreSQL), kiosks sending real syncs."""
from __future__ import annotations

import json
import re

from sqlalchemy import func, select

from hq_dashboard.db import db
from hq_dashboard.models import AuditEntry, Inquiry, Person
from tests.test_safety_review_fixes import TARO, Kiosk, ask, check, csrf, log_in

CARD = TARO                                   # checked in at H031 with the card's address
TYPED = {**TARO, "address": ""}               # the same name and birth date typed at H001, no address


def two_records(hq_client, enroll):
    a = Kiosk(hq_client, enroll("H031"), "dev-a")
    b = Kiosk(hq_client, enroll("H001"), "dev-b", "H001")
    a.send(("checkin", CARD, {"stay_type": "in_shelter"}), ("status", CARD, {"status": "injured", "note": ""}))
    b.send(("checkin", TYPED, {"stay_type": "in_shelter"}))
    return a, b


def record_ids(hq_app) -> dict[str, int]:
    """{"card": id, "typed": id} of the two records of TARO."""
    with hq_app.app_context():
        people = db.session.execute(select(Person).where(Person.birth_date == TARO["birth_date"])).scalars().all()
        return {"card" if p.address else "typed": p.id for p in people}


def release(client, ref, record=None, note="折り返し電話で確認", lang=None):
    data = {"csrf_token": csrf(client, "/staff/inquiries"), "how": "other", "note": note}
    if record is not None:
        data["record"] = str(record)
    return client.post(f"/staff/inquiries/{ref}/release", data=data,
                       headers={"Accept-Language": lang} if lang else {})


def written(hq_app, ref) -> tuple:
    """Everything a release would write about the inquiry."""
    with hq_app.app_context():
        row = db.session.get(Inquiry, ref)
        audits = db.session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.inquiry_id == ref))
        return row.status, row.answer, row.person_id, row.reviewed_by, row.review_note, audits


def released_audit(hq_app, ref) -> AuditEntry | None:
    with hq_app.app_context():
        entry = db.session.execute(select(AuditEntry).where(AuditEntry.inquiry_id == ref,
                                                            AuditEntry.action == "released")).scalar()
        if entry is not None:
            db.session.expunge(entry)
        return entry


def radios(queue_html: str, ref: str) -> list[str]:
    block = re.search(rf'id="inquiry-{ref}".*?</form>', queue_html, re.DOTALL).group(0)
    # The records offered (not "none of these", safety.NONE_OF_THESE = 0).
    return [v for v in re.findall(r'<input type="radio" name="record" value="(\d+)"', block) if v != "0"]


def test_staff_choose_one_of_two_records_and_only_its_tier_is_released_and_audited(hq_app, hq_client, enroll):
    two_records(hq_client, enroll)
    ids = record_ids(hq_app)
    log_in(hq_app, hq_client)
    # A relative: the tier is "information exists" and injury; whereabouts are not theirs to learn.
    asked = ask(hq_client, "駿河 太郎", "1960-06-06", "relative").get_json()
    ref = asked["inquiry_id"]
    assert asked["status"] == "pending_review"
    queue = hq_client.get("/staff/inquiries").get_data(as_text=True)
    assert sorted(radios(queue, ref)) == sorted(str(i) for i in ids.values())   # one radio per record
    assert "照会の相手の記録" in queue                                            # the staff's language (ja)
    # Without a choice: refused as before, now asking for one, nothing written.
    before = written(hq_app, ref)
    refused = release(hq_client, ref)
    assert refused.status_code == 422
    assert "下の記録から照会の相手を選ぶか「どれでもない」を選んでから" in refused.get_data(as_text=True)
    assert written(hq_app, ref) == before
    # Staff chose the card's record (injured at H031).
    done = release(hq_client, ref, ids["card"])
    assert done.status_code == 302
    answer = check(hq_client, asked)
    assert answer["status"] == "released"
    assert answer["information_exists"] is True and answer["injury_or_illness"] == "injured"
    assert answer["whereabouts"] is None and answer["contact"] is None            # not the relative's tier
    entry = released_audit(hq_app, ref)
    detail = json.loads(entry.detail)
    assert entry.actor == "reviewer1"
    assert detail["chosen_record"] == ids["card"] and detail["matching_records"] == sorted(ids.values())
    assert detail["shown"] == ["information_exists", "injury_or_illness"]
    assert written(hq_app, ref)[2] == ids["card"]
    # The family's own page shows the released answer.
    page = hq_client.get(f"/safety/check?id={ref}&key={asked['access_key']}&lang=en").get_data(as_text=True)
    assert "City staff confirmed your inquiry" in page and "injured" in page.lower()
    # And the inquiry has left the queue.
    assert f'id="inquiry-{ref}"' not in hq_client.get("/staff/inquiries").get_data(as_text=True)


def test_family_living_with_them_get_the_chosen_records_whereabouts_not_the_others(hq_app, hq_client, enroll):
    two_records(hq_client, enroll)
    ids = record_ids(hq_app)
    log_in(hq_app, hq_client)
    asked = ask(hq_client, "駿河 太郎", "1960-06-06", "household_family").get_json()
    assert release(hq_client, asked["inquiry_id"], ids["typed"]).status_code == 302
    answer = check(hq_client, asked)
    assert answer["whereabouts"]["shelter_id"] == "H001"                          # the typed record's shelter
    assert answer["injury_or_illness"] == "not_reported"                          # not the card record's injury
    assert json.loads(released_audit(hq_app, asked["inquiry_id"]).detail)["chosen_record"] == ids["typed"]


def test_a_forged_or_stale_choice_is_refused_in_the_staffs_language_and_nothing_is_written(
        hq_app, hq_client, enroll):
    _a, b = two_records(hq_client, enroll)
    other = {"name": "焼津 花子", "birth_date": "1960-06-06", "sex": "female", "address": "焼津市本町1"}
    b.send(("checkin", other, {"stay_type": "in_shelter"}))     # born the same day, another name
    ids = record_ids(hq_app)
    log_in(hq_app, hq_client)
    asked = ask(hq_client, "駿河 太郎", "1960-06-06", "household_family").get_json()
    ref = asked["inquiry_id"]
    with hq_app.app_context():
        hanako = db.session.execute(select(Person.id).where(Person.name == "焼津 花子")).scalar_one()
    before = written(hq_app, ref)
    for forged in (hanako, 999_999, "abc", "1 OR 1=1", ""):
        page = release(hq_client, ref, forged)
        html = page.get_data(as_text=True)
        if forged == "":     # an empty choice is no choice: asked to choose
            assert page.status_code == 422 and "下の記録から照会の相手を選ぶか「どれでもない」を選んでから" in html
            continue
        assert page.status_code == 422, forged
        assert "選んだ記録は、この照会に今一致する記録ではありません" in html, forged
        assert written(hq_app, ref) == before, forged
    # In the staff member's language, then Japanese and English, as the rest of the queue.
    english = release(hq_client, ref, hanako, lang="en").get_data(as_text=True)
    assert re.search("The record you chose is not one of the records this inquiry matches now.*? / 選んだ記録は、この照会"
                     "に今一致する記録ではありません", english)
    said = release(hq_client, ref, hanako, lang="pt").get_data(as_text=True)
    assert re.search("O registro escolhido não é um dos registros.*? / 選んだ記録は、この照会に今一致する記録ではありません.*? / The record you "
                     "chose is not one", said)
    # Stale: the typed record is corrected to another name after the page was shown; the inquiry now
    # matches only the card's record, and the choice made on the old page is refused.
    b.send(("correction", TYPED, {"person": {**TYPED, "name": "駿河 次郎", "name_kana": "スルガ ジロウ"}}))
    page = release(hq_client, ref, ids["typed"])
    assert page.status_code == 422 and "選んだ記録は、この照会に今一致する記録ではありません" in page.get_data(as_text=True)
    assert written(hq_app, ref) == before
    assert check(hq_client, asked)["status"] == "pending_review"     # the family was told nothing
    # The page now shows one person, no records to choose; a release without a choice works as for one match.
    queue = hq_client.get("/staff/inquiries").get_data(as_text=True)
    assert radios(queue, ref) == []
    assert release(hq_client, ref).status_code == 302
    assert check(hq_client, asked)["whereabouts"]["shelter_id"] == "H031"


def test_a_protected_record_among_them_still_blocks_every_choice(hq_app, hq_client, enroll):
    a, _b = two_records(hq_client, enroll)
    ids = record_ids(hq_app)
    log_in(hq_app, hq_client)
    asked = ask(hq_client, "駿河 太郎", "1960-06-06", "household_family").get_json()
    ref = asked["inquiry_id"]
    assert len(radios(hq_client.get("/staff/inquiries").get_data(as_text=True), ref)) == 2
    # The page was shown with both records; then the card's record is put under never-disclose protection.
    a.send(("consent", CARD, {"consent": "none", "never_disclose": True}))
    before = written(hq_app, ref)
    for record in ids.values():      # neither record may be chosen: not the protected one, nor its twin
        page = release(hq_client, ref, record)
        html = page.get_data(as_text=True)
        assert page.status_code == 422 and "選んだ記録は、この照会に今一致する記録ではありません" in html
        assert radios(html, ref) == []       # the page shown again offers no records either
        assert written(hq_app, ref) == before
    queue = hq_client.get("/staff/inquiries").get_data(as_text=True)
    assert 'data-testid="several-records"' not in queue and radios(queue, ref) == []
    # Released without a choice, as before: the answer of someone the city knows nothing about.
    assert release(hq_client, ref).status_code == 302
    answer = check(hq_client, asked)
    assert answer["information_exists"] is False and answer["whereabouts"] is None
    assert "chosen_record" not in json.loads(released_audit(hq_app, ref).detail)


def test_an_inquiry_about_a_protected_person_from_the_start_offers_no_choice(hq_app, hq_client, enroll):
    a, _b = two_records(hq_client, enroll)
    a.send(("consent", CARD, {"consent": "none", "never_disclose": True}))
    ids = record_ids(hq_app)
    log_in(hq_app, hq_client)
    asked = ask(hq_client, "駿河 太郎", "1960-06-06", "household_family").get_json()
    ref = asked["inquiry_id"]
    before = written(hq_app, ref)
    assert radios(hq_client.get("/staff/inquiries").get_data(as_text=True), ref) == []
    assert release(hq_client, ref, ids["typed"]).status_code == 422     # a forged choice of the twin
    assert written(hq_app, ref) == before and check(hq_client, asked)["information_exists"] is None


def test_a_single_match_is_released_as_before(hq_app, hq_client, enroll):
    a = Kiosk(hq_client, enroll("H031"), "dev-a")
    a.send(("checkin", CARD, {"stay_type": "in_shelter"}))
    log_in(hq_app, hq_client)
    asked = ask(hq_client, "駿河 太郎", "1960-06-06", "relative").get_json()
    ref = asked["inquiry_id"]
    queue = hq_client.get("/staff/inquiries").get_data(as_text=True)
    assert "一人に一致 / one person matches" in queue and radios(queue, ref) == []
    assert release(hq_client, ref).status_code == 302
    answer = check(hq_client, asked)
    assert answer["status"] == "released" and answer["information_exists"] is True
    assert answer["injury_or_illness"] == "not_reported" and answer["whereabouts"] is None
    detail = json.loads(released_audit(hq_app, ref).detail)
    assert "chosen_record" not in detail and detail["shown"] == ["information_exists", "injury_or_illness"]


def test_email_news_after_a_chosen_release_follows_the_chosen_record(hq_app, hq_client, enroll, smtp):  # noqa: F811
    controller, inbox = smtp
    hq_app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=controller.port, NOTIFY_INLINE=True)
    two_records(hq_client, enroll)
    ids = record_ids(hq_app)
    log_in(hq_app, hq_client)
    asked = ask(hq_client, "駿河 太郎", "1960-06-06", "household_family", email="family@example.org").get_json()
    assert inbox.messages == []
    assert release(hq_client, asked["inquiry_id"], ids["typed"]).status_code == 302
    assert len(inbox.messages) == 1
    body = inbox.messages[0].get_payload(decode=True).decode()
    assert "二区コミュニティ防災センター" in body and "焼津中学校" not in body   # H001: the chosen record's shelter
    assert "負傷・疾病：報告なし" in body and "Injury or illness: Not reported" in body   # not the card record's injury
    assert "injured" not in body


def test_review_mistakes_are_said_in_the_staffs_language_and_a_decision_made_meanwhile_is_said(
        hq_app, hq_client, enroll):
    two_records(hq_client, enroll)
    log_in(hq_app, hq_client)
    ref = ask(hq_client, "駿河 太郎", "1960-06-06", "relative").get_json()["inquiry_id"]
    ids = record_ids(hq_app)
    before = written(hq_app, ref)
    no_note = release(hq_client, ref, ids["card"], note="")
    assert no_note.status_code == 422 and "照会者をどう確認したか" in no_note.get_data(as_text=True)
    assert written(hq_app, ref) == before
    assert release(hq_client, ref, ids["card"]).status_code == 302
    again = release(hq_client, ref, ids["card"], note="同じ照会をもう一人が")   # a colleague, a moment later
    page = again.get_data(as_text=True)
    assert again.status_code == 422
    assert re.search(rf'data-testid="decided-elsewhere">{ref}: この照会はもう確認待ちではありません', page)
    assert released_audit(hq_app, ref).actor == "reviewer1"
