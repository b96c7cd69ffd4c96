"""Closed shelters on the kiosk (review): the screen and the tablet sent families to a shelter HQ said was
closed, a shelter its own staff closed kept checking people in at its screen, and a QR's check-out left
household members typed in at check-in recorded here without a word.  Flask's test client on a real
SQLite file; the screen's words from its catalogs."""
from __future__ import annotations

import re
import time

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from evac.identity import person_key
from evac.prereg_qr import Household, Member, key_id, sign
from kiosk.staff_store import set_shelter_status
from kiosk.store import HOUSEHOLD_LEFT_BEHIND, SHELTER_CLOSED, KioskStore
from tests.staff_helpers import SHELTER, TARO, db, errors, logged_in, make_app, post, snapshot  # noqa: F401

KEY = Ed25519PrivateKey.generate()
FAMILY = Household("hh-1", "焼津市本町1-1", (Member("p-1", "焼津 太郎", "1948-03-03", "male"),
                                          Member("p-2", "焼津 花子", "1950-07-07", "female")),
                   consent="public", expires=int(time.time()) + 3600)
JIRO = {"name": "焼津 次郎", "birth_date": "2010-05-05", "sex": "male"}


def configure(store: KioskStore, statuses: dict[str, str] | None) -> None:
    """HQ's configuration as a sync brings it down, with each shelter's status when `statuses` is given
    (None: an older HQ, which sends none)."""
    public = KEY.public_key()
    shelters = [{"id": s, "name": n, "kind": k, **({"status": statuses.get(s, "open")} if statuses is not None else {})}
                for s, n, k in store.shelter_list()]
    store.apply_config({"shelters": shelters, "ic_token_key": "11" * 32,
                        "prereg_keys": {key_id(public): public.public_bytes(Encoding.Raw, PublicFormat.Raw).hex()}})


@pytest.fixture
def app(db):  # noqa: F811
    return make_app(db)


@pytest.fixture
def store(db, app):  # noqa: F811
    s = KioskStore(db)
    yield s
    s.close()


@pytest.fixture
def two_others(store):
    """Two designated shelters besides this kiosk's: the first closed at HQ, the second full."""
    closed, full = [sid for sid, _name, kind in store.shelter_list() if kind == "shelter" and sid != SHELTER][:2]
    return closed, full


def said(app, lang: str, text: str, **values) -> str:
    from flask_babel import gettext
    with app.test_request_context(f"/?lang={lang}"):
        return gettext(text, **values)


def identify(client) -> str:
    resp = client.post("/screen/qr", json={"qr": sign(FAMILY, KEY)})
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()["token"]


def check_in(client, present: list[int], members: list[dict] = ()) -> None:
    resp = client.post("/screen/checkin", json={
        "token": identify(client), "present": present, "stay_type": "in_shelter",
        "needs": [[] for _ in range(len(present) + len(members))], "disclosure": "none", "members": list(members)})
    assert resp.status_code == 201, resp.get_json()


# -- 1. a shelter HQ says is closed ----------------------------------------------------------

def test_the_screen_leaves_out_a_shelter_hq_closed_and_says_a_full_one_is_full(app, store, two_others):
    closed, full = two_others
    client = app.test_client()
    configure(store, None)   # an older HQ: every shelter offered, as before
    page = client.get("/?lang=en").text
    assert f'data-testid="dest-{closed}"' in page and f'data-testid="dest-full-{full}"' not in page
    configure(store, {closed: "closed", full: "full"})
    page = client.get("/?lang=pt").text
    assert f'data-testid="dest-{closed}"' not in page, "a family would set off for a closed shelter"
    assert f'data-testid="dest-{full}"' in page
    assert re.search(rf'data-testid="dest-full-{full}">（{said(app, "pt", "full")}）', page)
    # a page drawn before HQ closed it: the move is refused, in the screen's language, and nothing written
    check_in(client, [0])
    seq = store.last_seq
    resp = client.post("/screen/leave?lang=pt", json={"token": identify(client), "present": [0],
                                                      "to_shelter_id": closed})
    assert resp.status_code == 422
    assert resp.get_json()["errors"] == {
        "to_shelter_id": said(app, "pt", "That shelter is closed. Choose another shelter, or ask staff.")}
    assert store.last_seq == seq
    ok = client.post("/screen/leave", json={"token": identify(client), "present": [0], "to_shelter_id": full})
    assert ok.status_code == 201


def test_the_tablet_marks_closed_and_full_destinations_and_asks_before_a_closed_one(app, store, two_others, db):  # noqa: F811
    closed, full = two_others
    store.check_in(SHELTER, [TARO])
    client = logged_in(app)
    url = f"/staff/person/{person_key(TARO.name, TARO.birth_date, TARO.address)}"
    configure(store, None)
    page = client.get(url).text
    assert "【" not in page, "no status heard: the options as before"
    configure(store, {closed: "closed", full: "full"})
    page = client.get(url).text
    assert re.search(rf'<option value="{closed}">[^<]*【閉鎖】</option>', page)
    assert re.search(rf'<option value="{full}">[^<]*【満員】</option>', page)
    before = snapshot(db)
    resp = post(client, url + "/transfer", {"to_shelter": closed}, url)
    assert resp.status_code == 422 and snapshot(db) == before
    assert any("閉鎖中です" in e for e in errors(resp.text, "to_shelter"))
    assert f'name="confirm_closed" value="{closed}"' in resp.text
    # ticked for another shelter than the one chosen: still asked
    assert post(client, url + "/transfer", {"to_shelter": closed, "confirm_closed": full}, url).status_code == 422
    assert snapshot(db) == before
    resp = post(client, url + "/transfer", {"to_shelter": closed, "confirm_closed": closed}, url)
    assert resp.status_code == 302
    where = store.find(TARO.name, TARO.birth_date, TARO.address).where
    assert (where.state, where.shelter_id) == ("in_transit", closed)
    client.get("/staff/lang/en")
    store.check_in(SHELTER, [TARO])
    assert re.search(rf'<option value="{closed}">[^<]*【Closed】</option>', client.get(url).text)


def test_the_screen_treats_a_shelter_hq_says_is_not_opened_yet_as_closed(app, store, two_others):
    # (review) HQ's not_opened (未開設): nobody is there to take a family in; the screen offered it
    not_opened, full = two_others
    client = app.test_client()
    configure(store, {not_opened: "not_opened", full: "full"})
    page = client.get("/?lang=en").text
    assert f'data-testid="dest-{not_opened}"' not in page, "a family would set off for a shelter not opened"
    assert f'data-testid="dest-{full}"' in page
    check_in(client, [0])
    seq = store.last_seq
    resp = client.post("/screen/leave?lang=vi", json={"token": identify(client), "present": [0],
                                                      "to_shelter_id": not_opened})
    assert resp.status_code == 422
    assert resp.get_json()["errors"] == {
        "to_shelter_id": said(app, "vi", "That shelter is closed. Choose another shelter, or ask staff.")}
    assert store.last_seq == seq


def test_the_tablet_marks_a_shelter_not_opened_yet_and_asks_before_sending_anyone_there(app, store, two_others, db):  # noqa: F811
    not_opened, full = two_others
    store.check_in(SHELTER, [TARO])
    client = logged_in(app)
    client.get("/staff/lang/en")
    url = f"/staff/person/{person_key(TARO.name, TARO.birth_date, TARO.address)}"
    configure(store, {not_opened: "not_opened", full: "full"})
    page = client.get(url).text
    assert re.search(rf'<option value="{not_opened}">[^<]*【Not opened yet】</option>', page)
    assert re.search(rf'<option value="{full}">[^<]*【Full】</option>', page)
    before = snapshot(db)
    resp = post(client, url + "/transfer", {"to_shelter": not_opened}, url)
    assert resp.status_code == 422 and snapshot(db) == before
    assert any("has not opened yet" in e for e in errors(resp.text, "to_shelter")), resp.text
    assert f'name="confirm_closed" value="{not_opened}"' in resp.text
    assert "Send them there all the same" in resp.text
    resp = post(client, url + "/transfer", {"to_shelter": not_opened, "confirm_closed": not_opened}, url)
    assert resp.status_code == 302
    where = store.find(TARO.name, TARO.birth_date, TARO.address).where
    assert (where.state, where.shelter_id) == ("in_transit", not_opened)
    # in Japanese too it is marked (the words from the staff catalog, English until it has them)
    store.check_in(SHELTER, [TARO])
    client.get("/staff/lang/ja")
    assert re.search(rf'<option value="{not_opened}">[^<]*【[^】]+】</option>', client.get(url).text)


# -- 2. this shelter closed by its own staff --------------------------------------------------

def test_a_shelter_its_staff_closed_checks_no_one_in_at_its_screen_and_calls_staff(app, store):
    client = app.test_client()
    configure(store, {})
    check_in(client, [1])   # 花子, checked in before the shelter closed
    set_shelter_status(store, SHELTER, "closed")
    page = client.get("/?lang=vi").text
    words = said(app, "vi", "This shelter is closed, so no one can check in here. Staff are being called: please wait.")
    assert 'data-testid="shelter-closed"' in page and words in page
    assert re.search(r'data-action="call-staff" data-reason="shelter_closed" data-testid="checkin"', page)
    # "Check in" calls staff, saying why
    call = client.post("/screen/call-staff?lang=vi", json={"reason": "shelter_closed"})
    assert call.status_code == 201
    assert [(c["reason"], c["language"]) for c in store.open_staff_calls()] == [(SHELTER_CLOSED, "vi")]
    store.answer_staff_call(store.open_staff_calls()[0]["id"])   # (the screen is given a token, not the id)
    # a page drawn before it closed: the check-in is refused in the screen's language, and staff called
    seq = store.last_seq
    resp = client.post("/screen/checkin?lang=vi", json={
        "token": identify(client), "present": [0], "stay_type": "in_shelter", "needs": [[]], "disclosure": "none"})
    assert resp.status_code == 422 and resp.get_json()["errors"] == {"form": words}
    assert store.last_seq == seq
    assert [c["reason"] for c in store.open_staff_calls()] == [SHELTER_CLOSED]
    # leaving still works
    out = client.post("/screen/leave", json={"token": identify(client), "present": [1]})
    assert out.status_code == 201
    assert store.find("焼津 花子", "1950-07-07", FAMILY.address).where.state == "checked_out"
    # the tablet's hand registration says it is closed; staff read why the screen called them
    tablet = logged_in(app)
    assert 'id="shelter-closed"' in tablet.get("/staff/register").text
    # and so does checking 花子, who left, in again by hand
    hanako = f"/staff/person/{person_key('焼津 花子', '1950-07-07', FAMILY.address)}"
    assert 'id="check-in-again"' in (page := tablet.get(hanako).text) and 'id="shelter-closed"' in page
    assert "のため、画面では受付していません：対応してください" in tablet.get("/staff/summary").text
    # open again: the screen checks people in as before
    set_shelter_status(store, SHELTER, "open")
    assert 'data-testid="shelter-closed"' not in client.get("/").text
    assert 'id="shelter-closed"' not in tablet.get("/staff/register").text
    assert 'id="shelter-closed"' not in tablet.get(hanako).text
    check_in(client, [0])


# -- 3. a QR's check-out leaves household members typed in at check-in -------------------------

def test_a_qr_check_out_says_household_members_typed_in_are_still_recorded_here_and_calls_staff(app, store):
    client = app.test_client()
    configure(store, {})
    check_in(client, [0, 1], [JIRO])
    resp = client.post("/screen/leave?lang=zh", json={"token": identify(client), "present": [0, 1]})
    assert resp.status_code == 201
    body = resp.get_json()
    assert body["names"] == ["焼津 太郎", "焼津 花子"]
    assert body["left_behind"] == said(app, "zh", "%(n)d other person(s) of your household are still recorded as "
                                                  "staying here. If they are leaving too, staff will check them out: "
                                                  "staff are being called.", n=1)
    assert "焼津 次郎" not in resp.text, "the screen names nobody it cannot act on"
    assert [(c["reason"], c["language"]) for c in store.open_staff_calls()] == [(HOUSEHOLD_LEFT_BEHIND, "zh")]
    assert store.find(JIRO["name"], JIRO["birth_date"], FAMILY.address).where.state == "checked_in"
    tablet = logged_in(app)
    assert "QRで退所・移動した世帯の、受付時に手入力された家族がまだここに在所" in tablet.get("/staff/summary").text
    tablet.get("/staff/lang/en")
    assert "household members typed in at its check-in are still recorded here" in tablet.get("/staff/summary").text


def test_a_qr_check_out_of_some_of_its_own_members_says_nothing_more(app, store):
    client = app.test_client()
    configure(store, {})
    check_in(client, [0, 1])
    resp = client.post("/screen/leave", json={"token": identify(client), "present": [0]})
    assert resp.status_code == 201 and "left_behind" not in resp.get_json()
    assert store.open_staff_calls() == []


def test_left_behind_members_of_a_protected_household_are_not_counted_on_the_screen(app, store):
    """A QR may be in anyone's hands (災対法 §86-15): a count would tell its holder that someone protected
    is here.  Staff are called all the same."""
    from evac.disclosure import protection_digests, protection_forms
    client = app.test_client()
    configure(store, {})
    check_in(client, [0, 1], [JIRO])
    # HQ protects 次郎 (anywhere, by name and birth date): the QR's own members are not protected by it
    digests = protection_digests(bytes.fromhex("11" * 32), protection_forms(JIRO["name"], "", JIRO["birth_date"]))
    with store._write():
        store.db.executemany("INSERT INTO protected_forms(digest) VALUES (?)", [(d,) for d in digests])
    assert store.is_protected(JIRO["name"], JIRO["birth_date"], FAMILY.address)
    assert not store.is_protected("焼津 太郎", "1948-03-03", FAMILY.address)
    resp = client.post("/screen/leave", json={"token": identify(client), "present": [0, 1]})
    assert resp.status_code == 201 and "left_behind" not in resp.get_json()
    assert [c["reason"] for c in store.open_staff_calls()] == [HOUSEHOLD_LEFT_BEHIND]


def test_a_member_hq_says_has_moved_on_is_not_left_behind_by_a_qr_check_out(app, store):
    """次郎, typed in at check-in, has since checked in at another shelter (HQ's word, KioskStore.note_left_elsewhere):
    he is not here to be left behind, and staff are not called to look for him."""
    client = app.test_client()
    configure(store, {})
    check_in(client, [0, 1], [JIRO])
    key = store.current_key(person_key(JIRO["name"], JIRO["birth_date"], FAMILY.address))
    (seq,) = store.db.execute("SELECT max(seq) FROM event_person WHERE person_key = ?", (key,)).fetchone()
    store.note_left_elsewhere([[seq, "moved"]], after=1)
    resp = client.post("/screen/leave", json={"token": identify(client), "present": [0, 1]})
    assert resp.status_code == 201 and "left_behind" not in resp.get_json()
    assert store.open_staff_calls() == []


# -- 4. a joined call keeps every language pressed ----------------------------------------------

def test_a_joined_staff_call_keeps_every_language_pressed(app, store):
    client = app.test_client()
    for lang in ("pt", "en", "pt"):
        assert client.post(f"/screen/call-staff?lang={lang}", json={}).status_code == 201
    calls = store.open_staff_calls()
    assert len(calls) == 1 and calls[0]["languages"] == ["pt", "en"] and calls[0]["language"] == "en"
    page = logged_in(app).get("/staff/summary").text
    assert re.search(r"ポルトガル語[^<—]*、英語", page), page[page.find('id="calls"'):][:800]


def test_a_kiosk_database_from_before_the_statuses_fetches_hq_s_list_again(tmp_path):
    """A kiosk upgraded with the same configuration as before would never write the statuses (the same
    configuration writes nothing): the table is added and the next fetch writes the list."""
    path = tmp_path / "k.sqlite3"
    store = KioskStore(path)
    configure(store, {"H002": "closed"})
    with store._write():
        store.db.execute("DROP TABLE shelter_hq_status")
    store.close()
    store = KioskStore(path)
    try:
        assert store.shelter_statuses() == {}
        configure(store, {"H002": "closed"})
        assert store.shelter_statuses()["H002"] == "closed"
    finally:
        store.close()


def test_the_shelters_own_status_is_read_anew_after_each_record_whoever_wrote_it(tmp_path):
    """Read at every screen load and check-in, the status is kept between records (the log is not read
    again whole), yet follows one set by another process on the same database (the tablet, a command)."""
    from evac.events import Person
    from kiosk import staff_store
    from kiosk.store import KioskStore
    screen, tablet = KioskStore(tmp_path / "k.sqlite3"), KioskStore(tmp_path / "k.sqlite3")
    try:
        screen.check_in("H031", [Person("焼津 一", "1980-01-01", "male", "焼津市本町1")])
        assert staff_store.shelter_status(screen, "H031") is None
        staff_store.set_shelter_status(tablet, "H031", "closed")
        assert staff_store.shelter_status(screen, "H031") == "closed"
        screen.check_in("H031", [Person("焼津 二", "1980-01-02", "male", "焼津市本町2")])
        assert staff_store.shelter_status(screen, "H031") == "closed"
        staff_store.set_shelter_status(tablet, "H031", "open")
        assert staff_store.shelter_status(screen, "H031") == "open"
        assert staff_store.shelter_status(screen, "H039") is None
    finally:
        screen.close()
        tablet.close()
