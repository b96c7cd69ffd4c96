"""HQ behind a reverse proxy: the client's address for the rate limits comes from X-Forwarded-For only as
written by the proxies HQ is told to trust (TRUSTED_PROXIES, `evac hq serve --trusted-proxies`,
EVAC_TRUSTED_PROXIES).  With none (the default) a forged header changes nothing."""
from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from tests.conftest import Server, evac_cmd, free_port, run_evac

LIMIT = "2 per minute"
ASK = "/api/v1/safety/inquiries/no-such-inquiry"     # limited per client address (SAFETY_RATE_PER_CLIENT)


@pytest.fixture
def make_app(tmp_path):
    from hq_dashboard import create_app, prepare_database
    from hq_dashboard.db import db
    apps = []

    def make(**config):
        app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / f'hq{len(apps)}.sqlite3'}",
                          "TESTING": True, "SAFETY_RATE_PER_CLIENT": LIMIT, **config})
        prepare_database(app)
        apps.append(app)
        return app
    yield make
    for app in apps:
        with app.app_context():
            db.engine.dispose()


def ask(client, proxy: str, forwarded: str | None = None) -> int:
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    return client.get(ASK, headers=headers, environ_base={"REMOTE_ADDR": proxy}).status_code


def test_with_no_proxy_trusted_a_forged_forwarded_for_does_not_escape_a_limit(make_app):
    app = make_app()
    assert app.config["TRUSTED_PROXIES"] == 0
    client = app.test_client()
    assert [ask(client, "198.51.100.10") for _ in range(2)] == [404, 404]
    assert ask(client, "198.51.100.10") == 429
    for forged in ("203.0.113.77", "203.0.113.78, 203.0.113.79"):   # a script inventing its address
        assert ask(client, "198.51.100.10", forged) == 429
    assert ask(client, "198.51.100.11") == 404                       # another address has its own budget


@pytest.mark.parametrize("how", ["config", "environment"])
def test_behind_one_trusted_proxy_two_families_are_limited_separately(make_app, monkeypatch, how):
    proxy = "198.51.100.20" if how == "config" else "198.51.100.21"
    if how == "environment":
        monkeypatch.setenv("EVAC_TRUSTED_PROXIES", "1")
        app = make_app()
    else:
        app = make_app(TRUSTED_PROXIES=1)
    assert app.config["TRUSTED_PROXIES"] == 1
    client = app.test_client()
    a, b = f"203.0.113.{1 if how == 'config' else 11}", f"203.0.113.{2 if how == 'config' else 12}"
    assert [ask(client, proxy, a) for _ in range(2)] == [404, 404]
    assert ask(client, proxy, a) == 429                   # family A is at its limit…
    assert ask(client, proxy, b) == 404                   # …family B behind the same proxy is not
    # A forged address in front of the proxy's own entry: only the proxy's (the last) is believed.
    assert ask(client, proxy, f"192.0.2.99, {a}") == 429


def test_a_proxy_count_that_is_not_a_number_is_refused(make_app):
    with pytest.raises(ValueError, match="number of reverse proxies"):
        make_app(TRUSTED_PROXIES="yes")
    refused = run_evac("hq", "serve", "--trusted-proxies", "-1", "--port", "1")
    assert refused.returncode == 2 and "not a number of proxies" in refused.stderr


def test_a_proxy_count_from_the_environment_that_is_not_a_number_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("EVAC_TRUSTED_PROXIES", "abc")
    refused = run_evac("hq", "serve", "--db", str(tmp_path / "hq.sqlite3"), "--port", "1")
    assert refused.returncode == 2 and "Traceback" not in refused.stderr, refused.stderr
    assert "EVAC_TRUSTED_PROXIES" in refused.stderr and "number of reverse proxies" in refused.stderr
    assert not (tmp_path / "hq.sqlite3").exists(), "nothing half-made is left"


def _get(url: str, forwarded: str) -> int:
    request = urllib.request.Request(url, headers={"X-Forwarded-For": forwarded})
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        answer = json.loads(exc.read())
        assert answer["error"] in ("not_found", "rate_limited"), answer
        return exc.code


def test_evac_hq_serve_trusts_the_proxies_it_is_told_of(tmp_path, monkeypatch):
    # Over real HTTP from loopback, standing in for the proxy in front of HQ.
    monkeypatch.setenv("EVAC_SAFETY_RATE_PER_CLIENT", LIMIT)
    servers = []
    try:
        for trusted in ("0", "1"):
            port = free_port()
            servers.append(Server(evac_cmd("hq", "serve", "--db", str(tmp_path / f"hq-{trusted}.sqlite3"),
                                           "--port", str(port), "--trusted-proxies", trusted, "--host", "0.0.0.0"),
                                  f"http://127.0.0.1:{port}", tmp_path / f"hq-{trusted}.log", "/api/v1/shelters"))
        untrusting, trusting = (s.url + ASK for s in servers)
        assert [_get(untrusting, f"203.0.113.{i}") for i in range(3)] == [404, 404, 429]   # forged: one client
        assert [_get(trusting, "203.0.113.1") for _ in range(3)] == [404, 404, 429]
        assert _get(trusting, "203.0.113.2") == 404                                     # another family
        # Trusting a proxy while anyone can reach HQ without it: said at the start.
        assert "can claim any address" in servers[1].log_path.read_text()
        assert "can claim any address" not in servers[0].log_path.read_text()
    finally:
        for server in servers:
            server.stop()


def test_behind_a_tls_proxy_the_log_in_cookie_is_secure_when_the_setting_says_so(make_app, monkeypatch):
    assert "Secure" not in make_app().test_client().get("/staff/login").headers["Set-Cookie"]
    monkeypatch.setenv("EVAC_SESSION_COOKIE_SECURE", "true")   # as the README says for HQ behind HTTPS
    app = make_app()
    client = app.test_client()
    cookie = client.get("/staff/login").headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie
    # The long-lived ones too: the browser a staff name logged in on (a year), a wall display's (its only key).
    from hq_dashboard import wall_display
    from hq_dashboard.db import db
    from hq_dashboard.staff import add_staff
    from tests.test_safety_review_fixes import csrf
    with app.app_context():
        add_staff(db.session, "lead1", "correct horse battery", "lead")
        token = wall_display.add_display(db.session, "hq-wall", by="test")
    client = app.test_client()
    client.environ_base["wsgi.url_scheme"] = "https"   # as the browser goes, through the proxy
    form = {"csrf_token": csrf(client, "/staff/login"), "username": "lead1", "password": "correct horse battery"}
    logged_in = client.post("/staff/login", data=form, environ_overrides={"wsgi.url_scheme": "http"})
    assert logged_in.status_code == 302, "as HQ sees it behind the proxy: plain HTTP"
    set_cookies = logged_in.headers.getlist("Set-Cookie")
    assert any("hq_staff_browser" in c for c in set_cookies) and all("Secure" in c for c in set_cookies), set_cookies
    wall = app.test_client().get(f"/display/{token}").headers.getlist("Set-Cookie")
    assert wall and all("Secure" in c for c in wall), wall


def test_a_proxy_that_sends_no_forwarded_for_is_said_once(make_app):
    import logging
    app = make_app(TRUSTED_PROXIES=1)
    said: list[str] = []
    heard = logging.Handler()
    heard.emit = lambda record: said.append(record.getMessage())
    app.logger.addHandler(heard)   # HQ's console (the migrations' logging setup replaces the root's handlers)
    client = app.test_client()
    ask(client, "198.51.100.20", "203.0.113.1")
    assert not said
    for _ in range(2):
        ask(client, "198.51.100.20")
    assert len(said) == 1 and "without X-Forwarded-For" in said[0] and "include proxy_params" in said[0]
