"""災対法 §86-15: whoever holds a My Number card or a linked IC card may type anyone in beside it on the screen;
nothing proves the typed-in person is who they are typed as, nor that they chose the consent the holder
tapped.  So a typed-in person is checked in without a consent from it, whatever identified the holder: the
holder's "public" does not make a stranger answered at once to anyone (nor published over PFIF), does not
override the stranger's own consent "none" given in person, and no longer tells a typed-in protected name
(held back, nothing written) from a typed-in unknown one (checked in).  The holder's own consent counts at
once as before.  Real kiosk screen (the emulated My Number card through pcscd, an IC card through nfcpy's
udp device), real sync over HTTP, real HQ (SQLite and PostgreSQL) answering inquiries."""
from __future__ import annotations

import pytest

from tests.conftest import free_udp_port
from tests.test_safety_household_protection import Kiosk, same_as_unknown, unknown_answer
from tests.test_safety_review_fixes import ask, export
from tests.test_sync_hq_answers import serve  # noqa: F401  (fixture: HQ over real HTTP in a thread)

HOME = "焼津市本町7-7"   # the holder's address (the card's, the IC card holder's): whom they type in get it
# Known to HQ from another shelter's kiosk: someone registered at the holder's address who said in person
# "tell no one", and a person under never-disclose protection.
STRANGER = {"name": "他人 正子", "birth_date": "1972-04-04", "sex": "female", "address": HOME}
PROTECTED = {"name": "守田 静香", "name_kana": "モリタ シズカ", "birth_date": "1985-09-09", "sex": "female",
             "address": "焼津市大住5-5"}
UNKNOWN = {"name": "初見 一郎", "birth_date": "1990-10-10", "sex": "male"}   # known nowhere before
TYPED = [{k: p[k] for k in ("name", "birth_date", "sex")} for p in (STRANGER, PROTECTED, UNKNOWN)]
IC_HOLDER = ("焼津 正男", "1955-05-15", "male", HOME)


def _other(hq_client, who: dict, addr: str) -> dict:
    return ask(hq_client, who["name"], who["birth_date"], "other", addr=addr).get_json()


@pytest.fixture
def city(hq_app, hq_client, enroll, serve, tmp_path):   # noqa: F811  (serve: the fixture)
    """HQ over HTTP knowing the stranger and the protected person; a kiosk at H031 synced with it."""
    from kiosk.store import KioskStore
    from kiosk.sync import HQClient
    Kiosk(hq_client, enroll("H001"), device="dev-o", shelter="H001").send(
        ("checkin", STRANGER, {"stay_type": "in_shelter"}, None),
        ("consent", STRANGER, {"consent": "none"}, None),
        ("checkin", PROTECTED, {"stay_type": "in_shelter"}, None),
        ("consent", PROTECTED, {"consent": "none", "never_disclose": True}, None))
    hq = serve(hq_app)
    store = KioskStore(tmp_path / "kiosk.sqlite3")
    try:
        yield store, HQClient(hq.url, enroll("H031"))
    finally:
        store.close()


def _card_holder(insert_card, tmp_path):
    """The screen with the emulated My Number card read by its PIN: (client, token, holder's name, birth)."""
    from evac.card.applet import MyNumberApplet
    from kiosk import create_app
    from tests.test_card_pcsc import identity
    screen = create_app({"KIOSK_DB": str(tmp_path / "kiosk.sqlite3"), "SHELTER_ID": "H031", "TESTING": True,
                         "CARD_READER": "pcsc", "READER_NAME": "Virtual PCD", "WATCH_TAPS": False}).test_client()
    insert_card(MyNumberApplet(identity(address=HOME)))
    read = screen.post("/screen/card?lang=en", json={"pin": "4321"})
    assert read.status_code == 200, read.get_json()
    holder = read.get_json()["persons"][0]
    return screen, read.get_json()["token"], holder["name"], "1980-02-17"


def _ic_holder(in_background, tmp_path, store):
    """The screen with a transport IC card staff linked to someone they checked in ("tell no one")."""
    from evac.ictoken import ic_token
    from kiosk import create_app
    from kiosk.card_emulator import NfcUdpFelica
    from kiosk.store import Person
    device = f"udp:127.0.0.1:{free_udp_port()}"
    screen = create_app({"KIOSK_DB": str(tmp_path / "kiosk.sqlite3"), "SHELTER_ID": "H031", "TESTING": True,
                         "NFC_DEVICE": device, "CARD_WAIT": 5}).test_client()
    name, birth, sex, address = IC_HOLDER
    store.check_in("H031", [Person(name, birth, sex, address)], disclosure="none")
    idm = bytes.fromhex("0114B3A1C2D3E4F9")
    store.link_ic(ic_token(idm, store.ic_token_key()), name, birth, address, shelter_id="H031")
    card = in_background(NfcUdpFelica(idm, device))
    try:
        shown = screen.post("/screen/ic?lang=en", json={})
    finally:
        card.stop()
    assert shown.status_code == 200, shown.get_json()
    return screen, shown.get_json()["token"], name, birth


# Two tests, not one parametrized: the card's turn at vpcd's reader (conftest.pytest_runtest_protocol) goes by
# the fixtures a test names, and one asked for on the way (getfixturevalue) took no turn (seen in CI).
def test_people_typed_in_beside_a_my_number_card_get_no_consent_from_its_holder(city, hq_app, hq_client,
                                                                                 insert_card, tmp_path):
    from kiosk.sync import sync_once
    store, link = city
    sync_once(store, link)   # HQ's protection digests
    _typed_in_beside(*_card_holder(insert_card, tmp_path), city, hq_app, hq_client)


def test_people_typed_in_beside_an_ic_card_get_no_consent_from_its_holder(city, hq_app, hq_client, in_background,
                                                                           tmp_path):
    from kiosk.sync import sync_once
    store, link = city
    sync_once(store, link)   # HQ's protection digests and its IC card key
    _typed_in_beside(*_ic_holder(in_background, tmp_path, store), city, hq_app, hq_client)


def _typed_in_beside(screen, token, holder, born, city, hq_app, hq_client) -> None:
    from kiosk.sync import sync_once
    store, link = city
    before = store.last_seq
    done = screen.post("/screen/checkin?lang=en", json={
        "token": token, "present": [0], "members": TYPED, "stay_type": "in_shelter",
        "needs": [[] for _ in range(1 + len(TYPED))], "disclosure": "public"})
    assert done.status_code == 201, done.get_json()
    assert done.get_json()["names"] == [holder] + [p["name"] for p in TYPED]
    # The holder's consent is written for the holder alone; the protected person is held back (nothing).
    written = [(e["type"], e["person"]["name"]) for e in store.outbox(50)[before:]]
    assert [w for w in written if w[0] == "consent"] == [("consent", holder)]
    assert {n for t, n in written if t == "checkin"} == {holder, STRANGER["name"], UNKNOWN["name"]}
    sync_once(store, link)

    unknown = unknown_answer(hq_client)
    assert unknown["status"] == "pending_review"
    answers = {p["name"]: _other(hq_client, p, f"10.7.0.{i}") for i, p in enumerate(TYPED)}
    # Neither typed-in person is answered at once: each exactly as someone the city knows nothing about, so
    # the protected one and the unknown one are answered alike; the stranger's "tell no one" still stands.
    for name, answer in answers.items():
        assert same_as_unknown(answer, unknown), (name, answer)
    assert same_as_unknown(answers[PROTECTED["name"]], answers[UNKNOWN["name"]])
    # The holder's own consent, given in person, is answered at once as before.
    own = ask(hq_client, holder, born, "other", addr="10.7.1.1").get_json()
    assert own["status"] == "answered" and own["whereabouts"]["shelter_id"] == "H031", own
    # Only the holder is published over PFIF.
    doc, published = export(hq_app)
    assert published == 1 and not any(p["name"].encode() in doc for p in TYPED)
