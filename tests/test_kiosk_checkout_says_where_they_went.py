"""`evac kiosk checkout` (and `transfer`) of someone this kiosk checked out already, or sent on to another
shelter, says so, with where they went, rather than "not checked in: check --name, --birth and --address",
which sent staff typing paper forms hunting for a typo that was not there.  The real `evac` on real SQLite."""
from __future__ import annotations

from tests.conftest import run_evac
from tests.test_kiosk_cli_refusals_leave_no_file import FORM, checkin

WHO = ["--name", FORM["--name"], "--birth", FORM["--birth"]]


def test_checking_out_someone_already_checked_out_says_so(tmp_path):
    db = tmp_path / "kiosk.sqlite3"
    assert checkin(db).returncode == 0
    assert run_evac("kiosk", "checkout", "--db", str(db), *WHO).returncode == 0
    again = run_evac("kiosk", "checkout", "--db", str(db), *WHO)
    assert again.returncode == 2 and "Traceback" not in again.stderr, again.stderr
    ja = "焼津 花子（1990-01-01）は H031 からすでにチェックアウトしています。何も保存していません"
    en = "焼津 花子 (1990-01-01) has already checked out from H031; nothing was saved"
    assert ja in again.stderr and en in again.stderr and again.stderr.index(ja) < again.stderr.index(en), again.stderr
    assert "check --name" not in again.stderr, again.stderr


def test_checking_out_someone_sent_on_says_where_to(tmp_path):
    db = tmp_path / "kiosk.sqlite3"
    assert checkin(db).returncode == 0
    assert run_evac("kiosk", "transfer", "--db", str(db), *WHO, "--to", "H032").returncode == 0
    for command in (["checkout"], ["transfer", "--to", "H033"]):
        again = run_evac("kiosk", *command, "--db", str(db), *WHO)
        assert again.returncode == 2, again.stderr
        ja = "焼津 花子（1990-01-01）は H032 へ移動の途中です（移動先でチェックインされます）。何も保存していません"
        en = "焼津 花子 (1990-01-01) was sent on to H032 (they are checked in on arrival there); nothing was saved"
        assert ja in again.stderr and en in again.stderr, again.stderr


def test_someone_never_seen_here_is_still_told_to_check_the_form(tmp_path):
    db = tmp_path / "kiosk.sqlite3"
    assert checkin(db).returncode == 0
    other = run_evac("kiosk", "checkout", "--db", str(db), "--name", "焼津 次郎", "--birth", "1990-01-01")
    assert other.returncode == 2 and "--address" in other.stderr, other.stderr


def test_checking_out_someone_hq_saw_arrive_at_another_shelter_says_so(hq_server, tmp_path):
    hq = hq_server()
    kiosks = {}
    for shelter in ("H031", "H032"):
        token = run_evac("hq", "enroll-kiosk", "--db", hq.db_url, "--shelter", shelter).stdout.strip()
        kiosks[shelter] = (tmp_path / f"{shelter}.sqlite3", token)
    for shelter in ("H031", "H032", "H031"):   # here, then there; then this kiosk hears of it
        db, token = kiosks[shelter]
        if not db.exists():
            assert checkin(db, **{"--shelter": shelter}).returncode == 0
        synced = run_evac("kiosk", "sync", "--db", str(db), "--hq", hq.url, "--token", token)
        assert synced.returncode == 0, synced.stderr
    here = run_evac("kiosk", "checkout", "--db", str(kiosks["H031"][0]), *WHO)
    assert here.returncode == 2, here.stderr
    assert ("焼津 花子（1990-01-01）は、この受付機でチェックインしたあと、本部によると別の避難所で記録されています。"
            "何も保存していません") in here.stderr, here.stderr
    assert "焼津 花子 (1990-01-01) was recorded at another shelter since, HQ says; nothing was saved" in here.stderr
