"""HQ orders a record no later than it received it (merge.apply_events), and never before the same
kiosk's last record as HQ ordered it: across an HQ restart (its clock starts afresh), HQ's clock set
back, and a carried file read by the wall clock right after a sync ordered by HQ's timestamp, a kiosk's
check-out still comes after its own check-in."""
import time

from evac.hlc import pack, wall_ms
from tests.test_hq_sync_api import occupancy, post
from tests.wire import KioskStream, person

P = person("移動 花子", "1970-01-01", "female", "焼津市本町1-1")
REAL = time.time_ns


def now_ms():
    return REAL() // 10**6


def test_after_an_hq_restart_a_kiosks_check_out_still_follows_its_own_check_in(hq_db_url, hq_app, hq_client, enroll):
    from hq_dashboard import create_app
    token = enroll("H001")
    # Another kiosk 110 s fast syncs: HQ's in-memory clock takes its stamp (within MAX_DRIFT).
    hq_app.extensions["hlc"].receive(pack(now_ms() + 110_000))
    k = KioskStream("kiosk-fast", start_ms=now_ms() + 3600_000)   # this kiosk runs an hour fast
    k.checkin(P)
    assert post(hq_client, token, "kiosk-fast", k.events).status_code == 200
    assert occupancy(hq_client) == {"H001": 1}
    # HQ is restarted (an upgrade): a new process, its clock starts from the wall clock.
    app2 = create_app({"SQLALCHEMY_DATABASE_URI": hq_db_url, "TESTING": True})
    c2 = app2.test_client()
    k.add("checkout", P)
    r = post(c2, token, "kiosk-fast", k.events)
    assert r.status_code == 200, r.get_json()
    assert occupancy(c2) == {}, "the check-out was ordered before the kiosk's own check-in"


def test_after_hqs_clock_is_set_back_a_kiosks_check_out_still_follows_its_own_check_in(hq_db_url, hq_app, hq_client, enroll, monkeypatch):
    """HQ's clock ran an hour fast; kiosks adopted HQ's answers (always taken).  Someone fixes HQ's
    clock and restarts HQ: her check-out, dated after her check-in by the kiosk, is ordered before it."""
    from hq_dashboard import create_app
    token = enroll("H001")
    monkeypatch.setattr(time, "time_ns", lambda: REAL() + 3600 * 10**9)
    k = KioskStream("kiosk-a", start_ms=now_ms() + 3600_000)   # the kiosk's HLC adopted HQ's fast answers
    k.checkin(P)
    assert post(hq_client, token, "kiosk-a", k.events).status_code == 200
    monkeypatch.setattr(time, "time_ns", REAL)                   # HQ's clock set right, HQ restarted
    app2 = create_app({"SQLALCHEMY_DATABASE_URI": hq_db_url, "TESTING": True})
    c2 = app2.test_client()
    k.add("checkout", P)                                        # 1 s later by the kiosk's clock
    assert post(c2, token, "kiosk-a", k.events).status_code == 200
    assert occupancy(c2) == {}


def test_a_carried_file_right_after_a_sync_is_ordered_after_it(hq_app, hq_client, enroll):
    """The same process: a sync is ordered by HQ's HLC (up to 2 min ahead of its wall clock after
    hearing a slightly fast kiosk), a carried file by the wall clock (carried.py)."""
    from evac.carried import carried_file
    from hq_dashboard.carried import apply_carried
    from hq_dashboard.db import db
    token = enroll("H001")
    hq_app.extensions["hlc"].receive(pack(now_ms() + 110_000))
    k = KioskStream("kiosk-fast", start_ms=now_ms() + 3600_000)
    k.checkin(P)
    assert post(hq_client, token, "kiosk-fast", k.events).status_code == 200
    k.add("checkout", P)                       # network gone: the rest goes on a stick, to HQ's desk
    with hq_app.app_context():
        apply_carried(db.session, carried_file("kiosk-fast", k.events, token))
    assert occupancy(hq_client) == {}


def test_after_an_hq_restart_a_record_written_after_hqs_answer_follows_what_hq_had(hq_db_url, hq_app, hq_client,
                                                                                   enroll):
    """Kiosk A, an hour fast, checks her in at H001; HQ orders it at its own timestamp, which a slightly
    fast kiosk had moved two minutes ahead of HQ's wall clock.  HQ restarts; kiosk B, which took HQ's
    answer, checks her in at H002 dated after it: she is at H002."""
    from hq_dashboard import create_app
    ta, tb = enroll("H001"), enroll("H002")
    hq_app.extensions["hlc"].receive(pack(now_ms() + 110_000))
    a = KioskStream("kiosk-a", "H001", start_ms=now_ms() + 3600_000)
    a.checkin(P)
    resp = post(hq_client, ta, "kiosk-a", a.events)
    assert resp.status_code == 200
    answer = resp.get_json()["hlc"]                      # what B hears from HQ, and dates after
    app2 = create_app({"SQLALCHEMY_DATABASE_URI": hq_db_url, "TESTING": True})
    c2 = app2.test_client()
    b = KioskStream("kiosk-b", "H002", start_ms=wall_ms(answer) + 1)
    b.checkin(P)
    assert post(c2, tb, "kiosk-b", b.events).status_code == 200
    assert occupancy(c2) == {"H002": 1}
