"""HQ's map page, dashboard, disaster choice, hazard flags and exports, on SQLite and PostgreSQL."""
from __future__ import annotations

import csv
import io
import json
import re
import time

import pytest

from hq_dashboard.db import db
from hq_dashboard.models import Kiosk
from hq_dashboard.situation import PALETTE
from tests.wire import KioskStream, person

H001 = (138.3214856, 34.86145068)   # 二区コミュニティ防災センター: 地震・津波 and 風水害


@pytest.fixture(autouse=True)
def hq_staff(hq_app, hq_client):
    """These pages are HQ's own: the client is logged in as HQ staff (the map itself is public)."""
    from hq_dashboard.staff import add_staff
    with hq_app.app_context():
        add_staff(db.session, "hq-watch", "correct horse battery")
    page = hq_client.get("/staff/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert hq_client.post("/staff/login", data={"csrf_token": token, "username": "hq-watch",
                                                "password": "correct horse battery"}).status_code == 302


def test_visitors_see_no_needs_and_cannot_change_the_disaster_or_read_the_dashboard(hq_app):
    visitor = hq_app.test_client()
    props = visitor.get("/api/v1/shelters").get_json()["features"][0]["properties"]
    assert props["needs"] is None and "occupancy" in props
    for path in ("/dashboard", "/export/shelters.csv", "/export/shelters.geojson"):
        assert visitor.get(path).status_code == 302          # to the staff login
    page = visitor.get("/map").get_data(as_text=True)
    assert 'name="disaster"' not in page                # no choice offered: the disaster is shown as text
    token = re.search(r'name="csrf_token" value="([^"]+)"', visitor.get("/staff/login").get_data(as_text=True)).group(1)
    refused = visitor.post("/map/disaster", data={"disaster": "tsunami", "csrf_token": token})
    assert refused.status_code == 302 and refused.headers["Location"] == "/staff/login?next=/map"
    assert visitor.get("/api/v1/shelters").get_json()["disaster"] is None


def post(client, token, device_id, events):
    r = client.post("/api/v1/sync", json={"device_id": device_id, "events": events},
                    headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.get_json()


def sites(client) -> dict[str, dict]:
    return {f["properties"]["id"]: f["properties"] for f in client.get("/api/v1/shelters").get_json()["features"]}


def choose(client, disaster: str):
    page = client.get("/map").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = client.post("/map/disaster", data={"disaster": disaster, "csrf_token": token})
    assert r.status_code == 302, r.get_data(as_text=True)


def square(lon, lat, half=0.001):
    return [[[lon - half, lat - half], [lon + half, lat - half], [lon + half, lat + half],
             [lon - half, lat + half], [lon - half, lat - half]]]


def unescape(text: str) -> str:
    """folium writes layer names as JSON strings with \\uXXXX escapes."""
    return re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), text)


def test_map_page_has_every_layer_and_loads_nothing_from_outside(hq_client):
    page = unescape(hq_client.get("/map").get_data(as_text=True))
    for name in ("市域（オフライン地図）", "小学校区", "自主防災会", "自治会", "内水浸水想定区域", "浸水履歴",
                 "指定避難所 (56)", "指定緊急避難場所 (31)", "津波避難ビル等 (125)", "指定: 津波 (151)",
                 "指定: 風水害 (54)"):
        assert name in page, name
    assert "出典：焼津市オープンデータ" in page and "出典：国土数値情報（行政区域データ）" in page
    assert "指定緊急避難場所と指定避難所は異なります" in page           # GSI's notice passed on
    sources = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', page)
    assert "data:," in sources                          # the empty icon: no favicon request either
    sources.remove("data:,")
    assert sources and all(s.startswith("/static/") for s in sources), sources
    assert "L.tileLayer" not in page
    for src in sources:
        assert hq_client.get(src).status_code == 200, src
    assert hq_client.get("/static/vendor/leaflet/images/layers.png").status_code == 200
    # The three site layers (212 points, each with its marker style) are handed to the live-refresh script.
    start = page[page.index("evacMap.start("):]
    assert len(re.search(r"siteLayers: \[([^\]]*)\]", start).group(1).split(",")) == 3
    assert len(re.findall(r'"properties":\{"id":"[HET]\d{3}","style":\{', page.replace(" ", ""))) == 212


def test_online_tiles_only_when_configured(hq_app):
    hq_app.config.update(MAP_TILES_URL="https://tiles.example/{z}/{x}/{y}.png", MAP_TILES_ATTRIBUTION="© tiles")
    page = hq_app.test_client().get("/map").get_data(as_text=True)
    assert "L.tileLayer" in page and "tiles.example" in page and "© tiles" in page


def test_disaster_choice_marks_sites_not_designated_for_it(hq_client):
    assert {p["suitability"] for p in sites(hq_client).values()} == {"suitable"}
    choose(hq_client, "tsunami")
    s = sites(hq_client)
    assert s["H001"]["suitability"] == "suitable" and s["T001"]["suitability"] == "suitable"
    assert s["H044"]["suitability"] == "unsuitable"       # 和田地域交流センター: 風水害 only
    assert s["H044"]["marker"]["dashArray"] and s["H044"]["marker"]["fillOpacity"] < 0.5
    choose(hq_client, "storm_flood")
    s = sites(hq_client)
    assert s["H044"]["suitability"] == "suitable" and s["T001"]["suitability"] == "unsuitable"
    assert hq_client.get("/api/v1/shelters").get_json()["disaster_label"] == "風水害"
    page = hq_client.get("/map").get_data(as_text=True)
    assert '<option value="storm_flood" selected>' in page


def test_disaster_choice_needs_the_form_token_and_a_known_disaster(hq_client):
    assert hq_client.post("/map/disaster", data={"disaster": "tsunami"}).status_code == 400
    page = hq_client.get("/map").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = hq_client.post("/map/disaster", data={"disaster": "meteor", "csrf_token": token})
    assert r.status_code == 400 and "Unknown disaster 「meteor」" in r.get_data(as_text=True)


def test_a_designated_site_inside_deep_projected_water_is_flagged(hq_app, hq_client, tmp_path):
    from hq_dashboard.importing import import_file
    layer = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"最大浸水深": "0.5~1.0m未満の区域"}, "geometry": {"type": "Polygon", "coordinates": square(*H001)}},
        # shallow water around H002 is shown but does not flag it
        {"type": "Feature", "properties": {"最大浸水深": "0.3m未満の区域"}, "geometry": {"type": "Polygon", "coordinates": square(138.3167, 34.8622, 0.01)}},
    ]}
    path = tmp_path / "rain.geojson"
    path.write_text(json.dumps(layer, ensure_ascii=False), encoding="utf-8")
    with hq_app.app_context():
        summary = import_file(db.session, path, area_per_person_m2=3.5)
    assert summary.added == ["rain"]
    choose(hq_client, "storm_flood")
    s = sites(hq_client)
    assert s["H001"]["suitability"] == "at_risk"
    assert s["H001"]["hazard_areas"] == ["内水浸水想定区域: 0.5~1.0m未満の区域"]
    assert s["H001"]["marker"]["color"] == "#7b1fa2"
    assert all(p["suitability"] != "at_risk" for sid, p in s.items() if sid != "H001")
    # The same layer does not count in a tsunami.
    choose(hq_client, "tsunami")
    assert sites(hq_client)["H001"]["suitability"] == "suitable"


def test_occupancy_needs_overflow_and_alerts_reach_the_dashboard(hq_client, enroll):
    token = enroll("H044")
    k = KioskStream("kiosk-map", start_ms=int(time.time() * 1000) - 60_000)
    k.checkin(person("焼津 一"), shelter_id="H001")
    k.checkin(person("和田 二", birth="1990-01-01"), shelter_id="H044")
    k.add("needs", person("和田 二", birth="1990-01-01"), {"needs": ["infant", "dialysis"]}, shelter_id="H044")
    k.checkin(person("和田 三", birth="1991-01-01"), shelter_id="H044", stay_type="in_car")
    post(hq_client, token, "kiosk-map", k.events)
    choose(hq_client, "tsunami")
    s = sites(hq_client)
    assert (s["H001"]["occupancy"], s["H001"]["status"]) == (1, "open")
    assert s["H001"]["marker"]["fillColor"] == PALETTE["low"]             # under half full
    assert s["H044"]["needs"] == {"infant": 1, "dialysis": 1}
    assert (s["H044"]["occupancy"], s["H044"]["in_car"]) == (1, 1)
    # H044 is not for tsunamis: the nearest open tsunami shelter with room is offered.
    assert [o["id"] for o in s["H044"]["overflow"]] == ["H001"] and s["H044"]["overflow"][0]["room"] == 134
    page = hq_client.get("/dashboard").get_data(as_text=True)
    assert re.search(r'id="total-occupancy">2<', page) and re.search(r'id="total-in-car">1<', page)
    assert "和田地域交流センター（H044）に避難所内 1 人（在宅・車中 1 人）が避難中ですが、津波にはこの災害の指定がありません" in page
    assert "乳幼児" in page and "透析" in page
    # Sorted by fullness: H001 holds 1 of 135, H044 1 of 699.
    assert page.index('data-site="H001"') < page.index('data-site="H044"')
    assert re.search(r"<title>[^<]*JST: 3</title>", page)        # three arrivals in this hour's bar
    kiosk_id = token.split(".")[0]
    assert re.search(rf"<td>{kiosk_id}</td><td>和田地域交流センター H044</td><td class=\"n\">4</td>", page)


def test_a_silent_kiosk_is_an_alert(hq_app, hq_client, enroll):
    enroll("H001")
    hq_app.config["KIOSK_SILENT_ALERT_S"] = -1
    page = hq_client.get("/dashboard").get_data(as_text=True)
    assert "分間同期がありません（最終: 登録以来）" in page


def test_records_a_kiosk_withdrew_are_counted_and_said_on_the_dashboard(hq_client, enroll):
    # People in a withdrawn record may be missing from HQ's counts: HQ staff must know to ask the shelter.
    token = enroll("H001")
    k = KioskStream("kiosk-wd")
    k.checkin(person("前田 一郎"))
    k.add("withdrawn", None, {"reason": "unknown shelter", "type": "checkin"}, shelter_id="Z999")
    k.add("withdrawn", None, {"reason": "note too long", "type": "status"})
    post(hq_client, token, "kiosk-wd", k.events[:2])
    post(hq_client, token, "kiosk-wd", k.events)      # a retry with one more: the repeat is not counted again
    page = hq_client.get("/dashboard").get_data(as_text=True)
    kiosk_id = token.split(".")[0]
    assert re.search(rf"<td>{kiosk_id}</td><td>二区コミュニティ防災センター H001</td><td class=\"n\">3</td>.*?<td class=\"n\">2</td></tr>",
                     page, re.S)
    assert f"端末 {kiosk_id}（二区コミュニティ防災センター H001）は本部が受け付けなかった記録 2 件を取り下げました" in page


def test_a_kiosk_checking_in_at_another_shelter_than_enrolled_is_said_on_the_dashboard(hq_client, enroll):
    # A kiosk carried to another shelter, or started for the wrong one: counted where it says, and HQ is told.
    token = enroll("H001")
    k = KioskStream("kiosk-moved")
    k.checkin(person("前田 一郎"), shelter_id="H001")
    post(hq_client, token, "kiosk-moved", k.events)
    kiosk_id = token.split(".")[0]
    page = hq_client.get("/dashboard").get_data(as_text=True)
    assert "で受付をしています" not in page and 'class="elsewhere"' not in page
    k.checkin(person("前田 二郎", birth="1950-02-02"), shelter_id="H002")
    k.add("needs", person("前田 二郎", birth="1950-02-02"), {"needs": ["elderly"]}, shelter_id="H001")
    post(hq_client, token, "kiosk-moved", k.events)
    page = hq_client.get("/dashboard").get_data(as_text=True)
    assert re.search(rf'<td>{kiosk_id}</td><td>二区コミュニティ防災センター H001<br><strong class="elsewhere">受付: 三区コミュニティ防災センター H002</strong></td>', page)
    assert (f"端末 {kiosk_id}（二区コミュニティ防災センター H001 に登録）は 三区コミュニティ防災センター H002 で受付をしています。その人数は 三区コミュニティ防災センター H002 に数えています。"
            "端末が移されたのか、設定の誤りか、避難所に確認してください") in page
    s = sites(hq_client)
    assert s["H001"]["occupancy"] == 1 and s["H002"]["occupancy"] == 1
    k.checkin(person("前田 三郎", birth="1951-03-03"), shelter_id="H001")   # back where it was enrolled
    post(hq_client, token, "kiosk-moved", k.events)
    assert "で受付をしています" not in hq_client.get("/dashboard").get_data(as_text=True)


def test_exports(hq_client):
    text = hq_client.get("/export/shelters.csv").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0][:3] == ["id", "名称", "種別"] and len(rows) == 213
    assert rows[1][-1].startswith("出典：")
    geo = json.loads(hq_client.get("/export/shelters.geojson").get_data(as_text=True))
    assert len(geo["features"]) == 212 and "出典：焼津市オープンデータ（https://github.com/yaizu-city/opendata）" in geo["credits"]
    std = hq_client.get("/export/evacuation_space_standard.csv").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(std.lstrip("\ufeff"))))
    assert rows[0][:4] == ["全国地方公共団体コード", "ID", "地方公共団体名", "名称"] and len(rows) == 32
    assert rows[1][3] == "中港タワー"


def test_the_standard_export_imports_back_unchanged(hq_app, hq_client, tmp_path):
    from hq_dashboard.importing import import_file
    path = tmp_path / "evacuation_space_standard.csv"
    path.write_bytes(hq_client.get("/export/evacuation_space_standard.csv").data)
    with hq_app.app_context():
        summary = import_file(db.session, path, area_per_person_m2=3.5)
    assert summary.format == "自治体標準オープンデータセット 指定緊急避難場所一覧"
    assert (summary.added, summary.updated, summary.skipped, len(summary.unchanged)) == ([], [], [], 31)


def test_a_national_tsunami_layer_is_recognised_and_flags_sites_in_a_tsunami(hq_app, hq_client, tmp_path):
    from hq_dashboard.importing import import_file
    # The shape of 国土数値情報 A40 (津波浸水想定): prefecture, then the depth rank as text.
    layer = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"A40_001": "静岡県", "A40_002": "2m以上5m未満"},
         "geometry": {"type": "Polygon", "coordinates": square(*H001)}}]}
    path = tmp_path / "A40-16_22.geojson"
    path.write_text(json.dumps(layer, ensure_ascii=False), encoding="utf-8")
    with hq_app.app_context():
        summary = import_file(db.session, path, area_per_person_m2=3.5)
    assert summary.format.startswith("津波浸水想定（国土数値情報 A40） (1 areas, for tsunami)")
    choose(hq_client, "tsunami")
    s = sites(hq_client)
    assert s["H001"]["suitability"] == "at_risk"
    assert s["H001"]["hazard_areas"] == ["津波浸水想定（国土数値情報 A40）: 2m以上5m未満"]
    page = unescape(hq_client.get("/map").get_data(as_text=True))
    credit = "出典：国土数値情報（津波浸水想定データ）（国土交通省）"
    assert "津波浸水想定（国土数値情報 A40）" in page and credit in page
    # The exports name the layer's area at H001: its credit line goes with it (it did only on the map).
    rows = {r[0]: r for r in csv.reader(io.StringIO(hq_client.get("/export/shelters.csv").get_data(as_text=True)
                                                    .lstrip("\ufeff")))}
    assert rows["H001"][12].startswith("津波浸水想定") and credit in rows["H001"][-1]
    assert rows["H001"][-1].startswith("出典：焼津市") and credit not in rows["H002"][-1]
    geo = json.loads(hq_client.get("/export/shelters.geojson").get_data(as_text=True))
    assert credit in geo["credits"]
    choose(hq_client, "storm_flood")
    assert sites(hq_client)["H001"]["suitability"] == "suitable"


def test_a_kiosk_whose_records_are_dated_ahead_of_hq_is_said_on_the_dashboard(hq_client, enroll):
    # Its clock ran fast before it first heard HQ: the records keep their time, and HQ staff must know
    # that whereabouts from it may be stale until then.
    import time
    token = enroll("H001")
    k = KioskStream("kiosk-fast", start_ms=int(time.time() * 1000) + 9 * 3600 * 1000)   # JST taken for UTC
    k.checkin(person("前田 一郎"))
    post(hq_client, token, "kiosk-fast", k.events)
    kiosk_id = token.split(".")[0]
    page = hq_client.get("/dashboard").get_data(as_text=True)
    assert f"端末 {kiosk_id}（二区コミュニティ防災センター H001）の記録は本部の時計より先の時刻（" in page and "端末の時計が進んでいます" in page
    on_time = enroll("H002")
    k2 = KioskStream("kiosk-right", "H002", start_ms=int(time.time() * 1000))
    k2.checkin(person("前田 二郎", birth="1950-02-02"), shelter_id="H002")
    post(hq_client, on_time, "kiosk-right", k2.events)
    page = hq_client.get("/dashboard").get_data(as_text=True)
    assert f"端末 {on_time.split('.')[0]}（H002）の記録は本部の時計より先" not in page
    assert "本部のサーバーの時計が遅れている可能性があります" not in page   # one kiosk of two: its own clock
    # Most kiosks ahead of HQ cannot all run fast: HQ's own clock is behind, and HQ orders records by it.
    k3 = KioskStream("kiosk-also-ahead", "H003", start_ms=int(time.time() * 1000) + 3600 * 1000)
    k3.checkin(person("前田 三郎", birth="1951-03-03"), shelter_id="H003")
    post(hq_client, enroll("H003"), "kiosk-also-ahead", k3.events)
    page = hq_client.get("/dashboard").get_data(as_text=True)
    assert "同期している端末 3 台のうち 2 台の記録が本部の時計より先の時刻で届いています" in page
    assert "本部のサーバーの時計が遅れている可能性があります" in page


def test_a_kiosk_whose_batch_hq_refuses_is_heard_and_said_on_the_dashboard_until_it_gets_past(hq_app, hq_client,
                                                                                              enroll):
    # The refused batch rolls back whole; that the kiosk spoke, and what stops it, is kept apart.
    from evac.events import withdrawal
    token = enroll("H001")
    kiosk_id = token.split(".")[0]
    k = KioskStream("kiosk-stuck")
    k.checkin(person("前田 一郎"))
    k.checkin(person("前田 二郎", birth="1950-02-02"), shelter_id="Z999")
    refused = hq_client.post("/api/v1/sync", json={"device_id": "kiosk-stuck", "events": k.events},
                             headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 422 and refused.get_json()["error"] == "unknown_shelter"
    page = hq_client.get("/dashboard").get_data(as_text=True)
    assert f"端末 {kiosk_id}（二区コミュニティ防災センター H001）の記録 2 番を本部が受け付けていません" in page
    assert "unknown shelter id(s): Z999" in page and "取り下げると、残りが届きます" in page
    assert "同期がありません" not in page.split(f"端末 {kiosk_id}", 1)[1].split("</li>", 1)[0]
    with hq_app.app_context():
        kiosk = db.session.get(Kiosk, kiosk_id)
        assert kiosk.last_sync_at is not None and kiosk.high_seq == 0, "heard, and nothing of the batch applied"
    k.events[1] = withdrawal(k.events[1], "H001", "unknown shelter")   # the lead withdrew it
    post(hq_client, token, "kiosk-stuck", k.events)
    assert "を本部が受け付けていません" not in hq_client.get("/dashboard").get_data(as_text=True)


def test_a_layer_imported_with_markup_before_import_refused_it_is_shown_as_text(hq_app, hq_client):
    """A hazard layer from an older HQ (its title and labels kept as written): the layer list and the
    tooltips show markup as markup would run, on every map viewer's page (staff's too)."""
    import datetime as dt
    from hq_dashboard.models import HazardLayer
    title, label = '<img src=x onerror="document.body.dataset.t=1">津波', '<b onmouseover="x()">0.5m以上</b>'
    layer = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"label": label, "depth_min_m": 0.5, "depth_max_m": None},
         "geometry": {"type": "Polygon", "coordinates": square(*H001)}}]}
    with hq_app.app_context():
        db.session.add(HazardLayer(id="old", title=title, disasters="tsunami", credit="出典：静岡県",
                                   source_name="old.geojson", geojson=json.dumps(layer, ensure_ascii=False),
                                   imported_at=dt.datetime.now(dt.timezone.utc)))
        db.session.commit()
    choose(hq_client, "tsunami")
    page = hq_client.get("/map").get_data(as_text=True)
    # folium writes both inside JSON, every <, > and & as a \u escape, which Leaflet reads back: the layer
    # list's entry (its key) and the tooltip's label must hold &lt; where markup stood.  (The sites' own
    # hazard_areas are data: map.js escapes them in the popup.)
    entries = re.findall(r'"([^"]*)" : geo_json_', page)
    assert any("\\u0026lt;img src=x" in e and "\\u6d25\\u6ce2" in e for e in entries), entries
    assert not any("\\u003c" in e for e in entries), entries
    labels = re.findall(r'"label": "([^"]*)"', page)
    assert any(label.startswith("\\u0026lt;b onmouseover") for label in labels), labels[-3:]
    assert not any("\\u003c" in label for label in labels)


def test_a_kiosk_syncing_with_a_token_hq_does_not_know_is_said_on_the_dashboard(hq_app, hq_client):
    """HQ's database restored from a backup taken before a kiosk was enrolled: the kiosk told its staff to
    call HQ, and HQ's staff saw nothing.  Made-up ids (anyone can send a token) are kept to a few."""
    from hq_dashboard.enrollment import MAX_UNKNOWN_KIOSKS
    k = KioskStream("kiosk-restored")
    k.checkin(person("復元 一郎"))
    for _ in range(3):
        refused = hq_client.post("/api/v1/sync", json={"device_id": "kiosk-restored", "events": k.events},
                                 headers={"Authorization": "Bearer K0A1B2C3D.secret-from-before-the-restore"})
        assert refused.status_code == 401 and refused.get_json()["error"] == "unknown_kiosk"
    page = hq_client.get("/dashboard").get_data(as_text=True)
    assert "端末 K0A1B2C3D が本部に登録のないトークンで同期しようとしています（3 回、最後は" in page
    assert "evac hq enroll-kiosk" in page
    for i in range(MAX_UNKNOWN_KIOSKS + 5):   # a flood of made-up ids, and ids of no kiosk's shape
        for made_up in (f"K{i:08X}", f"<b>{i}</b>"):
            hq_client.get("/api/v1/kiosk/config", headers={"Authorization": f"Bearer {made_up}.x"})
    page = hq_client.get("/dashboard").get_data(as_text=True)
    assert page.count("が本部に登録のないトークンで同期しようとしています") == MAX_UNKNOWN_KIOSKS
    assert "&lt;b&gt;" not in page and "<b>1</b>" not in page
