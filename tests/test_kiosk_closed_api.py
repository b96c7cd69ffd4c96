"""A shelter its own staff closed on the tablet (review): the touch screen checked no one in there, but the
kiosk's JSON API (/api/checkin, /api/qr-checkin, /api/card-checkin, /api/ic/tap) and `evac kiosk checkin`
still did.  They refuse now as the screen does (nothing written, staff called with the screen's reason);
leaving, moving on, stay type, needs and status go on.  Real SQLite files, Flask's test client, nfcpy's
udp device for the cards, the real `evac` command."""
from __future__ import annotations

import time

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from evac.prereg_qr import Household, Member, key_id, sign
from kiosk import create_app
from kiosk.staff_store import set_shelter_status
from kiosk.store import SHELTER_CLOSED, KioskStore
from tests.conftest import free_udp_port, run_evac

SHELTER = "H031"
KEY = Ed25519PrivateKey.generate()
FAMILY = Household("hh-9", "焼津市本町9-9", (Member("p-9", "焼津 三郎", "1970-03-03", "male"),),
                   consent="public", expires=int(time.time()) + 3600)
ICHIRO = {"name": "焼津 一郎", "birth_date": "1960-01-01", "address": "焼津市小川1", "sex": "male"}
JIRO = {"name": "焼津 次郎", "birth_date": "1962-02-02", "address": "焼津市小川1", "sex": "male"}


def _kiosk(tmp_path, **config):
    db = tmp_path / "kiosk.sqlite3"
    client = create_app({"KIOSK_DB": str(db), "SHELTER_ID": SHELTER, "TESTING": True, **config}).test_client()
    store = KioskStore(db)
    public = KEY.public_key()
    store.apply_config({"shelters": [{"id": s, "name": n, "kind": k} for s, n, k in store.shelter_list()],
                        "ic_token_key": "ab" * 32,
                        "prereg_keys": {key_id(public): public.public_bytes(Encoding.Raw, PublicFormat.Raw).hex()}})
    return client, store


def _refused(resp) -> None:
    body = resp.get_json()
    assert resp.status_code == 409, body
    assert body["error"] == "shelter_closed" and "closed" in body["message"], body


def test_the_json_api_checks_no_one_in_at_a_shelter_its_staff_closed_and_calls_staff(tmp_path):
    client, store = _kiosk(tmp_path)
    assert client.post("/api/checkin", json={"persons": [ICHIRO]}).status_code == 201   # before it closed
    set_shelter_status(store, SHELTER, "closed")
    seq = store.last_seq
    _refused(client.post("/api/checkin", json={"persons": [JIRO]}))
    _refused(client.post("/api/qr-checkin", json={"qr": sign(FAMILY, KEY)}))
    # refused before the reader is opened: this kiosk has none, and no card's try is spent anyway
    _refused(client.post("/api/card-checkin", json={"pin": "2468"}))
    assert store.last_seq == seq and store.find(JIRO["name"], JIRO["birth_date"], JIRO["address"]) is None
    # staff are called as the screen calls them, once while the call stands
    assert [c["reason"] for c in store.open_staff_calls()] == [SHELTER_CLOSED]
    # all the rest still works for whoever is here
    who = {k: ICHIRO[k] for k in ("name", "birth_date", "address")}
    assert client.post("/api/stay-type", json={**who, "stay_type": "in_car"}).status_code == 201
    assert client.post("/api/needs", json={**who, "needs": ["elderly"]}).status_code == 201
    assert client.post("/api/person-status", json={**who, "status": "injured"}).status_code == 201
    other = next(s for s, _n, kind in store.shelter_list() if kind == "shelter" and s != SHELTER)
    assert client.post("/api/transfer", json={**who, "to_shelter_id": other}).status_code == 201
    # open again: checked in as before
    set_shelter_status(store, SHELTER, "open")
    assert client.post("/api/checkin", json={"persons": [JIRO]}).status_code == 201


def test_a_checkout_still_works_at_a_closed_shelter(tmp_path):
    client, store = _kiosk(tmp_path)
    assert client.post("/api/checkin", json={"persons": [ICHIRO]}).status_code == 201
    set_shelter_status(store, SHELTER, "closed")
    who = {k: ICHIRO[k] for k in ("name", "birth_date", "address")}
    assert client.post("/api/checkout", json=who).status_code == 201
    assert store.find(*who.values()).where.state == "checked_out"


def test_an_ic_card_checks_its_holder_out_but_not_in_at_a_closed_shelter(in_background, tmp_path):
    pytest.importorskip("nfc")
    from evac.ictoken import ic_token
    from kiosk.card_emulator import NfcUdpFelica
    device = f"udp:127.0.0.1:{free_udp_port()}"
    client, store = _kiosk(tmp_path, NFC_DEVICE=device, CARD_WAIT=5)
    idm = bytes.fromhex("0114B3A1C2D3E4F8")
    assert client.post("/api/checkin", json={"persons": [ICHIRO]}).status_code == 201
    store.link_ic(ic_token(idm, store.ic_token_key()), ICHIRO["name"], ICHIRO["birth_date"], ICHIRO["address"],
                  shelter_id=SHELTER)
    set_shelter_status(store, SHELTER, "closed")
    card = in_background(NfcUdpFelica(idm, device))
    try:
        out = client.post("/api/ic/tap")
        assert out.status_code == 201 and out.get_json()["action"] == "checked_out", out.get_json()
        seq = store.last_seq
        _refused(client.post("/api/ic/tap"))   # the next tap would check him in again
    finally:
        card.stop()
    assert store.last_seq == seq
    assert store.find(ICHIRO["name"], ICHIRO["birth_date"], ICHIRO["address"]).where.state == "checked_out"
    assert [c["reason"] for c in store.open_staff_calls()] == [SHELTER_CLOSED]


def test_evac_kiosk_checkin_refuses_a_closed_shelter_unless_told_the_form_is_from_before(tmp_path):
    db = tmp_path / "kiosk.sqlite3"
    store = KioskStore(db)
    set_shelter_status(store, SHELTER, "closed")
    seq = store.last_seq
    form = ("kiosk", "checkin", "--db", str(db), "--shelter", SHELTER, "--name", JIRO["name"],
            "--birth", JIRO["birth_date"], "--sex", "male", "--address", JIRO["address"])
    refused = run_evac(*form)
    assert refused.returncode == 2, refused
    line = refused.stderr.strip()
    assert "\n" not in line and SHELTER in line and "closed" in line and "--even-if-closed" in line, line
    assert "nothing was saved" in line
    assert store.last_seq == seq
    saved = run_evac(*form, "--even-if-closed")
    assert saved.returncode == 0, saved.stderr
    assert store.find(JIRO["name"], JIRO["birth_date"], JIRO["address"]).where.state == "checked_in"
    # the flag changes nothing at an open shelter
    set_shelter_status(store, SHELTER, "open")
    other = run_evac("kiosk", "checkin", "--db", str(db), "--shelter", SHELTER, "--name", ICHIRO["name"],
                     "--birth", ICHIRO["birth_date"], "--sex", "male", "--address", ICHIRO["address"])
    assert other.returncode == 0, other.stderr
