"""HQ's pages as a city engineer met them: a visitor on the map reads the disaster and logs in back to
the map; HQ's tables say kinds and statuses in Japanese; the arrivals chart's peak label stays clear of
the bars.  Real SQLite and PostgreSQL (the hq_app fixture)."""
from __future__ import annotations

import re
import time
import xml.etree.ElementTree as ET

import pytest

from hq_dashboard.db import db
from tests.wire import KioskStream, person

STAFF, PASSWORD = "hq-watch", "correct horse battery"


@pytest.fixture
def staff(hq_app):
    from hq_dashboard.staff import add_staff
    with hq_app.app_context():
        add_staff(db.session, STAFF, PASSWORD, "lead")


def token(client, path="/staff/login") -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


def log_in(client, login_url="/staff/login"):
    return client.post(login_url, data={"csrf_token": token(client), "username": STAFF, "password": PASSWORD})


def test_a_visitor_reads_the_disaster_and_logs_in_from_the_map_back_to_the_map(hq_app, staff):
    staff_client = hq_app.test_client()
    assert log_in(staff_client).status_code == 302
    chosen = staff_client.post("/map/disaster", data={"disaster": "storm_flood", "csrf_token": token(staff_client, "/map")})
    assert chosen.status_code == 302

    visitor = hq_app.test_client()
    page = visitor.get("/map").get_data(as_text=True)
    assert "<select" not in page and "/map/disaster" not in page
    assert re.search(r'<span id="evac-disaster">発生中の災害: <strong>風水害</strong></span>', page)
    link = re.search(r'<a href="([^"]+)" id="evac-login">職員ログイン</a>', page).group(1)
    assert link == "/staff/login?next=/map"
    back = log_in(visitor, link)
    assert back.status_code == 302 and back.headers["Location"] == "/map"
    page = visitor.get("/map").get_data(as_text=True)
    assert '<option value="storm_flood" selected>風水害</option>' in page and 'id="evac-login"' not in page


def test_a_visitors_choice_sent_anyway_leads_to_the_map_after_logging_in_never_to_the_post_only_address(hq_app, staff):
    visitor = hq_app.test_client()
    # The form as a page left open from before a log-out would send it.
    sent = visitor.post("/map/disaster", data={"disaster": "tsunami", "csrf_token": token(visitor)})
    assert sent.status_code == 302 and sent.headers["Location"] == "/staff/login?next=/map"
    assert "本部職員としてログインしてください" in visitor.get(sent.headers["Location"]).get_data(as_text=True)
    assert hq_app.test_client().get("/api/v1/shelters").get_json()["disaster"] is None   # nothing changed
    assert log_in(visitor, sent.headers["Location"]).headers["Location"] == "/map"
    # A next= naming an address that takes only POST (a hand-made link, or an old one) is not followed:
    # the redirect's GET would be a 405 page.
    for post_only in ("/map/disaster", "/staff/logout", "/api/v1/sync"):
        client = hq_app.test_client()
        landed = log_in(client, f"/staff/login?next={post_only}")
        assert landed.headers["Location"] == "/staff/inquiries", post_only
        assert client.get(landed.headers["Location"]).status_code == 200
    # Pages still are (with their query string).
    assert log_in(hq_app.test_client(), "/staff/login?next=/dashboard?sort=id").headers["Location"] == "/dashboard?sort=id"


RAW_CODES = ("shelter", "emergency_space", "tsunami_building", "open", "closed", "not_opened", "full")


def cells(page: str, table_start: str) -> list[list[str]]:
    body = page[page.index(table_start):]
    body = body[body.index("<tbody>"):body.index("</tbody>")]
    return [re.findall(r"<td[^>]*>(.*?)</td>", row, re.S) for row in re.findall(r"<tr.*?</tr>", body, re.S)]


def test_hq_tables_say_a_sites_kind_and_status_in_japanese(hq_app, hq_client, staff, enroll):
    k = KioskStream("kiosk-words", shelter_id="H001", start_ms=int(time.time() * 1000) - 60_000)
    k.checkin(person("焼津 一"))
    k2 = KioskStream("kiosk-full", shelter_id="H044", start_ms=int(time.time() * 1000) - 60_000)
    k2.checkin(person("和田 二"))
    k2.add("shelter_status", None, {"status": "full"})
    for tok, stream in ((enroll("H001"), k), (enroll("H044"), k2)):
        r = hq_client.post("/api/v1/sync", json={"device_id": stream.device_id, "events": stream.events},
                           headers={"Authorization": f"Bearer {tok}"})
        assert r.status_code == 200, r.get_json()

    rows = {r[0]: r for r in cells(hq_client.get("/").get_data(as_text=True), "<th>種別</th>")}
    assert len(rows) == 212
    assert rows["H001"][2:4] == ["指定避難所", "開設"]
    assert rows["H044"][2:4] == ["指定避難所", "満員"]
    assert rows["E001"][2:4] == ["指定緊急避難場所", "未開設"]
    assert rows["T001"][2:4] == ["津波避難ビル等", "未開設"]
    assert not {c for r in rows.values() for c in r[2:4]} & set(RAW_CODES)

    assert log_in(hq_client).status_code == 302
    page = hq_client.get("/dashboard?all=1").get_data(as_text=True)
    rows = {r[0]: r for r in cells(page, '<table id="shelters">')}
    assert (rows["H001"][2], rows["H044"][2], rows["E001"][2]) == ("開設", "満員", "未開設")
    assert not {r[2] for r in rows.values()} & set(RAW_CODES)
    assert '<tr class="full suitable" data-site="H044">' in page     # the row's colour still keys on the code


def test_the_peak_label_of_the_arrivals_chart_sits_above_every_bar(hq_app):
    import datetime as dt
    from hq_dashboard.dashboard import arrivals_svg
    now = dt.datetime(2026, 11, 26, 10, tzinfo=dt.timezone.utc)
    # The busiest hour last (the current hour: the right edge, where the label is).
    series = [(now - dt.timedelta(hours=23 - i), n) for i, n in enumerate([0] * 20 + [5, 80, 300, 644])]
    with hq_app.test_request_context():
        svg = ET.fromstring(arrivals_svg(series))
    ns = "{http://www.w3.org/2000/svg}"
    label = next(t for t in svg.iter(f"{ns}text") if "人/時" in t.text)
    assert label.text == "最大 644 人/時"
    tops = [float(r.get("y")) for r in svg.iter(f"{ns}rect")]
    # The label's baseline (its text ends there; descenders a few px below at 10 px) is above the
    # tallest bar's top, with room to spare.
    assert float(label.get("y")) + 3 <= min(tops)
    assert max(float(r.get("y")) + float(r.get("height")) for r in svg.iter(f"{ns}rect")) <= float(svg.get("height"))
    assert svg.get("viewBox") == f"0 0 {svg.get('width')} {svg.get('height')}"    # scales down on a phone
