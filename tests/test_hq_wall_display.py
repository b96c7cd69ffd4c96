"""HQ's wall display (hq_dashboard.wall_display): a lead's one-time link makes a browser a display, which
sees the dashboard's numbers and the map and nothing else: every staff page and every form answers 403,
no name, kiosk or need of care is on its board, it is never logged out for idleness nor at a shift's end,
and it is no staff account.  Revoked, it says so at its next request.  Real HTTP through Flask's test
client, on SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from werkzeug.routing import BuildError, IntegerConverter

from evac.hlc import pack
from hq_dashboard import wall_display
from hq_dashboard.db import db
from hq_dashboard.models import AuditEntry, StaffSession, WallDisplay

PASSWORD = "correct horse battery"
HANAKO = {"name": "髙橋 花子", "birth_date": "1950-04-01", "sex": "female", "address": "静岡県焼津市本町5-9-1"}
REFUSED_JA, REFUSED_EN = "この画面は本部の壁面表示です", "This screen is HQ&#39;s wall display"
REVOKED_JA, REVOKED_EN = "表示用リンクは取り消されました", "The display link was revoked"
USED_JA, USED_EN = "この表示用リンクはすでに使われています", "This display link has already been used"


@pytest.fixture
def hq(hq_app, hq_client, enroll):
    """HQ holding 花子 at 焼津中学校 (H031), who needs dialysis, sent by a kiosk; a lead."""
    from hq_dashboard.staff import add_staff
    token = enroll("H031")
    person = {"kiosk_id": "dev-wall", "shelter_id": "H031", "person": HANAKO}
    events = [{**person, "seq": 1, "hlc": pack(1_764_000_000_000), "type": "checkin",
               "data": {"stay_type": "in_shelter"}},
              {**person, "seq": 2, "hlc": pack(1_764_000_000_001), "type": "needs", "data": {"needs": ["dialysis"]}}]
    sent = hq_client.post("/api/v1/sync", json={"device_id": "dev-wall", "events": events},
                          headers={"Authorization": f"Bearer {token}"})
    assert sent.status_code == 200, sent.get_json()
    with hq_app.app_context():
        add_staff(db.session, "lead1", PASSWORD, "lead")
    return hq_app


def _add(app, name: str = "hq-wall") -> str:
    with app.app_context():
        token = wall_display.add_display(db.session, name, by="lead1 (test)")
        db.session.remove()
    return token


def _open(client, token: str):
    page = client.get(f"/display/{token}")
    assert page.status_code == 200, page.status_code
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    return client.post(f"/display/{token}", data={"csrf_token": csrf})


def _display(app, name: str = "hq-wall"):
    client = app.test_client()
    opened = _open(client, _add(app, name))
    assert opened.status_code == 302 and opened.headers["Location"] == "/dashboard"
    return client


def _audit(app) -> list[tuple[str, str, str]]:
    """The audit log's entries after the lead's account was made."""
    with app.app_context():
        rows = [(e.actor, e.action, e.detail) for e in db.session.query(AuditEntry).order_by(AuditEntry.id)
                if e.action != "staff_added"]
        db.session.remove()
    return rows


def _csrf(client, path: str = "/staff/login") -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


def _login(client, name: str = "lead1", password: str = PASSWORD):
    return client.post("/staff/login", data={"csrf_token": _csrf(client), "username": name, "password": password})


def test_the_link_opens_a_display_once_and_a_second_use_is_refused_in_words(hq):
    token = _add(hq)
    wall = hq.test_client()
    # Opening the link shows a button: a chat program's preview of the link (a GET) does not spend it.
    assert wall.get(f"/display/{token}").status_code == 200
    assert _open(wall, token).status_code == 302
    assert wall.get("/dashboard").status_code == 200
    with hq.app_context():
        (display,) = db.session.query(WallDisplay).all()
        # Only hashes are kept: neither the link's token nor the cookie's value is in the table.
        assert token not in (display.link_hash, display.session_hash) and display.opened_at is not None
        assert wall.get_cookie(wall_display.COOKIE).value not in (display.link_hash, display.session_hash)
        db.session.remove()
    # The same link again, in another browser: refused, saying why, in Japanese first, and no display.
    other = hq.test_client()
    again = other.get(f"/display/{token}")
    assert again.status_code == 410
    text = again.get_data(as_text=True)
    assert text.index(USED_JA) < text.index(USED_EN) and "evac hq add-display" in text
    csrf = _csrf(other)
    sent = other.post(f"/display/{token}", data={"csrf_token": csrf})
    assert sent.status_code == 410 and USED_JA in sent.get_data(as_text=True)
    assert other.get_cookie(wall_display.COOKIE) is None
    assert other.get("/dashboard").status_code == 302   # an ordinary browser: to the log-in page
    # A link that never was: said so, not a traceback.
    unknown = other.get("/display/not-a-token")
    assert unknown.status_code == 404 and "この表示用リンクは有効ではありません" in unknown.get_data(as_text=True)
    # Made and opened (once) are in the audit log, as a change to an account is.
    assert [(actor, action) for actor, action, _ in _audit(hq)] == [
        ("lead1 (test)", "display_added"), ("wall display hq-wall", "display_opened")]


def test_a_display_sees_the_dashboards_numbers_and_the_map_and_no_one(hq):
    wall = _display(hq)
    board = wall.get("/dashboard")
    assert board.status_code == 200
    text = board.get_data(as_text=True)
    # The numbers: 花子 counted at 焼津中学校.  They refresh themselves in place from /wall/numbers
    # (static/wall_board.js); only a browser without scripts reloads the page, as not-use (auto=1).
    assert re.search(r'<tr class="[^"]*" data-site="H031">(?:(?!</tr>).)*?<td class="n occ">1/', text, re.S)
    assert re.search(r'<b id="total-occupancy">1</b>', text)
    assert 'data-numbers-url="/wall/numbers?sort=fullness"' in text and 'data-refresh-seconds="15"' in text
    assert re.search(r'<noscript><meta http-equiv="refresh" content="15; url=/dashboard\?sort=fullness&amp;auto=1">'
                     r'</noscript>', text)
    assert "避難状況" in text and "Evacuation situation" in text
    # Nothing personal nor anything that leads to it: no name, no need of care, no kiosk, no staff page.
    assert HANAKO["name"] not in text and "透析" not in text and "dialysis" not in text
    assert 'id="kiosks"' not in text and "dev-wall" not in text
    assert not re.search(r'href="/(staff|export)', text) and "<form" not in text
    # The staff dashboard does show the need and the kiosks: the wall's is another page, not the same one.
    staff = hq.test_client()
    assert _login(staff).status_code == 302
    staff_board = staff.get("/dashboard").get_data(as_text=True)
    assert 'id="kiosks"' in staff_board and "透析" in staff_board
    # The map, its poll and its files; not the map's staff log-in, which a display cannot follow.
    wall_map = wall.get("/map")
    assert wall_map.status_code == 200 and 'id="evac-login"' not in wall_map.get_data(as_text=True)
    assert 'id="evac-login"' in hq.test_client().get("/map").get_data(as_text=True), "a visitor has it"
    assert wall.get("/api/v1/shelters").status_code == 200
    assert wall.get("/static/map.js").status_code == 200
    assert wall.get("/dashboard?sort=occupancy&all=1&auto=1").status_code == 200


def test_the_boards_own_refresh_reads_its_numbers_and_only_a_display_may(hq):
    """What static/wall_board.js fetches: the numbers alone (no page around them), never kept by a cache,
    with no one's name in them; an ordinary browser or a staff log-in gets nothing there."""
    wall = _display(hq)
    numbers = wall.get("/wall/numbers?sort=fullness")
    assert numbers.status_code == 200 and numbers.headers["Cache-Control"] == "no-store"
    text = numbers.get_data(as_text=True)
    assert text.lstrip().startswith('<div id="board-part" data-updated="')
    assert re.search(r'data-updated="\d\d:\d\d JST" data-updated-at="\d\d:\d\d:\d\d JST"', text)
    assert re.search(r'data-site="H031">(?:(?!</tr>).)*?<td class="n occ">1/', text, re.S)
    assert "<html" not in text and "<script" not in text
    assert HANAKO["name"] not in text and "透析" not in text and "dev-wall" not in text
    assert hq.test_client().get("/wall/numbers").status_code == 404
    staff = hq.test_client()
    assert _login(staff).status_code == 302
    assert staff.get("/wall/numbers").status_code == 404
    assert [action for _, action, _ in _audit(hq)] == ["display_added", "display_opened"]


def _url(app, rule) -> str | None:
    """An address of `rule`, its arguments filled in (None when the rule takes no such value)."""
    with app.test_request_context():
        from flask import url_for
        args = {name: 1 if isinstance(rule._converters.get(name), IntegerConverter) else "x"
                for name in rule.arguments}
        try:
            return url_for(rule.endpoint, **args)
        except BuildError:
            return None


def test_a_display_is_refused_every_staff_page_and_every_form(hq):
    wall = _display(hq)
    gets = [r for r in hq.url_map.iter_rules() if r.rule.startswith(("/staff", "/export")) and "GET" in r.methods]
    posts = [r for r in hq.url_map.iter_rules() if "POST" in r.methods]
    assert len(gets) >= 6 and len(posts) >= 10   # the walk found HQ's pages
    assert all(_url(hq, rule) for rule in gets + posts)
    for rule in gets:
        url = _url(hq, rule)
        got = wall.get(url)
        assert got.status_code == 403, (url, got.status_code)
        text = got.get_data(as_text=True)
        assert text.index(REFUSED_JA) < text.index(REFUSED_EN), url
    for rule in posts:
        url = _url(hq, rule)
        got = wall.post(url, data={"disaster": "tsunami", "username": "lead1", "password": PASSWORD,
                                   "note": "wall"})
        assert got.status_code == 403, (url, got.status_code)
        assert "何も変更されていません" in got.get_data(as_text=True), url
    # The disaster is still none for everyone, and nothing but the display's own opening was written.
    assert "（未選択）" in wall.get("/dashboard").get_data(as_text=True)
    assert [action for _, action, _ in _audit(hq)] == ["display_added", "display_opened"]
    # The refusal leads back to the board.
    refused = wall.get("/staff/audit").get_data(as_text=True)
    assert 'href="/dashboard" id="display-home"' in refused


def test_a_revoked_display_says_so_at_its_next_request(hq):
    wall = _display(hq)
    map_only = _display(hq, "map-wall")
    assert map_only.get("/map").status_code == 200
    with hq.app_context():
        wall_display.revoke_display(db.session, "hq-wall", by="lead1 (test)")
        wall_display.revoke_display(db.session, "map-wall", by="lead1 (test)")
        db.session.remove()
    # The board's own reload gets the page that says why, Japanese first; the cookie goes with it.
    revoked = wall.get("/dashboard?sort=fullness&auto=1")
    assert revoked.status_code == 403
    text = revoked.get_data(as_text=True)
    assert text.index(REVOKED_JA) < text.index(REVOKED_EN) and "evac hq add-display" in text
    assert "http-equiv" not in text   # it stays on the screen
    assert wall.get_cookie(wall_display.COOKIE) is None
    assert wall.get("/dashboard").status_code == 302   # an ordinary browser now: the log-in page
    # The board's own refresh of its numbers gets the same page (wall_board.js puts it up in the board's place).
    refreshed = _display(hq, "refresh-wall")
    with hq.app_context():
        wall_display.revoke_display(db.session, "refresh-wall", by="lead1 (test)")
        db.session.remove()
    numbers = refreshed.get("/wall/numbers?sort=fullness")
    assert numbers.status_code == 403 and 'data-page="revoked"' in numbers.get_data(as_text=True)
    assert REVOKED_JA in numbers.get_data(as_text=True)
    # The map's poll is refused but keeps the cookie, so the map's next load says it.
    poll = map_only.get("/api/v1/shelters")
    assert poll.status_code == 403 and poll.get_json()["error"] == "display_revoked"
    assert REVOKED_JA in map_only.get("/map").get_data(as_text=True)
    assert [action for _, action, _ in _audit(hq)].count("display_revoked") == 3
    # A lead reads the entries in words.
    lead = hq.test_client()
    assert _login(lead).status_code == 302
    log = lead.get("/staff/audit").get_data(as_text=True)
    for words in ("表示用リンクの発行 / wall display link made", "表示用リンクの使用 / wall display opened",
                  "表示用リンクの取り消し / wall display revoked"):
        assert words in log, words


def test_a_display_is_never_logged_out_for_idleness_nor_at_a_shifts_end(hq):
    hq.config.update(STAFF_IDLE_MINUTES=1, STAFF_SESSION_HOURS=1)
    wall = _display(hq)
    staff = hq.test_client()
    assert _login(staff).status_code == 302
    with hq.app_context():   # a month unused, both: opened and last seen 30 days ago
        month = dt.timedelta(days=30)
        for display in db.session.query(WallDisplay):
            display.opened_at -= month
            display.last_seen_at -= month
        for login in db.session.query(StaffSession):
            login.created_at -= month
            login.last_seen_at -= month
        db.session.commit()
        db.session.remove()
    assert wall.get("/dashboard?auto=1").status_code == 200
    assert wall.get("/dashboard?auto=1").status_code == 200
    # The staff log-in of the same age is logged out, as it must be.
    assert staff.get("/dashboard").status_code == 302
    with hq.app_context():   # and the wall was seen now (list-displays tells a lead it is there)
        (display,) = db.session.query(WallDisplay).all()
        seen = display.last_seen_at.replace(tzinfo=dt.timezone.utc) if display.last_seen_at.tzinfo is None \
            else display.last_seen_at
        assert dt.datetime.now(dt.timezone.utc) - seen < dt.timedelta(minutes=5)
        db.session.remove()


def test_a_display_is_no_staff_account(hq):
    from hq_dashboard.staff import disable_staff, staff_list
    token = _add(hq)
    with hq.app_context():
        assert [user.username for user in staff_list(db.session)] == ["lead1"]
        # Not a lead either: the only lead still cannot be disabled.
        with pytest.raises(ValueError, match="last enabled lead"):
            disable_staff(db.session, "lead1", by="test")
        db.session.remove()
    # Its name and its link are no password, from an ordinary browser.
    browser = hq.test_client()
    assert _login(browser, "hq-wall", token).status_code == 401
    # A display cannot log in (or open the log-in page) at all.
    wall = hq.test_client()
    _open(wall, token)
    assert wall.get("/staff/login").status_code == 403
    assert wall.post("/staff/login", data={"username": "lead1", "password": PASSWORD}).status_code == 403
    with hq.app_context():
        assert db.session.query(StaffSession).count() == 0
        db.session.remove()


def test_a_link_opened_in_a_staff_browser_ends_that_log_in(hq):
    browser = hq.test_client()
    assert _login(browser).status_code == 302
    assert _open(browser, _add(hq)).status_code == 302
    with hq.app_context():
        (login,) = db.session.query(StaffSession).all()
        assert login.ended_at is not None
        db.session.remove()
    # The board, not the staff dashboard, and no staff page.
    assert 'data-page="wall-board"' in browser.get("/dashboard").get_data(as_text=True)
    assert browser.get("/staff/inquiries").status_code == 403


def test_names_are_checked_and_one_live_display_per_name(hq):
    _add(hq)
    with hq.app_context():
        with pytest.raises(ValueError, match="already a display"):
            wall_display.add_display(db.session, " hq-wall ", by="test")
        for bad in ("", "   ", "x" * 65):
            with pytest.raises(ValueError, match="1 to 64"):
                wall_display.add_display(db.session, bad, by="test")
        with pytest.raises(ValueError, match="no display called 'nope'"):
            wall_display.revoke_display(db.session, "nope", by="test")
        wall_display.revoke_display(db.session, "hq-wall", by="test")
        wall_display.add_display(db.session, "hq-wall", by="test")   # revoked: the name is free again
        assert [(d.name, d.revoked_at is None) for d in wall_display.displays(db.session)] == [
            ("hq-wall", False), ("hq-wall", True)]
        db.session.remove()


def test_the_migration_goes_down_to_0027_and_up_again(hq_app):
    """0028_wall_display on both databases: its table and its partial index (one live display per name)."""
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import inspect

    from hq_dashboard import MIGRATIONS_DIR
    _add(hq_app)
    with hq_app.app_context():
        downgrade(directory=MIGRATIONS_DIR, revision="0027_staff_role")
        assert "wall_displays" not in inspect(db.engine).get_table_names()
        upgrade(directory=MIGRATIONS_DIR)
        indexes = {ix["name"]: ix["unique"] for ix in inspect(db.engine).get_indexes("wall_displays")}
        assert indexes["ix_wall_displays_live_name"]
        db.session.remove()
    _add(hq_app)


def test_one_link_opened_in_two_browsers_at_once_makes_one_display(hq):
    import threading
    token = _add(hq)
    browsers = [hq.test_client() for _ in range(2)]
    forms = [re.search(r'name="csrf_token" value="([^"]+)"', b.get(f"/display/{token}").get_data(as_text=True))
             .group(1) for b in browsers]
    together, answers = threading.Barrier(2), [None, None]

    def send(i):
        together.wait()
        answers[i] = browsers[i].post(f"/display/{token}", data={"csrf_token": forms[i]}).status_code
    threads = [threading.Thread(target=send, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(answers) == [302, 410]
    assert sum(b.get_cookie(wall_display.COOKIE) is not None for b in browsers) == 1
    assert [action for _, action, _ in _audit(hq)] == ["display_added", "display_opened"]


def test_a_wrong_refresh_period_stops_hq_starting(hq_db_url):
    from hq_dashboard import SettingError, create_app
    for value in (0, -5, "soon", "", None, float("nan"), 86_400, True):
        with pytest.raises(SettingError, match="WALL_DISPLAY_REFRESH_SECONDS"):
            create_app({"SQLALCHEMY_DATABASE_URI": hq_db_url, "TESTING": True, "WALL_DISPLAY_REFRESH_SECONDS": value})
    for value, kept in ((15, 15), ("30", 30), (2.5, 2.5)):
        app = create_app({"SQLALCHEMY_DATABASE_URI": hq_db_url, "TESTING": True, "WALL_DISPLAY_REFRESH_SECONDS": value})
        assert app.config["WALL_DISPLAY_REFRESH_SECONDS"] == kept


def test_hq_does_not_start_with_a_wrong_refresh_period_and_says_which_setting(tmp_path):
    import os
    import subprocess

    from tests.conftest import ROOT, evac_cmd
    env = {**os.environ, "EVAC_WALL_DISPLAY_REFRESH_SECONDS": "0"}
    started = subprocess.run(evac_cmd("hq", "serve", "--db", f"sqlite:///{tmp_path / 'hq.sqlite3'}", "--port", "9"),
                             capture_output=True, text=True, cwd=ROOT, env=env, timeout=120, check=False)
    assert started.returncode != 0
    assert "EVAC_WALL_DISPLAY_REFRESH_SECONDS" in started.stderr and "Traceback" not in started.stderr
