"""The disaster in progress, which sites suit it, and where to send people a site cannot take.

Each site is designated per hazard (GSI: 「災害種別ごとに指定」): a school open for 地震・津波 may be
no place to go in a flood.  HQ picks the disaster in progress; a site is then

* ``unsuitable``  when it is not designated for that disaster,
* ``at_risk``     when it is designated but lies inside an active hazard area (e.g. a 風水害 shelter
                  inside ≥ 0.5 m of projected pluvial inundation),
* ``suitable``    otherwise.

Standard library only.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Sequence

__all__ = ["DISASTERS", "Disaster", "Suggestion", "distance_m", "overflow", "suitability"]


@dataclass(frozen=True)
class Disaster:
    code: str
    label: str                    # Japanese, as HQ staff say it
    designations: frozenset[str]  # site hazard codes (evac.shelters) that make a site fit for it


# The site lists name hazards two ways: 指定避難所 by the disasters it opens for (地震・津波, 風水害,
# 土砂災害, 南海トラフ臨時情報), 指定緊急避難場所 by the eight 災害種別.  Either kind of flag counts.
DISASTERS: dict[str, Disaster] = {d.code: d for d in (
    Disaster("earthquake", "地震", frozenset({"earthquake", "earthquake_tsunami"})),
    Disaster("tsunami", "津波", frozenset({"tsunami", "earthquake_tsunami"})),
    Disaster("storm_flood", "風水害", frozenset({"storm_flood", "flood", "inland_flood", "storm_surge"})),
    Disaster("flood", "洪水", frozenset({"flood", "storm_flood"})),
    Disaster("inland_flood", "内水氾濫", frozenset({"inland_flood", "storm_flood"})),
    Disaster("storm_surge", "高潮", frozenset({"storm_surge", "storm_flood"})),
    Disaster("landslide", "土砂災害（崖崩れ・土石流・地滑り）", frozenset({"landslide"})),
    Disaster("large_fire", "大規模な火事", frozenset({"large_fire"})),
    Disaster("volcano", "火山現象", frozenset({"volcano"})),
    Disaster("nankai_advisory", "南海トラフ地震臨時情報", frozenset({"nankai_advisory"})),
)}

SUITABLE, AT_RISK, UNSUITABLE = "suitable", "at_risk", "unsuitable"

# Hazard codes of the site lists, in Japanese, for popups and exports.
HAZARD_LABELS: dict[str, str] = {
    "earthquake_tsunami": "地震・津波", "storm_flood": "風水害", "landslide": "土砂災害",
    "nankai_advisory": "南海トラフ地震臨時情報", "flood": "洪水", "storm_surge": "高潮",
    "earthquake": "地震", "tsunami": "津波", "large_fire": "大規模な火事", "inland_flood": "内水氾濫",
    "volcano": "火山現象",
}


def suitability(hazards: Iterable[str], disaster: str | None, in_hazard_area: bool) -> str:
    """'suitable', 'at_risk' or 'unsuitable' for a site with these designations; with no disaster
    chosen every site is suitable (HQ has not said what it is preparing for)."""
    if not disaster:
        return SUITABLE
    if DISASTERS[disaster].designations.isdisjoint(hazards):
        return UNSUITABLE
    return AT_RISK if in_hazard_area else SUITABLE


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine; ample within one city)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(math.sqrt(a))


@dataclass(frozen=True)
class Suggestion:
    id: str
    name: str
    distance_m: int
    room: int          # free places by the capacity estimate


def overflow(site, candidates: Sequence, suitability_of: dict[str, str], limit: int = 3) -> list[Suggestion]:
    """The nearest open, suitable sites with room, for people a full or unsuitable site cannot take.

    site and candidates have id, name, lat, lon, capacity, occupancy and opened; only candidates with
    a known capacity count (room cannot be promised where nobody knows the size)."""
    found = []
    for c in candidates:
        if (c.id == site.id or not c.opened or getattr(c, "declared_full", False)
                or c.capacity is None or c.occupancy >= c.capacity):
            continue
        if suitability_of.get(c.id, SUITABLE) != SUITABLE:
            continue
        found.append(Suggestion(c.id, c.name, round(distance_m(site.lat, site.lon, c.lat, c.lon)),
                                c.capacity - c.occupancy))
    found.sort(key=lambda s: (s.distance_m, s.id))
    return found[:limit]
