"""HQ's staff dashboard refreshes its numbers in place (static/dashboard_refresh.js) from /dashboard/numbers,
on SQLite and PostgreSQL: the part of the page that changes, drawn by the page's own template, and the
numbers in it as JSON, behind the dashboard's log-in and role; a log-in that ended is said (401), not sent
to the log-in page where the page's script would take it for an error for ever; the refresh is not staff
at work, so an unattended PC is still logged out.  (In Chromium: test_hq_dashboard_refresh_browser.py.)"""
from __future__ import annotations

import datetime as dt
import re

import pytest

from hq_dashboard import wall_display
from hq_dashboard.db import db
from tests.test_hq_staff_sessions import _last_seen, _move_back
from tests.wire import KioskStream, person

PASSWORD = "correct horse battery"
IDLE = "30分間操作がなかったため、ログアウトしました"


def _csrf(client, path: str = "/staff/login") -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


def _login(client, name: str = "reviewer1"):
    return client.post("/staff/login", data={"csrf_token": _csrf(client), "username": name, "password": PASSWORD})


@pytest.fixture
def hq(hq_app, hq_client, enroll):
    """HQ with a desk staff member logged in on hq_client, and a kiosk at 焼津中学校 (H031)."""
    from hq_dashboard.staff import add_staff
    with hq_app.app_context():
        add_staff(db.session, "reviewer1", PASSWORD, "desk")
    assert _login(hq_client).status_code == 302
    hq_app.kiosk_token = enroll("H031")
    hq_app.kiosk = KioskStream("kiosk-dash", shelter_id="H031")
    return hq_app


def _check_in(app, client, name: str, birth: str, needs: list[str] | None = None) -> None:
    app.kiosk.checkin(person(name, birth=birth))
    if needs:
        app.kiosk.add("needs", person(name, birth=birth), {"needs": needs})
    sent = client.post("/api/v1/sync", json={"device_id": "kiosk-dash", "events": app.kiosk.events},
                       headers={"Authorization": f"Bearer {app.kiosk_token}"})
    assert sent.status_code == 200, sent.get_json()


def _numbers(client, query: str = "sort=fullness&auto=1"):
    got = client.get(f"/dashboard/numbers?{query}")
    assert got.status_code == 200, got.status_code
    assert got.headers["Cache-Control"] == "no-store" and got.mimetype == "application/json"
    return got.get_json()


def _site(numbers: dict, site: str) -> dict:
    (found,) = [s for s in numbers["sites"] if s["id"] == site]
    return found


def _without_times(html: str) -> str:
    """The part of the page, less what moves with the clock (its time stamp, a kiosk's time since its sync)."""
    html = re.sub(r"\d\d:\d\d(:\d\d)? JST", "T", html)
    return re.sub(r"\d+ 分 \d+ 秒", "N", html)


def test_the_page_refreshes_from_its_numbers_which_change_with_a_check_in(hq, hq_client):
    _check_in(hq, hq_client, "焼津 一", "1950-04-01", needs=["dialysis"])
    page = hq_client.get("/dashboard?sort=id").get_data(as_text=True)
    # The page's script asks for the numbers in the page's order, as its own refresh (auto=1: not use).
    assert 'data-numbers-url="/dashboard/numbers?sort=id&amp;auto=1"' in page
    assert '<script src="/static/refresh_in_place.js"></script>' in page
    assert '<script src="/static/dashboard_refresh.js"></script>' in page
    # Without scripts, the whole page reloads itself as it did.
    assert '<noscript><meta http-equiv="refresh" content="15; url=/dashboard?sort=id&amp;auto=1"></noscript>' in page

    numbers = _numbers(hq_client, "sort=id&auto=1")
    assert numbers["totals"] == {"occupancy": 1, "at_home": 0, "in_car": 0, "in_transit": 0}
    h031 = _site(numbers, "H031")
    assert (h031["occupancy"], h031["name"], h031["needs"]) == (1, "焼津中学校", {"dialysis": 1})
    kiosk_id = hq.kiosk_token.split(".")[0]
    (kiosk,) = numbers["kiosks"]
    assert (kiosk["id"], kiosk["shelter_id"], kiosk["events"], kiosk["silent"]) == (kiosk_id, "H031", 2, False)
    assert dt.datetime.fromisoformat(kiosk["last_sync_at"]).tzinfo is not None
    assert numbers["alerts"] == [] and numbers["disaster"] is None
    assert re.fullmatch(r"\d\d:\d\d JST", numbers["updated"]) and re.fullmatch(r"\d\d:\d\d:\d\d JST",
                                                                               numbers["updated_at"])
    # The part of the page that changes, as the page draws it: nothing of the page around it.
    html = numbers["html"]
    assert html.startswith(f'<div id="dashboard-part" data-updated="{numbers["updated"]}" '
                           f'data-updated-at="{numbers["updated_at"]}">')
    assert "<html" not in html and "<script" not in html and "<nav" not in html and "csrf_token" not in html
    part = re.search(r'<main id="dashboard-numbers">(.*)</main>', page, re.S).group(1)
    assert _without_times(part) == _without_times(html)
    assert re.search(r'id="total-occupancy">1<', html) and "透析" in html

    # One more person, and a disaster chosen: the next refresh has them.
    _check_in(hq, hq_client, "焼津 二", "1951-04-01")
    from hq_dashboard.situation import set_disaster
    with hq.app_context():
        set_disaster("tsunami")
        db.session.remove()
    numbers = _numbers(hq_client, "sort=id&auto=1")
    assert numbers["totals"]["occupancy"] == 2 and _site(numbers, "H031")["occupancy"] == 2
    assert numbers["kiosks"][0]["events"] == 3 and numbers["disaster"] == "tsunami"
    assert re.search(r'id="total-occupancy">2<', numbers["html"]) and "津波" in numbers["html"]


def test_the_numbers_keep_the_pages_order_and_choice_of_sites(hq, hq_client):
    _check_in(hq, hq_client, "焼津 一", "1950-04-01")
    open_only = _numbers(hq_client)
    assert [s["id"] for s in open_only["sites"]] == ["H031"]
    every = _numbers(hq_client, "sort=id&all=1&auto=1")
    ids = [s["id"] for s in every["sites"]]
    assert len(ids) > 200 and ids == sorted(ids)
    page = hq_client.get("/dashboard?sort=id&all=1").get_data(as_text=True)
    assert 'data-numbers-url="/dashboard/numbers?sort=id&amp;all=1&amp;auto=1"' in page
    assert 'data-reload-url="/dashboard?sort=id&amp;all=1&amp;auto=1"' in page


def test_a_kiosks_alerts_reach_the_numbers(hq, hq_client):
    hq.config["KIOSK_SILENT_ALERT_S"] = -1
    numbers = _numbers(hq_client)
    assert numbers["kiosks"][0]["silent"] is True
    assert any("分間同期がありません（最終: 登録以来）" in alert for alert in numbers["alerts"])
    assert "分間同期がありません（最終: 登録以来）" in numbers["html"]


def test_no_log_in_is_said_in_json_and_the_refresh_keeps_no_unattended_pc_logged_in(hq, hq_client):
    visitor = hq.test_client()
    refused = visitor.get("/dashboard/numbers?auto=1")
    assert refused.status_code == 401 and refused.get_json()["error"] == "login_needed"
    assert "ログイン" in refused.get_json()["message"]
    # The page's own refresh is not staff at work: it does not keep the log-in alive ...
    _move_back(hq, "last_seen_at", dt.timedelta(minutes=20))
    before = _last_seen(hq)
    _numbers(hq_client)
    _numbers(hq_client)
    assert _last_seen(hq) == before
    # ... and past the idle limit the refresh hears that the log-in ended, not the log-in page's HTML.
    _move_back(hq, "last_seen_at", dt.timedelta(minutes=11))
    ended = hq_client.get("/dashboard/numbers?sort=id&auto=1")
    assert ended.status_code == 401 and ended.get_json()["error"] == "login_needed"
    assert IDLE in ended.get_json()["message"]
    # The page's script then goes to its own reload, which HQ sends to the log-in page, saying why.
    gone = hq_client.get("/dashboard?sort=id&auto=1")
    assert gone.status_code == 302 and gone.headers["Location"] == "/staff/login?next=%2Fdashboard%3Fsort%3Did"
    assert IDLE in hq_client.get(gone.headers["Location"]).get_data(as_text=True)


def test_a_wall_display_does_not_read_the_staff_dashboards_numbers(hq):
    """The kiosks' rows quote what a shelter sent, and the needs of care are few people's health: not
    for a wall (hq_dashboard.wall_display.board leaves them out)."""
    with hq.app_context():
        token = wall_display.add_display(db.session, "hq-wall", by="test")
        db.session.remove()
    wall = hq.test_client()
    page = wall.get(f"/display/{token}").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert wall.post(f"/display/{token}", data={"csrf_token": csrf}).status_code == 302
    assert wall.get("/dashboard/numbers?auto=1").status_code == 403


@pytest.mark.parametrize("language, second, error", [
    ("vi", "vi", "Chưa cập nhật từ {time} (trụ sở bị lỗi)"),
    ("ja", "en", "Not updated since {time} (HQ error)"),
    ("pt-BR", "pt", "Sem atualização desde {time} (erro na sede)"),
])
def test_the_notice_is_in_japanese_then_the_staff_members_language(hq, hq_client, language, second, error):
    page = hq_client.get("/dashboard", headers={"Accept-Language": language}).get_data(as_text=True)
    notice = re.search(r'<span id="dashboard-stale" role="alert" hidden (.*?)</span></span>', page, re.S).group(1)
    assert 'data-unreachable="{time} から更新されていません（本部につながりません）"' in notice
    assert 'data-error="{time} から更新されていません（本部のエラー）"' in notice
    assert f'data-error-other="{error}"' in notice and f'lang="{second}"' in notice


def test_a_wrong_refresh_period_stops_hq_starting(hq_db_url):
    from hq_dashboard import SettingError, create_app
    for value in (0, -5, "soon", "", None, float("nan"), 86_400, True):
        with pytest.raises(SettingError, match="DASHBOARD_REFRESH_SECONDS"):
            create_app({"SQLALCHEMY_DATABASE_URI": hq_db_url, "TESTING": True, "DASHBOARD_REFRESH_SECONDS": value})
    for value, kept in ((15, 15), ("30", 30), (2.5, 2.5)):
        app = create_app({"SQLALCHEMY_DATABASE_URI": hq_db_url, "TESTING": True, "DASHBOARD_REFRESH_SECONDS": value})
        assert app.config["DASHBOARD_REFRESH_SECONDS"] == kept
    assert create_app({"SQLALCHEMY_DATABASE_URI": hq_db_url, "TESTING": True}).config["DASHBOARD_REFRESH_SECONDS"] == 15


def test_the_refresh_period_set_is_the_pages(hq, hq_client):
    hq.config["DASHBOARD_REFRESH_SECONDS"] = 4
    page = hq_client.get("/dashboard?sort=id").get_data(as_text=True)
    assert 'data-refresh-seconds="4"' in page and 'content="4; url=/dashboard?sort=id&amp;auto=1"' in page


def test_hq_does_not_start_with_a_wrong_refresh_period_and_says_which_setting(tmp_path):
    import os
    import subprocess

    from tests.conftest import ROOT, evac_cmd
    env = {**os.environ, "EVAC_DASHBOARD_REFRESH_SECONDS": "0"}
    started = subprocess.run(evac_cmd("hq", "serve", "--db", f"sqlite:///{tmp_path / 'hq.sqlite3'}", "--port", "9"),
                             capture_output=True, text=True, cwd=ROOT, env=env, timeout=120, check=False)
    assert started.returncode != 0
    assert "EVAC_DASHBOARD_REFRESH_SECONDS" in started.stderr and "Traceback" not in started.stderr
