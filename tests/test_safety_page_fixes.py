"""The public inquiry pages after the family review: a reload sends no second inquiry, a stray space
in a reference or key is no mistake, the "too many" page keeps what was typed and says what still
stands, and staff's queue shows what they need to judge a relationship.  Real HQ app, both databases."""
from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import func, select

from hq_dashboard.db import db
from hq_dashboard.models import Inquiry
from tests.test_safety_inquiries import HANAKO, INQUIRER, ask, csrf, hq, staff  # noqa: F401 (fixtures)


def form(client, **fields) -> dict:
    return {"csrf_token": csrf(client, "/safety/"), "inquirer_name": INQUIRER["name"],
            "inquirer_address": INQUIRER["address"], "inquirer_contact": INQUIRER["contact"],
            "relationship": "relative", "reason": "家族の安否確認", "sought_name": HANAKO["name"],
            "sought_birth_date": HANAKO["birth_date"], **fields}


def inquiries(hq_app) -> int:
    with hq_app.app_context():
        return db.session.scalar(select(func.count()).select_from(Inquiry))


# Finding 6: reloading the answer page must not send a new inquiry.

def test_the_form_goes_on_to_the_answer_page_and_a_reload_asks_nothing_new(hq_app, hq):
    sent = hq.post("/safety/", data=form(hq), environ_base={"REMOTE_ADDR": "10.60.0.1"})
    assert sent.status_code == 303, sent.get_data(as_text=True)
    where = urlsplit(sent.headers["Location"])
    args = parse_qs(where.query)
    assert where.path == "/safety/check" and set(args) == {"id", "key"}
    pages = [hq.get(sent.headers["Location"], environ_base={"REMOTE_ADDR": "10.60.0.1"}) for _ in range(3)]
    assert [p.status_code for p in pages] == [200] * 3
    html = pages[-1].get_data(as_text=True)
    # The same inquiry each time, with its reference and key to keep; and only one was ever made.
    assert re.search(r'id="reference">([0-9A-F]+)<', html).group(1) == args["id"][0]
    assert re.search(r'id="key">([^<]+)<', html).group(1) == args["key"][0]
    assert inquiries(hq_app) == 1
    # The key is in the address: no Referer with it may go to another site, and no shared phone's cache
    # keeps the page.  The answer page's own fields for them are left as typed by a phone too.
    assert all(p.headers["Referrer-Policy"] == "same-origin" for p in [sent, *pages])
    assert all(p.headers.get("Cache-Control") == "no-store" for p in pages)
    for field in ('id="id"', 'id="key-input"'):
        tag = re.search(rf"<input {field}[^>]*>", html).group(0)
        assert 'autocapitalize="off"' in tag and 'autocorrect="off"' in tag, tag


# Finding 8: checking an answer tolerates a stray space; phones leave the typed key alone.

def test_a_stray_space_around_the_reference_or_key_still_finds_the_answer(hq_app, hq):
    asked = ask(hq, HANAKO, relationship="relative", addr="10.60.1.1").get_json()
    ref, key = asked["inquiry_id"], asked["access_key"]
    page = hq.get("/safety/check", query_string={"id": f" {ref.lower()} ", "key": f" {key}\n"})
    assert page.status_code == 200 and re.search(r'id="reference">([0-9A-F]+)<', page.get_data(as_text=True))
    wrong = hq.get("/safety/check", query_string={"id": ref, "key": key[:-1] + " "})
    assert wrong.status_code == 404


def test_the_check_form_does_not_let_a_phone_change_what_is_typed(hq_client):
    html = hq_client.get("/safety/check").get_data(as_text=True)
    for field in ('id="id"', 'id="key-input"'):
        tag = re.search(rf"<input {field}[^>]*>", html).group(0)
        for attribute in ('autocapitalize="off"', 'autocorrect="off"', 'spellcheck="false"'):
            assert attribute in tag, tag


# Finding 7: the "too many" page keeps what she typed, says her earlier inquiry stands and how long to wait.

def test_too_many_about_one_person_gives_the_form_back_with_what_still_stands_and_the_wait(hq_app, hq):
    hq_app.config["SAFETY_RATE_PER_PERSON"] = "1 per hour"
    typed = form(hq, reason="母が心配です")
    first = hq.post("/safety/", data=typed, environ_base={"REMOTE_ADDR": "10.60.2.1"})
    assert first.status_code == 303
    again = hq.post("/safety/", data=typed, environ_base={"REMOTE_ADDR": "10.60.2.1"},
                    headers={"Accept-Language": "ja"})
    html = again.get_data(as_text=True)
    assert again.status_code == 429 and '<html lang="ja">' in html
    error = re.search(r'<p class="error" id="form-error" role="alert">([^<]+)</p>', html).group(1)
    assert "先に受け付けた問い合わせは有効なままです" in error and "照会番号と確認キー" in error
    minutes = int(re.search(r"約(\d+)分後に、もう一度送信できます。", error).group(1))
    assert 1 <= minutes <= 60
    assert 'id="check-earlier" href="/safety/check"' in html
    # What she typed is there to send again later; nothing new was kept.
    assert f'value="{INQUIRER["name"]}"' in html and "母が心配です" in html and f'value="{HANAKO["name"]}"' in html
    assert 'value="relative" selected' in html
    assert inquiries(hq_app) == 1
    # The earlier inquiry still answers at its own address.
    assert hq.get(first.headers["Location"]).status_code == 200


def test_too_many_from_a_shared_network_does_not_claim_she_asked_before(hq_app, hq):
    hq_app.config["SAFETY_RATE_PER_CLIENT"] = "1 per minute"
    bad = hq.post("/safety/", data=form(hq, sought_name=""), environ_base={"REMOTE_ADDR": "10.60.3.1"})
    assert bad.status_code == 422   # counts against the address, receives nothing
    refused = hq.post("/safety/?lang=en", data=form(hq), environ_base={"REMOTE_ADDR": "10.60.3.1"})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 429 and "Many inquiries came from your network" in html
    assert "about this person" not in html and "You can send it again in about 1 min." in html
    assert f'value="{HANAKO["name"]}"' in html and inquiries(hq_app) == 0


# Finding 3: staff's queue says the relationship and what a release tells in words, and shows the matched
# record's address and household beside the inquirer's.

MOTHER = {"name": "駿河 春子", "birth_date": "1948-03-03", "sex": "female", "address": "焼津市中港4-1-1"}
SON = {"name": "駿河 夏男", "birth_date": "1975-06-06", "sex": "male", "address": "焼津市中港4-1-1"}


def queue_parts(client) -> dict[str, str]:
    page = client.get("/staff/inquiries")
    assert page.status_code == 200
    return {m.group(1): m.group(2) for m in re.finditer(r'<fieldset id="inquiry-([0-9A-F]+)"(.*?)</form>\s*</fieldset>',
                                                        page.get_data(as_text=True), re.S)}


def test_the_queue_shows_the_relationship_the_tier_and_the_matched_records_address_and_household(
        hq_app, hq_client, enroll):
    from hq_dashboard.staff import add_staff
    from tests.test_safety_household_protection import Kiosk
    Kiosk(hq_client, enroll("H031")).send(("checkin", MOTHER, {"stay_type": "in_shelter"}, "hh-suruga0001"),
                                          ("checkin", SON, {"stay_type": "in_shelter"}, "hh-suruga0001"))
    daughter = {"name": "駿河 秋子", "address": "東京都世田谷区1-2-3", "contact": "090-1111-2222"}

    def asks(sought, relationship, addr):
        body = {"inquirer": daughter, "relationship": relationship, "reason": "母の安否",
                "sought": {"name": sought["name"], "birth_date": sought["birth_date"]}}
        answer = hq_client.post("/api/v1/safety/inquiries", json=body, environ_base={"REMOTE_ADDR": addr})
        assert answer.status_code == 201 and answer.get_json()["status"] == "pending_review"
        return answer.get_json()["inquiry_id"]
    as_family = asks(MOTHER, "household_family", "10.60.4.1")
    as_relative = asks(MOTHER, "relative", "10.60.4.2")
    unknown = asks({"name": "居ない 人", "birth_date": "1948-03-03"}, "other", "10.60.4.3")
    # Only staff see the queue.
    assert hq_client.get("/staff/inquiries").status_code == 302
    with hq_app.app_context():
        add_staff(db.session, "reviewer2", "correct horse battery", "lead")
    login = {"csrf_token": csrf(hq_client, "/staff/login"), "username": "reviewer2", "password": "correct horse battery"}
    assert hq_client.post("/staff/login", data=login).status_code == 302
    parts = queue_parts(hq_client)

    def cell(inquiry_id, testid):
        found = re.search(rf'data-testid="{testid}">(.*?)</td>', parts[inquiry_id], re.S)
        return found.group(1) if found else None
    # The relationship in words, never the code.
    assert cell(as_family, "relationship").startswith("同居の家族（事実婚を含む）")
    assert cell(as_relative, "relationship").startswith("その他の親族")
    assert all("household_family" not in part for part in parts.values())
    # What a release would tell: everything for 同居, whether and injury for a relative (no consent given).
    family_tier, relative_tier = cell(as_family, "tier"), cell(as_relative, "tier")
    assert all(word in family_tier for word in ("安否情報の有無", "居場所", "負傷・疾病", "連絡先"))
    assert "負傷・疾病" in relative_tier and "居場所" not in relative_tier and "連絡先" not in relative_tier
    assert cell(unknown, "tier").startswith("「情報なし」と同じ回答")
    # The record's address and household next to the inquirer's Tokyo address: 同居 is doubtful.
    record = cell(as_family, "matched-record")
    assert "焼津市中港4-1-1" in record and "駿河 夏男 (1975-06-06)" in record and "駿河 春子" not in record
    assert parts[as_family].index("東京都世田谷区1-2-3") < parts[as_family].index("焼津市中港4-1-1")
    assert cell(unknown, "matched-record") is None


# A wrong key (or reference) gives the check form again, the reference filled in, to try once more.

def test_a_wrong_key_gives_the_check_form_again_with_the_reference_and_no_key(hq_app, hq):
    asked = ask(hq, HANAKO, relationship="relative", addr="10.60.3.1").get_json()
    ref, key = asked["inquiry_id"], asked["access_key"]
    wrong = hq.get("/safety/check", query_string={"id": ref, "key": "not-the-key", "lang": "en"})
    unknown = hq.get("/safety/check", query_string={"id": "0123456789AB", "key": "not-the-key", "lang": "en"})
    assert wrong.status_code == unknown.status_code == 404
    html = wrong.get_data(as_text=True)
    said = html.index("No inquiry with this reference and key. Please check them.")
    assert said < html.index('<form method="get" action="/safety/check">')
    assert re.search(r'<input id="id" name="id" value="([^"]*)"', html).group(1) == ref
    key_field = re.search(r'<input id="key-input"[^>]*>', html).group(0)
    assert "value=" not in key_field and "not-the-key" not in key_field
    # Nothing tells a wrong key from an unknown reference: the same page but for the reference typed.
    assert html.replace(ref, "REF") == unknown.get_data(as_text=True).replace("0123456789AB", "REF")
    # Tried again with the right key, from that form: the answer.
    assert hq.get("/safety/check", query_string={"id": ref, "key": key}).status_code == 200
