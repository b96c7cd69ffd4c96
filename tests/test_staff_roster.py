"""The roster on the staff tablet and what staff do to one person; every bad form saves nothing."""
import dataclasses
import json
import re

import pytest

from evac.identity import person_key
from kiosk import staff_store
from kiosk.store import KioskStore
from tests.conftest import free_udp_port
from tests.staff_helpers import HANAKO, ICHIRO, SHELTER, TARO, errors, logged_in, make_app, post, snapshot
from tests.staff_helpers import app, db  # noqa: F401 (fixtures)


@pytest.fixture
def store(db, app):
    s = KioskStore(db)
    yield s
    s.close()


@pytest.fixture
def checked_in(store):
    store.check_in(SHELTER, [TARO, HANAKO])
    store.check_in(SHELTER, [ICHIRO], stay_type="in_car")
    store.set_needs(SHELTER, HANAKO.name, HANAKO.birth_date, HANAKO.address, ["infant"])
    store.set_needs(SHELTER, TARO.name, TARO.birth_date, TARO.address, ["dialysis", "elderly"])
    return store


def key(p):
    return person_key(p.name, p.birth_date, p.address)


def events(store, since=0):
    return [json.loads(b) for (b,) in store.db.execute("SELECT body FROM events WHERE seq > ? ORDER BY seq", (since,))]


def names_on(page: str, *people) -> set[str]:
    return {p.name for p in people if p.name in page}


# -- search and filters --------------------------------------------------------

@pytest.mark.parametrize("query, found", [
    ("焼津 太郎", {TARO}), ("太郎 焼津", {TARO}), ("焼津太郎", {TARO}), ("太郎焼津", {TARO}),
    ("やいづ たろう", {TARO}), ("タロウ ヤイヅ", {TARO}), ("たろうやいづ", {TARO}),
    ("焼津", {TARO, HANAKO}), ("ﾔｲﾂﾞ", {TARO, HANAKO}), ("高橋一郎", {ICHIRO}), ("一郎　髙橋", {ICHIRO}),
    ("", {TARO, HANAKO, ICHIRO}), ("山田", set()),
    # by the birth date on a paper card, as people type it (review: a name alone finds ten 佐藤)
    ("1950-01-02", {TARO}), ("1950/1/2", {TARO}), ("昭25.1.2", {TARO}), ("S25 1 2", {TARO}), ("R6.5.6", {HANAKO}),
    ("1970-07-08", set()),
])
def test_search_by_name_or_kana_in_either_order(app, checked_in, query, found):
    page = logged_in(app).get("/staff/", query_string={"q": query}).text
    assert names_on(page, TARO, HANAKO, ICHIRO) == {p.name for p in found}


@pytest.mark.parametrize("args, found", [
    ({"need": "infant"}, {HANAKO}), ({"need": "dialysis"}, {TARO}), ({"need": "pets"}, set()),
    ({"stay": "in_car"}, {ICHIRO}), ({"stay": "in_shelter", "need": "elderly"}, {TARO}),
    ({"need": "unicorn"}, {TARO, HANAKO, ICHIRO}),
])
def test_filters_by_need_and_stay_type(app, checked_in, args, found):
    page = logged_in(app).get("/staff/", query_string=args).text
    assert names_on(page, TARO, HANAKO, ICHIRO) == {p.name for p in found}


def test_the_roster_is_only_people_checked_in_here(app, checked_in):
    checked_in.check_in("H002", [__import__("evac.events").events.Person("他所 さん", "1990-01-01", "other")])
    checked_in.check_out(ICHIRO.name, ICHIRO.birth_date, ICHIRO.address)
    page = logged_in(app).get("/staff/").text
    assert names_on(page, TARO, HANAKO, ICHIRO) == {TARO.name, HANAKO.name} and "他所" not in page
    assert "入所者2人中2人" in page


def test_names_with_markup_are_shown_escaped(app, store):
    from evac.events import Person
    store.check_in(SHELTER, [Person("<script>alert(1)</script>", "1990-01-01", "other")])
    client = logged_in(app)
    for url in ("/staff/", "/staff/roster/print", "/staff/person/" + key(Person("<script>alert(1)</script>",
                                                                              "1990-01-01", "other", ""))):
        page = client.get(url).text
        assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page


# -- registering by hand -------------------------------------------------------

CARD = {"name": "焼津 次郎", "name_kana": "やいづ じろう", "birth_date": "1948-03-04", "sex": "male",
        "address": "焼津市本町2-2", "stay_type": "in_shelter", "needs": ["dialysis", "pets"],
        "contact_phone": "054-626-1111", "household_members": "4", "home_damage": "half",
        "consent": "family", "family_code": "sakura7",
        "members-0-name": "焼津 桃", "members-0-birth_date": "2023-08-01", "members-0-sex": "female"}


def test_register_a_household_by_hand(app, store):
    client = logged_in(app)
    resp = post(client, "/staff/register", CARD, "/staff/register")
    assert resp.status_code == 302
    jiro = key(staff_store.Person("焼津 次郎", "1948-03-04", "male", "焼津市本町2-2"))
    assert resp.headers["Location"] == f"/staff/person/{jiro}"
    written = events(store)
    assert [(e["type"], e["person"]["name"]) for e in written] == [
        ("checkin", "焼津 次郎"), ("needs", "焼津 次郎"), ("details", "焼津 次郎"), ("consent", "焼津 次郎"),
        ("checkin", "焼津 桃"), ("details", "焼津 桃"), ("consent", "焼津 桃")]
    assert written[0]["household_id"] and written[0]["household_id"] == written[4]["household_id"]
    assert written[4]["person"]["address"] == "焼津市本町2-2"
    assert written[1]["data"] == {"needs": ["dialysis", "pets"]}
    assert written[2]["data"] == {"contact_phone": "054-626-1111", "home_damage": "half", "household_members": 4}
    assert written[3]["data"] == {"consent": "family", "family_code": "sakura7", "never_disclose": False}
    page = client.get(resp.headers["Location"]).text
    assert "受付しました：焼津 次郎、焼津 桃" in page and "この避難所に入所中" in page
    assert {"焼津 次郎", "焼津 桃"} <= set(r.person.name for r in staff_store.roster(store, SHELTER))


def test_a_person_alone_gets_no_household_and_no_family_code_unless_family(app, store):
    client = logged_in(app)
    card = {k: v for k, v in CARD.items() if not k.startswith("members-")}
    resp = post(client, "/staff/register", {**card, "consent": "public", "family_code": "", "needs": [],
                                            "household_members": ""}, "/staff/register")
    assert resp.status_code == 302
    written = events(store)
    assert [e["type"] for e in written] == ["checkin", "details", "consent"]
    assert "household_id" not in written[0]
    assert written[1]["data"] == {"contact_phone": "054-626-1111", "home_damage": "half"}
    assert written[2]["data"] == {"consent": "public", "never_disclose": False}


@pytest.mark.parametrize("change, field, message", [
    ({"name": ""}, "name", "氏名を入力してください。"),
    ({"name": "x" * 101}, "name", "100文字以内で入力してください。"),
    ({"name": "焼津\x07次郎"}, "name", "保存できない文字が含まれています。"),
    ({"name": "・"}, "name", "氏名を入力してください。"),   # no person key can be made of separators alone
    ({"members-0-name": "＝"}, "members-0-name", "氏名を入力してください。"),
    ({"birth_date": ""}, "birth_date", "生年月日を入力してください。"),
    ({"birth_date": "1948-13-04"}, "birth_date", "この生年月日は存在しない日付です。年・月・日を確かめてください。"),
    ({"birth_date": "1948年ごろ"}, "birth_date", "正しい生年月日（年-月-日）を入力してください。"),
    ({"birth_date": "2999-01-01"}, "birth_date", "この生年月日は未来の日付です。年を確かめてください。"),
    ({"birth_date": "1879-12-31"}, "birth_date", "この生年月日は1880年より前です。年を確かめてください。"),
    ({"members-0-birth_date": "2030-01-01"}, "members-0-birth_date", "この生年月日は未来の日付です。年を確かめてください。"),
    ({"sex": "robot"}, "sex", "選択肢から選んでください。"),
    ({"stay_type": "on_the_roof"}, "stay_type", "選択肢から選んでください。"),
    ({"needs": ["dialysis", "unicorn"]}, "needs", "選択肢から選んでください。"),
    ({"contact_phone": "call me"}, "contact_phone", "電話番号を入力してください（数字と - ( ) + 空白）。"),
    ({"household_members": "abc"}, "household_members", "1から30までの数を入力してください。"),
    ({"household_members": "0"}, "household_members", "1から30までの数を入力してください。"),
    ({"home_damage": "flooded"}, "home_damage", "選択肢から選んでください。"),
    ({"consent": "family", "family_code": ""}, "family_code",
     "家族が問い合わせ時に伝える合言葉を入力してください（4〜32文字）。"),
    ({"consent": "maybe"}, "consent", "選択肢から選んでください。"),
    # Half-width ｶﾞｶﾞ is ガガ once normalised as the event keeps it: two characters, too short.
    ({"consent": "family", "family_code": "ｶﾞｶﾞ"}, "family_code",
     "家族が問い合わせ時に伝える合言葉を入力してください（4〜32文字）。"),
    ({"members-1-name": "焼津 桃", "members-1-birth_date": "2023-08-01", "members-1-sex": "female"},
     "members-1-name", "同じ人が二度記入されています。"),
    ({"members-0-birth_date": ""}, "members-0-birth_date", "生年月日を入力してください。"),
    ({"members-0-sex": ""}, "members-0-sex", "性別を選んでください。"),
    ({"sex": ""}, "sex", "性別を選んでください。"),
    ({"members-1-name": "名前だけ"}, "members-1-birth_date", "生年月日を入力してください。"),
])
def test_bad_registrations_save_nothing_and_say_why_next_to_the_field(app, db, change, field, message):
    client = logged_in(app)
    before = snapshot(db)
    resp = post(client, "/staff/register", {**CARD, **change}, "/staff/register")
    assert resp.status_code == 422
    assert "何も保存していません" in resp.text
    assert message in errors(resp.text, field)
    assert snapshot(db) == before


def test_registration_messages_follow_the_language(app, db):
    client = logged_in(app)
    client.get("/staff/lang/en")
    before = snapshot(db)
    resp = post(client, "/staff/register", {**CARD, "birth_date": "1948-13-04", "contact_phone": "call me"},
                "/staff/register")
    assert resp.status_code == 422
    assert errors(resp.text, "birth_date") == ["This date of birth does not exist: check the year, month and day."]
    assert errors(resp.text, "contact_phone") == ["Enter a phone number: digits, with - ( ) + or spaces."]
    assert snapshot(db) == before


def test_the_same_person_twice_on_one_form_saves_nothing(app, db):
    client = logged_in(app)
    before = snapshot(db)
    resp = post(client, "/staff/register", {**CARD, "members-0-name": "焼津次郎", "members-0-birth_date": "1948-03-04",
                                            "members-0-sex": "male"}, "/staff/register")
    assert resp.status_code == 422 and errors(resp.text, "members-0-name") == ["同じ人が二度記入されています。"]
    assert snapshot(db) == before


# -- correcting a record -------------------------------------------------------

def form_of(row) -> dict:
    return {"name": row.person.name, "name_kana": row.person.name_kana, "birth_date": row.person.birth_date,
            "sex": row.person.sex, "address": row.person.address, "stay_type": row.entry.where.stay_type,
            "needs": list(row.profile.needs), "contact_phone": row.profile.contact_phone,
            "household_members": row.profile.household_members or "", "home_damage": row.profile.home_damage,
            "consent": row.profile.consent, "family_code": row.profile.family_code,
            "drawn_from": row.version}   # the page's version of the record: read just before, it is current


def test_a_correction_is_new_events_for_what_changed(app, checked_in):
    client = logged_in(app)
    row = staff_store.person(checked_in, key(TARO))
    before = events(checked_in)
    seq = checked_in.last_seq
    url = f"/staff/person/{row.key}"
    same = post(client, url, form_of(row), url)
    assert same.status_code == 302 and checked_in.last_seq == seq, "nothing changed, nothing written"
    resp = post(client, url, {**form_of(row), "name": "焼津 太郎", "name_kana": "ヤイヅ タロウ", "stay_type": "at_home",
                              "needs": ["dialysis"], "contact_phone": "090-1111-2222", "consent": "public"}, url)
    assert resp.status_code == 302
    assert events(checked_in)[:len(before)] == before, "earlier events are never changed"
    new = events(checked_in, seq)
    assert [e["type"] for e in new] == ["register", "stay_type", "needs", "details", "consent"]
    assert new[0]["person"]["name_kana"] == "ヤイヅ タロウ"
    after = staff_store.person(checked_in, key(TARO))
    assert after.person.name_kana == "ヤイヅ タロウ" and after.entry.where.stay_type == "at_home"
    assert after.profile.needs == ("dialysis",) and after.profile.consent == "public"
    assert "訂正を保存しました" in client.get(url).text


def test_a_name_in_another_variant_is_a_correction(app, checked_in):
    client = logged_in(app)
    row = staff_store.person(checked_in, key(ICHIRO))
    url = f"/staff/person/{row.key}"
    assert post(client, url, {**form_of(row), "name": "高橋 一郎"}, url).status_code == 302
    assert staff_store.person(checked_in, key(ICHIRO)).person.name == "高橋 一郎"


@pytest.mark.parametrize("change", [{"name": "焼津 太朗"}, {"birth_date": "1951-01-02"},
                                    {"address": "焼津市本町1-11"}])
def test_a_typo_in_name_birth_date_or_address_is_corrected_and_it_stays_the_same_person(app, checked_in, change):
    client = logged_in(app)
    row = staff_store.person(checked_in, key(TARO))
    staff_store.set_never_disclose(checked_in, SHELTER, row, True)
    row = staff_store.person(checked_in, key(TARO))
    seq = checked_in.last_seq
    url = f"/staff/person/{row.key}"
    resp = post(client, url, {**form_of(row), **change, "needs": ["dialysis"], "contact_phone": "054-111-2222"}, url)
    fixed = dataclasses.replace(TARO, **change)
    new_key = key(fixed)
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/staff/person/{new_key}")
    new = events(checked_in, seq)
    assert [e["type"] for e in new] == ["correction", "needs", "details"], "the correction first, in one go"
    assert new[0]["person"] == _wire(TARO) and new[0]["data"] == {"person": _wire(fixed)}
    assert all(e["person"] == _wire(fixed) for e in new[1:]), "the rest under the corrected identity"
    assert staff_store.person(checked_in, key(TARO)).key == new_key, "the old key follows the correction"
    after = staff_store.person(checked_in, new_key)
    assert after.person == fixed and after.entry.household_id == row.entry.household_id
    assert after.entry.where == row.entry.where
    assert after.profile.needs == ("dialysis",) and after.profile.contact_phone == "054-111-2222"
    assert after.profile.never_disclose, "the protection follows the person"
    assert len(staff_store.roster(checked_in, SHELTER)) == 3, "the same three people checked in"
    page = client.get(resp.headers["Location"]).text
    assert f"{fixed.name}さんの氏名・生年月日・住所を訂正しました" in page
    old_link = client.get(url)
    assert old_link.status_code == 302 and old_link.headers["Location"].endswith(f"/staff/person/{new_key}"), \
        "an old link leads to the corrected person"


def _wire(p):
    return p.to_wire()


def test_a_correction_onto_someone_already_here_saves_nothing(app, checked_in, db):
    client = logged_in(app)
    row = staff_store.person(checked_in, key(TARO))
    url = f"/staff/person/{row.key}"
    before = snapshot(db)
    resp = post(client, url, {**form_of(row), "name": ICHIRO.name, "birth_date": ICHIRO.birth_date,
                              "address": ICHIRO.address, "needs": ["pets"]}, url)
    assert resp.status_code == 422
    message = "同じ氏名・生年月日・住所の人の記録がすでにこの避難所にあります（退所済みの人を含む）。何も保存していません。"
    assert errors(resp.text, "birth_date") == [message]
    assert snapshot(db) == before


def test_a_correction_with_a_bad_field_saves_nothing(app, checked_in, db):
    client = logged_in(app)
    row = staff_store.person(checked_in, key(TARO))
    url = f"/staff/person/{row.key}"
    before = snapshot(db)
    resp = post(client, url, {**form_of(row), "birth_date": "1950-02-30"}, url)
    assert resp.status_code == 422
    assert errors(resp.text, "birth_date") == ["この生年月日は存在しない日付です。年・月・日を確かめてください。"]
    resp = post(client, url, {**form_of(row), "name": "・", "birth_date": "1951-01-02"}, url)
    assert resp.status_code == 422 and errors(resp.text, "name") == ["氏名を入力してください。"]
    assert snapshot(db) == before


def test_the_correction_messages_follow_the_language(app, checked_in):
    client = logged_in(app)
    client.get("/staff/lang/en")
    row = staff_store.person(checked_in, key(TARO))
    url = f"/staff/person/{row.key}"
    resp = post(client, url, {**form_of(row), "birth_date": "1951-01-02"}, url)
    page = client.get(resp.headers["Location"]).text
    assert "Corrected the name, date of birth or address of 焼津 太郎: still the same person" in page


def test_a_bad_correction_saves_nothing(app, checked_in, db):
    client = logged_in(app)
    row = staff_store.person(checked_in, key(TARO))
    url = f"/staff/person/{row.key}"
    before = snapshot(db)
    resp = post(client, url, {**form_of(row), "needs": ["pets"], "contact_phone": "電話"}, url)
    assert resp.status_code == 422
    assert errors(resp.text, "contact_phone") == ["電話番号を入力してください（数字と - ( ) + 空白）。"]
    assert snapshot(db) == before


def test_staff_corrections_keep_never_disclose(app, checked_in):
    row = staff_store.person(checked_in, key(TARO))
    staff_store.set_never_disclose(checked_in, SHELTER, row, True)
    row = staff_store.person(checked_in, key(TARO))   # the page drawn after the lead's mark
    client = logged_in(app, "sato")
    url = f"/staff/person/{row.key}"
    assert post(client, url, {**form_of(row), "consent": "public"}, url).status_code == 302
    last = events(checked_in)[-1]
    assert last["type"] == "consent" and last["data"] == {"consent": "public", "never_disclose": True}


def test_an_unknown_person_is_404(app):
    resp = logged_in(app).get("/staff/person/nba:nobody")
    assert resp.status_code == 404 and "その人の記録がありません" in resp.text


def test_staff_pages_are_never_cached(app, checked_in):
    client = logged_in(app)
    for url in ("/staff/", f"/staff/person/{key(TARO)}", "/staff/summary", "/staff/roster.csv", "/staff/roster/print"):
        assert client.get(url).headers["Cache-Control"] == "no-store", url


# -- check-out and transfer ----------------------------------------------------

def test_check_out(app, checked_in):
    client = logged_in(app)
    url = f"/staff/person/{key(TARO)}"
    seq = checked_in.last_seq
    ask = post(client, url + "/checkout", {}, url)
    assert ask.status_code == 200 and "焼津 太郎さんを退所にしますか" in ask.text and checked_in.last_seq == seq
    resp = post(client, url + "/checkout", {"confirm": "yes"}, url)
    assert resp.status_code == 302 and resp.headers["Location"] == url
    assert checked_in.find(TARO.name, TARO.birth_date, TARO.address).where.state == "checked_out"
    assert "退所しました：焼津 太郎" in client.get(url).text
    seq = checked_in.last_seq
    again = post(client, url + "/checkout", {"confirm": "yes"}, url)
    assert again.status_code == 302 and checked_in.last_seq == seq
    assert "すでに退所しています" in client.get(url).text
    other = f"/staff/person/{key(ICHIRO)}"
    checked_in.transfer(ICHIRO.name, ICHIRO.birth_date, ICHIRO.address, "H002")
    seq = checked_in.last_seq
    assert post(client, other + "/checkout", {"confirm": "yes"}, other).status_code == 302
    assert checked_in.last_seq == seq and "入所していません" in client.get(other).text


def test_transfer_to_another_shelter(app, checked_in):
    client = logged_in(app)
    url = f"/staff/person/{key(ICHIRO)}"
    page = client.get(url).text
    assert 'value="H002"' in page and 'value="H001"' not in page, "the list is the kiosk's shelters but this one"
    # Somewhere to stay first: the designated shelters, then tsunami buildings, then emergency places.
    offered = re.findall(r'<option value="([A-Z]\d{3})">[^<]*（([^）]+)）</option>', page)
    kinds = [kind for _sid, kind in offered]
    assert kinds[0] == "指定避難所" and kinds[-1] == "指定緊急避難場所"
    assert kinds == sorted(kinds, key=["指定避難所", "津波避難ビル", "指定緊急避難場所"].index)
    assert {sid[0] for sid, kind in offered if kind == "津波避難ビル"} == {"T"}
    resp = post(client, url + "/transfer", {"to_shelter": "H002"}, url)
    assert resp.status_code == 302
    where = checked_in.find(ICHIRO.name, ICHIRO.birth_date, ICHIRO.address).where
    assert (where.state, where.shelter_id) == ("in_transit", "H002")
    assert f"{checked_in.shelter_name('H002')}へ移動します" in client.get("/staff/").text


@pytest.mark.parametrize("target, message", [("", "避難所を選んでください。"), ("H001", "選択肢から選んでください。"),
                                             ("X999", "選択肢から選んでください。")])
def test_a_bad_transfer_saves_nothing(app, checked_in, db, target, message):
    client = logged_in(app)
    url = f"/staff/person/{key(ICHIRO)}"
    before = snapshot(db)
    resp = post(client, url + "/transfer", {"to_shelter": target}, url)
    assert resp.status_code == 422 and message in errors(resp.text, "to_shelter")
    assert snapshot(db) == before


# -- never-disclose: the lead's authority ------------------------------------------

def test_staff_cannot_mark_never_disclose(app, checked_in, db):
    client = logged_in(app, "sato")
    url = f"/staff/person/{key(TARO)}"
    assert "この設定は避難所責任者だけが変更できます" in client.get(url).text
    before = snapshot(db)
    resp = post(client, url + "/never-disclose", {"never_disclose": "y"}, url)
    assert resp.status_code == 403 and "非開示の設定は避難所責任者だけが行えます" in resp.text
    assert snapshot(db) == before


def test_a_lead_marks_and_lifts_never_disclose(app, checked_in):
    client = logged_in(app, "tanaka")
    url = f"/staff/person/{key(TARO)}"
    resp = post(client, url + "/never-disclose", {"never_disclose": "y"}, url)
    assert resp.status_code == 302
    last = events(checked_in)[-1]
    assert last["type"] == "consent" and last["data"] == {"consent": "none", "never_disclose": True}
    assert last["person"]["name"] == TARO.name
    page = client.get(url).text
    assert "非開示にしました" in page
    roster = client.get("/staff/").text
    assert roster.count('class="badge never"') == 1
    assert post(client, url + "/never-disclose", {}, url).status_code == 302
    assert events(checked_in)[-1]["data"] == {"consent": "none", "never_disclose": False}


# -- IC cards --------------------------------------------------------------------

IDM = bytes.fromhex("0114B3A1C2D3E4F5")


@pytest.fixture
def felica(in_background):
    pytest.importorskip("nfc")
    from kiosk.card_emulator import NfcUdpFelica
    return lambda idm, device: in_background(NfcUdpFelica(idm, device))


def test_link_an_ic_card_with_the_next_tap(felica, checked_in, db):
    from evac.ictoken import ic_token
    device = f"udp:127.0.0.1:{free_udp_port()}"
    checked_in.apply_config({"shelters": [{"id": SHELTER, "name": "二区", "kind": "shelter"},
                                          {"id": "H002", "name": "三区", "kind": "shelter"}],
                             "ic_token_key": "22" * 32})
    app = make_app(db, NFC_DEVICE=device, CARD_WAIT=5)
    client = logged_in(app)
    url = f"/staff/person/{key(TARO)}"
    felica(IDM, device)
    resp = post(client, url + "/ic-link", {}, url)
    assert resp.status_code == 302
    assert "ICカードを焼津 太郎さんに登録しました" in client.get(url).text
    token = checked_in.db.execute("SELECT token, person_key FROM ic_links").fetchone()
    assert token == (ic_token(IDM, checked_in.ic_token_key()), key(TARO))
    # and the card now works at the kiosk's tap route
    tapped = app.test_client().post("/api/ic/tap")
    assert tapped.status_code == 201 and tapped.get_json()["action"] == "checked_out"


def test_no_card_held_to_the_reader_links_nothing(checked_in, db):
    pytest.importorskip("nfc")
    checked_in.apply_config({"shelters": [{"id": SHELTER, "name": "二区", "kind": "shelter"}],
                             "ic_token_key": "22" * 32})
    app = make_app(db, NFC_DEVICE=f"udp:127.0.0.1:{free_udp_port()}", CARD_WAIT=1)
    client = logged_in(app)
    url = f"/staff/person/{key(TARO)}"
    before = snapshot(db)
    assert post(client, url + "/ic-link", {}, url).status_code == 302
    assert "ICカードが読み取れませんでした" in client.get(url).text
    assert snapshot(db) == before


def test_ic_cards_wait_for_the_first_sync(app, checked_in, db):
    client = logged_in(app)
    url = f"/staff/person/{key(TARO)}"
    before = snapshot(db)
    assert post(client, url + "/ic-link", {}, url).status_code == 302
    assert "本部と同期した後にできます" in client.get(url).text
    assert snapshot(db) == before


def test_someone_who_left_can_still_be_corrected_and_protected(app, checked_in):
    """A DV victim who checked out is still protected: the lead's mark is written as this shelter."""
    checked_in.check_out(TARO.name, TARO.birth_date, TARO.address)
    row = staff_store.person(checked_in, key(TARO))
    lead = logged_in(app, "tanaka")
    url = f"/staff/person/{row.key}"
    assert "退所済み" in lead.get(url).text
    seq = checked_in.last_seq
    corrected = {**form_of(row), "stay_type": "in_car", "contact_phone": "054-000-0000"}
    assert post(lead, url, corrected, url).status_code == 302
    assert post(lead, url + "/never-disclose", {"never_disclose": "y"}, url).status_code == 302
    new = events(checked_in, seq)
    assert [e["type"] for e in new] == ["details", "consent"], "no stay type for someone who is not here"
    assert {e["shelter_id"] for e in new} == {SHELTER}
    assert checked_in.find(TARO.name, TARO.birth_date, TARO.address).where.state == "checked_out"


def test_registering_a_protected_person_again_keeps_them_protected(app, checked_in):
    """Never-disclose survives a check-out and a new hand registration by ordinary staff."""
    row = staff_store.person(checked_in, key(TARO))
    staff_store.set_never_disclose(checked_in, SHELTER, row, True)
    checked_in.check_out(TARO.name, TARO.birth_date, TARO.address)
    client = logged_in(app, "sato")
    card = {"name": "焼津太郎", "birth_date": TARO.birth_date, "sex": "male", "address": TARO.address,
            "stay_type": "in_shelter", "home_damage": "unknown", "consent": "public"}
    seq = checked_in.last_seq
    assert post(client, "/staff/register", card, "/staff/register").status_code == 302
    consent = [e for e in events(checked_in, seq) if e["type"] == "consent"]
    assert [c["data"] for c in consent] == [{"consent": "public", "never_disclose": True}]
    assert staff_store.person(checked_in, key(TARO)).profile.never_disclose


def test_each_household_member_gets_their_own_needs(app, store):
    client = logged_in(app)
    resp = post(client, "/staff/register", {**CARD, "members-0-needs": ["infant", "allergy"]}, "/staff/register")
    assert resp.status_code == 302
    needs = {e["person"]["name"]: e["data"]["needs"] for e in events(store) if e["type"] == "needs"}
    assert needs == {"焼津 次郎": ["dialysis", "pets"], "焼津 桃": ["allergy", "infant"]}


def test_needs_ticked_on_an_empty_member_row_ask_for_the_name(app, db, store):
    client = logged_in(app)
    before = snapshot(db)
    page = post(client, "/staff/register", {**{k: v for k, v in CARD.items() if not k.startswith("members-")},
                                            "members-1-needs": ["pets"]}, "/staff/register")
    assert page.status_code == 422 and errors(page.text, "members-1-name")
    assert snapshot(db) == before


@pytest.mark.parametrize("field", ["address", "family_code", "contact_phone", "name_kana"])
def test_an_individual_number_typed_into_the_card_is_refused_next_to_its_field(app, db, field):
    """番号法 §20: not stored, not synced; said next to the field, nothing saved."""
    client = logged_in(app)
    before = snapshot(db)
    resp = post(client, "/staff/register", {**CARD, field: "1234-5678-9018"}, "/staff/register")
    assert resp.status_code == 422
    assert errors(resp.text, field) == ["ここにマイナンバー（個人番号）を入力しないでください。避難所では記録できません。"]
    assert snapshot(db) == before
