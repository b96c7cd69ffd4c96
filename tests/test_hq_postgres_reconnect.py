"""HQ on PostgreSQL after the database restarted (its pooled connections cut by the server): a kiosk's sync,
the map's /api/v1/shelters and HQ's pages are answered as usual, not with a 500 for each stale connection
(HQ checks a pooled connection before it uses it: pool_pre_ping).  A connection lost in the middle of a
request is answered 503 busy (JSON under /api/, which the kiosk takes as "try again"; a plain page
elsewhere), not a 500 with a traceback on HQ's console; the kiosk's records arrive once, when it retries.

The restart is done as PostgreSQL does it to its clients, without restarting the tests' shared server:
pg_terminate_backend on every connection to HQ's database."""
from __future__ import annotations

import html
import json
import threading
import time
import urllib.request

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from evac.events import Person
from kiosk.sync import HQClient, SyncError, sync_once
from tests.test_sync_http import enroll

pytestmark = pytest.mark.parametrize("hq_db_url", ["postgresql"], indirect=True)

MERGE_LOCK = 862212   # hq_dashboard.merge's advisory lock, which serialises batches


def on_hqs_database(db_url: str, sql: str, **params):
    """One statement on a connection of the test's own (not HQ's), its first value."""
    engine = create_engine(db_url, poolclass=NullPool)
    try:
        with engine.begin() as conn:
            return conn.execute(text(sql), params).scalar()
    finally:
        engine.dispose()


def cut_connections(db_url: str, pid: int | None = None) -> int:
    """What a PostgreSQL restart does to HQ: its connections end on the server's side (`pid`: only that one).
    Waits until each is gone, so HQ's next use of one meets a dead connection.  How many were cut."""
    return on_hqs_database(
        db_url, "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 60000)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND (CAST(:pid AS integer) IS NULL OR pid = :pid)",
        pid=pid)


def events_of(db_url: str, device_id: str) -> int:
    return on_hqs_database(db_url, "SELECT count(*) FROM events WHERE device_id = :d", d=device_id)


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=60) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_after_postgresql_restarted_hq_answers_the_kiosk_the_map_and_its_pages(hq_db_url, hq_server, kiosk_store):
    hq = hq_server(hq_db_url)
    client = HQClient(hq.url, enroll(hq.db_url, "H001"))
    kiosk_store.check_in("H001", [Person("焼津 一", "1970-01-01", "female", "焼津市本町1-1")])
    assert sync_once(kiosk_store, client).pending == 0
    # HQ's pool holds connections from these (each thread took one).
    for path in ("/api/v1/shelters", "/", "/api/v1/shelters"):
        assert get(hq.url + path)[0] == 200

    for round_ in (1, 2):   # a second restart as well: the connections made after the first go stale too
        assert cut_connections(hq.db_url) >= 1, "HQ held pooled connections to cut"
        kiosk_store.check_in("H001", [Person(f"焼津 再{round_}", "1980-01-01", "male", "焼津市本町1-1")])
        status, answer = client.request("POST", "/api/v1/sync", {"device_id": kiosk_store.device_id,
                                                                "events": kiosk_store.outbox(10)})
        assert status == 200, (status, answer)
        assert (answer["applied"], answer["duplicates"]) == (1, 0), answer
        assert sync_once(kiosk_store, client).pending == 0
        assert cut_connections(hq.db_url) >= 1
        status, body = get(hq.url + "/api/v1/shelters")
        assert status == 200 and json.loads(body)["type"] == "FeatureCollection", (status, body[:300])
        assert cut_connections(hq.db_url) >= 1
        assert get(hq.url + "/")[0] == 200
    assert events_of(hq.db_url, kiosk_store.device_id) == 3   # each record once
    log = hq.log_path.read_text()
    assert "Traceback" not in log and "OperationalError" not in log, log


def cut_while_merging(db_url: str, send):
    """send() in another thread, its sync's connection cut by the server while it waits for the merge's lock
    (held here meanwhile): a connection lost in the middle of a request.  What send() returned or raised."""
    holder = create_engine(db_url, poolclass=NullPool).connect()
    outcome = []

    def sending():
        try:
            outcome.append(send())
        except Exception as exc:   # (the kiosk's SyncError: what it says is the test's to read)
            outcome.append(exc)
    try:
        holder.exec_driver_sql(f"SELECT pg_advisory_lock({MERGE_LOCK})")
        holder.commit()
        thread = threading.Thread(target=sending)
        thread.start()
        waiting = None
        while waiting is None and thread.is_alive():   # HQ's sync, waiting for the lock the test holds
            waiting = holder.execute(text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' "
                "AND query LIKE '%pg_advisory_xact_lock%'")).scalar()
            holder.rollback()
            time.sleep(0.05)
        assert waiting is not None, outcome
        assert cut_connections(db_url, waiting) == 1
        thread.join(600)
    finally:
        holder.close()
    (result,) = outcome
    return result


def test_a_connection_lost_in_the_middle_of_a_sync_is_answered_busy_and_the_retry_lands_once(
        hq_db_url, hq_server, kiosk_store, monkeypatch):
    # HQ's sync waits for the merge's lock as long as it takes here: the connection is cut while it waits.
    monkeypatch.setenv("EVAC_SYNC_WRITER_WAIT_S", "600")
    hq = hq_server(hq_db_url)
    client = HQClient(hq.url, enroll(hq.db_url, "H001"), timeout=600)
    kiosk_store.check_in("H001", [Person("焼津 中", "1975-05-05", "female", "焼津市本町1-1")])
    batch = {"device_id": kiosk_store.device_id, "events": kiosk_store.outbox(10)}
    status, answer = cut_while_merging(hq.db_url, lambda: client.request("POST", "/api/v1/sync", batch))
    assert status == 503, (status, answer)
    assert answer["error"] == "busy", answer
    ja, _, en = answer["message"].partition(" / ")
    assert "本部のデータベース" in ja and "自動で送り直します" in ja, answer
    assert "HQ's connection to its database was lost" in en and "a kiosk retries by itself" in en, answer
    assert events_of(hq.db_url, kiosk_store.device_id) == 0   # the cut transaction wrote nothing

    # The kiosk's own round: it keeps the record and says HQ answered but cannot take records now.
    failed = cut_while_merging(hq.db_url, lambda: sync_once(kiosk_store, client))
    assert isinstance(failed, SyncError), failed
    assert (failed.kind, failed.status, failed.pending) == (SyncError.UNREACHABLE, 503, 1), str(failed)
    ja, _, en = str(failed).partition(" / ")
    assert ja.startswith("本部は応答しましたが、いま記録を受け取れません（HTTP 503）"), str(failed)
    assert en.startswith(f"HQ at {hq.url} answered but cannot take records now (HTTP 503: 本部のデータベースとの接続が"), en
    assert "HQ's connection to its database was lost" in en and en.endswith("the kiosk tries again by itself; "
                                                                            "1 event(s) stay queued on this kiosk"), en
    # The retry lands once.
    assert sync_once(kiosk_store, client).pending == 0
    assert events_of(hq.db_url, kiosk_store.device_id) == 1
    log = hq.log_path.read_text()
    assert "Traceback" not in log, log
    assert "connection to its database was lost" in log, log   # HQ's console says what happened, in one line


def test_a_connection_lost_in_the_middle_of_a_page_or_an_api_read_is_503(hq_app, hq_client):
    """In HQ's own process: the request's connection is cut after its first query, before the page's."""
    from hq_dashboard.db import db, driver_rows
    cut = []

    @hq_app.before_request
    def cut_this_requests_connection():
        pid = db.session.execute(text("SELECT pg_backend_pid()")).scalar()
        cut.append(cut_connections(hq_app.config["SQLALCHEMY_DATABASE_URI"], pid))

    # HQ's reads through the driver's own cursor (the merge's, hq_dashboard.db.driver_rows) meet psycopg's
    # error unwrapped by sqlalchemy.
    hq_app.add_url_rule("/api/v1/test-driver-read", "test_driver_read",
                        lambda: {"rows": driver_rows(db.session.connection(), "SELECT count(*) FROM shelters")})

    page = hq_client.get("/?auto=1")
    assert page.status_code == 503 and cut == [1]
    words = html.unescape(page.get_data(as_text=True))
    assert "本部のデータベース" in words and "HQ's connection to its database was lost" in words, words
    assert "Traceback" not in words and "psycopg" not in words
    assert 'http-equiv="refresh"' in words   # a screen that reloads itself keeps trying

    api = hq_client.get("/api/v1/shelters")
    assert api.status_code == 503 and cut == [1, 1]
    assert api.get_json()["error"] == "busy" and "HQ's connection to its database was lost" in api.get_json()["message"]

    raw = hq_client.get("/api/v1/test-driver-read")
    assert raw.status_code == 503 and cut == [1, 1, 1] and raw.get_json()["error"] == "busy", raw.get_json()

    # The next request, on a new connection, is answered as usual.
    hq_app.before_request_funcs[None].remove(cut_this_requests_connection)
    assert hq_client.get("/api/v1/shelters").status_code == 200
    assert hq_client.get("/").status_code == 200
    assert hq_client.get("/api/v1/test-driver-read").get_json()["rows"][0][0] > 0
