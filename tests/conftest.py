"""Shared fixtures: HQ on SQLite and on PostgreSQL (started from Debian's package), kiosk stores,
and real HQ / kiosk server processes on loopback ports."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytest_plugins = ["tests.browser"]  # Chromium through playwright, the kiosk app in a server thread
# The `evac hq serve` processes the tests start leave the map's layers to the map's first visitor (a second of
# CPU saved at each of about a hundred starts); test_map_browser's HQs warm them up as HQ does by default.
os.environ.setdefault("EVAC_MAP_WARM_UP", "0")
# Staff passwords hashed at 1/32 of werkzeug's scrypt cost (evac.passwords): the tests hash thousands of them,
# in their own process and in every `evac` and server process they start (which inherit this).
os.environ.setdefault("EVAC_TEST_CHEAP_PASSWORD_HASH", "1")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, seconds: float = 30.0) -> None:
    from evac.demo import wait_http as wait
    try:
        wait(url, seconds)
    except TimeoutError as exc:
        raise AssertionError(str(exc)) from None


def evac_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "evac.cli", *args]


@pytest.fixture(scope="session")
def pg_base():
    from tests.postgres import postgres_server
    base = postgres_server()
    if base is None:
        pytest.skip("PostgreSQL from Debian's package is not installed (make test installs it as root)")
    return base


def copy_sqlite(source: Path, dest: Path) -> None:
    """A consistent copy of a SQLite database (its WAL included) by SQLite's backup API, its owner's only
    as HQ makes its database (or HQ warns at its start that anyone may read it)."""
    import sqlite3
    os.close(os.open(dest, os.O_CREAT | os.O_WRONLY, 0o600))
    src, copy = sqlite3.connect(source), sqlite3.connect(dest)
    try:
        src.backup(copy)
    finally:
        src.close()
        copy.close()


def _prepared_hq_database(url: str) -> None:
    """Migrate and seed an HQ database as HQ's start does, less the IC token key: every test's HQ
    derives its own from its own secret key, as a new HQ does."""
    from sqlalchemy import delete

    from hq_dashboard import create_app, prepare_database
    from hq_dashboard.api import IC_TOKEN_KEY
    from hq_dashboard.db import db
    from hq_dashboard.models import HQMeta
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
    prepare_database(app)
    with app.app_context():
        db.session.execute(delete(HQMeta).where(HQMeta.name == IC_TOKEN_KEY))
        db.session.commit()
        db.engine.dispose()


@pytest.fixture(scope="session")
def hq_template_sqlite(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("hq-template") / "hq.sqlite3"
    _prepared_hq_database(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def hq_template_postgresql(pg_base) -> str:
    from tests.postgres import create_database
    name = f"evac_template_{uuid.uuid4().hex[:8]}"
    _prepared_hq_database(create_database(pg_base, name))
    return name


@pytest.fixture(scope="session")
def hq_initialised_sqlite(tmp_path_factory):
    """hq_initialised_sqlite(path) -> path: an HQ database there as `evac hq init` makes it, its secret key
    beside it: a copy of one init made once per run, for the tests of the commands run on such a database."""
    made = tmp_path_factory.mktemp("hq-initialised") / "hq.sqlite3"
    done = run_evac("hq", "init", "--db", str(made))
    assert done.returncode == 0, done.stderr
    key = made.with_name(made.name + ".secret-key")

    def copy(path: Path) -> Path:
        copy_sqlite(made, path)
        secret = path.with_name(path.name + ".secret-key")
        os.close(os.open(secret, os.O_CREAT | os.O_WRONLY, 0o600))
        secret.write_bytes(key.read_bytes())
        return path
    return copy


@pytest.fixture(params=["sqlite", "postgresql"])
def hq_db_url(request, tmp_path):
    """The same HQ tests run against both databases HQ supports.  Empty, except under hq_app: HQ's app
    then starts from a copy of a database migrated and seeded once per run (0.06 s against 0.45 s on
    PostgreSQL for each test), and prepare_database finds it up to date."""
    prepared = "hq_app" in request.fixturenames
    if request.param == "sqlite":
        path = tmp_path / "hq.sqlite3"
        if prepared:
            copy_sqlite(request.getfixturevalue("hq_template_sqlite"), path)
        yield f"sqlite:///{path}"
        return
    from tests.postgres import create_database, drop_database
    base = request.getfixturevalue("pg_base")
    name = f"evac_{uuid.uuid4().hex[:12]}"
    url = create_database(base, name, request.getfixturevalue("hq_template_postgresql") if prepared else "template0")
    yield url
    from hq_dashboard.db import db
    try:
        db.engine.dispose()
    except RuntimeError:
        pass
    drop_database(base, name)


@pytest.fixture
def hq_app(hq_db_url):
    from hq_dashboard import create_app, notify, prepare_database
    from hq_dashboard.db import db
    app = create_app({"SQLALCHEMY_DATABASE_URI": hq_db_url, "TESTING": True})
    prepare_database(app)
    yield app
    # Inquiries a test's last batch put back to staff (notify.after_records) are done before its database goes.
    notify.drain(app)
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def hq_client(hq_app):
    return hq_app.test_client()


@pytest.fixture
def enroll(hq_app):
    """enroll(shelter_id) -> token"""
    from hq_dashboard.db import db
    from hq_dashboard.enrollment import enroll_kiosk

    def _enroll(shelter_id: str = "H001") -> str:
        with hq_app.app_context():
            return enroll_kiosk(db.session, shelter_id)
    return _enroll


@pytest.fixture
def kiosk_store(tmp_path):
    from kiosk.store import KioskStore
    store = KioskStore(tmp_path / "kiosk.sqlite3")
    yield store
    store.close()


@pytest.fixture
def smtp():
    """A real SMTP server on loopback (aiosmtpd) that keeps what HQ sends: (controller, inbox), inbox.messages
    decoded as a family's mail program shows them (email.policy.default)."""
    import email
    import email.policy

    from aiosmtpd.controller import Controller

    class Inbox:
        def __init__(self):
            self.messages: list[email.message.EmailMessage] = []

        async def handle_DATA(self, server, session, envelope):
            self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
            return "250 OK"
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, inbox
    controller.stop()


class Server:
    def __init__(self, args: list[str], url: str, log: Path, ready_path: str, cwd: Path = ROOT,
                 env: dict[str, str] | None = None):
        self.url, self.log_path = url, log
        self.log = open(log, "w")
        env = {**(os.environ if env is None else env), "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, cwd=cwd, env=env)
        try:
            wait_http(url + ready_path, 60)
        except AssertionError:
            self.stop()
            raise AssertionError(f"server did not start:\n{log.read_text()}") from None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


@pytest.fixture
def hq_server(tmp_path, hq_template_sqlite):
    """start(db_url=None) -> Server running `evac hq serve` on a free port.  Without db_url, on a SQLite
    database migrated and seeded once per run (as hq_app's), which serve finds up to date."""
    servers = []

    def start(db_url: str | None = None) -> Server:
        if db_url is None:
            path = tmp_path / "hq-server.sqlite3"
            if not path.exists():   # (a second start in a test is HQ restarted on its database)
                copy_sqlite(hq_template_sqlite, path)
            db_url = f"sqlite:///{path}"
        port = free_port()
        # Ready when it answers a page: the map's layers (half a second of CPU) are read by the first
        # request for /api/v1/shelters, which many tests never make.
        server = Server(evac_cmd("hq", "serve", "--db", db_url, "--port", str(port)),
                        f"http://127.0.0.1:{port}", tmp_path / f"hq-{port}.log", "/staff/login")
        server.db_url = db_url
        servers.append(server)
        return server
    yield start
    for s in servers:
        s.stop()


def run_evac(*args: str, input: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(evac_cmd(*args), capture_output=True, text=True, cwd=ROOT, timeout=timeout, input=input)


# --- the software My Number card in pcscd's vpcd reader ------------------------------------

PCSCD_TURN = Path(f"/tmp/evac-pcscd-{os.getuid()}.lock")


@pytest.hookimpl(tryfirst=True)   # before pytest's tmpdir plugin reads --basetemp
def pytest_configure(config):
    # This run's name, inherited by its xdist workers: the pcscd it started is its own to stop, not one
    # another test run on the machine (a second checkout, say) started or uses.
    if not hasattr(config, "workerinput"):
        os.environ["EVAC_TEST_RUN"] = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        _compile_the_project()
        _scratch_on_the_ram_disk(config)


def _scratch_on_the_ram_disk(config) -> None:
    """tmp_path on the RAM disk (tests.ram_disk), a new directory for each run; its xdist workers get theirs
    inside it.  A passing run removes it (it holds memory); a failing one leaves it to be read."""
    from tests.ram_disk import ram_disk
    disk = ram_disk()
    if config.option.basetemp is not None or disk is None:
        return
    import tempfile
    config.option.basetemp = tempfile.mkdtemp(prefix=f"evac-tests-{os.getuid()}-", dir=disk)
    config.stash[_RAM_SCRATCH] = config.option.basetemp


_RAM_SCRATCH = pytest.StashKey[str]()


def pytest_sessionfinish(session, exitstatus):
    scratch = session.config.stash.get(_RAM_SCRATCH, None)
    if scratch is None:
        return
    if exitstatus == 0:
        shutil.rmtree(scratch, ignore_errors=True)
    else:
        print(f"\nThe failed run's files (tmp_path) are kept in {scratch}; remove them when read.")


def _compile_the_project() -> None:
    """With PYTHONDONTWRITEBYTECODE set, every `evac` process the tests start (hundreds: each HQ command,
    server and kiosk) compiled the project's ~130 modules from source again, 0.1 s of its 0.8 s.  Compiled
    once here, before the workers start, they are read like any other .pyc (git-ignored; `make clean`
    removes them; a changed source is recompiled, as its .pyc records the source's time and size)."""
    if not sys.dont_write_bytecode:
        return   # Python writes them itself
    import compileall
    for package in ("evac", "kiosk", "hq_dashboard", "bench", "tests"):
        compileall.compile_dir(ROOT / package, quiet=1, workers=0)


def _pcscd_started() -> Path:
    return Path(f"/tmp/evac-pcscd-{os.getuid()}-{os.environ.get('EVAC_TEST_RUN', os.getpid())}.pid")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item):
    """pcscd and its vpcd readers are the machine's, not a test process's: make test runs on every core
    (pytest-xdist), and a test that puts a card in a reader waits for its turn, set-up to tear-down, so no
    two cards meet in one reader.  (xdist's own --dist loadgroup cannot do it under pytest 9.2: it renames
    node ids, which pytest no longer lets it do.)"""
    if "pcscd" not in getattr(item, "fixturenames", ()):
        yield
        return
    import fcntl
    with open(PCSCD_TURN, "w") as turn:
        fcntl.flock(turn, fcntl.LOCK_EX)
        yield


def pytest_unconfigure(config):
    """The pcscd a test started outlives the worker that started it (another may still read cards), and is
    stopped when the whole run ends."""
    started = _pcscd_started()
    if hasattr(config, "workerinput") or not started.exists():
        return
    import signal
    try:
        pid = int(started.read_text())
        if Path(f"/proc/{pid}/comm").read_text().strip() == "pcscd":   # not a pid reused since
            os.kill(pid, signal.SIGTERM)
    except (ValueError, OSError):
        pass
    started.unlink(missing_ok=True)


@pytest.fixture(scope="session")
def pcscd():
    if not shutil.which("pcscd") or not Path("/usr/lib/pcsc/drivers/serial/libifdvpcd.so").exists():
        pytest.skip("pcscd and vsmartcard-vpcd are not installed (make test installs them as root)")
    pytest.importorskip("smartcard", reason="pyscard is not installed (it needs swig and libpcsclite-dev; "
                                            "make test installs them as root)")
    from kiosk.card_emulator import ensure_pcscd
    started = ensure_pcscd()   # under the turn's lock (pytest_runtest_protocol): one start per machine
    if started is not None:
        _pcscd_started().write_text(str(started.pid))
    yield


@pytest.fixture
def insert_card(pcscd):
    """insert_card(applet) puts the software card into vpcd's reader for the test."""
    cards = []

    def insert(applet):
        from kiosk.card_emulator import VpcdCard
        card = VpcdCard(applet)
        card.insert()
        thread = threading.Thread(target=card.serve, daemon=True)
        thread.start()
        cards.append((card, thread))
        time.sleep(0.5)  # pcscd notices the card
        return applet
    yield insert
    for card, thread in cards:
        card.remove()
        thread.join(5)
    time.sleep(0.5)  # pcscd notices it is gone





@pytest.fixture
def in_background():
    """in_background(card) runs a software card's serve() in a thread, stopped after the test."""
    running = []

    def start(card):
        thread = threading.Thread(target=card.serve, daemon=True)
        thread.start()
        running.append((card, thread))
        time.sleep(0.3)  # the card is in the field before the reader looks
        return card
    yield start
    for card, thread in running:
        card.stop()
        thread.join(5)
