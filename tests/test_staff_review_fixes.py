"""Fixes from the review of the staff tablet: what failed staff on a real shift."""
from __future__ import annotations

import re

import pytest

from evac.events import Person
from kiosk import staff_store
from kiosk.store import KioskError, KioskStore
from tests.staff_helpers import HANAKO, PASSWORD, SHELTER, TARO, csrf, logged_in, login, post
from tests.staff_helpers import app, db  # noqa: F401 (fixtures)
from tests.test_staff_roster import CARD, events, key


# -- 1. a `lang` cookie from another app on the same host -------------------------

@pytest.mark.parametrize("cookie", ["easy", "xx", "pt", "ja@easy", ""])
def test_a_lang_cookie_the_staff_catalogs_do_not_have_gives_japanese(app, cookie):
    """HQ's public pages set lang=easy for the whole host: staff must still be able to log in."""
    client = app.test_client()
    client.set_cookie("lang", cookie)
    page = client.get("/staff/login")
    assert page.status_code == 200 and '<html lang="ja">' in page.text and "ログイン" in page.text
    assert login(client).status_code == 302
    roster = client.get("/staff/")
    assert roster.status_code == 200 and "避難者名簿" in roster.text


def test_a_lang_cookie_the_staff_catalogs_have_is_used(app):
    client = app.test_client()
    client.set_cookie("lang", "en")
    assert '<html lang="en">' in client.get("/staff/login").text


# -- 2. a check-out tapped by mistake ---------------------------------------------



@pytest.fixture
def store(db, app):
    s = KioskStore(db)
    yield s
    s.close()


def _register_card(client):
    resp = client.post("/staff/register", data={"csrf_token": csrf(client, "/staff/register"), **CARD})
    assert resp.status_code == 302, resp.text
    return resp.headers["Location"]


def test_check_out_asks_first_and_the_first_tap_writes_nothing(app, store):
    client = logged_in(app)
    url = _register_card(client)
    seq = store.last_seq
    page = client.get(url).text
    assert 'id="checkout"' in page
    ask = post(client, url + "/checkout", {}, url)
    assert ask.status_code == 200 and 'id="checkout-confirm"' in ask.text and 'name="confirm" value="yes"' in ask.text
    assert store.last_seq == seq, "the first tap only asks"
    assert client.get("/staff/").text.count(CARD["name"]) >= 1
    done = post(client, url + "/checkout", {"confirm": "yes"}, url)
    assert done.status_code == 302 and store.last_seq == seq + 1 and events(store)[-1]["type"] == "checkout"


def test_a_check_out_by_mistake_is_undone_keeping_consent_details_and_needs(app, store):
    client = logged_in(app)
    url = _register_card(client)
    k = url.rsplit("/", 1)[1]
    before = staff_store.person(store, k)
    post(client, url + "/checkout", {"confirm": "yes"}, url)
    page = client.get(url).text
    assert 'id="check-in-again"' in page and 'id="checkout"' not in page
    # found again by a search on the roster, apart from those checked in
    found = client.get("/staff/", query_string={"q": CARD["name"]}).text
    assert f'href="{url}"' in found.split('id="checked-out"')[1]
    seq = store.last_seq
    resp = post(client, url + "/checkin", {"stay_type": "in_car"}, url)
    assert resp.status_code == 302 and resp.headers["Location"] == url
    written = events(store, seq)
    assert [e["type"] for e in written] == ["checkin"], "only a check-in: consent and details are not rewritten"
    assert written[0]["household_id"] == before.entry.household_id
    after = staff_store.person(store, k)
    assert after.entry.where.state == "checked_in" and after.entry.where.stay_type == "in_car"
    assert after.profile == before.profile
    assert "再入所しました" in client.get(url).text
    # a second tap (or someone already back) changes nothing, and says so without alarm
    seq = store.last_seq
    again = post(client, url + "/checkin", {"stay_type": "in_shelter"}, url)
    assert again.status_code == 302 and store.last_seq == seq
    assert "すでにこの避難所に入所しています" in client.get(url).text


def test_a_confirmed_check_out_sent_twice_changes_nothing_the_second_time(app, store):
    client = logged_in(app)
    url = _register_card(client)
    token = csrf(client, url)
    first = client.post(url + "/checkout", data={"csrf_token": token, "confirm": "yes"})
    seq = store.last_seq
    second = client.post(url + "/checkout", data={"csrf_token": token, "confirm": "yes"})
    assert first.status_code == second.status_code == 302 and store.last_seq == seq
    page = client.get(url).text
    assert "すでに退所しています" in page and 'class="flash error"' not in page


def test_check_in_again_is_only_for_someone_checked_out_from_here(app, store):
    store.check_in("H002", [TARO])
    store.check_out(TARO.name, TARO.birth_date, TARO.address)
    client = logged_in(app)
    url = f"/staff/person/{key(TARO)}"
    assert 'id="check-in-again"' not in client.get(url).text
    seq = store.last_seq
    resp = post(client, url + "/checkin", {"stay_type": "in_shelter"}, url)
    assert resp.status_code == 302 and store.last_seq == seq
    assert "退所していません" in client.get(url).text


# -- 3. the log-in page left open for more than an hour ----------------------------

def _token_signed_ago(app, client, seconds: int) -> str:
    """The CSRF token the log-in page would have carried `seconds` ago: Flask-WTF's own signing
    (itsdangerous, salt "wtf-csrf-token") of this session's secret, dated back."""
    from itsdangerous import TimestampSigner, URLSafeTimedSerializer

    class EarlierSigner(TimestampSigner):
        def get_timestamp(self):
            return super().get_timestamp() - seconds

    class Earlier(URLSafeTimedSerializer):
        default_signer = EarlierSigner

    client.get("/staff/login")
    with client.session_transaction() as session:
        raw = session["csrf_token"]
    return Earlier(app.secret_key, salt="wtf-csrf-token").dumps(raw)


def test_the_first_log_in_of_a_shift_works_on_a_page_open_for_hours(app):
    client = app.test_client()
    token = _token_signed_ago(app, client, 5 * 3600)
    resp = client.post("/staff/login", data={"csrf_token": token, "name": "sato", "password": PASSWORD})
    assert resp.status_code == 302 and resp.headers["Location"] == "/staff/"
    assert client.get("/staff/").status_code == 200


def test_a_log_in_with_a_stale_form_says_so_in_log_in_words(app):
    client = app.test_client()
    client.get("/staff/login")
    resp = client.post("/staff/login", data={"csrf_token": "not-a-token", "name": "sato", "password": PASSWORD})
    assert resp.status_code == 400
    assert "まだログインしていません" in resp.text and "名簿に戻る" not in resp.text and "保存" not in resp.text
    assert 'value="sato"' in resp.text and PASSWORD not in resp.text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', resp.text).group(1)
    again = client.post("/staff/login", data={"csrf_token": token, "name": "sato", "password": PASSWORD})
    assert again.status_code == 302, "the page it answers with logs in"


# -- 4. typing a long 避難者カード is use ---------------------------------------------

def test_staff_pages_load_the_idle_script_from_the_app_and_keep_the_meta_refresh_for_no_script(app):
    client = logged_in(app)
    page = client.get("/staff/register").text
    script = re.search(r'<script src="([^"]+)" defer id="idle-script"([^>]*)>', page)
    assert script and script.group(1) == "/static/staff/idle.js"
    assert 'data-alive="/staff/alive"' in script.group(2) and 'data-to="/staff/register"' in script.group(2)
    assert re.search(r'<noscript><meta http-equiv="refresh" content="903;url=/staff/register"', page)
    served = client.get(script.group(1))
    assert served.status_code == 200 and "javascript" in served.mimetype and b"/staff/alive" not in served.data
    csp = client.get("/staff/register").headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp


def test_the_keepalive_needs_a_login_and_notes_the_use(app):
    assert app.test_client().get("/staff/alive").status_code == 302
    client = logged_in(app)
    with client.session_transaction() as session:
        session["staff_seen"] -= 10 * 60  # ten minutes of typing since the page was loaded
    resp = client.get("/staff/alive")
    assert resp.status_code == 204 and resp.headers["Cache-Control"] == "no-store"
    with client.session_transaction() as session:
        assert session["staff_seen"] >= __import__("time").time() - 60


# -- 5. a household of more than four on one card ----------------------------------

def test_a_household_of_seven_is_one_household(app, store):
    client = logged_in(app)
    page = client.get("/staff/register").text
    rows = sorted({int(i) for i in re.findall(r'name="members-(\d+)-name"', page)})
    assert rows == list(range(10)), "every member row the form takes is on the page"
    assert '<details id="more-members">' in page, "rows past the third fold away, without a script"
    data = dict(CARD)
    family = [("焼津 桃", "2023-08-01"), ("焼津 梅", "2015-01-01"), ("焼津 松", "2012-01-01"),
              ("焼津 竹", "2010-01-01"), ("焼津 菊", "1980-01-01"), ("焼津 蘭", "1982-02-02")]
    rows_used = [0, 1, 2, 3, 6, 9]  # blank rows in between are no one
    for i, (name, born) in zip(rows_used, family):
        data.update({f"members-{i}-name": name, f"members-{i}-birth_date": born, f"members-{i}-sex": "female"})
    resp = client.post("/staff/register", data={"csrf_token": csrf(client, "/staff/register"), **data})
    assert resp.status_code == 302, resp.text
    checkins = [e for e in events(store) if e["type"] == "checkin"]
    assert [e["person"]["name"] for e in checkins] == [CARD["name"]] + [n for n, _ in family]
    assert len({e["household_id"] for e in checkins}) == 1 and checkins[0]["household_id"]


def test_an_error_in_a_folded_member_row_shows_the_rows_open(app, store):
    client = logged_in(app)
    data = {**CARD, "members-7-name": "焼津 菊"}  # no birth date or sex
    resp = client.post("/staff/register", data={"csrf_token": csrf(client, "/staff/register"), **data})
    assert resp.status_code == 422 and '<details id="more-members" open>' in resp.text
    assert 'id="members-7-birth_date-error"' in resp.text and events(store) == []


# -- 6. the same form sent twice -----------------------------------------------------

def _once(page: str) -> str:
    found = re.search(r'id="once" name="once" type="hidden" value="([^"]+)"', page)
    assert found, "the card form carries a one-time id"
    return found.group(1)


def test_a_card_sent_twice_is_saved_once(app, store):
    client = logged_in(app)
    page = client.get("/staff/register").text
    data = {"csrf_token": csrf(client, "/staff/register"), "once": _once(page), **CARD}
    first = client.post("/staff/register", data=data)
    assert first.status_code == 302
    written = len(events(store))
    second = client.post("/staff/register", data=data)
    assert second.status_code == 302 and second.headers["Location"] == first.headers["Location"]
    assert len(events(store)) == written, "nothing is written again"
    assert len({e["household_id"] for e in events(store)}) == 1
    shown = client.get(second.headers["Location"]).text
    assert "二度送信されました" in shown and "見つかりません" not in shown
    # a new card (a new page) is a new card
    alone = {k: v for k, v in data.items() if not k.startswith("members-")}
    again = client.post("/staff/register", data={**alone, "once": _once(client.get("/staff/register").text),
                                                 "name": "焼津 四郎"})
    assert again.status_code == 302 and len(events(store)) > written


def test_two_copies_of_a_card_sent_at_once_are_saved_once(app, db, store):
    """A double tap sends both before the first answers: the same cookie, the same one-time id."""
    import threading
    client = logged_in(app)
    page = client.get("/staff/register").text
    data = {"csrf_token": csrf(client, "/staff/register"), "once": _once(page), **CARD}
    cookie = client.get_cookie("session").value
    answers = []

    def send():
        other = app.test_client()
        other.set_cookie("session", cookie)
        answers.append(other.post("/staff/register", data=data))

    threads = [threading.Thread(target=send) for _ in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(a.status_code for a in answers) == [302, 302]
    assert [e["type"] for e in events(store)].count("checkin") == 2, "Jiro and Momo, once each"


def test_a_correction_sent_twice_and_old_links_find_the_corrected_person(app, store):
    client = logged_in(app)
    url = _register_card(client)
    from tests.test_staff_roster import form_of
    row = staff_store.person(store, url.rsplit("/", 1)[1])
    data = {"csrf_token": csrf(client, url), **form_of(row), "birth_date": "1948-03-14"}
    first = client.post(url, data=data)
    assert first.status_code == 302 and first.headers["Location"] != url
    written = len(events(store))
    second = client.post(url, data=data)
    assert second.status_code == 302 and second.headers["Location"] == first.headers["Location"]
    assert len(events(store)) == written
    assert "見つかりません" not in client.get(second.headers["Location"]).text
    old = client.get(url)
    assert old.status_code == 302 and old.headers["Location"] == first.headers["Location"]


# -- 7. the store's English and UTC times on Japanese pages -----------------------



def _store_refusals(store) -> list[KioskError]:
    """The refusals the kiosk store really gives, each caught from the store itself."""
    nobody = Person("居ない 人", "1990-01-01", "other", "焼津市1")
    store.check_in(SHELTER, [TARO])
    tries = [
        lambda: store.check_out(nobody.name, nobody.birth_date, nobody.address),
        lambda: store.set_needs(SHELTER, nobody.name, nobody.birth_date, nobody.address, ["pets"]),
        lambda: store.transfer(TARO.name, TARO.birth_date, TARO.address, SHELTER),
        lambda: store.check_in("H999", [HANAKO]),
        lambda: store.check_in(SHELTER, []),
        lambda: staff_store.register_household(store, SHELTER, [HANAKO, HANAKO], stay_type="in_shelter", needs=[],
                                               contact_phone="", home_damage="unknown", household_members=None,
                                               consent="none", family_code=""),
        lambda: store.withdraw(99, "理由", "tanaka", SHELTER),
    ]
    found = []
    for attempt in tries:
        with pytest.raises(KioskError) as caught:
            attempt()
        found.append(caught.value)
    return found


def test_every_store_refusal_is_said_in_japanese(app, store):
    from kiosk.staff.refusals import why
    refusals = _store_refusals(store)
    with app.test_request_context("/staff/"):
        for exc in refusals:
            words = why(exc)
            assert str(exc) not in words and re.search(r"[ぁ-んァ-ン]", words), (str(exc), words)
    with app.test_request_context("/staff/"):
        from flask import session
        session["lang"] = "en"
        assert why(refusals[0]) == "居ない 人 is not checked in at this shelter."


def test_a_refusal_on_the_page_is_japanese(app, store):
    """Two leads on two tablets: one withdrew the refused record already; the other's tap is refused."""
    client = logged_in(app, "tanaka")
    resp = post(client, "/staff/sync/withdraw/7", {"reason": "重複", "confirm": "y"}, "/staff/summary")
    assert resp.status_code == 422
    assert "記録 7 は本部が受け付けない記録ではありません" in resp.text and "is not the one" not in resp.text


def test_an_unknown_refusal_is_japanese_with_the_detail_for_hq(app):
    from kiosk.staff.refusals import why
    with app.test_request_context("/staff/"):
        words = why(KioskError("something new went wrong"))
    assert words.startswith("記録が端末の確認を通りませんでした") and "something new went wrong" in words


def test_call_times_and_last_sync_are_shelter_time_and_say_so(app, store):
    call = store.call_staff("vi")
    store.db.execute("UPDATE staff_calls SET called_at = '2026-11-25T15:05:09+00:00' WHERE id = ?", (call,))
    store.db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('last_sync_at', '2026-11-25T23:59:30+00:00')")
    page = logged_in(app).get("/staff/summary").text
    assert re.search(r'id="call-\d+">00:05 JST', page), "15:05 UTC is five past midnight in Yaizu"
    assert '<dd id="sync-last">2026-11-26 08:59 JST</dd>' in page
    assert "UTC" not in page


def test_a_card_reader_that_is_not_there_is_said_in_japanese_with_the_detail_for_hq(db, store):
    pytest.importorskip("nfc")
    from tests.staff_helpers import make_app
    store.check_in(SHELTER, [TARO])
    store.apply_config({"shelters": [{"id": SHELTER, "name": "二区", "kind": "shelter"}], "ic_token_key": "22" * 32})
    client = logged_in(make_app(db, NFC_DEVICE="usb:999:999", CARD_WAIT=1))
    url = f"/staff/person/{key(TARO)}"
    before = store.last_seq
    assert post(client, url + "/ic-link", {}, url).status_code == 302
    page = client.get(url).text
    assert "ICカードリーダーが使えません。本部に次の内容を伝えてください：" in page and store.last_seq == before


# -- 5b. a household member arriving later -------------------------------------------

def _add_member(client, url, **fields):
    data = {"member-name": "焼津 梅", "member-name_kana": "やいづ うめ", "member-birth_date": "2015-01-01",
            "member-sex": "female", **fields}
    return post(client, url + "/add-member", data, url)


def test_a_member_arriving_later_joins_the_household(app, store):
    client = logged_in(app)
    url = _register_card(client)  # Jiro and Momo, one household
    jiro = staff_store.person(store, url.rsplit("/", 1)[1])
    page = client.get(url).text
    assert 'id="add-member"' in page and "焼津 桃" in page.split('id="household-members"')[1].split("</ul>")[0]
    seq = store.last_seq
    resp = _add_member(client, url, **{"member-needs": ["allergy"]})
    assert resp.status_code == 302, resp.text
    written = events(store, seq)
    assert [e["type"] for e in written] == ["checkin", "needs", "details", "consent"]
    assert {e["household_id"] for e in written} == {jiro.entry.household_id}
    ume = staff_store.person(store, resp.headers["Location"].rsplit("/", 1)[1])
    assert ume.person.address == jiro.person.address and ume.entry.where.state == "checked_in"
    assert ume.profile.consent == "family" and ume.profile.family_code == jiro.profile.family_code
    assert ume.profile.home_damage == jiro.profile.home_damage and ume.profile.needs == ("allergy",)
    assert "焼津 梅さんを焼津 次郎さんの世帯に加え" in client.get(resp.headers["Location"]).text
    # the same form sent twice: nothing again
    seq = store.last_seq
    again = _add_member(client, url)
    assert again.status_code == 302 and store.last_seq == seq


def test_a_member_joining_a_protected_persons_household_takes_no_family_code(app, store):
    # 災対法 §86-15: the household's family code would find her child, and so her shelter.
    client = logged_in(app)
    url = _register_card(client)  # Jiro and Momo, one household, consent 'family' with a code
    jiro = staff_store.person(store, url.rsplit("/", 1)[1])
    staff_store.set_never_disclose(store, SHELTER, jiro, True)
    resp = _add_member(client, url)
    assert resp.status_code == 302, resp.text
    ume = staff_store.person(store, resp.headers["Location"].rsplit("/", 1)[1])
    assert (ume.profile.consent, ume.profile.family_code) == ("none", "")
    assert ume.entry.household_id == jiro.entry.household_id


def test_a_household_of_one_gets_its_household_id_when_someone_joins(app, store):
    store.check_in(SHELTER, [TARO])
    client = logged_in(app)
    url = f"/staff/person/{key(TARO)}"
    seq = store.last_seq
    resp = _add_member(client, url)
    assert resp.status_code == 302
    written = events(store, seq)
    assert [e["type"] for e in written][:2] == ["register", "checkin"]
    assert written[0]["person"]["name"] == TARO.name and written[0]["household_id"].startswith("hh-")
    assert len({e["household_id"] for e in written}) == 1
    assert staff_store.person(store, key(TARO)).entry.household_id == written[0]["household_id"]


def test_someone_already_known_is_not_added_over_their_own_record(app, store):
    ume = Person("焼津 梅", "2015-01-01", "female", TARO.address)
    store.check_in(SHELTER, [TARO])
    store.check_in(SHELTER, [ume], disclosure="public")
    store.check_out(ume.name, ume.birth_date, ume.address)
    client = logged_in(app)
    url = f"/staff/person/{key(TARO)}"
    seq = store.last_seq
    resp = _add_member(client, url)
    assert resp.status_code == 422 and store.last_seq == seq
    assert "すでにこの端末の記録にあります" in resp.text and '<details id="add-member" open>' in resp.text
    bad = _add_member(client, url, **{"member-birth_date": ""})
    assert bad.status_code == 422 and 'id="member-birth_date-error"' in bad.text and store.last_seq == seq


# -- 4b. a card sent after the idle log-out is kept for the next log-in ---------------

def _idle_for(client, minutes: int) -> None:
    with client.session_transaction() as session:
        session["staff_seen"] -= minutes * 60


def test_a_card_sent_after_the_idle_log_out_comes_back_after_logging_in(app, store):
    from evac.individual_number import check_digit
    client = logged_in(app)
    page = client.get("/staff/register").text
    number = "12345678901"
    number += str(check_digit(number))  # an Individual Number typed into a field by mistake
    card = {"csrf_token": csrf(client, "/staff/register"), "once": _once(page), **CARD,
            "household_members": number}
    _idle_for(client, 20)
    resp = client.post("/staff/register", data=card)
    assert resp.status_code == 302 and resp.headers["Location"] == "/staff/login"
    assert events(store) == [], "nothing is saved after the log-out"
    login_page = client.get(resp.headers["Location"]).text
    assert "このカードは保存されていません" in login_page and "satoさんのためだけに保持" in login_page
    assert CARD["name"] not in login_page
    token = csrf(client)
    back = client.post("/staff/login", data={"csrf_token": token, "name": "sato", "password": PASSWORD})
    assert back.status_code == 302 and back.headers["Location"] == "/staff/register", "her card waits there"
    kept = client.get("/staff/register").text
    assert 'id="card-not-saved"' in kept, "sent after the log-out: told it was NOT saved"
    for value in (CARD["name"], CARD["address"], CARD["contact_phone"], CARD["family_code"], "焼津 桃"):
        assert f'value="{value}"' in kept, value
    assert number not in kept, "番号法 §20: an Individual Number is not kept"
    assert events(store) == []
    # taken once: the next page is a fresh card
    assert 'id="card-not-saved"' not in client.get("/staff/register").text
    # staff fill in the field and send it: saved once
    sent = {k: v for k, v in re.findall(r'name="([^"]+)"[^>]*value="([^"]*)"', kept)}
    assert sent["once"] == card["once"]
    resp = client.post("/staff/register", data={**card, "csrf_token": csrf(client, "/staff/register"),
                                                "household_members": "4"})
    assert resp.status_code == 302 and [e["person"]["name"] for e in events(store) if e["type"] == "checkin"] == [
        CARD["name"], "焼津 桃"]


def test_a_card_from_elsewhere_is_not_kept(app, store):
    client = logged_in(app)
    _idle_for(client, 20)
    resp = client.post("/staff/register", data={"csrf_token": "forged", **CARD})
    assert resp.headers["Location"] == "/staff/login"
    assert len(app.extensions["staff_held_forms"]) == 0


def test_pages_answering_a_person_form_reload_to_the_persons_page(app, store):
    """The idle reload of a page shown after a POST must go to an address that takes a GET."""
    client = logged_in(app)
    url = _register_card(client)
    for action, data in (("/checkout", {}), ("/transfer", {"to_shelter": ""}), ("/add-member", {})):
        page = post(client, url + action, data, url).text
        assert f'data-to="{url}"' in page and f'content="903;url={url}"' in page, action
        assert client.get(url + action).status_code == 405, "the action's own address takes no GET"


def test_the_summary_shown_after_a_refused_form_reloads_to_the_summary(app):
    client = logged_in(app, "tanaka")
    for action, data in (("/staff/shelter-status", {"status": "nonsense"}), ("/staff/sync/withdraw/3", {})):
        page = post(client, action, data, "/staff/summary").text
        assert 'data-to="/staff/summary"' in page and 'content="903;url=/staff/summary"' in page, action
