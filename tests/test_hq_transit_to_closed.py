"""People sent on (a transfer) to a shelter its staff have closed: HQ said nothing until they had been in
transit for hours, and then not that their destination was closed.  An alert at once, counted per
destination and naming no one; the destinations closed or full said so where HQ lists those in transit;
each site's status in the kiosks' configuration, which kiosks of today take as before.  Real HTTP through
Flask's test client, on SQLite and PostgreSQL; a real kiosk database for the kiosk's side."""
from __future__ import annotations

import json
import re
import time

from tests.test_hq_board_review import _check_in, _page, _send, hq  # noqa: F401  (hq: the fixture)
from tests.test_hq_wall_display import _display
from tests.test_possible_duplicates import log_in
from tests.test_safety_review_fixes import Kiosk
from tests.wire import person

H052 = "焼津文化会館（H052）"


def _close(app, site: str) -> None:
    """The tablet's 開設 then 閉鎖 at `site` (a kiosk there: its staff's record)."""
    app.kiosk.add("shelter_status", None, {"status": "open"}, shelter_id=site)
    app.kiosk.add("shelter_status", None, {"status": "closed"}, shelter_id=site)


# --- medium: people in transit to a shelter its staff closed ------------------------------------------

def test_people_sent_to_a_closed_shelter_are_an_alert_at_once_counted_per_destination(hq, hq_client):
    moving = _check_in(hq, 4)
    now_ms = int(time.time() * 1000)
    hq.kiosk.add("consent", moving[1], {"consent": "none", "never_disclose": True})   # a protected person
    # Sent on a minute ago: nowhere near the long-transit alert's two hours.
    for p, site in zip(moving, ("H052", "H052", "H039", "H031")):
        if site != "H031":
            hq.kiosk.add("transfer", p, {"to_shelter_id": site}, at_ms=now_ms - 60_000)
    _close(hq, "H052")
    _send(hq, hq_client)
    page = _page(hq_client)
    alert = f"2 人が閉鎖した避難所 {H052}へ移動中です"
    assert f"<li>{alert} / Closed shelter 焼津文化会館 (H052): 2 people are on their way to it</li>" in page
    assert "H039）へ移動中" not in page            # its destination is open: no alert
    assert "移動中のまま" not in page               # and the long-transit alert has nothing to say yet
    # In the staff member's language after the Japanese, as the dashboard's other alerts.
    assert f"{alert} / Abrigo fechado 焼津文化会館 (H052): 2 pessoas a caminho dele" in _page(
        hq_client, **{"Accept-Language": "pt"})
    numbers = hq_client.get("/dashboard/numbers?auto=1").get_json()
    assert [a for a in numbers["alerts"] if "へ移動中です" in a] == [
        f"{alert} / Closed shelter 焼津文化会館 (H052): 2 people are on their way to it"]
    assert numbers["in_transit_to_closed"] == {"H052": 2}
    # The wall: its own line, the closed site by name and id.
    wall_client = _display(hq)
    wall = _page(wall_client)
    assert re.search(r'<li id="alert-transit-closed"><b>閉鎖した避難所へ移動中 <span class="en" lang="en">/ In transit to '
                     rf'closed shelters</span>: 1</b> {H052}</li>', wall), wall
    # Counts only: no one in transit is named anywhere, the protected one least of all.
    for shown in (page, json.dumps(numbers, ensure_ascii=False), wall):
        assert not any(p["name"] in shown for p in moving[:3])
    # One of them arrives elsewhere, the other's shelter opens again: the alert follows, then goes.
    hq.kiosk.checkin(moving[0], shelter_id="H039")
    _send(hq, hq_client)
    assert f"<li>1 人が閉鎖した避難所 {H052}へ移動中です / Closed shelter 焼津文化会館 (H052): 1 person is on the way " \
           "to it</li>" in _page(hq_client)
    hq.kiosk.add("shelter_status", None, {"status": "open"}, shelter_id="H052")
    _send(hq, hq_client)
    assert "へ移動中です" not in _page(hq_client)
    assert "alert-transit-closed" not in _page(wall_client)


def _one_inside_and_one_on_the_way_to_closed_h052(hq, hq_client) -> None:
    """焼津文化会館 (H052) closed by its staff with one person still inside and one sent on to it a minute ago."""
    _check_in(hq, 1, "H052", first=20)
    moving = _check_in(hq, 1)
    hq.kiosk.add("transfer", moving[0], {"to_shelter_id": "H052"}, at_ms=int(time.time() * 1000) - 60_000)
    _close(hq, "H052")
    _send(hq, hq_client)


def test_the_alert_for_a_closed_destination_comes_with_that_shelters_other_alerts(hq, hq_client):
    """In the order of the sites' alerts: a closed shelter's people left inside, then those on the way to it."""
    _one_inside_and_one_on_the_way_to_closed_h052(hq, hq_client)
    alerts = hq_client.get("/dashboard/numbers?auto=1").get_json()["alerts"]
    left = next(i for i, a in enumerate(alerts) if a.startswith(f"閉鎖した避難所 {H052}に 1 人が残っています"))
    assert alerts[left + 1].startswith(f"1 人が閉鎖した避難所 {H052}へ移動中です")


def test_the_long_transit_alert_says_which_destinations_are_closed_or_full(hq, hq_client):
    moving = _check_in(hq, 3)
    for p, site in zip(moving, ("H052", "H039", "H001")):
        hq.kiosk.add("transfer", p, {"to_shelter_id": site})     # (2025: long ago)
    _close(hq, "H052")
    hq.kiosk.add("shelter_status", None, {"status": "full"}, shelter_id="H039")   # declared full by its staff
    _send(hq, hq_client)
    page = _page(hq_client)
    said = re.search(r"避難所の間を移動中のまま 2 時間以上たった人が 3 人います（行き先: ([^。]*)）。", page).group(1)
    assert "焼津文化会館（H052）［閉鎖］1 人" in said and "［満員］1 人" in said and "（H001）1 人" in said, said
    assert "焼津文化会館（H052） [closed] 1 person" in page and " [full] 1 person" in page


def test_the_needing_care_list_says_a_destination_is_closed_or_full(hq_app, hq_client, enroll):
    hurt = {"name": "大石 健", "birth_date": "1950-06-06", "sex": "male", "address": "焼津市小川5-6"}
    ill = {"name": "大石 花", "birth_date": "2019-01-01", "sex": "female", "address": "焼津市小川5-6"}
    cold = {"name": "大石 一", "birth_date": "1980-06-06", "sex": "male", "address": "焼津市小川5-6"}
    a = Kiosk(hq_client, enroll("H031"), "dev-a")
    a.send(*[("checkin", p, {"stay_type": "in_shelter"}) for p in (hurt, ill, cold)],
           ("status", hurt, {"status": "injured", "note": ""}), ("status", ill, {"status": "ill", "note": ""}),
           ("status", cold, {"status": "ill", "note": ""}),
           ("transfer", hurt, {"to_shelter_id": "H052"}), ("transfer", ill, {"to_shelter_id": "H039"}),
           ("transfer", cold, {"to_shelter_id": "H001"}))
    Kiosk(hq_client, enroll("H052"), "dev-b", "H052").send(("shelter_status", None, {"status": "open"}),
                                                           ("shelter_status", None, {"status": "closed"}))
    Kiosk(hq_client, enroll("H039"), "dev-c", "H039").send(("shelter_status", None, {"status": "full"}))
    log_in(hq_app, hq_client, "safety")
    html = hq_client.get("/staff/needing-care").get_data(as_text=True)
    row = lambda who: html.split(who["name"], 1)[1].split("</tr>", 1)[0]   # noqa: E731
    assert 'data-testid="moving">移動中（この避難所へ。閉鎖されています） / on the way to this shelter, which is closed<' \
        in row(hurt)
    assert 'data-testid="moving">移動中（この避難所へ。満員です） / on the way to this shelter, which is full<' in row(ill)
    assert 'data-testid="moving">移動中（この避難所へ） / on the way to this shelter<' in row(cold)


def test_the_kiosk_configuration_says_each_shelters_status_and_a_kiosk_of_today_ignores_it(hq_app, hq_client,
                                                                                            enroll, kiosk_store):
    token = enroll("H031")
    config = lambda: hq_client.get("/api/v1/kiosk/config",   # noqa: E731
                                   headers={"Authorization": f"Bearer {token}"}).get_json()
    before = {s["id"]: s for s in config()["shelters"]}
    assert {s["status"] for s in before.values()} == {"not_opened"}
    Kiosk(hq_client, token, "dev-a").send(("checkin", person("焼津 一"), {"stay_type": "in_shelter"}))
    Kiosk(hq_client, enroll("H052"), "dev-b", "H052").send(("shelter_status", None, {"status": "open"}),
                                                           ("shelter_status", None, {"status": "closed"}))
    Kiosk(hq_client, enroll("H039"), "dev-c", "H039").send(("shelter_status", None, {"status": "full"}))
    got = config()
    statuses = {s["id"]: s["status"] for s in got["shelters"]}
    assert (statuses["H031"], statuses["H052"], statuses["H039"], statuses["H001"]) == (
        "open", "closed", "full", "not_opened")
    # A kiosk as it is (it knows no status) takes the list as before, the field unread.
    kiosk_store.apply_config(got)
    assert len(kiosk_store.shelter_list()) == 212
    assert kiosk_store.shelter_name("H052") == "焼津文化会館"
    assert kiosk_store.shelter_ids() == set(statuses)


# --- a closed shelter nobody is left in, people on their way to it ------------------------------------

def _row(page: str, site: str) -> str | None:
    found = re.search(rf'<tr class="[^"]*" data-site="{site}">.*?</tr>', page, re.S)
    return found.group(0) if found else None


def test_a_closed_shelter_with_nobody_left_but_people_on_the_way_has_its_row_with_their_number(hq, hq_client):
    """The alert named it, the table did not (closed and empty: as a site never opened): staff reading the
    rows, and the page's refresh, missed the one site they must send someone to."""
    moving = _check_in(hq, 3)
    for p, site in zip(moving, ("H052", "H052", "H039")):
        hq.kiosk.add("transfer", p, {"to_shelter_id": site}, at_ms=int(time.time() * 1000) - 60_000)
    _close(hq, "H052")
    _send(hq, hq_client)
    row = _row(_page(hq_client), "H052")
    assert row is not None, "no row for the closed shelter people are on their way to"
    assert ('<td>閉鎖<br><strong class="transit-closed" data-in-transit-to-closed="2">閉鎖済みのこの避難所へ 2 人が移動中'
            '</strong></td>') in row
    # An open destination is no such row (H039: never opened, nobody in it, people on their way to it).
    assert _row(_page(hq_client), "H039") is None
    # The page's refresh draws the same rows, and its numbers say it for a program.
    numbers = hq_client.get("/dashboard/numbers?auto=1").get_json()
    assert _row(numbers["html"], "H052") == row
    site = next(s for s in numbers["sites"] if s["id"] == "H052")
    assert (site["status"], site["occupancy"], site["in_transit_to_closed"]) == ("closed", 0, 2)
    assert all(s["in_transit_to_closed"] == 0 for s in numbers["sites"] if s["id"] != "H052")
    # The wall: its row too, first (someone must go there), besides the alert it had; marked closed, with how
    # many are on their way, as a row with people in it is marked.
    wall_client = _display(hq)
    assert re.findall(r'<tr class="[^"]*" data-site="([^"]+)"', _page(wall_client))[0] == "H052"
    wall_row = re.search(r'<tr class="([^"]*)" data-site="H052">(.*?)</tr>', _page(wall_client), re.S)
    assert "closed-with-transit" in wall_row.group(1).split()
    assert ('<td class="status"><span class="closed-mark">閉鎖</span> '
            '<span class="transit-mark" title="ここへ移動中 2 人">移動中2</span> </td>') in wall_row.group(2)
    # Counts only: no one in transit named, on the page, in its numbers or on the wall.
    for shown in (_page(hq_client), json.dumps(numbers, ensure_ascii=False), _page(wall_client)):
        assert not any(p["name"] in shown for p in moving)
    # Both arrive elsewhere: closed and empty, nobody on the way, the row goes (as before).
    for p in moving[:2]:
        hq.kiosk.checkin(p, shelter_id="H039")
    _send(hq, hq_client)
    assert _row(_page(hq_client), "H052") is None
    assert "transit-closed" not in _page(hq_client)
    assert 'class="transit-mark"' not in _page(wall_client)


def test_a_closed_shelter_with_people_in_it_and_on_the_way_says_both_in_its_row(hq, hq_client):
    _one_inside_and_one_on_the_way_to_closed_h052(hq, hq_client)
    row = _row(_page(hq_client), "H052")
    assert "閉鎖（避難者あり）" in row and "閉鎖済みのこの避難所へ 1 人が移動中" in row
    wall_row = re.search(r'<tr class="([^"]*)" data-site="H052">(.*?)</tr>', _page(_display(hq)), re.S)
    assert {"closed-with-people", "closed-with-transit"} <= set(wall_row.group(1).split())
    assert '<td class="n occ">1/' in wall_row.group(2) and ">移動中1</span>" in wall_row.group(2)


def test_the_map_says_of_a_closed_shelter_how_many_are_on_their_way_to_it_in_the_readers_language(hq, hq_client):
    moving = _check_in(hq, 3)
    for p, site in zip(moving, ("H052", "H052", "H039")):
        hq.kiosk.add("transfer", p, {"to_shelter_id": site}, at_ms=int(time.time() * 1000) - 60_000)
    _close(hq, "H052")
    _send(hq, hq_client)
    # What the map's markers are drawn from (and polled): the count by closed site, for visitors as for staff.
    for client in (hq_client, hq.test_client()):
        got = client.get("/api/v1/shelters")
        sites = {f["properties"]["id"]: f["properties"] for f in got.get_json()["features"]}
        assert sites["H052"]["in_transit_to_closed"] == 2
        assert sites["H039"]["in_transit_to_closed"] == 0      # open to them: nothing to say
        # Its marker is not the grey of a closed site that needs nobody: closed, with people to send elsewhere.
        assert (sites["H052"]["occupancy"], sites["H052"]["marker"]["look"], sites["H052"]["marker"]["symbol"]) == (
            0, "closed_people", "閉")
        assert sites["H039"]["marker"]["look"] == "empty"
        assert not any(p["name"] in got.get_data(as_text=True) for p in moving)
    # The words its popup says it in, with the page: Japanese, then the reader's language.
    said = '"transit_closed": {"ja": "この避難所は閉鎖されています。ここへ移動中の人: {num} 人", "other": "%s", "lang": "%s"}'
    assert said % ("This shelter is closed. People on their way to it: {num}", "en") in _page(hq_client, "/map")
    assert said % ("Este abrigo está fechado. Pessoas a caminho dele: {num}", "pt") in _page(
        hq_client, "/map", **{"Accept-Language": "pt"})
    assert said % ("此避难所已关闭。正在前往此处的人数：{num} 人", "zh") in _page(hq_client, "/map?lang=zh")


def test_the_review_queue_says_a_records_destination_is_closed(hq_app, hq_client, enroll):
    from tests.test_safety_release_choice import CARD, two_records
    from tests.test_safety_review_fixes import ask
    a, _b = two_records(hq_client, enroll)          # 駿河 太郎 at H031 (the card's) and at H001 (typed)
    a.send(("transfer", CARD, {"to_shelter_id": "H052"}))
    c = Kiosk(hq_client, enroll("H052"), "dev-c", "H052")
    c.send(("shelter_status", None, {"status": "open"}), ("shelter_status", None, {"status": "closed"}))
    log_in(hq_app, hq_client, "safety")
    ref = ask(hq_client, "駿河 太郎", "1960-06-06", "relative").get_json()["inquiry_id"]
    queue = hq_client.get("/staff/inquiries").get_data(as_text=True)
    block = re.search(rf'id="inquiry-{ref}".*?</form>', queue, re.S).group(0)
    rows = re.findall(r'<tr><td><input type="radio" name="record" value="[1-9]\d*".*?</tr>', block, re.S)
    moving = [r for r in rows if "移動中 / moving" in r]
    staying = [r for r in rows if "避難所 / at the shelter" in r]
    assert len(moving) == 1 and len(staying) == 1, rows
    assert ('移動中 / moving 焼津文化会館 <strong class="error" data-testid="bound-closed">（この避難所は閉鎖されています / '
            'this shelter is closed）</strong>') in moving[0]
    assert "bound-closed" not in staying[0]
    # Open again: no longer said.
    c.send(("shelter_status", None, {"status": "open"}))
    assert "bound-closed" not in hq_client.get("/staff/inquiries").get_data(as_text=True)
