"""HQ's picture of every site right now: occupancy against capacity, what it is designated for, whether
it lies in an active hazard area, the needs of the people in it, and where to send overflow.

The map, the dashboard, the shelter API and the exports all read this one picture.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from functools import lru_cache

from flask import current_app
from sqlalchemy import and_, func, literal_column, select, text

from evac.disasters import AT_RISK, DISASTERS, SUITABLE, UNSUITABLE, Suggestion, overflow, suitability
from evac.geodata import Layer, load_city_layers, points_frame, sites_in_hazard
from evac.shelters import CREDITS
from evac.whereabouts import CHECKED_IN

from .db import db
from .models import IN_TRANSIT_WHERE, HazardLayer, HQMeta, Kiosk, Person, Shelter

DISASTER_KEY = "disaster"


def current_disaster() -> str | None:
    value = db.session.get(HQMeta, DISASTER_KEY)
    return value.value if value is not None and value.value in DISASTERS else None


DISASTER_SET_KEY = "disaster_set"   # who chose the disaster in progress, and when (JSON)


def set_disaster(code: str | None, by: str | None = None) -> None:
    """Choose the disaster in progress; `by`: the staff member who did, kept beside it and in the audit
    log (it changes every site's suitability, HQ's alerts and where overflow is sent, for the whole city)."""
    if code and code not in DISASTERS:
        raise ValueError(f"unknown disaster {code!r}; choose one of {', '.join(DISASTERS)}")
    row = db.session.get(HQMeta, DISASTER_KEY) or HQMeta(name=DISASTER_KEY)
    before = row.value or None
    row.value = code or ""
    db.session.add(row)
    if by is not None:
        from .safety import audit
        from .staff import ACCOUNT_ENTRY
        now = dt.datetime.now(dt.timezone.utc)
        chosen = db.session.get(HQMeta, DISASTER_SET_KEY) or HQMeta(name=DISASTER_SET_KEY)
        chosen.value = json.dumps({"by": by[:64], "at": now.isoformat(timespec="seconds")})
        db.session.add(chosen)
        audit(db.session, ACCOUNT_ENTRY, by[:64], "disaster_chosen", disaster=code or "", before=before or "")
    db.session.commit()


def disaster_chosen_by() -> tuple[str, dt.datetime] | None:
    """(who, when) chose the disaster in progress on HQ's map, if anyone has."""
    row = db.session.get(HQMeta, DISASTER_SET_KEY)
    try:
        chosen = json.loads(row.value) if row is not None else None
        return chosen["by"], dt.datetime.fromisoformat(chosen["at"])
    except (TypeError, ValueError, KeyError):
        return None


# --- layers -----------------------------------------------------------------------------------------

def city_layers() -> tuple[Layer, ...]:
    return load_city_layers(current_app.config.get("DATA_DIR"))


_IMPORTED: dict[tuple[str, str], Layer] = {}


def _imported_layer(row_id: str, version: str) -> Layer:
    """An imported layer as a frame; parsed once per import (the map polls, the layer rarely changes)."""
    key = (row_id, version)
    if key not in _IMPORTED:
        import geopandas as gpd
        row = db.session.get(HazardLayer, row_id)
        frame = gpd.GeoDataFrame.from_features(json.loads(row.geojson)["features"], crs="EPSG:4326")
        if "depth_min_m" in frame.columns and frame["depth_min_m"].isna().any():
            frame = frame.drop(columns=["depth_min_m", "depth_max_m"], errors="ignore")
        _IMPORTED[key] = Layer(f"imported-{row_id}", row.title, "hazard", frame, row.credit,
                               tuple(row.disasters.split()))
    return _IMPORTED[key]


def imported_layers() -> list[Layer]:
    # Only ids and versions here: the polygons themselves are read when a layer is new or re-imported.
    rows = db.session.execute(select(HazardLayer.id, HazardLayer.imported_at).order_by(HazardLayer.id))
    return [_imported_layer(row_id, imported_at.isoformat()) for row_id, imported_at in rows]


def hazard_layers() -> list[Layer]:
    return [layer for layer in city_layers() if layer.group == "hazard"] + imported_layers()


# Whether a hazard layer makes a designated site 'at risk'.  The flood-history layer covers about a
# fifth of the city and records the past, not a forecast: it is a note in the popup, not a flag.
NOTE_ONLY_LAYERS = frozenset({"flood_history"})


@lru_cache(maxsize=64)
def _hits(layer: Layer, sites: tuple[tuple[str, float, float], ...], min_depth_m: float) -> dict[str, str]:
    class _P:  # points_frame wants objects with id, lon, lat
        __slots__ = ("id", "lat", "lon")

        def __init__(self, t):
            self.id, self.lat, self.lon = t
    return sites_in_hazard(points_frame(_P(t) for t in sites), layer, min_depth_m)


# --- the picture ------------------------------------------------------------------------------------

# The markers' looks, one legend entry each (map_page.LEGEND): Okabe–Ito's colour-blind-safe colours, and
# a symbol beside the marker where colour alone would carry what matters most (full, closed with people).
PALETTE = {
    "low": "#56B4E9",          # sky blue: under 50 %
    "half": "#F0E442",         # yellow: 50–80 %
    "most": "#E69F00",         # orange: 80–100 %
    "full": "#D55E00",         # vermillion, and the symbol 満: full or over its capacity
    "no_capacity": "#0072B2",  # blue: people in a site with no capacity estimate
    "empty": "#BBBBBB",        # grey: not open (never opened, or closed) and nobody in it
    # reddish purple with a black ring, and 閉: closed by its staff, people still in it or on their way to it
    "closed_people": "#CC79A7",
}
MARKER_SYMBOLS = {"full": "満", "closed_people": "閉"}

@dataclass
class SiteView:
    shelter: Shelter
    suitability: str = SUITABLE
    hazard_areas: list[str] = field(default_factory=list)   # active areas this site lies in
    notes: list[str] = field(default_factory=list)          # e.g. flooding recorded here before
    hazard_credits: list[str] = field(default_factory=list)  # the credit lines of the layers named in those two
    needs: dict[str, int] = field(default_factory=dict)
    overflow: list[Suggestion] = field(default_factory=list)
    # How fresh the site's numbers are (heard_by_site: the latest sync of a kiosk counting here, or the newest
    # record a file carried from one brought; None: nothing from any kiosk), whether some are older than the
    # dashboard's silence alert (KIOSK_SILENT_ALERT_S), and whether the freshest came in a carried file.
    last_heard_at: dt.datetime | None = None
    heard_silent: bool = False
    heard_by_hand: bool = False
    # People a shelter sent on here who have not checked in anywhere since (in transit: counted nowhere else).
    in_transit_to: int = 0

    @property
    def closed_with_people(self) -> int:
        """People still checked in at a site its staff closed (閉鎖) on the tablet; 0 when the site is open,
        never opened, or empty.  For the dashboard's alert and the map's look."""
        s = self.shelter
        return s.occupancy if s.status == "closed" else 0

    @property
    def closed_with_registered_outside(self) -> int:
        """People staying at home or in a car registered at a site its staff closed: they still depend on it
        (food, news), as the dashboard's alert says (dashboard.closed_with_registered_outside)."""
        s = self.shelter
        return s.at_home + s.in_car if s.status == "closed" else 0

    @property
    def in_transit_to_closed(self) -> int:
        """People on their way to a site its staff closed (閉鎖): nobody there will check them in.  0 when
        it is not closed; a count, no one named (as the dashboard's alert, dashboard.in_transit_to_closed)."""
        return self.in_transit_to if self.shelter.closed_by_staff else 0

    @property
    def look(self) -> str:
        """Which of PALETTE's looks the marker has: occupancy against the capacity estimate; full whenever
        the site's status is full (declared so by its staff, or a site with no room for anyone that has
        people in it), so the map never shows 'room' where the shelter turns people away; a closed site
        with people in it, or on their way to it, never looks like one with room, nor like an empty one that
        needs nobody (those on the way must be sent elsewhere)."""
        s, full = self.shelter, self.fullness
        if self.closed_with_people or self.in_transit_to_closed:
            return "closed_people"
        if s.status == "full":
            return "full"
        if full is None:
            return "no_capacity" if s.occupancy else "empty"
        if full >= 1:
            return "full"
        if full >= 0.8:
            return "most"
        if full >= 0.5:
            return "half"
        return "low" if s.occupancy or s.opened else "empty"

    @property
    def fullness(self) -> float | None:
        s = self.shelter
        return s.occupancy / s.capacity if s.capacity else None

    @property
    def colour(self) -> str:
        """The marker's fill (see look)."""
        return PALETTE[self.look]

    @property
    def marker(self) -> dict:
        """Leaflet path options; an unsuitable site is hollow and dashed, an at-risk one ringed purple."""
        look = self.look
        style = {"fillColor": PALETTE[look], "fillOpacity": 0.85, "color": "#333333", "weight": 1,
                 "dashArray": None, "radius": 7 if self.shelter.kind == "shelter" else 5,
                 "look": look, "symbol": MARKER_SYMBOLS.get(look)}
        if look == "closed_people":
            style.update(color="#000000", weight=3)
        if self.suitability == UNSUITABLE:
            style.update(fillOpacity=0.15, color="#555555", dashArray="3 3", weight=2)
        elif self.suitability == AT_RISK:
            style.update(color="#7b1fa2", weight=4)
        return style

    def properties(self) -> dict:
        s = self.shelter
        return {
            "id": s.id, "name": s.name, "name_kana": s.name_kana, "kind": s.kind, "address": s.address,
            "capacity": s.capacity, "occupancy": s.occupancy, "at_home": s.at_home, "in_car": s.in_car,
            "status": s.status, "closed_with_people": self.closed_with_people,
            "closed_with_registered_outside": self.closed_with_registered_outside,
            "in_transit_to_closed": self.in_transit_to_closed, "hazards": s.hazards.split(), "area_m2": s.area_m2,
            "suitability": self.suitability, "hazard_areas": self.hazard_areas, "notes": self.notes,
            "needs": self.needs, "credit": CREDITS.get(s.source, ""), "hazard_credits": self.hazard_credits,
            "overflow": [{"id": o.id, "name": o.name, "distance_m": o.distance_m, "room": o.room}
                         for o in self.overflow],
            "marker": self.marker,
            # ISO 8601 with its offset; null: no kiosk is enrolled here, so nothing is heard from the site.
            "last_heard_at": self.last_heard_at.isoformat() if self.last_heard_at else None,
            "heard_silent": self.heard_silent, "heard_by_hand": self.heard_by_hand,
        }


def needs_by_shelter() -> dict[str, dict[str, int]]:
    """Needs codes counted over the people checked in at each shelter (Person.needs is space-separated)."""
    rows = db.session.execute(
        select(Person.shelter_id, Person.needs, func.count())
        # A literal '' (not a bound parameter), so SQLite sees the partial index ix_persons_needs applies.
        .where(and_(Person.state == CHECKED_IN, Person.needs != literal_column("''")))
        .group_by(Person.shelter_id, Person.needs))
    out: dict[str, dict[str, int]] = {}
    for shelter_id, needs, n in rows:
        counts = out.setdefault(shelter_id, {})
        for code in needs.split():
            counts[code] = counts.get(code, 0) + n
    return out


def in_transit_by_destination() -> dict[str, int]:
    """Shelter id -> how many are in transit to it (persons.shelter_id is where they are bound): counts only."""
    # The condition written as ix_persons_in_transit's (a bound parameter would not use the partial index).
    return dict(db.session.execute(select(Person.shelter_id, func.count()).where(text(IN_TRANSIT_WHERE))
                                   .group_by(Person.shelter_id)).all())


def carried_up_to() -> dict[str, dt.datetime]:
    """Kiosk id -> the newest record files carried by hand from it brought (hq_dashboard.carried)."""
    from .carried import CARRIED_KEY, carried_time
    out = {}
    for name, value in db.session.execute(select(HQMeta.name, HQMeta.value)
                                          .where(HQMeta.name.like(CARRIED_KEY + "%"))):
        t = carried_time(value)
        if t is not None:
            out[name[len(CARRIED_KEY):]] = t
    return out


def numbers_at(last_sync_at: dt.datetime | None, carried_at: dt.datetime | None) -> dt.datetime | None:
    """How fresh HQ's numbers from one kiosk are: its latest sync, or the newest record a file carried from it
    brought when that is later (the kiosk itself may still be silent: that is its network, not its numbers)."""
    return max((t for t in (last_sync_at, carried_at) if t is not None), default=None)


def heard_by_site(silent_s: float) -> tuple[dict[str, dt.datetime], set[str], set[str]]:
    """(how fresh HQ's numbers of each site are: the freshest of its kiosks' (numbers_at), the sites one of
    whose kiosks' numbers are older than `silent_s`, the sites whose freshest numbers came in a carried file),
    as the dashboard and the wall judge them (dashboard.kiosk_rows, silent_sites): a kiosk counts where it
    checks people in (moved to another shelter: there), a retired one nowhere, and a kiosk HQ has nothing from
    is silent from its enrollment on.  Times in UTC, aware (SQLite hands back naive)."""
    def aware(t):
        return t if t is None or t.tzinfo else t.replace(tzinfo=dt.timezone.utc)
    now = dt.datetime.now(dt.timezone.utc)
    carried = carried_up_to()
    heard: dict[str, dt.datetime] = {}
    silent: set[str] = set()
    by_hand: set[str] = set()
    for kiosk_id, shelter_id, checks_in_at, last_sync_at, enrolled_at in db.session.execute(
            select(Kiosk.id, Kiosk.shelter_id, Kiosk.checks_in_at, Kiosk.last_sync_at, Kiosk.enrolled_at)
            .where(Kiosk.retired_at.is_(None))):
        site, synced = checks_in_at or shelter_id, aware(last_sync_at)
        last = numbers_at(synced, carried.get(kiosk_id))
        if last is not None and (site not in heard or last > heard[site]):
            heard[site] = last
            (by_hand.add if last != synced else by_hand.discard)(site)
        if (now - (last or aware(enrolled_at))).total_seconds() > silent_s:
            silent.add(site)
    return heard, silent, by_hand


def site_views(disaster: str | None = None, *, with_overflow: bool = True) -> list[SiteView]:
    """Every site with its suitability for the disaster in progress (HQ's choice unless given)."""
    disaster = disaster if disaster is not None else current_disaster()
    shelters = db.session.execute(select(Shelter).order_by(Shelter.id)).scalars().all()
    needs = needs_by_shelter()
    heard, silent, by_hand = heard_by_site(current_app.config.get("KIOSK_SILENT_ALERT_S", 600))   # the dashboard's alert
    bound = in_transit_by_destination()
    views = {s.id: SiteView(s, needs=needs.get(s.id, {}), last_heard_at=heard.get(s.id), heard_silent=s.id in silent,
                            heard_by_hand=s.id in by_hand, in_transit_to=bound.get(s.id, 0))
             for s in shelters}
    coords = tuple((s.id, s.lat, s.lon) for s in shelters)
    min_depth = float(current_app.config.get("HAZARD_MIN_DEPTH_M", 0.5))
    for layer in hazard_layers():
        note = layer.key in NOTE_ONLY_LAYERS
        if not note and disaster not in layer.disasters:
            continue
        for sid, label in _hits(layer, coords, min_depth).items():
            text = layer.title if label == layer.title else f"{layer.title}: {label}"
            (views[sid].notes if note else views[sid].hazard_areas).append(text)
            if layer.credit and layer.credit not in views[sid].hazard_credits:
                views[sid].hazard_credits.append(layer.credit)
    for v in views.values():
        v.suitability = suitability(v.shelter.hazards.split(), disaster, bool(v.hazard_areas))
    if with_overflow:
        by_id = {sid: v.suitability for sid, v in views.items()}
        # The few sites that can take people, found once; each site then looks only at those.
        room = [s for s in shelters if s.opened and not s.declared_full
                and s.capacity is not None and s.occupancy < s.capacity
                and by_id[s.id] == SUITABLE]
        for v in views.values():
            s = v.shelter
            if (v.suitability != SUITABLE or s.declared_full or v.closed_with_people
                    or (s.capacity is not None and s.occupancy >= s.capacity)):
                v.overflow = overflow(s, room, by_id)
    return list(views.values())


def feature_collection(views: list[SiteView], disaster: str | None, with_needs: bool | None = None) -> dict:
    """The GeoJSON HQ serves at /api/v1/shelters and exports, with the disaster it was judged for.

    Needs counts per shelter go only to HQ staff who are logged in (`with_needs` None: decided by
    the request): at a small shelter, "dialysis: 1" points at one person."""
    if with_needs is None:
        from flask_login import current_user
        with_needs = bool(current_user and current_user.is_authenticated)
    collection = {
        "type": "FeatureCollection",
        "disaster": disaster, "disaster_label": DISASTERS[disaster].label if disaster else None,
        "features": [{"type": "Feature",
                      "geometry": {"type": "Point", "coordinates": [v.shelter.lon, v.shelter.lat]},
                      "properties": v.properties()} for v in views],
    }
    if not with_needs:
        for feature in collection["features"]:
            feature["properties"]["needs"] = None
    return collection
