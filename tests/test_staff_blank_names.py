"""A name (or birth date) of only spaces on the staff tablet's forms, the tablet's own page for an
unexpected error, and a person without kana on the check-out question.  Flask's test client on a
real SQLite kiosk database."""
import re

import pytest

from evac.events import Person
from evac.identity import person_key
from kiosk import staff_store
from kiosk.store import KioskStore
from tests.staff_helpers import HANAKO, SHELTER, TARO, csrf, errors, logged_in, make_app, post, snapshot
from tests.staff_helpers import app, db  # noqa: F401 (fixtures)

BLANK_NAMES = ["   ", "\u3000", " \u3000 "]   # ASCII spaces, a full-width 「　」, both

CARD = {"name_kana": "やいづ たろう", "birth_date": TARO.birth_date, "sex": "male", "address": TARO.address,
        "stay_type": "in_shelter", "contact_phone": "054-000-0000", "household_members": "",
        "home_damage": "unknown", "consent": "", "family_code": ""}


@pytest.fixture
def store(db, app):
    s = KioskStore(db)
    yield s
    s.close()


def key(p):
    return person_key(p.name, p.birth_date, p.address)


def value_of(page: str, name: str) -> str:
    field = re.search(rf'<input[^>]*name="{re.escape(name)}"[^>]*>', page)
    assert field, f"no {name} on the page"
    found = re.search(r'value="([^"]*)"', field.group(0))
    return found.group(1) if found else ""


# -- 1. a name of only spaces -------------------------------------------------------------------

@pytest.mark.parametrize("blank", BLANK_NAMES)
def test_register_with_a_name_of_only_spaces_asks_for_the_name(app, db, blank):
    client = logged_in(app)
    before = snapshot(db)
    resp = post(client, "/staff/register", {**CARD, "name": blank}, "/staff/register")
    assert resp.status_code == 422, resp.text[:300]
    assert errors(resp.text, "name") == ["氏名を入力してください。"]
    assert "Internal Server Error" not in resp.text
    # Everything else typed is still on the card.
    assert value_of(resp.text, "name_kana") == "やいづ たろう"
    assert value_of(resp.text, "address") == TARO.address
    assert value_of(resp.text, "contact_phone") == "054-000-0000"
    assert snapshot(db) == before, "nothing written"


def test_register_with_a_birth_date_of_only_spaces_asks_for_it(app, db):
    client = logged_in(app)
    before = snapshot(db)
    resp = post(client, "/staff/register", {**CARD, "name": TARO.name, "birth_date": " \u3000"}, "/staff/register")
    assert resp.status_code == 422, resp.text[:300]
    assert errors(resp.text, "birth_date") == ["生年月日を入力してください。"]
    assert value_of(resp.text, "name") == TARO.name
    assert snapshot(db) == before


def test_a_member_row_with_a_name_of_only_spaces_asks_for_the_name(app, db):
    client = logged_in(app)
    before = snapshot(db)
    resp = post(client, "/staff/register",
                {**CARD, "name": TARO.name, "members-0-name": "\u3000\u3000", "members-0-birth_date": HANAKO.birth_date,
                 "members-0-sex": "female"}, "/staff/register")
    assert resp.status_code == 422, resp.text[:300]
    assert errors(resp.text, "members-0-name") == ["氏名を入力してください。"]
    assert value_of(resp.text, "members-0-birth_date") == HANAKO.birth_date
    assert snapshot(db) == before


@pytest.mark.parametrize("blank", BLANK_NAMES)
def test_adding_a_household_member_with_a_name_of_only_spaces_asks_for_the_name(app, store, db, blank):
    store.check_in(SHELTER, [TARO])
    url = f"/staff/person/{key(TARO)}"
    client = logged_in(app)
    before = snapshot(db)
    resp = post(client, url + "/add-member", {"member-name": blank, "member-name_kana": "やいづ はなこ",
                                              "member-birth_date": HANAKO.birth_date, "member-sex": "female"}, url)
    assert resp.status_code == 422, resp.text[:300]
    assert errors(resp.text, "member-name") == ["氏名を入力してください。"]
    assert value_of(resp.text, "member-name_kana") == "やいづ はなこ"
    assert value_of(resp.text, "member-birth_date") == HANAKO.birth_date
    assert snapshot(db) == before


def test_adding_a_household_member_with_a_birth_date_of_only_spaces_asks_for_it(app, store, db):
    store.check_in(SHELTER, [TARO])
    url = f"/staff/person/{key(TARO)}"
    client = logged_in(app)
    before = snapshot(db)
    resp = post(client, url + "/add-member", {"member-name": HANAKO.name, "member-birth_date": "  ",
                                              "member-sex": "female"}, url)
    assert resp.status_code == 422, resp.text[:300]
    assert errors(resp.text, "member-birth_date") == ["生年月日を入力してください。"]
    assert snapshot(db) == before


@pytest.mark.parametrize("blank", BLANK_NAMES)
def test_a_correction_to_a_name_of_only_spaces_asks_for_the_name(app, store, db, blank):
    store.check_in(SHELTER, [TARO])
    url = f"/staff/person/{key(TARO)}"
    client = logged_in(app)
    row = staff_store.person(store, key(TARO))
    before = snapshot(db)
    resp = post(client, url, {**CARD, "name": blank, "consent": "none", "drawn_from": row.version,
                              "address": TARO.address + "（変更）"}, url)
    assert resp.status_code == 422, resp.text[:300]
    assert errors(resp.text, "name") == ["氏名を入力してください。"]
    assert "本部に次の内容を伝えてください" not in resp.text and "a person needs a name" not in resp.text
    assert value_of(resp.text, "address") == TARO.address + "（変更）", "what was typed is kept"
    assert snapshot(db) == before


def test_the_store_refusing_a_name_says_enter_the_name(app, store, db):
    """Behind the forms: a name the store finds none in is said as the form says it, not as a detail for HQ."""
    from kiosk.staff import refusals
    with app.test_request_context("/staff/"):
        assert refusals.why(staff_store.KioskError(
            "a person needs a name; '' has none once spaces and separators are gone")) == "氏名を入力してください。"
    store.check_in(SHELTER, [TARO])
    row = staff_store.person(store, key(TARO))
    with pytest.raises(staff_store.KioskError):
        staff_store.add_to_household(store, SHELTER, row, Person("\u3000", HANAKO.birth_date, "female",
                                                                 TARO.address), [])


def test_a_withdrawal_reason_of_only_spaces_is_asked_for(app, store):
    """The other required text the tablet strips: a record withdrawn for 「　」 had no reason for HQ."""
    (ev,) = store.check_in(SHELTER, [TARO])
    store.note_refusal(ev.seq, "event 1 of the batch: a rule HQ has")
    lead = logged_in(app, "tanaka")
    resp = post(lead, f"/staff/sync/withdraw/{ev.seq}", {"reason": "\u3000 ", "confirm": "y"}, "/staff/summary")
    assert resp.status_code == 422
    assert "取り下げる理由を書いてください（本部が示した理由など）。" in resp.text
    assert store.db.execute("SELECT COUNT(*) FROM withdrawn_events").fetchone()[0] == 0


def test_a_staff_name_of_only_spaces_is_asked_for(app):
    client = app.test_client()
    resp = client.post("/staff/login", data={"csrf_token": csrf(client), "name": "\u3000", "password": "x"})
    assert errors(resp.text, "name") == ["職員名を入力してください。"]


# -- the tablet's own page for an unexpected error ---------------------------------------------

@pytest.fixture
def app_500(db):
    # As served: an unexpected error is a 500 page, not an exception raised into the test.
    return make_app(db, PROPAGATE_EXCEPTIONS=False)


def test_an_unexpected_error_before_anything_is_written_says_nothing_was_saved(app_500, db, monkeypatch):
    s = KioskStore(db)
    try:
        s.check_in(SHELTER, [TARO])
    finally:
        s.close()
    url = f"/staff/person/{key(TARO)}"
    client = logged_in(app_500)

    def broken(*_a, **_k):
        raise RuntimeError("a bug")
    monkeypatch.setattr(staff_store, "set_status", broken)
    before = snapshot(db)
    resp = post(client, url + "/status", {"status": "injured", "note": ""}, url)
    assert resp.status_code == 500
    assert snapshot(db) == before
    assert "Internal Server Error" not in resp.text
    assert '<html lang="ja">' in resp.text
    assert "予期しないエラー" in resp.text and "何も保存していません" in resp.text
    assert 'href="/staff/"' in resp.text, "a way back to the roster"
    assert "a bug" not in resp.text, "no internals on the tablet"
    # In English when the tablet is in English.
    client.get("/staff/lang/en")
    resp = post(client, url + "/status", {"status": "injured", "note": ""}, url)
    assert resp.status_code == 500
    assert "unexpected error" in resp.text and "Nothing was saved" in resp.text


def test_an_unexpected_error_after_a_write_does_not_say_nothing_was_saved(app_500, db, monkeypatch):
    s = KioskStore(db)
    try:
        s.check_in(SHELTER, [TARO])
        seq = s.last_seq
    finally:
        s.close()
    url = f"/staff/person/{key(TARO)}"
    client = logged_in(app_500)
    from kiosk.staff import roster
    # The record is written; the words of the message afterwards fail.
    monkeypatch.setattr(roster, "PERSON_STATUS_LABELS", {})
    resp = post(client, url + "/status", {"status": "injured", "note": ""}, url)
    assert resp.status_code == 500
    s = KioskStore(db)
    try:
        assert s.last_seq > seq, "the status was saved before the error"
    finally:
        s.close()
    assert "何も保存していません" not in resp.text
    assert "保存された可能性があります" in resp.text
    assert 'href="/staff/"' in resp.text


def test_an_error_in_the_page_itself_still_gets_a_page_in_both_languages(app_500, db, monkeypatch):
    client = logged_in(app_500)

    def broken(self):
        raise RuntimeError("a bug in every page")
    monkeypatch.setattr(KioskStore, "open_staff_calls", broken)
    resp = client.get("/staff/")
    assert resp.status_code == 500
    assert "Internal Server Error" not in resp.text
    assert "予期しないエラー" in resp.text and "unexpected error" in resp.text
    assert 'href="/staff/"' in resp.text


def test_an_error_outside_the_staff_pages_is_not_dressed_as_theirs(app_500, monkeypatch):
    from kiosk import checkin

    def broken():
        raise RuntimeError("a bug")
    monkeypatch.setattr(checkin, "_status", broken)
    resp = app_500.test_client().get("/api/status")
    assert resp.status_code == 500
    assert "予期しないエラー" not in resp.text and "unexpected error" not in resp.text


# -- 3. a person without kana -------------------------------------------------------------------

def test_the_check_out_question_shows_no_empty_brackets_without_kana(app, store):
    nokana = Person("二重 押子", "1985-05-05", "female", "焼津市本町2-2", "")
    store.check_in(SHELTER, [nokana, TARO])
    client = logged_in(app)
    url = f"/staff/person/{key(nokana)}"
    resp = client.post(url + "/checkout", data={"csrf_token": csrf(client, url)})
    assert resp.status_code == 200
    assert re.search(r'<p id="checkout-who">([^<]*)</p>', resp.text).group(1) == "二重 押子 1985-05-05"
    url = f"/staff/person/{key(TARO)}"
    resp = client.post(url + "/checkout", data={"csrf_token": csrf(client, url)})
    assert re.search(r'<p id="checkout-who">([^<]*)</p>', resp.text).group(1) == \
        f"{TARO.name}（{TARO.name_kana}） {TARO.birth_date}"
