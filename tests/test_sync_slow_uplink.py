"""A kiosk on a slow uplink (a congested mobile link after the earthquake): a batch that cannot be
sent within the client's timeout is halved, not sent again forever, and said as "too slow", not as HQ
out of reach; batches go gzipped, HQ holding the decompressed body to its limit, and an HQ that takes
no gzip still gets everything as plain JSON.  During a long catch-up the tablet says HQ is reachable
from the first batch HQ takes, and nothing about HQ before HQ has answered.  Real HQ processes or a
real HTTP server, real SQLite."""
from __future__ import annotations

import gzip
import io
import json
import socket
import threading

import pytest

from evac.events import Person
from kiosk.store import KioskStore
from kiosk.sync import MIN_BATCH, BackgroundSync, HQClient, SyncError, sync_once
from tests.conftest import free_port
from tests.staff_helpers import logged_in, make_app, wait_for
from tests.test_sync_hq_answers import serve  # noqa: F401  (fixture)
from tests.test_sync_http import enroll, occupancy


def people(n: int, start: int = 0) -> list[Person]:
    return [Person(f"遅延 {i}", "1980-01-01", "female", f"焼津市本町{i}") for i in range(start, start + n)]


class StallingLink:
    """A TCP relay to HQ that passes the first `budget` bytes of each connection and then passes nothing
    more: as a slow uplink within the client's timeout, a request larger than the budget never arrives
    whole, and one within it does.  By bytes, not by time, so the test does not depend on the machine."""

    def __init__(self, target_port: int, budget: int):
        self.target_port, self.budget = target_port, budget
        self.listener = socket.create_server(("127.0.0.1", free_port()))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                kiosk, _ = self.listener.accept()
            except OSError:
                return
            hq = socket.create_connection(("127.0.0.1", self.target_port))
            threading.Thread(target=self._up, args=(kiosk, hq), daemon=True).start()
            threading.Thread(target=self._down, args=(hq, kiosk), daemon=True).start()

    def _up(self, kiosk: socket.socket, hq: socket.socket) -> None:
        passed = 0
        try:
            while data := kiosk.recv(65536):
                if passed < self.budget:
                    hq.sendall(data[:self.budget - passed])
                passed += len(data)
        except OSError:
            pass
        for s in (kiosk, hq):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    @staticmethod
    def _down(hq: socket.socket, kiosk: socket.socket) -> None:
        try:
            while data := hq.recv(65536):
                kiosk.sendall(data)
        except OSError:
            pass

    def close(self) -> None:
        self.listener.close()


def _body_size(store: KioskStore, n: int) -> int:
    return len(json.dumps({"device_id": store.device_id, "events": store.outbox(n), "last_seq": store.last_seq},
                          ensure_ascii=False).encode())


def test_a_batch_too_slow_to_send_is_halved_until_it_goes_through_and_grows_back(hq_server, tmp_path):
    hq = hq_server()
    store = KioskStore(tmp_path / "k.sqlite3")
    store.check_in("H001", people(4 * MIN_BATCH))
    # The link carries a request of MIN_BATCH events within the timeout, not one of twice as many.
    budget = 1500 + (_body_size(store, MIN_BATCH) + _body_size(store, 2 * MIN_BATCH)) // 2
    link = StallingLink(int(hq.url.rsplit(":", 1)[1]), budget)
    client = HQClient(link.url, enroll(hq.db_url, "H001"), timeout=1.0, gzip=False)
    client.batch_size = 4 * MIN_BATCH
    try:
        tries = []
        for _ in range(2):
            with pytest.raises(SyncError) as failed:
                sync_once(store, client)
            tries.append(failed.value)
        assert [e.kind for e in tries] == [SyncError.UNREACHABLE] * 2 and all(e.slow for e in tries)
        ja, _, en = str(tries[0]).partition(" / ")
        assert ja.startswith("本部との通信が遅すぎます") and en == (f"the connection to HQ at {link.url} is too slow "
                                                         f"(timed out); sending smaller batches; {4 * MIN_BATCH} "
                                                         "event(s) stay queued on this kiosk")
        assert client.slow_size == MIN_BATCH and store.pending() == 4 * MIN_BATCH
        report = sync_once(store, client)          # the third try: four batches of MIN_BATCH
        assert report.pending == 0 and occupancy(hq.url) == {"H001": 4 * MIN_BATCH}
        # Four batches acknowledged at the cut size: a quarter larger for the next round, not all at once.
        assert client.slow_size == MIN_BATCH + MIN_BATCH // 4 and client.batch_size == 4 * MIN_BATCH

        # At the floor a timeout is HQ out of reach, as before: nothing smaller to try.
        link.budget = 0
        client.slow_size = MIN_BATCH
        store.check_in("H001", people(MIN_BATCH, 1000))
        with pytest.raises(SyncError) as failed:
            sync_once(store, client)
        assert not failed.value.slow and failed.value.timed_out and "cannot be reached" in str(failed.value)
    finally:
        link.close()


def test_the_tablet_says_the_link_is_too_slow_not_that_hq_is_unreachable(hq_server, tmp_path):
    hq = hq_server()
    token = enroll(hq.db_url, "H001")
    link = StallingLink(int(hq.url.rsplit(":", 1)[1]), 0)
    store = KioskStore(tmp_path / "tablet.sqlite3")
    store.check_in("H001", people(1))
    direct = HQClient(hq.url, token)
    assert sync_once(store, direct).pending == 0 and direct.gzip   # HQ itself takes the kiosk's gzip
    store.check_in("H001", people(2 * MIN_BATCH, 1))
    try:
        with pytest.raises(SyncError) as failed:
            sync_once(store, HQClient(link.url, token, timeout=0.5))
    finally:
        link.close()
    # The tablet shows what its background sync last met: this failure.
    app = make_app(tmp_path / "tablet.sqlite3", HQ_URL=f"http://127.0.0.1:{free_port()}", HQ_TOKEN=token)
    syncer = app.extensions["kiosk_sync"]
    syncer.stop()
    syncer.join(10)
    # (as a failed round records it: the file's last sync then, which a later sync would move on)
    syncer.synced_before, syncer.failure = KioskStore(tmp_path / "tablet.sqlite3").last_sync_at(), failed.value
    cell = logged_in(app).get("/staff/summary").text.split('id="sync-hq">', 1)[1].split("</dd>", 1)[0]
    assert "本部との通信が遅すぎます（時間内に応答がありません）。小さく分けて送っています。" in cell and "timed out" not in cell
    assert "接続できません" not in cell


def _hq(tmp_path, **config):
    from hq_dashboard import create_app, prepare_database
    from hq_dashboard.db import db
    from hq_dashboard.enrollment import enroll_kiosk
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'hq.sqlite3'}", **config})
    prepare_database(app)
    with app.app_context():
        token = enroll_kiosk(db.session, "H001")
    return app, token


def _post(client, token: str, data: bytes, encoding: str | None = "gzip"):
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    if encoding:
        headers["Content-Encoding"] = encoding
    return client.post("/api/v1/sync", data=data, headers=headers)


def test_hq_takes_a_gzipped_batch_and_holds_the_decompressed_body_to_its_limit(tmp_path):
    store = KioskStore(tmp_path / "k.sqlite3")
    store.check_in("H001", people(3))
    batch = json.dumps({"device_id": store.device_id, "events": store.outbox(10)}, ensure_ascii=False).encode()
    app, token = _hq(tmp_path, MAX_CONTENT_LENGTH=len(batch) + 100)
    client = app.test_client()

    # A small gzip that decompresses to more than HQ takes as a plain body: refused, nothing applied.
    padded = batch[:-1] + b"," + json.dumps({"padding": " " * len(batch)}).encode()[1:]
    answer = _post(client, token, gzip.compress(padded))
    assert len(gzip.compress(padded)) < len(batch) and answer.status_code == 413
    assert answer.get_json()["error"] == "batch_too_large"

    for bad in (b"not gzip at all", gzip.compress(batch)[:-6], gzip.compress(batch) + b"more"):
        answer = _post(client, token, bad)
        assert answer.status_code == 400 and answer.get_json()["error"] == "malformed_batch"
        assert "not valid gzip" in answer.get_json()["message"]
    answer = _post(client, token, batch, "br")
    assert answer.status_code == 415 and answer.get_json()["error"] == "unsupported_encoding"

    answer = _post(client, token, gzip.compress(batch))
    assert answer.status_code == 200 and answer.get_json()["acked_seq"] == 3
    assert _post(client, token, batch, None).get_json()["duplicates"] == 3   # plain JSON as before


def _without_gzip(app, answer_415: bool):
    """HQ without gzip: one that says so (415), or one from before gzip, which reads the body as JSON."""
    def hq(environ, start_response):
        if environ.get("HTTP_CONTENT_ENCODING") == "gzip":
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            if answer_415:
                body = b'{"error": "unsupported_encoding", "message": "no gzip here"}'
                start_response("415 Unsupported Media Type", [("Content-Type", "application/json")])
                return [body]
            environ.pop("HTTP_CONTENT_ENCODING")   # the gzip goes on as if it were JSON
            environ["wsgi.input"] = io.BytesIO(body)
        return app(environ, start_response)
    return hq


@pytest.mark.parametrize("answer_415", [True, False], ids=["415", "older-hq"])
def test_a_kiosk_sends_plain_json_to_an_hq_that_takes_no_gzip(serve, tmp_path, answer_415):  # noqa: F811
    app, token = _hq(tmp_path)
    server = serve(_without_gzip(app, answer_415))
    store = KioskStore(tmp_path / "k.sqlite3")
    store.check_in("H001", people(3))
    client = HQClient(server.url, token)
    assert client.gzip
    assert sync_once(store, client).pending == 0 and not client.gzip
    store.check_in("H001", people(1, 10))
    assert sync_once(store, client).pending == 0 and occupancy(server.url) == {"H001": 4}



def test_a_long_catch_up_clears_the_failure_with_the_first_batch_hq_takes(hq_server, tmp_path):
    """After days offline a catch-up is one round of many batches: the tablet must not say HQ is not
    reachable while batches go through, and the console hears how many are left."""
    hq = hq_server()
    store = KioskStore(tmp_path / "k.sqlite3")
    store.check_in("H001", people(30))
    store.close()
    client = HQClient(hq.url, enroll(hq.db_url, "H001"))
    client.batch_size = 10
    heard: list[tuple] = []
    syncer = BackgroundSync(str(tmp_path / "k.sqlite3"), client, interval=60, progress_every=0,
                            say=lambda text: heard.append((text, syncer.failure, syncer.heard)))
    syncer.failure = SyncError(SyncError.UNREACHABLE, "timed out", hq.url)   # the last round, HQ down
    syncer.start()
    try:
        wait_for(lambda: any(" / sync with HQ at" in text for text, *_ in heard), "the round's end")
    finally:
        syncer.stop()
        syncer.join(10)
    assert [text for text, *_ in heard] == [
        "本部へ送信中: 残り 20 件（本部はこの受付機の記録を 10 番まで受け取っています） / "
        "sending to HQ: 20 left (HQ holds this kiosk's records up to 10)",
        "本部へ送信中: 残り 10 件（本部はこの受付機の記録を 20 番まで受け取っています） / "
        "sending to HQ: 10 left (HQ holds this kiosk's records up to 20)",
        f"本部 {hq.url} との同期は動いています: 本部はこの受付機の記録を 30 番まで受け取っています（送信待ち 0 件） / "
        f"sync with HQ at {hq.url} works: HQ holds this kiosk's records up to 30, 0 waiting to be sent"]
    # With the first batch HQ took, the failure of the round before was cleared and HQ was heard.
    assert heard[0][1:] == (None, True) and syncer.last_error is None


def test_before_hq_first_answers_reachable_is_not_known(tmp_path):
    """HQ takes its time to answer the first round (a slow link): the tablet and /api/status must not
    say "reachable" (nor "not reachable") before HQ has said anything."""
    silent = socket.create_server(("127.0.0.1", free_port()))   # takes the connection, never answers
    app = make_app(tmp_path / "tablet.sqlite3", HQ_URL=f"http://127.0.0.1:{silent.getsockname()[1]}",
                   HQ_TOKEN="t")
    syncer = app.extensions["kiosk_sync"]
    try:
        status = app.test_client().get("/api/status").get_json()
        cell = logged_in(app).get("/staff/summary").text.split('id="sync-hq">', 1)[1].split("</dd>", 1)[0]
        page = app.test_client().get("/status").text
    finally:
        syncer.stop()
        silent.close()
    assert (status["hq_reachable"], status["sync_configured"], status["sync_error"]) == (None, True, None)
    assert cell == "未確認（本部からまだ応答がありません。最初の同期の途中です）"
    # the kiosk's own status page says it in the tablet's Japanese words
    assert cell in page and "この端末には設定されていません" not in page


class TricklingAnswer:
    """Something at HQ's address (a failing proxy, a captive portal) that reads the request, then answers
    a byte at a time: each read of the answer gets a byte within the client's timeout, so only a deadline
    on the whole request ends it."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", free_port()))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._trickle, args=(conn,), daemon=True).start()

    def _trickle(self, conn: socket.socket) -> None:
        body = b'{"acked_seq": 0}'
        answer = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                  + str(len(body)).encode() + b"\r\n\r\n" + body)
        try:
            conn.recv(65536)
            for i in range(len(answer)):
                if self.stop.wait(0.3):
                    break
                conn.sendall(answer[i:i + 1])
        except OSError:
            pass
        conn.close()

    def close(self) -> None:
        self.stop.set()
        self.listener.close()


def test_an_answer_that_trickles_in_is_cut_off_at_the_requests_deadline_and_nothing_is_lost(tmp_path):
    """Without a deadline on the whole request, a kiosk's round waited minutes (220 s for 110 bytes in
    the review), saying nothing; now it is HQ out of reach at the deadline, the records staying queued."""
    trickle = TricklingAnswer()
    try:
        store = KioskStore(tmp_path / "kiosk.sqlite3")
        store.check_in("H001", people(2))
        client = HQClient(trickle.url, "token", timeout=1.0, deadline=2.0)
        with pytest.raises(SyncError) as failed:
            sync_once(store, client)
        assert failed.value.kind == SyncError.UNREACHABLE and failed.value.timed_out
        assert "no whole answer within 2 s" in failed.value.detail
        assert store.pending() == 2
        # The same client's next request has its own deadline (the cut one does not linger).
        with pytest.raises(SyncError) as again:
            client.request("GET", "/api/v1/kiosk/config")
        assert again.value.timed_out and "no whole answer" in again.value.detail
    finally:
        trickle.close()
