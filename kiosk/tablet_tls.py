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
import socket
import ssl
from dataclasses import dataclass, replace
from pathlib import Path

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
    names: tuple[str, ...] = ()   # the host names and addresses it is for
    # What staff must hear at the start: a new certificate (tablets will warn again), or the city's
    # certificate running out or without its intermediate.
    notes: tuple[str, ...] = ()
    expires: dt.datetime | None = None   # its end: the kiosk's own is made again before it (renewed)


def own_paths(db_path: str) -> tuple[Path, Path]:
    return Path(db_path + ".tablet-cert.pem"), Path(db_path + ".tablet-key.pem")


def tablet_certificate(db_path: str, cert: str | None = None, key: str | None = None,
                       names: tuple[str, ...] = ()) -> TabletCertificate:
    """The certificate tablets are served with: the city's (checked to load), or the kiosk's own, made
    again when absent, unreadable (a power cut while it was written), about to expire, or not naming
    every one of `names` (the host names and addresses tablets use: the kiosk moved to another network)."""
    if bool(cert) != bool(key):
        raise KioskError("--tls-cert and --tls-key go together: the city's certificate and its private key "
                         "(or leave both out and the kiosk makes its own)",
                         ja="--tls-cert と --tls-key は一緒に指定してください（市の証明書とその秘密鍵）。"
                         "両方とも外せば、端末が自分の証明書を作ります")
    if cert:
        cert_path, key_path = Path(cert), Path(key)
        _check_loads(cert_path, key_path)
        chain = x509.load_pem_x509_certificates(cert_path.read_bytes())
        loaded, notes = chain[0], ()
        if len(chain) == 1 and loaded.issuer != loaded.subject:
            # A tablet trusts the city's root, but its browser may not fetch the authority between that
            # root and this certificate by itself: the file must carry it.
            notes += ((f"証明書ファイル {cert_path} には中間証明書がありません。タブレットが拒否することがあります。"
                       "このファイルに証明書とその中間証明書を順に入れてください / the city's certificate file "
                       f"{cert_path} holds no intermediate certificate (it was issued by "
                       f"{loaded.issuer.rfc4514_string()}): tablets may refuse it; put the whole chain in the file, "
                       "this certificate first, then the intermediates"),)
        served = TabletCertificate(cert_path, key_path, fingerprint(cert_path), False, _names_of(loaded), notes,
                                   loaded.not_valid_after_utc)
        running_out = citys_running_out(served)
        return replace(served, notes=notes + (running_out,)) if running_out else served
    cert_path, key_path = own_paths(db_path)
    wanted = _wanted_names(names)
    why = _why_new(cert_path, key_path, wanted)
    notes = ()
    if why:
        _make(cert_path, key_path, wanted)
        if why != "absent":
            notes = (f"タブレット用の証明書を作り直しました（{why}）。タブレットはもう一度警告を出します / this kiosk made "
                     f"a new certificate for the tablets ({why}): each tablet warns once more; compare the new "
                     "fingerprint",)
    _check_loads(cert_path, key_path)
    loaded = x509.load_pem_x509_certificate(cert_path.read_bytes())
    return TabletCertificate(cert_path, key_path, fingerprint(cert_path), True, _names_of(loaded), notes,
                             loaded.not_valid_after_utc)


def citys_running_out(served: TabletCertificate) -> str | None:
    """What staff must hear while the city's certificate is within RENEW_BEFORE of its end (or past it)."""
    if served.made_here or served.expires is None:
        return None
    left = served.expires - dt.datetime.now(dt.timezone.utc)
    if left >= RENEW_BEFORE:
        return None
    return (f"証明書 {served.cert} の期限は {served.expires:%Y-%m-%d} です。市の担当者に新しい証明書を頼み、同じ場所に"
            f"置いてください（再起動は不要です） / the city's certificate {served.cert} "
            + ("has expired" if left.total_seconds() <= 0 else "expires")
            + f" on {served.expires:%Y-%m-%d}: tablets will refuse it; ask the city for a new one and put it in its "
            "place (with its key): the kiosk serves it within the hour, without a restart")


def renewed(served: TabletCertificate) -> TabletCertificate | None:
    """What to serve from now on, when it is not `served` any more; else None.  The kiosk's own is made
    again, for the same names, when it is as near its end as a start would renew it at.  The city's is
    never touched: it is loaded again when the city put a new one in its place (its files changed).
    Raises KioskError when the new one cannot be written or loaded (the old one serves on)."""
    if not served.made_here:
        try:
            now_there = fingerprint(served.cert)
        except (OSError, ValueError):
            now_there = None   # removed, or being copied: _check_loads says what is wrong with it
        if now_there == served.fingerprint:
            return None
        # Both files are read again: a certificate copied without its key is refused by _check_loads.
        new = tablet_certificate("", str(served.cert), str(served.key))
        note = (f"市の新しい証明書に切り替えました（{new.expires:%Y-%m-%d} まで有効） / now serving the city's new "
                f"certificate from {served.cert} (valid until {new.expires:%Y-%m-%d})")
        return replace(new, notes=(note, *new.notes))
    if served.expires is None:
        return None
    if served.expires - RENEW_BEFORE > dt.datetime.now(dt.timezone.utc):
        return None
    _make(served.cert, served.key, served.names)
    _check_loads(served.cert, served.key)
    loaded = x509.load_pem_x509_certificate(served.cert.read_bytes())
    new = fingerprint(served.cert)
    note = (f"タブレット用の証明書を期限前に作り直しました（{loaded.not_valid_after_utc:%Y-%m-%d} まで有効）。"
            f"タブレットはもう一度警告を出します。新しい指紋: {new} / this kiosk made a new certificate for the "
            "tablets, the old one being about to expire: each tablet warns once more; go on only if the "
            f"certificate's SHA-256 fingerprint it shows is {new}")
    return TabletCertificate(served.cert, served.key, new, True, _names_of(loaded), (note,), loaded.not_valid_after_utc)


def fingerprint(cert_path: Path) -> str:
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    return ":".join(f"{b:02X}" for b in cert.fingerprint(hashes.SHA256()))


def _check_loads(cert_path: Path, key_path: Path) -> None:
    # Each file opened first: ssl's own FileNotFoundError names no file (it said "no such file: None").
    for path, option in ((cert_path, "--tls-cert"), (key_path, "--tls-key")):
        try:
            with open(path, "rb"):
                pass
        except FileNotFoundError:
            raise KioskError(f"no such file: {path} (check {option})",
                             ja=f"ファイル {path} がありません（{option} を確かめてください）") from None
        except IsADirectoryError:
            raise KioskError(f"{path} is a folder (check {option}: it names a PEM file)",
                             ja=f"{path} はフォルダです（{option} には PEM ファイルを指定してください）") from None
        except PermissionError:
            raise KioskError(f"cannot read {path}: this user may not (check its owner and mode, or {option})",
                             ja=f"{path} を読めません。このユーザーには読む権限がありません（所有者と権限、または {option} "
                             "を確かめてください）") from None
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(cert_path, key_path)
    except FileNotFoundError:   # removed between the two
        raise KioskError(f"no such file: {cert_path} or {key_path} (check --tls-cert and --tls-key)",
                         ja=f"ファイル {cert_path} か {key_path} がありません（--tls-cert と --tls-key を確かめてください）"
                         ) from None
    except PermissionError:
        raise KioskError(f"cannot read {cert_path} or {key_path}: this user may not (check its owner and "
                         "mode)", ja=f"{cert_path} か {key_path} を読めません。このユーザーには読む権限がありません"
                         "（所有者と権限を確かめてください）") from None
    except (ssl.SSLError, ValueError, OSError):
        raise KioskError(f"{cert_path} and {key_path} are not a PEM certificate and its private key "
                         "(or the key is not this certificate's, or needs a password): check --tls-cert and --tls-key",
                         ja=f"{cert_path} と {key_path} は PEM 形式の証明書とその秘密鍵ではありません（鍵がこの証明書の"
                         "ものでないか、パスワード付きの鍵です）。--tls-cert と --tls-key を確かめてください") from None


def _why_new(cert_path: Path, key_path: Path, wanted: tuple[str, ...]) -> str:
    """Why the kiosk's own certificate must be made again ("" when it is good)."""
    if not cert_path.exists() and not key_path.exists():
        return "absent"
    try:
        _check_loads(cert_path, key_path)
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    except (KioskError, ValueError):
        return "the old one could not be read"
    if cert.not_valid_after_utc - RENEW_BEFORE <= dt.datetime.now(dt.timezone.utc):
        return "the old one was about to expire"
    missing = set(wanted) - set(_names_of(cert))
    if missing:
        return f"it did not name {', '.join(sorted(missing))}"
    return ""


def _wanted_names(names: tuple[str, ...]) -> tuple[str, ...]:
    out = []
    for name in (*names, socket.gethostname(), "localhost", "127.0.0.1"):
        try:
            if ipaddress.ip_address(name).is_unspecified:   # 0.0.0.0 names no host
                continue
        except ValueError:
            pass
        if name and name not in out:
            out.append(name)
    return tuple(out)


def _names_of(cert: x509.Certificate) -> tuple[str, ...]:
    try:
        alt = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return ()
    return tuple([*alt.get_values_for_type(x509.DNSName), *map(str, alt.get_values_for_type(x509.IPAddress))])


def _make(cert_path: Path, key_path: Path, names: tuple[str, ...]) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    alt: list[x509.GeneralName] = []
    for name in names:
        try:
            alt.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            alt.append(x509.DNSName(name))
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"evac kiosk {socket.gethostname()}"[:64])])
    now = dt.datetime.now(dt.timezone.utc)
    # Valid from yesterday: a tablet whose clock is behind must not see a certificate "not yet valid".
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=VALID_DAYS))
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
        raise KioskError(f"cannot write the tablets' certificate at {path}: {exc.strerror or exc}",
                         ja=f"タブレット用の証明書を {path} に書けません（{exc.strerror or exc}）") from None
