"""Why HQ cannot be reached, as the tablet and the kiosk's sync say it, for what a review met with real
sockets: a connection that never completes is HQ out of reach (not a link "too slow", whose batches are
halved); a certificate the kiosk does not trust and an https:// address for an HQ without HTTPS say what
to mend, in Japanese; a server that closes without answering is a cut connection, not the system's
English."""
from __future__ import annotations

import socket
import ssl
import threading

import pytest

from evac.events import Person
from kiosk.store import KioskStore
from kiosk.sync import MIN_BATCH, HQClient, SyncError, sync_once
from kiosk.tablet_tls import tablet_certificate
from tests.conftest import free_port
from tests.staff_helpers import logged_in, make_app
from tests.test_sync_hq_answers import _answering, _sync_panel, serve  # noqa: F401  (serve: fixture)


class Listener:
    """A TCP server on loopback that does `handle(connection)` with each connection it accepts."""

    def __init__(self, handle, backlog: int = 16):
        self.sock = socket.create_server(("127.0.0.1", free_port()), backlog=backlog)
        self.port = self.sock.getsockname()[1]
        self.handle = handle
        self.held: list[socket.socket] = []
        if handle is not None:
            threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.handle, args=(conn,), daemon=True).start()

    def close(self) -> None:
        for s in [self.sock, *self.held]:
            s.close()


@pytest.fixture
def listeners():
    made = []

    def make(handle, backlog: int = 16) -> Listener:
        made.append(Listener(handle, backlog))
        return made[-1]
    yield make
    for listener in made:
        listener.close()


def full(listeners) -> Listener:
    """A listener that never accepts, its queue filled: a new connection is never completed (as a machine
    that drops what it is sent), so connecting times out."""
    listener = listeners(None, backlog=0)
    for _ in range(8):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", listener.port))
        listener.held.append(s)
    probe = socket.socket()
    probe.settimeout(0.3)
    with pytest.raises(OSError):   # (the queue is full: this machine's kernel drops the next one)
        probe.connect(("127.0.0.1", listener.port))
    probe.close()
    return listener


def _closes_after_reading(conn: socket.socket) -> None:
    try:
        conn.recv(65536)
    finally:
        conn.close()


def test_no_connection_in_time_is_hq_out_of_reach_and_the_batch_is_not_halved(tmp_path, listeners):
    listener = full(listeners)
    store = KioskStore(tmp_path / "k.sqlite3")
    store.check_in("H001", [Person(f"接続 {i}", "1980-01-01", "female", f"焼津市本町{i}")
                            for i in range(4 * MIN_BATCH)])
    client = HQClient(f"http://127.0.0.1:{listener.port}", "t" * 32, timeout=0.5)
    client.batch_size = 4 * MIN_BATCH
    for _ in range(2):
        with pytest.raises(SyncError) as failed:
            sync_once(store, client)
        assert failed.value.timed_out and not failed.value.connected and not failed.value.slow
        assert "HQ cannot be reached" in str(failed.value) and "too slow" not in str(failed.value)
    assert client.slow_size is None and store.pending() == 4 * MIN_BATCH
    # The tablet shows what its background sync last met (its own client waits 15 s: this failure instead).
    app = make_app(tmp_path / "tablet.sqlite3", HQ_URL=f"http://127.0.0.1:{free_port()}", HQ_TOKEN="t" * 32)
    syncer = app.extensions["kiosk_sync"]
    syncer.stop()
    syncer.join(10)
    # (as a failed round records it: the file's last sync then, which a later sync would move on)
    syncer.synced_before, syncer.failure = KioskStore(tmp_path / "tablet.sqlite3").last_sync_at(), failed.value
    cell = logged_in(app).get("/staff/summary").text.split('id="sync-hq">', 1)[1].split("</dd>", 1)[0]
    assert "本部に接続できません（時間内に応答がありません）" in cell and "遅すぎ" not in cell


def test_a_certificate_the_kiosk_does_not_trust_says_to_call_it_not_to_wait(tmp_path, listeners):
    own = tablet_certificate(str(tmp_path / "other.sqlite3"), names=("127.0.0.1",))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(own.cert, own.key)

    def handshake(conn: socket.socket) -> None:
        try:
            context.wrap_socket(conn, server_side=True).close()
        except (OSError, ssl.SSLError):
            conn.close()
    listener = listeners(handshake)
    cell = _sync_panel(tmp_path, f"https://127.0.0.1:{listener.port}", "t" * 32)
    assert "この端末は本部の証明書を確認できません。市のIT担当に連絡してください" in cell
    assert "本部が応答すれば送られます" not in cell and "SSL" not in cell.replace("SSL_CERT_FILE", "")


def test_an_https_address_for_a_server_without_https_says_to_check_the_address(tmp_path, serve):  # noqa: F811
    server = serve(_answering("200 OK", "application/json", b"{}"))
    cell = _sync_panel(tmp_path, server.url.replace("http://", "https://"), "t" * 32)
    assert "本部のアドレスが https:// で始まっていますが、HTTPS で応答がありません" in cell
    assert "WRONG_VERSION" not in cell and "本部が応答すれば送られます" not in cell


def test_a_server_that_closes_without_an_answer_is_a_cut_connection(tmp_path, listeners):
    listener = listeners(_closes_after_reading)
    cell = _sync_panel(tmp_path, f"http://127.0.0.1:{listener.port}", "t" * 32)
    assert "本部に接続できません（接続が途中で切れました）" in cell and "Remote end" not in cell


def _never_answers(conn: socket.socket) -> None:
    threading.Event().wait(5)   # accepts, says nothing (an HQ that hangs, a congested link), then closes
    conn.close()


def test_an_https_handshake_that_times_out_is_no_answer_in_time_not_a_wrong_address(tmp_path, listeners):
    """Review: "The handshake operation timed out" was taken for an HQ without HTTPS, and staff were told to
    change a right https:// address to http://."""
    listener = listeners(_never_answers)
    store = KioskStore(tmp_path / "k.sqlite3")
    store.check_in("H001", [Person("握手 一", "1980-01-01", "female", "焼津市本町1")])
    with pytest.raises(SyncError) as failed:
        sync_once(store, HQClient(f"https://127.0.0.1:{listener.port}", "t" * 32, timeout=0.5))
    assert failed.value.timed_out and not failed.value.not_https, str(failed.value)
    assert "http://" not in str(failed.value).replace(f"https://127.0.0.1:{listener.port}", "")


def _tls_hangs_plain_gets(answer: bytes, trickle: bool = False):
    """A server whose TLS handshake never ends and which answers a plain-HTTP request with `answer` (then,
    with `trickle`, a byte every 0.2 s for as long as it is read: a middlebox that never finishes)."""
    def handle(conn: socket.socket) -> None:
        try:
            first = conn.recv(65536)
            if first[:1] == b"\x16":   # a TLS ClientHello
                threading.Event().wait(5)
                return
            conn.sendall(answer)
            while trickle:
                threading.Event().wait(0.2)
                conn.sendall(b"x")
        except OSError:
            pass
        finally:
            conn.close()
    return handle


def test_an_https_server_that_refuses_plain_http_with_a_page_is_not_taken_for_a_plain_http_hq(tmp_path, listeners):
    """Review: nginx (README's proxy) answers a plain request on its TLS port with a 400 page; on a congested
    link staff were told to change a right https:// address to http://.  Only HQ's own JSON counts."""
    listener = listeners(_tls_hangs_plain_gets(
        b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/html\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
    store = KioskStore(tmp_path / "k.sqlite3")
    store.check_in("H001", [Person("握手 二", "1980-01-01", "female", "焼津市本町2")])
    with pytest.raises(SyncError) as failed:
        sync_once(store, HQClient(f"https://127.0.0.1:{listener.port}", "t" * 32, timeout=0.5))
    assert failed.value.timed_out and not failed.value.not_https
    assert "本部に接続できません（時間内に応答がありません）" in str(failed.value)


def test_the_plain_http_question_is_cut_off_like_any_request(tmp_path, listeners):
    """Review: a server trickling a byte at a time to the plain-HTTP question held the sync round for good."""
    listener = listeners(_tls_hangs_plain_gets(b"HTTP/1.1 200 OK\r\n", trickle=True))
    store = KioskStore(tmp_path / "k.sqlite3")
    store.check_in("H001", [Person("握手 三", "1980-01-01", "female", "焼津市本町3")])
    met = []

    def round_() -> None:
        try:
            sync_once(store, HQClient(f"https://127.0.0.1:{listener.port}", "t" * 32, timeout=0.5))
        except SyncError as exc:
            met.append(exc)
    done = threading.Thread(target=round_, daemon=True)
    done.start()
    done.join(120)   # (a hang guard: without the cut-off the round never ends)
    assert not done.is_alive() and met and met[0].timed_out and not met[0].not_https


def _namespaces_unavailable() -> str | None:
    """Why this machine cannot give a process its own loopback and /etc/resolv.conf (tests/silent_dns.py)."""
    import shutil
    import subprocess
    if not shutil.which("unshare") or not shutil.which("ip"):
        return "needs unshare and ip (util-linux, iproute2)"
    tried = subprocess.run(["unshare", "-rmn", "true"], capture_output=True, text=True)
    return None if tried.returncode == 0 else f"no user namespaces here: {tried.stderr.strip()}"


def _sync_in_namespaces(tmp_path, *how: str) -> dict:
    """What `evac kiosk sync` came to beside tests/silent_dns.py's name server (run in its own namespaces)."""
    import json
    import os
    import signal
    import subprocess
    import sys
    from pathlib import Path
    why = _namespaces_unavailable()
    if why:
        pytest.skip(why)
    root = Path(__file__).resolve().parent.parent
    ran = subprocess.Popen(["unshare", "-rmn", sys.executable, "-m", "tests.silent_dns", str(tmp_path), *how],
                           cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = ran.communicate(timeout=120)   # a hang guard: the resolver alone would ask for 150 s
    except subprocess.TimeoutExpired:
        os.killpg(ran.pid, signal.SIGKILL)
        ran.communicate()
        pytest.fail("`evac kiosk sync` was still waiting for the name's lookup: it is not cut off")
    assert ran.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])


def test_a_name_that_stops_resolving_does_not_hold_the_plain_http_question(tmp_path):
    """Review: after an https:// handshake timed out, the kiosk asks the same host by plain HTTP; its name
    lookup (getaddrinfo) was not cut off with the request, and a name server gone silent held `evac kiosk
    sync` for as long as the system's resolver kept asking (up to minutes).  Real parts: a name server that
    answers, then falls silent once the handshake reached HQ; the real command, in its own namespaces."""
    came = _sync_in_namespaces(tmp_path)
    assert came["asked_after_silence"] > 0, came     # the plain-HTTP question did ask the silent name server
    assert came["returncode"] == 1, came
    assert "本部に接続できません（時間内に応答がありません）" in came["stderr"], came["stderr"]
    assert "no answer in time" in came["stderr"] and "http://" not in came["stderr"].replace("https://", "")
    assert "1 event(s) stay queued on this kiosk" in came["stderr"] and came["pending"] == 1


def test_a_silent_name_server_is_no_answer_in_time_not_a_round_held_for_minutes(tmp_path):
    """The sync request's own lookup, as the plain-HTTP question's: the request's deadline cut off nothing
    before there was a socket to cut."""
    came = _sync_in_namespaces(tmp_path, "silent")
    assert came["asked_after_silence"] > 0 and came["returncode"] == 1, came
    assert "本部に接続できません（時間内に応答がありません）" in came["stderr"], came["stderr"]
    assert "did not resolve" in came["stderr"] and "too slow" not in came["stderr"]
    assert "1 event(s) stay queued on this kiosk" in came["stderr"] and came["pending"] == 1


def test_rounds_against_a_silent_name_server_hold_one_lookup_not_one_each(tmp_path):
    """A lookup cut off is left to end by itself (nothing can interrupt getaddrinfo); each round of a kiosk
    whose name server went silent started another, and a kiosk syncing every few seconds piled them up.
    Each round is still cut off in its own time, and says why."""
    came = _sync_in_namespaces(tmp_path, "rounds")
    assert len(came["said"]) == 3 and all("did not resolve" in said for said in came["said"]), came
    assert came["lookups"] == 1, came
    assert came["pending"] == 1, came
