"""Yaizu City's evacuation sites, loaded from the city's own open-data CSVs.

Three official lists are read (see data/SOURCE.md for origin, licence and caveats):

* 指定避難所 (designated shelters, where people stay)            -> kind 'shelter',          ids H001..
* 指定緊急避難場所 (designated emergency evacuation sites)          -> kind 'emergency_space',  ids E001..
* 指定津波避難ビル (tsunami evacuation buildings, towers, mounds)   -> kind 'tsunami_building', ids T001..

Ids are the list's prefix letter plus the city's own NO, zero-padded to three digits, so they stay
stable as long as the city keeps its numbering. The same physical place can appear in more than one
list (e.g. a school that is both a 指定避難所 and a 津波避難ビル); each appearance is its own Site.

Standard library only.
"""
from __future__ import annotations

import csv
import math
import os
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "CREDITS",
    "KINDS",
    "Site",
    "default_data_dir",
    "load_yaizu_sites",
]

# Source key -> the credit line that must be shown wherever that source's data is shown.
# Wording as given by each source; see data/SOURCE.md.
CREDITS: dict[str, str] = {
    "yaizu_opendata": "出典：焼津市オープンデータ（https://github.com/yaizu-city/opendata）",
    "gsi_hinanbasho": "出典：国土地理院 指定緊急避難場所データ",
    "n03_boundary": "出典：国土数値情報（行政区域データ）（国土交通省）",
}

KINDS: tuple[str, ...] = ("shelter", "emergency_space", "tsunami_building")

# Folder of the city's open data under the data dir, and each list's path inside it.
CITY_DIR = "yaizu-city_opendata"
SHELTER_CSV = Path("避難所一覧") / "222127_hinannjo.csv"
EMERGENCY_SPACE_CSV = Path("指定緊急避難場所一覧") / "222127_evacuation_space.csv"
TSUNAMI_BUILDING_CSV = Path("指定津波避難ビル一覧") / "222127_shiteitsunamihinanbiru.csv"

# Hazard flag columns -> hazard code.
SHELTER_HAZARD_COLUMNS: dict[str, str] = {
    "開設される災害の種類（地震・津波）": "earthquake_tsunami",
    "開設される災害の種類（風水害）": "storm_flood",
    "開設される災害の種類（土砂災害）": "landslide",
    "開設される災害の種類（南海トラフ地震臨時情報）": "nankai_advisory",
}
EMERGENCY_SPACE_HAZARD_COLUMNS: dict[str, str] = {
    "災害種別_洪水": "flood",
    "災害種別_崖崩れ、土石流及び地滑り": "landslide",
    "災害種別_高潮": "storm_surge",
    "災害種別_地震": "earthquake",
    "災害種別_津波": "tsunami",
    "災害種別_大規模な火事": "large_fire",
    "災害種別_内水氾濫": "inland_flood",
    "災害種別_火山現象": "volcano",
}
TSUNAMI_BUILDING_HAZARDS: tuple[str, ...] = ("tsunami",)

# Flag cells: "○" (U+25CB) in the city files; "〇" (U+3007) is accepted as the common look-alike.
_FLAG_TRUE = frozenset({"○", "〇"})
# Placeholders the city uses for "no phone number".
_NO_PHONE = frozenset({"", "ー", "-", "－", "―", "‐", "—"})
# Columns every list must have (besides its hazard columns).
_COMMON_COLUMNS = ("NO", "名称", "名称_カナ", "住所", "緯度", "経度", "電話番号")
MAX_NO_DIGITS = 15   # the site id (H, E or T and the NO) is at most 16 characters

ENV_DATA_DIR = "EVAC_DATA_DIR"


@dataclass(frozen=True)
class Site:
    """One designated evacuation site from one of the city's lists."""

    id: str                      # 'H001', 'E001', 'T001', ...
    name: str                    # 名称
    name_kana: str               # 名称_カナ
    kind: str                    # one of KINDS
    address: str                 # 住所 as written by the city (not normalised)
    lat: float                   # WGS84
    lon: float
    area_m2: float | None        # 避難所面積平方メートル (指定避難所 only); None when unknown
    hazards: tuple[str, ...]     # sorted hazard codes the site is designated for
    phone: str                   # '' when the city gives none
    source: str                  # key into CREDITS

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"Site {self.id}: unknown kind {self.kind!r} (expected one of {KINDS})")
        if self.source not in CREDITS:
            raise ValueError(f"Site {self.id}: unknown source {self.source!r} (expected one of {tuple(CREDITS)})")

    @property
    def credit(self) -> str:
        return CREDITS[self.source]


def default_data_dir() -> Path:
    """The repo's data/ folder, or $EVAC_DATA_DIR when that is set (and not empty)."""
    override = os.environ.get(ENV_DATA_DIR, "").strip()
    if override:
        return Path(override).expanduser()
    return Path(__file__).resolve().parent.parent / "data"


def load_yaizu_sites(data_dir: Path | str | None = None) -> list[Site]:
    """All sites of the three city lists: 指定避難所 (H…), then 指定緊急避難場所 (E…), then
    津波避難ビル (T…), each in the city's NO order.

    Raises ValueError naming the file and row for malformed data, FileNotFoundError if a list is missing.
    """
    base = Path(data_dir) if data_dir is not None else default_data_dir()
    city = base / CITY_DIR
    return [
        *_load_list(city / SHELTER_CSV, prefix="H", kind="shelter",
                    hazard_columns=SHELTER_HAZARD_COLUMNS, area_column="避難所面積平方メートル"),
        *_load_list(city / EMERGENCY_SPACE_CSV, prefix="E", kind="emergency_space",
                    hazard_columns=EMERGENCY_SPACE_HAZARD_COLUMNS),
        *_load_list(city / TSUNAMI_BUILDING_CSV, prefix="T", kind="tsunami_building",
                    fixed_hazards=TSUNAMI_BUILDING_HAZARDS),
    ]


class _RowError(ValueError):
    """A row's bad value: str() in English (what load_yaizu_sites says), `ja` the same in Japanese (HQ's import
    summary says both)."""

    def __init__(self, message: str, ja: str = ""):
        super().__init__(message)
        self.ja = ja


def _shown(text: str, most: int = 40) -> str:
    """A cell as a reason quotes it: a value thousands of characters long is cut, not echoed whole."""
    return repr(text if len(text) <= most else text[:most] + "…")


def _load_list(path: Path, *, prefix: str, kind: str, hazard_columns: dict[str, str] | None = None,
               fixed_hazards: tuple[str, ...] = (), area_column: str | None = None) -> list[Site]:
    hazard_columns = hazard_columns or {}
    sites: list[Site] = []
    seen: dict[str, int] = {}
    # utf-8-sig: the city's files have no BOM today, but Excel-saved updates often do.
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        header = reader.fieldnames or []
        required = [*_COMMON_COLUMNS, *hazard_columns, *([area_column] if area_column else [])]
        missing = [c for c in required if c not in header]
        if missing:
            raise ValueError(f"{path}: missing column(s) {', '.join(missing)} in header")
        for record_no, row in enumerate(reader, start=1):
            where = f"{path}: line {reader.line_num} (data row {record_no}, NO {(row.get('NO') or '').strip() or '?'})"
            try:
                if None in row:
                    raise _RowError(f"{len(row[None])} more field(s) than the header has")
                if any(v is None for v in row.values()):
                    raise _RowError(f"fewer fields than the header's {len(header)}")
                site = _parse_row(row, prefix=prefix, kind=kind, hazard_columns=hazard_columns,
                                  fixed_hazards=fixed_hazards, area_column=area_column)
            except _RowError as e:
                raise ValueError(f"{where}: {e}") from None
            if site.id in seen:
                raise ValueError(f"{where}: duplicate NO, id {site.id} already used on line {seen[site.id]}")
            seen[site.id] = reader.line_num
            sites.append(site)
    sites.sort(key=lambda s: int(s.id[1:]))
    return sites


def _parse_row(row: dict[str, str], *, prefix: str, kind: str, hazard_columns: dict[str, str],
               fixed_hazards: tuple[str, ...], area_column: str | None) -> Site:
    no = row["NO"].strip()
    if no.isdecimal() and len(no) > MAX_NO_DIGITS:
        # (int() refuses past 4,300 digits, in Python's words; the site id of such a NO fits no HQ anyway)
        raise _RowError(f"NO {_shown(no)} has {len(no)} digits; a site's NO has at most {MAX_NO_DIGITS}",
                        f"NO {_shown(no)} は {len(no)} 桁あります。避難所の NO は {MAX_NO_DIGITS} 桁までです")
    if not no.isdecimal() or int(no) <= 0:
        raise _RowError(f"NO must be a positive whole number, got {_shown(no)}",
                        f"NO は 1 以上の整数にしてください（{_shown(no)} とあります）")
    name = row["名称"].strip()
    if not name:
        raise _RowError("名称 (name) is empty", "名称が空です")
    lat = _coord(row["緯度"], "緯度", "latitude", -90.0, 90.0)
    lon = _coord(row["経度"], "経度", "longitude", -180.0, 180.0)
    hazards = set(fixed_hazards)
    for column, code in hazard_columns.items():
        cell = row[column].strip()
        if cell in _FLAG_TRUE:
            hazards.add(code)
        elif cell:
            raise _RowError(f"{column} must be '○' or empty, got {_shown(cell)}",
                            f"{column}は ○ か空欄にしてください（{_shown(cell)} とあります）")
    area = _area(row[area_column], area_column) if area_column else None
    phone = row["電話番号"].strip()
    return Site(
        id=f"{prefix}{int(no):03d}",
        name=name,
        name_kana=row["名称_カナ"].strip(),
        kind=kind,
        address=row["住所"].strip(),
        lat=lat,
        lon=lon,
        area_m2=area,
        hazards=tuple(sorted(hazards)),
        phone="" if phone in _NO_PHONE else phone,
        source="yaizu_opendata",
    )


def _coord(text: str, column: str, english: str, lo: float, hi: float) -> float:
    try:
        value = float(text.strip())
    except ValueError:
        raise _RowError(f"{column} ({english}) is not a number: {_shown(text)}",
                        f"{column}が数値ではありません: {_shown(text)}") from None
    if not math.isfinite(value) or not lo <= value <= hi:
        raise _RowError(f"{column} ({english}) out of range [{lo}, {hi}]: {_shown(text)}",
                        f"{column}が範囲（{lo:g}〜{hi:g}）の外です: {_shown(text)}")
    return value


def _area(text: str, label: str) -> float | None:
    text = text.strip().replace(",", "")
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise _RowError(f"{label} is not a number: {_shown(text)}",
                        f"{label}が数値ではありません: {_shown(text)}") from None
    if not math.isfinite(value) or value < 0:
        raise _RowError(f"{label} must be a non-negative number: {_shown(text)}",
                        f"{label}は 0 以上の数値にしてください: {_shown(text)}")
    return value
