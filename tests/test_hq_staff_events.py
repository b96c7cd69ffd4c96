"""What the staff tablet sends reaches HQ's picture: a shelter declared full, a contact phone."""
from __future__ import annotations

import pytest

from evac.hlc import pack
from hq_dashboard.db import db
from hq_dashboard.models import Shelter
from tests.test_merge_property import fresh_hq

ANNA = {"name": "焼津 杏奈", "birth_date": "1990-03-03", "sex": "female", "address": "焼津市本町1-1"}


def event(seq, etype, data, person=None, k=0, at=None):
    return {"kiosk_id": f"dev-{k}", "seq": seq, "hlc": pack(1_764_000_000_000 + (at or seq) * 1000 + k), "type": etype,
            "shelter_id": "H001", "data": data, **({"person": person} if person else {})}


@pytest.mark.parametrize("reverse", [False, True])
def test_declared_full_survives_later_arrivals_in_any_order_of_delivery(tmp_path, reverse):
    from hq_dashboard.merge import apply_batch
    engine = fresh_hq(tmp_path / "hq.sqlite3", kiosks=2)
    staff = [event(1, "shelter_status", {"status": "full"}, k=0)]
    kiosk = [event(1, "checkin", {"stay_type": "in_shelter"}, ANNA, k=1, at=2)]   # after the declaration
    batches = [("K1", "dev-1", kiosk), ("K0", "dev-0", staff)] if reverse else \
        [("K0", "dev-0", staff), ("K1", "dev-1", kiosk)]
    for kiosk_id, device, events in batches:
        with engine.begin() as conn:
            apply_batch(conn, kiosk_id, device, events)
    with engine.connect() as conn:
        row = conn.execute(db.select(Shelter.opened, Shelter.declared_full, Shelter.occupancy)
                           .where(Shelter.id == "H001")).one()
    assert tuple(row) == (True, True, 1)


def test_a_full_shelter_shows_full_and_is_not_suggested_for_overflow(hq_app, hq_client, enroll):
    token = enroll("H001")
    resp = hq_client.post("/api/v1/sync", headers={"Authorization": f"Bearer {token}"}, json={
        "device_id": "dev-0", "events": [event(1, "shelter_status", {"status": "full"})]})
    assert resp.status_code == 200, resp.get_json()
    features = {f["properties"]["id"]: f["properties"] for f in hq_client.get("/api/v1/shelters").get_json()["features"]}
    assert features["H001"]["status"] == "full"
    assert all(s.get("id") != "H001" for p in features.values() for s in p.get("overflow") or [])


def test_the_contact_phone_from_the_paper_form_is_what_a_confirmed_family_gets(hq_app, hq_client, enroll):
    token = enroll("H001")
    events = [event(1, "checkin", {"stay_type": "in_shelter"}, ANNA),
              event(2, "details", {"contact_phone": "054-123-4567", "home_damage": "half"}, ANNA),
              event(3, "consent", {"consent": "family", "family_code": "Umi2026"}, ANNA)]
    assert hq_client.post("/api/v1/sync", headers={"Authorization": f"Bearer {token}"},
                          json={"device_id": "dev-0", "events": events}).status_code == 200
    answer = hq_client.post("/api/v1/safety/inquiries", json={
        "inquirer": {"name": "焼津 一郎", "address": "東京都", "contact": "090"}, "relationship": "other",
        "reason": "家族", "sought": {"name": ANNA["name"], "birth_date": ANNA["birth_date"]},
        "family_code": "umi2026"}).get_json()
    assert answer["contact"] == "054-123-4567" and answer["whereabouts"]["shelter_id"] == "H001"
