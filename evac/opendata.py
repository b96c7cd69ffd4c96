"""Site lists in the formats cities publish, recognised by their header, and the standard layout out.

Formats read (see `FORMATS`):

* 自治体標準オープンデータセット「指定緊急避難場所一覧」 (デジタル庁's standard layout)
* the older 推奨データセット layout of 指定緊急避難場所一覧 (Yaizu's 222127_evacuation_space.csv)
* 国土地理院 指定緊急避難場所データ CSV (mergeFromCity)
* Yaizu's 指定避難所 CSV (222127_hinannjo.csv) and 指定津波避難ビル CSV

A file is refused whole when its header matches no format or it is not text in UTF-8 or Shift_JIS;
a row with a bad value is skipped with its reason, so one typo does not hold back a city's list.

Standard library only.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from .shelters import (EMERGENCY_SPACE_HAZARD_COLUMNS, SHELTER_HAZARD_COLUMNS, TSUNAMI_BUILDING_HAZARDS, Site,
                       _coord, _parse_row, _RowError, _shown)

__all__ = ["FORMATS", "FIELD_LIMITS", "ImportFormatError", "MAX_CAPACITY", "ParsedRow", "Reason", "STANDARD_HEADER",
           "read_site_file", "standard_rows"]

# 自治体標準オープンデータセット 指定緊急避難場所一覧: the columns, in order.
STANDARD_HEADER: tuple[str, ...] = (
    "全国地方公共団体コード", "ID", "地方公共団体名", "名称", "名称_カナ", "名称_英字",
    "所在地_全国地方公共団体コード", "町字ID", "所在地_連結表記", "所在地_都道府県", "所在地_市区町村",
    "所在地_町字", "所在地_番地以下", "建物名等(方書)", "緯度", "経度", "標高", "電話番号", "内線番号",
    "連絡先メールアドレス", "連絡先FormURL", "連絡先備考（その他、SNSなど）", "郵便番号",
    *EMERGENCY_SPACE_HAZARD_COLUMNS, "指定避難所との住所同一", "想定収容人数", "対象となる町会・自治会", "URL",
    "画像", "画像_ライセンス", "備考",
)
GSI_HAZARD_COLUMNS = {c.removeprefix("災害種別_"): code for c, code in EMERGENCY_SPACE_HAZARD_COLUMNS.items()}

_FLAG_TRUE = frozenset({"○", "〇", "1", "◯"})

# What HQ's database holds (hq_dashboard.models.Shelter's column sizes): a row beyond it is skipped with
# its reason, rather than PostgreSQL refusing the whole file at the end (SQLite would store anything).
# (attribute, what the English reason calls it, what the Japanese one does, most characters)
FIELD_LIMITS = (("id", "the site id", "ID", 16), ("name", "名称 (name)", "名称", 200),
                ("name_kana", "名称_カナ (kana)", "名称_カナ", 200), ("address", "住所 (address)", "住所", 300),
                ("phone", "電話番号 (phone)", "電話番号", 40))
# No one site shelters more people than this: a larger 想定収容人数 is a typo (an extra digit or two),
# and one past 2^31 fits no database column at all.
MAX_CAPACITY = 100_000


class ImportFormatError(ValueError):
    """The whole file is refused; the message names the problem for the person importing it.  `ja` tells it
    in Japanese, for a command whose operators read Japanese first (HQ's: "ja / English"); str() stays English."""

    def __init__(self, message: str, ja: str = ""):
        super().__init__(message)
        self.ja = ja


class Reason(str):
    """Why a row was skipped: the string itself is the English (what callers compare and show, as before),
    `ja` the same in Japanese, for HQ's import summary (Japanese first)."""
    ja: str

    def __new__(cls, message: str, ja: str):
        said = super().__new__(cls, message)
        said.ja = ja
        return said


@dataclass(frozen=True)
class ParsedRow:
    line: int
    site: Site | None = None
    capacity: int | None = None      # 想定収容人数 when the file gives one
    match_by_name: bool = False      # GSI ids are national: match the city's own site by name
    skipped: str = ""                # why the row was not taken: a Reason (English, with .ja)


@dataclass(frozen=True)
class Format:
    key: str
    title: str
    source: str                          # key into evac.shelters.CREDITS
    required: tuple[str, ...]            # header columns that identify the format
    parse: Callable[[dict[str, str]], tuple[Site, int | None]]
    match_by_name: bool = False


def _flags(row: dict[str, str], columns: dict[str, str]) -> set[str]:
    found = set()
    for column, code in columns.items():
        cell = (row.get(column) or "").strip()
        if cell in _FLAG_TRUE:
            found.add(code)
        elif cell and cell not in {"0", "×", "-"}:
            raise _RowError(f"{column} must be a flag (○ or 1) or empty, got {_shown(cell)}",
                            f"{column}は ○ か 1 か空欄にしてください（{_shown(cell)} とあります）")
    return found


def _capacity(text: str | None) -> int | None:
    text = (text or "").strip().replace(",", "")
    if not text:
        return None
    if not text.isdecimal():
        raise _RowError(f"想定収容人数 must be a whole number, got {_shown(text)}",
                        f"想定収容人数は整数にしてください（{_shown(text)} とあります）")
    if len(text) > 9 or int(text) > MAX_CAPACITY:
        shown = text if len(text) <= 40 else text[:40] + "…"
        raise _RowError(f"想定収容人数 {shown} is more than any one site holds (at most {MAX_CAPACITY:,}); check it",
                        f"想定収容人数 {shown} は1か所の収容人数として多すぎます（最大 {MAX_CAPACITY:,} 人）。"
                        "確かめてください")
    return int(text)


def _check_limits(site: Site) -> None:
    for attr, label, label_ja, limit in FIELD_LIMITS:
        value = getattr(site, attr)
        if len(value) > limit:
            raise _RowError(f"{label} is {len(value)} characters long; HQ keeps at most {limit}",
                            f"{label_ja}が {len(value)} 文字あります。本部が保存できるのは {limit} 文字までです")


def _site(id_: str, row: dict[str, str], name_col: str, kind: str, hazards: set[str], address: str,
          source: str) -> Site:
    name = (row.get(name_col) or "").strip()
    if not name:
        raise _RowError(f"{name_col} (name) is empty", f"{name_col}が空です")
    if not id_ or len(id_) > 16:
        raise _RowError(f"the site id {_shown(id_)} is empty or longer than 16 characters",
                        f"ID {_shown(id_)} が空か、16 文字を超えています")
    return Site(id=id_, name=name, name_kana=(row.get("名称_カナ") or "").strip(), kind=kind,
                address=address.strip(), lat=_coord(row.get("緯度") or "", "緯度", "latitude", -90, 90),
                lon=_coord(row.get("経度") or "", "経度", "longitude", -180, 180), area_m2=None,
                hazards=tuple(sorted(hazards)), phone=(row.get("電話番号") or "").strip(), source=source)


def _standard(row: dict[str, str]) -> tuple[Site, int | None]:
    raw = (row.get("ID") or "").strip()
    # (a number longer than any id is left as it is, for _site to refuse by its length: int() refuses one of
    # over 4,300 digits in Python's words)
    id_ = f"E{int(raw):03d}" if raw.isdecimal() and len(raw) <= 16 else raw
    address = (row.get("所在地_連結表記") or "").strip() or "".join(
        (row.get(c) or "").strip() for c in ("所在地_都道府県", "所在地_市区町村", "所在地_町字", "所在地_番地以下"))
    site = _site(id_, row, "名称", "emergency_space", _flags(row, EMERGENCY_SPACE_HAZARD_COLUMNS), address,
                 "yaizu_opendata")
    return site, _capacity(row.get("想定収容人数"))


def _gsi(row: dict[str, str]) -> tuple[Site, int | None]:
    site = _site((row.get("共通ID") or "").strip(), row, "施設・場所名", "emergency_space",
                 _flags(row, GSI_HAZARD_COLUMNS), row.get("住所") or "", "gsi_hinanbasho")
    return site, None


def _city(prefix: str, kind: str, hazard_columns: dict[str, str], fixed: tuple[str, ...] = (),
          area: str | None = None, capacity: str | None = None):
    def parse(row: dict[str, str]) -> tuple[Site, int | None]:
        site = _parse_row(row, prefix=prefix, kind=kind, hazard_columns=hazard_columns, fixed_hazards=fixed,
                          area_column=area)
        return site, _capacity(row.get(capacity)) if capacity else None
    return parse


FORMATS: tuple[Format, ...] = (
    Format("standard_evacuation_space", "自治体標準オープンデータセット 指定緊急避難場所一覧", "yaizu_opendata",
           ("全国地方公共団体コード", "ID", "名称", "緯度", "経度", *EMERGENCY_SPACE_HAZARD_COLUMNS), _standard),
    Format("gsi_evacuation_space", "国土地理院 指定緊急避難場所データ", "gsi_hinanbasho",
           ("共通ID", "施設・場所名", "住所", "緯度", "経度", *GSI_HAZARD_COLUMNS), _gsi, match_by_name=True),
    Format("yaizu_evacuation_space", "指定緊急避難場所一覧（推奨データセット旧様式・焼津市）", "yaizu_opendata",
           ("NO", "名称", "名称_カナ", "住所", "緯度", "経度", "電話番号", *EMERGENCY_SPACE_HAZARD_COLUMNS),
           _city("E", "emergency_space", EMERGENCY_SPACE_HAZARD_COLUMNS, capacity="想定収容人数")),
    Format("yaizu_shelter", "焼津市 指定避難所一覧", "yaizu_opendata",
           ("NO", "名称", "名称_カナ", "住所", "緯度", "経度", "電話番号", *SHELTER_HAZARD_COLUMNS,
            "避難所面積平方メートル"),
           _city("H", "shelter", SHELTER_HAZARD_COLUMNS, area="避難所面積平方メートル")),
    Format("yaizu_tsunami_building", "焼津市 指定津波避難ビル一覧", "yaizu_opendata",
           ("NO", "名称", "名称_カナ", "住所", "緯度", "経度", "電話番号", "区分"),
           _city("T", "tsunami_building", {}, fixed=TSUNAMI_BUILDING_HAZARDS)),
)


def decode(data: bytes, name: str) -> str:
    """UTF-8 (with or without BOM) or Shift_JIS (cp932, what Excel in Japan writes)."""
    for encoding in ("utf-8-sig", "cp932"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ImportFormatError(f"{name}: not a text file in UTF-8 or Shift_JIS; save it as CSV (UTF-8) and try again",
                            f"{name}: UTF-8 か Shift_JIS のテキストファイルではありません。CSV（UTF-8）で保存し直して、"
                            "もう一度取り込んでください")


def detect(header: Iterable[str], name: str) -> Format:
    header = [h.strip() for h in header]
    for fmt in FORMATS:
        if all(c in header for c in fmt.required):
            return fmt
    # Name the nearest format and what it lacks: that is what the person importing can fix.
    best = max(FORMATS, key=lambda f: sum(c in header for c in f.required))
    missing = [c for c in best.required if c not in header]
    raise ImportFormatError(
        f"{name}: unknown file format. The header matches none of: {'; '.join(f.title for f in FORMATS)}. "
        f"Nearest is {best.title}, which also needs the column(s) {', '.join(missing)}. "
        f"Header read: {', '.join(header[:12]) or '(empty)'}",
        f"{name}: 対応していない形式のファイルです。見出し行が{_quoted(f.title for f in FORMATS)}のどれにも"
        f"合いません。いちばん近いのは「{best.title}」ですが、列{_quoted(missing)}がありません。"
        f"読んだ見出し: {_quoted(header[:12]) or '（空）'}")


def _quoted(names: Iterable[str]) -> str:
    # Each in 「」: a column's own name may hold 、 (災害種別_崖崩れ、土石流及び地滑り)
    return "".join(f"「{name}」" for name in names)


def read_site_file(path: Path | str, data: bytes | None = None) -> tuple[Format, list[ParsedRow]]:
    """The format of a site list and each of its rows parsed or skipped with the reason."""
    path = Path(path)
    text = decode(path.read_bytes() if data is None else data, path.name)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise ImportFormatError(f"{path.name}: the file is empty", f"{path.name}: ファイルが空です") from None
    except csv.Error as exc:
        raise ImportFormatError(f"{path.name}: not a readable CSV ({exc})",
                                f"{path.name}: 読める CSV ではありません（{exc}）") from None
    fmt = detect(header, path.name)
    header = [h.strip() for h in header]
    rows: list[ParsedRow] = []
    try:
        for values in reader:
            line = reader.line_num
            if not any(v.strip() for v in values):
                continue
            if len(values) != len(header):
                raise ImportFormatError(
                    f"{path.name}: line {line} has {len(values)} fields, the header has {len(header)}; "
                    "the file is cut or its columns are shifted, so nothing was imported",
                    f"{path.name}: {line} 行目の項目は {len(values)} 個で、見出し行は {len(header)} 個です。"
                    "ファイルが途中で切れているか列がずれているので、何も取り込んでいません")
            try:
                site, capacity = fmt.parse(dict(zip(header, values)))
                _check_limits(site)
            except _RowError as exc:
                rows.append(ParsedRow(line, skipped=Reason(str(exc), exc.ja or str(exc))))
                continue
            except ValueError as exc:   # one no row check foresaw: said in both, not as a traceback
                rows.append(ParsedRow(line, skipped=Reason(f"a value in this row cannot be read ({exc})",
                                                           f"この行に読めない値があります（{exc}）")))
                continue
            rows.append(ParsedRow(line, site, capacity, fmt.match_by_name))
    except csv.Error as exc:
        raise ImportFormatError(f"{path.name}: line {reader.line_num} is not valid CSV ({exc})",
                                f"{path.name}: {reader.line_num} 行目が正しい CSV ではありません（{exc}）") from None
    return fmt, rows


def standard_rows(shelters: Iterable, municipality_code: str = "222127",
                  municipality: str = "静岡県焼津市") -> list[list[str]]:
    """指定緊急避難場所 rows (kind emergency_space) in STANDARD_HEADER order."""
    out = []
    for s in shelters:
        if s.kind != "emergency_space":
            continue
        hazards = set(s.hazards.split() if isinstance(s.hazards, str) else s.hazards)
        number = s.id[1:] if s.id[:1] == "E" and s.id[1:].isdecimal() else s.id
        row = {"全国地方公共団体コード": municipality_code, "ID": str(int(number)) if number.isdecimal() else number,
               "地方公共団体名": municipality, "名称": s.name, "名称_カナ": s.name_kana,
               "所在地_連結表記": s.address, "緯度": f"{s.lat:.8f}", "経度": f"{s.lon:.8f}", "電話番号": s.phone,
               "想定収容人数": "" if getattr(s, "capacity", None) is None else str(s.capacity)}
        for column, code in EMERGENCY_SPACE_HAZARD_COLUMNS.items():
            row[column] = "1" if code in hazards else ""
        out.append([row.get(c, "") for c in STANDARD_HEADER])
    return out
