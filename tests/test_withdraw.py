"""A record HQ refuses for good (written by an older kiosk version, or at a shelter HQ does not know)
no longer blocks the shelter: the lead withdraws it on the tablet, it stays on the kiosk, a `withdrawn`
placeholder with its seq and hlc takes its place in the stream, and the records after it reach HQ."""
from __future__ import annotations

import json
import re
import sqlite3

import pytest

from evac.events import (
    CHECKIN, EVENT_TYPES, PERSON_TYPES, WITHDRAWN, InvalidEvent, Person, canonical_json, event_json, parse_event,
    withdrawal,
)
from evac.hlc import HybridLogicalClock
from kiosk.store import KioskError, KioskStore
from kiosk.sync import HQClient, SyncError, sync_once
from tests.conftest import run_evac
from tests.staff_helpers import PASSWORD, csrf, logged_in, make_app
from tests.test_hq_sync_api import counts, occupancy as hq_occupancy, post as hq_post
from tests.test_sync_http import enroll, occupancy
from tests.wire import KioskStream, person

BEFORE = Person("前田 一郎", "1960-01-01", "male", "焼津市本町1-1")
WITHDRAWN_ONE = Person("撤回 花子", "1975-05-05", "female", "焼津市本町2-2")
AFTER = [Person("後藤 二郎", "1980-02-02", "male", "焼津市本町3-3"),
         Person("後藤 三郎", "1982-03-03", "male", "焼津市本町3-3")]


def _wire(**over) -> dict:
    raw = {"kiosk_id": "kiosk-a", "seq": 4, "hlc": 1 << 40, "type": WITHDRAWN, "shelter_id": "H001",
           "data": {"reason": "HQ: unknown shelter Z999", "type": CHECKIN}}
    return {**raw, **over}


# -- the event itself -----------------------------------------------------------------------------

def test_a_withdrawn_event_is_an_event_type_about_nobody():
    assert WITHDRAWN in EVENT_TYPES and WITHDRAWN not in PERSON_TYPES
    ev = parse_event(_wire(data={"reason": "  note too long  ", "type": "status"}))
    assert ev.person is None and ev.data == {"reason": "note too long", "type": "status"}
    assert event_json(ev) == canonical_json(ev.to_wire())
    # Its shelter need not be one HQ knows: that may be why the record was withdrawn.
    assert parse_event(_wire(shelter_id="Z999")).shelter_id == "Z999"
    assert parse_event(_wire(data={"reason": "r", "type": ""})).data["type"] == ""


@pytest.mark.parametrize("change, words", [
    ({"data": {"reason": "", "type": CHECKIN}}, "reason for the withdrawal is missing"),
    ({"data": {"type": CHECKIN}}, "reason for the withdrawal is missing"),
    ({"data": {"reason": "x" * 301, "type": CHECKIN}}, "too long (301 characters, at most 300)"),
    ({"data": {"reason": "bad\x07", "type": CHECKIN}}, "control characters"),
    ({"data": {"reason": 7, "type": CHECKIN}}, "must be text"),
    ({"data": {"reason": "マイナンバー 1234 5678 9018", "type": CHECKIN}}, "Individual Number"),
    ({"data": {"reason": "r", "type": "party"}}, "must be an event type or empty"),
    ({"person": {"name": "撤回 花子", "birth_date": "1975-05-05", "sex": "female"}}, "not about a person"),
    ({"household_id": "hh-1"}, "not about a household"),
    ({"shelter_id": "S" * 17}, "shelter id is too long"),
    ({"shelter_id": "bad id"}, "shelter id may only contain"),
])
def test_a_bad_withdrawn_event_is_refused_in_words(change, words):
    with pytest.raises(InvalidEvent, match=re.escape(words)):
        parse_event(_wire(**change))
    assert len("x" * 300) == 300 and parse_event(_wire(data={"reason": "x" * 300, "type": ""}))


def test_a_withdrawal_keeps_seq_hlc_and_a_valid_shelter_else_takes_the_kiosks():
    refused = {"kiosk_id": "kiosk-a", "seq": 9, "hlc": 12345, "type": CHECKIN, "shelter_id": "Z999",
               "person": person(), "data": {"stay_type": "in_shelter"}}
    ev = parse_event(withdrawal(refused, "H001", "unknown shelter"))
    assert (ev.seq, ev.hlc, ev.shelter_id, ev.data) == (9, 12345, "Z999",
                                                        {"reason": "unknown shelter", "type": CHECKIN})
    for bad in ("bad id!", "S" * 40, None, ""):
        odd = {**refused, "shelter_id": bad, "type": "a type of tomorrow"}
        ev = parse_event(withdrawal(odd, "H001", "r"))
        assert ev.shelter_id == "H001" and ev.data["type"] == ""


# -- HQ -------------------------------------------------------------------------------------------

def test_hq_logs_a_withdrawn_event_and_changes_nothing_else(hq_app, hq_client, enroll):
    token = enroll("H001")
    k = KioskStream("kiosk-a")
    k.checkin(person("前田 一郎"))
    k.add(WITHDRAWN, None, {"reason": "unknown shelter", "type": CHECKIN}, shelter_id="Z999")
    k.checkin(person("後藤 二郎"))
    resp = hq_post(hq_client, token, "kiosk-a", k.events)
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["acked_seq"] == 3 and counts(hq_app) == (3, 2)
    assert hq_occupancy(hq_client) == {"H001": 2}


def test_hq_refuses_a_withdrawn_event_with_a_bad_reason_like_any_bad_event(hq_app, hq_client, enroll):
    token = enroll("H001")
    k = KioskStream("kiosk-a")
    k.checkin(person())
    k.add(WITHDRAWN, None, {"reason": "", "type": CHECKIN})
    resp = hq_post(hq_client, token, "kiosk-a", k.events)
    assert resp.status_code == 422
    answer = resp.get_json()
    assert answer["error"] == "invalid_event" and answer["index"] == 1
    assert "event 2 of the batch: reason for the withdrawal is missing" in answer["message"]
    assert counts(hq_app) == (0, 0)


def test_an_unknown_shelter_refusal_names_the_first_such_event_of_the_batch_as_sent(hq_app, hq_client, enroll):
    token = enroll("H001")
    k = KioskStream("kiosk-a")
    k.checkin(person("前田 一郎"))
    assert hq_post(hq_client, token, "kiosk-a", k.events).status_code == 200
    k.checkin(person("後藤 二郎"))
    k.add("transfer", person("前田 一郎"), {"to_shelter_id": "Z998"})
    k.checkin(person("撤回 花子"), shelter_id="Z999")
    resp = hq_post(hq_client, token, "kiosk-a", k.events)   # event 1 again (HQ holds it), then 2, 3, 4
    answer = resp.get_json()
    assert resp.status_code == 422 and answer["error"] == "unknown_shelter"
    assert answer["index"] == 2 and "event 3 of the batch" in answer["message"]
    assert "Z998" in answer["message"] and "Z999" in answer["message"]
    assert counts(hq_app) == (1, 1)


# -- the kiosk store ------------------------------------------------------------------------------

def _insert_as_an_older_kiosk(store: KioskStore, draft: dict) -> int:
    """Write a record straight into the kiosk's log, unvalidated, as an older kiosk version did."""
    seq = store.last_seq + 1
    hlc = HybridLogicalClock(int(store._meta("hlc"))).tick()
    body = canonical_json({**draft, "kiosk_id": store.device_id, "seq": seq, "hlc": hlc})
    with store._write():
        store.db.execute("INSERT INTO events(seq, hlc, body, written_at) VALUES (?, ?, ?, '2026-01-01T00:00:00')",
                         (seq, hlc, body))
        store._set_meta("hlc", str(hlc))
    return seq


def test_only_the_refused_unacknowledged_record_can_be_withdrawn(tmp_path):
    store = KioskStore(tmp_path / "k.sqlite3")
    store.check_in("H001", [BEFORE, *AFTER])
    with pytest.raises(KioskError, match="not the one HQ refuses"):
        store.withdraw(2, "r", "tanaka", "H001")
    store.note_refusal(2, "event 2 of the batch: unknown shelter id(s): Z999")
    with pytest.raises(KioskError, match="not the one HQ refuses"):
        store.withdraw(3, "r", "tanaka", "H001")
    with pytest.raises(KioskError, match="reason for the withdrawal is missing"):
        store.withdraw(2, "  ", "tanaka", "H001")
    store.set_acked(2)                                  # HQ took it after all
    assert store.refusal() is None
    store.note_refusal(2, "late answer")
    with pytest.raises(KioskError, match="HQ already holds record 2"):
        store.withdraw(2, "r", "tanaka", "H001")
    assert store.withdrawn() == [] and json.loads(
        store.db.execute("SELECT body FROM events WHERE seq = 2").fetchone()[0])["type"] == CHECKIN


# -- end to end: a real HQ process, the kiosk's sync, the tablet ----------------------------------

def _page(client) -> str:
    return client.get("/staff/summary").text


def test_the_lead_withdraws_the_record_hq_refuses_and_the_others_reach_hq(hq_server, tmp_path):
    hq = hq_server()
    token = enroll(hq.db_url, "H001")
    db = tmp_path / "kiosk.sqlite3"
    app = make_app(db)
    store = KioskStore(db)
    client = HQClient(hq.url, token)
    store.check_in("H001", [BEFORE])
    sync_once(store, client)
    # An older kiosk version checked in at a shelter id it did not check against HQ's list (append
    # validates the event as HQ does, but knows no shelter list).
    (old,) = store.append([{"type": CHECKIN, "shelter_id": "Z999", "person": WITHDRAWN_ONE.to_wire(),
                            "data": {"stay_type": "in_shelter"}}])
    refused_seq = old.seq
    store.check_in("H001", AFTER)
    with pytest.raises(SyncError) as refused:
        sync_once(store, client)
    assert refused.value.kind == SyncError.REFUSED and "unknown shelter id(s): Z999" in str(refused.value)
    assert store.pending() == 3 and store.refusal().seq == refused_seq
    assert occupancy(hq.url) == {"H001": 1}

    # A staff member sees what HQ refuses and why, but cannot withdraw it.
    staff = logged_in(app, "sato")
    page = _page(staff)
    panel = page.split('id="refused"', 1)[1].split("</div>", 1)[0]
    assert "撤回 花子" in panel and "Z999" in panel and "unknown shelter id(s): Z999" in panel
    assert 'id="withdraw-form"' not in page and 'id="refused-ask-lead"' in page
    token_ = csrf(staff, "/staff/summary")
    answer = staff.post(f"/staff/sync/withdraw/{refused_seq}",
                        data={"csrf_token": token_, "reason": "r", "confirm": "y"})
    assert answer.status_code == 403 and "Only a shelter lead can withdraw" not in answer.text  # said in Japanese
    assert "本部が受け付けない記録を取り下げられるのは" in answer.text
    assert store.withdrawn() == [] and store.refusal() is not None

    # The lead sees the button and its warning; without the confirmation nothing changes.
    lead = logged_in(app, "tanaka")
    page = _page(lead)
    form = page.split('id="withdraw-form"', 1)[1].split("</form>", 1)[0]
    assert "この記録以外を本部に送る" in form and "この端末には残ります" in form
    token_ = csrf(lead, "/staff/summary")
    answer = lead.post(f"/staff/sync/withdraw/{refused_seq}", data={"csrf_token": token_, "reason": "避難所IDが不明"})
    assert answer.status_code == 422 and store.withdrawn() == []
    answer = lead.post(f"/staff/sync/withdraw/{refused_seq}", data={"reason": "x", "confirm": "y"})
    assert answer.status_code == 400 and store.withdrawn() == []        # no CSRF token
    answer = lead.post(f"/staff/sync/withdraw/{refused_seq}",
                       data={"csrf_token": token_, "reason": "避難所IDが不明", "confirm": "y"})
    assert answer.status_code == 302, answer.text

    (kept,) = store.withdrawn()
    assert (kept.seq, kept.reason, kept.withdrawn_by) == (refused_seq, "避難所IDが不明", "tanaka")
    assert kept.event["person"]["name"] == WITHDRAWN_ONE.name and kept.event["shelter_id"] == "Z999"
    # The roster is as it was: this kiosk still knows her.
    assert store.find(WITHDRAWN_ONE.name, WITHDRAWN_ONE.birth_date, WITHDRAWN_ONE.address).where.shelter_id == "Z999"

    report = sync_once(store, client)
    assert report.pending == 0 and report.acked_seq == store.last_seq
    assert occupancy(hq.url) == {"H001": 3}
    hq_db = hq.db_url.removeprefix("sqlite:///")
    with sqlite3.connect(hq_db) as conn:
        rows = conn.execute("SELECT seq, type, shelter_id, person_id, body FROM events ORDER BY seq").fetchall()
        persons = [r[0] for r in conn.execute("SELECT name FROM persons")]
    assert [r[:2] for r in rows] == [(1, CHECKIN), (refused_seq, WITHDRAWN), (3, CHECKIN), (4, CHECKIN)]
    placeholder = rows[1]
    assert placeholder[2] == "Z999" and placeholder[3] is None
    assert json.loads(placeholder[4])["data"] == {"reason": "避難所IDが不明", "type": CHECKIN}
    assert not any("撤回" in r[4] or "花子" in r[4] for r in rows) and "撤回 花子" not in persons

    # The panel no longer shows a refusal; the withdrawn list says who, what, when, why and by whom.
    page = _page(lead)
    assert 'id="refused"' not in page
    row = page.split(f'id="withdrawn-{refused_seq}"', 1)[1].split("</tr>", 1)[0]
    assert all(w in row for w in ("撤回 花子", "受付（入所）", "避難所IDが不明", "tanaka"))
    # An acknowledged record cannot be withdrawn, not even by the lead.
    token_ = csrf(lead, "/staff/summary")
    answer = lead.post("/staff/sync/withdraw/1", data={"csrf_token": token_, "reason": "r", "confirm": "y"})
    assert answer.status_code == 422 and len(store.withdrawn()) == 1
    store.note_refusal(1, "stale")
    with pytest.raises(KioskError, match="HQ already holds record 1"):
        store.withdraw(1, "r", "tanaka", "H001")


def test_a_record_hqs_stricter_rules_refuse_mid_batch_is_withdrawn_and_the_cli_syncs_the_rest(hq_server,
                                                                                                 tmp_path):
    """A status note longer than HQ allows, written by an older kiosk: HQ names it by its index in the
    batch; the lead's withdrawal lets `evac kiosk sync` send the rest."""
    hq = hq_server()
    token = enroll(hq.db_url, "H001")
    db = tmp_path / "kiosk.sqlite3"
    store = KioskStore(db)
    store.check_in("H001", [BEFORE, WITHDRAWN_ONE])
    seq = _insert_as_an_older_kiosk(store, {
        "type": "status", "shelter_id": "H001", "person": WITHDRAWN_ONE.to_wire(),
        "data": {"status": "ill", "note": "発熱 " * 200}})
    store.check_in("H001", AFTER)
    sync = ("kiosk", "sync", "--db", str(db), "--hq", hq.url, "--token", token)
    failed = run_evac(*sync)
    assert failed.returncode != 0 and "HQ refuses this kiosk's records: event 1 of the batch: note is too long" \
        in failed.stderr, failed.stderr
    # HQ takes a batch whole or not at all; the two check-ins before the refused record went on their own.
    assert store.refusal().seq == seq == 3 and occupancy(hq.url) == {"H001": 2} and store.acked_seq == 2
    lead = logged_in(make_app(db), "tanaka")
    assert "note is too long" in _page(lead).split('id="refused-reason">', 1)[1].split("</dd>", 1)[0]
    answer = lead.post(f"/staff/sync/withdraw/{seq}", data={
        "csrf_token": csrf(lead, "/staff/summary"), "reason": "note too long for HQ", "confirm": "y"})
    assert answer.status_code == 302
    done = run_evac(*sync)
    assert done.returncode == 0, done.stderr
    assert occupancy(hq.url) == {"H001": 4} and store.pending() == 0
    with sqlite3.connect(hq.db_url.removeprefix("sqlite:///")) as conn:
        bodies = [r[0] for r in conn.execute("SELECT body FROM events")]
    assert not any("発熱" in b for b in bodies)
    assert store.withdrawn()[0].event["data"]["note"].startswith("発熱")


def test_the_panel_speaks_english_too(tmp_path):
    db = tmp_path / "kiosk.sqlite3"
    app = make_app(db)
    store = KioskStore(db)
    (ev,) = store.check_in("H001", [WITHDRAWN_ONE])
    store.note_refusal(ev.seq, "event 1 of the batch: a rule HQ has")
    lead = app.test_client()
    lead.get("/staff/lang/en")
    assert lead.post("/staff/login", data={"csrf_token": csrf(lead), "name": "tanaka",
                                           "password": PASSWORD}).status_code == 302
    page = _page(lead)
    assert "Send the other records without this one" in page and "stays on this kiosk" in page
    assert "Check-in" in page.split('id="refused-what">', 1)[1].split("</dd>", 1)[0]


def test_a_refusal_of_a_record_withdrawn_meanwhile_is_not_noted_and_a_refused_withdrawal_says_update_hq(tmp_path):
    db = tmp_path / "kiosk.sqlite3"
    app = make_app(db)
    store = KioskStore(db)
    (ev,) = store.check_in("H001", [WITHDRAWN_ONE])
    sent = ev.to_wire()
    store.note_refusal(ev.seq, "event 1 of the batch: a rule HQ has", sent)
    store.withdraw(ev.seq, "a rule HQ has", "tanaka", "H001")
    # The batch sent before the withdrawal comes back refused: the placeholder is not taken for it.
    store.note_refusal(ev.seq, "event 1 of the batch: a rule HQ has", sent)
    assert store.refusal() is None
    # An HQ on older software that refuses even the placeholder: no button, HQ must be updated.
    placeholder = json.loads(store.db.execute("SELECT body FROM events WHERE seq = ?", (ev.seq,)).fetchone()[0])
    store.note_refusal(ev.seq, "event 1 of the batch: unknown event type 'withdrawn'", placeholder)
    page = _page(logged_in(app, "tanaka"))
    assert 'id="refused-withdrawal"' in page and 'id="withdraw-form"' not in page
    assert "本部のソフトウェアの更新が必要です" in page
    with pytest.raises(KioskError, match="already withdrawn"):
        store.withdraw(ev.seq, "again", "tanaka", "H001")


def test_a_withdrawal_is_kept_through_new_device(tmp_path):
    """`evac kiosk new-device` renumbers the log: the withdrawn original follows its placeholder."""
    store = KioskStore(tmp_path / "kiosk.sqlite3")
    store.check_in("H001", [BEFORE, WITHDRAWN_ONE])
    store.note_refusal(2, "event 2 of the batch: a rule HQ has")
    store.withdraw(2, "a rule HQ has", "tanaka", "H001")
    device = store.new_device()
    (kept,) = store.withdrawn()
    body = json.loads(store.db.execute("SELECT body FROM events WHERE seq = ?", (kept.seq,)).fetchone()[0])
    assert body["type"] == WITHDRAWN and body["kiosk_id"] == device and parse_event(body).seq == kept.seq


def test_what_the_kiosk_knows_still_counts_a_withdrawn_record(tmp_path):
    """The record stays on this kiosk: a correction, needs or consent withdrawn from HQ still shape the
    roster, the tablet's needs and never-disclose here (folded from the original, not the placeholder)."""
    from evac.events import Person as P
    from evac.identity import person_key
    from kiosk import staff_store
    store = KioskStore(tmp_path / "k.sqlite3")
    store.replace_shelters([{"id": "H031", "name": "x", "kind": "shelter", "capacity": 100}])
    taro = P("山田 太郎", "1960-01-01", "male")
    store.check_in("H031", [taro], needs=[["dialysis"]])
    row = staff_store.person(store, person_key(taro.name, taro.birth_date, taro.address))
    new_key = staff_store.correct(store, "H031", row, P("山田 太郎", "1960-01-02", "male"), stay_type="in_shelter",
                                  needs=["dialysis"], contact_phone="", home_damage="unknown",
                                  household_members=None, consent="none", family_code="")
    seq = next(s for s, t in store.db.execute("SELECT seq, json_extract(body, '$.type') FROM events")
               if t == "correction")
    store.note_refusal(seq, "refused")
    store.withdraw(seq, "HQ refuses it", "lead", "H031")
    assert store.db.execute("SELECT json_extract(body, '$.type') FROM events WHERE seq = ?", (seq,)).fetchone()[0] \
        == "withdrawn"
    after = staff_store.person(store, new_key)
    assert after is not None and after.profile.needs == ("dialysis",)


def test_the_command_line_shows_and_withdraws_the_refused_record_for_a_kiosk_without_a_lead(hq_server, tmp_path):
    hq = hq_server()
    token = enroll(hq.db_url, "H001")
    db = tmp_path / "kiosk.sqlite3"
    store = KioskStore(db)
    store.check_in("H001", [BEFORE])
    seq = _insert_as_an_older_kiosk(store, {"type": "checkin", "shelter_id": "Z999",
                                            "person": WITHDRAWN_ONE.to_wire(), "data": {}})
    store.check_in("H001", AFTER)
    nothing = run_evac("kiosk", "withdraw", "--db", str(db))
    assert nothing.returncode == 2 and "HQ refuses no record of this kiosk" in nothing.stderr
    sync = ("kiosk", "sync", "--db", str(db), "--hq", hq.url, "--token", token)
    assert run_evac(*sync).returncode != 0
    shown = run_evac("kiosk", "withdraw", "--db", str(db))
    assert shown.returncode == 0 and f"HQ refuses record {seq} (checkin, {WITHDRAWN_ONE.name}, at Z999)" \
        in shown.stdout and "unknown shelter" in shown.stdout
    # The record before the refused one went to HQ on its own; showing the refusal changed nothing.
    assert store.pending() == 1 + len(AFTER) and occupancy(hq.url) == {"H001": 1}
    wrong = run_evac("kiosk", "withdraw", "--db", str(db), "--seq", str(seq + 1), "--reason", "x")
    assert wrong.returncode == 2 and "is not the one HQ refuses" in wrong.stderr
    done = run_evac("kiosk", "withdraw", "--db", str(db), "--seq", str(seq), "--reason", "shelter HQ does not know",
                    "--by", "IT desk")
    assert done.returncode == 0, done.stderr
    assert run_evac(*sync).returncode == 0
    assert occupancy(hq.url) == {"H001": 1 + len(AFTER)}
    assert store.withdrawn()[0].withdrawn_by == "IT desk"


def test_hq_takes_a_withdrawal_of_a_record_it_ordered_earlier_than_its_fast_date(hq_app, hq_client, enroll):
    """A kiosk five hours fast: HQ orders its record at the time it received it (merge.apply_events), and
    the record keeps its own date.  The record resent, or withdrawn after HQ took it (a file carried by
    hand), is still the record HQ holds: a duplicate, not a conflict."""
    import time as _time
    from sqlalchemy import select
    from evac.hlc import wall_ms
    from hq_dashboard.db import db
    from hq_dashboard.models import EventRecord
    token = enroll("H001")
    k = KioskStream("kiosk-a", start_ms=_time.time_ns() // 10**6 + 5 * 3600_000)
    k.checkin(person("前田 一郎"))
    assert hq_post(hq_client, token, "kiosk-a", k.events).status_code == 200
    with hq_app.app_context():
        ordered, body = db.session.execute(select(EventRecord.hlc, EventRecord.body)).one()
    assert wall_ms(ordered) < _time.time_ns() // 10**6 + 60_000 and json.loads(body)["hlc"] == k.events[0]["hlc"]
    for resent in (k.events, [withdrawal(k.events[0], "H001", "entered twice")]):
        resp = hq_post(hq_client, token, "kiosk-a", resent)
        assert resp.status_code == 200 and resp.get_json()["duplicates"] == 1, resp.get_json()
    assert counts(hq_app) == (1, 1) and hq_occupancy(hq_client) == {"H001": 1}
