"""What a review of HQ's alerts and pages found: the unsafe-site alert counting people at home and in cars
as in the shelter; the public table at / showing a closed shelter with people like any other row, without
those in transit, its kiosks in English only; a staff form sent after logging out answered with the
families' 安否確認 page.  Real HTTP through Flask's test client, on SQLite and PostgreSQL."""
from __future__ import annotations

import json
import re
import time
from urllib.parse import parse_qs, urlsplit

from hq_dashboard.db import db
from tests.test_hq_board_review import _check_in, _csrf, _page, _send, hq  # noqa: F401  (hq: the fixture)
from tests.test_hq_map import H001, square
from tests.test_possible_duplicates import log_in
from tests.wire import KioskStream, person

# --- low: the unsafe-site alert says who is inside and who is not ---------------------------------------

def test_the_unsafe_site_alert_counts_the_shelters_people_apart_from_those_at_home_or_in_cars(
        hq_app, hq_client, enroll, tmp_path):
    from hq_dashboard.importing import import_file
    from hq_dashboard.situation import set_disaster
    layer = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"最大浸水深": "0.5~1.0m未満の区域"},
         "geometry": {"type": "Polygon", "coordinates": square(*H001)}}]}
    (tmp_path / "rain.geojson").write_text(json.dumps(layer, ensure_ascii=False), encoding="utf-8")
    with hq_app.app_context():
        import_file(db.session, tmp_path / "rain.geojson", area_per_person_m2=3.5)
        set_disaster("storm_flood")
        db.session.remove()
    k = KioskStream("kiosk-h001", "H001", start_ms=int(time.time() * 1000) - 60_000)
    for i, stay in enumerate(("in_shelter", "in_shelter", "in_shelter", "at_home", "in_car")):
        k.checkin(person(f"二区 {i}", birth=f"19{50 + i}-01-01"), stay_type=stay)
    sent = hq_client.post("/api/v1/sync", json={"device_id": "kiosk-h001", "events": k.events},
                          headers={"Authorization": f"Bearer {enroll('H001')}"})
    assert sent.status_code == 200
    log_in(hq_app, hq_client, "desk")
    page = _page(hq_client)
    assert ("二区コミュニティ防災センター（H001）に避難所内 3 人（在宅・車中 2 人）が避難中ですが、風水害の危険区域内です"
            "（内水浸水想定区域: 0.5~1.0m未満の区域）") in page, page
    assert "5 人が避難中" not in page and "風水害には" not in page


# --- low: the public table at / ------------------------------------------------------------------------

def test_the_public_table_says_a_closed_shelter_with_people_and_counts_those_in_transit(hq, hq_client):
    people = _check_in(hq, 3)
    hq.kiosk.checkin(person("車 一", birth="1970-07-07"), stay_type="in_car")
    hq.kiosk.add("transfer", people[0], {"to_shelter_id": "H039"})
    hq.kiosk.add("shelter_status", None, {"status": "closed"})   # closed with 2 people still inside
    _check_in(hq, 1, "H052", first=30)
    _send(hq, hq_client)
    page = _page(hq_client, "/")
    row = re.search(r'<tr class="([^"]*)"><td>H031</td>(.*?)</tr>', page, re.S)
    assert "closed-with-people" in row.group(1).split() and '<td class="status">閉鎖（避難者あり）</td>' in row.group(2)
    assert re.search(r"tr\.closed-with-people\s*\{[^}]*background", page)   # styled, not a row like the others
    assert re.search(r'<tr class="open"><td>H052</td><td>焼津文化会館</td><td>[^<]*</td>\s*<td class="status">開設</td>', page)
    assert "避難所内 3 人 · 在宅 0 人 · 車中 1 人 · 移動中 1 人" in page
    assert not any(p["name"] in page for p in people)
    # Its kiosks in Japanese first, then English, as the page's other headings.
    assert "<h2>端末（キオスク） / Kiosks</h2>" in page and "<th>端末 / Kiosk</th>" in page
    assert "<h2>Kiosks</h2>" not in page


def test_the_public_table_says_a_closed_shelter_with_people_registered_outside(hq, hq_client):
    hq.kiosk.checkin(person("在宅 一", birth="1970-07-07"), stay_type="at_home")
    hq.kiosk.add("shelter_status", None, {"status": "closed"})
    _send(hq, hq_client)
    row = re.search(r'<tr class="([^"]*)"><td>H031</td>(.*?)</tr>', _page(hq_client, "/"), re.S)
    assert "closed" in row.group(1).split() and '<td class="status">閉鎖（在宅・車中の登録者あり）</td>' in row.group(2)


# --- low: a staff form sent after logging out -----------------------------------------------------------

def test_a_disaster_choice_sent_after_logging_out_says_so_on_hqs_staff_page(hq, hq_client):
    from hq_dashboard.situation import current_disaster
    token = _csrf(hq_client, "/map")
    logged_out = hq_client.post("/staff/logout", data={"csrf_token": token})
    assert logged_out.status_code == 302
    sent = hq_client.post("/map/disaster", data={"disaster": "tsunami", "csrf_token": token},
                          headers={"Referer": "http://localhost/map?layer=tsunami"})
    html = sent.get_data(as_text=True)
    assert sent.status_code == 400
    assert "ログアウトしているため、送信された内容は保存されていません" in html
    assert "You are logged out, so what you sent was NOT saved" in html
    # HQ's staff page in Japanese and English: not the families' 安否確認 page and its language bar.
    assert 'class="languages"' not in html and "安否確認" not in html and "Safety information" not in html
    login = re.search(r'<a href="([^"]+)" id="login-link">ログイン / Log in</a>', html).group(1)
    assert urlsplit(login).path == "/staff/login"
    assert parse_qs(urlsplit(login).query)["next"] == ["/map?layer=tsunami"]
    with hq.app_context():
        assert current_disaster() is None   # nothing was saved
        db.session.remove()
    # Logging in there goes back to the map.
    form = {"csrf_token": _csrf(hq_client, login), "username": "desk1", "password": "correct horse battery"}
    back = hq_client.post(login, data=form)
    assert back.status_code == 302 and back.headers["Location"] == "/map?layer=tsunami"


def test_a_staff_decision_sent_after_logging_out_says_so_too_and_without_a_page_behind_it(hq_app, hq_client):
    log_in(hq_app, hq_client, "safety")
    token = _csrf(hq_client, "/staff/inquiries")
    hq_client.post("/staff/logout", data={"csrf_token": token})
    sent = hq_client.post("/staff/inquiries/1/release", data={"csrf_token": token})   # no Referer sent
    html = sent.get_data(as_text=True)
    assert sent.status_code == 400 and "ログアウトしているため" in html and 'class="languages"' not in html
    login = re.search(r'<a href="([^"]+)" id="login-link">', html).group(1)
    assert urlsplit(login).path == "/staff/login"
    # Logging out again from another tab left open: logged out is what was asked for.
    again = hq_client.post("/staff/logout", data={"csrf_token": token})
    assert again.status_code == 302 and again.headers["Location"] == "/staff/login"


def test_a_public_form_and_a_stale_staff_log_in_are_answered_as_before(hq_app, hq_client):
    page = hq_client.post("/staff/login?lang=ja", data={"username": "x", "password": "y", "csrf_token": "stale"})
    assert page.status_code == 400 and "ログアウトしているため" not in page.get_data(as_text=True)
    form = hq_client.post("/safety/self-report?lang=en", data={"name": "焼津 花子", "csrf_token": "stale"})
    assert form.status_code == 400 and 'class="languages"' in form.get_data(as_text=True)


def test_a_staff_form_with_a_stale_token_while_logged_in_is_said_on_hqs_staff_page_too(hq, hq_client):
    sent = hq_client.post("/map/disaster", data={"disaster": "tsunami", "csrf_token": "from-before-a-restart"},
                          headers={"Referer": "http://localhost/map"})
    html = sent.get_data(as_text=True)
    assert sent.status_code == 400 and 'class="languages"' not in html and "id=\"login-link\"" not in html
    assert "何も保存されていません。前の画面に戻って再読み込みし" in html
    assert "nothing was saved. Go back, reload the page and try again." in html
    assert '<a href="/map">戻る / Back</a>' in html
