"""番号法 §20: HQ's refusal of a kiosk's record does not repeat the refused value (HQ keeps the message in
kiosks.refused_message and shows it), so a number typed where a birth date or type goes is not kept that
way; the message still says which field and what form is expected.  Real HQ app and database."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from evac.hlc import pack
from hq_dashboard.db import db
from hq_dashboard.models import Kiosk

NUMBER = "123456789018"       # a valid check digit (not anyone's)
PERSON = {"name": "同期 試験", "birth_date": "1990-01-01", "sex": "male", "address": ""}


@pytest.mark.parametrize("event, expected", [
    ({"type": "checkin", "person": {**PERSON, "birth_date": NUMBER}, "data": {"stay_type": "in_shelter"}},
     "birth date is not a date in the form YYYY-MM-DD"),
    ({"type": NUMBER, "person": PERSON, "data": {}}, "unknown event type: it must be one of register, checkin"),
    ({"type": "withdrawn", "data": {"reason": "誤登録", "type": NUMBER}},
     "a withdrawn record's type must be an event type or empty (register, checkin"),
])
def test_a_refusal_names_the_field_and_form_but_not_the_value(hq_app, hq_client, enroll, event, expected):
    token = enroll("H001")
    event = {"kiosk_id": "dev-n", "seq": 1, "hlc": pack(1_764_000_000_000), "shelter_id": "H001", **event}
    answer = hq_client.post("/api/v1/sync", json={"device_id": "dev-n", "events": [event]},
                            headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 422, answer.get_json()
    assert expected in answer.get_data(as_text=True) and NUMBER not in answer.get_data(as_text=True)
    with hq_app.app_context():
        kept = db.session.execute(select(Kiosk.refused_message).where(Kiosk.refused_message.is_not(None))).scalars().all()
    assert kept and expected in kept[0] and NUMBER not in kept[0]
    dashboard = hq_client.get("/").get_data(as_text=True)
    assert NUMBER not in dashboard
