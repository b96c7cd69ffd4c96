"""Kiosk and HQ as separate processes talking real HTTP on loopback."""
from __future__ import annotations

import json
import sqlite3
import time
import urllib.request

import pytest

from kiosk.store import KioskStore
from tests.conftest import Server, evac_cmd, free_port, run_evac


def sqlite_copy(src, dst) -> None:
    with sqlite3.connect(src) as a, sqlite3.connect(dst) as b:
        a.backup(b)


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.loads(resp.read())


def occupancy(hq_url: str) -> dict:
    return {f["properties"]["id"]: f["properties"]["occupancy"]
            for f in get_json(f"{hq_url}/api/v1/shelters")["features"] if f["properties"]["occupancy"]}


def checkin(db, name, birth="1970-01-01", shelter="H001", address="焼津市本町1-1"):
    result = run_evac("kiosk", "checkin", "--new", "--db", str(db), "--shelter", shelter, "--name", name,
                      "--birth", birth, "--sex", "female", "--address", address)
    assert result.returncode == 0, result.stderr
    return result


def enroll_by_command(db_url: str, shelter: str) -> str:
    result = run_evac("hq", "enroll-kiosk", "--db", db_url, "--shelter", shelter)
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip()
    assert token.count(".") == 1 and len(token) > 30
    return token


def enroll(db_url: str, shelter: str) -> str:
    """A kiosk enrolled in HQ's database (already made by HQ's start) as `evac hq enroll-kiosk` does, from this
    process: a process cost each of these tests ~0.7 s of CPU.  The command itself: enroll_by_command, here
    and in test_cli_errors."""
    from hq_dashboard import create_app
    from hq_dashboard.db import db
    from hq_dashboard.enrollment import enroll_kiosk
    # (the secret key: enrolling uses none, and it keeps create_app from making one beside the database)
    app = create_app({"SQLALCHEMY_DATABASE_URI": db_url, "SECRET_KEY": "not used by enrollment"})
    with app.app_context():
        try:
            token = enroll_kiosk(db.session, shelter)
        finally:
            db.session.remove()
            db.engine.dispose()
    assert token.count(".") == 1 and len(token) > 30
    return token


def test_scripted_checkins_sync_to_hq(hq_db_url, hq_server, tmp_path):
    hq = hq_server(hq_db_url)
    token = enroll_by_command(hq.db_url, "H001")
    kiosk_db = tmp_path / "kiosk.sqlite3"
    assert "checked in" in checkin(kiosk_db, "焼津 一").stdout
    checkin(kiosk_db, "焼津 二")
    checkin(kiosk_db, "焼津 三")
    out = run_evac("kiosk", "checkout", "--db", str(kiosk_db), "--name", "焼津二", "--birth", "1970-01-01",
                   "--address", "焼津市本町１－１")
    assert out.returncode == 0, out.stderr
    result = run_evac("kiosk", "sync", "--db", str(kiosk_db), "--hq", hq.url, "--token", token)
    assert result.returncode == 0, result.stderr
    assert occupancy(hq.url) == {"H001": 2}
    assert KioskStore(kiosk_db).pending() == 0


def test_sync_with_hq_unreachable_fails_clearly_and_keeps_the_queue(hq_server, tmp_path):
    kiosk_db = tmp_path / "kiosk.sqlite3"
    checkin(kiosk_db, "待機 一")
    dead = f"http://127.0.0.1:{free_port()}"
    result = run_evac("kiosk", "sync", "--db", str(kiosk_db), "--hq", dead, "--token", "K0000000A." + "x" * 43)
    assert result.returncode != 0
    assert "HQ cannot be reached" in result.stderr and "1 event(s) stay queued" in result.stderr
    assert KioskStore(kiosk_db).pending() == 1
    hq = hq_server()
    token = enroll(hq.db_url, "H001")
    assert run_evac("kiosk", "sync", "--db", str(kiosk_db), "--hq", hq.url, "--token", token).returncode == 0
    assert occupancy(hq.url) == {"H001": 1}


def test_sync_with_a_wrong_token_fails_with_hqs_reason(hq_server, tmp_path):
    hq = hq_server()
    kiosk_id = enroll(hq.db_url, "H001").split(".")[0]
    kiosk_db = tmp_path / "kiosk.sqlite3"
    checkin(kiosk_db, "誤 鍵")
    result = run_evac("kiosk", "sync", "--db", str(kiosk_db), "--hq", hq.url, "--token", f"{kiosk_id}." + "w" * 43)
    assert result.returncode != 0 and "wrong" in result.stderr and "stay queued" in result.stderr


def test_a_kiosk_given_a_new_token_syncs_on_and_the_old_token_is_refused(hq_server, tmp_path):
    """A token lost, or on a lost USB stick in a carried file: HQ gives the same kiosk a new one; its
    database, its stream and what HQ holds stay as they are (no second copy of its records)."""
    hq = hq_server()
    old = enroll(hq.db_url, "H001")
    kiosk_db = tmp_path / "kiosk.sqlite3"
    checkin(kiosk_db, "鍵 一")
    sync = ("kiosk", "sync", "--db", str(kiosk_db), "--hq", hq.url, "--token")
    assert run_evac(*sync, old).returncode == 0
    rekeyed = run_evac("hq", "rekey-kiosk", "--db", hq.db_url, old.split(".")[0])
    assert rekeyed.returncode == 0, rekeyed.stderr
    new = rekeyed.stdout.strip()
    assert new.split(".")[0] == old.split(".")[0] and new != old and "old token no longer works" in rekeyed.stderr
    checkin(kiosk_db, "鍵 二")
    refused = run_evac(*sync, old)
    assert refused.returncode != 0 and "wrong" in refused.stderr and "stay queued" in refused.stderr
    assert run_evac(*sync, new).returncode == 0
    assert occupancy(hq.url) == {"H001": 2}
    with sqlite3.connect(hq.db_url.removeprefix("sqlite:///")) as conn:
        assert conn.execute("SELECT count(*), count(DISTINCT device_id) FROM events").fetchone() == (2, 1)
    unknown = run_evac("hq", "rekey-kiosk", "--db", hq.db_url, "KNOPE")
    assert unknown.returncode == 2 and "no kiosk 'KNOPE' is enrolled at HQ" in unknown.stderr
    assert "Traceback" not in unknown.stderr


def test_kiosk_app_syncs_in_the_background_within_seconds(hq_server, tmp_path):
    hq = hq_server()
    token = enroll(hq.db_url, "H002")
    port = free_port()
    kiosk = Server(evac_cmd("kiosk", "serve", "--db", str(tmp_path / "k.sqlite3"), "--shelter", "H002",
                            "--hq", hq.url, "--token", token, "--port", str(port)),
                   f"http://127.0.0.1:{port}", tmp_path / "kiosk.log", "/api/status")
    try:
        body = json.dumps({"persons": [
            {"name": "家族 父", "birth_date": "1980-01-01", "sex": "male", "address": "焼津市小川1"},
            {"name": "家族 子", "birth_date": "2020-01-01", "sex": "female", "address": "焼津市小川1"}]}).encode()
        req = urllib.request.Request(f"{kiosk.url}/api/checkin", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            assert resp.status == 201 and json.loads(resp.read())["status"] == "confirmed"
        deadline = time.monotonic() + 20
        while occupancy(hq.url) != {"H002": 2}:
            assert time.monotonic() < deadline, "HQ did not see the household within 20 s"
            time.sleep(0.2)
        # HQ holds them a moment before the kiosk has read HQ's answer, which makes it "reachable".
        while (status := get_json(f"{kiosk.url}/api/status"))["hq_reachable"] is not True:
            assert time.monotonic() < deadline, f"the kiosk did not hear HQ's answer: {status}"
            time.sleep(0.1)
        assert status["checked_in"] == 2 and status["sync_configured"] is True
    finally:
        kiosk.stop()


def test_kiosk_resends_when_hq_was_restored_from_an_older_backup(hq_server, tmp_path):
    hq_file = tmp_path / "hq-restore.sqlite3"
    hq = hq_server(f"sqlite:///{hq_file}")
    token = enroll(hq.db_url, "H001")
    kiosk_db = tmp_path / "kiosk.sqlite3"
    checkin(kiosk_db, "前 一")
    assert run_evac("kiosk", "sync", "--db", str(kiosk_db), "--hq", hq.url, "--token", token).returncode == 0
    backup = tmp_path / "backup.sqlite3"
    sqlite_copy(hq_file, backup)  # an online backup, as an operator would take one
    checkin(kiosk_db, "後 二")
    checkin(kiosk_db, "後 三")
    assert run_evac("kiosk", "sync", "--db", str(kiosk_db), "--hq", hq.url, "--token", token).returncode == 0
    hq.stop()
    sqlite_copy(backup, hq_file)  # HQ's disk died; it is restored from the older backup
    hq = hq_server(f"sqlite:///{hq_file}")
    assert occupancy(hq.url) == {"H001": 1}
    result = run_evac("kiosk", "sync", "--db", str(kiosk_db), "--hq", hq.url, "--token", token)
    assert result.returncode == 0, result.stderr
    assert occupancy(hq.url) == {"H001": 3}


@pytest.mark.parametrize("args, message", [
    (["--sex", "female", "--birth", "1990-02-31"], "there is no such day"),
    (["--sex", "female", "--birth", "1990-02"], "not a date"),
    (["--sex", "female", "--birth", "1990-01-01", "--shelter", "H999"], "unknown shelter"),
    (["--sex", "female", "--birth", "1990-01-01", "--name", "  "], "--name is empty"),
])
def test_scripted_checkin_rejects_bad_input_and_writes_nothing(tmp_path, args, message):
    base = {"--db": str(tmp_path / "k.sqlite3"), "--shelter": "H001", "--name": "山田 花子", "--address": ""}
    for flag, value in zip(args[::2], args[1::2]):
        base[flag] = value
    result = run_evac("kiosk", "checkin", "--new", *[x for kv in base.items() for x in kv])
    assert result.returncode == 2 and message in result.stderr
    assert KioskStore(tmp_path / "k.sqlite3").last_seq == 0


def test_enrolling_at_an_unknown_shelter_is_refused(hq_initialised_sqlite, tmp_path):
    hq_initialised_sqlite(tmp_path / "hq.sqlite3")
    result = run_evac("hq", "enroll-kiosk", "--db", str(tmp_path / "hq.sqlite3"), "--shelter", "NOPE")
    assert result.returncode == 2 and "no shelter with id 'NOPE'" in result.stderr


def test_a_retired_kiosk_leaves_the_dashboard_its_token_stops_and_what_it_sent_stays(hq_server, tmp_path):
    """A kiosk whose database was replaced (new-device, enrolled again) stayed on the dashboard for good,
    silent and refused, among the kiosks staff must watch."""
    hq = hq_server()
    old = enroll(hq.db_url, "H001")
    kiosk_db = tmp_path / "kiosk.sqlite3"
    checkin(kiosk_db, "退役 一")
    sync = ("kiosk", "sync", "--db", str(kiosk_db), "--hq", hq.url, "--token")
    assert run_evac(*sync, old).returncode == 0
    kiosk_id = old.split(".")[0]
    assert kiosk_id in dashboard_kiosks(hq)
    retired = run_evac("hq", "retire-kiosk", "--db", hq.db_url, kiosk_id)
    assert retired.returncode == 0 and f"kiosk {kiosk_id} (at H001) is retired" in retired.stdout, retired.stderr
    assert kiosk_id not in dashboard_kiosks(hq)
    checkin(kiosk_db, "退役 二")
    refused = run_evac(*sync, old)
    assert refused.returncode != 0 and f"HQ retired kiosk {kiosk_id}" in refused.stderr, refused.stderr
    assert "enroll this kiosk again" in refused.stderr and "stay queued" in refused.stderr
    assert occupancy(hq.url) == {"H001": 1}                    # what it sent stays
    again = run_evac("hq", "rekey-kiosk", "--db", hq.db_url, kiosk_id)
    assert again.returncode == 2 and "was retired" in again.stderr
    unknown = run_evac("hq", "retire-kiosk", "--db", hq.db_url, "KNOPE")
    assert unknown.returncode == 2 and "no kiosk 'KNOPE' is enrolled at HQ" in unknown.stderr
    # Found again and enrolled again, as the refusal says (review: the new token was refused "device_taken",
    # "start the kiosk with that token": the retired one): its database goes on with the new token.
    new = enroll(hq.db_url, "H001")
    resumed = run_evac(*sync, new)
    assert resumed.returncode == 0, resumed.stderr
    assert occupancy(hq.url) == {"H001": 2}                    # the one it kept: sent once
    assert run_evac(*sync, old).returncode != 0                # the retired token stays refused
    assert run_evac(*sync, new).returncode == 0 and occupancy(hq.url) == {"H001": 2}


def dashboard_kiosks(hq) -> list[str]:
    """The kiosks of the dashboard's table and alerts (and the wall's silent marks), from the server's database."""
    from hq_dashboard import create_app
    from hq_dashboard.dashboard import kiosk_rows
    from hq_dashboard.db import db
    app = create_app({"SQLALCHEMY_DATABASE_URI": hq.db_url})
    with app.app_context():
        try:
            return [row["id"] for row in kiosk_rows()]
        finally:
            db.engine.dispose()
