"""Transport IC cards as tap tokens: linked by staff on first tap, then in and out by tapping;
only a keyed hash of the IDm is kept.  Through nfcpy's own stack on its udp device."""
import json
import urllib.request

import pytest

from evac.ictoken import ic_token
from kiosk import create_app
from kiosk.store import KioskStore
from kiosk.sync import HQClient, sync_once
from tests.conftest import free_port, free_udp_port, run_evac

IDM = bytes.fromhex("0114B3A1C2D3E4F5")
WHO = {"name": "焼津 一郎", "birth_date": "1960-01-01", "address": "焼津市小川1"}


@pytest.fixture
def felica(in_background):
    pytest.importorskip("nfc")
    from kiosk.card_emulator import NfcUdpFelica
    return lambda idm, device: in_background(NfcUdpFelica(idm, device))


def test_link_then_tap_in_and_out(felica, hq_server, tmp_path):
    hq = hq_server()
    token = run_evac("hq", "enroll-kiosk", "--db", hq.db_url, "--shelter", "H031").stdout.strip()
    device = f"udp:127.0.0.1:{free_udp_port()}"
    db = tmp_path / "kiosk.sqlite3"
    client = create_app({"KIOSK_DB": str(db), "SHELTER_ID": "H031", "TESTING": True, "NFC_DEVICE": device,
                         "CARD_WAIT": 5}).test_client()
    assert client.post("/api/checkin", json={"persons": [{**WHO, "sex": "male"}]}).status_code == 201
    early = client.post("/api/ic/link", json=WHO)
    assert early.status_code == 422 and "synced with HQ" in early.get_json()["message"]
    sync_once(KioskStore(db), HQClient(hq.url, token))
    card = felica(IDM, device)
    linked = client.post("/api/ic/link", json=WHO)
    assert linked.status_code == 201, linked.get_json()
    out = client.post("/api/ic/tap")
    assert out.status_code == 201 and out.get_json()["action"] == "checked_out"
    back = client.post("/api/ic/tap")
    assert back.status_code == 201 and back.get_json()["action"] == "checked_in"
    card.stop()
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert IDM not in path.read_bytes() and IDM.hex().encode() not in path.read_bytes().lower()
    store = KioskStore(db)
    stored = store.db.execute("SELECT token FROM ic_links").fetchone()[0]
    assert stored == ic_token(IDM, store.ic_token_key())


def test_an_unlinked_card_asks_for_staff(felica, tmp_path):
    device = f"udp:127.0.0.1:{free_udp_port()}"
    db = tmp_path / "kiosk.sqlite3"
    store = KioskStore(db)
    store.apply_config({"shelters": [{"id": "H031", "name": "焼津中学校", "kind": "shelter"}],
                        "ic_token_key": "11" * 32})
    client = create_app({"KIOSK_DB": str(db), "SHELTER_ID": "H031", "TESTING": True, "NFC_DEVICE": device,
                         "CARD_WAIT": 5}).test_client()
    felica(IDM, device)
    resp = client.post("/api/ic/tap")
    assert resp.status_code == 422 and "not linked" in resp.get_json()["message"]
    assert store.last_seq == 0


def test_the_token_is_a_keyed_hash():
    a, b = ic_token(IDM, b"k" * 32), ic_token(IDM, b"j" * 32)
    assert a != b and a.startswith("ic:") and IDM.hex() not in a
    with pytest.raises(ValueError, match="sync with HQ"):
        ic_token(IDM, b"")


def test_a_card_linked_at_one_shelter_works_at_another(felica, hq_server, tmp_path):
    hq = hq_server()
    token_a = run_evac("hq", "enroll-kiosk", "--db", hq.db_url, "--shelter", "H031").stdout.strip()
    token_b = run_evac("hq", "enroll-kiosk", "--db", hq.db_url, "--shelter", "H039").stdout.strip()
    device = f"udp:127.0.0.1:{free_udp_port()}"
    db_a, db_b = tmp_path / "a.sqlite3", tmp_path / "b.sqlite3"
    shelter_a = create_app({"KIOSK_DB": str(db_a), "SHELTER_ID": "H031", "TESTING": True, "NFC_DEVICE": device,
                            "CARD_WAIT": 5}).test_client()
    assert shelter_a.post("/api/checkin", json={"persons": [{**WHO, "sex": "male"}]}).status_code == 201
    sync_once(KioskStore(db_a), HQClient(hq.url, token_a))
    card = felica(IDM, device)
    assert shelter_a.post("/api/ic/link", json=WHO).status_code == 201
    sync_once(KioskStore(db_a), HQClient(hq.url, token_a))   # HQ now knows the link
    assert shelter_a.post("/api/ic/tap").get_json()["action"] == "checked_out"   # leaves shelter A

    # Shelter B has never seen this person; HQ tells it whose card it is.
    sync_once(KioskStore(db_b), HQClient(hq.url, token_b))   # the IC key comes down with the config
    shelter_b = create_app({"KIOSK_DB": str(db_b), "SHELTER_ID": "H039", "TESTING": True, "NFC_DEVICE": device,
                            "CARD_WAIT": 5, "HQ_URL": hq.url, "HQ_TOKEN": token_b,
                            "START_SYNC": False}).test_client()
    tap = shelter_b.post("/api/ic/tap")
    assert tap.status_code == 201, tap.get_json()
    assert tap.get_json()["action"] == "checked_in" and tap.get_json()["name"] == WHO["name"]
    # Offline from now on, the card still works at B: the link is kept there.
    assert shelter_b.post("/api/ic/tap").get_json()["action"] == "checked_out"
    card.stop()
    sync_once(KioskStore(db_b), HQClient(hq.url, token_b))
    with urllib.request.urlopen(hq.url + "/api/v1/shelters") as resp:
        shelters = {f["properties"]["id"]: f["properties"] for f in json.load(resp)["features"]}
    assert shelters["H031"]["occupancy"] == 0 and shelters["H039"]["occupancy"] == 0


def test_a_card_from_elsewhere_with_hq_unreachable_says_so_and_writes_nothing(felica, tmp_path):
    device = f"udp:127.0.0.1:{free_udp_port()}"
    db = tmp_path / "kiosk.sqlite3"
    store = KioskStore(db)
    store.apply_config({"shelters": [{"id": "H039", "name": "焼津南小学校", "kind": "shelter"}],
                        "ic_token_key": "11" * 32})
    client = create_app({"KIOSK_DB": str(db), "SHELTER_ID": "H039", "TESTING": True, "NFC_DEVICE": device,
                         "CARD_WAIT": 5, "HQ_URL": f"http://127.0.0.1:{free_port()}", "HQ_TOKEN": "K1.x",
                         "START_SYNC": False}).test_client()
    felica(IDM, device)
    resp = client.post("/api/ic/tap")
    assert resp.status_code == 422 and "HQ cannot be reached" in resp.get_json()["message"]
    assert store.last_seq == 0


def test_hq_moves_a_card_handed_on_to_someone_else_without_merging_the_two(hq_client, enroll):
    from evac.hlc import pack
    token = enroll("H001")
    card = "ic:" + "ab" * 16
    anna = {"name": "焼津 杏奈", "birth_date": "1990-03-03", "sex": "female", "address": "焼津市本町1-1"}
    ken = {"name": "焼津 健", "birth_date": "1988-08-08", "sex": "male", "address": "焼津市本町1-1"}

    def ev(seq, etype, person, data):
        return {"kiosk_id": "dev-x", "seq": seq, "hlc": pack(1_764_000_000_000 + seq), "type": etype,
                "shelter_id": "H001", "person": person, "data": data}
    batch = [ev(1, "checkin", anna, {}), ev(2, "ic_link", anna, {"token": card}),
             ev(3, "checkin", ken, {}), ev(4, "ic_link", ken, {"token": card})]
    headers = {"Authorization": f"Bearer {token}"}
    assert hq_client.post("/api/v1/sync", json={"device_id": "dev-x", "events": batch}, headers=headers).status_code == 200
    whose = hq_client.get(f"/api/v1/ic/{card}", headers=headers)
    assert whose.status_code == 200 and whose.get_json()["person"]["name"] == "焼津 健"
    occupancy = {f["properties"]["id"]: f["properties"]["occupancy"]
                 for f in hq_client.get("/api/v1/shelters").get_json()["features"]}
    assert occupancy["H001"] == 2   # still two people
    assert hq_client.get(f"/api/v1/ic/{card}").status_code == 401
    assert hq_client.get("/api/v1/ic/ic:zz", headers=headers).get_json()["error"] == "bad_ic_token"
    unknown = hq_client.get("/api/v1/ic/ic:" + "cd" * 16, headers=headers)
    assert unknown.status_code == 404 and "no one is linked" in unknown.get_json()["message"]


def test_the_ic_token_key_is_kept_in_hqs_database_and_survives_a_new_secret_key(hq_db_url, tmp_path):
    """Kiosks hash cards with the key HQ sends them; HQ's links were made with it.  A new secret key
    (rotated, or lost with the machine) must not change it, or every linked card stops finding its person."""
    from hq_dashboard import create_app as create_hq, prepare_database
    from hq_dashboard.api import derived_ic_token_key
    from hq_dashboard.db import db
    from hq_dashboard.enrollment import enroll_kiosk

    def config_key(secret):
        app = create_hq({"SQLALCHEMY_DATABASE_URI": hq_db_url, "TESTING": True, "SECRET_KEY": secret})
        prepare_database(app)
        with app.app_context():
            token = enroll_kiosk(db.session, "H001")
            key = app.test_client().get("/api/v1/kiosk/config",
                                        headers={"Authorization": f"Bearer {token}"}).get_json()["ic_token_key"]
            db.engine.dispose()
        return key

    first = config_key("a" * 64)
    assert first == derived_ic_token_key("a" * 64)   # as HQ made it before it was kept: old links still work
    assert config_key("b" * 64) == first
