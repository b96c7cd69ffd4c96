"""A shelter its staff closed (閉鎖) with nobody left inside but people staying at home or in cars registered
to it: they came to it for food, water and news, and must be told where to turn now.  The dashboard alerts
as it does for people left inside (in its own words), the wall lists it, the map's popup says it.  Real
HTTP through Flask's test client, on SQLite and PostgreSQL."""
from __future__ import annotations

import re

from tests.test_hq_board_review import _page, _send, _wall_row, hq  # noqa: F401  (hq: the fixture)
from tests.test_hq_wall_display import _display
from tests.test_map_review_fixes import sites
from tests.wire import person

ALERT = "閉鎖した避難所 焼津中学校（H031）に在宅・車中の登録者が {n} 人います。食料や情報をどこで受け取るか知らせてください"


def _register(app, stays: list[str], shelter_id: str = "H031", first: int = 0) -> None:
    for i, stay in enumerate(stays):
        app.kiosk.checkin(person(f"在宅 {first + i}", birth=f"19{50 + first + i}-03-0{1 + i % 9}"), stay_type=stay,
                          shelter_id=shelter_id)


def test_a_closed_shelter_with_people_at_home_or_in_cars_registered_is_an_alert(hq, hq_client):
    _register(hq, ["at_home", "at_home", "in_car"])
    hq.kiosk.add("shelter_status", None, {"status": "closed"})   # the tablet's 閉鎖: nobody inside
    _send(hq, hq_client)
    page = _page(hq_client)
    assert (f"<li>{ALERT.format(n=3)} / Closed shelter 焼津中学校 (H031): 3 people staying at home or in cars are "
            "registered to it. Tell them where to get food and news now</li>") in page
    assert "人が残っています" not in page                       # nobody is inside: not the other alert
    assert re.search(r'data-site="H031"><td>H031</td><td>焼津中学校</td><td>閉鎖（在宅・車中の登録者あり）</td>', page)
    # In the staff member's language after the Japanese, as the dashboard's other alerts.
    assert f"{ALERT.format(n=3)} / Abrigo fechado 焼津中学校 (H031): 3 pessoas em casa ou em carros" in _page(
        hq_client, **{"Accept-Language": "pt"})
    numbers = hq_client.get("/dashboard/numbers?auto=1").get_json()
    assert any(a.startswith(ALERT.format(n=3)) for a in numbers["alerts"])
    assert [(s["closed_with_people"], s["closed_with_registered_outside"])
            for s in numbers["sites"] if s["id"] == "H031"] == [(False, 3)]
    # The wall: its own line, the site by name and id; the map's popup data.
    wall = _display(hq)
    assert re.search(r'<li id="alert-closed-outside"><b>閉鎖した避難所に在宅・車中の登録者 <span[^>]*>/ Closed shelters with '
                     r'people at home or in cars registered</span>: 1</b> 焼津中学校（H031）</li>', _page(wall))
    assert 'id="alert-closed"' not in _page(wall)
    h031 = sites(hq_client)["H031"]
    assert (h031["closed_with_people"], h031["closed_with_registered_outside"]) == (0, 3)
    # Opened again: no alert.
    hq.kiosk.add("shelter_status", None, {"status": "open"})
    _send(hq, hq_client)
    assert "閉鎖した避難所" not in _page(hq_client) and "alert-closed-outside" not in _page(wall)
    assert sites(hq_client)["H031"]["closed_with_registered_outside"] == 0


def test_one_person_in_a_car_is_one_person_and_people_inside_get_both_alerts(hq, hq_client):
    _register(hq, ["in_car"])
    hq.kiosk.checkin(person("中 一", birth="1960-06-06"), shelter_id="H031")       # and one inside
    hq.kiosk.add("shelter_status", None, {"status": "closed"})
    _send(hq, hq_client)
    page = _page(hq_client)
    assert (f"{ALERT.format(n=1)} / Closed shelter 焼津中学校 (H031): 1 person staying at home or in a car is "
            "registered to it.") in page
    assert "閉鎖した避難所 焼津中学校（H031）に 1 人が残っています" in page
    wall = _page(_display(hq))
    assert 'id="alert-closed"' in wall and 'id="alert-closed-outside"' in wall


def test_an_open_shelter_with_people_at_home_is_no_alert(hq, hq_client):
    _register(hq, ["at_home", "in_car"])
    _send(hq, hq_client)
    assert "閉鎖した避難所" not in _page(hq_client)
    wall = _display(hq)
    assert "alert-closed-outside" not in _page(wall)
    assert "閉鎖" not in _wall_row(wall, "H031")
