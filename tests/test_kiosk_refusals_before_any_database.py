"""`evac kiosk serve` and `add-staff` refuse their options before they make a kiosk database, so that
none is ever made for a refused command, and none is taken back: another command (`evac kiosk checkin`
into the same new --db) may be writing to it.  Shown with a --db whose folder is not there: a command
that made its database first would be refused for the folder, not for what was wrong in its options."""
from __future__ import annotations

import os
import subprocess

import pytest

from tests.conftest import ROOT, evac_cmd, free_port, run_evac
from tests.test_kiosk_cli_staff_serve_refusal_words import serving
from tests.test_kiosk_serve_refusals_leave_no_file import refusals

SAID_FOR = {"tablet port is the screen's": "--tablet-port", "certificate without a tablet port": "--tablet-port",
            "certificate without its key": "--tls-key", "files that are no certificate": "証明書"}


@pytest.mark.parametrize("case", sorted(SAID_FOR))
def test_serve_refuses_its_options_before_it_opens_the_database(tmp_path, case):
    db = tmp_path / "not-there" / "kiosk.sqlite3"
    done = serving(db, *refusals(tmp_path)[case])
    assert done.returncode == 2, done.stderr
    assert SAID_FOR[case] in done.stderr and "not-there" not in done.stderr, done.stderr
    assert not db.parent.exists()


def test_serve_refuses_an_unknown_shelter_before_it_makes_a_database(tmp_path):
    db = tmp_path / "not-there" / "kiosk.sqlite3"
    done = run_evac("kiosk", "serve", "--db", str(db), "--shelter", "H999", "--port", str(free_port()))
    assert done.returncode == 2 and "'H999'" in done.stderr and "not-there" not in done.stderr, done.stderr


def test_serve_refuses_a_sync_setting_before_it_makes_a_database(tmp_path):
    db = tmp_path / "kiosk.sqlite3"
    done = subprocess.run(evac_cmd("kiosk", "serve", "--db", str(db), "--shelter", "H031", "--port",
                                   str(free_port())), env={**os.environ, "KIOSK_SYNC_MAX_BACKOFF": "soon"},
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "KIOSK_SYNC_MAX_BACKOFF" in done.stderr, done.stderr
    assert not db.exists()


@pytest.mark.parametrize(("name", "role", "password", "said"), [
    ("", "staff", "a long enough password 1", "職員名"),
    ("佐藤", "staff", "short", "パスワード"),
])
def test_add_staff_refuses_the_account_before_it_opens_the_database(tmp_path, name, role, password, said):
    db = tmp_path / "not-there" / "kiosk.sqlite3"
    done = run_evac("kiosk", "add-staff", "--db", str(db), "--name", name, "--role", role, input=password + "\n")
    assert done.returncode == 2 and said in done.stderr and "not-there" not in done.stderr, done.stderr
    assert "何も保存していません" in done.stderr and not db.parent.exists()
