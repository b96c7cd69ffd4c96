"""Staff tablets reach the kiosk by HTTPS (evac kiosk serve --tablet-port): evacuees share the shelter's
Wi-Fi, and over plain HTTP anyone on it could read a lead's roster (protected people included) and take a
staff password or log-in cookie.  Real `evac kiosk serve` processes, real TLS, real Chromium."""
from __future__ import annotations

import re
import socket
import ssl
import stat
import urllib.request

from kiosk import tablet_tls
from kiosk.tablet_server import HANDSHAKE_SECONDS, PER_ADDRESS
from kiosk.tablet_tls import fingerprint, own_paths, tablet_certificate
from tests.conftest import Server, evac_cmd, free_port, run_evac
from tests.test_staff_browser import PASSWORD, log_in, roster_names

FINGERPRINT_RE = re.compile(r"fingerprint it shows is ((?:[0-9A-F]{2}:){31}[0-9A-F]{2})")


def tablet_kiosk(tmp_path, *extra: str) -> tuple[Server, int]:
    port, tablets = free_port(), free_port()
    server = Server(evac_cmd("kiosk", "serve", "--db", str(tmp_path / "k.sqlite3"), "--shelter", "H001",
                             "--port", str(port), "--tablet-port", str(tablets), *extra),
                    f"http://127.0.0.1:{port}", tmp_path / f"kiosk-{tablets}.log", "/api/status")
    return server, tablets


def trusting(cert) -> ssl.SSLContext:
    """A client that trusts exactly this certificate, and checks the name on it."""
    return ssl.create_default_context(cafile=str(cert))


def https_get(url: str, context: ssl.SSLContext):
    return urllib.request.urlopen(url, timeout=10, context=context)


def test_tablets_get_the_staff_pages_by_https_with_a_certificate_the_kiosk_keeps(tmp_path):
    db = str(tmp_path / "k.sqlite3")
    server, tablets = tablet_kiosk(tmp_path)
    cert, key = own_paths(db)
    try:
        said = server.log_path.read_text()
        url = re.search(rf"staff tablets: (https://[^\s/]+:{tablets}/staff/)", said).group(1)   # the first
        # Staff are told the fingerprint to compare with what the tablet's browser shows: the certificate's.
        assert FINGERPRINT_RE.search(said).group(1) == fingerprint(cert)
        # And on the kiosk's own status page (its screen's alone), for whoever sets up a tablet.
        with urllib.request.urlopen(server.url + "/status", timeout=10) as resp:
            page = resp.read().decode()
        assert url in page and fingerprint(cert) in page
        assert stat.S_IMODE(key.stat().st_mode) == 0o600, "the private key is its owner's alone"
        with https_get(f"https://localhost:{tablets}/staff/login", trusting(cert)) as resp:
            assert resp.status == 200 and "ログイン" in resp.read().decode()
            cookie = resp.headers["Set-Cookie"]
        assert "Secure" in cookie and "HttpOnly" in cookie, "the log-in cookie never goes back over plain HTTP"
        # Typed with http://: sent on to the same page by HTTPS, with words, not a dropped connection.
        with socket.create_connection(("127.0.0.1", tablets), timeout=10) as plain:
            plain.sendall(f"GET /staff/login?next=%2Fstaff%2F HTTP/1.1\r\nHost: 192.168.10.5:{tablets}\r\n\r\n".encode())
            answer = plain.makefile("rb").read().decode()
        assert answer.startswith("HTTP/1.1 301")
        assert f"Location: https://192.168.10.5:{tablets}/staff/login?next=%2Fstaff%2F\r\n" in answer
        assert "https:// で開いてください" in answer
        # Still serving after it (the plain request did not stop the listener).
        with https_get(f"https://localhost:{tablets}/staff/login", trusting(cert)) as resp:
            assert resp.status == 200
        # The screen's own port is plain HTTP, on this machine only, as before.
        with urllib.request.urlopen(f"http://127.0.0.1:{server.url.rsplit(':', 1)[1]}/", timeout=10) as resp:
            assert resp.status == 200
    finally:
        server.stop()
    # Restarted: the same certificate, so a tablet that accepted it is not asked again.
    kept = fingerprint(cert)
    server, tablets = tablet_kiosk(tmp_path)
    try:
        assert FINGERPRINT_RE.search(server.log_path.read_text()).group(1) == kept == fingerprint(cert)
        with https_get(f"https://localhost:{tablets}/staff/login", trusting(cert)) as resp:
            assert resp.status == 200
    finally:
        server.stop()


def test_a_lead_logs_in_and_reads_the_roster_in_chromium_over_https(tmp_path, browser):
    db = str(tmp_path / "k.sqlite3")
    assert run_evac("kiosk", "add-staff", "--db", db, "--name", "sato", "--role", "lead",
                    input=PASSWORD + "\n").returncode == 0
    assert run_evac("kiosk", "checkin", "--db", db, "--shelter", "H001", "--name", "焼津 花子",
                    "--birth", "1980-01-02", "--sex", "female", "--address", "焼津市本町1-1").returncode == 0
    server, tablets = tablet_kiosk(tmp_path)
    # The kiosk made its own certificate: a tablet's browser is told to go on once (as staff do after
    # comparing the fingerprint).
    context = browser.new_context(ignore_https_errors=True)
    try:
        page = context.new_page()
        base = f"https://127.0.0.1:{tablets}"
        log_in(page, base, "sato")
        assert page.url.startswith(base + "/staff/")
        assert roster_names(page) == ["焼津 花子"]
        response = page.goto(base + "/staff/")
        details = response.security_details()
        assert details["protocol"] in ("TLS 1.3", "TLS 1.2") and details["subjectName"].startswith("evac kiosk ")
        session = next(c for c in context.cookies() if c["name"] == "session")
        assert session["secure"] and session["httpOnly"]
    finally:
        context.close()
        server.stop()


def test_the_citys_certificate_is_used_and_wrong_tls_options_are_refused_in_words(tmp_path):
    city = tmp_path / "city"
    city.mkdir()
    made = tablet_certificate(str(city / "x"), names=("kiosk-h001.yaizu.local",))   # stands in for the city's
    server, tablets = tablet_kiosk(tmp_path, "--tls-cert", str(made.cert), "--tls-key", str(made.key))
    try:
        said = server.log_path.read_text()
        assert "fingerprint it shows" not in said, "no warning to expect with the city's certificate"
        with urllib.request.urlopen(server.url + "/status", timeout=10) as resp:
            page = resp.read().decode()
        assert f":{tablets}/staff/" in page and made.fingerprint not in page
        assert not own_paths(str(tmp_path / "k.sqlite3"))[0].exists()
        context = trusting(made.cert)
        context.check_hostname = False   # the name is the city's; this test reaches it on loopback
        with https_get(f"https://127.0.0.1:{tablets}/staff/login", context) as resp:
            assert resp.status == 200
    finally:
        server.stop()
    db = str(tmp_path / "k.sqlite3")
    base = ("kiosk", "serve", "--db", db, "--shelter", "H001", "--port", str(free_port()))
    for extra, words in [
        (("--tablet-port", "5999", "--tls-cert", str(made.cert)), "--tls-cert and --tls-key go together"),
        (("--tls-cert", str(made.cert), "--tls-key", str(made.key)), "give --tablet-port too"),
        (("--tablet-port", "5999", "--tls-cert", str(made.key), "--tls-key", str(made.key)),
         "are not a PEM certificate and its private key"),
        (("--tablet-port", "5999", "--tls-cert", str(tmp_path / "none.pem"), "--tls-key", str(made.key)),
         "no such file"),
        (("--tablet-port", base[-1]), "is also --port"),
    ]:
        result = run_evac(*base, *extra, timeout=60)
        assert result.returncode == 2 and words in result.stderr, (extra, result.stderr)
        assert "Traceback" not in result.stderr
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        result = run_evac(*base, "--tablet-port", str(busy), timeout=60)
    assert result.returncode == 1 and f"port {busy}" in result.stderr and "--tablet-port" in result.stderr, \
        result.stderr


def test_plain_http_for_tablets_is_warned_about_and_the_screen_alone_on_this_machine_is_not(tmp_path):
    said = {}
    for host in ("0.0.0.0", "127.0.0.1"):
        port = free_port()
        server = Server(evac_cmd("kiosk", "serve", "--db", str(tmp_path / "k.sqlite3"), "--shelter", "H001",
                                 "--port", str(port), "--host", host),
                        f"http://127.0.0.1:{port}", tmp_path / f"kiosk-{port}.log", "/api/status")
        server.stop()
        said[host] = server.log_path.read_text()
    assert "plain HTTP" in said["0.0.0.0"] and "--tablet-port" in said["0.0.0.0"]
    assert "evac: 警告: 職員のタブレットは暗号化されていない HTTP でこの端末に届きます" in said["0.0.0.0"]
    assert "plain HTTP" not in said["127.0.0.1"]


def _drip(port: int, stop, source: str) -> None:
    """A client on the Wi-Fi that starts a plain request and sends one byte a second, for ever."""
    with socket.create_connection(("127.0.0.1", port), timeout=60, source_address=(source, 0)) as s:
        while not stop.is_set():
            try:
                s.sendall(b"G")
            except OSError:   # the kiosk gave up on it
                return
            stop.wait(1)


def test_slow_and_silent_clients_hold_up_only_themselves(tmp_path):
    import threading
    db = str(tmp_path / "k.sqlite3")
    server, tablets = tablet_kiosk(tmp_path)
    stop = threading.Event()
    held = []
    try:
        # From another address of this machine (127.0.0.2: loopback answers the whole 127/8): a drip,
        # and silent connections up to that address's limit; one more is turned away.
        dripping = threading.Thread(target=_drip, args=(tablets, stop, "127.0.0.2"), daemon=True)
        dripping.start()
        for _ in range(PER_ADDRESS - 1):
            held.append(socket.create_connection(("127.0.0.1", tablets), source_address=("127.0.0.2", 0)))
        one_more = socket.create_connection(("127.0.0.1", tablets), timeout=30, source_address=("127.0.0.2", 0))
        assert one_more.recv(1) == b"", "a client over its limit is closed at once"
        one_more.close()
        # A tablet is served meanwhile (its wait bounded only to end a failing run).
        with https_get(f"https://localhost:{tablets}/staff/login", trusting(own_paths(db)[0])) as resp:
            assert resp.status == 200
        # The drip is cut off by the handshake's deadline, with the tablet long served: it ends by itself.
        dripping.join(HANDSHAKE_SECONDS * 6)
        assert not dripping.is_alive()
    finally:
        stop.set()
        for s in held:
            s.close()
        server.stop()


def test_own_certificate_is_made_again_when_damaged_or_not_naming_the_address_and_staff_are_told(tmp_path):
    db = str(tmp_path / "k.sqlite3")
    first = tablet_certificate(db, names=("192.0.2.10",))
    assert "192.0.2.10" in first.names and not first.notes
    assert tablet_certificate(db, names=("192.0.2.10",)).fingerprint == first.fingerprint, "kept"
    moved = tablet_certificate(db, names=("198.51.100.7",))   # the kiosk on another network
    assert moved.fingerprint != first.fingerprint and "198.51.100.7" in moved.names
    assert "did not name 198.51.100.7" in moved.notes[0] and "作り直しました" in moved.notes[0]
    own_paths(db)[1].write_bytes(b"")   # a power cut while the key was written
    mended = tablet_certificate(db, names=("198.51.100.7",))
    assert mended.fingerprint != moved.fingerprint and "could not be read" in mended.notes[0]


def test_the_citys_certificate_running_out_is_said_at_the_start(tmp_path, monkeypatch):
    monkeypatch.setattr(tablet_tls, "VALID_DAYS", 10)
    made = tablet_certificate(str(tmp_path / "city"), names=("kiosk-h001.yaizu.local",))   # stands in for it
    city = tablet_certificate(str(tmp_path / "k.sqlite3"), str(made.cert), str(made.key))
    assert not city.made_here and "kiosk-h001.yaizu.local" in city.names
    assert "ask the city for a new one" in city.notes[0] and "期限" in city.notes[0]


def test_a_tablet_on_the_plain_port_is_sent_to_https_and_the_fingerprint_stays_on_the_kiosk(tmp_path):
    from kiosk import create_app
    app = create_app({"KIOSK_DB": str(tmp_path / "k.sqlite3"), "SHELTER_ID": "H001", "TESTING": True,
                      "TABLETS": {"urls": ["https://10.0.0.1:5443/staff/"], "port": 5443, "fingerprint": "AB:CD"}})
    client = app.test_client()
    lan = {"REMOTE_ADDR": "10.0.0.5"}
    moved = client.get("/staff/login?next=%2Fstaff%2F", base_url="http://10.0.0.1:5001", environ_base=lan)
    assert moved.status_code == 301 and moved.location == "https://10.0.0.1:5443/staff/login?next=%2Fstaff%2F"
    assert client.get("/staff/login", environ_base={"REMOTE_ADDR": "127.0.0.1"}).status_code == 200, \
        "the kiosk machine itself may use the plain port"
    # /status answers the LAN with counts, but the fingerprint only on the kiosk machine (a man in the
    # middle would show his own).
    assert "AB:CD" not in client.get("/status", environ_base=lan).get_data(as_text=True)
    for local in ("127.0.0.1", "::1", "::ffff:127.0.0.1"):
        assert "AB:CD" in client.get("/status", environ_base={"REMOTE_ADDR": local}).get_data(as_text=True)
        assert client.get("/", environ_base={"REMOTE_ADDR": local}).status_code == 200, local
    assert client.get("/", environ_base={"REMOTE_ADDR": "::ffff:10.0.0.5"}).status_code == 403


def test_a_kiosk_that_does_not_trust_hqs_certificate_says_so_and_is_mended_by_ssl_cert_file(tmp_path):
    """HQ behind the city's HTTPS: a kiosk not given the city's authority must say that, not 'cannot be
    reached' (waiting would not mend it).  Another kiosk's tablet port stands in for an HTTPS server
    with a certificate nobody trusts yet."""
    import os
    import subprocess
    server, tablets = tablet_kiosk(tmp_path)
    cert = own_paths(str(tmp_path / "k.sqlite3"))[0]
    sync = evac_cmd("kiosk", "sync", "--db", str(tmp_path / "other.sqlite3"), "--hq", f"https://localhost:{tablets}",
                    "--token", "K0000000A." + "x" * 43)
    try:
        assert run_evac("kiosk", "checkin", "--db", str(tmp_path / "other.sqlite3"), "--shelter", "H001", "--name",
                        "焼津 花子", "--birth", "1980-01-02", "--sex", "female").returncode == 0
        untrusted = subprocess.run(sync, capture_output=True, text=True, timeout=120)
        assert untrusted.returncode != 0 and "cannot trust its certificate" in untrusted.stderr, untrusted.stderr
        assert "IT担当" in untrusted.stderr and "cannot be reached" not in untrusted.stderr
        trusted = subprocess.run(sync, capture_output=True, text=True, timeout=120,
                                 env={**os.environ, "SSL_CERT_FILE": str(cert)})
        assert "cannot trust" not in trusted.stderr and "is not HQ" in trusted.stderr, trusted.stderr
    finally:
        server.stop()


def test_a_request_head_dripped_slowly_is_cut_off_and_a_kept_alive_connection_is_not(tmp_path, monkeypatch):
    """cheroot's timeout is per read: a client sending a header every few seconds held a worker for ever.
    A request's head now has HEAD_SECONDS from its start; the wait between two requests on one connection
    is not counted.  The real listener in this process, with a short limit."""
    import threading
    import time

    from kiosk import create_app, tablet_server
    monkeypatch.setattr(tablet_server, "HEAD_SECONDS", 1)
    db = str(tmp_path / "k.sqlite3")
    app = create_app({"KIOSK_DB": db, "SHELTER_ID": "H001", "START_SYNC": False})
    certificate = tablet_certificate(db)
    port = free_port()
    server = tablet_server.tablet_server(app, "127.0.0.1", port, certificate)
    context = trusting(certificate.cert)
    try:
        with context.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=30),
                                 server_hostname="localhost") as slow:
            slow.sendall(b"GET /staff/login HTTP/1.1\r\nHost: localhost\r\n")
            answer = b""
            stop = time.monotonic() + 20   # only to end a failing run
            while not answer and time.monotonic() < stop:
                slow.settimeout(0.25)   # a header every quarter of the head's time
                try:
                    answer = slow.recv(100)
                except TimeoutError:
                    slow.sendall(b"X-Drip: 1\r\n")
        assert answer.startswith(b"HTTP/1.1 408"), answer
        with context.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=30),
                                 server_hostname="localhost") as kept:
            reader = kept.makefile("rb")
            for _ in range(2):
                kept.sendall(b"GET /staff/login HTTP/1.1\r\nHost: localhost\r\n\r\n")
                status = reader.readline()
                assert status.startswith(b"HTTP/1.1 200"), status
                headers = list(iter(reader.readline, b"\r\n"))
                reader.read(next(int(h.split(b":")[1]) for h in headers if h.lower().startswith(b"content-length")))
                threading.Event().wait(1.5)   # idle between requests, longer than a head may take
    finally:
        server.stop()
