"""What HQ's sync endpoint says of a body it cannot read names what is wrong with it: the Content-Type,
JSON that does not decode, or JSON that is not an object; nothing of it is applied."""
import json

import pytest
from sqlalchemy import func, select

from hq_dashboard.db import db
from hq_dashboard.models import EventRecord
from tests.wire import KioskStream, person


def batch() -> bytes:
    k = KioskStream("kiosk-a")
    k.checkin(person("焼津 太郎"), household_id="hh1")
    return json.dumps({"device_id": "kiosk-a", "events": k.events}).encode()


def stored(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(EventRecord))


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_a_batch_not_sent_as_json_is_told_to_send_it_as_json(hq_app, hq_client, enroll, content_type):
    token = enroll("H001")
    resp = hq_client.post("/api/v1/sync", data=batch(), content_type=content_type,
                          headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 415, resp.get_json()
    answer = resp.get_json()
    assert answer["error"] == "unsupported_media_type"
    assert "Content-Type: application/json" in answer["message"] and "nothing was saved" in answer["message"]
    assert (content_type or "no Content-Type") in answer["message"]
    assert stored(hq_app) == 0


def test_the_same_batch_sent_as_json_is_taken(hq_app, hq_client, enroll):
    token = enroll("H001")
    resp = hq_client.post("/api/v1/sync", data=batch(), content_type="application/json; charset=utf-8",
                          headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200 and resp.get_json()["acked_seq"] == 1
    assert stored(hq_app) == 1


@pytest.mark.parametrize("body, words", [
    (b"not json", "is not valid JSON"),
    (b'{"device_id": "kiosk-a", "events": [', "is not valid JSON"),
    (b"[1, 2]", "must be a JSON object"),
    (b'"kiosk-a"', "must be a JSON object"),
])
def test_json_that_does_not_decode_is_told_apart_from_json_of_the_wrong_shape(hq_app, hq_client, enroll, body, words):
    token = enroll("H001")
    resp = hq_client.post("/api/v1/sync", data=body, content_type="application/json",
                          headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 400 and resp.get_json()["error"] == "malformed_batch"
    assert words in resp.get_json()["message"] and "nothing was saved" in resp.get_json()["message"]
    assert stored(hq_app) == 0
