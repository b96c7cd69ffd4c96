"""What a kiosk does with HQ's answers: HQ's clock is the reference (a kiosk clock years slow still
orders its events right), refusals and servers that are not HQ are told apart from HQ being down, a
database restored from a backup is recognised and given a fresh device id, a 413 halves the batch."""
from __future__ import annotations

import datetime as dt
import json
import shutil
import sqlite3
import threading
import time

import pytest
from werkzeug.serving import make_server

from evac.events import Person, parse_event
from evac.hlc import MAX_DRIFT_MS, HybridLogicalClock, pack, wall_ms
from kiosk.store import KioskStore
from kiosk.sync import HQClient, SyncError, sync_once
from tests.conftest import free_port, run_evac
from tests.staff_helpers import logged_in, make_app, post, wait_for
from tests.test_sync_http import enroll, occupancy

# A kiosk whose RTC battery died boots on 2000-01-01.
Y2000_NS = 946_684_800 * 10**9
REAL_TIME_NS = time.time_ns
X = Person("鈴木 一郎", "1970-05-05", "male", "焼津市本町1-1")


def set_clock_to_2000(monkeypatch) -> None:
    skew = REAL_TIME_NS() - Y2000_NS
    monkeypatch.setattr(time, "time_ns", lambda: REAL_TIME_NS() - skew)


def test_hqs_timestamp_is_taken_however_far_ahead():
    clock = HybridLogicalClock(now_ms=lambda: 1_000_000)
    hq = pack(1_000_000 + 10 * MAX_DRIFT_MS, 3)
    assert clock.adopt(hq) == hq and clock.tick() > hq


def test_a_kiosk_clock_years_slow_orders_its_check_in_after_the_check_out_elsewhere(hq_server, tmp_path,
                                                                                     monkeypatch):
    """K's clock is at 2000.  X leaves H002 (kiosk L, right clock) and then checks in at H001 on K:
    HQ must end with X at H001, which needs K to date the check-in by HQ's clock, not its own."""
    hq = hq_server()
    k_hq, l_hq = HQClient(hq.url, enroll(hq.db_url, "H001")), HQClient(hq.url, enroll(hq.db_url, "H002"))
    k, l = KioskStore(tmp_path / "k.sqlite3"), KioskStore(tmp_path / "l.sqlite3")
    set_clock_to_2000(monkeypatch)
    sync_once(k, k_hq)                                  # K hears HQ's clock (nothing to send yet)
    assert k.clock_check()[0] < -20 * 365 * 86400       # and knows its own is behind
    monkeypatch.setattr(time, "time_ns", REAL_TIME_NS)
    l.check_in("H002", [X])
    sync_once(l, l_hq)
    (out,) = [l.check_out(X.name, X.birth_date, X.address)]
    sync_once(l, l_hq)
    time.sleep(0.5)                                     # X walks over to H001
    set_clock_to_2000(monkeypatch)
    (checkin,) = k.check_in("H001", [X])
    sync_once(k, k_hq)
    assert checkin.hlc > out.hlc and wall_ms(checkin.hlc) // 1000 >= REAL_TIME_NS() // 10**9 - 60
    assert occupancy(hq.url) == {"H001": 1}


def test_a_kiosk_clock_hours_fast_dates_its_records_by_hqs_once_it_has_heard_it(hq_server, tmp_path, monkeypatch):
    """F's clock runs three hours fast.  X checks in at H001 on F, then moves to H002 (kiosk L, right
    clock) an hour later: by F's own clock the check-in would come after the move and HQ would keep X
    at H001 for hours.  After one sync F dates its records by HQ's clock."""
    hq = hq_server()
    f_hq, l_hq = HQClient(hq.url, enroll(hq.db_url, "H001")), HQClient(hq.url, enroll(hq.db_url, "H002"))
    f, l = KioskStore(tmp_path / "f.sqlite3"), KioskStore(tmp_path / "l.sqlite3")
    monkeypatch.setattr(time, "time_ns", lambda: REAL_TIME_NS() + 3 * 3600 * 10**9)
    sync_once(f, f_hq)                                  # F hears HQ's clock before anyone checks in
    assert 3 * 3600 - 60 < f.clock_check()[0] <= 3 * 3600 + 60
    (checkin,) = f.check_in("H001", [X])
    sync_once(f, f_hq)
    monkeypatch.setattr(time, "time_ns", REAL_TIME_NS)
    time.sleep(0.5)                                     # X goes over to H002
    l.check_in("H002", [X])
    sync_once(l, l_hq)
    assert wall_ms(checkin.hlc) // 1000 <= REAL_TIME_NS() // 10**9 + 60
    assert occupancy(hq.url) == {"H002": 1}


def test_records_a_fast_kiosk_dated_ahead_do_not_outrank_a_move_to_the_next_shelter(hq_server, tmp_path,
                                                                                     monkeypatch):
    """F's clock runs five hours fast (or is set to JST as if it were UTC) and F checked a mother and
    her child in before it ever heard HQ, so every record it writes stays dated five hours ahead (a
    kiosk's records never go back in time).  The mother moves on to H002 and the child leaves; both
    then check in at H002 (kiosk L, right clock).  HQ orders a record no later than it received it:
    both are at H002, not shown at H001 or gone for five hours."""
    hq = hq_server()
    f_hq, l_hq = HQClient(hq.url, enroll(hq.db_url, "H001")), HQClient(hq.url, enroll(hq.db_url, "H002"))
    f, l = KioskStore(tmp_path / "f.sqlite3"), KioskStore(tmp_path / "l.sqlite3")
    mother, child = X, Person("鈴木 花", "2019-04-02", "female", "焼津市本町1-1")
    monkeypatch.setattr(time, "time_ns", lambda: REAL_TIME_NS() + 5 * 3600 * 10**9)
    f.check_in("H001", [mother, child])
    sync_once(f, f_hq)
    f.transfer(mother.name, mother.birth_date, mother.address, "H002")
    f.check_out(child.name, child.birth_date, child.address)
    sync_once(f, f_hq)
    assert wall_ms(f.events_after(0)[-1]["hlc"]) > REAL_TIME_NS() // 10**6 + 4 * 3600_000   # still ahead
    monkeypatch.setattr(time, "time_ns", REAL_TIME_NS)
    time.sleep(0.05)                                    # they walk over to H002
    l.check_in("H002", [mother, child])
    sync_once(l, l_hq)
    assert occupancy(hq.url) == {"H002": 2}


def test_a_new_kiosk_whose_clock_was_reset_before_it_ever_ran_still_checks_a_child_in(tmp_path, monkeypatch):
    """A kiosk started on a new database (as after every drill) on a board whose clock reads 2000 or
    1970, with no network from the first minute: today is at least this release's day
    (evac.events.EARLIEST_TODAY), so a child born in 2019 and an adult born in 1985 are taken."""
    app = make_app(tmp_path / "k.sqlite3")
    store = KioskStore(tmp_path / "k.sqlite3")
    for clock_ns in (Y2000_NS, 0):
        monkeypatch.setattr(time, "time_ns", lambda: clock_ns + REAL_TIME_NS() % 10**9)
        assert store.today() >= dt.date(2026, 11, 26)
        answer = app.test_client().post("/api/checkin", json={"persons": [
            {"name": f"焼津 空{clock_ns}", "birth_date": "2019-04-02", "sex": "male"},
            {"name": f"焼津 海{clock_ns}", "birth_date": "1985-06-01", "sex": "female"}]})
        assert answer.status_code == 201, answer.get_json()
    assert len(store.checked_in("H001")) == 4


def test_a_kiosk_clock_reset_to_2000_still_checks_a_child_in(tmp_path, monkeypatch):
    """Birth dates are checked against the date the kiosk's clock had reached, not a reset RTC's:
    on the staff tablet's form and through the kiosk's check-in API."""
    app = make_app(tmp_path / "k.sqlite3")
    store = KioskStore(tmp_path / "k.sqlite3")
    store.check_in("H001", [X])                         # the kiosk ran with a right clock before
    set_clock_to_2000(monkeypatch)
    assert store.today() >= dt.date.today() - dt.timedelta(days=1)
    client = logged_in(app)
    card = {"name": "焼津 花", "name_kana": "", "birth_date": "2015-04-01", "sex": "female",
            "address": "焼津市本町3-3", "stay_type": "in_shelter", "contact_phone": "", "household_members": "",
            "home_damage": "unknown", "consent": "none", "family_code": ""}
    assert post(client, "/staff/register", card, "/staff/register").status_code == 302
    answer = app.test_client().post("/api/checkin", json={"persons": [
        {"name": "焼津 空", "birth_date": "2012-08-08", "sex": "male"}]})
    assert answer.status_code == 201, answer.get_json()
    assert {e.person.name for e in store.checked_in("H001")} >= {"焼津 花", "焼津 空"}


class _Server:
    """A real HTTP server in a thread, for an app that is not `evac hq serve`."""

    def __init__(self, app):
        self.server = make_server("127.0.0.1", free_port(), app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.thread.join()


@pytest.fixture
def serve():
    servers = []

    def start(app) -> _Server:
        servers.append(_Server(app))
        return servers[-1]
    yield start
    for s in servers:
        s.stop()


def _answering(status: str, content_type: str, body: bytes):
    def app(environ, start_response):
        environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(body)))])
        return [body]
    return app


def test_hq_refusing_is_told_apart_from_hq_unreachable_and_the_clock_is_noted(hq_server, tmp_path):
    hq = hq_server()
    kiosk_id = enroll(hq.db_url, "H001").split(".")[0]
    store = KioskStore(tmp_path / "k.sqlite3")
    store.check_in("H001", [X])
    with pytest.raises(SyncError) as refused:
        sync_once(store, HQClient(hq.url, f"{kiosk_id}.wrong"))
    assert refused.value.kind == SyncError.REFUSED and refused.value.pending == 1
    assert str(refused.value).partition(" / ")[2].startswith("HQ refuses this kiosk's records: ")   # Japanese first
    assert "Nothing is lost" in str(refused.value)
    assert store.clock_check()[0] is not None           # HQ's Date header, from the refusal
    with pytest.raises(SyncError) as down:
        sync_once(store, HQClient(f"http://127.0.0.1:{free_port()}", "t"))
    assert down.value.kind == SyncError.UNREACHABLE and "HQ cannot be reached" in str(down.value)


@pytest.mark.parametrize("status, content_type, body, why", [
    ("200 OK", "text/html", b"<html><body>Welcome to the hotel Wi-Fi</body></html>", "something other"),
    ("404 NOT FOUND", "text/html", b"<html>Not Found</html>", "HTTP 404"),
    ("200 OK", "application/json", b'{"ok": true}', "no acked_seq"),
    # (a plain file server: it has no POST at all, which HQ always has; review: shown as HQ busy for good)
    ("501 Unsupported method ('POST')", "text/html", b"<html>Error code: 501</html>", "HTTP 501"),
    ("501 Not Implemented", "application/json", b'{"message": "no"}', "HTTP 501"),
])
def test_a_server_that_is_not_hq_is_named_so(serve, tmp_path, status, content_type, body, why):
    server = serve(_answering(status, content_type, body))
    store = KioskStore(tmp_path / "k.sqlite3")
    store.check_in("H001", [X])
    with pytest.raises(SyncError) as exc:
        sync_once(store, HQClient(server.url, "t"))
    assert exc.value.kind == SyncError.NOT_HQ and why in exc.value.detail
    assert str(exc.value).partition(" / ")[2].startswith(f"the server at {server.url} is not HQ")   # Japanese first
    assert "check the HQ address" in str(exc.value) and store.pending() == 1
    assert store.clock_check()[0] is None               # not HQ's clock


def test_hq_at_a_wrong_path_is_not_hq(hq_server, tmp_path):
    hq = hq_server()
    store = KioskStore(tmp_path / "k.sqlite3")
    with pytest.raises(SyncError) as exc:
        sync_once(store, HQClient(hq.url + "/wrong", enroll(hq.db_url, "H001")))
    assert exc.value.kind == SyncError.NOT_HQ


def _sync_panel(tmp_path, hq_url: str, token: str) -> str:
    app = make_app(tmp_path / "tablet.sqlite3", HQ_URL=hq_url, HQ_TOKEN=token, SYNC_INTERVAL=0.2)
    syncer = app.extensions["kiosk_sync"]
    try:
        wait_for(lambda: syncer.failure is not None, "a failed sync round")
        page = logged_in(app).get("/staff/summary").text
    finally:
        syncer.stop()
    return page.split('id="sync-hq">', 1)[1].split("</dd>", 1)[0]


def test_the_tablet_says_hq_refuses_in_its_language(hq_server, tmp_path):
    hq = hq_server()
    kiosk_id = enroll(hq.db_url, "H001").split(".")[0]
    cell = _sync_panel(tmp_path, hq.url, f"{kiosk_id}.wrong")
    assert "本部がこの端末の記録を受け付けません: " in cell and "本部に電話してください" in cell
    assert "接続できません" not in cell and "HQ refuses" not in cell


def test_the_tablet_says_a_server_is_not_hq(serve, tmp_path):
    server = serve(_answering("404 NOT FOUND", "text/html", b"<html>Not Found</html>"))
    cell = _sync_panel(tmp_path, server.url, "t")
    assert f"{server.url} のサーバーは本部ではありません" in cell and "本部のアドレスを確認してください" in cell


def test_a_wifi_log_in_page_where_hq_should_answer_is_said_so(serve, tmp_path):
    """A hotel's or a school's Wi-Fi answers every address with its log-in page until someone logs in:
    "check the HQ address" sent staff after the wrong thing."""
    server = serve(_answering("200 OK", "text/html", b"<html>Wi-Fi login: accept the terms</html>"))
    cell = _sync_panel(tmp_path, server.url, "t")
    assert f"{server.url} で本部ではなくウェブページが応答しました" in cell and "ログインしてください" in cell
    assert "失われていません" in cell and "本部ではありません" not in cell
    store = KioskStore(tmp_path / "k.sqlite3")
    store.check_in("H001", [X])
    with pytest.raises(SyncError) as exc:
        sync_once(store, HQClient(server.url, "t"))
    assert exc.value.web_page and "a web page answered" in str(exc.value) and "log in" in str(exc.value)
    assert store.pending() == 1


def _restored_kiosk(hq, tmp_path):
    """A kiosk that synced 2 events, was backed up, wrote and synced 2 more, then got the backup back."""
    db = tmp_path / "kiosk.sqlite3"
    token = enroll(hq.db_url, "H001")
    store = KioskStore(db)
    store.check_in("H001", [Person("復元 一", "1980-01-01", "male", "焼津市1"),
                            Person("復元 二", "1980-01-02", "female", "焼津市1")])
    sync_once(store, HQClient(hq.url, token))
    store.close()
    with sqlite3.connect(db) as a, sqlite3.connect(tmp_path / "backup.sqlite3") as b:
        a.backup(b)
    store = KioskStore(db)
    store.check_in("H001", [Person("復元 三", "1980-01-03", "male", "焼津市2")])
    store.check_in("H001", [Person("復元 四", "1980-01-04", "female", "焼津市2")])
    sync_once(store, HQClient(hq.url, token))
    store.close()
    for suffix in ("", "-wal", "-shm"):
        (tmp_path / f"kiosk.sqlite3{suffix}").unlink(missing_ok=True)
    shutil.copy(tmp_path / "backup.sqlite3", db)
    return db, token


def _hq_persons(hq) -> list[tuple[str, str]]:
    with sqlite3.connect(hq.db_url.removeprefix("sqlite:///")) as conn:
        return sorted(conn.execute("SELECT name, state FROM persons").fetchall())


def test_a_kiosk_restored_from_a_backup_is_told_to_take_a_new_device_id(hq_server, tmp_path):
    hq = hq_server()
    db, token = _restored_kiosk(hq, tmp_path)
    sync = ["kiosk", "sync", "--db", str(db), "--hq", hq.url, "--token", token]
    # HQ holds events 1-4 from this database, which has only 1-2: no traceback, a plain instruction.
    result = run_evac(*sync)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "this kiosk's database is older than what HQ holds from it (restored from a backup?)" in result.stderr
    assert f"evac kiosk new-device --db {db}" in result.stderr
    # A new check-in numbers itself 3, which HQ holds as someone else: the same, not HQ's 409 forever.
    store = KioskStore(db)
    store.check_in("H001", [Person("復元 五", "1980-01-05", "male", "焼津市3")])
    store.close()
    result = run_evac(*sync)
    assert result.returncode == 1 and "restored from a backup?" in result.stderr
    before = occupancy(hq.url)
    assert before == {"H001": 4}

    assert run_evac("kiosk", "new-device", "--db", str(tmp_path / "nothing.sqlite3")).returncode == 2
    assert not (tmp_path / "nothing.sqlite3").exists()
    result = run_evac("kiosk", "new-device", "--db", str(db))
    assert result.returncode == 0, result.stderr
    store = KioskStore(db)
    assert store.acked_seq == 0 and store.last_seq == 3
    bodies = [json.loads(r[0]) for r in store.db.execute("SELECT body FROM events ORDER BY seq")]
    assert [(b["kiosk_id"], b["seq"]) for b in bodies] == [(store.device_id, n) for n in (1, 2, 3)]
    store.close()
    # The old token belongs to the old device id; enrolled again, everything goes, and merges.
    result = run_evac(*sync)
    assert result.returncode == 1 and "HQ refuses this kiosk's records: this token belongs to another" in result.stderr
    new_token = enroll(hq.db_url, "H001")
    result = run_evac("kiosk", "sync", "--db", str(db), "--hq", hq.url, "--token", new_token)
    assert result.returncode == 0, result.stderr
    assert occupancy(hq.url) == {"H001": 5}
    persons = _hq_persons(hq)
    assert len(persons) == 5 and len({name for name, _ in persons}) == 5


def test_the_tablet_says_the_database_was_restored(hq_server, tmp_path):
    hq = hq_server()
    db, token = _restored_kiosk(hq, tmp_path)
    shutil.copy(db, tmp_path / "tablet.sqlite3")
    cell = _sync_panel(tmp_path, hq.url, token)
    assert "バックアップから戻しましたか" in cell and "evac kiosk new-device --db " in cell
    assert "KioskError" not in cell


def _size_limit(app, limit: int):
    """A proxy before HQ (nginx's client_max_body_size) answering 413 with an HTML page."""
    def proxy(environ, start_response):
        if int(environ.get("CONTENT_LENGTH") or 0) > limit:
            environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))
            start_response("413 Request Entity Too Large", [("Content-Type", "text/html")])
            return [b"<html><h1>413 Request Entity Too Large</h1></html>"]
        return app(environ, start_response)
    return proxy


@pytest.mark.parametrize("limited_by", ["hq", "proxy"])
def test_a_413_halves_the_batch_down_to_what_hq_takes(serve, tmp_path, limited_by):
    """HQ (or a proxy before it) with a limit that only a batch of one event fits: the kiosk halves
    8 -> 4 -> 2 -> 1 and everything arrives; later rounds keep the smaller size."""
    from hq_dashboard import create_app, prepare_database
    from hq_dashboard.db import db
    from hq_dashboard.enrollment import enroll_kiosk
    store = KioskStore(tmp_path / "k.sqlite3")
    store.check_in("H001", [Person(f"分割 {i}", "1980-01-01", "male", f"焼津市{i}") for i in range(8)])
    one = len(json.dumps({"device_id": store.device_id, "events": store.outbox(1)}, ensure_ascii=False).encode())
    hq_app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'hq.sqlite3'}",
                         **({"MAX_CONTENT_LENGTH": one + 200} if limited_by == "hq" else {})})
    prepare_database(hq_app)
    with hq_app.app_context():
        token = enroll_kiosk(db.session, "H001")
    server = serve(hq_app if limited_by == "hq" else _size_limit(hq_app, one + 200))
    # HQ holds a gzipped batch to its limit once decompressed; a proxy counts what it is sent, and the
    # sizes here are of plain JSON.
    client = HQClient(server.url, token, gzip=limited_by == "hq")
    report = sync_once(store, client, batch_size=8)
    assert store.pending() == 0 and report.acked_seq == 8 and client.batch_size == 1
    store.check_in("H001", [Person("分割 後", "1980-01-01", "male", "焼津市9")])
    sync_once(store, client)
    assert store.pending() == 0


def test_a_clock_behind_hq_is_worded_as_behind_not_as_records_ahead(tmp_path):
    app = make_app(tmp_path / "k.sqlite3")
    store = KioskStore(tmp_path / "k.sqlite3")
    hq_now = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=3)
    store.note_clock_offset(hq_now)
    store.receive_hlc(pack(int(hq_now.timestamp() * 1000)))
    page = logged_in(app).get("/staff/summary").text
    assert 'id="sync-clock">本部の時計より 3 日 遅れています<' in page
    assert "本部より 3 日 遅れています" in page and 'id="events-ahead"' not in page
    assert "分 先" not in page


def test_the_kiosk_counts_days_as_hq_does_whatever_its_time_zone(tmp_path, monkeypatch):
    """From midnight to 9:00 in Japan the local date is a day ahead of UTC's: a kiosk counting by it
    would accept a birth date of 'tomorrow' that HQ, counting in UTC, refuses on every sync."""
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        store = KioskStore(tmp_path / "k.sqlite3")
        store.check_in("H001", [X])
        utc_today = dt.datetime.now(dt.timezone.utc).date()
        assert store.today() == utc_today
        # What the kiosk accepts with its today is what HQ accepts with its own.
        born = store.today().isoformat()
        event = parse_event({**store.outbox(1)[0], "person": {"name": "焼津 空", "birth_date": born, "sex": "male"}})
        assert event.person.birth_date == born
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_an_https_address_for_an_hq_without_a_certificate_says_to_check_it(hq_server, tmp_path):
    """`--hq https://…` for an HQ served by plain HTTP: not "cannot be reached", which waiting never mends,
    but what to check (a fresh-machine review found it said unreachable, with SSL internals)."""
    hq = hq_server()
    token = enroll(hq.db_url, "H001")
    store = KioskStore(tmp_path / "k.sqlite3")
    store.check_in("H001", [X])
    with pytest.raises(SyncError) as wrong:
        sync_once(store, HQClient(hq.url.replace("http://", "https://"), token, timeout=3))
    said = str(wrong.value)
    assert wrong.value.kind == SyncError.UNREACHABLE and wrong.value.not_https
    assert "did not answer by HTTPS" in said and "http://" in said and "本部のアドレスが https:// ですが" in said
    assert wrong.value.pending == 1
    with pytest.raises(SyncError) as down:   # nothing there at all: unreachable, as before
        sync_once(store, HQClient(f"https://127.0.0.1:{free_port()}", token, timeout=3))
    assert not down.value.not_https and "HQ cannot be reached" in str(down.value)
