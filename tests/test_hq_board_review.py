"""What HQ's dashboard, wall display and exports must say that a review with real kiosks found missing:
a shelter its staff closed with people still in it; people moving between shelters (counted nowhere else);
a site whose kiosk has gone silent (the wall's time is fresh, its numbers are not); the rows officers act
on first on the wall, told apart by id; the credit lines and time of every export.  Real HTTP through
Flask's test client, on SQLite and PostgreSQL."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import time
from html import unescape

import pytest
from sqlalchemy import update

from evac.opendata import STANDARD_HEADER
from hq_dashboard.db import db
from hq_dashboard.models import Kiosk, Shelter
from tests.test_hq_wall_display import _display
from tests.wire import KioskStream, person

PASSWORD = "correct horse battery"


def _csrf(client, path: str = "/staff/login") -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


@pytest.fixture
def hq(hq_app, hq_client, enroll):
    """HQ with a desk staff member logged in on hq_client, and a kiosk at 焼津中学校 (H031)."""
    from hq_dashboard.staff import add_staff
    with hq_app.app_context():
        add_staff(db.session, "desk1", PASSWORD, "desk")
    logged_in = hq_client.post("/staff/login", data={"csrf_token": _csrf(hq_client), "username": "desk1",
                                                     "password": PASSWORD})
    assert logged_in.status_code == 302
    hq_app.kiosk_token = enroll("H031")
    hq_app.kiosk = KioskStream("kiosk-board", shelter_id="H031")
    return hq_app


def _send(app, client) -> None:
    sent = client.post("/api/v1/sync", json={"device_id": "kiosk-board", "events": app.kiosk.events},
                       headers={"Authorization": f"Bearer {app.kiosk_token}"})
    assert sent.status_code == 200, sent.get_json()


def _check_in(app, n: int, shelter_id: str = "H031", first: int = 0) -> list[dict]:
    people = [person(f"焼津 {first + i}", birth=f"19{40 + (first + i) // 300 % 60:02d}-{1 + (first + i) // 28 % 12:02d}-"
                     f"{1 + (first + i) % 28:02d}") for i in range(n)]
    for p in people:
        app.kiosk.checkin(p, shelter_id=shelter_id)
    return people


def _page(client, path: str = "/dashboard", **headers) -> str:
    got = client.get(path, headers=headers)
    assert got.status_code == 200, got.status_code
    return unescape(got.get_data(as_text=True))


def _wall_rows(wall) -> list[str]:
    return re.findall(r'<tr class="[^"]*" data-site="([^"]+)"', _page(wall))


def _wall_row(wall, site: str) -> str:
    return re.search(rf'<tr class="([^"]*)" data-site="{site}">(.*?)</tr>', _page(wall), re.S).group(0)


def _capacity(app, site: str, capacity: int) -> None:
    with app.app_context():
        db.session.execute(update(Shelter).where(Shelter.id == site).values(capacity=capacity))
        db.session.commit()
        db.session.remove()


# --- H1: a shelter closed by its staff with people still in it ---------------------------------------

def test_a_shelter_closed_with_people_in_it_is_an_alert_and_first_on_the_wall_marked_closed(hq, hq_client):
    _check_in(hq, 3)
    _check_in(hq, 1, "H052", first=10)
    hq.kiosk.add("shelter_status", None, {"status": "closed"})   # the tablet's 閉鎖, with 3 people in it
    _send(hq, hq_client)
    alert = "閉鎖した避難所 焼津中学校（H031）に 3 人が残っています"
    page = _page(hq_client)
    assert f"<li>{alert} / Closed shelter 焼津中学校 (H031): 3 people are still in it</li>" in page
    assert re.search(r'data-site="H031"><td>H031</td><td>焼津中学校</td><td>閉鎖（避難者あり）</td>', page)
    # The staff member's language after the Japanese, as the page's other words.
    assert f"{alert} / Nơi lánh nạn đã đóng 焼津中学校 (H031): vẫn còn 3 người" in _page(
        hq_client, **{"Accept-Language": "vi"})
    numbers = hq_client.get("/dashboard/numbers?auto=1").get_json()
    assert any(a.startswith(alert) for a in numbers["alerts"])
    assert [s["closed_with_people"] for s in numbers["sites"] if s["id"] == "H031"] == [True]
    wall = _display(hq)
    assert _wall_rows(wall)[0] == "H031"
    assert '<span class="closed-mark">閉鎖</span>' in _wall_row(wall, "H031")
    assert "閉鎖した避難所に避難者 <span" in _page(wall)
    # Opened again: no alert, no mark.
    hq.kiosk.add("shelter_status", None, {"status": "open"})
    _send(hq, hq_client)
    assert "閉鎖した避難所" not in _page(hq_client) and "closed-mark\">" not in _page(wall)


def test_one_person_left_in_a_closed_shelter_is_one_person_in_english(hq, hq_client):
    _check_in(hq, 1)
    hq.kiosk.add("shelter_status", None, {"status": "closed"})
    _send(hq, hq_client)
    assert ("閉鎖した避難所 焼津中学校（H031）に 1 人が残っています / Closed shelter 焼津中学校 (H031): 1 person is "
            "still in it") in _page(hq_client)
    # The wall's alert names the site with its id (焼津地域交流センター is both H045 and T046).
    assert re.search(r'<li id="alert-closed"><b>閉鎖した避難所に避難者 <span[^>]*>[^<]*</span>: 1</b> 焼津中学校（H031）</li>',
                     _page(_display(hq)))


def test_the_transit_alert_names_the_five_largest_destinations_then_how_many_more(hq, hq_client):
    from hq_dashboard.dashboard import TRANSIT_SITES_NAMED
    bound = ["H052", "H039", "H001", "H002", "H003", "H004", "H005"]
    moving = _check_in(hq, 8)
    for p, site in zip(moving, bound + ["H052"]):   # two to H052: the largest, named first
        hq.kiosk.add("transfer", p, {"to_shelter_id": site})   # (2025: long ago)
    _send(hq, hq_client)
    page = _page(hq_client)
    said = re.search(r"避難所の間を移動中のまま 2 時間以上たった人が 8 人います（行き先: ([^）]*(?:）[^）]*)*?)）。", page)
    assert said, page
    where = said.group(1)
    assert where.startswith("焼津文化会館（H052）2 人、")
    assert where.count(" 人") == TRANSIT_SITES_NAMED == 5
    assert where.endswith("、ほか 2 か所")
    assert ", 2 more sites)" in page


def test_a_shelter_never_opened_and_empty_is_no_alert(hq, hq_client):
    _check_in(hq, 1)
    _send(hq, hq_client)
    assert "閉鎖した避難所" not in _page(hq_client) and "closed-mark\">" not in _page(_display(hq))


# --- M3: people in transit between shelters --------------------------------------------------------

def test_people_in_transit_are_counted_on_the_dashboard_its_numbers_and_the_wall_without_names(hq, hq_client):
    moving = _check_in(hq, 3)
    now_ms = int(time.time() * 1000)
    # One sent on three hours ago, one a minute ago: both in transit, the first for long.
    hq.kiosk.add("transfer", moving[0], {"to_shelter_id": "H052"})            # (2025: long ago)
    hq.kiosk.add("consent", moving[1], {"consent": "none", "never_disclose": True})   # a protected person
    hq.kiosk.add("transfer", moving[1], {"to_shelter_id": "H039"}, at_ms=now_ms - 60_000)
    _send(hq, hq_client)
    page = _page(hq_client)
    assert re.search(r'移動中 <b id="total-in-transit">2</b> 人\s*<small class="transit-long" id="transit-long">'
                     r'（うち 2 時間以上 1 人）</small>', page)
    # The destination's id in brackets and its count in people: "H052 1" read as one id.
    assert "避難所の間を移動中のまま 2 時間以上たった人が 1 人います（行き先: 焼津文化会館（H052）1 人）。" in page
    assert "(bound for 焼津文化会館（H052） 1 person)" in page
    assert "Ask the shelters they were bound for whether they arrived." in page
    numbers = hq_client.get("/dashboard/numbers?auto=1").get_json()
    assert numbers["totals"]["in_transit"] == 2 and numbers["in_transit_long"] == 1
    assert 'id="total-in-transit">2</b>' in numbers["html"]
    wall = _page(_display(hq))
    assert re.search(r'移動中 <span class="en" lang="en">/ In transit</span> <b id="total-in-transit">2</b>', wall)
    # The dashboard's alert for those in transit for long is the wall's too: a count, no destination.
    assert ('<li id="alert-transit"><b>2 時間以上 移動中 <span class="en" lang="en">/ In transit for over 2 h</span>'
            ': 1</b></li>') in wall
    # Counts only: no one in transit is named, the protected one least of all.
    for shown in (page, json.dumps(numbers, ensure_ascii=False), wall):
        assert not any(p["name"] in shown for p in moving[:2])
    # Checked in where they were going: in transit no more.
    hq.kiosk.checkin(moving[0], shelter_id="H052")
    hq.kiosk.checkin(moving[1], shelter_id="H039")
    _send(hq, hq_client)
    page = _page(hq_client)
    assert 'id="total-in-transit">0</b>' in page and "移動中のまま" not in page


def test_the_transit_alert_hours_are_a_setting_checked_when_hq_starts(hq_db_url):
    from hq_dashboard import SettingError, create_app
    with pytest.raises(SettingError, match="EVAC_TRANSIT_ALERT_HOURS"):
        create_app({"SQLALCHEMY_DATABASE_URI": hq_db_url, "TESTING": True, "TRANSIT_ALERT_HOURS": "two"})


# --- M2: a site whose kiosk is silent, on the wall ---------------------------------------------------

def test_a_site_whose_kiosk_is_silent_is_marked_in_its_row_on_the_wall(hq, hq_client):
    _check_in(hq, 2)
    _send(hq, hq_client)
    wall = _display(hq)
    assert "受信なし" not in _page(wall)
    with hq.app_context():
        db.session.execute(update(Kiosk).values(
            last_sync_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=11)))
        db.session.commit()
        db.session.remove()
    row = _wall_row(wall, "H031")
    assert " silent" in row and '<span class="silent-mark" title="10分以上 受信なし">受信なし</span>' in row
    assert re.search(r'<li id="alert-silent"><b>10分以上 受信なし <span class="en" lang="en">/ No data for 10\+ min'
                     r'</span>: 1</b> 焼津中学校（H031）</li>', _page(wall))
    # Nothing of the kiosk itself on the wall: no id, no time.
    with hq.app_context():
        kiosk_id = db.session.query(Kiosk.id).scalar()
        db.session.remove()
    assert kiosk_id not in _page(wall)


# --- M5: the wall's order and its ids --------------------------------------------------------------

def test_the_wall_lists_full_then_closed_then_nearly_full_before_sites_unsafe_in_the_disaster(hq, hq_client):
    from hq_dashboard.situation import set_disaster, site_views
    with hq.app_context():
        set_disaster("tsunami")
        views = site_views()
        unsafe = [v.shelter.id for v in views if v.suitability != "suitable" and v.shelter.kind == "shelter"][:3]
        suitable = [v.shelter.id for v in views if v.suitability == "suitable" and v.shelter.kind == "shelter"
                    and v.shelter.id != "H031"][:2]
        db.session.remove()
    nearly, half = suitable
    _capacity(hq, nearly, 25)
    _capacity(hq, half, 100)
    _capacity(hq, "H031", 2)
    _check_in(hq, 2)                                     # H031 full
    _check_in(hq, 24, nearly, first=100)                 # 96%
    _check_in(hq, 50, half, first=200)                   # 50%
    for i, site in enumerate(unsafe):                    # people where a tsunami makes the site unsafe
        _check_in(hq, 30, site, first=300 + 30 * i)
    closed = "H052"
    _check_in(hq, 1, closed, first=500)
    hq.kiosk.add("shelter_status", None, {"status": "closed"}, shelter_id=closed)
    _send(hq, hq_client)
    rows = _wall_rows(_display(hq))
    assert rows[:3] == ["H031", closed, nearly], rows
    assert set(unsafe) <= set(rows[3:]) and half in rows[3:], rows


def test_two_sites_of_one_name_are_told_apart_on_the_wall_by_their_ids(hq, hq_client):
    # 二区コミュニティ防災センター is a 指定避難所 (H001) and a 津波避難ビル (T002).
    _check_in(hq, 2, "H001")
    _check_in(hq, 3, "T002", first=10)
    _send(hq, hq_client)
    wall = _display(hq)
    for site in ("H001", "T002"):
        assert re.search(rf'<td class="sid">{site}</td><td class="name" title="二区コミュニティ防災センター（{site} ',
                         _wall_row(wall, site))


# --- low: fullness, the site count, the exports -----------------------------------------------------

@pytest.mark.parametrize("people, said", [(29, "29%"), (106, "106%")])
def test_the_dashboard_and_the_wall_say_the_same_truncated_fullness(hq, hq_client, people, said):
    _capacity(hq, "H031", 100)
    _check_in(hq, people)
    _send(hq, hq_client)
    assert re.search(rf'<td class="n">{people}</td><td class="n">100</td>\s*<td class="n">{said}</td>', _page(hq_client))
    assert f'<td class="n pct">{said}</td>' in _wall_row(_display(hq), "H031")


def test_the_dashboards_count_of_all_sites_is_the_databases(hq, hq_client):
    assert "全 212 か所を表示" in _page(hq_client)
    with hq.app_context():
        db.session.add(Shelter(id="H999", name="新設避難所", kind="shelter", lat=34.86, lon=138.31))
        db.session.commit()
        db.session.remove()
    assert "全 213 か所を表示" in _page(hq_client)


def test_the_exports_say_when_their_numbers_are_from_in_the_file_and_its_name(hq, hq_client):
    _check_in(hq, 2)
    _send(hq, hq_client)
    got = hq_client.get("/export/shelters.csv")
    stamp = re.fullmatch(r"attachment; filename=shelters_(\d{8}-\d{6})JST\.csv", got.headers["Content-Disposition"])
    assert stamp
    rows = list(csv.reader(io.StringIO(got.get_data(as_text=True).lstrip("\ufeff"))))
    at = rows[0].index("時点")
    as_of = dt.datetime.strptime(stamp.group(1), "%Y%m%d-%H%M%S").strftime("%Y-%m-%d %H:%M:%S JST")
    assert {r[at] for r in rows[1:]} == {as_of} and rows[0][-1] == "出典"
    got = hq_client.get("/export/shelters.geojson")
    assert re.fullmatch(r"attachment; filename=shelters_\d{8}-\d{6}JST\.geojson", got.headers["Content-Disposition"])
    body = json.loads(got.get_data(as_text=True))
    assert dt.datetime.fromisoformat(body["as_of"]).tzinfo is not None and body["as_of_jst"].endswith(" JST")


def test_the_standard_export_carries_each_sites_credit_line(hq, hq_client):
    got = hq_client.get("/export/evacuation_space_standard.csv")
    rows = list(csv.reader(io.StringIO(got.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0] == list(STANDARD_HEADER)
    note = rows[0].index("備考")
    assert len(rows) == 32 and all(r[note].startswith("出典：") for r in rows[1:]), {r[note] for r in rows[1:]}
