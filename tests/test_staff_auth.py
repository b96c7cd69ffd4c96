"""Staff log-in: accounts from the CLI, roles, CSRF, the idle timeout and the log-in rate limit."""
import time

import pytest

from kiosk.store import KioskStore
from tests.conftest import run_evac
from tests.staff_helpers import PASSWORD, csrf, errors, logged_in, login, make_app, post, snapshot
from tests.staff_helpers import app, db  # noqa: F401 (fixtures)

PAGES = ["/staff/", "/staff/register", "/staff/summary", "/staff/roster.csv", "/staff/roster/print",
         "/staff/person/nba:0"]


@pytest.mark.parametrize("url", PAGES)
def test_every_page_needs_a_login(app, url):
    resp = app.test_client().get(url)
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/staff/login")


@pytest.mark.parametrize("url", ["/staff/register", "/staff/shelter-status", "/staff/person/nba:0/checkout",
                                 "/staff/person/nba:0/never-disclose"])
def test_no_post_without_a_login(app, db, url):
    client = app.test_client()
    before = snapshot(db)
    resp = client.post(url, data={"csrf_token": csrf(client)})
    assert resp.status_code == 302 and "/staff/login" in resp.headers["Location"]
    assert snapshot(db) == before


def test_wrong_password_is_refused_in_japanese_by_default(app):
    client = app.test_client()
    resp = login(client, "sato", "not the password")
    assert resp.status_code == 401
    assert "職員名またはパスワードが違います" in resp.text


def test_login_then_logout(app):
    client = app.test_client()
    resp = login(client)
    assert resp.status_code == 302 and resp.headers["Location"] == "/staff/"
    page = client.get("/staff/")
    assert page.status_code == 200 and "sato (職員)" in page.text
    out = post(client, "/staff/logout", {})
    assert out.status_code == 302
    assert client.get("/staff/").status_code == 302


def test_the_login_form_says_what_is_missing(app):
    client = app.test_client()
    client.get("/staff/lang/en")
    resp = client.post("/staff/login", data={"csrf_token": csrf(client), "name": "", "password": ""})
    assert resp.status_code == 400
    assert errors(resp.text, "name") == ["Enter your staff name."]
    assert errors(resp.text, "password") == ["Enter your password."]


def test_login_needs_the_csrf_token(app):
    client = app.test_client()
    client.get("/staff/login")
    resp = client.post("/staff/login", data={"name": "sato", "password": PASSWORD})
    assert resp.status_code == 400 and "有効期限が切れた" in resp.text
    assert client.get("/staff/").status_code == 302


def test_a_form_without_csrf_token_saves_nothing(app, db):
    client = logged_in(app)
    before = snapshot(db)
    resp = client.post("/staff/register", data={"name": "焼津 太郎", "birth_date": "1950-01-02", "sex": "male"})
    assert resp.status_code == 400 and "何も保存していません" in resp.text
    forged = client.post("/staff/register", data={"csrf_token": "forged", "name": "焼津 太郎",
                                                  "birth_date": "1950-01-02", "sex": "male"})
    assert forged.status_code == 400
    assert snapshot(db) == before


def test_a_token_from_another_session_is_refused(app, db):
    other = logged_in(app, "tanaka")
    stolen = csrf(other, "/staff/register")
    client = logged_in(app)
    before = snapshot(db)
    resp = client.post("/staff/register", data={"csrf_token": stolen, "name": "焼津 太郎",
                                                "birth_date": "1950-01-02", "sex": "male"})
    assert resp.status_code == 400 and snapshot(db) == before


def test_the_session_times_out_when_idle(app):
    client = logged_in(app)
    assert client.get("/staff/").status_code == 200
    with client.session_transaction() as session:
        session["staff_seen"] = int(time.time()) - 16 * 60  # the default idle limit is 15 minutes
    resp = client.get("/staff/")
    assert resp.status_code == 302 and resp.headers["Location"] == "/staff/login"
    page = client.get("/staff/login")
    assert "15分間操作がなかったため、ログアウトしました" in page.text
    assert client.get("/staff/").status_code == 302, "logged out for good, not just redirected once"


def test_activity_keeps_the_session_alive(app):
    client = logged_in(app)
    with client.session_transaction() as session:
        session["staff_seen"] = int(time.time()) - 14 * 60
    assert client.get("/staff/").status_code == 200
    with client.session_transaction() as session:
        assert session["staff_seen"] >= int(time.time()) - 5


def test_failed_logins_are_rate_limited_with_a_clear_message(db):
    app = make_app(db, STAFF_LOGIN_LIMITS="3 per minute")
    client = app.test_client()
    for _ in range(3):
        assert login(client, "sato", "guess").status_code == 401
    resp = login(client, "sato", PASSWORD)
    assert resp.status_code == 429
    assert "ログインの失敗が多すぎます" in resp.text
    assert client.get("/staff/").status_code == 302


def tablet_at(app, address: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def test_one_device_is_one_client_whatever_ipv6_addresses_of_its_network_it_uses(db):
    """A phone on the tablets' IPv6 port may use many addresses of its /64: one budget of guesses, not one
    each; and an IPv4 address written as IPv6 (::ffff:) is that address."""
    app = make_app(db, STAFF_LOGIN_LIMITS="3 per minute")
    for i in range(3):
        assert login(tablet_at(app, f"fd77::{i + 2}"), "sato", "guess").status_code == 401
    assert login(tablet_at(app, "fd77::99"), "sato", PASSWORD).status_code == 429
    assert login(tablet_at(app, "fd78::2"), "sato", PASSWORD).status_code == 302, "another network: its own budget"
    for address in ("10.0.0.9", "::ffff:10.0.0.9", "10.0.0.9"):
        assert login(tablet_at(app, address), "tanaka", "guess").status_code == 401
    assert login(tablet_at(app, "::ffff:10.0.0.9"), "tanaka", PASSWORD).status_code == 429


def test_good_logins_do_not_use_up_the_limit(db):
    app = make_app(db, STAFF_LOGIN_LIMITS="2 per minute")
    for _ in range(4):
        assert login(app.test_client()).status_code == 302


def test_one_name_is_limited_from_every_tablet(db):
    app = make_app(db, STAFF_LOGIN_NAME_LIMIT="2 per hour")
    for address in ("10.0.0.1", "10.0.0.2"):
        assert login(tablet_at(app, address), "tanaka", "guess").status_code == 401
    client = tablet_at(app, "10.0.0.3")
    assert login(client, "tanaka", PASSWORD).status_code == 429
    assert login(client, "sato", PASSWORD).status_code == 302, "other staff can still log in"


def test_next_only_leads_inside_the_app(app):
    client = app.test_client()
    token = csrf(client)
    resp = client.post("/staff/login?next=//evil.example/x", data={"csrf_token": token, "name": "sato",
                                                                  "password": PASSWORD})
    assert resp.headers["Location"] == "/staff/"
    client = app.test_client()
    resp = client.post("/staff/login?next=/staff/summary", data={"csrf_token": csrf(client), "name": "sato",
                                                               "password": PASSWORD})
    assert resp.headers["Location"] == "/staff/summary"


def test_language_switch_with_one_tap(app):
    client = logged_in(app)
    assert "避難者名簿" in client.get("/staff/").text
    resp = client.get("/staff/lang/en?next=/staff/summary")
    assert resp.headers["Location"] == "/staff/summary"
    page = client.get("/staff/summary").text
    assert "Headcount" in page and "人数" not in page and '<html lang="en">' in page
    assert client.get("/staff/lang/xx").status_code == 404


def test_a_language_without_staff_catalog_falls_back_to_japanese(app):
    client = logged_in(app)
    with client.session_transaction() as session:
        session["lang"] = "pt"
    page = client.get("/staff/summary").text
    assert "人数" in page and '<html lang="ja">' in page


def test_add_staff_reads_the_password_from_stdin_and_hashes_it(db):
    ok = run_evac("kiosk", "add-staff", "--db", str(db), "--name", "suzuki", "--role", "lead",
                  input="s3cret-enough\n")
    assert ok.returncode == 0, ok.stderr
    assert "suzuki (lead)" in ok.stdout
    store = KioskStore(db)
    stored = store.db.execute("SELECT role, password_hash FROM staff_accounts WHERE name = 'suzuki'").fetchone()
    store.close()
    assert stored[0] == "lead" and "s3cret-enough" not in stored[1] and stored[1].startswith(("scrypt:", "pbkdf2:"))
    client = make_app(db).test_client()
    assert login(client, "suzuki", "s3cret-enough").status_code == 302


@pytest.mark.parametrize("args, stdin, message", [
    (["--name", "x", "--role", "staff"], "short\n", "at least 8 characters"),
    (["--name", "sato", "--role", "staff"], "long enough pw\n", "already a staff account named 'sato'"),
    (["--name", "  ", "--role", "staff"], "long enough pw\n", "1 to 60 characters"),
])
def test_add_staff_refuses_with_a_reason(db, args, stdin, message):
    make_app(db)
    result = run_evac("kiosk", "add-staff", "--db", str(db), *args, input=stdin)
    assert result.returncode == 2 and message in result.stderr


def test_add_staff_knows_only_two_roles(db):
    result = run_evac("kiosk", "add-staff", "--db", str(db), "--name", "x", "--role", "admin", input="long enough\n")
    assert result.returncode == 2 and "invalid choice" in result.stderr


def test_the_json_api_needs_no_csrf_token(app):
    resp = app.test_client().post("/api/checkin", json={"persons": [
        {"name": "焼津 太郎", "birth_date": "1950-01-02", "sex": "male"}]})
    assert resp.status_code == 201


def test_the_tablets_cookie_stays_on_this_site_and_no_other_site_may_frame_its_pages(app):
    # Flask's default SameSite is None: the kiosk must set Lax itself.  A lead's buttons (lifting
    # never-disclose) must not be clickable through another site's frame.
    client = app.test_client()
    page = client.get("/staff/login")
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    done = login(client)
    assert done.status_code == 302
    cookie = done.headers["Set-Cookie"]
    assert "SameSite=Lax" in cookie and "HttpOnly" in cookie
