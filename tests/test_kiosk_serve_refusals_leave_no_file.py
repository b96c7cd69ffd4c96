"""`evac kiosk serve` refused for its options (the tablets' port or TLS files, a setting) leaves no kiosk
database behind on a new --db, and an empty file empty, as a mistyped --shelter does: a typo must not
become a stray kiosk database that a second try then starts on as if it were meant."""
from __future__ import annotations

import os

import pytest

from tests.conftest import free_port, run_evac
from tests.test_kiosk_cli_staff_serve_refusal_words import serving


def refusals(tmp_path) -> dict[str, tuple[str, ...]]:
    port = str(free_port())
    key = tmp_path / "k.pem"
    key.write_text("not a key\n")
    cert = tmp_path / "c.pem"
    cert.write_text("not a certificate\n")
    return {"tablet port is the screen's": ("--port", port, "--tablet-port", port),
            "certificate without a tablet port": ("--port", port, "--tls-cert", str(cert), "--tls-key", str(key)),
            "certificate without its key": ("--port", port, "--tablet-port", str(free_port()), "--tls-cert",
                                            str(cert)),
            "files that are no certificate": ("--port", port, "--tablet-port", str(free_port()), "--tls-cert",
                                              str(cert), "--tls-key", str(key))}


@pytest.mark.parametrize("case", ["tablet port is the screen's", "certificate without a tablet port",
                                  "certificate without its key", "files that are no certificate"])
@pytest.mark.parametrize("start", ["no file", "an empty file"])
def test_a_refused_serve_leaves_no_kiosk_database(tmp_path, case, start):
    db = tmp_path / "kiosk.sqlite3"
    if start == "an empty file":
        db.touch()
    done = serving(db, *refusals(tmp_path)[case])
    assert done.returncode == 2 and done.stderr.startswith("evac: ") and " / " in done.stderr, done.stderr
    if start == "no file":
        assert not db.exists()
    else:
        assert db.exists() and db.stat().st_size == 0
    assert not any(os.path.exists(f"{db}{suffix}") for suffix in ("-wal", "-shm"))


def test_a_refused_serve_leaves_a_kiosk_database_that_was_there_as_it_was(tmp_path):
    db = tmp_path / "kiosk.sqlite3"
    port = str(free_port())
    first = serving(db, "--port", port, "--tablet-port", port)   # (made, then taken back)
    assert first.returncode == 2 and not db.exists()
    assert run_evac("kiosk", "checkin", "--db", str(db), "--shelter", "H031", "--name", "焼津 花子", "--birth",
                    "1990-01-01", "--sex", "female").returncode == 0
    before = db.read_bytes()
    again = serving(db, "--port", port, "--tablet-port", port)
    assert again.returncode == 2 and db.read_bytes() == before


def test_a_refused_serve_leaves_an_empty_file_with_the_permissions_it_had(tmp_path):
    db = tmp_path / "kiosk.sqlite3"
    db.touch()
    os.chmod(db, 0o640)
    port = str(free_port())
    assert serving(db, "--port", port, "--tablet-port", port).returncode == 2
    assert db.stat().st_size == 0 and (db.stat().st_mode & 0o777) == 0o640
