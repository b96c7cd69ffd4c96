"""A hazard layer must lie where HQ's sites are, in longitude/latitude: a GeoJSON reads as longitude/latitude
whatever its numbers, so one in metres, or another area's layer, was taken in, drawn off the map and put no
site in any hazard area, with nothing said."""
from __future__ import annotations

import json
import sqlite3

import pytest

from tests.conftest import run_evac
from tests.test_hq_import import hq_db, initialised_hq_db  # noqa: F401  (fixtures)


def square(x: float, y: float, side: float) -> dict:
    ring = [[x, y], [x + side, y], [x + side, y + side], [x, y + side], [x, y]]
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"depth": "1m"}, "geometry": {"type": "Polygon", "coordinates": [ring]}}]}


def layers(db) -> list:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT id, title, geojson FROM hazard_layers ORDER BY id").fetchall()


@pytest.mark.parametrize("where, ja, en", [
    # Yaizu's city hall in Japan's plane rectangular system VIII (EPSG:2450), in metres
    (square(-33000.0, -127000.0, 500.0), "座標が経度・緯度ではありません", "its coordinates are not longitude/latitude"),
    # Tokyo's Shinjuku: longitude/latitude, but not Yaizu's
    (square(139.69, 35.68, 0.01), "区域が本部の避難所から遠く離れています", "its areas lie nowhere near HQ's sites"),
])
def test_a_layer_not_where_hqs_sites_are_is_refused_and_changes_nothing(hq_db, tmp_path, where, ja, en):  # noqa: F811
    before = layers(hq_db)
    path = tmp_path / "tsunami.geojson"
    path.write_text(json.dumps(where))
    result = run_evac("hq", "import", str(path), "--db", str(hq_db), "--hazard", "tsunami", "--credit", "出典：テスト")
    assert result.returncode == 2, result.stderr
    line = result.stderr.strip()
    assert ja in line.split(" / ")[0] and en in line, line
    assert "Traceback" not in result.stderr
    assert layers(hq_db) == before


def test_a_layer_over_yaizu_is_taken_in(hq_db, tmp_path):  # noqa: F811
    path = tmp_path / "tsunami.geojson"
    path.write_text(json.dumps(square(138.3200, 34.8600, 0.005)))
    result = run_evac("hq", "import", str(path), "--db", str(hq_db), "--hazard", "tsunami", "--credit", "出典：テスト")
    assert result.returncode == 0, result.stderr
    assert [title for _, title, _ in layers(hq_db)] == ["tsunami"]
