"""The screen's JSON routes and what they store, without a browser: every refusal names its field, in the
chosen language, and writes nothing; disclosure consent is a consent event beside each check-in; staff calls."""
from __future__ import annotations

import time

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from evac.events import InvalidEvent, Person, parse_event
from evac.prereg_qr import Household, Member, sign
from kiosk import create_app
from kiosk.store import SENT_TO_STAFF, KioskError, KioskStore
from tests.screen_kiosk import screen_kiosk


KEY = Ed25519PrivateKey.generate()
FAMILY = Household("hh-1", "焼津市本町1-1", (Member("p-1", "焼津 太郎", "1948-03-03", "male", "", ("dialysis",)),
                                          Member("p-2", "焼津 花子", "1950-07-07", "female")),
                   consent="public", expires=int(time.time()) + 3600)


@pytest.fixture
def kiosk(tmp_path):
    with screen_kiosk(tmp_path, KEY) as client:
        yield client


def identify(client) -> str:
    resp = client.post("/screen/qr", json={"qr": sign(FAMILY, KEY)})
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert [p["name"] for p in body["persons"]] == ["焼津 太郎", "焼津 花子"] and body["disclosure"] == "public"
    return body["token"]


def test_every_bad_field_is_named_in_the_chosen_language_and_nothing_is_saved(kiosk):
    token = identify(kiosk)
    resp = kiosk.post("/screen/checkin?lang=pt", json={
        "token": token, "present": [0, 1], "stay_type": "on_the_roof", "needs": [["wings"], []],
        "disclosure": "everyone", "family_code": "no!", "members": [{"name": "", "birth_date": "1980-W07-1"}]})
    assert resp.status_code == 422
    errors = resp.get_json()["errors"]
    assert set(errors) == {"stay_type", "needs", "disclosure", "family_code", "members.0.name",
                           "members.0.birth_date", "members.0.sex"}
    assert errors["stay_type"] == "Escolha onde vai ficar."
    assert errors["members.0.birth_date"].startswith("Digite a data de nascimento")
    assert kiosk.store.last_seq == 0


@pytest.mark.parametrize("name", ["・", "　・　", "＝", "   "])
def test_a_typed_name_of_only_separators_is_asked_for_again_not_a_500(kiosk, name):
    """Review: the screen's name check let 「・」 through (it has a character), and the person key refused it
    afterwards: a 500 where the family should read "Enter the name"."""
    token = identify(kiosk)
    for path in ("/screen/member?lang=ja", "/screen/checkin?lang=ja"):
        member = {"name": name, "birth_date": "2010-01-01", "sex": "female"}
        body = {"token": token, "present": [0], "needs": [[], []], "stay_type": "in_shelter", "disclosure": "none",
                "members": [member]} if path.startswith("/screen/checkin") else {"token": token, "present": [0],
                                                                                   "members": [], **member}
        resp = kiosk.post(path, json=body)
        assert resp.status_code == 422, (path, resp.status_code)
        assert [v for k, v in resp.get_json()["errors"].items() if k.endswith("name")] == ["名前を入力してください。"]
    assert kiosk.store.last_seq == 0


def test_a_household_checks_in_with_needs_and_consent_in_one_go(kiosk):
    token = identify(kiosk)
    resp = kiosk.post("/screen/checkin?lang=ja", json={
        "token": token, "present": [0], "stay_type": "at_home", "needs": [["dialysis"], []],
        "disclosure": "family", "family_code": "yaizu7", "members": [
            {"name": "焼津 次郎", "birth_date": "2010-05-05", "sex": "male"}]})
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["names"] == ["焼津 太郎", "焼津 次郎"] and resp.get_json()["time_text"]
    written = kiosk.store.outbox(10)
    # 焼津 次郎, typed in beside the QR (proof of no one), gets no consent from it: HQ would take it as
    # given in person (tests/test_screen_qr_proof.py)
    assert [(e["type"], e["person"]["name"]) for e in written] == [
        ("checkin", "焼津 太郎"), ("needs", "焼津 太郎"), ("consent", "焼津 太郎"),
        ("checkin", "焼津 次郎")]
    assert written[0]["data"] == {"stay_type": "at_home"}
    assert written[2]["data"] == {"consent": "family", "family_code": "yaizu7", "never_disclose": False}
    assert {e["household_id"] for e in written} == {"hh-1"}
    # the identification is used: sending it again (a retry) gets the same confirmation, saves nothing more
    again = kiosk.post("/screen/checkin", json={"token": token, "present": [0], "stay_type": "at_home",
                                                "needs": [[]], "disclosure": "none"})
    assert again.status_code == 201 and again.get_json() == resp.get_json()
    assert kiosk.store.last_seq == 4


def test_a_member_is_checked_against_everyone_listed_when_added(kiosk):
    token = identify(kiosk)
    jiro = {"name": "焼津 次郎", "birth_date": "2010-05-05", "sex": "male"}
    ok = kiosk.post("/screen/member?lang=en", json={"token": token, "present": [0, 1], "members": [], **jiro})
    assert ok.status_code == 200 and ok.get_json() == jiro
    # the card holder again (name and birth date as identified, same household address): refused here,
    # next to the name, not at the end of the check-in
    taro = {"name": "焼津　太郎", "birth_date": "1948-03-03", "sex": "male"}
    resp = kiosk.post("/screen/member?lang=pt", json={"token": token, "present": [0], "members": [jiro], **taro})
    assert resp.status_code == 422 and resp.get_json()["errors"] == {"member.name": "Esta pessoa já está na lista."}
    resp = kiosk.post("/screen/member?lang=en", json={"token": token, "present": [0], "members": [jiro], **jiro})
    assert resp.get_json()["errors"] == {"member.name": "This person is already on the list."}
    # someone identified but not here (not ticked) may be added by hand
    hanako = {"name": "焼津 花子", "birth_date": "1950-07-07", "sex": "female"}
    assert kiosk.post("/screen/member", json={"token": token, "present": [0], "members": [], **hanako}).status_code == 200
    # the fifteenth person is the last: the sixteenth is refused when added, in words
    others = [{"name": f"焼津 {i}郎", "birth_date": f"2000-01-{i:02d}", "sex": "male"} for i in range(1, 14)]
    last = {"name": "焼津 十四郎", "birth_date": "2001-01-01", "sex": "male"}
    assert kiosk.post("/screen/member", json={"token": token, "present": [0], "members": others, **last}).status_code == 200
    resp = kiosk.post("/screen/member?lang=en", json={"token": token, "present": [0, 1], "members": others, **last})
    assert resp.status_code == 422
    assert resp.get_json()["errors"] == {"members": "Too many people for one check-in. Please ask staff."}
    # without the identification it was made for, nothing is checked
    resp = kiosk.post("/screen/member?lang=en", json={"token": "guess", "present": [0], **jiro})
    assert resp.get_json()["errors"] == {"form": "This took too long. Please start again."}
    assert kiosk.store.last_seq == 0


def test_every_kiosk_page_says_it_loads_nothing_from_outside(kiosk):
    from kiosk import CONTENT_SECURITY_POLICY
    for path in ("/", "/status", "/staff/login", "/api/status", "/static/kiosk.css"):
        resp = kiosk.get(path)
        assert resp.status_code == 200, path
        assert resp.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY, path
    assert "default-src 'self'" in CONTENT_SECURITY_POLICY and "unsafe-inline" not in CONTENT_SECURITY_POLICY


def test_a_made_up_token_or_person_index_saves_nothing(kiosk):
    body = {"present": [0], "stay_type": "in_shelter", "needs": [[]], "disclosure": "none"}
    assert "form" in kiosk.post("/screen/checkin", json={**body, "token": "guess"}).get_json()["errors"]
    token = identify(kiosk)
    resp = kiosk.post("/screen/checkin", json={**body, "token": token, "present": [5]})
    assert resp.status_code == 422 and "present" in resp.get_json()["errors"]
    assert kiosk.store.last_seq == 0


def test_leaving_needs_people_checked_in_here(kiosk):
    token = identify(kiosk)
    resp = kiosk.post("/screen/leave?lang=en", json={"token": token, "present": [0]})
    assert resp.status_code == 422 and resp.get_json()["errors"]["present"] == "This cannot be done here. Please ask staff."
    kiosk.post("/screen/checkin", json={"token": token, "present": [0, 1], "stay_type": "in_shelter",
                                        "needs": [[], []], "disclosure": "none"})
    token = identify(kiosk)
    bad = kiosk.post("/screen/leave", json={"token": token, "present": [0, 1], "to_shelter_id": "H031"})
    assert bad.status_code == 422 and "to_shelter_id" in bad.get_json()["errors"]
    before = kiosk.store.last_seq
    ok = kiosk.post("/screen/leave", json={"token": token, "present": [0, 1], "to_shelter_id": "H001"})
    assert ok.status_code == 201
    assert [e["type"] for e in kiosk.store.outbox(20)[before:]] == ["transfer", "transfer"]


@pytest.mark.parametrize("qr, code, words", [
    ("EV1:" + "A" * 10, "malformed", "danificado e não pode ser lido. Fale com um funcionário."),
    ("https://example.org/", "foreign", "pré-cadastro da cidade"),
    (sign(Household("hh-2", "焼津市", FAMILY.members, expires=int(time.time()) - 60), KEY), "expired", "expirou"),
    (sign(Household("hh-revoked", "焼津市", FAMILY.members, expires=int(time.time()) + 86400), KEY), "revoked", "cancelado"),
])
def test_refused_qrs_say_why_in_the_chosen_language(kiosk, qr, code, words):
    kiosk.store.apply_config({"shelters": [{"id": s, "name": n, "kind": k} for s, n, k in kiosk.store.shelter_list()],
                              "prereg_keys": kiosk.store.prereg_keys(), "revoked": ["hh-revoked"]})
    resp = kiosk.post("/screen/qr?lang=pt", json={"qr": qr})
    assert resp.status_code == 422 and resp.get_json()["code"] == code
    assert words in resp.get_json()["errors"]["qr"]
    assert kiosk.store.last_seq == 0


def test_card_input_is_checked_before_any_reader_is_touched(kiosk):
    resp = kiosk.post("/screen/card?lang=vi", json={"pin": "12a4"})
    assert resp.status_code == 422 and resp.get_json()["errors"] == {"pin": "Hãy nhập mã PIN 4 chữ số."}
    resp = kiosk.post("/screen/card?lang=easy", json={"pin": "1234"})  # this kiosk has no reader
    assert resp.get_json()["code"] == "no_reader" and "きかい" in resp.get_json()["errors"]["pin"]


def test_card_tries_are_read_through_pcscd_without_spending_one(insert_card, tmp_path):
    """/screen/card-tries through the real stack (pyscard, pcscd, vpcd, the software card): it says how
    many tries are left and spends none; the card's own counters are read before and after."""
    from evac.card.applet import MyNumberApplet
    from tests.test_card_pcsc import identity
    app = create_app({"KIOSK_DB": str(tmp_path / "k.sqlite3"), "SHELTER_ID": "H031", "TESTING": True,
                      "CARD_READER": "pcsc", "READER_NAME": "Virtual PCD", "WATCH_TAPS": False})
    client = app.test_client()
    applet = insert_card(MyNumberApplet(identity(), pin_tries=2))
    assert (applet.pin_tries, applet.code_b_tries) == (2, 10)
    resp = client.post("/screen/card-tries?lang=en", json={})
    assert resp.status_code == 200 and resp.get_json() == {"tries_left": 2, "text": "Tries left: 2", "warning": ""}
    resp = client.post("/screen/card-tries?lang=en", json={"code_b": True})
    assert resp.get_json()["tries_left"] == 10
    assert (applet.pin_tries, applet.code_b_tries) == (2, 10)  # looking spent nothing
    applet.pin_tries = 1
    resp = client.post("/screen/card-tries?lang=en", json={})
    assert resp.get_json()["tries_left"] == 1 and "Only one try is left" in resp.get_json()["warning"]
    applet.pin_tries = 0
    resp = client.post("/screen/card-tries?lang=pt", json={})
    assert resp.get_json()["tries_left"] == 0 and resp.get_json()["warning"].startswith("O PIN deste cartão está bloqueado")
    assert applet.pin_tries == 0
    applet.is_my_number_card = False
    resp = client.post("/screen/card-tries?lang=en", json={})
    assert resp.status_code == 422 and resp.get_json() == {
        "errors": {"pin": "This is not a My Number card."}, "code": "not_my_number_card"}
    assert 0x0001 not in applet.selected  # the Individual Number's file was never even opened


def test_two_card_reads_at_once_can_never_spend_the_last_try(insert_card, tmp_path):
    """Wrong PINs sent all at once (a double tap, or several requests): the reader serves one request
    at a time, so each sees the tries the one before it left, and the last try is never spent."""
    import threading
    from evac.card.applet import MyNumberApplet
    from tests.test_card_pcsc import identity
    app = create_app({"KIOSK_DB": str(tmp_path / "k.sqlite3"), "SHELTER_ID": "H031", "TESTING": True,
                      "CARD_READER": "pcsc", "READER_NAME": "Virtual PCD", "WATCH_TAPS": False})
    applet = insert_card(MyNumberApplet(identity(), pin_tries=2))
    start, codes = threading.Barrier(6), []

    def wrong_pin():
        client = app.test_client()
        start.wait()
        codes.append(client.post("/screen/card?lang=en", json={"pin": "0000"}).get_json()["code"])
    threads = [threading.Thread(target=wrong_pin) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert applet.pin_tries == 1, codes
    assert codes.count("wrong_secret") == 1 and set(codes) <= {"wrong_secret", "last_try", "busy"}


def test_a_busy_reader_is_said_and_nothing_is_sent_to_the_card(insert_card, tmp_path):
    """Another request in this kiosk, or another program holding the reader: 'busy', in the chosen
    language, and the card's counter untouched."""
    from evac.card.applet import MyNumberApplet
    from kiosk.card_readers import PcscReader
    from kiosk.checkin import one_reader_at_a_time
    from tests.test_card_pcsc import identity
    app = create_app({"KIOSK_DB": str(tmp_path / "k.sqlite3"), "SHELTER_ID": "H031", "TESTING": True,
                      "CARD_READER": "pcsc", "READER_NAME": "Virtual PCD", "WATCH_TAPS": False})
    client = app.test_client()
    applet = insert_card(MyNumberApplet(identity(), pin_tries=3))
    busy = "O leitor de cartão está ocupado. Espere um momento e tente novamente."
    with one_reader_at_a_time():
        resp = client.post("/screen/card?lang=pt", json={"pin": "0000"})
    assert resp.status_code == 422 and resp.get_json()["errors"] == {"pin": busy}
    other = PcscReader("Virtual PCD")   # another program on the machine, connected exclusively
    try:
        resp = client.post("/screen/card?lang=pt", json={"pin": "0000"})
        assert resp.get_json()["code"] == "busy" and resp.get_json()["errors"] == {"pin": busy}
        assert client.post("/api/card-checkin", json={"pin": "0000"}).get_json()["error"] == "busy"
    finally:
        other.close()
    assert applet.pin_tries == 3
    resp = client.post("/screen/card?lang=en", json={"pin": "4321"})
    assert resp.status_code == 200 and resp.get_json()["persons"][0]["name"]


def test_an_unknown_language_falls_back_to_japanese(kiosk):
    page = kiosk.get("/?lang=klingon")
    assert page.status_code == 200 and '<html lang="ja">' in page.get_data(as_text=True)
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]


def test_the_screen_takes_json_only(kiosk):
    # a form posted from another page (a cross-site request) calls nobody and saves nothing
    resp = kiosk.post("/screen/call-staff", data={"x": "1"})
    assert resp.status_code == 415 and kiosk.store.open_staff_calls() == []
    assert kiosk.post("/screen/call-staff", json={}).status_code == 201


def test_staff_calls_are_kept_until_answered(kiosk_store):
    first = kiosk_store.call_staff("pt")
    kiosk_store.call_staff("ja", SENT_TO_STAFF)   # someone else (a press now would join the open call)
    assert [c["language"] for c in kiosk_store.open_staff_calls()] == ["pt", "ja"]
    kiosk_store.answer_staff_call(first)
    assert [c["language"] for c in kiosk_store.open_staff_calls()] == ["ja"]


@pytest.mark.parametrize("table", ["staff_calls", "corrected_keys", "event_staff", "event_person"])
def test_a_kiosk_database_from_before_a_table_gets_the_table(tmp_path, table):
    store = KioskStore(tmp_path / "k.sqlite3")
    store.db.execute(f"DROP TABLE {table}")
    store.close()
    store = KioskStore(tmp_path / "k.sqlite3")
    assert store.call_staff("en") == 1
    assert store.current_key("nba:x") == "nba:x"
    store.close()


def test_leaving_together_is_all_or_nothing(kiosk_store):
    here, away = Person("焼津 太郎", "1948-03-03", "male", "焼津市"), Person("焼津 花子", "1950-07-07", "female", "焼津市")
    kiosk_store.check_in("H031", [here])
    with pytest.raises(KioskError):
        kiosk_store.leave([(here.name, here.birth_date, here.address), (away.name, away.birth_date, away.address)])
    assert kiosk_store.last_seq == 1


@pytest.mark.parametrize("data, message", [
    ({"consent": "neighbours"}, "consent must be one of"),
    ({"consent": "none", "family_code": "abcd"}, "only goes with"),
    ({"consent": "family", "family_code": "ab"}, "4 to 32"),
    ({"consent": "family", "family_code": ["abcd"]}, "must be text"),
    ({"consent": "family", "never_disclose": "yes"}, "true or false"),
])
def test_disclosure_consent_is_validated_like_every_event(data, message):
    raw = {"kiosk_id": "k1", "seq": 1, "hlc": 1, "type": "consent", "shelter_id": "H031",
           "person": {"name": "焼津 太郎", "birth_date": "1948-03-03", "sex": "male"}, "data": data}
    with pytest.raises(InvalidEvent, match=message):
        parse_event(raw)
    ok = parse_event({**raw, "data": {"consent": "family", "family_code": "Ab12"}})
    assert ok.data == {"consent": "family", "family_code": "Ab12", "never_disclose": False}


def test_a_card_whose_details_a_record_cannot_hold_is_said_and_a_my_number_family_code_refused(
        insert_card, tmp_path):
    """A name longer than a record holds: said on the screen, not a server error.  A family code that
    is a My Number: refused next to the field in the chosen language (番号法 §20), nothing saved."""
    from evac.card.applet import MyNumberApplet
    from tests.test_card_pcsc import identity
    app = create_app({"KIOSK_DB": str(tmp_path / "k.sqlite3"), "SHELTER_ID": "H031", "TESTING": True,
                      "CARD_READER": "pcsc", "READER_NAME": "Virtual PCD", "WATCH_TAPS": False})
    client = app.test_client()
    applet = insert_card(MyNumberApplet(identity(name="焼" * 104)))
    resp = client.post("/screen/card?lang=en", json={"pin": "4321"})
    assert resp.status_code == 422 and resp.get_json()["errors"] == {
        "pin": "This card's details cannot be used here. Please ask staff."}
    applet.identity = identity()
    token = client.post("/screen/card?lang=vi", json={"pin": "4321"}).get_json()["token"]
    resp = client.post("/screen/checkin?lang=vi", json={
        "token": token, "present": [0], "stay_type": "in_shelter", "needs": [[]], "disclosure": "family",
        "family_code": "123456789018", "members": []})
    assert resp.status_code == 422
    assert resp.get_json()["errors"] == {"family_code": "Đừng dùng số My Number (マイナンバー) làm mã gia đình."}
    assert KioskStore(tmp_path / "k.sqlite3").last_seq == 0
