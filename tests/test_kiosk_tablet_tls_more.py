"""The tablets' HTTPS (evac kiosk serve --tablet-port), further: a request body dripped slowly, the
kiosk's own certificate running out while it runs, the city's certificate without its intermediate.
Real `evac kiosk serve` processes, real TLS, certificates made here with `cryptography`."""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import socket
import ssl
import threading
import time
import urllib.request

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from kiosk.tablet_tls import RENEW_BEFORE, fingerprint, own_paths, tablet_certificate
from tests.conftest import Server, evac_cmd, free_port, run_evac
from tests.test_kiosk_tablet_tls import FINGERPRINT_RE, https_get, trusting

BODY_SECONDS = 1   # the test's deadline for a request's body (60 s in service)


def tablet_kiosk(tmp_path, *extra: str, env: dict[str, str] | None = None) -> tuple[Server, int]:
    port, tablets = free_port(), free_port()
    server = Server(evac_cmd("kiosk", "serve", "--db", str(tmp_path / "k.sqlite3"), "--shelter", "H001",
                             "--port", str(port), "--tablet-port", str(tablets), *extra),
                    f"http://127.0.0.1:{port}", tmp_path / f"kiosk-{tablets}.log", "/api/status",
                    env={**os.environ, **(env or {})})
    return server, tablets


def served_fingerprint(port: int) -> str:
    """The fingerprint of the certificate a new TLS connection is given, as a browser shows it."""
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    with context.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10)) as tls:
        der = tls.getpeercert(binary_form=True)
    return ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest())


def read_answer(tls: ssl.SSLSocket) -> bytes:
    """One response: its head and its Content-Length's worth of body."""
    reader = tls.makefile("rb")
    head = b"".join(iter(reader.readline, b"\r\n"))
    length = int(re.search(rb"(?i)\r\ncontent-length: *(\d+)", head).group(1))
    return head + b"\r\n" + reader.read(length)


# --- 1. a body dripped slowly ---------------------------------------------------------------------

def _drip_body(port: int, cert, stop: threading.Event, seen: dict) -> None:
    """A client whose head is whole at once, and whose 200000-byte body comes one byte every quarter of the
    body's deadline (a byte a second in 60 s would take two days)."""
    with trusting(cert).wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=30),
                                    server_hostname="localhost") as tls:
        tls.sendall(b"POST /staff/login HTTP/1.1\r\nHost: localhost\r\n"
                    b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 200000\r\n\r\n")
        answer = b""
        while not stop.is_set():
            try:
                tls.sendall(b"a")
                tls.settimeout(BODY_SECONDS / 4)
                chunk = tls.recv(4096)
            except TimeoutError:
                continue
            except OSError:   # the kiosk closed it
                break
            if not chunk:
                break
            answer += chunk
        else:
            return   # still open when the test gave up on it
        seen["answer"], seen["closed"] = answer, True


def test_a_request_body_dripped_slowly_is_cut_off_and_a_tablet_is_served_meanwhile(tmp_path):
    """cheroot's timeout is per read: a POST sending one byte of its body every second held a worker
    for ever.  The body now has its deadline (EVAC_TABLET_BODY_SECONDS here, 60 s in service) from the
    end of the head; the wait between two requests on one connection is not counted."""
    db = str(tmp_path / "k.sqlite3")
    server, tablets = tablet_kiosk(tmp_path, env={"EVAC_TABLET_BODY_SECONDS": str(BODY_SECONDS)})
    cert = own_paths(db)[0]
    stop, seen = threading.Event(), {}
    dripping = threading.Thread(target=_drip_body, args=(tablets, cert, stop, seen), daemon=True)
    try:
        dripping.start()
        with https_get(f"https://localhost:{tablets}/staff/login", trusting(cert)) as resp:
            assert resp.status == 200
        dripping.join(BODY_SECONDS * 20)   # only to end a failing run: without a deadline it drips for ever
        stop.set()
        dripping.join(10)
        assert seen.get("closed"), "the kiosk kept a dripping body's connection open"
        assert seen["answer"].startswith(b"HTTP/1.1 408"), seen["answer"]
        # One kept-alive connection, idle between its requests for longer than a body may take: served.
        with trusting(cert).wrap_socket(socket.create_connection(("127.0.0.1", tablets), timeout=30),
                                        server_hostname="localhost") as kept:
            for _ in range(2):
                kept.sendall(b"GET /staff/login HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\r\nhello")
                answer = read_answer(kept)
                assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
                threading.Event().wait(BODY_SECONDS * 1.5)
        with https_get(f"https://localhost:{tablets}/staff/login", trusting(cert)) as resp:
            assert resp.status == 200
    finally:
        stop.set()
        server.stop()
    assert "Traceback" not in server.log_path.read_text()


# --- certificates made here -------------------------------------------------------------------------

def _key():
    return ec.generate_private_key(ec.SECP256R1())


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _certificate(subject: str, key, issuer: str, issuer_key, *, ca: bool, names: tuple[str, ...] = (),
                 not_after: dt.datetime | None = None) -> x509.Certificate:
    import ipaddress
    now = dt.datetime.now(dt.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(_name(issuer))
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(days=1))
               .not_valid_after(not_after or now + dt.timedelta(days=365))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if ca:
        builder = builder.add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                                       key_encipherment=False, data_encipherment=False,
                                                       key_agreement=False, key_cert_sign=True, crl_sign=True,
                                                       encipher_only=False, decipher_only=False), critical=True)
    else:
        alt = []
        for n in names:
            try:
                alt.append(x509.IPAddress(ipaddress.ip_address(n)))
            except ValueError:
                alt.append(x509.DNSName(n))
        builder = builder.add_extension(x509.SubjectAlternativeName(alt), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _pem(*certs: x509.Certificate) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def _key_pem(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


# --- 2. the kiosk's own certificate running out while it runs ---------------------------------------

def test_the_kiosks_own_certificate_is_made_again_while_it_runs_and_new_connections_get_it(tmp_path):
    """A kiosk running non-stop past its certificate's validity: looked at every
    EVAC_TABLET_CERTIFICATE_CHECK_SECONDS (an hour in service), made again at the renewal window a start
    uses, and served to new connections without a restart."""
    db = str(tmp_path / "k.sqlite3")
    cert_path, key_path = own_paths(db)
    key = _key()
    # Outside the renewal window at the start (else the start would renew it), inside it a little later:
    # 8 s covers the start (under a second; 1.1 s with the machine's two cores three times over-busy).
    not_after = dt.datetime.now(dt.timezone.utc) + RENEW_BEFORE + dt.timedelta(seconds=8)
    names = ("127.0.0.1", "localhost", socket.gethostname())
    mine = f"evac kiosk {socket.gethostname()}"[:64]
    key_path.write_bytes(_key_pem(key))
    key_path.chmod(0o600)
    cert_path.write_bytes(_pem(_certificate(mine, key, mine, key, ca=False, names=names, not_after=not_after)))
    planted = fingerprint(cert_path)
    server, tablets = tablet_kiosk(tmp_path, "--tablet-host", "127.0.0.1",
                                   env={"EVAC_TABLET_CERTIFICATE_CHECK_SECONDS": "1"})
    try:
        said = server.log_path.read_text()
        assert FINGERPRINT_RE.search(said).group(1) == planted, "the kiosk started with the one made here"
        assert served_fingerprint(tablets) == planted
        served = planted
        give_up = time.monotonic() + 120   # only to end a failing run
        while served == planted and time.monotonic() < give_up:
            time.sleep(1)
            served = served_fingerprint(tablets)
        assert served != planted, "the kiosk went on serving a certificate about to run out"
        assert served == fingerprint(cert_path), "the new one is kept beside the database, for the next start"
        new = x509.load_pem_x509_certificate(cert_path.read_bytes())
        assert new.not_valid_after_utc - dt.datetime.now(dt.timezone.utc) > RENEW_BEFORE
        said = server.log_path.read_text()
        assert f"新しい指紋: {served}" in said and f"fingerprint it shows is {served}" in said
        assert said.index("作り直しました") < said.index("made a new certificate"), "Japanese first"
        # The new one names what the old one did (a tablet checks the name), and the kiosk's status page
        # shows its fingerprint, not the old one's.
        with https_get(f"https://localhost:{tablets}/staff/login", trusting(cert_path)) as resp:
            assert resp.status == 200
        with urllib.request.urlopen(server.url + "/status", timeout=10) as resp:
            page = resp.read().decode()
        assert served in page and planted not in page
    finally:
        server.stop()
    assert "Traceback" not in server.log_path.read_text()


# --- 3. the city's certificate without its intermediate ---------------------------------------------

@pytest.fixture
def city(tmp_path):
    """The city's PKI: a root, an intermediate it signed, and the kiosk's certificate the intermediate
    signed (files: root.pem, leaf.pem alone, chain.pem with the intermediate, key.pem)."""
    root_key, middle_key, leaf_key = _key(), _key(), _key()
    root = _certificate("Yaizu City Root CA", root_key, "Yaizu City Root CA", root_key, ca=True)
    middle = _certificate("Yaizu City Issuing CA", middle_key, "Yaizu City Root CA", root_key, ca=True)
    leaf = _certificate("kiosk-h001.yaizu.local", leaf_key, "Yaizu City Issuing CA", middle_key, ca=False,
                        names=("kiosk-h001.yaizu.local", "localhost"))
    out = tmp_path / "city"
    out.mkdir()
    (out / "root.pem").write_bytes(_pem(root))
    (out / "leaf.pem").write_bytes(_pem(leaf))
    (out / "chain.pem").write_bytes(_pem(leaf, middle))
    (out / "key.pem").write_bytes(_key_pem(leaf_key))
    (out / "other-key.pem").write_bytes(_key_pem(_key()))
    return out


def test_the_citys_certificate_without_its_intermediate_is_said_at_the_start(tmp_path, city):
    tablets_trusting_the_city = ssl.create_default_context(cafile=str(city / "root.pem"))
    server, tablets = tablet_kiosk(tmp_path, "--tls-cert", str(city / "leaf.pem"), "--tls-key", str(city / "key.pem"))
    try:
        said = server.log_path.read_text()
        assert "中間証明書がありません" in said and "holds no intermediate certificate" in said
        assert said.index("中間証明書がありません") < said.index("holds no intermediate certificate")
        assert "Yaizu City Issuing CA" in said and "put the whole chain in the file" in said
        # Why it matters: a tablet that trusts the city's root cannot link the kiosk's certificate to it.
        with pytest.raises(urllib.error.URLError) as refused:
            https_get(f"https://localhost:{tablets}/staff/login", tablets_trusting_the_city)
        assert isinstance(refused.value.reason, ssl.SSLCertVerificationError)
    finally:
        server.stop()
    server, tablets = tablet_kiosk(tmp_path, "--tls-cert", str(city / "chain.pem"), "--tls-key", str(city / "key.pem"))
    try:
        said = server.log_path.read_text()
        assert "中間証明書" not in said and "intermediate" not in said
        with https_get(f"https://localhost:{tablets}/staff/login", tablets_trusting_the_city) as resp:
            assert resp.status == 200
    finally:
        server.stop()
    # A certificate the city made for itself (issuer and subject the same) needs none.
    made = tablet_certificate(str(tmp_path / "self"), names=("kiosk-h001.yaizu.local",))
    assert not tablet_certificate(str(tmp_path / "k.sqlite3"), str(made.cert), str(made.key)).notes
    # A key that is not the certificate's: refused at the start, in words.
    result = run_evac("kiosk", "serve", "--db", str(tmp_path / "k.sqlite3"), "--shelter", "H001",
                      "--port", str(free_port()), "--tablet-port", str(free_port()),
                      "--tls-cert", str(city / "chain.pem"), "--tls-key", str(city / "other-key.pem"), timeout=60)
    assert result.returncode == 2 and "the key is not this certificate's" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


# --- 4. the city's certificate running out while the kiosk runs ---------------------------------------

def test_the_citys_new_certificate_put_in_place_is_served_without_a_restart(tmp_path, city):
    """The city's certificate nears its end (said at the start, Japanese first); the city's new one is put
    in the same files while the kiosk runs: a certificate copied without its key is refused in words and
    the old one serves on; with its key, new connections get it, without a restart."""
    root_key = _key()
    root = _certificate("Yaizu City Root CA", root_key, "Yaizu City Root CA", root_key, ca=True)
    (city / "root.pem").write_bytes(_pem(root))
    names = ("kiosk-h001.yaizu.local", "localhost")
    old_key, new_key = _key(), _key()
    ending = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=10)
    cert, key = city / "kiosk.pem", city / "kiosk-key.pem"
    cert.write_bytes(_pem(_certificate("kiosk-h001.yaizu.local", old_key, "Yaizu City Root CA", root_key, ca=False,
                                       names=names, not_after=ending)))
    key.write_bytes(_key_pem(old_key))
    old = fingerprint(cert)
    tablets_trusting_the_city = ssl.create_default_context(cafile=str(city / "root.pem"))
    server, tablets = tablet_kiosk(tmp_path, "--tls-cert", str(cert), "--tls-key", str(key),
                                   env={"EVAC_TABLET_CERTIFICATE_CHECK_SECONDS": "1"})
    try:
        said = server.log_path.read_text()
        assert f"期限は {ending:%Y-%m-%d} です" in said and f"expires on {ending:%Y-%m-%d}" in said
        assert said.index("期限は") < said.index("expires on"), "Japanese first"
        time.sleep(3)
        assert server.log_path.read_text().count("expires on") == 1, "said once a day, not every look"
        # The city's new certificate, copied without its new key yet: refused, the old one serves on.
        cert.write_bytes(_pem(_certificate("kiosk-h001.yaizu.local", new_key, "Yaizu City Root CA", root_key,
                                           ca=False, names=names)))
        new = fingerprint(cert)
        give_up = time.monotonic() + 60   # only to end a failing run
        while "could not load the city's new certificate" not in server.log_path.read_text():
            assert time.monotonic() < give_up, server.log_path.read_text()
            time.sleep(0.5)
        said = server.log_path.read_text()
        assert said.index("市の新しい証明書を読み込めませんでした") < said.index("could not load the city's new")
        assert served_fingerprint(tablets) == old
        with https_get(f"https://localhost:{tablets}/staff/login", tablets_trusting_the_city) as resp:
            assert resp.status == 200
        key.write_bytes(_key_pem(new_key))
        while served_fingerprint(tablets) != new:
            assert time.monotonic() < give_up, "the kiosk went on serving the certificate that runs out"
            time.sleep(0.5)
        said = server.log_path.read_text()
        assert "市の新しい証明書に切り替えました" in said and "now serving the city's new certificate" in said
        with https_get(f"https://localhost:{tablets}/staff/login", tablets_trusting_the_city) as resp:
            assert resp.status == 200
        with urllib.request.urlopen(server.url + "/status", timeout=10) as resp:
            page = resp.read().decode()
        assert new not in page and old not in page, "the city's certificate needs no fingerprint checked"
    finally:
        server.stop()
    assert "Traceback" not in server.log_path.read_text()
