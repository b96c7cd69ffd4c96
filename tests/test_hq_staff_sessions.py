"""HQ staff log-ins are kept at HQ (staff_sessions): a log-out ends every copy of the session cookie,
a log-in unused for STAFF_IDLE_MINUTES or older than STAFF_SESSION_HOURS ends and the log-in page
says why (and brings staff back), and a disabled account or a new password ends its log-ins.  Time
is moved by moving the log-in's own times back in the database: no sleeping."""
from __future__ import annotations

import datetime as dt
import re

import pytest

HQ_PASSWORD = "correct horse battery"
IDLE = "分間操作がなかったため、ログアウトしました"


def _csrf(client) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get("/staff/login").get_data(as_text=True)).group(1)


def _login(client, username: str = "reviewer1", query: str = ""):
    return client.post("/staff/login" + query, data={"csrf_token": _csrf(client), "username": username,
                                                     "password": HQ_PASSWORD})


@pytest.fixture
def hq(hq_app):
    from hq_dashboard.db import db
    from hq_dashboard.staff import add_staff
    with hq_app.app_context():
        add_staff(db.session, "reviewer1", HQ_PASSWORD, "lead")
        add_staff(db.session, "reviewer2", HQ_PASSWORD, "lead")
    return hq_app


def _copy(client, app):
    """Another browser holding a copy of `client`'s session cookie (a shared PC, a proxy log, a backup)."""
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


def _sessions(app, username: str = "reviewer1") -> list:
    from hq_dashboard.db import db
    with app.app_context():
        rows = db.session.execute(db.text(
            "SELECT s.id_hash, s.created_at, s.last_seen_at, s.ended_at, s.ended_why FROM staff_sessions s"
            " JOIN staff_users u ON u.id = s.user_id WHERE u.username = :name ORDER BY s.created_at"),
            {"name": username}).all()
        db.session.remove()
    return rows


def _move_back(app, column: str, by: dt.timedelta, username: str = "reviewer1") -> None:
    """The log-ins of `username` as if `column` (last_seen_at or created_at) were `by` earlier."""
    from hq_dashboard.db import db
    from hq_dashboard.models import StaffSession, StaffUser
    with app.app_context():
        user = db.session.query(StaffUser).filter_by(username=username).one()
        for login in db.session.query(StaffSession).filter_by(user_id=user.id):
            setattr(login, column, getattr(login, column) - by)
        db.session.commit()
        db.session.remove()


def _last_seen(app) -> dt.datetime:
    (row,) = [r for r in _sessions(app) if r.ended_at is None]
    return row.last_seen_at


# -- log-out -----------------------------------------------------------------------------------------

def test_a_cookie_copied_before_the_log_out_is_refused_after_it(hq):
    browser = hq.test_client()
    assert _login(browser).status_code == 302
    thief = _copy(browser, hq)
    assert thief.get("/staff/inquiries").status_code == 200   # a copy works while the log-in lasts
    assert browser.post("/staff/logout", data={"csrf_token": _csrf(browser)}).status_code == 302
    for page in ("/staff/inquiries", "/staff/audit", "/dashboard", "/export/shelters.csv", "/staff/carried"):
        refused = thief.get(page)
        assert refused.status_code == 302 and refused.headers["Location"].startswith("/staff/login"), page
    (row,) = _sessions(hq)
    assert row.ended_at is not None and row.ended_why == "logout"
    # HQ keeps only a hash of the cookie's id: the table alone logs nobody in.
    import hashlib
    signed = hq.session_interface.get_signing_serializer(hq).loads(thief.get_cookie("session").value)
    session_id = signed["_user_id"].partition(":")[2]
    assert row.id_hash == hashlib.sha256(session_id.encode()).hexdigest() != session_id


def test_each_log_in_is_its_own_and_one_log_out_ends_only_that_one(hq):
    desk, laptop = hq.test_client(), hq.test_client()
    assert _login(desk).status_code == 302 and _login(laptop).status_code == 302
    desk.post("/staff/logout", data={"csrf_token": _csrf(desk)})
    assert desk.get("/staff/inquiries").status_code == 302
    assert laptop.get("/staff/inquiries").status_code == 200
    assert [r.ended_why for r in _sessions(hq)] == ["logout", None]


def test_a_cookie_from_before_log_ins_were_kept_at_hq_logs_in_again(hq):
    """The old cookie named the account and a mark of its password hash; it names no log-in."""
    import hashlib

    from hq_dashboard.db import db
    from hq_dashboard.models import StaffUser
    with hq.app_context():
        user = db.session.query(StaffUser).filter_by(username="reviewer1").one()
        old_id = f"{user.id}:{hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]}"
    browser = hq.test_client()
    with browser.session_transaction() as session:
        session["_user_id"] = old_id
        session["_fresh"] = True
    assert browser.get("/staff/inquiries").status_code == 302


# -- idle and the shift --------------------------------------------------------------------------------

def test_a_log_in_unused_beyond_the_idle_limit_is_logged_out_and_brought_back(hq):
    browser = hq.test_client()
    assert _login(browser).status_code == 302
    thief = _copy(browser, hq)
    _move_back(hq, "last_seen_at", dt.timedelta(minutes=31))   # STAFF_IDLE_MINUTES is 30
    sent = browser.get("/staff/audit?q=H001")
    assert sent.status_code == 302 and sent.headers["Location"] == "/staff/login?next=%2Fstaff%2Faudit%3Fq%3DH001"
    page = browser.get(sent.headers["Location"]).get_data(as_text=True)
    assert "30分間操作がなかったため、ログアウトしました。もう一度ログインしてください。" in page
    assert "You were logged out after 30 minutes without use." in page
    assert page.index("30分間") < page.index("You were logged out")   # Japanese first
    (row,) = _sessions(hq)
    assert row.ended_why == "idle"
    assert thief.get("/staff/inquiries").status_code == 302   # every copy of the cookie with it
    # The log-in page's `next` brings staff back where they were.
    back = _login(browser, query="?next=%2Fstaff%2Faudit%3Fq%3DH001")
    assert back.status_code == 302 and back.headers["Location"] == "/staff/audit?q=H001"
    assert browser.get("/staff/audit?q=H001").status_code == 200


def test_a_log_in_used_within_the_idle_limit_stays_and_its_use_is_written_at_most_once_a_minute(hq):
    browser = hq.test_client()
    assert _login(browser).status_code == 302
    _move_back(hq, "last_seen_at", dt.timedelta(minutes=29))
    assert browser.get("/staff/inquiries").status_code == 200
    noted = _last_seen(hq)
    _move_back(hq, "last_seen_at", dt.timedelta(seconds=30))
    before = _last_seen(hq)
    assert browser.get("/staff/inquiries").status_code == 200
    assert _last_seen(hq) == before != noted          # within the minute: a read, no write
    _move_back(hq, "last_seen_at", dt.timedelta(minutes=29))
    assert browser.get("/staff/inquiries").status_code == 200
    assert _last_seen(hq) > before                    # a minute on: noted again, the idle limit restarts


def test_typing_on_a_staff_page_keeps_the_log_in_and_the_page_goes_back_to_hq_when_unused(hq):
    browser = hq.test_client()
    assert _login(browser).status_code == 302
    page = browser.get("/staff/inquiries").get_data(as_text=True)
    script = re.search(r'<script src="/static/staff_idle.js" id="idle-script"([^>]*)>', page).group(1)
    assert 'data-idle="1800"' in script and 'data-alive="/staff/alive"' in script
    assert 'data-to="/staff/inquiries?idle=1"' in script   # its own reload: not use (_counts_as_use)
    assert browser.get("/static/staff_idle.js").status_code == 200
    _move_back(hq, "last_seen_at", dt.timedelta(minutes=29))
    before = _last_seen(hq)
    assert browser.get("/staff/alive").status_code == 204       # what the script sends while staff type
    assert _last_seen(hq) > before
    # The log-in page and the public pages carry no idle reload.
    assert "idle-script" not in hq.test_client().get("/staff/login").get_data(as_text=True)
    assert "idle-script" not in browser.get("/safety/").get_data(as_text=True)


def test_a_staff_pages_own_idle_reload_and_the_public_pages_keep_no_unattended_pc_logged_in(hq):
    """Two staff tabs left open reloading each other's log-in alive, or the public occupancy table
    (which reloads itself every 5 s) open beside: neither is staff at work."""
    browser = hq.test_client()
    assert _login(browser).status_code == 302
    _move_back(hq, "last_seen_at", dt.timedelta(minutes=20))
    before = _last_seen(hq)
    page = browser.get("/staff/audit?idle=1")                     # another tab's reload, in time
    assert page.status_code == 200 and 'data-to="/staff/audit?idle=1"' in page.get_data(as_text=True)
    for public in ("/", "/map", "/safety/"):
        assert browser.get(public).status_code == 200
    assert _last_seen(hq) == before
    _move_back(hq, "last_seen_at", dt.timedelta(minutes=11))
    gone = browser.get("/staff/inquiries?idle=1")
    assert gone.status_code == 302 and gone.headers["Location"] == "/staff/login?next=%2Fstaff%2Finquiries"
    assert IDLE in browser.get(gone.headers["Location"]).get_data(as_text=True)


def test_the_dashboards_own_reload_and_the_maps_polling_keep_no_unattended_pc_logged_in(hq):
    browser = hq.test_client()
    assert _login(browser).status_code == 302
    page = browser.get("/dashboard?sort=id").get_data(as_text=True)
    assert '<meta http-equiv="refresh" content="15; url=/dashboard?sort=id&amp;auto=1">' in page
    _move_back(hq, "last_seen_at", dt.timedelta(minutes=20))
    before = _last_seen(hq)
    assert browser.get("/dashboard?sort=id&auto=1").status_code == 200
    assert browser.get("/api/v1/shelters").status_code == 200
    assert _last_seen(hq) == before                  # neither is staff at work
    _move_back(hq, "last_seen_at", dt.timedelta(minutes=11))
    gone = browser.get("/dashboard?sort=id&auto=1")
    assert gone.status_code == 302 and gone.headers["Location"] == "/staff/login?next=%2Fdashboard%3Fsort%3Did"
    assert IDLE in browser.get(gone.headers["Location"]).get_data(as_text=True)


def test_a_staff_page_that_reloads_itself_with_something_typed_on_it_says_it_was_lost(hq):
    browser = hq.test_client()
    assert _login(browser).status_code == 302
    _move_back(hq, "last_seen_at", dt.timedelta(minutes=31))
    sent = browser.get("/staff/inquiries?unsaved=1")   # as static/staff_idle.js reloads such a page
    assert sent.status_code == 302 and sent.headers["Location"] == "/staff/login?next=%2Fstaff%2Finquiries"
    page = browser.get(sent.headers["Location"]).get_data(as_text=True)
    assert IDLE in page and "入力途中の内容は送信されず、保存されていません" in page
    assert "What was typed on the page was not sent and NOT saved" in page


def test_a_form_sent_after_the_idle_log_out_is_not_saved_and_says_so(hq):
    from hq_dashboard.db import db
    browser = hq.test_client()
    assert _login(browser).status_code == 302
    token = _csrf(browser)
    _move_back(hq, "last_seen_at", dt.timedelta(hours=1))
    with hq.app_context():
        audits = db.session.execute(db.text("SELECT COUNT(*) FROM audit_log")).scalar()
        db.session.remove()
    sent = browser.post("/staff/inquiries/SI-NONE/reject", data={"csrf_token": token, "note": "typed for long"},
                        headers={"Referer": "http://localhost/staff/inquiries"})
    assert sent.status_code == 302 and sent.headers["Location"] == "/staff/login?next=/staff/inquiries"
    # Behind HQ's proxy on a port of its own: the page it was sent from is HQ's all the same.
    proxied = browser.post("/staff/inquiries/SI-NONE/reject", data={"csrf_token": token, "note": "typed"},
                           headers={"Referer": "https://localhost:8443/staff/inquiries?status=x"})
    assert proxied.headers["Location"] == "/staff/login?next=/staff/inquiries?status%3Dx"
    elsewhere = browser.post("/staff/inquiries/SI-NONE/reject", data={"csrf_token": token, "note": "typed"},
                             headers={"Referer": "https://evil.example/staff/inquiries"})
    assert elsewhere.headers["Location"] == "/staff/login"
    page = browser.get(sent.headers["Location"]).get_data(as_text=True)
    assert IDLE in page and "送信された内容は保存されていません" in page and "was NOT saved" in page
    with hq.app_context():
        assert db.session.execute(db.text("SELECT COUNT(*) FROM audit_log")).scalar() == audits
        db.session.remove()


def test_the_disaster_chosen_on_a_map_left_idle_is_not_saved_and_the_log_in_page_says_why(hq):
    browser = hq.test_client()
    assert _login(browser).status_code == 302
    token = re.search(r'name="csrf_token" value="([^"]+)"', browser.get("/map").get_data(as_text=True)).group(1)
    _move_back(hq, "last_seen_at", dt.timedelta(minutes=31))
    sent = browser.post("/map/disaster", data={"disaster": "tsunami", "csrf_token": token})
    assert sent.status_code == 302 and sent.headers["Location"] == "/staff/login?next=/map"
    page = browser.get(sent.headers["Location"]).get_data(as_text=True)
    assert IDLE in page and "送信された内容は保存されていません" in page
    assert hq.test_client().get("/api/v1/shelters").get_json()["disaster"] is None


def test_no_log_in_outlives_the_shift_however_busy(hq):
    browser = hq.test_client()
    assert _login(browser).status_code == 302
    _move_back(hq, "created_at", dt.timedelta(hours=8, minutes=1))   # STAFF_SESSION_HOURS is 8
    sent = browser.get("/staff/inquiries")
    assert sent.status_code == 302
    page = browser.get(sent.headers["Location"]).get_data(as_text=True)
    assert "ログインから8時間たったため、ログアウトしました" in page
    assert [r.ended_why for r in _sessions(hq)] == ["shift"]


def test_the_limits_are_settings_and_a_wrong_one_stops_hq_starting(hq_db_url):
    from hq_dashboard import SettingError, create_app
    for name, value in (("STAFF_IDLE_MINUTES", 0), ("STAFF_IDLE_MINUTES", "soon"), ("STAFF_SESSION_HOURS", -1)):
        with pytest.raises(SettingError, match=name):
            create_app({"SQLALCHEMY_DATABASE_URI": hq_db_url, "TESTING": True, name: value})


def test_a_shorter_idle_limit_is_taken(hq):
    hq.config["STAFF_IDLE_MINUTES"] = 5
    browser = hq.test_client()
    assert _login(browser).status_code == 302
    _move_back(hq, "last_seen_at", dt.timedelta(minutes=6))
    sent = browser.get("/staff/inquiries")
    assert sent.status_code == 302
    assert "5分間操作がなかったため" in browser.get(sent.headers["Location"]).get_data(as_text=True)


# -- disabled accounts and new passwords ---------------------------------------------------------------

@pytest.mark.parametrize("change", ["disable", "password"])
def test_disabling_or_a_new_password_ends_every_log_in_of_that_member_only(hq, change):
    from hq_dashboard.db import db
    from hq_dashboard.staff import disable_staff, enable_staff, set_password
    desk, laptop, other = hq.test_client(), hq.test_client(), hq.test_client()
    assert _login(desk).status_code == 302 and _login(laptop).status_code == 302
    assert _login(other, "reviewer2").status_code == 302
    copies = [_copy(desk, hq), _copy(laptop, hq)]
    with hq.app_context():
        if change == "disable":
            disable_staff(db.session, "reviewer1")
            enable_staff(db.session, "reviewer1")   # enabled again: the ended log-ins stay ended
        else:
            set_password(db.session, "reviewer1", "another long password")
        db.session.remove()
    why = "disabled" if change == "disable" else "password"
    assert [r.ended_why for r in _sessions(hq)] == [why, why]
    for client in (desk, laptop, *copies):
        assert client.get("/staff/inquiries").status_code == 302
    assert other.get("/staff/inquiries").status_code == 200
    assert [r.ended_why for r in _sessions(hq, "reviewer2")] == [None]


# -- the migration ---------------------------------------------------------------------------------------

def test_the_sessions_table_migrates_both_ways_keeping_the_accounts(hq_db_url):
    """0025 adds staff_sessions (SQLite and PostgreSQL) to a database with staff; they log in after it."""
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import inspect
    from werkzeug.security import generate_password_hash

    from hq_dashboard import MIGRATIONS_DIR, create_app
    from hq_dashboard.db import db
    app = create_app({"SQLALCHEMY_DATABASE_URI": hq_db_url, "TESTING": True})
    with app.app_context():
        upgrade(directory=MIGRATIONS_DIR, revision="0024_staff_disabled")
        with db.engine.begin() as conn:
            conn.execute(db.text("INSERT INTO staff_users (username, password_hash, created_at) VALUES"
                                 " ('reviewer1', :h, CURRENT_TIMESTAMP)"), {"h": generate_password_hash(HQ_PASSWORD)})
        upgrade(directory=MIGRATIONS_DIR)
        assert "staff_sessions" in inspect(db.engine).get_table_names()
        db.session.remove()
    browser = app.test_client()
    assert _login(browser).status_code == 302
    assert browser.get("/staff/inquiries").status_code == 200
    assert [r.ended_why for r in _sessions(app)] == [None]
    with app.app_context():
        downgrade(directory=MIGRATIONS_DIR, revision="0024_staff_disabled")
        with db.engine.connect() as conn:
            assert conn.execute(db.text("SELECT username FROM staff_users")).scalars().all() == ["reviewer1"]
            assert "staff_sessions" not in inspect(conn).get_table_names()
        db.engine.dispose()
