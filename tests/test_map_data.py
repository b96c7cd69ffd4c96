"""The city's layers read with geopandas, site suitability per disaster, and site-list formats."""
from __future__ import annotations

import pytest
from shapely.geometry import Point

from evac.disasters import AT_RISK, SUITABLE, UNSUITABLE, distance_m, overflow, suitability
from evac.geodata import depth_class, load_city_layers, points_frame, sites_in_hazard
from evac.opendata import ImportFormatError, STANDARD_HEADER, read_site_file, standard_rows
from evac.shelters import CREDITS, load_yaizu_sites


@pytest.fixture(scope="module")
def layers():
    return {layer.key: layer for layer in load_city_layers()}


def test_city_layers_are_reprojected_to_wgs84_with_their_japanese_names(layers):
    assert {k: len(v.frame) for k, v in layers.items()} == {
        "boundary": 1, "school_districts": 13, "jishubosai": 78, "neighbourhoods": 35, "pluvial": 6,
        "flood_history": 1}
    for layer in layers.values():
        assert layer.frame.crs.to_epsg() == 4326
        minx, miny, maxx, maxy = layer.frame.total_bounds
        # Inside Yaizu (lon 138.23–138.35, lat 34.76–34.93): the plane-zone VIII metres are gone.
        assert 138.2 < minx < maxx < 138.4 and 34.7 < miny < maxy < 34.95, layer.key
        assert layer.credit in CREDITS.values()
    assert "焼津西小学校" in set(layers["school_districts"].frame["label"])     # Shift_JIS decoded
    assert any(label.endswith("自主防災会") for label in layers["jishubosai"].frame["label"])
    # The school districts cover the city: about 70 km² once projected back to metres.
    assert 69e6 < layers["school_districts"].frame.to_crs("EPSG:2450").area.sum() < 72e6


def test_a_school_known_to_be_in_its_district_lies_in_it(layers):
    sites = {s.id: s for s in load_yaizu_sites()}
    districts = layers["school_districts"].frame
    # H001 二区コミュニティ防災センター (本町) lies in one district, and only one.
    inside = districts[districts.contains(Point(sites["H001"].lon, sites["H001"].lat))]
    assert len(inside) == 1


@pytest.mark.parametrize("text, expected", [
    ("0.3m未満の区域", (0.0, 0.3)), ("0.3~0.5m未満の区域", (0.3, 0.5)), ("5.0~10.0m未満の区域", (5.0, 10.0)),
    ("0.5m以上3.0m未満", (0.5, 3.0)), ("10m以上", (10.0, None)), ("０．５～１．０ｍ未満", (0.5, 1.0)),
    ("浸水履歴", None), ("", None),
])
def test_depth_classes_are_read_from_their_labels(text, expected):
    assert depth_class(text) == expected


def test_pluvial_depth_classes_and_the_depth_threshold(layers):
    pluvial = layers["pluvial"]
    assert pluvial.has_depth and sorted(pluvial.frame["depth_min_m"]) == [0.0, 0.3, 0.5, 1.0, 3.0, 5.0]
    points = points_frame(load_yaizu_sites())
    shallow = sites_in_hazard(points, pluvial, min_depth_m=0.0)
    deep = sites_in_hazard(points, pluvial, min_depth_m=0.5)
    # Many sites lie in shallow projected water; none of the city's sites in 0.5 m or more.
    assert len(shallow) > 10 and deep == {}
    assert set(shallow.values()) <= set(pluvial.frame["label"])


def test_suitability_follows_designation_and_hazard_area():
    assert suitability(["earthquake_tsunami"], "tsunami", False) == SUITABLE
    assert suitability(["earthquake_tsunami"], "storm_flood", False) == UNSUITABLE
    assert suitability(["storm_flood"], "storm_flood", True) == AT_RISK
    assert suitability(["flood"], "storm_flood", False) == SUITABLE      # an emergency site's 洪水 flag
    assert suitability([], None, True) == SUITABLE                       # no disaster chosen yet


class _S:
    def __init__(self, id, lat, lon, capacity=100, occupancy=0, opened=True, name=""):
        self.id, self.lat, self.lon, self.capacity, self.occupancy, self.opened = id, lat, lon, capacity, occupancy, opened
        self.name = name or id


def test_overflow_names_the_nearest_open_suitable_sites_with_room():
    full = _S("A", 34.86, 138.30, capacity=10, occupancy=10)
    near = _S("B", 34.861, 138.30)
    nearer_but_full = _S("C", 34.8601, 138.30, capacity=5, occupancy=5)
    closed = _S("D", 34.8602, 138.30, opened=False)
    unsuitable = _S("E", 34.8603, 138.30)
    unknown_size = _S("F", 34.8604, 138.30, capacity=None)
    far = _S("G", 34.90, 138.30, occupancy=99)
    got = overflow(full, [full, near, nearer_but_full, closed, unsuitable, unknown_size, far], {"E": UNSUITABLE})
    assert [(s.id, s.room) for s in got] == [("B", 100), ("G", 1)]
    assert got[0].distance_m == round(distance_m(34.86, 138.30, 34.861, 138.30)) == 111


def test_every_city_csv_is_recognised_by_its_header(tmp_path):
    from evac.shelters import default_data_dir
    base = default_data_dir()
    expected = {
        "yaizu-city_opendata/避難所一覧/222127_hinannjo.csv": ("yaizu_shelter", 56, "H001"),
        "yaizu-city_opendata/指定緊急避難場所一覧/222127_evacuation_space.csv": ("yaizu_evacuation_space", 31, "E001"),
        "yaizu-city_opendata/指定津波避難ビル一覧/222127_shiteitsunamihinanbiru.csv": ("yaizu_tsunami_building", 125, "T001"),
        "gsi_hinanbasho/mergeFromCity_2_yaizu_22212.csv": ("gsi_evacuation_space", 31, "E2221200001201"),
    }
    for rel, (key, n, first) in expected.items():
        fmt, rows = read_site_file(base / rel)
        assert (fmt.key, len(rows), rows[0].site.id) == (key, n, first)
        assert not any(r.skipped for r in rows)
    # GSI's '1' flags mean the same designations as the city's '○'.
    gsi = {r.site.name: r.site.hazards for r in read_site_file(base / "gsi_hinanbasho/mergeFromCity_2_yaizu_22212.csv")[1]}
    city = {s.name: s.hazards for s in load_yaizu_sites() if s.kind == "emergency_space"}
    assert gsi == city


def test_standard_layout_round_trips_and_shift_jis_is_read(tmp_path):
    sites = [s for s in load_yaizu_sites() if s.kind == "emergency_space"]
    rows = standard_rows(sites)
    text = ",".join(STANDARD_HEADER) + "\r\n" + "\r\n".join(",".join(r) for r in rows) + "\r\n"
    path = tmp_path / "standard.csv"
    path.write_bytes(text.encode("cp932"))
    fmt, parsed = read_site_file(path)
    assert fmt.key == "standard_evacuation_space"
    assert [(r.site.id, r.site.name, r.site.hazards) for r in parsed] == [(s.id, s.name, s.hazards) for s in sites]


def test_unknown_and_broken_files_are_refused_with_the_reason(tmp_path):
    unknown = tmp_path / "list.csv"
    unknown.write_text("番号,施設名,場所\n1,どこか,焼津市\n", encoding="utf-8")
    with pytest.raises(ImportFormatError, match="unknown file format.*Header read: 番号, 施設名, 場所"):
        read_site_file(unknown)
    binary = tmp_path / "photo.csv"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe\x00\x81\xff")
    with pytest.raises(ImportFormatError, match="not a text file in UTF-8 or Shift_JIS"):
        read_site_file(binary)
    from evac.shelters import default_data_dir
    good = (default_data_dir() / "yaizu-city_opendata/避難所一覧/222127_hinannjo.csv").read_text(encoding="utf-8")
    cut = tmp_path / "cut.csv"
    cut.write_text(good[: good.index("\n", 2000)] + "\n3,222127,静岡県\n", encoding="utf-8")
    with pytest.raises(ImportFormatError, match="has 3 fields, the header has 18"):
        read_site_file(cut)


def test_a_shapefile_without_cpg_or_prj_is_still_read_right(tmp_path, layers):
    """Japanese shapefiles often come without .cpg (Shift_JIS assumed) or .prj (the city's zone)."""
    from evac.geodata import CITY_CRS, read_frame, shapefile_encoding
    schools = layers["school_districts"].frame.to_crs(CITY_CRS)
    for encoding in ("cp932", "utf-8"):
        path = tmp_path / encoding / "schools.shp"
        path.parent.mkdir()
        schools.rename(columns={"label": "NAME"}).to_file(path, encoding=encoding)
        path.with_suffix(".cpg").unlink(missing_ok=True)
        assert shapefile_encoding(path) == encoding
        frame = read_frame(path)
        assert "焼津西小学校" in set(frame["NAME"]) and frame.crs.to_epsg() == 4326
    path.with_suffix(".prj").unlink()
    with pytest.raises(ValueError, match="no coordinate system given"):
        read_frame(path)
    frame = read_frame(path, default_crs=CITY_CRS)
    assert 138.2 < frame.total_bounds[0] < 138.4
