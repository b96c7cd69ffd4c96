"""The kiosk command line's last English-only refusals, said as its others are (tests/refusal_words.py): one
line, Japanese first and then English, naming the option to correct.  Staff accounts (add-staff,
disable-staff, enable-staff, set-password: kiosk.staff_store's refusals), withdraw's refusals from the store,
and serve when it cannot listen or its TLS options are wrong.  The real `evac` command on real SQLite files."""
from __future__ import annotations

import socket
import subprocess

import pytest

from kiosk import staff_store
from kiosk.store import KioskStore
from tests.conftest import free_port, run_evac
from tests.refusal_words import kiosk, last_seq, said  # noqa: F401  (kiosk: the fixture)

NUMBER = "987654321093"   # a valid Individual Number check digit (not anyone's)


def staff(db, command: str, name: str, password: str | None = "long enough pw"):
    role = ("--role", "staff") if command == "add-staff" else ()
    return run_evac("kiosk", command, "--db", str(db), "--name", name, *role,
                    input=None if password is None else password + "\n")


def accounts(db) -> list[tuple]:
    store = KioskStore(db)
    try:
        return [(a.name, a.role) for a in staff_store.accounts(store)]
    finally:
        store.close()


def rows(db) -> list[tuple]:
    store = KioskStore(db)
    try:
        return store.db.execute("SELECT * FROM staff_accounts ORDER BY id").fetchall()
    finally:
        store.close()


@pytest.fixture
def with_sato(kiosk):
    assert staff(kiosk, "add-staff", "sato").returncode == 0
    return kiosk


# -- staff accounts -------------------------------------------------------------------------------

def test_add_staff_with_a_short_password(with_sato, tmp_path):
    ja, _ = said(staff(with_sato, "add-staff", "tanaka", "short"), "at least 8 characters", option="stdin")
    assert "パスワード" in ja and accounts(with_sato) == [("sato", "staff")]
    new = tmp_path / "new.sqlite3"
    said(staff(new, "add-staff", "tanaka", "short"), "at least 8 characters", option="stdin")
    assert not new.exists()


def test_add_staff_with_a_blank_name(with_sato):
    ja, _ = said(staff(with_sato, "add-staff", "  "), "1 to 60 characters", option="--name")
    assert "60" in ja and accounts(with_sato) == [("sato", "staff")]


def test_add_staff_with_an_individual_number_for_a_name(with_sato):
    done = staff(with_sato, "add-staff", f"sato {NUMBER}")
    ja, _ = said(done, "Individual Number", option="--name", typed=("マイナンバー",))
    assert "マイナンバー" in ja and NUMBER not in done.stderr and accounts(with_sato) == [("sato", "staff")]


def test_add_staff_with_a_name_taken(with_sato):
    ja, _ = said(staff(with_sato, "add-staff", "sato"), "already a staff account named 'sato'", option="--name")
    assert "sato" in ja and accounts(with_sato) == [("sato", "staff")]


@pytest.mark.parametrize("command", ["disable-staff", "enable-staff", "set-password"])
def test_no_such_staff_account(with_sato, command):
    before = rows(with_sato)
    ja, _ = said(staff(with_sato, command, "satou"), "no staff account named 'satou'", "its accounts: sato",
                 option="--name")
    assert "satou" in ja and "sato" in ja.replace("satou", "")
    assert rows(with_sato) == before


def test_no_staff_account_yet(kiosk):
    ja, _ = said(staff(kiosk, "disable-staff", "sato"), "no staff account named 'sato'", "it has none yet",
                 option="--name")
    assert "sato" in ja


def test_set_password_too_short(with_sato):
    before = rows(with_sato)
    ja, _ = said(staff(with_sato, "set-password", "sato", "short"), "at least 8 characters", option="stdin")
    assert "パスワード" in ja
    assert rows(with_sato) == before


# -- withdraw: the store's refusals ------------------------------------------------------------

def refusal_noted(db, seq: int) -> None:
    store = KioskStore(db)
    try:
        store.note_refusal(seq, "unknown shelter id")
    finally:
        store.close()


def test_withdraw_a_record_hq_does_not_refuse(kiosk):
    run_evac("kiosk", "checkin", "--db", str(kiosk), "--shelter", "H031", "--name", "焼津 花子", "--birth",
             "1990-01-01", "--sex", "female")
    refusal_noted(kiosk, 1)
    ja, _ = said(run_evac("kiosk", "withdraw", "--db", str(kiosk), "--seq", "2", "--reason", "typo"),
                 "record 2 is not the one HQ refuses", option="--seq")
    assert "2" in ja and last_seq(kiosk) == 2


@pytest.mark.parametrize("reason, english, japanese", [
    (f"焼津市 {NUMBER}", "Individual Number", "マイナンバー"),
    ("x" * 301, "is too long (301 characters, at most 300)", "長すぎます"),
    ("typo\x07", "control characters", "制御文字"),
    ("   ", "is missing", "空です"),
])
def test_withdraw_for_a_reason_that_cannot_be_sent(kiosk, reason, english, japanese):
    refusal_noted(kiosk, 1)
    done = run_evac("kiosk", "withdraw", "--db", str(kiosk), "--seq", "1", "--reason", reason)
    ja, _ = said(done, "reason for the withdrawal", english, option="--reason", typed=("マイナンバー", "番号法"))
    assert japanese in ja and "取り下げの理由" in ja and NUMBER not in done.stderr
    assert "用紙" not in ja   # a withdrawal's reason is written here, not copied from a paper form
    store = KioskStore(kiosk)
    try:
        assert store.refusal() is not None and store.withdrawn() == []
    finally:
        store.close()


# -- serve: listening and the tablets' TLS options --------------------------------------------------

def serving(db, *more: str) -> subprocess.CompletedProcess:
    """`evac kiosk serve`'s refusal, without the tests' cheap password hashing warning it starts with."""
    done = run_evac("kiosk", "serve", "--db", str(db), "--shelter", "H031", *more, timeout=60)
    done.stderr = "".join(line for line in done.stderr.splitlines(keepends=True)
                          if not line.startswith("evac: EVAC_TEST_CHEAP_PASSWORD_HASH=1 is set"))
    return done


@pytest.fixture
def busy_port():
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        yield taken.getsockname()[1]


def test_serve_on_a_port_in_use(kiosk, busy_port):
    ja, _ = said(serving(kiosk, "--port", str(busy_port)), f"port {busy_port} on 127.0.0.1 is in use", option="--port",
                 saved_nothing=False, status=1)
    assert str(busy_port) in ja


def test_serve_the_tablets_on_a_port_in_use(kiosk, busy_port):
    said(serving(kiosk, "--port", str(free_port()), "--tablet-port", str(busy_port)), f"port {busy_port}",
         option="--tablet-port", saved_nothing=False, status=1)


def test_serve_on_an_address_not_of_this_machine(kiosk):
    said(serving(kiosk, "--port", str(free_port()), "--host", "192.0.2.77"), "cannot listen on 192.0.2.77",
         option="--host", saved_nothing=False, status=1)


def test_serve_the_tablets_on_the_screens_port(kiosk):
    port = str(free_port())
    said(serving(kiosk, "--port", port, "--tablet-port", port), f"--tablet-port {port} is also --port",
         option="--tablet-port", saved_nothing=False)


def test_serve_with_a_certificate_but_no_tablet_port(kiosk, tmp_path):
    said(serving(kiosk, "--port", str(free_port()), "--tls-cert", str(tmp_path / "c.pem"), "--tls-key",
                 str(tmp_path / "k.pem")), "give --tablet-port too", option="--tablet-port", saved_nothing=False)


def test_serve_with_a_certificate_without_its_key(kiosk, tmp_path):
    said(serving(kiosk, "--port", str(free_port()), "--tablet-port", str(free_port()), "--tls-cert",
                 str(tmp_path / "c.pem")), "--tls-cert and --tls-key go together", option="--tls-key",
         saved_nothing=False)


def test_serve_with_no_such_certificate(kiosk, tmp_path):
    key = tmp_path / "k.pem"
    key.write_text("not a key\n")
    said(serving(kiosk, "--port", str(free_port()), "--tablet-port", str(free_port()), "--tls-cert",
                 str(tmp_path / "c.pem"), "--tls-key", str(key)), "no such file", option="--tls-cert",
         saved_nothing=False)


def test_serve_with_a_certificate_folder(kiosk, tmp_path):
    key = tmp_path / "k.pem"
    key.write_text("not a key\n")
    said(serving(kiosk, "--port", str(free_port()), "--tablet-port", str(free_port()), "--tls-cert",
                 str(tmp_path), "--tls-key", str(key)), "is a folder", option="--tls-cert", saved_nothing=False)


def test_serve_with_files_that_are_no_certificate(kiosk, tmp_path):
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    cert.write_text("not a certificate\n")
    key.write_text("not a key\n")
    said(serving(kiosk, "--port", str(free_port()), "--tablet-port", str(free_port()), "--tls-cert", str(cert),
                 "--tls-key", str(key)), "are not a PEM certificate and its private key", option="--tls-cert",
         saved_nothing=False)
