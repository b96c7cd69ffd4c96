"""The staff tablet's log-in sessions (security review): a log-out or an idle timeout ends the session
for every copy of its cookie; a flood of wrong passwords cannot lock a lead out of her own tablet and
still stops guessing; an unused staff page reloads itself to the log-in page."""
import re
import sqlite3
import time

import pytest

from tests.staff_helpers import PASSWORD, csrf, logged_in, login, make_app, post
from tests.staff_helpers import app, db  # noqa: F401 (fixtures)

GUARDED = ["/staff/", "/staff/register", "/staff/summary", "/staff/roster/print", "/staff/person/nba:0"]


def copy_of(client, app):
    """Another browser holding a copy of `client`'s session cookie (a shared tablet, a sniffed cookie)."""
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


def sessions(db) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT s.id, a.name FROM staff_sessions s JOIN staff_accounts a"
                            " ON a.id = s.account_id ORDER BY s.started_at").fetchall()


def goes_to_login(resp) -> bool:
    return resp.status_code == 302 and resp.headers["Location"].startswith("/staff/login")


# -- 1. a log-out or a timeout ends the session, not just this browser's cookie -----------------

def test_a_copied_cookie_is_logged_out_with_the_tablet(app, db):
    tablet = logged_in(app)
    thief = copy_of(tablet, app)
    assert thief.get("/staff/").status_code == 200, "the copy works while the session lives"
    assert len(sessions(db)) == 1
    assert post(tablet, "/staff/logout", {}).status_code == 302
    assert sessions(db) == []
    for url in GUARDED:
        assert goes_to_login(thief.get(url)), url
    assert goes_to_login(thief.get("/staff/roster.csv"))


def test_a_copied_cookie_is_logged_out_when_the_tablet_times_out(app, db):
    tablet = logged_in(app)
    thief = copy_of(tablet, app)
    assert thief.get("/staff/").status_code == 200  # the copy keeps itself fresh...
    with tablet.session_transaction() as session:
        session["staff_seen"] = int(time.time()) - 16 * 60  # ...while the tablet lies unused
    resp = tablet.get("/staff/")
    assert resp.headers["Location"] == "/staff/login"
    assert "15分間操作がなかったため" in tablet.get("/staff/login").text
    assert sessions(db) == []
    assert goes_to_login(thief.get("/staff/"))


def test_logging_in_again_is_a_new_session(app, db):
    tablet = logged_in(app)
    before = copy_of(tablet, app)
    post(tablet, "/staff/logout", {})
    assert login(tablet).status_code == 302
    assert len(sessions(db)) == 1
    assert tablet.get("/staff/").status_code == 200
    assert goes_to_login(before.get("/staff/")), "the session from before stays ended"


def test_each_login_has_its_own_session(app, db):
    sato, tanaka = logged_in(app), logged_in(app, "tanaka")
    assert [name for _, name in sessions(db)] == ["sato", "tanaka"]
    post(sato, "/staff/logout", {})
    assert [name for _, name in sessions(db)] == ["tanaka"]
    assert tanaka.get("/staff/").status_code == 200


def test_a_cookie_that_names_only_the_account_is_not_a_login(app):
    client = app.test_client()
    with client.session_transaction() as session:  # what a cookie from before log-in sessions held
        session["_user_id"] = "1"
        session["_fresh"] = True
        session["staff_seen"] = int(time.time())
    assert goes_to_login(client.get("/staff/"))


def test_a_session_unused_past_the_idle_limit_is_gone_from_the_database(db):
    app = make_app(db)
    logged_in(app)
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE staff_sessions SET seen_at = seen_at - 3600")
    logged_in(app, "tanaka")
    assert [name for _, name in sessions(db)] == ["tanaka"], "removed when the next person logged in"


def test_use_is_noted_in_the_database(app, db):
    client = logged_in(app)
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE staff_sessions SET seen_at = seen_at - 14 * 60")
    assert client.get("/staff/").status_code == 200
    with sqlite3.connect(db) as conn:
        (seen,) = conn.execute("SELECT seen_at FROM staff_sessions").fetchone()
    assert seen >= int(time.time()) - 5


def test_a_database_from_before_sessions_gets_the_table(db):
    make_app(db)
    with sqlite3.connect(db) as conn:
        conn.execute("DROP TABLE staff_sessions")
    app = make_app(db)
    client = logged_in(app)
    assert client.get("/staff/").status_code == 200 and len(sessions(db)) == 1


def test_a_login_the_disk_cannot_record_is_held_in_memory_and_says_so(app, db):
    with sqlite3.connect(db) as conn:  # a real refusal from SQLite, as a full disk would give
        conn.execute("CREATE TRIGGER refuse BEFORE INSERT ON staff_sessions BEGIN SELECT RAISE(ABORT, 'no'); END")
    client = app.test_client()
    resp = login(client)
    assert resp.status_code == 302, "the roster stays readable: the log-in is held in the kiosk's memory"
    page = client.get("/staff/")
    assert page.status_code == 200
    assert "ログインしましたが、受付機がディスクに書き込めません" in page.text
    assert sessions(db) == []
    assert post(client, "/staff/logout", {}).status_code == 302
    assert goes_to_login(client.get("/staff/")), "logging out ends a session held in memory too"


def test_a_disk_that_refuses_writes_logs_nobody_out_while_they_use_the_tablet(db, monkeypatch):
    """The use of a session is noted in memory when the disk refuses it: before, staff using the
    tablet were logged out idle-limit + 61 s after the disk filled, and could not log in again."""
    from types import SimpleNamespace

    from kiosk import staff_store
    app = make_app(db)
    sato = logged_in(app)
    now = [time.time()]
    monkeypatch.setattr(staff_store, "time", SimpleNamespace(time=lambda: now[0]))
    with sqlite3.connect(db) as conn:   # real refusals from SQLite, as a full disk gives them
        for op in ("INSERT", "UPDATE"):
            conn.execute(f"CREATE TRIGGER refuse_{op} BEFORE {op} ON staff_sessions"
                         " BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END")
    for _ in range(8):                  # 40 minutes of use, a page every 5 minutes
        now[0] += 5 * 60
        assert sato.get("/staff/").status_code == 200
    tanaka = logged_in(app, "tanaka")   # a new shift logs in on the full disk
    assert tanaka.get("/staff/").status_code == 200
    assert [name for _, name in sessions(db)] == ["sato"], "nothing written while the disk refuses"

    with sqlite3.connect(db) as conn:   # room again: the next use writes what memory held
        conn.execute("DROP TRIGGER refuse_INSERT")
        conn.execute("DROP TRIGGER refuse_UPDATE")
    now[0] += 2 * 60
    assert sato.get("/staff/").status_code == 200
    assert sorted(name for _, name in sessions(db)) == ["sato", "tanaka"]
    with sqlite3.connect(db) as conn:
        assert all(seen >= now[0] - 3 * 60 for (seen,) in conn.execute("SELECT seen_at FROM staff_sessions"))
    # Idle past the limit still logs out, disk or no disk.
    now[0] += 17 * 60
    assert goes_to_login(tanaka.get("/staff/"))


# -- 2. failed log-ins per staff name -----------------------------------------------------------

def from_address(app, address: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def flood(app, name: str, count: int) -> None:
    """`count` wrong passwords for `name`, spread over three addresses (under each address's limit)."""
    for i in range(count):
        assert login(from_address(app, f"10.0.0.{i % 3 + 1}"), name, f"guess {i}").status_code == 401


def test_a_flood_of_wrong_passwords_does_not_lock_the_lead_out_of_her_tablet(db):
    app = make_app(db)  # the defaults: 10 failures per hour for one name
    lead = from_address(app, "10.0.0.50")
    assert login(lead, "tanaka").status_code == 302  # her tablet: she has logged in on it before
    post(lead, "/staff/logout", {})
    flood(app, "tanaka", 10)

    # A guesser is refused from a new address, even with the right password: it is not checked.
    for password in ("guess 11", PASSWORD):
        resp = login(from_address(app, "10.0.0.77"), "tanaka", password)
        assert resp.status_code == 429 and "ログインの失敗が多すぎます" in resp.text
    # The lead on her own tablet with the right password is in.
    assert login(lead, "tanaka").status_code == 302
    assert "tanaka (責任者)" in lead.get("/staff/").text
    assert login(from_address(app, "10.0.0.78"), "sato", PASSWORD).status_code == 302, "other names unaffected"


def test_the_tablet_exception_is_only_for_names_that_logged_in_on_it(db):
    app = make_app(db, STAFF_LOGIN_NAME_LIMIT="3 per hour")
    tablet = from_address(app, "10.0.0.50")
    assert login(tablet, "sato").status_code == 302  # a staff member's tablet, not the lead's
    post(tablet, "/staff/logout", {})
    flood(app, "tanaka", 3)
    assert login(tablet, "tanaka", PASSWORD).status_code == 429
    forged = from_address(app, "10.0.0.51")
    forged.set_cookie("staff_tablet", '{"id": "x", "names": ["tanaka"]}')  # not signed by this kiosk
    assert login(forged, "tanaka", PASSWORD).status_code == 429


def test_the_leads_tablet_is_refused_too_once_it_keeps_failing(db):
    app = make_app(db, STAFF_LOGIN_NAME_LIMIT="3 per hour", STAFF_LOGIN_TABLET_LIMIT="2 per hour")
    lead = from_address(app, "10.0.0.50")
    assert login(lead, "tanaka").status_code == 302
    post(lead, "/staff/logout", {})
    flood(app, "tanaka", 3)
    for i in range(2):  # someone at her tablet guessing: still checked, still counted
        assert login(lead, "tanaka", f"tablet guess {i}").status_code == 401
    assert login(lead, "tanaka", PASSWORD).status_code == 429


def test_under_the_name_limit_nothing_changes(db):
    app = make_app(db, STAFF_LOGIN_NAME_LIMIT="3 per hour")
    flood(app, "tanaka", 2)
    assert login(from_address(app, "10.0.0.99"), "tanaka", PASSWORD).status_code == 302


# -- 3. an unused staff page reloads itself to the log-in page -----------------------------------

def refresh(html: str) -> str | None:
    found = re.search(r'<meta http-equiv="refresh" content="([^"]*)"', html)
    return found.group(1) if found else None


@pytest.mark.parametrize("minutes, seconds", [(15, 15 * 60 + 3), (2, 123), (0.5, 33)])
def test_staff_pages_reload_after_the_idle_time(db, minutes, seconds):
    client = logged_in(make_app(db, STAFF_IDLE_MINUTES=minutes))
    for url in GUARDED:
        page = client.get(url)
        assert refresh(page.text) == f"{seconds};url={url}", url
    assert refresh(client.get("/staff/?q=焼津").text) == f"{seconds};url=/staff/?q=%E7%84%BC%E6%B4%A5"


def test_the_login_page_does_not_reload(app):
    client = app.test_client()
    assert refresh(client.get("/staff/login").text) is None
    assert refresh(login(client, "sato", "wrong").text) is None
    logged = logged_in(app)
    post(logged, "/staff/logout", {})
    assert refresh(logged.get("/staff/login").text) is None
    with logged.session_transaction() as session:
        session["staff_seen"] = int(time.time()) - 16 * 60
    assert refresh(logged.get("/staff/login").text) is None


def test_a_page_shown_after_a_post_reloads_as_a_get(app):
    client = logged_in(app)
    resp = client.post("/staff/register", data={"csrf_token": csrf(client, "/staff/register"), "name": ""})
    assert resp.status_code in (400, 422) and refresh(resp.text) == f"{15 * 60 + 3};url=/staff/register"
