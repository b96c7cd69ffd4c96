"""What an inquirer's budget is spent on, and how many of one address's inquiries may wait for staff.

1. A right family code uses up no budget (neither the inquirer's for that person nor the person's
   family-code budget); a wrong one still counts in both, and so does a "right" code of a protected
   person (answered as someone unknown, it must not be told apart by the budget either).
2. One client address may have only SAFETY_WAITING_PER_CLIENT inquiries waiting for staff at once:
   beyond that an inquiry that would wait is refused, said in the page's language, and nothing is kept.
3. An IPv6 client counts by its /64, for the rates and the cap alike; the audit keeps its address.

Real HQ app and database (SQLite and PostgreSQL); people arrive through the real sync API, inquiries
through the real JSON API and the real page."""
from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from markupsafe import escape
from babel.messages.pofile import read_po
from sqlalchemy import func, select

from hq_dashboard.db import db
from hq_dashboard.i18n import LANGUAGES
from hq_dashboard.models import AuditEntry, Inquiry
from tests.test_safety_page_languages import TRANSLATIONS
from tests.test_safety_review_fixes import TARO, Kiosk, ask, csrf, decide, log_in

CODE = "Sakura2024"
UNKNOWN = ["焼津 一郎", "焼津 二郎", "焼津 三郎", "焼津 四郎", "焼津 五郎", "焼津 六郎", "焼津 七郎", "焼津 八郎",
           "焼津 九郎", "焼津 十郎", "小川 一郎", "小川 二郎"]
WAITING_JA = "この接続から送られた問い合わせの多くが、まだ市の職員の確認を待っています。"


def taro_with_family_code(hq_client, enroll, **consent):
    Kiosk(hq_client, enroll("H031"), "dev-a").send(
        ("checkin", TARO, {"stay_type": "in_shelter"}),
        ("consent", TARO, {"consent": "family", "family_code": CODE, **consent}))


def ask_taro(client, addr, code=""):
    return ask(client, TARO["name"], TARO["birth_date"], code=code, addr=addr)


def page_form(client, code="", **fields):
    return {"csrf_token": csrf(client, "/safety/"), "inquirer_name": "Takahashi Ichiro",
            "inquirer_address": "東京都港区1-1", "inquirer_contact": "090-0000-0000",
            "relationship": "household_family", "reason": "家族の安否確認", "sought_name": TARO["name"],
            "sought_birth_date": TARO["birth_date"], "family_code": code, **fields}


def received_details(hq_app) -> list[dict]:
    with hq_app.app_context():
        return [json.loads(d) for d in db.session.scalars(
            select(AuditEntry.detail).where(AuditEntry.action == "received"))]


def kept(hq_app) -> tuple[int, int]:
    with hq_app.app_context():
        return (db.session.scalar(select(func.count()).select_from(Inquiry)),
                db.session.scalar(select(func.count()).select_from(AuditEntry)))


# 1. The budget

def test_a_right_family_code_uses_up_no_budget_and_a_wrong_one_still_counts(hq_app, hq_client, enroll):
    hq_app.config.update(SAFETY_RATE_PER_PERSON="2 per hour", SAFETY_RATE_FAMILY_CODE="4 per hour")
    taro_with_family_code(hq_client, enroll)
    # A family asks again and again with the right code, by the JSON API and by the page: answered each
    # time (it was 201, 201, then 429 from the third, the first two having used up the budget of two).
    family = "10.4.0.1"
    answers = [ask_taro(hq_client, family, CODE) for _ in range(4)]
    page = hq_client.post("/safety/", data=page_form(hq_client, CODE), environ_base={"REMOTE_ADDR": family},
                          follow_redirects=True)   # the form goes on to the inquiry's answer page (303)
    assert [a.status_code for a in answers] + [r.status_code for r in page.history] == [201] * 4 + [303]
    assert {a.get_json()["status"] for a in answers} == {"answered"}
    assert all(a.get_json()["whereabouts"]["shelter_id"] == "H031" for a in answers)
    assert "焼津中学校" in page.get_data(as_text=True)
    # Wrong codes count against the guesser's budget for Taro: after two, even the right code is refused.
    guesser = "10.4.0.4"
    assert [ask_taro(hq_client, guesser, f"Guess{i:04d}").status_code for i in range(2)] == [201, 201]
    refused = ask_taro(hq_client, guesser, CODE)
    assert refused.status_code == 429 and refused.get_json()["error"] == "rate_limited"
    # ... and against Taro's family-code budget of four, which the five right codes left whole: two more
    # guesses are compared, the next is not (it waits for staff, the code unchecked).
    for addr in ("10.4.0.5", "10.4.0.6", "10.4.0.7"):
        assert ask_taro(hq_client, addr, "Guess9999").get_json()["status"] == "pending_review"
    unchecked = [d for d in received_details(hq_app) if "family_code_not_checked" in d]
    assert [d["client"] for d in unchecked] == ["10.4.0.7"]
    # The family's own budget for Taro is still whole: two inquiries without a code, then the limit.
    assert [ask_taro(hq_client, family).status_code for _ in range(3)] == [201, 201, 429]


def test_a_protected_persons_right_code_counts_like_any_guess(hq_app, hq_client, enroll):
    # Answered exactly as someone unknown: were the code given back, the budget would tell them apart.
    hq_app.config.update(SAFETY_RATE_PER_PERSON="2 per hour", SAFETY_RATE_FAMILY_CODE="10 per hour")
    taro_with_family_code(hq_client, enroll, never_disclose=True)
    answers = [ask_taro(hq_client, "10.4.1.1", CODE) for _ in range(3)]
    assert [a.status_code for a in answers] == [201, 201, 429]
    assert [a.get_json()["status"] for a in answers[:2]] == ["pending_review"] * 2
    assert all(a.get_json()["whereabouts"] is None and a.get_json()["information_exists"] is None
               for a in answers[:2])


# 2. How many of one address's inquiries may wait for staff

def test_one_address_cannot_fill_the_review_queue(hq_app, hq_client, enroll):
    hq_app.config.update(SAFETY_WAITING_PER_CLIENT=3, SAFETY_RATE_PER_PERSON="2 per hour")
    taro_with_family_code(hq_client, enroll)
    flood = "10.3.0.1"
    first = [ask(hq_client, name, "1990-01-01", addr=flood) for name in UNKNOWN[:3]]
    assert [a.get_json()["status"] for a in first] == ["pending_review"] * 3
    before = kept(hq_app)
    refused = ask(hq_client, UNKNOWN[3], "1990-01-01", addr=flood)
    assert refused.status_code == 429
    body = refused.get_json()
    assert body["error"] == "too_many_waiting" and WAITING_JA in body["message"]
    assert "still waiting for city staff" in body["message"] and "safety-information desk" in body["message"]
    assert kept(hq_app) == before                                   # no row, no audit entry
    # Another address is not held back by it; an inquiry answered at once (a right family code) adds
    # nothing to staff's queue and is answered even from the full address.
    assert ask(hq_client, UNKNOWN[3], "1990-01-01", addr="10.3.0.2").get_json()["status"] == "pending_review"
    assert ask_taro(hq_client, flood, CODE).get_json()["status"] == "answered"
    # Guessing Taro's code from the full address is refused too, and still costs the guesser's budget for
    # him (two): then even the right code is refused by the rate limit.
    guesses = [ask_taro(hq_client, flood, f"Guess{i:04d}") for i in range(2)]
    assert [g.status_code for g in guesses] == [429, 429]
    assert [g.get_json()["error"] for g in guesses] == ["too_many_waiting"] * 2
    assert ask_taro(hq_client, flood, CODE).get_json()["error"] == "rate_limited"
    # Staff decide one of the address's inquiries: it may ask one more.
    staff = hq_app.test_client()
    log_in(hq_app, staff)
    assert decide(staff, first[0].get_json()["inquiry_id"], "reject", "本人確認できず").status_code == 302
    assert ask(hq_client, UNKNOWN[4], "1990-01-01", addr=flood).status_code == 201
    assert ask(hq_client, UNKNOWN[5], "1990-01-01", addr=flood).status_code == 429
    # HQ's own desk, logged in, types callers' inquiries from one PC: not held back by the cap.
    typed = [staff.post("/safety/", data=page_form(staff, sought_name=name), environ_base={"REMOTE_ADDR": flood})
             for name in UNKNOWN[5:8]]
    assert [t.status_code for t in typed] == [303] * 3   # received: on to the answer page


def test_the_page_says_why_in_the_chosen_language_keeps_what_was_typed_and_saves_nothing(hq_app, hq_client):
    hq_app.config["SAFETY_WAITING_PER_CLIENT"] = 1
    addr = {"REMOTE_ADDR": "10.3.1.1"}
    assert ask(hq_client, UNKNOWN[0], "1990-01-01", addr="10.3.1.1").status_code == 201
    before = kept(hq_app)
    for code, (_name, locale) in LANGUAGES.items():
        with (TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po").open("rb") as f:
            said = read_po(f, locale=locale).get(
                "Many inquiries sent from this connection are still waiting for city staff to confirm them, so "
                "this one was not received. (A connection can be shared, like a shelter's or a shop's Wi-Fi: they "
                "may not be yours.) Please wait until staff have answered them, or contact the city's "
                "safety-information desk.").string
        page = hq_client.post(f"/safety/?lang={code}", data=page_form(hq_client, sought_name=UNKNOWN[1]),
                              environ_base=addr)
        html = page.get_data(as_text=True)
        assert page.status_code == 429, code
        assert said and f'id="form-error" role="alert">{escape(said)}</p>' in html, (code, html)
        assert 'value="Takahashi Ichiro"' in html                  # what they typed is still there
    assert WAITING_JA in hq_client.post("/safety/?lang=ja", data=page_form(hq_client, sought_name=UNKNOWN[1]),
                                        environ_base=addr).get_data(as_text=True)
    assert kept(hq_app) == before


def test_inquiries_sent_at_the_same_moment_cannot_pass_the_cap(hq_app):
    hq_app.config["SAFETY_WAITING_PER_CLIENT"] = 3
    with ThreadPoolExecutor(10) as pool:
        codes = list(pool.map(lambda name: ask(hq_app.test_client(), name, "1990-01-01", addr="10.3.2.1").status_code,
                              UNKNOWN[:10]))
    assert sorted(codes) == [201] * 3 + [429] * 7
    with hq_app.app_context():
        rows = db.session.scalars(select(Inquiry.status).where(Inquiry.client == "10.3.2.1")).all()
    assert rows == ["pending_review"] * 3
    assert kept(hq_app) == (3, 6)                                  # each kept one: received + pending_review


def test_the_cap_counts_the_address_behind_the_trusted_proxy(hq_app, hq_db_url):
    from hq_dashboard import create_app
    proxied = create_app({"SQLALCHEMY_DATABASE_URI": hq_db_url, "TESTING": True, "TRUSTED_PROXIES": 1,
                          "SAFETY_WAITING_PER_CLIENT": 2})
    client = proxied.test_client()
    try:
        def via_proxy(name, family):
            return client.post("/api/v1/safety/inquiries", environ_base={"REMOTE_ADDR": "10.0.0.254"},
                               headers={"X-Forwarded-For": family},
                               json={"inquirer": {"name": "高橋 一郎", "address": "東京都", "contact": "090"},
                                     "relationship": "other", "reason": "心配",
                                     "sought": {"name": name, "birth_date": "1990-01-01"}}).status_code
        assert [via_proxy(n, "203.0.113.7") for n in UNKNOWN[:3]] == [201, 201, 429]
        assert [via_proxy(n, "203.0.113.8") for n in UNKNOWN[3:5]] == [201, 201]   # another family, same proxy
    finally:
        with proxied.app_context():
            db.engine.dispose()


def test_the_cap_is_a_setting_and_a_wrong_one_stops_hq_starting(monkeypatch):
    from hq_dashboard import SettingError, create_app
    base = {"SQLALCHEMY_DATABASE_URI": "sqlite://", "TESTING": True, "SECRET_KEY": "x"}
    assert create_app(base).config["SAFETY_WAITING_PER_CLIENT"] == 50
    monkeypatch.setenv("EVAC_SAFETY_WAITING_PER_CLIENT", "7")
    assert create_app(base).config["SAFETY_WAITING_PER_CLIENT"] == 7
    for wrong in (0, "many", -3, True):
        with pytest.raises(SettingError, match="SAFETY_WAITING_PER_CLIENT"):
            create_app({**base, "SAFETY_WAITING_PER_CLIENT": wrong})


# 3. IPv6: a phone or a home has a whole /64 and may take a new address in it for every request.

def test_an_ipv6_client_is_counted_by_its_64_for_the_rate_and_the_cap(hq_app, hq_client):
    hq_app.config.update(SAFETY_RATE_PER_CLIENT="3 per minute", SAFETY_WAITING_PER_CLIENT=2)
    home = [f"2001:db8:1234:5678::{i:x}" for i in range(1, 9)]
    answers = [ask(hq_client, name, "1990-01-01", addr=addr) for name, addr in zip(UNKNOWN, home[:3])]
    assert [a.status_code for a in answers] == [201, 201, 429]        # the cap: two waiting from the /64
    assert answers[2].get_json()["error"] == "too_many_waiting"
    limited = ask(hq_client, UNKNOWN[3], "1990-01-01", addr=home[3])   # the rate: 3 a minute from the /64
    assert limited.status_code == 429 and limited.get_json()["error"] == "rate_limited"
    # The next /64 (another home) and an IPv4 client written as IPv6 (::ffff:a.b.c.d) are others.
    assert ask(hq_client, UNKNOWN[4], "1990-01-01", addr="2001:db8:1234:5679::1").status_code == 201
    assert ask(hq_client, UNKNOWN[5], "1990-01-01", addr="::ffff:192.0.2.7").status_code == 201
    with hq_app.app_context():
        waiting = dict(db.session.execute(select(Inquiry.client, func.count()).group_by(Inquiry.client)).all())
        assert waiting == {"2001:db8:1234:5678::/64": 2, "2001:db8:1234:5679::/64": 1, "192.0.2.7": 1}
    # The audit keeps the address itself, not the network.
    assert [d["client"] for d in received_details(hq_app)][:2] == home[:2]
