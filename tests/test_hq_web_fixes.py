"""HQ's web pages as the public, families and HQ staff meet them on the day: the map's colours, the
page text, rate limits, staff log-in, headers, error pages, times and the city-list import."""
from __future__ import annotations

import re
import time

import pytest

from hq_dashboard.db import db
from hq_dashboard.models import Shelter
from tests.wire import KioskStream, person


@pytest.fixture
def app(tmp_path):
    from hq_dashboard import create_app, prepare_database
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'hq.sqlite3'}", "TESTING": True})
    prepare_database(app)
    yield app
    with app.app_context():
        db.engine.dispose()


def sync(client, token, stream):
    r = client.post("/api/v1/sync", json={"device_id": stream.device_id, "events": stream.events},
                    headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.get_json()


def enroll(app, shelter_id):
    from hq_dashboard.enrollment import enroll_kiosk
    with app.app_context():
        return enroll_kiosk(db.session, shelter_id)


def sites(client) -> dict[str, dict]:
    return {f["properties"]["id"]: f["properties"] for f in client.get("/api/v1/shelters").get_json()["features"]}


# --- 1. the map's colour says what the shelter's status says ------------------------------------------

RED = "#d62728"


def test_a_shelter_its_staff_declared_full_is_red_on_the_map(app):
    client = app.test_client()
    k = KioskStream("kiosk-full", shelter_id="H001", start_ms=int(time.time() * 1000) - 60_000)
    k.checkin(person("焼津 一"))
    k.add("shelter_status", None, {"status": "full"})
    sync(client, enroll(app, "H001"), k)
    site = sites(client)["H001"]
    assert (site["occupancy"], site["status"]) == (1, "full")          # 1 of 135, but staff say full
    assert site["marker"]["fillColor"] == RED
    # and it is not offered as room for others
    assert all(o["id"] != "H001" for s in sites(client).values() for o in s["overflow"])


def test_a_site_with_no_room_is_full_only_once_people_are_in_it(app):
    client = app.test_client()
    with app.app_context():
        db.session.get(Shelter, "E001").capacity = 0
        db.session.commit()
    site = sites(client)["E001"]
    assert site["status"] == "closed" and site["marker"]["fillColor"] != RED
    k = KioskStream("kiosk-e001", shelter_id="E001", start_ms=int(time.time() * 1000) - 60_000)
    k.checkin(person("焼津 一"))
    sync(client, enroll(app, "E001"), k)
    site = sites(client)["E001"]
    assert site["status"] == "full" and site["marker"]["fillColor"] == RED


# --- 2. a site's name cannot stop the live map ----------------------------------------------------------

def test_a_site_name_with_markup_stays_data_inside_the_maps_script(app):
    name = '避難所<!--<script>"x</script><b>&\''
    with app.app_context():
        db.session.get(Shelter, "H001").name = name
        db.session.commit()
    page = app.test_client().get("/map").get_data(as_text=True)
    sites_json = re.search(r"sites: (\{.*\})\n\}\);", page).group(1)
    assert not set("<>&'") & set(sites_json)          # nothing the HTML parser could take for markup
    import json
    features = {f["properties"]["id"]: f["properties"] for f in json.loads(sites_json)["features"]}
    assert features["H001"]["name"] == name           # and the name reads back exactly
    assert "<!--" not in page


# --- 8. an unknown disaster is not echoed as markup -----------------------------------------------------

def test_an_unknown_disaster_is_refused_on_a_page_that_escapes_it(app):
    client = logged_in(app)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/map").get_data(as_text=True)).group(1)
    r = client.post("/map/disaster", data={"disaster": "<img src=x onerror=alert(1)>", "csrf_token": token})
    body = r.get_data(as_text=True)
    assert r.status_code == 400 and "<img" not in body and "&lt;img src=x" in body
    assert "不明な災害の種類です" in body and "Unknown disaster" in body


STAFF, PASSWORD = "hq-watch", "correct horse battery"


def add_staff(app, name=STAFF, password=PASSWORD):
    from hq_dashboard.staff import add_staff
    with app.app_context():
        add_staff(db.session, name, password)


def csrf(client, path="/staff/login") -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


def login(client, name=STAFF, password=PASSWORD, query=""):
    return client.post("/staff/login" + query, data={"csrf_token": csrf(client), "username": name,
                                                     "password": password})


def logged_in(app):
    add_staff(app)
    client = app.test_client()
    assert login(client).status_code == 302
    return client


# --- 3. a crowd behind one address is not refused -------------------------------------------------------

def test_forty_families_behind_one_shelter_wifi_can_all_use_the_safety_pages(app):
    from limits import parse
    assert parse(app.config["SAFETY_RATE_PER_CLIENT"]).amount >= 600   # the default, per minute
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "192.0.2.40"         # one shelter's Wi-Fi
    token = csrf(client, "/safety/self-report")
    for family in range(40):   # each checks an answer and sends the self-report form (half filled in)
        assert client.get("/safety/check").status_code == 200, family
        r = client.post("/safety/self-report", data={"csrf_token": token})
        assert r.status_code == 422, (family, r.status_code)                 # what is missing, not 429
