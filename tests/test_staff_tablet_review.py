"""The staff tablet review (kiosk /staff/ pages): two tablets on one person, a paper form for
someone already here, the main person's sex, injury or illness, an out-of-date transfer, the staff
call's language and unknown pages.  Flask's test client on a real SQLite kiosk database."""
import json
import re

import pytest

from evac.events import Person
from evac.identity import person_key
from kiosk import staff_store
from kiosk.store import KioskStore
from tests.staff_helpers import SHELTER, errors, logged_in, snapshot
from tests.staff_helpers import app, db  # noqa: F401 (fixtures)

JIRO = Person("大井 次郎", "1940-04-04", "male", "焼津市大井川1-1", "おおい じろう")


@pytest.fixture
def store(db, app):
    s = KioskStore(db)
    yield s
    s.close()


def key(p):
    return person_key(p.name, p.birth_date, p.address)


def events(store, since=0):
    return [json.loads(b) for (b,) in store.db.execute("SELECT body FROM events WHERE seq > ? ORDER BY seq", (since,))]


def hidden(page: str, name: str) -> str:
    found = re.search(rf'name="{name}"[^>]*value="([^"]*)"|value="([^"]*)"[^>]*name="{name}"', page)
    assert found, f"no {name} on the page"
    return found.group(1) or found.group(2)


def form_on(page: str) -> dict:
    """The correction form as the page drew it (what a tablet sends back when only one field is touched)."""
    form = page
    fields = {}
    for name in ("name", "name_kana", "birth_date", "address", "contact_phone", "household_members", "family_code",
                 "drawn_from"):
        m = re.search(rf'<input[^>]*name="{name}"[^>]*>', form)
        v = re.search(r'value="([^"]*)"', m.group(0)) if m else None
        fields[name] = v.group(1) if v else ""
    for name in ("sex", "stay_type", "home_damage", "consent"):
        select = re.search(rf'<select[^>]*name="{name}".*?</select>', form, re.S).group(0)
        fields[name] = re.search(r'<option selected value="([^"]*)"|<option value="([^"]*)" selected', select).group(
            1) or ""
    fields["needs"] = re.findall(r'<input checked[^>]*name="needs"[^>]*value="([^"]*)"', form)
    return fields


# -- 1. two tablets correcting one person ---------------------------------------------------------

def test_an_out_of_date_correction_form_is_refused_and_writes_nothing(app, store, db):
    store.check_in(SHELTER, [JIRO])
    url = f"/staff/person/{key(JIRO)}"
    a, b = logged_in(app, "sato"), logged_in(app, "tanaka")
    page_a, page_b = a.get(url).text, b.get(url).text
    sent_a = {**form_on(page_a), "name": "大井 二郎", "needs": ["elderly"]}
    resp = a.post(url, data={"csrf_token": hidden(page_a, "csrf_token"), **sent_a})
    assert resp.status_code == 302
    after_a = staff_store.person(store, key(JIRO))
    assert after_a.person.name == "大井 二郎" and after_a.profile.needs == ("elderly",)
    before = snapshot(db)
    # B, on the page drawn before A saved, changes only where he stays.
    resp = b.post(url, data={"csrf_token": hidden(page_b, "csrf_token"), **form_on(page_b), "stay_type": "in_car"})
    assert resp.status_code == 409
    assert '<p class="flash error" role="status">この方の記録は、このページを開いた後にほかの端末で変更されました。' \
           '何も保存していません。' in resp.text, "said at the top of the page"
    assert snapshot(db) == before, "nothing written: A's correction stands"
    now = staff_store.person(store, key(JIRO))
    assert now.person.name == "大井 二郎" and now.profile.needs == ("elderly",)
    assert now.entry.where.stay_type == "in_shelter"
    # The page B now has shows the record as it is; sent from there, B's change is saved.
    again = {**form_on(resp.text), "stay_type": "in_car"}
    assert again["name"] == "大井 二郎" and again["needs"] == ["elderly"]
    resp = b.post(url, data={"csrf_token": hidden(resp.text, "csrf_token"), **again})
    assert resp.status_code == 302
    now = staff_store.person(store, key(JIRO))
    assert (now.person.name, now.profile.needs, now.entry.where.stay_type) == ("大井 二郎", ("elderly",), "in_car")


def test_a_correction_form_without_its_version_is_refused(app, store, db):
    store.check_in(SHELTER, [JIRO])
    url = f"/staff/person/{key(JIRO)}"
    client = logged_in(app)
    page = client.get(url).text
    sent = {k: v for k, v in form_on(page).items() if k != "drawn_from"}
    before = snapshot(db)
    resp = client.post(url, data={"csrf_token": hidden(page, "csrf_token"), **sent, "stay_type": "in_car"})
    assert resp.status_code == 409 and snapshot(db) == before


# -- 2. a paper form for someone already checked in here ------------------------------------------

CARD = {"name": "焼津 次郎", "name_kana": "やいづ じろう", "birth_date": "1948-03-04", "sex": "male",
        "address": "焼津市本町2-2", "stay_type": "in_shelter", "needs": ["dialysis"],
        "contact_phone": "054-626-1111", "household_members": "2", "home_damage": "half",
        "consent": "family", "family_code": "sakura7",
        "members-0-name": "焼津 桃", "members-0-birth_date": "2023-08-01", "members-0-sex": "female"}
JIRO_CARD = Person("焼津 次郎", "1948-03-04", "male", "焼津市本町2-2")
MOMO = Person("焼津 桃", "2023-08-01", "female", "焼津市本町2-2")


def send_card(client, card: dict):
    page = client.get("/staff/register").text   # a new page: a new one-time id, as after Back and a reload
    return client.post("/staff/register", data={"csrf_token": hidden(page, "csrf_token"),
                                                 "once": hidden(page, "once"), **card})


def test_a_paper_form_for_someone_already_checked_in_here_saves_nothing(app, store, db):
    client = logged_in(app)
    assert send_card(client, CARD).status_code == 302
    before = snapshot(db)
    # The same card again (Back, then Check in), and a blank card for him: his consent and code must stay.
    for card in (CARD, {"name": "焼津次郎", "birth_date": "1948-03-04", "sex": "male", "address": "焼津市本町2-2",
                        "stay_type": "in_shelter", "home_damage": "unknown", "consent": "none"}):
        resp = send_card(client, card)
        assert resp.status_code == 409
        assert "焼津 次郎さんはすでにこの避難所で受付済みです。何も保存していません。" in errors(resp.text, "name")[0]
        assert f'href="/staff/person/{key(JIRO_CARD)}"' in resp.text, "a link to his page"
        assert snapshot(db) == before
    row = staff_store.person(store, key(JIRO_CARD))
    assert (row.profile.consent, row.profile.family_code, row.profile.contact_phone) == \
        ("family", "sakura7", "054-626-1111")


def test_a_card_that_did_not_ask_about_consent_or_phone_leaves_them_as_given_elsewhere(app, store, db):
    """Review of the day's fixes: a card typed at a second shelter for someone who gave a family consent and
    code at the first wrote consent 「なし」 (the form's default) and a blank phone, and HQ took them over."""
    client = logged_in(app)
    page = client.get("/staff/register").text
    consent = re.search(r'<select[^>]*name="consent".*?</select>', page, re.S).group(0)
    assert re.search(r'<option selected value="">|<option value="" selected>', consent), "not asked, by default"
    card = {"name": "大家 二郎", "birth_date": "1951-01-02", "sex": "male", "address": "焼津市本町3-3",
            "stay_type": "in_shelter", "home_damage": "unknown"}
    last = store.last_seq
    assert send_card(client, card).status_code == 302
    written = events(store, last)
    assert [e["type"] for e in written] == ["checkin", "details"]
    assert "contact_phone" not in written[1]["data"]
    # Asked and answered 「なし」 on the card: said, as before.
    last = store.last_seq
    assert send_card(client, {**card, "name": "大家 三郎", "consent": "none"}).status_code == 302
    assert [e["data"]["consent"] for e in events(store, last) if e["type"] == "consent"] == ["none"]


def test_a_household_with_one_member_already_here_saves_nobody_and_says_who(app, store, db):
    client = logged_in(app)
    card = {k: v for k, v in CARD.items() if not k.startswith("members-")}
    assert send_card(client, card).status_code == 302
    before = snapshot(db)
    # Momo, new, is first on the card; Jiro, here already, is a member row.
    resp = send_card(client, {**card, "name": "焼津 桃", "birth_date": "2023-08-01", "sex": "female",
                              "members-0-name": "焼津 次郎", "members-0-birth_date": "1948-03-04",
                              "members-0-sex": "male"})
    assert resp.status_code == 409 and snapshot(db) == before
    assert errors(resp.text, "name") == []
    assert "焼津 次郎さんはすでにこの避難所で受付済みです" in errors(resp.text, "members-0-name")[0]
    assert staff_store.person(store, key(MOMO)) is None


def test_someone_checked_out_from_here_may_be_registered_again(app, store):
    client = logged_in(app)
    assert send_card(client, CARD).status_code == 302
    store.check_out(JIRO_CARD.name, JIRO_CARD.birth_date, JIRO_CARD.address)
    card = {k: v for k, v in CARD.items() if not k.startswith("members-")}
    assert send_card(client, card).status_code == 302
    assert staff_store.person(store, key(JIRO_CARD)).entry.where.state == "checked_in"


# -- 3. the main person's sex is chosen, never a default -----------------------------------------

def test_the_main_persons_sex_starts_unchosen_and_must_be_chosen(app, db):
    client = logged_in(app)
    page = client.get("/staff/register").text
    select = re.search(r'<select[^>]*name="sex".*?</select>', page, re.S).group(0)
    assert "selected" not in select and re.search(r'<select[^>]*><option value="">—</option>', select), \
        "nothing chosen (the browser shows the first, —): not 女 by default"
    card = {k: v for k, v in CARD.items() if k != "sex"}
    before = snapshot(db)
    resp = client.post("/staff/register", data={"csrf_token": hidden(page, "csrf_token"), "once": hidden(page, "once"),
                                                 **card})
    assert resp.status_code == 422 and errors(resp.text, "sex") == ["性別を選んでください。"]
    assert snapshot(db) == before
    client.get("/staff/lang/en")
    resp = client.post("/staff/register", data={"csrf_token": hidden(page, "csrf_token"), "once": hidden(page, "once"),
                                                 **card})
    assert errors(resp.text, "sex") == ["Choose the sex (性別)."]


# -- 4. injury or illness, recorded by staff -----------------------------------------------------

def test_staff_record_injury_or_illness_as_a_status_event_shown_on_the_page(app, store, db):
    store.check_in(SHELTER, [JIRO])
    url = f"/staff/person/{key(JIRO)}"
    client = logged_in(app)
    page = client.get(url).text
    assert 'id="injury-now">記録なし<' in page
    seq = store.last_seq
    resp = client.post(url + "/status", data={"csrf_token": hidden(page, "csrf_token"), "status": "injured",
                                              "note": "左足首の捻挫"})
    assert resp.status_code == 302
    (ev,) = events(store, seq)
    assert ev["type"] == "status" and ev["data"] == {"status": "injured", "note": "左足首の捻挫"}
    assert ev["shelter_id"] == SHELTER and ev["person"]["name"] == JIRO.name
    assert store.outbox(10)[-1] == ev, "bound for HQ"
    page = client.get(url).text
    assert "大井 次郎さんのけが・病気を記録しました：けが" in page
    assert 'id="injury-now">けが — 左足首の捻挫<' in page
    assert "左足首の捻挫" in re.search(r'<section id="history">.*?</section>', page, re.S).group(0)


@pytest.mark.parametrize("sent, field, message", [
    ({"status": ""}, "status", "選んでください。"),
    ({"status": "dead"}, "status", "選択肢から選んでください。"),
    ({"status": "ill", "note": "x" * 501}, "note", "500文字以内で入力してください。"),
    ({"status": "ill", "note": "番号 1234-5678-9018"}, "note",
     "ここにマイナンバー（個人番号）を入力しないでください。避難所では記録できません。"),
])
def test_a_bad_injury_or_illness_form_saves_nothing(app, store, db, sent, field, message):
    store.check_in(SHELTER, [JIRO])
    url = f"/staff/person/{key(JIRO)}"
    client = logged_in(app)
    page = client.get(url).text
    before = snapshot(db)
    resp = client.post(url + "/status", data={"csrf_token": hidden(page, "csrf_token"), **sent})
    assert resp.status_code == 422 and message in errors(resp.text, field)
    assert "何も保存していません" in resp.text and snapshot(db) == before


def test_injury_or_illness_recorded_on_the_tablet_reaches_hq(app, store, hq_server, tmp_path):
    import sqlite3

    from tests.conftest import run_evac
    from tests.test_sync_http import enroll
    hq = hq_server()
    token = enroll(hq.db_url, SHELTER)
    store.check_in(SHELTER, [JIRO])
    url = f"/staff/person/{key(JIRO)}"
    client = logged_in(app)
    page = client.get(url).text
    assert client.post(url + "/status", data={"csrf_token": hidden(page, "csrf_token"), "status": "hospitalised",
                                              "note": "焼津市立総合病院"}).status_code == 302
    result = run_evac("kiosk", "sync", "--db", str(app.config["KIOSK_DB"]), "--hq", hq.url, "--token", token)
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(hq.db_url.removeprefix("sqlite:///")) as con:
        assert con.execute("SELECT name, status, status_note FROM persons").fetchall() == [
            (JIRO.name, "hospitalised", "焼津市立総合病院")]


# -- 5. a transfer from a page drawn before the person left ----------------------------------------

@pytest.mark.parametrize("meanwhile, message", [
    (lambda s: s.check_out(JIRO.name, JIRO.birth_date, JIRO.address),
     "大井 次郎さんはすでに退所しています。移動は保存していません。"),
    (lambda s: s.transfer(JIRO.name, JIRO.birth_date, JIRO.address, "H002"),
     "大井 次郎さんはすでに{H002}へ移動中です。この移動は保存していません。"),
])
def test_an_out_of_date_transfer_says_why_nothing_was_saved(app, store, db, meanwhile, message):
    store.check_in(SHELTER, [JIRO])
    url = f"/staff/person/{key(JIRO)}"
    client = logged_in(app)
    page = client.get(url).text     # B's page, drawn while he is here
    meanwhile(store)                # A checks him out (or moves him) on another tablet
    before = snapshot(db)
    resp = client.post(url + "/transfer", data={"csrf_token": hidden(page, "csrf_token"), "to_shelter": "H003"})
    assert resp.status_code == 302 and snapshot(db) == before
    assert message.format(H002=store.shelter_name("H002")) in client.get(url).text


# -- 6. a call from the screen names its language -------------------------------------------------

@pytest.mark.parametrize("lang, ja, en", [("pt", "ポルトガル語 (Português)", "Portuguese (Português)"),
                                          ("ja", "日本語", "Japanese (日本語)"),
                                          ("easy", "やさしい日本語 (やさしい にほんご)", "Easy Japanese (やさしい にほんご)"),
                                          ("tl", "タガログ語 (Tagalog)", "Tagalog")])
def test_a_call_from_the_screen_says_the_languages_name(app, lang, ja, en):
    assert app.test_client().post(f"/screen/call-staff?lang={lang}", json={}).status_code == 201
    client = logged_in(app)
    assert f"画面の言語: {ja}<" in client.get("/staff/summary").text.replace("\n", "")
    client.get("/staff/lang/en")
    page = client.get("/staff/summary").text
    assert f"{en}<" in page.replace("\n", "") and f"language on the screen: {lang}<" not in page


# -- 7. an unknown staff address --------------------------------------------------------------------

@pytest.mark.parametrize("logged", [True, False])
def test_an_unknown_staff_address_gets_the_tablets_own_page(app, logged):
    client = logged_in(app) if logged else app.test_client()
    resp = client.get("/staff/no-such-page")
    assert resp.status_code == 404 and "この端末には、そのページまたはその人の記録がありません。" in resp.text
    assert "Not Found" not in resp.text and 'lang="ja"' in resp.text
    client.get("/staff/lang/en")
    resp = client.get("/staff/person/x/no-such-action")
    assert resp.status_code == 404 and "This kiosk has no such page or person." in resp.text
    # Not the evacuee screen's addresses: those stay as they were.
    assert "この端末には" not in app.test_client().get("/no-such-page").text
