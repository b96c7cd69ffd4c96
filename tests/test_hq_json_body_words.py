"""HQ's JSON endpoints for families (safety inquiries, pre-registration) name what is wrong with a body they
cannot read, as the sync endpoint does: sent as something other than JSON, JSON that does not decode, or
JSON that is not an object.  Whoever writes a client is told which; nothing is kept."""
import pytest
from sqlalchemy import func, select

from hq_dashboard.db import db
from hq_dashboard.models import Inquiry, PreregHousehold

ENDPOINTS = {"/api/v1/safety/inquiries": ("invalid_inquiry", "the inquiry", Inquiry),
             "/api/v1/prereg": ("invalid_registration", "the registration", PreregHousehold)}


def kept(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_a_body_not_sent_as_json_is_told_to_send_it_as_json(hq_app, hq_client, path, content_type):
    code, what, model = ENDPOINTS[path]
    resp = hq_client.post(path, data=b'{"name": "x"}', content_type=content_type)
    assert resp.status_code == 415, resp.get_json()
    answer = resp.get_json()
    assert answer["error"] == code
    assert answer["message"].startswith(what) and "Content-Type: application/json" in answer["message"]
    assert (content_type or "no Content-Type") in answer["message"]
    assert kept(hq_app, model) == 0


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize("body, words", [
    (b"not json", "is not valid JSON"),
    (b'{"inquirer": {', "is not valid JSON"),
    (b"[" * 100_000 + b"]" * 100_000, "is not valid JSON"),   # deeper than Python's decoder recurses
    (b"[1, 2]", "must be a JSON object"),
    (b"null", "must be a JSON object"),
])
def test_json_that_does_not_decode_is_told_apart_from_json_of_the_wrong_shape(hq_app, hq_client, path, body, words):
    code, what, model = ENDPOINTS[path]
    resp = hq_client.post(path, data=body, content_type="application/json")
    assert resp.status_code in (400, 422) and resp.get_json()["error"] == code
    assert resp.get_json()["message"] == f"{what} {words}"
    assert kept(hq_app, model) == 0
