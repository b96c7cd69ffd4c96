"""`evac hq import` as a real process: added/updated/skipped with reasons; a bad file changes nothing."""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from evac.shelters import default_data_dir
from tests.conftest import copy_sqlite, run_evac

SHELTER_CSV = default_data_dir() / "yaizu-city_opendata/避難所一覧/222127_hinannjo.csv"


def dump(db) -> list:
    """Everything HQ keeps about sites and hazard layers, to compare before and after."""
    with sqlite3.connect(db) as conn:
        return [conn.execute("SELECT * FROM shelters ORDER BY id").fetchall(),
                conn.execute("SELECT id, geojson FROM hazard_layers ORDER BY id").fetchall(),
                conn.execute("SELECT * FROM hq_meta WHERE name = 'disaster'").fetchall()]


@pytest.fixture(scope="module")
def initialised_hq_db(tmp_path_factory):
    db = tmp_path_factory.mktemp("hq-import") / "hq.sqlite3"
    assert run_evac("hq", "init", "--db", str(db)).returncode == 0
    result = run_evac("hq", "import", str(SHELTER_CSV), "--db", str(db), "--quiet")
    assert result.returncode == 0, result.stderr
    assert "added 0, updated 0, unchanged 56, skipped 0" in result.stdout   # seeded from the same file
    return db


@pytest.fixture
def hq_db(initialised_hq_db, tmp_path):
    """A copy of the database `evac hq init` made (two processes, 1.5 s: once per module)."""
    db = tmp_path / "hq.sqlite3"
    copy_sqlite(initialised_hq_db, db)
    return db


def test_an_edited_city_list_adds_updates_and_skips_with_reasons(hq_db, tmp_path):
    lines = SHELTER_CSV.read_text(encoding="utf-8").splitlines()
    lines[1] = lines[1].replace("二区コミュニティ防災センター", "二区コミュニティ防災センター（新館）")
    lines[2] = lines[2].replace("34.", "340.", 1)                     # a latitude typo
    lines.append(lines[3].replace("3,222127", "57,222127", 1).replace(lines[3].split(",")[4], "新しい避難所"))
    edited = tmp_path / "shelters.csv"
    # Shift_JIS, as Excel saves it.
    edited.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp932"))
    result = run_evac("hq", "import", str(edited), "--db", str(hq_db))
    assert result.returncode == 0, result.stderr
    assert "format: 焼津市 指定避難所一覧" in result.stdout
    assert "added 1, updated 1, unchanged 54, skipped 1" in result.stdout
    assert "skipped line 3: 緯度 (latitude) out of range [-90.0, 90.0]: '340." in result.stdout
    assert "row/s" in result.stderr                                      # the progress bar
    with sqlite3.connect(hq_db) as conn:
        assert conn.execute("SELECT name FROM shelters WHERE id='H001'").fetchone() == ("二区コミュニティ防災センター（新館）",)
        assert conn.execute("SELECT name, capacity FROM shelters WHERE id='H057'").fetchone()[0] == "新しい避難所"


def test_gsi_rows_update_the_citys_sites_by_name(hq_db):
    gsi = default_data_dir() / "gsi_hinanbasho/mergeFromCity_2_yaizu_22212.csv"
    result = run_evac("hq", "import", str(gsi), "--db", str(hq_db), "--quiet")
    assert result.returncode == 0, result.stderr
    assert "added 0," in result.stdout                                   # all 31 found by name
    with sqlite3.connect(hq_db) as conn:
        assert conn.execute("SELECT count(*) FROM shelters").fetchone() == (212,)
        # GSI gives no kana: what HQ had is kept.
        assert conn.execute("SELECT name_kana FROM shelters WHERE id='E001'").fetchone() == ("ナカミナトタワー",)


def gsi_file(path: Path, sites: list[tuple]) -> Path:
    """A national list (GSI's) in its own columns, of (row number, name, lat, lon): its first row's other cells."""
    gsi = default_data_dir() / "gsi_hinanbasho/mergeFromCity_2_yaizu_22212.csv"
    header, first = gsi.read_text(encoding="utf-8").splitlines()[:2]
    cells = first.split(",")

    def row(no, name, lat, lon):
        out = list(cells)
        out[0], out[1], out[3], out[-3], out[-2] = str(no), f"E22212000{no}", name, str(lat), str(lon)
        return ",".join(out)
    path.write_text("\n".join([header, *(row(*site) for site in sites)]) + "\n", encoding="utf-8")
    return path


def test_a_gsi_row_naming_no_city_site_is_not_added_unasked(hq_db, tmp_path):
    """Review: GSI's rows matched only by exact name and kind, and an unmatched one became a new site under
    GSI's national id: 「中港 タワー」 (a space) stacked on E001, the school 焼津中学校 (a 指定避難所, H031) came
    again as an emergency space; HQ has no command to remove a site."""
    with sqlite3.connect(hq_db) as conn:
        e001 = conn.execute("SELECT lat, lon FROM shelters WHERE id='E001'").fetchone()
        h031 = conn.execute("SELECT name, lat, lon FROM shelters WHERE id='H031'").fetchone()
    path = gsi_file(tmp_path / "gsi.csv", [(1, "中港 タワー", *e001), (2, *h031), (3, "どこにもない広場", 34.85, 138.30)])
    before = dump(hq_db)
    result = run_evac("hq", "import", str(path), "--db", str(hq_db), "--quiet")
    assert result.returncode == 0, result.stderr
    assert "added 0," in result.stdout, result.stdout
    assert "is at HQ as H031" in result.stdout and "no site named どこにもない広場 at HQ" in result.stdout
    assert "--add-unmatched" in result.stdout
    with sqlite3.connect(hq_db) as conn:
        assert conn.execute("SELECT count(*) FROM shelters").fetchone() == (212,)
    assert dump(hq_db) != before   # E001 matched by its name however spaced: updated from the row
    result = run_evac("hq", "import", str(path), "--db", str(hq_db), "--quiet", "--add-unmatched")
    assert result.returncode == 0 and "added 1," in result.stdout, result.stdout
    with sqlite3.connect(hq_db) as conn:
        assert conn.execute("SELECT count(*) FROM shelters WHERE name = 'どこにもない広場'").fetchone() == (1,)
        assert conn.execute("SELECT count(*) FROM shelters").fetchone() == (213,)


def test_a_shapefile_hazard_layer_needs_its_disaster_and_credit(hq_db):
    shp = default_data_dir() / "yaizu-city_opendata/浸水履歴_統合/浸水履歴_統合.shp"
    before = dump(hq_db)
    result = run_evac("hq", "import", str(shp), "--db", str(hq_db))
    assert result.returncode == 2
    assert "cannot tell which disaster this layer is for" in result.stderr and "--hazard" in result.stderr
    assert dump(hq_db) == before
    result = run_evac("hq", "import", str(shp), "--db", str(hq_db), "--hazard", "flood", "--credit",
                      "出典：焼津市オープンデータ（https://github.com/yaizu-city/opendata）", "--title", "浸水履歴")
    assert result.returncode == 0, result.stderr
    assert "added 1" in result.stdout
    with sqlite3.connect(hq_db) as conn:
        (text,) = conn.execute("SELECT geojson FROM hazard_layers").fetchone()
    minx = min(c[0] for f in json.loads(text)["features"] for poly in f["geometry"]["coordinates"] for c in poly[0])
    assert 138.2 < minx < 138.4                                         # reprojected from EPSG:2450


@pytest.mark.parametrize("name, content, message", [
    ("list.csv", "番号,施設名\n1,どこか\n".encode(), "unknown file format"),
    ("list.csv", b"\x89PNG\r\n\x1a\n\xff\xfe\x81\xff", "not a text file in UTF-8 or Shift_JIS"),
    ("list.csv", b"", "the file is empty"),
    ("areas.geojson", b'{"type": "FeatureCollection", "features": [', "not a readable GeoJSON or shapefile"),
    ("points.geojson", json.dumps({"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {},
     "geometry": {"type": "Point", "coordinates": [138.3, 34.8]}}]}).encode(), "must hold areas (polygons)"),
    ("sites.xlsx", b"PK\x03\x04", "unknown file type .xlsx"),
])
def test_a_malformed_or_unknown_file_is_refused_and_changes_nothing(hq_db, tmp_path, name, content, message):
    before = dump(hq_db)
    path = tmp_path / name
    path.write_bytes(content)
    result = run_evac("hq", "import", str(path), "--db", str(hq_db))
    assert result.returncode == 2
    assert "import refused, nothing was changed" in result.stderr and message in result.stderr
    assert name in result.stderr
    assert dump(hq_db) == before


def test_a_file_cut_short_changes_nothing_even_after_good_rows(hq_db, tmp_path):
    text = SHELTER_CSV.read_text(encoding="utf-8").replace("二区コミュニティ防災センター", "改名")
    cut = tmp_path / "cut.csv"
    cut.write_text(text[: text.rindex("\n", 0, len(text) - 10)] + "\n56,222127,静岡県\n", encoding="utf-8")
    before = dump(hq_db)
    result = run_evac("hq", "import", str(cut), "--db", str(hq_db))
    assert result.returncode == 2 and "fields, the header has 18" in result.stderr
    assert dump(hq_db) == before


def test_a_zipped_shift_jis_shapefile_without_cpg_is_imported(hq_db, tmp_path):
    """国土数値情報 ships zips of Shift_JIS shapefiles; a layer of A31-like flood areas around H001."""
    import zipfile

    import geopandas as gpd
    from shapely.geometry import box
    frame = gpd.GeoDataFrame({"A31_001": ["0.5m以上3.0m未満"], "A31_002": ["大井川水系"]},
                             geometry=[box(138.3205, 34.8605, 138.3225, 34.8625)], crs="EPSG:4326").to_crs("EPSG:2450")
    folder = tmp_path / "A31"
    folder.mkdir()
    frame.to_file(folder / "A31-12_22.shp", encoding="cp932")
    (folder / "A31-12_22.cpg").unlink(missing_ok=True)
    archive = tmp_path / "A31-12_22_SHP.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for f in folder.iterdir():
            z.write(f, f"A31-12_22_SHP/{f.name}")
    result = run_evac("hq", "import", str(archive), "--db", str(hq_db))
    assert result.returncode == 0, result.stderr
    assert "洪水浸水想定区域（国土数値情報 A31） (1 areas, for flood storm_flood)" in result.stdout
    with sqlite3.connect(hq_db) as conn:
        (text, source) = conn.execute("SELECT geojson, source_name FROM hazard_layers").fetchone()
    assert source == "A31-12_22_SHP.zip"
    assert json.loads(text)["features"][0]["properties"]["label"] == "0.5m以上3.0m未満"
    two = tmp_path / "two.zip"
    with zipfile.ZipFile(two, "w") as z:
        z.writestr("a.geojson", "{}")
        z.writestr("b.geojson", "{}")
    result = run_evac("hq", "import", str(two), "--db", str(hq_db))
    assert result.returncode == 2 and "holds 2 layers (a.geojson, b.geojson)" in result.stderr


EMERGENCY_CSV = default_data_dir() / "yaizu-city_opendata/指定緊急避難場所一覧/222127_evacuation_space.csv"


def oversized_list(tmp_path, name_extra: str = ""):
    """The city's emergency-site list with values no site has: a capacity with extra digits, a name, an
    address and a phone number longer than HQ keeps (and, optionally, something added to one name)."""
    import csv
    import io
    rows = list(csv.DictReader(io.StringIO(EMERGENCY_CSV.read_text(encoding="utf-8-sig"), newline="")))
    header = list(rows[0])
    rows[1]["想定収容人数"] = "99999999999"
    rows[2]["名称"] = "長" * 201
    rows[3]["住所"] = "焼津市" + "1" * 300
    rows[4]["電話番号"] = "054-" * 11
    rows[5]["名称"] += name_extra
    out = io.StringIO()
    writer = csv.DictWriter(out, header, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    path = tmp_path / "emergency.csv"
    path.write_text(out.getvalue(), encoding="utf-8")
    return path, [r["NO"] for r in rows]


def test_values_beyond_what_hq_keeps_are_skipped_with_their_reason(hq_db, tmp_path):
    path, numbers = oversized_list(tmp_path)
    before = dump(hq_db)
    result = run_evac("hq", "import", str(path), "--db", str(hq_db), "--quiet")
    assert result.returncode == 0, result.stderr
    assert "skipped line 3: 想定収容人数 99999999999 is more than any one site holds (at most 100,000)" in result.stdout
    assert "skipped line 4: 名称 (name) is 201 characters long; HQ keeps at most 200" in result.stdout
    assert "skipped line 5: 住所 (address) is 303 characters long; HQ keeps at most 300" in result.stdout
    assert "skipped line 6: 電話番号 (phone) is 44 characters long; HQ keeps at most 40" in result.stdout
    assert "skipped 4" in result.stdout
    with sqlite3.connect(hq_db) as conn:     # the skipped sites are as they were
        for no in numbers[1:5]:
            sid = f"E{int(no):03d}"
            assert conn.execute("SELECT * FROM shelters WHERE id=?", (sid,)).fetchone() == \
                next(r for r in before[0] if r[0] == sid)


@pytest.mark.parametrize("hq_db_url", ["postgresql"], indirect=True)
def test_on_postgresql_an_oversized_value_is_skipped_and_one_the_database_refuses_changes_nothing(hq_app, tmp_path):
    from evac.opendata import ImportFormatError
    from hq_dashboard.db import db as hq
    from hq_dashboard.importing import import_file
    from hq_dashboard.models import Shelter
    path, numbers = oversized_list(tmp_path)
    with hq_app.app_context():
        summary = import_file(hq.session, path, area_per_person_m2=3.3)
        assert len(summary.skipped) == 4 and "想定収容人数 99999999999" in summary.skipped[0][1]
        sid = f"E{int(numbers[5]):03d}"
        name = hq.session.get(Shelter, sid).name
        # A NUL character passes every row check but PostgreSQL will not store it: refused in words.
        path, _ = oversized_list(tmp_path, name_extra="\x00")
        with pytest.raises(ImportFormatError, match="emergency.csv: HQ's database refused a value in the file"):
            import_file(hq.session, path, area_per_person_m2=3.3)
        hq.session.expire_all()
        assert hq.session.get(Shelter, sid).name == name


def _layer(tmp_path, label: str, name: str = "tsunami.geojson"):
    ring = [[138.30, 34.86], [138.31, 34.86], [138.31, 34.87], [138.30, 34.86]]
    path = tmp_path / name
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"depth": label}, "geometry": {"type": "Polygon", "coordinates": [ring]}}]}),
        encoding="utf-8")
    return path


@pytest.mark.parametrize("label, title, credit, said", [
    ('<img src=x onerror="alert(1)">0.5m以上', "津波浸水想定", "出典：静岡県", "the depth labels (depth)"),
    ("0.5m以上", '<img src=x onerror="alert(1)">津波', "出典：静岡県", "the title"),
    ("0.5m以上", "津波浸水想定", '出典：<script>alert(1)</script>', "the credit"),
])
def test_a_layer_whose_text_holds_markup_is_refused_and_changes_nothing(hq_db, tmp_path, label, title, credit, said):
    """The map shows a layer's title, credit and labels as Leaflet markup: a layer from a third party or a
    crafted file must not put script on every map viewer's page (staff's included)."""
    before = dump(hq_db)
    result = run_evac("hq", "import", str(_layer(tmp_path, label)), "--db", str(hq_db), "--hazard", "tsunami",
                      "--title", title, "--credit", credit)
    assert result.returncode == 2 and "import refused, nothing was changed" in result.stderr
    assert said in result.stderr and "holds < or >, which no hazard layer" in result.stderr, result.stderr
    assert dump(hq_db) == before
    done = run_evac("hq", "import", str(_layer(tmp_path, "0.5m以上")), "--db", str(hq_db), "--hazard", "tsunami",
                    "--title", "津波浸水想定", "--credit", "出典：静岡県")
    assert done.returncode == 0 and "added 1" in done.stdout, done.stderr


def test_a_row_without_its_area_keeps_hqs_area_and_its_capacity_follows_todays_area_per_person(
        hq_db, tmp_path, monkeypatch):
    """Re-imported at 2 m² per person with H003's area left empty: H003 kept its 497 m² but also the capacity
    worked out at 3.5 m² (142, not 248), beside sites whose area the file gave, counted at 2 m²."""
    lines = SHELTER_CSV.read_text(encoding="utf-8").splitlines()
    assert lines[3].endswith(",497,")
    lines[3] = lines[3][:-len("497,")] + ","
    edited = tmp_path / "shelters.csv"
    edited.write_text("\n".join(lines) + "\n", encoding="utf-8")
    monkeypatch.setenv("EVAC_AREA_PER_PERSON_M2", "2")
    result = run_evac("hq", "import", str(edited), "--db", str(hq_db), "--quiet")
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(hq_db) as conn:
        assert conn.execute("SELECT area_m2, capacity FROM shelters WHERE id='H003'").fetchone() == (497.0, 248)
        area, capacity = conn.execute("SELECT area_m2, capacity FROM shelters WHERE id='H004'").fetchone()
    assert capacity == int(area // 2)


def test_a_capacity_a_file_leaves_empty_is_kept_and_the_summary_says_so(hq_db, tmp_path):
    """Review: a capacity set once (a typo: 3 for 中港タワー) survived a re-import of the city's own list, whose
    想定収容人数 is empty, without a word: HQ keeps what an empty cell does not say, and now says it kept it."""
    import csv
    import io
    rows = list(csv.DictReader(io.StringIO(EMERGENCY_CSV.read_text(encoding="utf-8-sig"), newline="")))
    rows[0]["想定収容人数"] = "3"
    out = io.StringIO()
    writer = csv.DictWriter(out, list(rows[0]), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    typo = tmp_path / "typo.csv"
    typo.write_text(out.getvalue(), encoding="utf-8")
    assert run_evac("hq", "import", str(typo), "--db", str(hq_db), "--quiet").returncode == 0
    result = run_evac("hq", "import", str(EMERGENCY_CSV), "--db", str(hq_db), "--quiet")
    assert result.returncode == 0, result.stderr
    assert "kept HQ's capacity of 1 site(s) the file gives no capacity or area for (E001 3)" in result.stdout
    with sqlite3.connect(hq_db) as conn:
        assert conn.execute("SELECT capacity FROM shelters WHERE id='E001'").fetchone() == (3,)
