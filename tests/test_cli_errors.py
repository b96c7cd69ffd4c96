"""The command line refuses mistakes with one line that says what to do: no traceback, no data lost,
no database quietly made where a typo pointed."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_evac


def refused(result, *words: str, code: int = 2) -> str:
    assert result.returncode == code, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    for word in words:
        assert word in result.stderr, result.stderr
    return result.stderr


# --- evac demo --var ------------------------------------------------------------------------

def test_demo_never_empties_a_folder_it_did_not_make(tmp_path):
    real = tmp_path / "var"
    real.mkdir()
    (real / "hq.sqlite3").write_bytes(b"a real HQ's database")
    result = run_evac("demo", "--var", str(real), "--port", "5800", "--duration", "1")
    refused(result, f"--var {real} holds files the demo did not make", "new or empty folder")
    assert (real / "hq.sqlite3").read_bytes() == b"a real HQ's database"


def test_demo_refuses_a_file_as_its_folder(tmp_path):
    file = tmp_path / "notes.txt"
    file.write_text("keep me")
    refused(run_evac("demo", "--var", str(file), "--port", "5800", "--duration", "1"), "is a file, not a folder")
    assert file.read_text() == "keep me"


def test_evac_alone_shows_what_it_can_do():
    result = run_evac()
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "kiosk" in result.stderr and "a shelter kiosk" in result.stderr and "the HQ service" in result.stderr


# --- a mistyped --db never makes a new database ------------------------------------------------

TARO = ("--name", "焼津 太郎", "--birth", "1950-01-02")
# A token of the form HQ makes (the kiosk refuses any other before it asks HQ), known to no HQ.
A_TOKEN = "K0000000A." + "x" * 43


def kiosk_db(tmp_path) -> str:
    db = tmp_path / "kiosk.sqlite3"
    done = run_evac("kiosk", "checkin", "--new", "--db", str(db), "--shelter", "H001", *TARO, "--sex", "male")
    assert done.returncode == 0, done.stderr
    return str(db)


def hq_db(tmp_path) -> str:
    db = tmp_path / "hq.sqlite3"
    done = run_evac("hq", "init", "--db", str(db))
    assert done.returncode == 0 and "HQ database ready" in done.stdout and "212 sites" in done.stdout, done.stderr
    assert "INFO" not in done.stderr, "alembic's progress lines stay out of the way"
    return str(db)


@pytest.mark.parametrize("command", [
    ("sync", "--hq", "http://127.0.0.1:5801", "--token", A_TOKEN),
    ("checkout", *TARO),
    ("transfer", *TARO, "--to", "H002"),
])
def test_kiosk_commands_refuse_a_database_that_is_not_there(tmp_path, command):
    typo = tmp_path / "nodir" / "kiosk.sqlite3"
    refused(run_evac("kiosk", command[0], "--db", str(typo), *command[1:]), f"no kiosk database at {typo}")
    assert not typo.parent.exists()


def test_kiosk_checkin_makes_a_database_only_in_a_folder_that_exists(tmp_path):
    typo = tmp_path / "nodir" / "kiosk.sqlite3"
    refused(run_evac("kiosk", "checkin", "--new", "--db", str(typo), "--shelter", "H001", *TARO, "--sex", "male"),
            f"no folder {typo.parent}")
    assert not typo.parent.exists()


def test_kiosk_serve_with_an_unknown_shelter_leaves_no_database(tmp_path):
    db = tmp_path / "kiosk.sqlite3"
    refused(run_evac("kiosk", "serve", "--db", str(db), "--shelter", "X999", "--port", "5806"),
            "unknown shelter id 'X999'")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", [
    ("enroll-kiosk", "--shelter", "H001"), ("rotate-prereg-key",), ("revoke-prereg", "HH1"),
    ("add-staff", "--username", "sato"), ("export-pfif",), ("retire-prereg-key", "K1"),
    ("import-records", str(ROOT / "README.md")), ("disable-staff", "--username", "sato"),
    ("enable-staff", "--username", "sato"), ("set-password", "--username", "sato"),
])
def test_hq_commands_refuse_a_database_that_is_not_there(tmp_path, command):
    typo = tmp_path / "hq-typo.sqlite3"
    result = run_evac("hq", command[0], "--db", str(typo), *command[1:], input="long enough pw\n")
    refused(result, f"no HQ database at {typo}", "evac hq init")
    assert result.stdout == "" and list(tmp_path.iterdir()) == []


def test_an_empty_hq_database_file_is_refused_by_commands_that_do_not_make_one(tmp_path):
    """A 0-byte file is what a power cut on a failing disk can leave: a command other than serve and
    init made it a new, empty HQ (and a kiosk enrolled into it), the real records in its -wal gone
    from view.  Refused like a missing file; with a -wal beside it, serve refuses too."""
    db = tmp_path / "hq.sqlite3"
    db.write_bytes(b"")
    refused(run_evac("hq", "enroll-kiosk", "--db", str(db), "--shelter", "H001"),
            f"the HQ database at {db} is empty (0 bytes)", "`evac hq serve` or `evac hq init`")
    assert db.stat().st_size == 0 and sorted(p.name for p in tmp_path.iterdir()) == ["hq.sqlite3"]
    Path(f"{db}-wal").write_bytes(b"\0" * 100)
    refused(run_evac("hq", "serve", "--db", str(db), "--port", "5806"),
            f"the HQ database at {db} is empty (0 bytes)", "Keep it and any hq.sqlite3-wal and hq.sqlite3-shm")
    assert db.stat().st_size == 0


def test_a_relative_sqlite_url_is_the_file_in_the_current_folder_for_every_command(tmp_path):
    """`--db sqlite:///hq.db` was made (0 bytes) in the current folder while HQ kept its records in the
    source tree's instance/ folder: enroll-kiosk then called the database empty, another HQ started empty."""
    init = subprocess.run([sys.executable, "-m", "evac.cli", "hq", "init", "--db", "sqlite:///hq.db"], cwd=tmp_path,
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert init.returncode == 0, init.stderr
    assert (tmp_path / "hq.db").stat().st_size > 0
    enroll = subprocess.run([sys.executable, "-m", "evac.cli", "hq", "enroll-kiosk", "--db", "sqlite:///hq.db",
                             "--shelter", "H001"], cwd=tmp_path, capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert enroll.returncode == 0 and enroll.stdout.strip().count(".") == 1, enroll.stderr
    assert not (ROOT / "instance" / "hq.db").exists()


def test_kiosk_and_hq_files_are_not_mixed_up(tmp_path):
    kiosk, hq = kiosk_db(tmp_path), hq_db(tmp_path)
    refused(run_evac("hq", "enroll-kiosk", "--db", kiosk, "--shelter", "H001"), "is a kiosk's database, not HQ's")
    refused(run_evac("kiosk", "checkin", "--db", hq, "--shelter", "H001", *TARO, "--sex", "male"),
            "is HQ's database, not a kiosk's")
    refused(run_evac("kiosk", "sync", "--db", hq, "--hq", "http://127.0.0.1:5801", "--token", A_TOKEN),
            "is HQ's database, not a kiosk's")


# --- what cannot be opened is said in one line ------------------------------------------------

def test_a_file_that_is_no_database_is_named(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("not a database\n")
    for args in (("kiosk", "sync", "--db", str(text), "--hq", "http://127.0.0.1:5801", "--token", A_TOKEN),
                 ("kiosk", "add-staff", "--db", str(text), "--name", "sato", "--role", "staff"),
                 ("kiosk", "disable-staff", "--db", str(text), "--name", "sato"),
                 ("kiosk", "set-password", "--db", str(text), "--name", "sato"),
                 ("kiosk", "serve", "--db", str(text), "--shelter", "H001", "--port", "5806"),
                 ("hq", "enroll-kiosk", "--db", str(text), "--shelter", "H001"),
                 ("hq", "serve", "--db", str(text), "--port", "5806")):
        refused(run_evac(*args, input="long enough pw\n"), f"at {text}", "not a SQLite database")
    assert text.read_text() == "not a database\n"


@pytest.mark.parametrize("url, words", [
    ("foo://x", "no database driver called 'foo'"),
    ("postgres://evac:hunter22@127.0.0.1/evac", "no database driver called 'postgres'"),
    ("not a url ://", "neither a database URL nor a file path"),
    ("postgresql+psycopg://evac:hunter22@127.0.0.1:5849/evac", "cannot open the HQ database at"),
])
def test_hq_refuses_a_database_url_it_cannot_use(url, words):
    stderr = refused(run_evac("hq", "enroll-kiosk", "--db", url, "--shelter", "H001"), words)
    assert "hunter22" not in stderr, "the password stays off the screen"
    assert len(stderr.strip().splitlines()) == 1, stderr


@pytest.mark.parametrize("value", ["abc", "0", "-2"])
def test_a_bad_area_per_person_leaves_no_database(tmp_path, value, monkeypatch):
    monkeypatch.setenv("EVAC_AREA_PER_PERSON_M2", value)
    db = tmp_path / "hq.sqlite3"
    refused(run_evac("hq", "init", "--db", str(db)), "EVAC_AREA_PER_PERSON_M2 must be", "nothing was changed")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args, words", [
    (("kiosk", "sync", "--db", "k.sqlite3", "--hq", "not a url", "--token", A_TOKEN), "must start with http:// or https://"),
    (("kiosk", "sync", "--db", "k.sqlite3", "--hq", "127.0.0.1:5701", "--token", A_TOKEN), "must start with http://"),
    (("kiosk", "serve", "--db", "k.sqlite3", "--shelter", "H001", "--port", "-1"), "a port is 1 to 65535"),
    (("kiosk", "serve", "--db", "k.sqlite3", "--shelter", "H001", "--port", "99999"), "a port is 1 to 65535"),
    (("kiosk", "serve", "--db", "k.sqlite3", "--shelter", "H001", "--screen-timeout", "0"), "more than 0 seconds"),
    (("kiosk", "serve", "--db", "k.sqlite3", "--shelter", "H001", "--screen-timeout", "-5"), "more than 0 seconds"),
    (("hq", "serve", "--port", "99999"), "a port is 1 to 65535"),
    (("hq", "serve", "--threads", "0"), "must be 1 or more"),
    (("demo", "--port", "70000"), "a port is 1 to 65535"),
    (("demo", "--port", "65535", "--var", "k.sqlite3"), "leaves no room for the kiosks' 3 ports"),
    (("demo", "--interval", "-1"), "must be 0 seconds or more"),
])
def test_values_out_of_range_are_refused_before_anything_starts(tmp_path, args, words):
    result = run_evac(*args)
    refused(result, words)
    assert not (tmp_path / "k.sqlite3").exists()


def test_kiosk_serve_wants_hq_and_token_together(tmp_path):
    refused(run_evac("kiosk", "serve", "--db", str(tmp_path / "k.sqlite3"), "--shelter", "H001",
                     "--hq", "http://127.0.0.1:5801"), "--hq needs this kiosk's token from HQ: --token-file PATH, or EVAC_KIOSK_TOKEN")


def test_hq_serve_on_a_busy_port_says_so(tmp_path):
    import socket
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        refused(run_evac("hq", "serve", "--db", str(tmp_path / "hq.sqlite3"), "--port", str(port)),
                f"port {port} on 127.0.0.1 is in use by another program", code=1)


def test_export_pfif_to_a_missing_folder_writes_nothing(tmp_path):
    db = hq_db(tmp_path)
    out = tmp_path / "nodir" / "yaizu.xml"
    refused(run_evac("hq", "export-pfif", "--db", db, "--out", str(out)), f"no folder {out.parent}")
    refused(run_evac("hq", "export-pfif", "--db", db, "--out", str(tmp_path)), f"cannot write {tmp_path}",
            "nothing was written")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hq.sqlite3", "hq.sqlite3.secret-key"]


def test_hq_keeps_its_secret_key_beside_the_database(tmp_path):
    db = hq_db(tmp_path)
    key = tmp_path / "hq.sqlite3.secret-key"
    assert len(key.read_text().strip()) == 64 and (key.stat().st_mode & 0o777) == 0o600
    before = key.read_text()
    # run from another folder: the same key, and no var/ folder made there
    import subprocess
    import sys
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = subprocess.run([sys.executable, "-m", "evac.cli", "hq", "enroll-kiosk", "--db", db, "--shelter", "H001"],
                          capture_output=True, text=True, cwd=elsewhere, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False)
    assert done.returncode == 0, done.stderr
    assert key.read_text() == before and list(elsewhere.iterdir()) == []


@pytest.mark.parametrize("args, words", [
    (("ingest", "--batch", "0"), "argument --batch: must be 1 or more, not 0"),
    (("ingest", "--events", "0"), "argument --events: must be 1 or more"),
    (("ingest", "--events", "-5"), "argument --events: must be 1 or more"),
    (("ingest", "--db", "foo://x"), "no database driver for 'foo'"),
    (("occupancy", "--requests", "0"), "argument --requests: must be 1 or more"),
    (("inquiries", "--clients", "0"), "argument --clients: must be 1 or more"),
])
def test_benchmarks_refuse_counts_that_measure_nothing(args, words):
    refused(run_evac("bench", *args), words)


def test_a_benchmark_database_that_is_down_is_one_line():
    result = run_evac("bench", "map", "--requests", "1", "--db", "postgresql+psycopg://evac:pw@127.0.0.1:5849/evac")
    refused(result, "cannot open the database for the benchmark", code=1)


def test_demo_recognises_an_earlier_demos_folder_by_its_files_only(tmp_path):
    from evac import demo
    older = tmp_path / "demo"
    older.mkdir()
    for name in ("processes.log", "hq.sqlite3", "kiosk-H031.sqlite3-wal"):
        (older / name).write_text("x")
    demo._fresh_folder(older)
    assert sorted(p.name for p in older.iterdir()) == [demo.MARKER]
    (older / "notes.txt").write_text("mine")
    demo._fresh_folder(older)   # the marker says the demo made it
    assert sorted(p.name for p in older.iterdir()) == [demo.MARKER]
    real = tmp_path / "var"
    real.mkdir()
    for name in ("processes.log", "hq.sqlite3", "staff.csv"):
        (real / name).write_text("x")
    with pytest.raises(Exception, match="holds files the demo did not make"):
        demo._fresh_folder(real)
    assert len(list(real.iterdir())) == 3


def test_kiosk_serve_on_a_busy_port_says_so(tmp_path):
    import socket
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        refused(run_evac("kiosk", "serve", "--db", str(tmp_path / "k.sqlite3"), "--shelter", "H001",
                         "--port", str(port)), f"port {port} on 127.0.0.1 is in use by another program", code=1)


def test_the_kiosk_runs_on_a_production_server_and_logs_no_query_strings(tmp_path):
    """No red "development server" warning for staff to worry about; the access log still names pages."""
    import urllib.request

    from tests.conftest import Server, evac_cmd, free_port
    port = free_port()
    server = Server(evac_cmd("kiosk", "serve", "--db", str(tmp_path / "k.sqlite3"), "--shelter", "H001",
                             "--port", str(port)), f"http://127.0.0.1:{port}", tmp_path / "kiosk.log", "/api/status")
    try:
        with urllib.request.urlopen(f"{server.url}/status?q=%E7%84%BC%E6%B4%A5", timeout=10) as resp:
            assert resp.status == 200 and resp.headers["Server"] == "evac-kiosk"
    finally:
        server.stop()
    log = server.log_path.read_text()
    assert '"GET /status" 200' in log and "q=" not in log
    assert "development server" not in log and "WARNING" not in log


def test_hq_commands_without_db_use_var_under_the_current_folder_and_make_it_only_for_init(tmp_path):
    import os
    import subprocess
    import sys

    def evac(*args):
        return subprocess.run([sys.executable, "-m", "evac.cli", *args], capture_output=True, text=True,
                              cwd=tmp_path, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False)
    refused(evac("hq", "enroll-kiosk", "--shelter", "H001"), f"no HQ database at {tmp_path / 'var' / 'hq.sqlite3'}")
    assert list(tmp_path.iterdir()) == []
    assert evac("hq", "init").returncode == 0
    assert sorted(p.name for p in (tmp_path / "var").iterdir()) == ["hq.sqlite3", "hq.sqlite3.secret-key"]


@pytest.fixture
def read_only_copy(tmp_path):
    """read_only_copy(folder) -> the folder, bind-mounted read-only (the real thing: EROFS, even for root)."""
    import subprocess
    mounts = []

    def mount(folder):
        target = tmp_path / f"ro-{len(mounts)}"
        target.mkdir()
        done = subprocess.run(["mount", "--bind", "-o", "ro", str(folder), str(target)], capture_output=True,
                              check=False)
        if done.returncode != 0:
            pytest.skip("this machine does not let the tests mount a read-only folder")
        mounts.append(target)
        return target
    yield mount
    for target in mounts:
        subprocess.run(["umount", str(target)], check=True)


def test_read_only_databases_and_folders_are_said_so(tmp_path, read_only_copy):
    data = tmp_path / "data"
    data.mkdir()
    kiosk_db(data)
    hq = hq_db(data)
    ro = read_only_copy(data)
    rk, rh = ro / "kiosk.sqlite3", ro / "hq.sqlite3"
    for args in (("kiosk", "sync", "--db", str(rk), "--hq", "http://127.0.0.1:5801", "--token", A_TOKEN),
                 ("kiosk", "add-staff", "--db", str(rk), "--name", "sato", "--role", "staff"),
                 ("kiosk", "serve", "--db", str(rk), "--shelter", "H001", "--port", "5807"),
                 ("hq", "enroll-kiosk", "--db", str(rh), "--shelter", "H001")):
        refused(run_evac(*args, input="long enough pw\n"), "cannot open the", "read-only")
    refused(run_evac("kiosk", "checkin", "--new", "--db", str(ro / "new.sqlite3"), "--shelter", "H001", *TARO,
                     "--sex", "male"),
            "cannot create the kiosk database", "read-only")
    refused(run_evac("hq", "serve", "--db", str(ro / "new.sqlite3"), "--port", "5807"),
            "cannot create the HQ database", "read-only")
    refused(run_evac("hq", "export-pfif", "--db", hq, "--out", str(ro / "x.xml")), "cannot write", "nothing was written")
    assert sorted(p.name for p in data.iterdir()) == ["hq.sqlite3", "hq.sqlite3.secret-key", "kiosk.sqlite3"]


def test_hq_import_of_a_folder_asks_for_one_file(tmp_path):
    refused(run_evac("hq", "import", str(tmp_path), "--db", hq_db(tmp_path)), "is a folder: give one file")


def token_used_with_a_second_database(hq_server, tmp_path):
    """`evac kiosk sync` of a second kiosk database with the token a first one synced with."""
    hq = hq_server()
    token = run_evac("hq", "enroll-kiosk", "--db", hq.db_url, "--shelter", "H001").stdout.strip()
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    assert run_evac("kiosk", "sync", "--db", kiosk_db(first), "--hq", hq.url, "--token", token).returncode == 0
    return run_evac("kiosk", "sync", "--db", kiosk_db(second), "--hq", hq.url, "--token", token)


def test_a_token_used_with_a_second_kiosk_database_says_what_to_do(hq_server, tmp_path):
    result = token_used_with_a_second_database(hq_server, tmp_path)
    refused(result, "belongs to another kiosk database", "enroll this kiosk again at HQ", "new kiosk database", code=1)


def test_the_kiosk_on_the_lan_keeps_its_screen_and_api_to_itself(tmp_path):
    """Served by waitress, --host 0.0.0.0: the LAN reaches /api/status and /staff/, never the screen or API."""
    import socket
    import urllib.error
    import urllib.request

    from tests.conftest import Server, evac_cmd, free_port
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:   # this machine's LAN address
            probe.connect(("192.0.2.1", 9))                                # (UDP: nothing is sent)
            lan = probe.getsockname()[0]
    except OSError:
        lan = "127.0.0.1"
    if lan.startswith("127."):
        pytest.skip("this machine has no address besides loopback")
    port = free_port()
    server = Server(evac_cmd("kiosk", "serve", "--db", str(tmp_path / "k.sqlite3"), "--shelter", "H001",
                             "--port", str(port), "--host", "0.0.0.0"),
                    f"http://127.0.0.1:{port}", tmp_path / "kiosk.log", "/api/status")
    try:
        with urllib.request.urlopen(f"http://{lan}:{port}/api/status", timeout=10) as resp:
            assert resp.status == 200
        with pytest.raises(urllib.error.HTTPError) as refused_here:
            urllib.request.urlopen(f"http://{lan}:{port}/", timeout=10)
        assert refused_here.value.code == 403
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as resp:
            assert resp.status == 200   # the kiosk's own screen
    finally:
        server.stop()


def test_serve_on_a_host_that_is_not_this_machine_says_so(tmp_path):
    refused(run_evac("kiosk", "serve", "--db", str(tmp_path / "k.sqlite3"), "--shelter", "H001", "--port", "5808",
                     "--host", "nosuch.invalid"), "cannot listen on nosuch.invalid", "check --host", code=1)
    refused(run_evac("hq", "serve", "--db", str(tmp_path / "hq.sqlite3"), "--port", "5808",
                     "--host", "192.0.2.77"), "cannot listen on 192.0.2.77", "check --host", code=1)


def test_hq_on_postgresql_says_where_its_secret_key_is_unless_one_is_set(pg_base, tmp_path, monkeypatch):
    import socket
    import uuid

    from tests.postgres import create_database, drop_database
    name = f"evac_{uuid.uuid4().hex[:12]}"
    url = create_database(pg_base, name)
    monkeypatch.setenv("EVAC_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("EVAC_SECRET_KEY", raising=False)
    try:
        assert run_evac("hq", "init", "--db", url).returncode == 0
        with socket.socket() as busy:   # a taken port: serve says everything, then stops
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            port = str(busy.getsockname()[1])
            said = refused(run_evac("hq", "serve", "--db", url, "--port", port), "is in use", code=1)
            assert f"secret key in {tmp_path / 'var'}/hq-secret-key" in said and "EVAC_SECRET_KEY" in said
            monkeypatch.setenv("EVAC_SECRET_KEY", "a-key-from-the-environment")
            said = refused(run_evac("hq", "serve", "--db", url, "--port", port), "is in use", code=1)
            assert "secret key" not in said
    finally:
        drop_database(pg_base, name)


def test_an_hq_from_before_the_key_moved_keeps_its_secret_key(tmp_path):
    # Its key was var/hq-secret-key under the folder it ran from: IC card tokens and log-ins are keyed
    # by it, so the first start after the upgrade copies it beside the database rather than making one.
    import os
    import subprocess
    import sys
    db = hq_db(tmp_path)
    # (A database with HQ's work in it: a new, empty one takes no key found in the folder it starts from.)
    assert run_evac("hq", "enroll-kiosk", "--db", db, "--shelter", "H001").returncode == 0
    key = tmp_path / "hq.sqlite3.secret-key"
    key.unlink()
    old = tmp_path / "var" / "hq-secret-key"
    old.parent.mkdir()
    old.write_text("ab" * 32 + "\n")
    done = subprocess.run([sys.executable, "-m", "evac.cli", "hq", "enroll-kiosk", "--db", db, "--shelter", "H001"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False)
    assert done.returncode == 0, done.stderr
    assert key.read_text().strip() == "ab" * 32 and (key.stat().st_mode & 0o777) == 0o600
    assert f"copied {old} to {key}" in done.stderr


def test_add_staff_says_when_it_made_a_new_kiosk_database_and_leaves_none_when_refused(tmp_path):
    # Staff may be set up before the kiosk's first start; a mistyped --db must not go unnoticed.
    new = tmp_path / "kiosk-new.sqlite3"
    said = run_evac("kiosk", "add-staff", "--db", str(new), "--name", "sato", "--role", "staff",
                    input="long enough pw\n")
    assert said.returncode == 0, said.stderr
    assert f"a new kiosk database was made at {new}: start the kiosk with --db {new}" in said.stdout
    again = run_evac("kiosk", "add-staff", "--db", str(new), "--name", "tanaka", "--role", "lead",
                     input="long enough pw\n")
    assert again.returncode == 0 and "a new kiosk database" not in again.stdout
    typo = tmp_path / "kiosk-typo.sqlite3"
    refused(run_evac("kiosk", "add-staff", "--db", str(typo), "--name", "sato", "--role", "staff", input="short\n"),
            "password")
    assert not any(p.name.startswith("kiosk-typo") for p in tmp_path.iterdir())


@pytest.mark.parametrize("command", [["checkout"], ["transfer", "--to", "H031"]])
def test_a_checkout_without_the_address_says_to_give_it(tmp_path, command):
    """Staff typing a paper form leave the address out: "not checked in here" alone sent them looking for a
    person who was there (the address is part of who someone is)."""
    db = str(tmp_path / "kiosk.sqlite3")
    assert run_evac("kiosk", "checkin", "--new", "--db", db, "--shelter", "H001", "--name", "大石 一郎",
                    "--birth", "1950-04-01", "--sex", "male", "--address", "焼津市本町2-16-32").returncode == 0
    said = refused(run_evac("kiosk", *command, "--db", db, "--name", "大石 一郎", "--birth", "1950-04-01"),
                   "give --address as it was given at check-in")
    assert "Traceback" not in said
    done = run_evac("kiosk", *command, "--db", db, "--name", "大石 一郎", "--birth", "1950-04-01",
                    "--address", "焼津市本町2丁目16番32号")
    assert done.returncode == 0, done.stderr


def test_new_databases_are_readable_by_their_owner_only(tmp_path):
    """A kiosk's and HQ's SQLite files hold evacuees' names, birth dates and addresses: not for every user of
    the machine (SQLite gives the -wal and -shm the database file's permissions)."""
    import stat
    kiosk = tmp_path / "kiosk.sqlite3"
    assert run_evac("kiosk", "checkin", "--new", "--db", str(kiosk), "--shelter", "H001", *TARO,
                    "--sex", "male").returncode == 0
    hq = tmp_path / "hq.sqlite3"
    assert run_evac("hq", "init", "--db", str(hq)).returncode == 0
    for made in (kiosk, hq):
        assert stat.S_IMODE(made.stat().st_mode) == 0o600, made


def test_kiosk_add_staff_with_no_password_on_stdin_says_so(tmp_path):
    db = kiosk_db(tmp_path)
    refused(run_evac("kiosk", "add-staff", "--db", db, "--name", "sato", "--role", "staff", input=""),
            "no password came on stdin")
