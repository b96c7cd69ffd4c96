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
    # The key is in the address: no Referer with it may go to another site.
    assert all(p.headers["Referrer-Policy"] == "same-origin" for p in [sent, *pages])


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
