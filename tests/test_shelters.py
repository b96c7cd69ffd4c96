"""Loading Yaizu's real evacuation-site lists (data/yaizu-city_opendata) and area-based capacity."""
from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest

from evac.capacity import DEFAULT_AREA_PER_PERSON_M2, capacity_from_area
from evac.shelters import (
    CITY_DIR,
    CREDITS,
    EMERGENCY_SPACE_CSV,
    KINDS,
    SHELTER_CSV,
    TSUNAMI_BUILDING_CSV,
    Site,
    default_data_dir,
    load_yaizu_sites,
)

REPO_DATA = Path(__file__).resolve().parent.parent / "data"

# Yaizu City's extent: the N03 boundary polygon's bounding box (34.767–34.923 N, 138.237–138.348 E)
# rounded outwards. The southernmost site, 大井川港コミュニティ防災センター (H017/T017), is at 34.7798 N.
LAT_RANGE = (34.76, 34.93)
LON_RANGE = (138.23, 138.36)

SHELTER_HEADER = (
    "NO,市区町村コード,都道府県名,市区町村名,名称,名称_カナ,住所,方書,緯度,経度,UTMポイント,"
    "開設される災害の種類（地震・津波）,開設される災害の種類（風水害）,開設される災害の種類（土砂災害）,"
    "開設される災害の種類（南海トラフ地震臨時情報）,電話番号,避難所面積平方メートル,備考"
)
GOOD_SHELTER_ROW = (
    "1,222127,静岡県,焼津市,テスト防災センター,テストボウサイセンター,静岡県焼津市本町1-1,,"
    "34.86,138.32,,○,,,○,(054)000-0000,350,"
)


@pytest.fixture(scope="module")
def sites() -> list[Site]:
    return load_yaizu_sites(REPO_DATA)


@pytest.fixture(scope="module")
def by_id(sites) -> dict[str, Site]:
    return {s.id: s for s in sites}


def write_city_data(root: Path, shelter_lines: list[str], *, bom: bool = False) -> Path:
    """A data dir with the real 緊急避難場所 / 津波避難ビル lists and a hand-written 指定避難所 list."""
    city = root / CITY_DIR
    for rel in (EMERGENCY_SPACE_CSV, TSUNAMI_BUILDING_CSV):
        (city / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(REPO_DATA / CITY_DIR / rel, city / rel)
    (city / SHELTER_CSV).parent.mkdir(parents=True, exist_ok=True)
    text = "\r\n".join([SHELTER_HEADER, *shelter_lines]) + "\r\n"
    (city / SHELTER_CSV).write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return root


# --- the real data ---------------------------------------------------------------------------------

def test_counts_per_kind(sites):
    counts = Counter(s.kind for s in sites)
    assert counts == {"shelter": 56, "emergency_space": 31, "tsunami_building": 125}
    assert len(sites) == 212


def test_ids_unique_readable_and_in_order(sites):
    ids = [s.id for s in sites]
    assert len(set(ids)) == len(ids)
    expected = ([f"H{n:03d}" for n in range(1, 57)] + [f"E{n:03d}" for n in range(1, 32)]
                + [f"T{n:03d}" for n in range(1, 126)])
    assert ids == expected
    prefix = {"shelter": "H", "emergency_space": "E", "tsunami_building": "T"}
    assert all(s.id[0] == prefix[s.kind] for s in sites)


def test_known_shelter_h001(by_id):
    h = by_id["H001"]
    assert h.name == "二区コミュニティ防災センター"
    assert h.name_kana == "ニクコミニュティボウサイセンター"
    assert h.kind == "shelter"
    assert h.address == "静岡県焼津市本町5-9-1"
    assert h.area_m2 == 475
    assert h.hazards == ("earthquake_tsunami", "storm_flood")
    assert h.phone == "(054)628-3359"
    assert (h.lat, h.lon) == pytest.approx((34.86145068, 138.3214856))
    assert h.source == "yaizu_opendata"
    assert h.credit == CREDITS["yaizu_opendata"]


def test_known_emergency_space_e001(by_id):
    e = by_id["E001"]
    assert e.name == "中港タワー"
    assert e.kind == "emergency_space"
    assert e.hazards == ("earthquake", "tsunami")
    assert e.area_m2 is None


def test_landslide_emergency_spaces(by_id):
    # NO 26–30 are designated for 崖崩れ、土石流及び地滑り only.
    for n in range(26, 31):
        assert by_id[f"E{n:03d}"].hazards == ("landslide",)


def test_known_tsunami_building_t001(by_id):
    t = by_id["T001"]
    assert t.name == "第一区公会堂"
    assert t.kind == "tsunami_building"
    assert t.hazards == ("tsunami",)


def test_hazard_codes_sorted_and_known(sites):
    allowed = {
        "shelter": {"earthquake_tsunami", "storm_flood", "landslide", "nankai_advisory"},
        "emergency_space": {"flood", "landslide", "storm_surge", "earthquake", "tsunami", "large_fire",
                            "inland_flood", "volcano"},
        "tsunami_building": {"tsunami"},
    }
    for s in sites:
        assert s.hazards, s.id
        assert list(s.hazards) == sorted(set(s.hazards)), s.id
        assert set(s.hazards) <= allowed[s.kind], s.id


def test_shelter_hazard_flag_counts(sites):
    shelters = [s for s in sites if s.kind == "shelter"]
    flags = Counter(h for s in shelters for h in s.hazards)
    assert flags == {"earthquake_tsunami": 47, "storm_flood": 54, "landslide": 5, "nankai_advisory": 14}


def test_coordinates_inside_yaizu(sites):
    for s in sites:
        assert LAT_RANGE[0] <= s.lat <= LAT_RANGE[1], (s.id, s.name, s.lat)
        assert LON_RANGE[0] <= s.lon <= LON_RANGE[1], (s.id, s.name, s.lon)


def test_names_and_fields_filled(sites):
    for s in sites:
        assert s.name and s.name == s.name.strip(), s.id
        assert s.name_kana and s.address, s.id
        assert s.kind in KINDS and s.source in CREDITS


def test_area_only_for_shelters_and_toyoda_unknown(sites, by_id):
    for s in sites:
        if s.kind != "shelter":
            assert s.area_m2 is None, s.id
    unknown = [s for s in sites if s.kind == "shelter" and s.area_m2 is None]
    assert [(s.id, s.name) for s in unknown] == [("H049", "豊田地域交流センター")]
    assert capacity_from_area(by_id["H049"].area_m2) is None
    assert all(s.area_m2 > 0 for s in sites if s.kind == "shelter" and s.area_m2 is not None)


def test_phone_placeholders_become_empty(by_id):
    assert by_id["H011"].phone == ""    # "ー" in the city file
    assert by_id["T011"].phone == ""    # "-" in the city file
    assert by_id["T001"].phone == "(054)629-7899"


def test_site_is_frozen(by_id):
    with pytest.raises(AttributeError):
        by_id["H001"].name = "x"  # type: ignore[misc]


def test_site_rejects_unknown_kind_or_source():
    kw = dict(id="X001", name="n", name_kana="k", address="a", lat=34.8, lon=138.3, area_m2=None,
              hazards=(), phone="")
    with pytest.raises(ValueError, match="kind"):
        Site(kind="bunker", source="yaizu_opendata", **kw)
    with pytest.raises(ValueError, match="source"):
        Site(kind="shelter", source="somewhere", **kw)


def test_credits():
    assert CREDITS["yaizu_opendata"] == "出典：焼津市オープンデータ（https://github.com/yaizu-city/opendata）"
    assert CREDITS["gsi_hinanbasho"] == "出典：国土地理院 指定緊急避難場所データ"
    assert CREDITS["n03_boundary"] == "出典：国土数値情報（行政区域データ）（国土交通省）"


def test_data_is_copied_into_the_repo():
    assert (REPO_DATA / "SOURCE.md").is_file()
    assert (REPO_DATA / "gsi_hinanbasho" / "mergeFromCity_2_yaizu_22212.csv").is_file()
    assert (REPO_DATA / "n03_japan-topography" / "N03-21_22_210101_s0010_yaizu_22212.geojson").is_file()
    for layer in ("自治会区域/自治会区域", "小学校区/小学校区", "自主防災会境界/自主防災会区域更新",
                  "浸水履歴_統合/浸水履歴_統合"):
        for ext in ("shp", "shx", "dbf", "prj"):
            assert (REPO_DATA / CITY_DIR / f"{layer}.{ext}").is_file(), f"{layer}.{ext}"


# --- data dir ----------------------------------------------------------------------------------------

def test_default_data_dir_is_repo_data(monkeypatch):
    monkeypatch.delenv("EVAC_DATA_DIR", raising=False)
    assert default_data_dir() == REPO_DATA
    assert len(load_yaizu_sites(default_data_dir())) == 212


def test_env_var_overrides_data_dir(monkeypatch, tmp_path):
    write_city_data(tmp_path, [GOOD_SHELTER_ROW])
    monkeypatch.setenv("EVAC_DATA_DIR", str(tmp_path))
    assert default_data_dir() == tmp_path
    sites = load_yaizu_sites(default_data_dir())
    assert [s.id for s in sites if s.kind == "shelter"] == ["H001"]
    monkeypatch.setenv("EVAC_DATA_DIR", "")
    assert default_data_dir() == REPO_DATA


def test_bom_and_flags(tmp_path):
    sites = load_yaizu_sites(write_city_data(tmp_path, [GOOD_SHELTER_ROW], bom=True))
    h = sites[0]
    assert (h.id, h.name, h.area_m2) == ("H001", "テスト防災センター", 350.0)
    assert h.hazards == ("earthquake_tsunami", "nankai_advisory")
    assert capacity_from_area(h.area_m2) == 100


# --- malformed rows ----------------------------------------------------------------------------------

def _row(**changes: str) -> str:
    cols = SHELTER_HEADER.split(",")
    values = dict(zip(cols, GOOD_SHELTER_ROW.split(",")))
    values.update(changes)
    return ",".join(values[c] for c in cols)


@pytest.mark.parametrize("changes, extra, message", [
    ({"緯度": "abc"}, "", "緯度"),
    ({"経度": ""}, "", "経度"),
    ({"緯度": "134.8"}, "", "緯度"),
    ({"名称": ""}, "", "名称"),
    ({"名称": "  "}, "", "名称"),
    ({"避難所面積平方メートル": "広い"}, "", "避難所面積平方メートル"),
    ({"開設される災害の種類（風水害）": "1"}, "", "風水害"),
    ({}, ",extra", "more field"),
])
def test_malformed_row_names_file_and_row(tmp_path, changes, extra, message):
    bad = _row(NO="2", **changes) + extra   # the bad record is the file's 3rd line, NO 2
    data_dir = write_city_data(tmp_path, [GOOD_SHELTER_ROW, bad])
    with pytest.raises(ValueError) as err:
        load_yaizu_sites(data_dir)
    text = str(err.value)
    assert "222127_hinannjo.csv" in text
    assert "line 3" in text and "NO 2" in text
    assert message in text


def test_bad_no_is_an_error(tmp_path):
    data_dir = write_city_data(tmp_path, [GOOD_SHELTER_ROW, _row(NO="x")])
    with pytest.raises(ValueError, match=r"222127_hinannjo\.csv.*line 3.*NO"):
        load_yaizu_sites(data_dir)


def test_duplicate_no_is_an_error(tmp_path):
    data_dir = write_city_data(tmp_path, [GOOD_SHELTER_ROW, GOOD_SHELTER_ROW])
    with pytest.raises(ValueError, match=r"222127_hinannjo\.csv.*line 3.*duplicate.*H001"):
        load_yaizu_sites(data_dir)


def test_missing_column_is_an_error(tmp_path):
    data_dir = write_city_data(tmp_path, [GOOD_SHELTER_ROW])
    path = data_dir / CITY_DIR / SHELTER_CSV
    path.write_text(path.read_text(encoding="utf-8").replace("緯度", "lat", 1), encoding="utf-8")
    with pytest.raises(ValueError, match=r"222127_hinannjo\.csv.*missing column.*緯度"):
        load_yaizu_sites(data_dir)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_yaizu_sites(tmp_path)


# --- capacity ----------------------------------------------------------------------------------------

def test_capacity_from_area():
    assert DEFAULT_AREA_PER_PERSON_M2 == 3.5
    assert capacity_from_area(475) == 135          # 475 / 3.5 = 135.7
    assert capacity_from_area(475.0, 2.0) == 237   # the traditional ~2 m² per person
    assert capacity_from_area(7.0) == 2
    assert capacity_from_area(3.4) == 0
    assert capacity_from_area(0) == 0
    assert capacity_from_area(0.3, 0.1) == 3       # no float round-down surprise
    assert capacity_from_area(None) is None
    assert isinstance(capacity_from_area(475), int)


@pytest.mark.parametrize("per_person", [0, -1, -3.5, float("nan"), float("inf")])
def test_capacity_rejects_bad_per_person(per_person):
    with pytest.raises(ValueError):
        capacity_from_area(475, per_person)
    with pytest.raises(ValueError):
        capacity_from_area(None, per_person)


def test_capacity_rejects_negative_area():
    with pytest.raises(ValueError):
        capacity_from_area(-1)


def test_capacity_of_real_shelters(sites):
    caps = {s.id: capacity_from_area(s.area_m2) for s in sites if s.kind == "shelter"}
    assert caps["H001"] == 135
    assert caps["H049"] is None
    assert caps["H052"] == 2516                    # 焼津文化会館, 8806 m²
