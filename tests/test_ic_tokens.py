"""Transport IC cards as tap tokens: linked by staff on first tap, then in and out by tapping;
only a keyed hash of the IDm is kept.  Through nfcpy's own stack on its udp device."""
import pytest

from evac.ictoken import ic_token
from kiosk import create_app
from kiosk.store import KioskStore
from kiosk.sync import HQClient, sync_once
from tests.conftest import free_udp_port, run_evac

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
