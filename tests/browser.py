"""Browser fixtures: Debian's Chromium driven by playwright, one browser for the whole session.

`page_at(base_url)` opens a fresh browser context (no cookies, no storage) and a page in it; every
request the page makes is recorded, and the test fails if any went outside the app's origin (such
requests are also blocked, so nothing leaves even once).  `screenshot(page, name)` keeps a picture
of a screen under test-artifacts/screenshots/ (gitignored; CI can keep it as an artifact).

`kiosk_server(**config)` runs the kiosk app in a real werkzeug server thread on a free port, with a
real SQLite file.  Browser tests skip, saying why, only when /usr/bin/chromium is not installed.
"""
from __future__ import annotations

import contextlib
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 # the camera: a fake device, allowed without a prompt (tests feed it a picture)
                 "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]
CAMERA_FEED_NAME = "camera-feed.y4m"
LOCAL_SCHEMES = ("data", "blob", "about")


@pytest.fixture(scope="session")
def camera_feed_path(tmp_path_factory) -> Path:
    """The file Chromium's fake camera plays; a test writes a picture there with show_to_camera."""
    path = tmp_path_factory.mktemp("camera") / CAMERA_FEED_NAME
    _write_frame(path, None)  # a blank picture until a test shows one
    return path


@pytest.fixture(scope="session")
def browser(camera_feed_path):
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed at /usr/bin/chromium (make setup installs it as root)")
    from playwright.sync_api import sync_playwright
    args = [*CHROMIUM_ARGS, f"--use-file-for-fake-video-capture={camera_feed_path}"]
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=args, headless=True)
        chromium.camera_feed = camera_feed_path
        yield chromium
        chromium.close()


def show_to_camera(browser, picture) -> None:
    """Put a picture (a PIL image) in front of the fake camera: one Y4M frame, which Chromium loops.
    Chromium opens the file when a page starts the camera, so write it before that."""
    _write_frame(browser.camera_feed, picture)


def _write_frame(path: Path, picture) -> None:
    from PIL import Image
    frame = Image.new("RGB", (640, 480), "white")
    if picture is not None:
        picture = picture.convert("RGB")
        picture.thumbnail((440, 440))
        frame.paste(picture, ((640 - picture.width) // 2, (480 - picture.height) // 2))
    y, cb, cr = frame.convert("YCbCr").split()
    half = (frame.width // 2, frame.height // 2)
    data = (b"YUV4MPEG2 W640 H480 F10:1 Ip A1:1 C420jpeg\n" + b"FRAME\n" + y.tobytes()
            + cb.resize(half, Image.BOX).tobytes() + cr.resize(half, Image.BOX).tobytes())
    path.write_bytes(data)


@pytest.fixture
def page_at(browser):
    """page_at(base_url) -> a playwright Page in a fresh context; outside requests fail the test."""
    contexts = []
    outside: list[str] = []

    def open_page(base_url: str, viewport=(1024, 1366)):
        origin = urlsplit(base_url)[:2]
        context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]},
                                      base_url=base_url, service_workers="block")
        context.set_default_timeout(10_000)

        def local(url: str) -> bool:
            return urlsplit(url).scheme in LOCAL_SCHEMES or urlsplit(url)[:2] == origin

        # Every request any page of the context starts is recorded (even one the page's own CSP
        # stops), and one that would leave the app is aborted before it goes anywhere.
        context.on("request", lambda req: None if local(req.url) else outside.append(req.url))
        context.route("**/*", lambda route: route.continue_() if local(route.request.url) else route.abort())
        contexts.append(context)
        page = context.new_page()
        page.requests = []  # every URL the page asked for, for tests that look
        page.on("request", lambda req: page.requests.append(req.url))
        return page
    open_page.outside = outside  # for the test of this guard itself
    yield open_page
    for context in contexts:
        context.close()
    assert not outside, f"the page loaded things from outside the app: {sorted(set(outside))}"


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


_HQ_TEMPLATE: list[Path] = []


def _hq_template() -> Path:
    """An HQ database migrated and seeded once per test process (as conftest's hq_template_sqlite), removed
    when the process ends."""
    if not _HQ_TEMPLATE:
        import atexit
        import shutil
        import tempfile

        from tests.conftest import _prepared_hq_database
        folder = Path(tempfile.mkdtemp(prefix="evac-hq-template-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        _prepared_hq_database(f"sqlite:///{folder / 'hq.sqlite3'}")
        _HQ_TEMPLATE.append(folder / "hq.sqlite3")
    return _HQ_TEMPLATE[0]


@contextlib.contextmanager
def hq_over_http(tmp_path: Path, **config):
    """HQ's app on a new SQLite file, served by werkzeug in a thread (real HTTP): the app, with `.url`.  The
    file is a copy of a database migrated and seeded once per test process, which prepare_database finds
    up to date (35 migrations run again for each test cost ~0.4 s)."""
    from werkzeug.serving import make_server

    from hq_dashboard import create_app, prepare_database
    from hq_dashboard.db import db
    from tests.conftest import copy_sqlite, free_port
    copy_sqlite(_hq_template(), tmp_path / "hq.sqlite3")
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'hq.sqlite3'}", "TESTING": True, **config})
    prepare_database(app)
    server = make_server("127.0.0.1", free_port(), app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    app.url = f"http://127.0.0.1:{server.server_port}"
    try:
        yield app
    finally:
        server.shutdown()
        thread.join(10)
        with app.app_context():
            db.engine.dispose()


class KioskServer:
    """The kiosk app served by werkzeug in a thread: real HTTP, real SQLite."""

    def __init__(self, app, db: Path):
        from werkzeug.serving import make_server
        from tests.conftest import free_port
        self.app, self.db = app, db
        self.server = make_server("127.0.0.1", free_port(), app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(10)
        watcher = self.app.extensions.get("tap_watcher")
        if watcher is not None:
            watcher.stop()


@pytest.fixture
def kiosk_server(tmp_path):
    """kiosk_server(**config) -> KioskServer for shelter H031 on a free port."""
    servers = []

    def start(**config) -> KioskServer:
        from kiosk import create_app
        db = tmp_path / f"kiosk-{len(servers)}.sqlite3"
        app = create_app({"KIOSK_DB": str(db), "SHELTER_ID": "H031", "TESTING": True, "WATCH_TAPS": False,
                          **config})
        server = KioskServer(app, db)
        servers.append(server)
        return server
    yield start
    for s in servers:
        s.stop()


@pytest.fixture(scope="session")
def chromium(browser):
    """The session's browser, by the name HQ's map and the staff tablet's tests use."""
    return browser


@pytest.fixture
def browser_page(browser):
    """A fresh page (own context) for HQ's pages; page.requests lists every URL it asked for and
    page.console_errors what the page's scripts complained about."""
    context = browser.new_context()
    page = context.new_page()
    page.requests = []
    page.on("request", lambda req: page.requests.append(req.url))
    page.console_errors = []
    page.on("console", lambda msg: msg.type == "error" and page.console_errors.append(msg.text))
    page.on("pageerror", lambda exc: page.console_errors.append(str(exc)))
    yield page
    context.close()


def wait_js(page, expression: str, timeout: float = 30_000) -> None:
    """page.wait_for_function for pages whose Content-Security-Policy forbids eval (HQ's pages but the map):
    playwright polls a string predicate with eval inside the page, while page.evaluate is the browser's own."""
    import time
    give_up = time.monotonic() + timeout / 1000
    while not page.evaluate(expression):
        if time.monotonic() > give_up:
            raise AssertionError(f"not true within {timeout / 1000:g} s: {expression}")
        page.wait_for_timeout(100)
