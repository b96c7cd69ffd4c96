"""Staff accounts can be taken away (someone who left) or given a new password (one seen over a
shoulder), at a kiosk and at HQ, and the live log-ins end with it; and failed log-ins sent at the same
moment cannot get past the limits (each try is counted before its password is checked)."""
from __future__ import annotations

import re
import threading

import pytest

from kiosk.store import KioskStore
from tests.conftest import run_evac
from tests.staff_helpers import PASSWORD, app, csrf, db, logged_in, login, make_app  # noqa: F401 (fixtures)

WRONG = "職員名またはパスワードが違います"   # the tablet's answer to a wrong password


def _kiosk(db, command: str, name: str = "sato", input: str | None = None):
    return run_evac("kiosk", command, "--db", str(db), "--name", name, input=input)


# -- the kiosk ---------------------------------------------------------------------------------------

def test_a_disabled_kiosk_account_is_logged_out_at_once_and_refused_as_a_wrong_password(app, db):
    tablet = logged_in(app)
    other = logged_in(app, "tanaka")
    assert tablet.get("/staff/").status_code == 200
    done = _kiosk(db, "disable-staff")
    assert done.returncode == 0, done.stderr
    assert "disabled: sato" in done.stdout
    # The tablet already logged in: its next request goes to the log-in page.
    page = tablet.get("/staff/")
    assert page.status_code == 302 and "/staff/login" in page.headers["Location"]
    answer = login(app.test_client(), "sato", PASSWORD)
    assert answer.status_code == 401 and WRONG in answer.text
    assert WRONG in login(app.test_client(), "sato", "not the password").text
    assert other.get("/staff/").status_code == 200   # nobody else is logged out
    # The account stays (records stay attributed to it); enabled again, it logs in.
    assert _kiosk(db, "enable-staff").returncode == 0
    assert login(app.test_client(), "sato", PASSWORD).status_code == 302


def test_a_new_kiosk_password_ends_the_old_log_ins(app, db):
    tablet = logged_in(app)
    done = _kiosk(db, "set-password", input="a brand new one\n")
    assert done.returncode == 0, done.stderr
    assert tablet.get("/staff/").status_code == 302
    assert login(app.test_client(), "sato", PASSWORD).status_code == 401
    assert login(app.test_client(), "sato", "a brand new one").status_code == 302


def test_kiosk_staff_commands_refuse_unknown_names_and_short_passwords(app, db):
    for command, text in (("disable-staff", None), ("enable-staff", None), ("set-password", "long enough\n")):
        said = _kiosk(db, command, "satou", input=text)
        assert said.returncode == 2 and said.stdout == ""
        assert "no staff account named 'satou'" in said.stderr and "sato, tanaka" in said.stderr
    short = _kiosk(db, "set-password", input="short\n")
    assert short.returncode == 2 and "at least 8 characters" in short.stderr
    assert logged_in(app).get("/staff/").status_code == 200   # the refused change changed nothing


def test_log_ins_held_in_memory_end_with_a_new_password_or_a_disabled_account(app, db):
    """A log-in the kiosk held in memory (its disk refused it, UnwrittenSessions) is not in the table
    the commands clear: it is refused by when it began, or by the account being disabled."""
    import time

    from kiosk.staff_store import UnwrittenSessions, accounts, disable_staff, login_session, set_password
    store = KioskStore(db)
    try:
        sato = next(a for a in accounts(store) if a.name == "sato")
        held = UnwrittenSessions()
        held.start("before", sato.id, int(time.time()) - 5)
        assert login_session(store, sato.id, "before", 900, held) is not None
        set_password(store, "sato", "a brand new one")
        assert login_session(store, sato.id, "before", 900, held) is None
        held.start("after", sato.id, int(time.time()))
        assert login_session(store, sato.id, "after", 900, held) is not None
        disable_staff(store, "sato")
        assert login_session(store, sato.id, "after", 900, held) is None
    finally:
        store.close()


def _old_kiosk(path):
    """A kiosk database from before accounts could be disabled, with one account."""
    from werkzeug.security import generate_password_hash

    from kiosk.staff_store import FORMS_DONE_SCHEMA, SESSIONS_SCHEMA
    store = KioskStore(path)
    store.db.execute(SESSIONS_SCHEMA)
    store.db.execute(FORMS_DONE_SCHEMA)
    store.db.execute("CREATE TABLE staff_accounts (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
                     " role TEXT NOT NULL, password_hash TEXT NOT NULL, created_at TEXT NOT NULL)")
    store.db.execute("INSERT INTO staff_accounts(name, role, password_hash, created_at) VALUES"
                     " ('sato', 'staff', ?, '2026-01-01T00:00:00+00:00')", (generate_password_hash(PASSWORD),))
    store.close()


def test_a_kiosk_database_from_before_disabling_gets_the_column(tmp_path):
    from kiosk.staff_store import authenticate
    path = tmp_path / "old.sqlite3"
    _old_kiosk(path)
    assert _kiosk(path, "disable-staff").returncode == 0
    store = KioskStore(path)
    try:
        assert authenticate(store, "sato", PASSWORD) is None
    finally:
        store.close()


def test_an_old_kiosk_database_that_takes_no_writes_still_lets_staff_log_in(tmp_path):
    from kiosk.staff_store import authenticate
    path = tmp_path / "old.sqlite3"
    _old_kiosk(path)
    store = KioskStore.read_only(path)   # as from a disk that became read-only
    try:
        assert authenticate(store, "sato", PASSWORD).name == "sato"
        assert authenticate(store, "sato", "not the password") is None
    finally:
        store.close()


def _race(app_, post, clients: int) -> dict[int, int]:
    """`clients` browsers, each with its own log-in page open, send a wrong password at the same moment."""
    ready = [(client, csrf(client, "/staff/login")) for client in (app_.test_client() for _ in range(clients))]
    barrier = threading.Barrier(clients)
    codes: dict[int, int] = {}
    lock = threading.Lock()

    def guess(i: int) -> None:
        client, token = ready[i]
        barrier.wait()
        status = post(client, token, f"wrong guess {i}").status_code
        with lock:
            codes[status] = codes.get(status, 0) + 1

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(codes.values()) == clients and set(codes) <= {401, 429}, codes
    return codes


def _kiosk_post(client, token, password):
    return client.post("/staff/login", data={"csrf_token": token, "name": "sato", "password": password})


def test_kiosk_wrong_passwords_sent_at_once_are_checked_no_more_than_the_tablet_limit(app):
    codes = _race(app, _kiosk_post, 30)
    assert 1 <= codes.get(401, 0) <= 5   # STAFF_LOGIN_LIMITS: 5 per minute per tablet


def test_kiosk_wrong_passwords_sent_at_once_are_checked_no_more_than_the_name_limit(db):
    app_ = make_app(db, STAFF_LOGIN_LIMITS="1000 per minute")
    codes = _race(app_, _kiosk_post, 30)
    assert 1 <= codes.get(401, 0) <= 10   # STAFF_LOGIN_NAME_LIMIT: 10 per hour per name


def test_a_right_kiosk_password_is_given_back_to_the_limit(db):
    app_ = make_app(db, STAFF_LOGIN_LIMITS="3 per minute")
    client = app_.test_client()
    for _ in range(2):
        assert login(client, "sato", "guess").status_code == 401
    assert login(client).status_code == 302
    client = app_.test_client()
    assert login(client, "sato", "guess").status_code == 401   # the third failure: the right one was no guess
    assert login(client, "sato", "guess").status_code == 429


# -- HQ ----------------------------------------------------------------------------------------------

HQ_PASSWORD = "correct horse battery"


def _hq_csrf(client) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get("/staff/login").get_data(as_text=True)).group(1)


def _hq_login(client, password: str = HQ_PASSWORD, username: str = "reviewer1"):
    return client.post("/staff/login", data={"csrf_token": _hq_csrf(client), "username": username,
                                             "password": password})


@pytest.fixture
def hq_staff(hq_app):
    from hq_dashboard.db import db
    from hq_dashboard.staff import add_staff
    with hq_app.app_context():
        add_staff(db.session, "reviewer1", HQ_PASSWORD, "lead")
        add_staff(db.session, "reviewer2", HQ_PASSWORD, "lead")
    return hq_app


def _hq(hq_db_url, command: str, username: str = "reviewer1", input: str | None = None):
    return run_evac("hq", command, "--db", hq_db_url, "--username", username, input=input)


def test_a_disabled_hq_account_is_logged_out_at_its_next_request(hq_staff, hq_db_url):
    browser, other = hq_staff.test_client(), hq_staff.test_client()
    assert _hq_login(browser).status_code == 302
    assert _hq_login(other, username="reviewer2").status_code == 302
    assert browser.get("/staff/inquiries").status_code == 200
    done = _hq(hq_db_url, "disable-staff")
    assert done.returncode == 0, done.stderr
    assert "reviewer1 is disabled" in done.stdout
    page = browser.get("/staff/inquiries")
    assert page.status_code == 302 and "/staff/login" in page.headers["Location"]
    refused = _hq_login(hq_staff.test_client())
    assert refused.status_code == 401 and "名前またはパスワードが違います" in refused.get_data(as_text=True)
    assert other.get("/staff/inquiries").status_code == 200
    assert _hq(hq_db_url, "enable-staff").returncode == 0
    assert _hq_login(hq_staff.test_client()).status_code == 302


def test_a_new_hq_password_ends_the_old_log_ins(hq_staff, hq_db_url):
    browser = hq_staff.test_client()
    assert _hq_login(browser).status_code == 302
    done = _hq(hq_db_url, "set-password", input="another long password\n")
    assert done.returncode == 0, done.stderr
    assert browser.get("/staff/inquiries").status_code == 302
    assert _hq_login(hq_staff.test_client()).status_code == 401
    assert _hq_login(hq_staff.test_client(), "another long password").status_code == 302


def test_hq_staff_commands_refuse_unknown_names_and_short_passwords(hq_staff, hq_db_url):
    for command, text in (("disable-staff", None), ("enable-staff", None), ("set-password", "long enough pw\n")):
        said = _hq(hq_db_url, command, "reviewer9", input=text)
        assert said.returncode == 2 and said.stdout == ""
        assert "no staff member called 'reviewer9'" in said.stderr and "reviewer1, reviewer2" in said.stderr
    short = _hq(hq_db_url, "set-password", input="short\n")
    assert short.returncode == 2 and "at least 10 characters" in short.stderr
    assert _hq_login(hq_staff.test_client()).status_code == 302


def _hq_post(client, token, password):
    return client.post("/staff/login", data={"csrf_token": token, "username": "reviewer1", "password": password})


def test_hq_wrong_passwords_sent_at_once_are_checked_no_more_than_the_limit(hq_staff):
    codes = _race(hq_staff, _hq_post, 40)
    assert 1 <= codes.get(401, 0) <= 10   # STAFF_LOGIN_LIMITS 10 per minute, STAFF_LOGIN_NAME_LIMIT 10 per hour


def test_a_right_hq_password_is_given_back_to_the_limit(hq_staff):
    hq_staff.config["STAFF_LOGIN_LIMITS"] = "3 per minute"
    hq_staff.config["STAFF_LOGIN_NAME_LIMIT"] = "3 per hour"
    client = hq_staff.test_client()
    for _ in range(2):
        assert _hq_login(client, "guess").status_code == 401
    assert _hq_login(client).status_code == 302
    client = hq_staff.test_client()
    assert _hq_login(client, "guess").status_code == 401
    assert _hq_login(client, "guess").status_code == 429


def test_the_disabled_column_migrates_both_ways_keeping_the_accounts(hq_db_url):
    """0024 adds staff_users.disabled_at (SQLite and PostgreSQL); accounts from before log in as before."""
    from flask_migrate import downgrade, upgrade

    from hq_dashboard import MIGRATIONS_DIR, create_app
    from hq_dashboard.db import db
    from hq_dashboard.models import StaffUser
    from hq_dashboard.staff import _password_ok
    hq = create_app({"SQLALCHEMY_DATABASE_URI": hq_db_url, "TESTING": True})
    with hq.app_context():
        upgrade(directory=MIGRATIONS_DIR, revision="0023_persons_household_index")
        from werkzeug.security import generate_password_hash
        with db.engine.begin() as conn:
            conn.execute(db.text("INSERT INTO staff_users (username, password_hash, created_at) VALUES"
                                 " ('old', :h, CURRENT_TIMESTAMP)"), {"h": generate_password_hash(HQ_PASSWORD)})
        upgrade(directory=MIGRATIONS_DIR)
        user = db.session.query(StaffUser).filter_by(username="old").one()
        assert user.disabled_at is None and _password_ok(user, HQ_PASSWORD)
        db.session.remove()
        downgrade(directory=MIGRATIONS_DIR, revision="0023_persons_household_index")
        with db.engine.connect() as conn:
            assert conn.execute(db.text("SELECT username FROM staff_users")).scalars().all() == ["old"]
        db.engine.dispose()
