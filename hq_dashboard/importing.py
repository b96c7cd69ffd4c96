"""`evac hq import PATH`: a site list (CSV) or a hazard layer (GeoJSON, shapefile) into HQ's database.

The format is chosen by reading the file (evac.opendata for site lists; attribute names for hazard
layers).  One transaction: a file that cannot be read, or of a format HQ does not know, changes nothing.
"""
from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session

from evac.capacity import capacity_from_area
from evac.disasters import DISASTERS, distance_m
from evac.geodata import WGS84, depth_class, read_frame
from evac.opendata import MAX_CAPACITY, ImportFormatError, Reason, read_site_file
from evac.shelters import CREDITS

from .models import HazardLayer, Shelter
from .site_words import KIND_LABELS

SITE_SUFFIXES = {".csv", ".txt"}
LAYER_SUFFIXES = {".geojson", ".json", ".shp"}
_MARKUP = re.compile(r"[<>]")
KSJ_CREDIT = "出典：国土数値情報（{}）（国土交通省）"


class ImportRefused(ImportFormatError):
    """The file refused as a whole: str() in English, `ja` the same in Japanese (HQ's command line says both)."""

    def __init__(self, message: str, ja: str):
        super().__init__(message)
        self.ja = ja


def _ja(said: str) -> str:
    return getattr(said, "ja", "") or str(said)


@dataclass
class ImportSummary:
    kind: str                      # 'sites' | 'hazard layer'
    format: str
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    # (where, why): each a Reason, the English string with its Japanese as .ja
    skipped: list[tuple[str, str]] = field(default_factory=list)
    # Sites whose capacity HQ keeps because the file gives neither a capacity nor an area: (id, capacity).
    kept_capacity: list[tuple[str, int]] = field(default_factory=list)
    format_ja: str = ""            # the format in Japanese, when it differs

    def lines(self) -> list[str]:
        """Each line in Japanese, then the same in English on the next (as HQ's other commands report what
        they did; a refusal, one line, says "日本語 / English")."""
        out = [f"形式: {self.format_ja or self.format}", f"format: {self.format}",
               f"追加 {len(self.added)} 件、更新 {len(self.updated)} 件、変更なし {len(self.unchanged)} 件、"
               f"取り込まなかった行 {len(self.skipped)} 件",
               f"added {len(self.added)}, updated {len(self.updated)}, unchanged {len(self.unchanged)}, "
               f"skipped {len(self.skipped)}"]
        for where, why in self.skipped:
            out += [f"  {_ja(where)}は取り込みませんでした: {_ja(why)}", f"  skipped {where}: {why}"]
        if self.kept_capacity:
            # (an empty cell never wipes what HQ knows: a capacity typed wrong once is corrected by a file with one)
            count = len(self.kept_capacity)
            kept = ", ".join(f"{sid} {capacity}" for sid, capacity in self.kept_capacity[:10])
            kept_ja = "、".join(f"{sid} {capacity}" for sid, capacity in self.kept_capacity[:10])
            more = f" and {count - 10} more" if count > 10 else ""
            more_ja = f" ほか {count - 10} か所" if count > 10 else ""
            out += [f"  ファイルに収容人数も面積もない {count} か所は、本部の収容人数を残しました（{kept_ja}{more_ja}）。"
                    "収容人数のあるファイルを取り込めば変わります",
                    f"  kept HQ's capacity of {count} site(s) the file gives no capacity or "
                    f"area for ({kept}{more}); a file with a capacity for them changes it"]
        return out


def import_file(session: Session, path: Path | str, *, area_per_person_m2: float, hazard: list[str] | None = None,
                title: str | None = None, credit: str | None = None, progress: bool = False,
                add_unmatched: bool = False) -> ImportSummary:
    """`add_unmatched`: a national list's row (GSI) that names no site HQ has is added as a new site; without
    it, it is listed as skipped (the national list names the city's schools and buildings too, under
    their own ids: added unasked, they would stand on the map twice, and HQ cannot remove a site)."""
    path = Path(path)
    if not path.is_file():
        raise ImportRefused(f"{path}: no such file", f"{path}: ファイルがありません")
    suffix = path.suffix.lower()
    try:
        if suffix in SITE_SUFFIXES:
            summary = _import_sites(session, path, area_per_person_m2, progress, add_unmatched)
        elif suffix in LAYER_SUFFIXES:
            summary = _import_layer(session, path, hazard or [], title, credit)
        elif suffix == ".zip":
            summary = _import_zip(session, path, hazard or [], title, credit)
        else:
            raise ImportRefused(
                f"{path.name}: unknown file type {suffix or '(no extension)'}; HQ imports site lists as .csv and "
                "hazard layers as .geojson/.json or .shp (also inside a .zip)",
                f"{path.name}: {suffix or '拡張子のないファイル'} は取り込めない種類です。避難所の一覧は .csv、"
                "ハザードの区域は .geojson/.json か .shp（.zip に入れたものも可）で取り込みます")
        session.commit()
    except (DataError, IntegrityError) as exc:
        # A value the database refuses (one the row checks did not foresee): the whole file is
        # refused, as one transaction, in words rather than a traceback.  A database that fails
        # otherwise (locked, gone) is not the file's fault, and says so itself.
        session.rollback()
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0][:300]
        raise ImportRefused(f"{path.name}: HQ's database refused a value in the file ({reason})",
                            f"{path.name}: 本部のデータベースが受け付けない値がファイルにあります（{reason}）") from None
    except BaseException:
        session.rollback()
        raise
    return summary


# --- site lists -------------------------------------------------------------------------------------

def _same(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and math.isclose(a, b, abs_tol=1e-7)
    return a == b


def _name_key(name: str) -> str:
    # 「中港 タワー」 and 「中港タワー」, full and half width: one name
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", name)).casefold()


SAME_PLACE_M = 50   # a national list's point for a site the city lists: the same building, or next to it


def _elsewhere_at_hq(existing: dict[str, Shelter], site) -> Reason | None:
    """Why a national row names no new site: the city's site of its name at its place, of another kind."""
    for other in existing.values():
        if _name_key(other.name) == _name_key(site.name) and None not in (site.lat, site.lon) and \
                distance_m(other.lat, other.lon, site.lat, site.lon) <= SAME_PLACE_M:
            return Reason(f"{site.name} is at HQ as {other.id} ({other.kind}), at the same place; "
                          "a national list's row adds no second site",
                          f"{site.name} は本部に {other.id}（{KIND_LABELS.get(other.kind, other.kind)}）として同じ場所に"
                          "あります。国の一覧の行から2つ目の避難所は作りません")
    return None


def _import_sites(session: Session, path: Path, area_per_person_m2: float, progress: bool,
                  add_unmatched: bool = False) -> ImportSummary:
    fmt, rows = read_site_file(path)
    summary = ImportSummary("sites", fmt.title)
    existing = {s.id: s for s in session.execute(select(Shelter)).scalars()}
    by_name = {(s.kind, _name_key(s.name)): s for s in existing.values()}
    seen: set[str] = set()
    from tqdm import tqdm
    for row in tqdm(rows, desc=path.name, unit="row", disable=not progress, leave=False):
        where = Reason(f"line {row.line}", f"{row.line} 行目")
        if row.skipped:
            summary.skipped.append((where, row.skipped))
            continue
        site = row.site
        target = existing.get(site.id)
        if target is None and row.match_by_name:
            target = by_name.get((site.kind, _name_key(site.name)))
            if target is None and (why := _elsewhere_at_hq(existing, site)):
                summary.skipped.append((where, why))
                continue
            if target is None and not add_unmatched:
                summary.skipped.append((where, Reason(
                    f"no site named {site.name} at HQ; give --add-unmatched to add the national list's sites HQ "
                    "does not have",
                    f"本部に {site.name} という避難所はありません。本部にない国の一覧の避難所を加えるには "
                    "--add-unmatched を付けてください")))
                continue
        # An area the file leaves empty keeps HQ's (below); the capacity follows the area HQ keeps, at
        # today's area per person (before, it kept a capacity worked out at another one).
        area = site.area_m2 if site.area_m2 is not None or target is None else target.area_m2
        capacity = row.capacity if row.capacity is not None else capacity_from_area(area, area_per_person_m2)
        if capacity is not None and capacity > MAX_CAPACITY:
            summary.skipped.append((where, Reason(
                f"its area {area:,} m² would hold {capacity:,} people, more than any one site (at most "
                f"{MAX_CAPACITY:,}); check the area",
                f"面積 {area:,} m² では {capacity:,} 人を収容することになり、1か所の最大（{MAX_CAPACITY:,} 人）を"
                "超えます。面積を確かめてください")))
            continue
        sid = target.id if target is not None else site.id
        if sid in seen:
            summary.skipped.append((where, Reason(f"site {sid} appears twice in the file; the first row was kept",
                                                  f"{sid} がファイルに2回あります。最初の行を使いました")))
            continue
        seen.add(sid)
        values = {"name": site.name, "name_kana": site.name_kana, "kind": site.kind, "address": site.address,
                  "lat": site.lat, "lon": site.lon, "area_m2": site.area_m2, "capacity": capacity,
                  "hazards": " ".join(site.hazards), "phone": site.phone}
        if target is None:
            session.add(Shelter(id=sid, source=site.source, opened=False, opened_order="", occupancy=0,
                                at_home=0, in_car=0, **values))
            summary.added.append(sid)
            continue
        if target.kind != site.kind:
            summary.skipped.append((where, Reason(
                f"site {sid} is a {target.kind} at HQ, the file says {site.kind}",
                f"{sid} は本部では{KIND_LABELS.get(target.kind, target.kind)}ですが、ファイルでは"
                f"{KIND_LABELS.get(site.kind, site.kind)}です")))
            continue
        # What the file leaves empty does not wipe what HQ knows (GSI's list has no kana, for one).
        changes = {k: v for k, v in values.items() if v not in (None, "") and not _same(getattr(target, k), v)}
        if capacity is None and target.capacity is not None:
            summary.kept_capacity.append((sid, target.capacity))
        if not changes:
            summary.unchanged.append(sid)
            continue
        for k, v in changes.items():
            setattr(target, k, v)
        target.source = site.source  # the credit follows the data last taken
        summary.updated.append(sid)
    return summary


# --- hazard layers ----------------------------------------------------------------------------------

# Layers HQ recognises by their attribute names: (columns that identify it, title, disasters, credit).
KNOWN_LAYERS = (
    (("最大浸水深",), "内水浸水想定区域", ("storm_flood", "inland_flood", "flood"), CREDITS["yaizu_opendata"]),
    (("A40_001",), "津波浸水想定（国土数値情報 A40）", ("tsunami",), KSJ_CREDIT.format("津波浸水想定データ")),
    (("A31_001",), "洪水浸水想定区域（国土数値情報 A31）", ("flood", "storm_flood"),
     KSJ_CREDIT.format("洪水浸水想定区域データ")),
)


def _depth_column(frame) -> str | None:
    """The attribute whose every value reads as a depth class ('0.5~1.0m未満', '5m以上', …)."""
    for column in frame.columns:
        if column == "geometry" or frame[column].dtype.kind not in "OU":
            continue
        values = frame[column].dropna().astype(str)
        if len(values) and all(depth_class(v) is not None for v in values):
            return column
    return None


def _import_zip(session: Session, path: Path, hazard: list[str], title: str | None,
                credit: str | None) -> ImportSummary:
    """A zipped layer, as 国土数値情報 ships them: unpacked to a temporary folder, so a shapefile
    without .cpg is read in the encoding its records decode as."""
    import tempfile
    import zipfile
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise ImportRefused(f"{path.name}: not a readable zip file",
                            f"{path.name}: 読める zip ファイルではありません") from None
    with archive, tempfile.TemporaryDirectory() as tmp:
        names = [n for n in archive.namelist() if Path(n).suffix.lower() in LAYER_SUFFIXES
                 and not Path(n).name.startswith(".") and "__MACOSX" not in n]
        if len(names) != 1:
            raise ImportRefused(
                f"{path.name}: holds {len(names)} layers ({', '.join(names) or 'none'}); HQ imports one layer "
                "at a time: unpack the one you mean and import that file",
                f"{path.name}: レイヤーが {len(names)} 個入っています（{'、'.join(names) or 'なし'}）。本部は一度に"
                "1つずつ取り込みます。取り込むものを取り出して、そのファイルを指定してください")
        stem = str(Path(names[0]).with_suffix(""))
        for member in archive.namelist():
            if member.startswith(stem + ".") or member == names[0]:
                target = Path(tmp) / Path(member).name
                target.write_bytes(archive.read(member))
        layer = Path(tmp) / Path(names[0]).name
        return _import_layer(session, layer, hazard, title, credit, source_name=path.name)


NEAR_DEG = 0.2   # how far (in degrees, about 20 km) a layer may lie from HQ's sites and still be for them


def _refuse_a_layer_elsewhere(session: Session, frame, name: str) -> None:
    """A layer that is not longitude/latitude, or lies nowhere near HQ's sites.  A GeoJSON always reads as
    longitude/latitude, whatever its numbers: one in metres (a plane rectangular system, as the city's
    shapefiles are) would be drawn off the map and put no site in any hazard area, silently."""
    minx, miny, maxx, maxy = (float(v) for v in frame.total_bounds)
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise ImportRefused(
            f"{name}: its coordinates are not longitude/latitude (x {minx:.0f} to {maxx:.0f}, y {miny:.0f} to "
            f"{maxy:.0f}: metres?); a GeoJSON must be in longitude/latitude (WGS84): convert it, or import the "
            "shapefile with its .prj",
            f"{name}: 座標が経度・緯度ではありません（x {minx:.0f}〜{maxx:.0f}、y {miny:.0f}〜{maxy:.0f}。メートル？）。"
            "GeoJSON は経度・緯度（WGS84）でなければなりません。変換するか、.prj 付きのシェープファイルを取り込んでください")
    west, east, south, north = session.execute(select(func.min(Shelter.lon), func.max(Shelter.lon),
                                                      func.min(Shelter.lat), func.max(Shelter.lat))).one()
    if west is None:   # no sites yet: nothing to compare with
        return
    if (maxx < west - NEAR_DEG or minx > east + NEAR_DEG or maxy < south - NEAR_DEG or miny > north + NEAR_DEG):
        raise ImportRefused(
            f"{name}: its areas lie nowhere near HQ's sites (longitude {minx:.3f} to {maxx:.3f}, latitude "
            f"{miny:.3f} to {maxy:.3f}; the sites are at {west:.3f} to {east:.3f}, {south:.3f} to {north:.3f}): "
            "is it another area's layer, or are its coordinates in another system?",
            f"{name}: 区域が本部の避難所から遠く離れています（経度 {minx:.3f}〜{maxx:.3f}、緯度 {miny:.3f}〜{maxy:.3f}。"
            f"避難所は経度 {west:.3f}〜{east:.3f}、緯度 {south:.3f}〜{north:.3f}）。別の地域のレイヤーか、"
            "座標系が違っていないか確かめてください")


def _import_layer(session: Session, path: Path, hazard: list[str], title: str | None,
                  credit: str | None, source_name: str | None = None) -> ImportSummary:
    import shapely
    try:
        frame = read_frame(path)
    except ValueError:
        raise
    except Exception as exc:  # pyogrio's errors for unreadable files
        raise ImportRefused(f"{path.name}: not a readable GeoJSON or shapefile ({exc})",
                            f"{path.name}: 読める GeoJSON やシェープファイルではありません（{exc}）") from None
    if frame.empty:
        raise ImportRefused(f"{path.name}: the layer has no features", f"{path.name}: レイヤーに区域がありません")
    _refuse_a_layer_elsewhere(session, frame, path.name)
    kinds = set(frame.geometry.geom_type.dropna())
    if not kinds or not kinds <= {"Polygon", "MultiPolygon"}:
        found = ', '.join(sorted(kinds))
        raise ImportRefused(f"{path.name}: a hazard layer must hold areas (polygons); found {found or 'no geometry'}",
                            f"{path.name}: ハザードのレイヤーは区域（ポリゴン）でなければなりません。入っているのは "
                            f"{found or '図形なし'} です")
    known = next((k for k in KNOWN_LAYERS if all(c in frame.columns for c in k[0])), None)
    unknown = [h for h in hazard if h not in DISASTERS]
    if unknown:
        raise ImportRefused(f"unknown disaster(s) {', '.join(unknown)}; choose from {', '.join(DISASTERS)}",
                            f"災害の種類 {'、'.join(unknown)} はありません。{'、'.join(DISASTERS)} から選んでください")
    disasters = tuple(hazard) or (known[2] if known else ())
    if not disasters:
        columns = [c for c in frame.columns if c != 'geometry']
        raise ImportRefused(
            f"{path.name}: cannot tell which disaster this layer is for (its attributes are "
            f"{', '.join(columns)}); give --hazard, e.g. --hazard tsunami",
            f"{path.name}: どの災害のレイヤーか分かりません（属性は {'、'.join(columns)}）。--hazard を指定してください"
            "（例 --hazard tsunami）")
    credit = credit or (known[3] if known else None)
    if not credit:
        raise ImportRefused(f"{path.name}: give --credit with the source's credit line; the map must show it",
                            f"{path.name}: --credit で出典を指定してください（地図に必ず表示します）")
    title = title or (known[1] if known else path.stem)
    depth = _depth_column(frame)
    # The map shows the title, the credit and each area's label as Leaflet markup: text with < or > in it
    # is no city's layer (and would run as script on every map viewer's page, staff's included).
    marked = [(what, what_ja) for what, what_ja, text in
              (("the title (--title, or the file's name)", "タイトル（--title かファイル名）", title),
               ("the credit", "出典", credit)) if _MARKUP.search(text)]
    if depth and frame[depth].astype(str).str.contains(_MARKUP).any():
        marked.append((f"the depth labels ({depth})", f"深さの表示（{depth}）"))
    if marked:
        raise ImportRefused(f"{path.name}: {' and '.join(m[0] for m in marked)} "
                            f"{'holds' if len(marked) == 1 else 'hold'} < or >, which no hazard layer's text does",
                            f"{path.name}: {'と'.join(m[1] for m in marked)}に < か > が入っています。ハザードの"
                            "レイヤーの文字には使われない記号です")
    frame = frame.copy()
    frame["geometry"] = shapely.make_valid(frame.geometry.values)
    out = frame[["geometry"]].copy()
    out["label"] = frame[depth].astype(str) if depth else ""
    if depth:
        ranges = [depth_class(v) for v in out["label"]]
        out["depth_min_m"] = [r[0] for r in ranges]
        out["depth_max_m"] = [r[1] for r in ranges]
    layer_id = re.sub(r"[^\w.-]+", "_", path.stem)[:64]
    row = session.get(HazardLayer, layer_id)
    summary = ImportSummary("hazard layer", f"{title} ({len(out)} areas, for {' '.join(disasters)})",
                            format_ja=f"{title}（区域 {len(out)} 件、{'・'.join(DISASTERS[d].label for d in disasters)}）")
    (summary.updated if row else summary.added).append(layer_id)
    row = row or HazardLayer(id=layer_id)
    row.title, row.disasters, row.credit = title, " ".join(disasters), credit
    row.source_name = source_name or path.name
    row.geojson = out.to_crs(WGS84).to_json(drop_id=True, ensure_ascii=False)
    row.imported_at = dt.datetime.now(dt.timezone.utc)
    session.add(row)
    return summary
