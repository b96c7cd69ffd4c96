"""HQ's sync endpoint and merge, on SQLite and PostgreSQL alike."""
import json

import pytest
from sqlalchemy import func, select

from hq_dashboard.db import db
from hq_dashboard.models import EventRecord, Kiosk, Person, Shelter
from tests.wire import KioskStream, person


def post(client, token, device_id, events):
    return client.post("/api/v1/sync", json={"device_id": device_id, "events": events},
                       headers={"Authorization": f"Bearer {token}"})


def occupancy(client):
    features = client.get("/api/v1/shelters").get_json()["features"]
    return {f["properties"]["id"]: f["properties"]["occupancy"] for f in features if f["properties"]["occupancy"]}


def counts(app):
    with app.app_context():
        return (db.session.scalar(select(func.count()).select_from(EventRecord)),
                db.session.scalar(select(func.count()).select_from(Person)))


def test_shelters_are_seeded_as_geojson(hq_client):
    body = hq_client.get("/api/v1/shelters").get_json()
    assert body["type"] == "FeatureCollection" and len(body["features"]) == 212
    h001 = next(f for f in body["features"] if f["properties"]["id"] == "H001")
    props = h001["properties"]
    assert props["name"] == "二区コミュニティ防災センター"
    assert props["kind"] == "shelter" and props["capacity"] == 135 and props["occupancy"] == 0
    assert props["status"] == "not_opened"
    assert h001["geometry"]["coordinates"] == pytest.approx([138.3214856, 34.86145068])


def test_checkins_count_and_a_retry_is_applied_once(hq_app, hq_client, enroll):
    token = enroll("H001")
    k = KioskStream("kiosk-a")
    k.checkin(person("焼津 太郎"), household_id="hh1")
    k.checkin(person("焼津 花子", sex="female", birth="1950-01-01"), household_id="hh1")
    first = post(hq_client, token, "kiosk-a", k.events)
    assert first.status_code == 200, first.get_json()
    assert first.get_json()["acked_seq"] == 2 and first.get_json()["applied"] == 2
    again = post(hq_client, token, "kiosk-a", k.events)
    assert again.status_code == 200 and again.get_json() == {**again.get_json(), "acked_seq": 2, "applied": 0,
                                                            "duplicates": 2}
    assert occupancy(hq_client) == {"H001": 2}
    assert counts(hq_app) == (2, 2)
    status = next(f["properties"]["status"] for f in hq_client.get("/api/v1/shelters").get_json()["features"]
                  if f["properties"]["id"] == "H001")
    assert status == "open"


def test_same_person_at_two_kiosks_is_one_person_and_moves(hq_app, hq_client, enroll):
    ta, tb = enroll("H001"), enroll("H002")
    a, b = KioskStream("kiosk-a", "H001"), KioskStream("kiosk-b", "H002")
    # The card says 髙橋/１２３４番地の５; the staff at B typed 高橋/1234-5.
    a.checkin(person("髙橋 一郎", address="静岡県焼津市藤守１２３４番地の５"), at_ms=1_764_000_000_000)
    b.checkin(person("高橋　一郎", address="藤守1234-5"), at_ms=1_764_000_600_000)
    assert post(hq_client, ta, "kiosk-a", a.events).status_code == 200
    assert occupancy(hq_client) == {"H001": 1}
    assert post(hq_client, tb, "kiosk-b", b.events).status_code == 200
    assert occupancy(hq_client) == {"H002": 1}
    assert counts(hq_app) == (2, 1)


def test_an_older_event_arriving_late_does_not_undo_a_newer_one(hq_app, hq_client, enroll):
    ta, tb = enroll("H001"), enroll("H002")
    a, b = KioskStream("kiosk-a", "H001"), KioskStream("kiosk-b", "H002")
    p = person("駿河 次郎")
    a.checkin(p, at_ms=1_764_000_000_000)            # 09:00 at A (kiosk A offline all day)
    b.checkin(p, at_ms=1_764_000_000_000 + 3600_000)  # 10:00 at B
    assert post(hq_client, tb, "kiosk-b", b.events).status_code == 200
    assert post(hq_client, ta, "kiosk-a", a.events).status_code == 200
    assert occupancy(hq_client) == {"H002": 1}


def test_transfer_and_checkout(hq_client, enroll):
    ta = enroll("H001")
    a = KioskStream("kiosk-a", "H001")
    p1, p2 = person("一 人"), person("二 人", birth="1960-06-06")
    a.checkin(p1)
    a.checkin(p2)
    a.add("transfer", p1, {"to_shelter_id": "H003"})
    a.add("checkout", p2)
    assert post(hq_client, ta, "kiosk-a", a.events).status_code == 200
    assert occupancy(hq_client) == {}


def test_stay_types_are_counted_apart(hq_client, enroll):
    ta = enroll("H001")
    a = KioskStream("kiosk-a", "H001")
    a.checkin(person("在宅 一"), stay_type="at_home")
    a.checkin(person("車中 二"), stay_type="in_car")
    a.checkin(person("避難 三"))
    assert post(hq_client, ta, "kiosk-a", a.events).status_code == 200
    props = next(f["properties"] for f in hq_client.get("/api/v1/shelters").get_json()["features"]
                 if f["properties"]["id"] == "H001")
    assert (props["occupancy"], props["at_home"], props["in_car"]) == (1, 1, 1)


def test_prereg_id_links_a_qr_checkin_to_a_card_checkin(hq_app, hq_client, enroll):
    ta, tb = enroll("H001"), enroll("H002")
    a, b = KioskStream("kiosk-a", "H001"), KioskStream("kiosk-b", "H002")
    # QR at A carries the pre-registration id and a slightly different typed address;
    # the card at B is matched through a third event that carries both.
    a.checkin(person("大井 川子", sex="female", address="焼津市大井川1", prereg_id="PR-1"))
    b.checkin(person("大井 川子", sex="female", address="静岡県焼津市宗高900"))
    b.add("needs", person("大井 川子", sex="female", address="静岡県焼津市宗高900", prereg_id="PR-1"),
          {"needs": ["dialysis"]})
    assert post(hq_client, ta, "kiosk-a", a.events).status_code == 200
    assert post(hq_client, tb, "kiosk-b", b.events).status_code == 200
    assert counts(hq_app) == (3, 1)
    assert occupancy(hq_client) == {"H002": 1}
    with hq_app.app_context():
        (only,) = db.session.scalars(select(Person)).all()
        assert only.needs == "dialysis"


def test_a_gap_is_refused_and_nothing_is_applied(hq_app, hq_client, enroll):
    token = enroll("H001")
    k = KioskStream("kiosk-a")
    for i in range(4):
        k.checkin(person(f"人 {i}"))
    resp = post(hq_client, token, "kiosk-a", k.events[2:])
    assert resp.status_code == 409
    assert resp.get_json()["error"] == "sequence_gap" and resp.get_json()["expected_seq"] == 1
    inner = post(hq_client, token, "kiosk-a", [k.events[0], k.events[2]])
    assert inner.status_code == 409 and "not consecutive" in inner.get_json()["message"]
    assert counts(hq_app) == (0, 0) and occupancy(hq_client) == {}


def test_an_invalid_event_inside_a_batch_rejects_the_whole_batch(hq_app, hq_client, enroll):
    token = enroll("H001")
    k = KioskStream("kiosk-a")
    k.checkin(person("正しい 人"))
    bad = k.checkin(person("誤り 人"))
    bad["person"]["birth_date"] = "1999-13-45"
    resp = post(hq_client, token, "kiosk-a", k.events)
    assert resp.status_code == 422
    assert resp.get_json()["error"] == "invalid_event" and "event 2" in resp.get_json()["message"]
    assert counts(hq_app) == (0, 0)
    with hq_app.app_context():
        assert db.session.get(Kiosk, token.split(".")[0]).high_seq == 0


def test_unknown_shelter_in_a_batch_is_refused(hq_app, hq_client, enroll):
    token = enroll("H001")
    k = KioskStream("kiosk-a", "H999")
    k.checkin(person())
    resp = post(hq_client, token, "kiosk-a", k.events)
    assert resp.status_code == 422 and "H999" in resp.get_json()["message"]
    assert counts(hq_app) == (0, 0)


def test_a_changed_event_under_an_acknowledged_sequence_is_a_conflict(hq_app, hq_client, enroll):
    token = enroll("H001")
    k = KioskStream("kiosk-a")
    k.checkin(person())
    assert post(hq_client, token, "kiosk-a", k.events).status_code == 200
    k.events[0]["data"]["stay_type"] = "in_car"
    resp = post(hq_client, token, "kiosk-a", k.events)
    assert resp.status_code == 409 and resp.get_json()["error"] == "conflicting_event"


def test_a_resent_record_an_older_hq_stored_in_its_own_words_is_the_same_record(hq_app, hq_client, enroll):
    # HQs before dd0fa77 stored a consent with "family_code": "" that today's parser drops.  A kiosk
    # resending it (its answer lost when HQ stopped for the upgrade) must be taken as a duplicate, not
    # refused for good as a changed record; a record that really differs still is.
    token = enroll("H001")
    k = KioskStream("kiosk-a")
    k.checkin(person())
    k.events.append({**k.events[0], "seq": 2, "hlc": k.events[0]["hlc"] + 1, "type": "consent",
                     "data": {"consent": "none", "never_disclose": False}})
    assert post(hq_client, token, "kiosk-a", k.events).status_code == 200
    with hq_app.app_context():
        row = db.session.scalars(select(EventRecord).where(EventRecord.seq == 2)).one()
        older = json.loads(row.body)
        older["data"]["family_code"] = ""
        row.body = json.dumps(older, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
        db.session.commit()
    resent = post(hq_client, token, "kiosk-a", k.events)
    assert resent.status_code == 200 and resent.get_json()["duplicates"] == 2, resent.get_json()
    k.events[1]["data"]["consent"] = "public"
    changed = post(hq_client, token, "kiosk-a", k.events)
    assert changed.status_code == 409 and changed.get_json()["error"] == "conflicting_event"


@pytest.mark.parametrize("headers, code", [
    ({}, "unauthenticated"),
    ({"Authorization": "Bearer KNOPE.secret"}, "unknown_kiosk"),
    ({"Authorization": "Basic abc"}, "unauthenticated"),
])
def test_unauthenticated_and_unknown_kiosks_are_refused(hq_app, hq_client, headers, code):
    k = KioskStream("kiosk-a")
    k.checkin(person())
    resp = hq_client.post("/api/v1/sync", json={"device_id": "kiosk-a", "events": k.events}, headers=headers)
    assert resp.status_code == 401 and resp.get_json()["error"] == code
    assert counts(hq_app) == (0, 0)


def test_a_wrong_token_is_refused(hq_app, hq_client, enroll):
    kiosk_id = enroll("H001").split(".")[0]
    k = KioskStream("kiosk-a")
    k.checkin(person())
    resp = post(hq_client, f"{kiosk_id}.not-the-secret", "kiosk-a", k.events)
    assert resp.status_code == 401 and resp.get_json()["error"] == "wrong_token"
    assert counts(hq_app) == (0, 0)


def test_a_token_stays_bound_to_one_kiosk_database(hq_app, hq_client, enroll):
    token = enroll("H001")
    a, other = KioskStream("kiosk-a"), KioskStream("kiosk-other")
    a.checkin(person())
    other.checkin(person("別 人"))
    assert post(hq_client, token, "kiosk-a", a.events).status_code == 200
    resp = post(hq_client, token, "kiosk-other", other.events)
    assert resp.status_code == 409 and resp.get_json()["error"] == "wrong_device"
    assert counts(hq_app) == (1, 1)


def test_another_databases_refused_batch_says_nothing_of_the_kiosks_own_records(hq_app, hq_client, enroll):
    """A database used with another kiosk's token (a mix-up of tokens) is refused; what it says it wrote is
    not that kiosk's: HQ's dashboard would show records "still on their way" that the kiosk never wrote."""
    token = enroll("H001")
    a, other = KioskStream("kiosk-a"), KioskStream("kiosk-other")
    a.checkin(person())
    headers = {"Authorization": f"Bearer {token}"}
    assert hq_client.post("/api/v1/sync", json={"device_id": "kiosk-a", "events": a.events, "last_seq": 1},
                          headers=headers).status_code == 200
    with hq_app.app_context():
        heard = db.session.execute(select(Kiosk.last_sync_at, Kiosk.last_seq)).one()
        db.session.remove()
    for name in ("別 人", "別 人二", "別 人三", "別 人四", "別 人五"):
        other.checkin(person(name))
    refused = hq_client.post("/api/v1/sync", json={"device_id": "kiosk-other", "events": other.events,
                                                   "last_seq": 5}, headers=headers)
    assert refused.status_code == 409 and refused.get_json()["error"] == "wrong_device"
    with hq_app.app_context():
        kiosk = db.session.execute(select(Kiosk)).scalar_one()
        assert (kiosk.last_sync_at, kiosk.last_seq) == tuple(heard) and heard.last_seq == 1
        assert kiosk.refused_code == "wrong_device"   # staff are still shown the mix-up


@pytest.mark.parametrize("body, code, error", [
    (b"not json", 400, "malformed_batch"),
    (b'{"device_id": "kiosk-a", "events": {"a": 1}}', 400, "malformed_batch"),
    (b'{"events": []}', 400, "malformed_batch"),
    (b'{"device_id": "kiosk-\\ud800", "events": []}', 400, "malformed_batch"),   # half a UTF-16 pair
    (b'{"device_id": "kiosk a", "events": []}', 400, "malformed_batch"),
    # Deeper than Python's JSON decoder recurses (a RecursionError, which was a 500).
    (b'{"device_id": "kiosk-a", "events": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", 400, "malformed_batch"),
])
def test_malformed_batches_get_a_json_error(hq_app, hq_client, enroll, body, code, error):
    token = enroll("H001")
    resp = hq_client.post("/api/v1/sync", data=body, content_type="application/json",
                          headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == code and resp.get_json()["error"] == error
    assert resp.get_json()["message"]


def test_half_of_a_utf16_pair_in_a_name_is_an_invalid_event_not_a_server_failure(hq_app, hq_client, enroll):
    token = enroll("H001")
    k = KioskStream("kiosk-a")
    k.checkin(person("正しい 人"))
    k.checkin(person("壊れた \ud800"))
    body = json.dumps({"device_id": "kiosk-a", "events": k.events})   # as \\ud800: valid JSON, broken text
    resp = hq_client.post("/api/v1/sync", data=body, content_type="application/json",
                          headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 422, resp.get_data(as_text=True)
    assert resp.get_json()["error"] == "invalid_event"
    assert "event 2 of the batch: name contains a broken character" in resp.get_json()["message"]
    assert counts(hq_app) == (0, 0)


def test_oversized_batches_are_refused(hq_app, hq_client, enroll):
    token = enroll("H001")
    k = KioskStream("kiosk-a")
    for i in range(1001):
        k.checkin(person(f"人 {i}"))
    resp = post(hq_client, token, "kiosk-a", k.events)
    assert resp.status_code == 413 and resp.get_json()["error"] == "batch_too_large"
    huge = hq_client.post("/api/v1/sync", data=b"{" + b" " * (5 * 1024 * 1024) + b"}",
                          content_type="application/json", headers={"Authorization": f"Bearer {token}"})
    assert huge.status_code == 413 and huge.get_json()["error"] == "batch_too_large"
    assert counts(hq_app) == (0, 0)


def test_kiosk_config_sends_down_the_shelter_list(hq_client, enroll):
    token = enroll("H007")
    resp = hq_client.get("/api/v1/kiosk/config", headers={"Authorization": f"Bearer {token}"})
    body = resp.get_json()
    assert resp.status_code == 200 and body["shelter_id"] == "H007" and len(body["shelters"]) == 212
    assert body["hlc"] > 0


def test_capacity_uses_the_configured_area_per_person(hq_db_url):
    from hq_dashboard import create_app, prepare_database
    app = create_app({"SQLALCHEMY_DATABASE_URI": hq_db_url, "AREA_PER_PERSON_M2": 2.0})
    prepare_database(app)
    with app.app_context():
        assert db.session.get(Shelter, "H001").capacity == 237  # 475 m² / 2 m²
        db.engine.dispose()


def test_two_records_becoming_one_keep_the_latest_contact(hq_app, hq_client, enroll):
    """Typed at one kiosk, the pre-registration QR (with its contact) at another: when an event names
    both identities the two become one person, and the contact given at the second kiosk stays."""
    typed = person("焼津 一郎", "1950-02-02", address="焼津市本町1-1")
    qr = person("焼津 一郎", "1950-02-02", address="焼津市本町1-1 コーポ201", prereg_id="PR-ABC")
    both = person("焼津 一郎", "1950-02-02", address="焼津市本町1-1", prereg_id="PR-ABC")
    k1, k2 = KioskStream("kiosk-typed", "H031"), KioskStream("kiosk-qr", "H001", start_ms=1_764_000_000_500)
    k1.checkin(typed)
    k1.add("details", typed, {"contact_phone": "054-000-0000"})
    assert post(hq_client, enroll("H031"), "kiosk-typed", k1.events).status_code == 200
    token = enroll("H001")
    k2.checkin(qr)
    k2.add("details", qr, {"contact_phone": "090-5555-6666"})
    assert post(hq_client, token, "kiosk-qr", k2.events).status_code == 200
    assert counts(hq_app)[1] == 2
    k2.add("stay_type", both, {"stay_type": "in_shelter"})
    assert post(hq_client, token, "kiosk-qr", k2.events).status_code == 200
    with hq_app.app_context():
        (merged,) = db.session.execute(select(Person)).scalars().all()
        assert merged.contact == "090-5555-6666" and merged.contact_order


def test_a_protected_person_s_ic_card_answers_as_a_card_nobody_linked(hq_app, hq_client, enroll):
    protected = person("匿名 希", "1990-02-02", "female", address="焼津市大住1")
    other = person("駿河 次郎", "1972-07-07", address="焼津市小川1")
    twin = person("匿名 希", "1990-02-02", "female", address="")   # the same person typed with no address
    cards = {"protected": "ic:" + "ab" * 16, "other": "ic:" + "cd" * 16, "twin": "ic:" + "ef" * 16,
             "nobody": "ic:" + "01" * 16}
    k = KioskStream("kiosk-ic", "H031")
    k.checkin(protected)
    k.add("consent", protected, {"consent": "none", "never_disclose": True})
    k.add("ic_link", protected, {"token": cards["protected"]})
    for who, card in ((other, "other"), (twin, "twin")):
        k.checkin(who)
        k.add("ic_link", who, {"token": cards[card]})
    assert post(hq_client, enroll("H031"), "kiosk-ic", k.events).status_code == 200
    elsewhere = {"Authorization": f"Bearer {enroll('H001')}"}
    answers = {card: hq_client.get(f"/api/v1/ic/{token}", headers=elsewhere) for card, token in cards.items()}
    assert answers["other"].status_code == 200 and answers["other"].get_json()["person"]["name"] == "駿河 次郎"
    nobody = (answers["nobody"].status_code, answers["nobody"].get_json())
    assert nobody[0] == 404
    for card in ("protected", "twin"):
        assert (answers[card].status_code, answers[card].get_json()) == nobody, card


def test_a_kiosk_cannot_use_hq_s_own_stream_id(hq_app, hq_client, enroll):
    from hq_dashboard.merge import SELF_REPORT_DEVICE
    token = enroll("H031")
    k = KioskStream(SELF_REPORT_DEVICE, "H031")
    k.checkin(person())
    resp = post(hq_client, token, SELF_REPORT_DEVICE, k.events)
    assert resp.status_code == 422 and resp.get_json()["error"] == "reserved_device_id"
    assert "HQ's own event stream" in resp.get_json()["message"]
    assert counts(hq_app) == (0, 0)
    with hq_app.app_context():
        assert db.session.execute(select(Kiosk.device_id)).scalar() is None
