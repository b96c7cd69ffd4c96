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

RED = "#D55E00"   # situation.PALETTE["full"] (vermillion: colour-blind safe)


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
    # HQ's dashboard lists it first among the full ones, though 1 of 135 is far from full by the count.
    k2 = KioskStream("kiosk-busy", shelter_id="H002", start_ms=int(time.time() * 1000) - 60_000)
    for i in range(5):
        k2.checkin(person(f"焼津 {i}", birth=f"19{50 + i}-01-01"))
    sync(client, enroll(app, "H002"), k2)
    staff = logged_in(app)
    page = staff.get("/dashboard").get_data(as_text=True)
    assert page.index('data-site="H001"') < page.index('data-site="H002"')
    assert re.search(r'<tr class="full suitable" data-site="H001">', page)


def test_a_site_with_no_room_is_full_only_once_people_are_in_it(app):
    client = app.test_client()
    with app.app_context():
        db.session.get(Shelter, "E001").capacity = 0
        db.session.commit()
    site = sites(client)["E001"]
    assert site["status"] == "not_opened" and site["marker"]["fillColor"] != RED
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
    sites_json, words_json = re.search(r"sites: (\{.*\}),\n  words: (\{.*\})\n\}\);", page).groups()
    assert not set("<>&'") & set(sites_json + words_json)   # nothing the HTML parser could take for markup
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
        add_staff(db.session, name, password, "lead")


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


# --- 4. HQ staff log-in ---------------------------------------------------------------------------------

def test_one_staff_name_is_limited_from_every_address(app):
    app.config["STAFF_LOGIN_NAME_LIMIT"] = "2 per hour"
    add_staff(app)
    add_staff(app, "hq-other", PASSWORD)
    for address in ("10.1.0.1", "10.1.0.2"):
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = address
        assert login(client, password="guess one two").status_code == 401
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "10.1.0.3"
    refused = login(client)                      # the right password, but the name is being guessed at
    assert refused.status_code == 429 and "ログインの失敗が多すぎます" in refused.get_data(as_text=True)
    assert login(client, "hq-other").status_code == 302, "other staff can still log in"


def test_a_desk_the_name_logged_in_on_before_is_not_locked_out_by_guesses_elsewhere(app):
    app.config["STAFF_LOGIN_NAME_LIMIT"] = "2 per hour"
    add_staff(app)
    desk = app.test_client()
    desk.environ_base["REMOTE_ADDR"] = "10.2.0.1"
    assert login(desk).status_code == 302
    desk.post("/staff/logout", data={"csrf_token": csrf(desk)})
    for i in range(3):
        guesser = app.test_client()
        guesser.environ_base["REMOTE_ADDR"] = f"10.2.1.{i}"
        assert login(guesser, password="guess one two").status_code in (401, 429)
    assert login(desk).status_code == 302


def test_guesses_from_hqs_own_address_do_not_lock_out_a_desk_its_staff_logged_in_on(app):
    # Behind one proxy or NAT, every guesser has the staff's address: the per-address limit must not
    # stop a desk the name has logged in on.  A fresh browser at that address still is stopped.
    app.config["STAFF_LOGIN_LIMITS"] = "3 per hour"
    add_staff(app)
    desk = app.test_client()
    desk.environ_base["REMOTE_ADDR"] = "10.3.0.1"
    assert login(desk).status_code == 302
    desk.post("/staff/logout", data={"csrf_token": csrf(desk)})
    for name in ("admin", "hq", "root", "staff"):
        guesser = app.test_client()
        guesser.environ_base["REMOTE_ADDR"] = "10.3.0.1"
        assert login(guesser, name, password="guess one two").status_code in (401, 429)
    fresh = app.test_client()
    fresh.environ_base["REMOTE_ADDR"] = "10.3.0.1"
    assert login(fresh).status_code == 429
    assert login(desk).status_code == 302


def test_a_fresh_pc_on_hqs_own_network_is_not_locked_out_by_guesses_from_the_internet(tmp_path):
    """Guesses from outside exhaust the name's limit; a PC just handed to the staff member at HQ
    (STAFF_TRUSTED_NETWORKS, written as in the environment) still logs in, and its own wrong
    passwords are still limited, per name at its address."""
    from hq_dashboard import SettingError, create_app, prepare_database
    url = f"sqlite:///{tmp_path / 'hq.sqlite3'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "STAFF_LOGIN_NAME_LIMIT": "2 per hour",
                      "STAFF_TRUSTED_NETWORKS": " 10.20.0.0/16, fd00:20::/48 "})
    prepare_database(app)
    add_staff(app)
    for i in range(3):
        guesser = app.test_client()
        guesser.environ_base["REMOTE_ADDR"] = f"198.51.100.{i}"
        assert login(guesser, password="guess one two").status_code in (401, 429)
    outside = app.test_client()
    outside.environ_base["REMOTE_ADDR"] = "198.51.100.77"
    assert login(outside).status_code == 429, "the name is locked for anyone outside"
    for address in ("10.20.3.4", "fd00:20::5"):
        fresh = app.test_client()
        fresh.environ_base["REMOTE_ADDR"] = address
        assert login(fresh).status_code == 302, address
    typist = app.test_client()
    typist.environ_base["REMOTE_ADDR"] = "10.20.9.9"
    assert [login(typist, password="wrong wrong").status_code for _ in range(3)] == [401, 401, 429]
    with app.app_context():
        db.engine.dispose()
    with pytest.raises(SettingError, match="STAFF_TRUSTED_NETWORKS"):
        create_app({"SQLALCHEMY_DATABASE_URI": url, "STAFF_TRUSTED_NETWORKS": "HQ office"})


def test_an_unknown_name_costs_the_same_password_check_as_a_known_one(app, monkeypatch):
    from evac import passwords   # (HQ's and the kiosk's staff passwords are checked there)
    add_staff(app)
    checked = []

    def counting(pwhash, password):       # the real check, counted
        checked.append(pwhash)
        return check(pwhash, password)
    check = passwords.check_password_hash
    monkeypatch.setattr(passwords, "check_password_hash", counting)
    assert login(app.test_client(), "nobody-here").status_code == 401
    assert login(app.test_client(), STAFF, "wrong password!").status_code == 401
    assert len(checked) == 2
    # the same method and cost for both (werkzeug's hash header, e.g. scrypt:32768:8:1)
    assert checked[0].split("$")[0] == checked[1].split("$")[0]


def test_after_logging_in_staff_go_where_they_were_going_on_this_site_only(app):
    add_staff(app)
    visitor = app.test_client()
    to_login = visitor.get("/dashboard")
    assert to_login.status_code == 302 and "next=" in to_login.headers["Location"]
    query = to_login.headers["Location"][to_login.headers["Location"].index("?"):]
    assert login(visitor, query=query).headers["Location"] == "/dashboard"
    for bad in ("//evil.example/x", "https://evil.example/", "/\\evil.example", "/\t/evil.example", "dashboard"):
        client = app.test_client()
        from urllib.parse import quote
        assert login(client, query="?next=" + quote(bad)).headers["Location"] == "/staff/inquiries", bad


def test_the_dashboard_has_a_logout_that_works(app):
    client = logged_in(app)
    page = client.get("/dashboard").get_data(as_text=True)
    form = re.search(r'<form method="post" action="(/staff/logout)" class="logout">'
                     r'<input type="hidden" name="csrf_token" value="([^"]+)"', page)
    assert form and "ログアウト" in page
    assert client.post(form.group(1), data={"csrf_token": form.group(2)}).status_code == 302
    assert client.get("/dashboard").status_code == 302          # logged out


# --- 5. headers -----------------------------------------------------------------------------------------

def test_no_page_can_be_framed_or_sniffed_and_staff_pages_are_not_kept(app):
    visitor = app.test_client()
    for path in ("/", "/map", "/safety/", "/staff/login", "/api/v1/shelters", "/static/map.js"):
        r = visitor.get(path)
        assert r.status_code == 200, path
        assert r.headers["X-Frame-Options"] == "DENY", path
        assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"], path
        # Only HQ's own script files run, but on the map (folium writes its scripts inline).
        assert ("script-src 'self';" in r.headers["Content-Security-Policy"]) == (path != "/map"), path
        assert r.headers["X-Content-Type-Options"] == "nosniff", path
    add_staff(app)
    staff = app.test_client()
    r = login(staff)
    assert "SameSite=Lax" in r.headers["Set-Cookie"] and "HttpOnly" in r.headers["Set-Cookie"]
    for path in ("/staff/inquiries", "/dashboard", "/export/shelters.csv", "/export/shelters.geojson",
                 "/map", "/api/v1/shelters"):   # the last two carry needs counts for staff
        r = staff.get(path)
        assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store", path
    assert "no-store" not in visitor.get("/map").headers.get("Cache-Control", "")



def test_what_a_person_sent_and_an_inquirys_answer_are_not_kept_by_a_shared_phone(app):
    """A pre-registration's QR and names, a self-report's confirmation, a form shown again with what was
    typed, an inquiry's answer by the API: none may stay in a shared phone's cache or come back with Back."""
    visitor = app.test_client()

    def token(path):
        return re.search(r'name="csrf_token" value="([^"]+)"', visitor.get(path).get_data(as_text=True)).group(1)
    answers = {
        "prereg": visitor.post("/prereg", data={
            "csrf_token": token("/prereg"), "address": "静岡県焼津市本町5-9-1", "consent": "family",
            "family_code": "Yaizu2026", "m0_name": "焼津 太郎", "m0_birth": "1948-03-03", "m0_sex": "male"}),
        "self-report": visitor.post("/safety/self-report", data={
            "csrf_token": token("/safety/self-report"), "name": "焼津 花子", "name_kana": "", "birth_date": "1950-07-07",
            "sex": "female", "address": "焼津市本町5-9-1", "where": "at_home", "consent": "none", "family_code": ""}),
        "inquiry shown again": visitor.post("/safety/", data={
            "csrf_token": token("/safety/"), "sought_name": "焼津 太郎", "sought_birth_date": "2999-01-01"}),
    }
    asked = visitor.post("/api/v1/safety/inquiries", json={
        "inquirer": {"name": "焼津 一郎", "address": "焼津市本町5-9-1", "contact": "090-1234-5678"},
        "relationship": "household_family", "reason": "家族を探しています",
        "sought": {"name": "焼津 太郎", "birth_date": "1948-03-03", "address": "焼津市本町5-9-1"}},
        environ_base={"REMOTE_ADDR": "10.9.0.1"})
    assert asked.status_code == 201, asked.get_json()
    got = asked.get_json()
    answers["inquiry by the API"] = asked
    answers["its answer read again"] = visitor.get(
        f"/api/v1/safety/inquiries/{got['inquiry_id']}?key={got['access_key']}", environ_base={"REMOTE_ADDR": "10.9.0.1"})
    assert answers["prereg"].status_code == 200 and "<svg" in answers["prereg"].get_data(as_text=True)
    assert answers["self-report"].status_code == 201
    assert answers["inquiry shown again"].status_code == 422
    assert "焼津 太郎" in answers["inquiry shown again"].get_data(as_text=True)
    for what, answer in answers.items():
        assert answer.headers.get("Cache-Control") == "no-store", what
    assert "no-store" not in visitor.get("/safety/").headers.get("Cache-Control", ""), "the empty form may be kept"

# --- 6. error answers -----------------------------------------------------------------------------------

def test_errors_under_the_api_are_json_and_elsewhere_a_page_in_japanese_and_english(app):
    client = app.test_client()
    r = client.get("/api/v1/nope")
    assert r.status_code == 404 and r.get_json()["error"] == "not_found" and r.get_json()["message"]
    r = client.get("/api/v1/sync")
    assert r.status_code == 405 and r.get_json()["error"] == "method_not_allowed" and "POST" in r.headers["Allow"]
    r = client.get("/no-such-page")
    body = r.get_data(as_text=True)
    assert r.status_code == 404 and r.mimetype == "text/html"
    assert "このページはありません" in body and "There is no such page" in body
    r = client.put("/map")
    assert r.status_code == 405 and "この方法では使えません" in r.get_data(as_text=True)
    r = client.post("/safety/self-report", data={"note": "x" * (4 * 1024 * 1024 + 1)})
    assert r.status_code == 413 and "大きすぎます" in r.get_data(as_text=True)
    # the sync API's own answers are unchanged
    r = client.post("/api/v1/sync", json={})
    assert r.status_code == 401 and r.get_json()["error"]


def test_a_failing_database_is_said_in_japanese_and_english_not_werkzeugs_english(app):
    app.config["PROPAGATE_EXCEPTIONS"] = False      # as when served: TESTING would re-raise
    with app.app_context():
        db.session.execute(db.text("ALTER TABLE shelters RENAME TO shelters_away"))   # lost what the page reads
        db.session.commit()
    r = app.test_client().get("/")
    body = r.get_data(as_text=True)
    assert r.status_code == 500 and "本部のサーバーで問題が起きました" in body and "Something went wrong" in body
    assert "Internal Server Error</h1>" not in body
    assert r.headers["X-Frame-Options"] == "DENY"
    r = app.test_client().get("/api/v1/kiosk/config")
    assert r.status_code in (401, 500) and r.is_json


# --- 7. times in Japan's time ---------------------------------------------------------------------------

def test_times_are_shown_in_japan_time_to_the_second(app):
    import datetime as dt
    from hq_dashboard.models import Kiosk
    client = logged_in(app)
    k = KioskStream("kiosk-time", shelter_id="H001", start_ms=int(time.time() * 1000) - 60_000)
    k.checkin(person("焼津 一"))
    sync(client, enroll(app, "H001"), k)
    with app.app_context():
        synced = db.session.execute(db.select(Kiosk.last_sync_at)).scalar_one()
    synced = synced.replace(tzinfo=dt.timezone.utc) if synced.tzinfo is None else synced
    expected = (synced + dt.timedelta(hours=9)).strftime("%Y-%m-%d %H:%M:%S") + " JST"
    for path in ("/", "/dashboard"):
        page = client.get(path).get_data(as_text=True)
        assert expected in page, path
        assert "UTC" not in page and not re.search(r"\d\d:\d\d:\d\d\.\d", page), path
    page = client.get("/dashboard").get_data(as_text=True)
    assert "日本時間 JST" in page
    checked_in = dt.datetime.fromtimestamp(k.ms / 1000, dt.timezone.utc) + dt.timedelta(hours=9)
    assert f"<title>{checked_in:%m-%d %H}:00 JST: 1</title>" in page     # its hour's bar, in JST


# --- the map's poll: 304 when nothing changed -----------------------------------------------------------

def test_the_maps_poll_is_answered_not_modified_until_something_changes(app):
    client = app.test_client()
    first = client.get("/api/v1/shelters")
    etag = first.headers["ETag"]
    assert first.status_code == 200 and etag and first.headers["Cache-Control"] == "no-cache"
    again = client.get("/api/v1/shelters", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b"" and again.headers["ETag"] == etag
    k = KioskStream("kiosk-etag", shelter_id="H001", start_ms=int(time.time() * 1000) - 60_000)
    k.checkin(person("焼津 一"))
    sync(client, enroll(app, "H001"), k)
    changed = client.get("/api/v1/shelters", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert {f["properties"]["id"]: f["properties"]["occupancy"] for f in changed.get_json()["features"]}["H001"] == 1
