"""A retired kiosk is not moved (as it is not re-keyed), and a --tls-cert or --tls-key that is not there is
named, not said as "no such file: None"."""
from __future__ import annotations

import sqlite3

from kiosk.tablet_tls import tablet_certificate
from tests.conftest import free_port, run_evac
from tests.test_cli_errors import refused


def test_a_retired_kiosk_is_not_moved(hq_initialised_sqlite, tmp_path):
    hq_db = tmp_path / "hq.sqlite3"
    hq_initialised_sqlite(hq_db)
    kiosk_id = run_evac("hq", "enroll-kiosk", "--db", str(hq_db), "--shelter", "H001").stdout.strip().split(".")[0]
    assert run_evac("hq", "retire-kiosk", "--db", str(hq_db), kiosk_id).returncode == 0
    said = refused(run_evac("hq", "move-kiosk", "--db", str(hq_db), kiosk_id, "--shelter", "H002"),
                   f"kiosk {kiosk_id} was retired: enroll the kiosk again (`evac hq enroll-kiosk --shelter H002`)")
    assert "now belongs" not in said
    refused(run_evac("hq", "rekey-kiosk", "--db", str(hq_db), kiosk_id), f"kiosk {kiosk_id} was retired")
    with sqlite3.connect(hq_db) as conn:
        assert conn.execute("SELECT shelter_id FROM kiosks WHERE id = ?", (kiosk_id,)).fetchone() == ("H001",)


def test_a_tls_file_that_is_not_there_is_named(tmp_path):
    city = tmp_path / "city"
    city.mkdir()
    made = tablet_certificate(str(city / "x"), names=("kiosk-h001.yaizu.local",))
    base = ("kiosk", "serve", "--db", str(tmp_path / "k.sqlite3"), "--shelter", "H001", "--port", str(free_port()),
            "--tablet-port", str(free_port()))
    cert, key = tmp_path / "nonexist.pem", tmp_path / "nonexist.key"
    said = refused(run_evac(*base, "--tls-cert", str(cert), "--tls-key", str(key), timeout=60),
                   f"no such file: {cert} (check --tls-cert)")
    assert "None" not in said
    refused(run_evac(*base, "--tls-cert", str(made.cert), "--tls-key", str(key), timeout=60),
            f"no such file: {key} (check --tls-key)")
    refused(run_evac(*base, "--tls-cert", str(city), "--tls-key", str(made.key), timeout=60),
            f"{city} is a folder (check --tls-cert")
