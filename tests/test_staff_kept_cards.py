"""A half-typed 避難者カード kept across the end of a staff session goes back only to the staff member
who typed it, within a bounded time; a card sent after the server had already logged the tablet out is
kept and comes back marked NOT saved; the lead saves every record for HQ from the tablet.
Real Flask app on a real SQLite kiosk database, through Flask's test client."""
from __future__ import annotations

import re

import pytest

from evac.carried import read_carried_file
from evac.events import Person
from kiosk.staff import held
from kiosk.store import KioskStore
from tests.conftest import run_evac
from tests.staff_helpers import HANAKO, SHELTER, TARO, csrf, logged_in, login, snapshot
from tests.staff_helpers import app, db  # noqa: F401 (fixtures)
from tests.test_staff_roster import CARD, events

HALF_TYPED = {"name": "焼津 四郎", "address": "焼津市本町4-4", "contact_phone": "054-626-4444",
              "sex": "male", "stay_type": "in_shelter", "home_damage": "unknown", "consent": "none"}


@pytest.fixture
def store(db, app):
    s = KioskStore(db)
    yield s
    s.close()


JIRO = Person("焼津 次郎", "1948-03-04", "male", "焼津市本町2-2")


def _idle_for(client, minutes: int) -> None:
    with client.session_transaction() as session:
        session["staff_seen"] -= minutes * 60


def _card_form(client) -> dict:
    page = client.get("/staff/register").text
    once = re.search(r'name="once" type="hidden" value="([^"]+)"', page).group(1)
    return {"csrf_token": csrf(client, "/staff/register"), "once": once}


def _left_at_idle(client, card: dict):
    """What static/staff/idle.js does when the card page lay unused for the idle limit."""
    return client.post("/staff/register/hold", data={**_card_form(client), **card})


def _log_out(client):
    return client.post("/staff/logout", data={"csrf_token": csrf(client, "/staff/")})


def _kept_cards(app) -> int:
    return len(app.extensions["staff_held_forms"])


# -- 1. only the staff member who typed it gets it back ----------------------------------------------------

def test_a_kept_card_is_not_given_to_the_next_person_logging_in_on_the_tablet(app, store):
    tablet = logged_in(app, "sato")
    before = snapshot(app.config["KIOSK_DB"])
    left = _left_at_idle(tablet, HALF_TYPED)
    assert left.headers["Location"] == "/staff/login" and _kept_cards(app) == 1
    login_page = tablet.get("/staff/login").text
    assert "satoさんのためだけに保持" in login_page and "メモリの中だけ" in login_page and "再起動すると失われます" in login_page
    assert HALF_TYPED["name"] not in login_page

    # tanaka (the lead) logs in next on the same tablet: the roster, no card, nothing of it on any page
    answer = login(tablet, "tanaka")
    assert answer.headers["Location"] == "/staff/"
    card_page = tablet.get("/staff/register").text
    assert 'id="card-kept"' not in card_page and 'id="card-not-saved"' not in card_page
    for value in HALF_TYPED["name"], HALF_TYPED["address"], HALF_TYPED["contact_phone"]:
        assert value not in card_page and value not in tablet.get("/staff/").text
    assert _kept_cards(app) == 1, "still kept for sato"
    assert snapshot(app.config["KIOSK_DB"]) == before, "nothing was saved"

    # sato comes back to the tablet: straight to her card, as it was, still not saved
    _log_out(tablet)
    back = login(tablet, "sato")
    assert back.headers["Location"] == "/staff/register"
    kept = tablet.get("/staff/register").text
    assert 'id="card-kept"' in kept and 'id="card-not-saved"' not in kept
    for field in ("name", "address", "contact_phone"):
        assert f'value="{HALF_TYPED[field]}"' in kept
    assert snapshot(app.config["KIOSK_DB"]) == before
    assert _kept_cards(app) == 0 and 'id="card-kept"' not in tablet.get("/staff/register").text, "taken once"


def test_a_kept_card_is_not_given_to_another_staff_member_on_another_tablet(app):
    sato = logged_in(app, "sato")
    _left_at_idle(sato, HALF_TYPED)
    tanaka = logged_in(app, "tanaka")
    assert HALF_TYPED["name"] not in tanaka.get("/staff/register").text
    other_tablet = logged_in(app, "sato")   # the same staff member, on the next tablet: hers
    assert f'value="{HALF_TYPED["name"]}"' in other_tablet.get("/staff/register").text


def test_a_kept_card_is_kept_for_four_idle_limits_then_forgotten(app):
    held_forms = app.extensions["staff_held_forms"]
    now = [1000.0]
    held_forms.clock = lambda: now[0]
    limit = app.config["STAFF_IDLE_MINUTES"] * 60
    assert held.KEEP_IDLE_LIMITS == 4

    _left_at_idle(logged_in(app, "sato"), HALF_TYPED)
    now[0] += held.KEEP_IDLE_LIMITS * limit - 1
    assert 'value="焼津 四郎"' in logged_in(app, "sato").get("/staff/register").text

    _left_at_idle(logged_in(app, "sato"), HALF_TYPED)
    now[0] += held.KEEP_IDLE_LIMITS * limit
    late = logged_in(app, "sato")
    assert HALF_TYPED["name"] not in late.get("/staff/register").text and _kept_cards(app) == 0


def test_a_card_with_nothing_typed_is_not_kept(app):
    client = logged_in(app, "sato")
    left = _left_at_idle(client, {"sex": "male", "stay_type": "in_shelter", "home_damage": "unknown",
                                  "consent": "none", "members-0-sex": ""})
    assert left.headers["Location"] == "/staff/login" and _kept_cards(app) == 0
    assert "保持しています" not in client.get("/staff/login").text


# -- the log-out button on the card page keeps the card on screen ---------------------------------------

def test_the_log_out_button_on_the_card_page_sends_the_card_to_be_kept(app):
    client = logged_in(app, "sato")
    page = client.get("/staff/register").text
    button = re.search(r'<button[^>]*id="logout"[^>]*>', page).group(0)
    assert 'form="card-form"' in button and 'formaction="/staff/register/hold"' in button
    assert 'name="leaving" value="logout"' in button
    other = client.get("/staff/").text   # elsewhere the button only logs out
    assert 'form="card-form"' not in re.search(r'<button[^>]*id="logout"[^>]*>', other).group(0)

    out = client.post("/staff/register/hold", data={**_card_form(client), **HALF_TYPED, "leaving": "logout"})
    assert out.headers["Location"] == "/staff/login"
    words = client.get("/staff/login").text
    assert "ログアウトしました" in words and "satoさんのためだけに保持" in words
    assert "分間操作がなかったため" not in words, "not told it was the idle log-out"
    assert client.get("/staff/").headers["Location"].startswith("/staff/login"), "logged out"
    assert _kept_cards(app) == 1
    assert login(client, "sato").headers["Location"] == "/staff/register"
    assert 'id="card-kept"' in client.get("/staff/register").text


def test_logging_out_from_an_empty_card_keeps_nothing(app):
    client = logged_in(app, "sato")
    out = client.post("/staff/register/hold", data={**_card_form(client), "sex": "female",
                                                    "stay_type": "in_shelter", "leaving": "logout"})
    assert out.headers["Location"] == "/staff/login" and _kept_cards(app) == 0
    assert "ログアウトしました" in client.get("/staff/login").text


# -- 2. 'Check in' pressed after the server had already logged the tablet out -----------------------------

def test_a_card_sent_after_the_server_logged_out_is_kept_and_said_to_be_not_saved(app, store):
    client = logged_in(app, "sato")
    card = {**_card_form(client), **CARD}
    before = snapshot(app.config["KIOSK_DB"])
    _idle_for(client, 20)
    # the page's keep-alive arrives too late: the server logs the tablet out at it
    assert client.get("/staff/alive").headers["Location"] == "/staff/login"
    sent = client.post("/staff/register", data=card)
    assert sent.status_code == 302 and sent.headers["Location"] == "/staff/login"
    assert snapshot(app.config["KIOSK_DB"]) == before, "nothing saved, nothing half-written"
    words = client.get("/staff/login").text
    assert "このカードは保存されていません" in words and "satoさんのためだけに保持" in words
    assert CARD["name"] not in words

    # someone else logs in first: no card for them
    assert login(client, "tanaka").headers["Location"] == "/staff/"
    assert CARD["name"] not in client.get("/staff/register").text
    _log_out(client)

    assert login(client, "sato").headers["Location"] == "/staff/register"
    back = client.get("/staff/register").text
    assert 'id="card-not-saved"' in back and "もう一度「受付する」を押して保存してください" in back
    for value in (CARD["name"], CARD["address"], CARD["family_code"], "焼津 桃"):
        assert f'value="{value}"' in back
    assert snapshot(app.config["KIOSK_DB"]) == before, "never saved without her pressing Check in"
    again = {k: v for k, v in re.findall(r'name="([^"]+)"[^>]*value="([^"]*)"', back)}
    assert again["once"] == card["once"]
    resp = client.post("/staff/register", data={**card, "csrf_token": csrf(client, "/staff/register")})
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/staff/person/")
    assert [e["person"]["name"] for e in events(store) if e["type"] == "checkin"] == [CARD["name"], "焼津 桃"]


def test_a_card_sent_after_logging_out_in_english_says_it_was_not_saved(app):
    client = logged_in(app, "sato")
    client.get("/staff/lang/en")
    card = {**_card_form(client), **CARD}
    _log_out(client)   # logged out from another page of the same tablet meanwhile
    client.post("/staff/register", data=card)
    words = client.get("/staff/login").text
    assert "This card was NOT saved" in words and "kept for sato only" in words and "a restart" in words
    login(client, "sato")
    assert "This card was NOT saved: you pressed Check in after you had been logged out" in client.get(
        "/staff/register").text


def test_a_late_card_from_elsewhere_is_not_kept(app):
    client = logged_in(app, "sato")
    _log_out(client)
    sent = client.post("/staff/register", data={"csrf_token": "forged", **CARD})
    assert sent.status_code in (302, 400) and _kept_cards(app) == 0
    stranger = app.test_client()   # never logged in here: nobody to keep it for
    stranger.post("/staff/register", data={"csrf_token": csrf(stranger), **CARD})
    assert _kept_cards(app) == 0


# -- 3. the lead saves every record for HQ -----------------------------------------------------------------

def test_the_lead_saves_every_record_as_evac_kiosk_carry_all_does(app, store, tmp_path):
    store.check_in(SHELTER, [TARO, HANAKO])
    store.check_in(SHELTER, [JIRO])
    store.set_acked(store.last_seq)   # HQ acknowledged everything... then lost its database
    lead = logged_in(app, "tanaka")
    summary = lead.get("/staff/summary").text
    assert 'id="carry"' not in summary, "nothing is waiting to be sent"
    assert 'id="carry-all-download"' in summary and "この端末の全記録 3 件" in summary
    assert "バックアップから戻されたとき" in summary

    answer = lead.get("/staff/carry?records=all")
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    assert answer.headers["Content-Disposition"] == 'attachment; filename="records-H001-all-1-3.json"'
    carried = read_carried_file(answer.data)
    cli_file = tmp_path / "all.json"
    wrote = run_evac("kiosk", "carry", "--db", app.config["KIOSK_DB"], "--out", str(cli_file), "--all")
    assert wrote.returncode == 0, wrote.stderr
    by_cli = read_carried_file(cli_file.read_bytes())
    assert (carried.device_id, carried.events) == (by_cli.device_id, by_cli.events)
    assert [e["seq"] for e in carried.events] == [1, 2, 3]
    # the usual file still holds only what HQ lacks
    assert "届ける記録はありません" in lead.get("/staff/carry", follow_redirects=True).text


def test_only_the_lead_saves_every_record(app, store):
    store.check_in(SHELTER, [TARO])
    staff = logged_in(app, "sato")
    assert 'id="carry-all"' not in staff.get("/staff/summary").text
    refused = staff.get("/staff/carry?records=all")
    assert refused.status_code == 403 and "避難所責任者だけ" in refused.text and TARO.name not in refused.text


def test_every_record_of_an_empty_kiosk_is_nothing_to_carry(app):
    lead = logged_in(app, "tanaka")
    assert 'id="carry-all"' not in lead.get("/staff/summary").text
    answer = lead.get("/staff/carry?records=all", follow_redirects=True)
    assert answer.status_code == 200 and "この端末にはまだ記録がありません" in answer.text


def test_the_all_records_choice_is_explained_in_english(app, store):
    store.check_in(SHELTER, [TARO])
    lead = logged_in(app, "tanaka")
    lead.get("/staff/lang/en")
    page = lead.get("/staff/summary").text
    assert "Save all 1 record(s) of this kiosk for HQ" in page and "restored from a backup" in page


