"""HTTPS for the staff tablets on the shelter's Wi-Fi.

Evacuees share that Wi-Fi.  Over plain HTTP anyone on it could read a lead's roster as it crosses the
air, protected (DV) people included, and take a staff password or log-in cookie.  So tablets reach the
kiosk by HTTPS on their own port (`evac kiosk serve --tablet-port`), while the kiosk's own screen stays
on plain HTTP on the machine itself.

The certificate is the city's when it gives one (--tls-cert/--tls-key).  Otherwise the kiosk makes its
own once and keeps it beside its database, so a tablet that accepted it is not asked again after a
restart; staff compare the fingerprint the kiosk prints at its start with the one the tablet's browser
shows, once.  The private key file is readable by its owner only.
"""
from __future__ import annotations

import datetime as dt
import ipaddress
import os
import re
import socket
import ssl
import threading
from dataclasses import dataclass
from pathlib import Path

from cheroot import errors, wsgi
from cheroot.ssl.builtin import BuiltinSSLAdapter
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from .store import KioskError

# Browsers refuse certificates valid for longer than 825 days even when a person accepts them (Apple's
# rule); a kiosk in service that long makes a new one at a start after expiry.
VALID_DAYS = 825
RENEW_BEFORE = dt.timedelta(days=30)


@dataclass(frozen=True)
class TabletCertificate:
    cert: Path
    key: Path
    fingerprint: str     # SHA-256 of the certificate, as browsers show it (AB:CD:…)
    made_here: bool      # the kiosk made it (a tablet's browser warns once; compare the fingerprint)


def own_paths(db_path: str) -> tuple[Path, Path]:
    return Path(db_path + ".tablet-cert.pem"), Path(db_path + ".tablet-key.pem")


def tablet_certificate(db_path: str, cert: str | None = None, key: str | None = None,
                       names: tuple[str, ...] = ()) -> TabletCertificate:
    """The certificate tablets are served with: the city's (checked to load), or the kiosk's own
    (made when absent or about to expire).  `names`: host names or addresses tablets use."""
    if bool(cert) != bool(key):
        raise KioskError("--tls-cert and --tls-key go together: the city's certificate and its private key "
                         "(or leave both out and the kiosk makes its own)")
    if cert:
        cert_path, key_path = Path(cert), Path(key)
        _check_loads(cert_path, key_path)
        return TabletCertificate(cert_path, key_path, fingerprint(cert_path), made_here=False)
    cert_path, key_path = own_paths(db_path)
    if not (cert_path.exists() and key_path.exists() and _still_good(cert_path)):
        _make(cert_path, key_path, names)
    _check_loads(cert_path, key_path)
    return TabletCertificate(cert_path, key_path, fingerprint(cert_path), made_here=True)


def fingerprint(cert_path: Path) -> str:
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    return ":".join(f"{b:02X}" for b in cert.fingerprint(hashes.SHA256()))


def _check_loads(cert_path: Path, key_path: Path) -> None:
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(cert_path, key_path)
    except FileNotFoundError as exc:
        raise KioskError(f"no such file: {exc.filename} (check --tls-cert and --tls-key)") from None
    except PermissionError as exc:
        raise KioskError(f"cannot read {exc.filename}: this user may not (check its owner and mode)") from None
    except (ssl.SSLError, ValueError, OSError):
        raise KioskError(f"{cert_path} and {key_path} are not a PEM certificate and its private key "
                         "(or the key is not this certificate's, or needs a password)") from None


def _still_good(cert_path: Path) -> bool:
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    except ValueError:
        return False
    return cert.not_valid_after_utc - RENEW_BEFORE > dt.datetime.now(dt.timezone.utc)


def _make(cert_path: Path, key_path: Path, names: tuple[str, ...]) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    host = socket.gethostname()
    alt: list[x509.GeneralName] = []
    for name in dict.fromkeys((*names, host, "localhost", "127.0.0.1")):
        try:
            address = ipaddress.ip_address(name)
        except ValueError:
            alt.append(x509.DNSName(name))
        else:
            if not address.is_unspecified:   # 0.0.0.0 names no host
                alt.append(x509.IPAddress(address))
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"evac kiosk {host}"[:64])])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=VALID_DAYS))
            .add_extension(x509.SubjectAlternativeName(alt), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    # The key first, created readable by its owner only; each file whole or not at all (a power cut).
    _write_atomically(key_path, key_pem, 0o600)
    _write_atomically(cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)


def _write_atomically(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_name(path.name + ".tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise KioskError(f"cannot write the tablets' certificate at {path}: {exc.strerror or exc}") from None


# --- serving ------------------------------------------------------------------------------------------

_REQUEST_LINE_RE = re.compile(rb"(GET|HEAD) (/[\x21-\x7e]*) HTTP/1\.[01]\r\n")
_HOST_RE = re.compile(rb"\r\nhost: *([A-Za-z0-9.\-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]+)? *\r\n", re.IGNORECASE)
_PLAIN_HTTP = "plain HTTP on the tablets' HTTPS port"
HANDSHAKE_SECONDS = 5


class _TabletAdapter(BuiltinSSLAdapter):
    """cheroot's TLS, and an answer to a browser that came by plain HTTP (someone typed http://): sent
    on to the same page by HTTPS, where cheroot alone would drop the connection."""

    port = 0

    def wrap(self, sock):
        # cheroot greets each connection in its one accepting thread: a connection that says nothing
        # holds every other tablet up for this long (cheroot then sets its own timeout again).
        sock.settimeout(HANDSHAKE_SECONDS)
        try:
            first = sock.recv(1, socket.MSG_PEEK)
        except OSError as exc:
            raise errors.FatalSSLAlert(*exc.args) from None
        if first and first != b"\x16":   # not a TLS handshake
            _send_to_https(sock, self.port)
            raise errors.FatalSSLAlert(_PLAIN_HTTP)
        return super().wrap(sock)


def _send_to_https(sock, port: int) -> None:
    head = b""
    try:
        while b"\r\n\r\n" not in head and len(head) < 8192:
            chunk = sock.recv(8192 - len(head))
            if not chunk:
                break
            head += chunk
        line, host = _REQUEST_LINE_RE.match(head), _HOST_RE.search(head)
        text = ("このページは https:// で開いてください / open this page with https:// "
                f"(https://KIOSK:{port}/staff/)\n")
        if line and host:
            target = f"https://{host.group(1).decode()}:{port}{line.group(2).decode()}"
            status, text = "301 Moved Permanently", f"{text}{target}\n"
            extra = f"Location: {target}\r\n"
        else:
            status, extra = "400 Bad Request", ""
        body = text.encode()
        sock.sendall(f"HTTP/1.1 {status}\r\n{extra}Content-Type: text/plain; charset=utf-8\r\n"
                     f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body)
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def tablet_server(app, host: str, port: int, certificate: TabletCertificate) -> wsgi.Server:
    """The tablets' HTTPS listener, serving `app` in a thread of its own beside the screen's HTTP one
    (waitress speaks no TLS).  Raises OSError when it cannot listen."""
    server = wsgi.Server((host, port), app, numthreads=16, server_name="evac-kiosk")
    adapter = _TabletAdapter(str(certificate.cert), str(certificate.key))
    adapter.port = port
    server.ssl_adapter = adapter
    said = server.error_log

    def error_log(msg="", *args, **kwargs):
        if _PLAIN_HTTP not in msg:   # answered above: not an error of the kiosk's
            said(msg, *args, **kwargs)
    server.error_log = error_log
    try:
        server.prepare()
    except OSError as exc:
        # cheroot says the system's error in its own words only: the number back, for words of ours.
        number = exc.errno or int((re.search(r"\[Errno (\d+)\]", str(exc)) or [0, 0])[1])
        raise OSError(number or None, os.strerror(number) if number else str(exc)) from None
    threading.Thread(target=server.serve, name="tablet-https", daemon=True).start()
    return server
