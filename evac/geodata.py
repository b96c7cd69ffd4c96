"""The city's map layers, read with geopandas: boundary, districts and hazard areas, all in WGS84.

The city's shapefiles are in JGD2000 plane rectangular zone VIII (EPSG:2450) with Shift_JIS
attributes; they are reprojected here once so that everything downstream speaks lon/lat.
Every layer keeps the credit line of its source (data/SOURCE.md): a map that shows it must show it.

Hazard layers carry a depth class where the source gives one (内水浸水想定区域 最大浸水深), so a site
can be flagged only where the water is deep enough to matter (see `sites_in_hazard`).
"""
from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import geopandas as gpd

# geopandas is imported where it is used: HQ's command-line tools (enroll, revoke) start without it.

from .shelters import CITY_DIR, CREDITS, default_data_dir

__all__ = [
    "WGS84", "Layer", "LayerError", "depth_class", "load_city_layers", "points_frame", "sites_in_hazard",
]

WGS84 = "EPSG:4326"
CITY_CRS = "EPSG:2450"   # JGD2000 / Japan Plane Rectangular CS VIII, what the city's shapefiles use

# Display simplification, in degrees (about 5 m at Yaizu's latitude): keeps the map page small.
DISPLAY_TOLERANCE = 0.00005


class LayerError(ValueError):
    """A layer file that cannot be read as a map layer; the message says why.  `ja` tells it in Japanese, for a
    command whose operators read Japanese first (HQ's: "ja / English"); str() stays English."""

    def __init__(self, message: str, ja: str = ""):
        super().__init__(message)
        self.ja = ja


@dataclass(frozen=True, eq=False)  # hashed by identity: layers are loaded once and cached
class Layer:
    """One map layer: a frame in WGS84 with a 'label' column (and 'depth_min_m'/'depth_max_m' for
    depth-classed hazard layers)."""

    key: str                      # stable id, used in URLs and layer names
    title: str                    # what HQ staff read in the layer switcher
    group: str                    # 'base' | 'district' | 'hazard'
    frame: gpd.GeoDataFrame = field(repr=False)
    credit: str = ""
    # Disasters (evac.disasters codes) during which this hazard layer counts as active.
    disasters: tuple[str, ...] = ()

    @property
    def has_depth(self) -> bool:
        return "depth_min_m" in self.frame.columns


# (key, title, group, relative path, label column(s), disasters) for the city's own layers.
_CITY_LAYERS = (
    ("boundary", "焼津市 市域", "base", Path("n03_japan-topography") / "N03-21_22_210101_s0010_yaizu_22212.geojson",
     ("N03_004",), ()),
    ("school_districts", "小学校区", "district", Path(CITY_DIR, "小学校区") / "小学校区.shp", ("SAFIELD001",), ()),
    ("jishubosai", "自主防災会", "district", Path(CITY_DIR, "自主防災会境界") / "自主防災会区域更新.shp",
     ("SAFIELD000", "SAFIELD001"), ()),
    ("neighbourhoods", "自治会", "district", Path(CITY_DIR, "自治会区域") / "自治会区域.shp", ("SAFIELD000",), ()),
    ("pluvial", "内水浸水想定区域", "hazard",
     Path(CITY_DIR, "内水浸水想定区域(公共下水道区域内)") / "内水浸水想定区域.geojson", ("最大浸水深",),
     ("storm_flood", "inland_flood", "flood")),
    ("flood_history", "浸水履歴（H9〜R7）", "hazard", Path(CITY_DIR, "浸水履歴_統合") / "浸水履歴_統合.shp", (),
     ("storm_flood", "inland_flood", "flood")),
)

_NUM = r"(\d+(?:\.\d+)?)"


def depth_class(text: str) -> tuple[float, float | None] | None:
    """The depth range of a class label such as '0.3~0.5m未満の区域', '0.3m未満の区域',
    '5.0m以上' or '0.5m以上3.0m未満'; None when the text names no depth."""
    text = (text or "").replace("～", "~").replace("〜", "~").replace("－", "-").translate(
        str.maketrans("０１２３４５６７８９．ｍ", "0123456789.m"))
    m = re.search(_NUM + r"\s*m?\s*(?:~|-|以上)\s*" + _NUM + r"\s*m", text)
    if m:
        return float(m.group(1)), float(m.group(2))
    m = re.search(_NUM + r"\s*m\s*未満", text)
    if m:
        return 0.0, float(m.group(1))
    m = re.search(_NUM + r"\s*m\s*以上", text)
    if m:
        return float(m.group(1)), None
    return None


def shapefile_encoding(path: Path) -> str | None:
    """The attribute encoding of a shapefile that has no .cpg: UTF-8 if its records decode as such,
    otherwise Shift_JIS (cp932), which is what Japanese GIS software writes.  None when a .cpg says."""
    path = Path(path)
    if path.suffix.lower() != ".shp" or path.with_suffix(".cpg").exists():
        return None
    dbf = next((p for p in (path.with_suffix(".dbf"), path.with_suffix(".DBF")) if p.exists()), None)
    if dbf is None:
        return None
    raw = dbf.read_bytes()
    records = raw[int.from_bytes(raw[8:10], "little"):] if len(raw) > 10 else b""
    try:
        records.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        return "cp932"


def read_frame(path: Path, encoding: str | None = None, default_crs: str | None = None) -> gpd.GeoDataFrame:
    """A vector file in WGS84.  Shapefiles are read with the encoding their .cpg names (the city's
    say Shift_JIS), else the one their records decode as.  A file without a CRS gets default_crs, or is
    taken as lon/lat when its coordinates look like it."""
    import geopandas as gpd
    encoding = encoding or shapefile_encoding(path)
    kwargs = {"encoding": encoding} if encoding else {}
    frame = gpd.read_file(path, **kwargs)
    if frame.crs is None:
        if default_crs:
            return frame.set_crs(default_crs).to_crs(WGS84)
        minx, miny, maxx, maxy = frame.total_bounds
        if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
            raise LayerError(f"{path.name}: no coordinate system given (a .prj file) and the coordinates are "
                             "not longitude/latitude",
                             f"{path.name}: 座標系（.prj ファイル）がなく、座標も経度・緯度ではありません")
        frame = frame.set_crs(WGS84)
    return frame.to_crs(WGS84)


def _labelled(frame: gpd.GeoDataFrame, label_columns: tuple[str, ...]) -> gpd.GeoDataFrame:
    import geopandas as gpd
    import pandas as pd
    labels = (frame[list(label_columns)].astype(str).agg(" ".join, axis=1)
              if label_columns else pd.Series([""] * len(frame), index=frame.index))
    out = gpd.GeoDataFrame({"label": labels.str.strip()}, geometry=frame.geometry.values, crs=frame.crs)
    depths = [depth_class(t) for t in out["label"]] if label_columns else []
    if depths and all(d is not None for d in depths):
        out["depth_min_m"] = [d[0] for d in depths]
        out["depth_max_m"] = [d[1] for d in depths]
    return out


_LOADING = threading.Lock()


def load_city_layers(data_dir: Path | str | None = None) -> tuple[Layer, ...]:
    """The boundary, the district layers and the two hazard layers of Yaizu's open data.

    Cached: the shapefiles are read and reprojected once per process.  One reader at a time, so that
    HQ's warm-up and its first visitor, arriving together, do not both read them."""
    with _LOADING:
        return _load_city_layers(data_dir)


@lru_cache(maxsize=4)
def _load_city_layers(data_dir: Path | str | None) -> tuple[Layer, ...]:
    base = Path(data_dir) if data_dir is not None else default_data_dir()
    layers = []
    for key, title, group, rel, label_columns, disasters in _CITY_LAYERS:
        path = base / rel
        credit = CREDITS["n03_boundary"] if key == "boundary" else CREDITS["yaizu_opendata"]
        # The city's shapefiles are all in plane zone VIII, should a .prj ever go missing.
        frame = _labelled(read_frame(path, default_crs=CITY_CRS if path.suffix == ".shp" else None), label_columns)
        layers.append(Layer(key, title, group, frame, credit, disasters))
    return tuple(layers)


def points_frame(rows) -> gpd.GeoDataFrame:
    """Sites (anything with id, lon, lat) as a point frame in WGS84, indexed by id."""
    import geopandas as gpd
    import pandas as pd
    rows = list(rows)
    return gpd.GeoDataFrame(
        geometry=gpd.points_from_xy([r.lon for r in rows], [r.lat for r in rows]), crs=WGS84,
        index=pd.Index([r.id for r in rows], name="site_id"))


def sites_in_hazard(points: gpd.GeoDataFrame, layer: Layer, min_depth_m: float = 0.5) -> dict[str, str]:
    """Site id -> the label of the hazard area it lies in, for the areas that count: on a depth-classed
    layer those at least min_depth_m deep (the class's lower bound), on other layers every area."""
    areas = layer.frame
    if layer.has_depth:
        areas = areas[areas["depth_min_m"] >= min_depth_m]
    if areas.empty or points.empty:
        return {}
    import geopandas as gpd
    hits = gpd.sjoin(points, areas[["label", "geometry"]], how="inner", predicate="within")
    # A point can lie in overlapping areas; keep the last (the city lists them shallow to deep).
    return {sid: (label or layer.title) for sid, label in hits.groupby(level=0)["label"].last().items()}
