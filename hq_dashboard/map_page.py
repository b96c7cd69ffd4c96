"""HQ's live map (folium/Leaflet): every site coloured by occupancy, site kinds and designations as
switchable layers, district and hazard layers, the disaster in progress, credits.

Everything the page loads comes from HQ itself (Leaflet is vendored in static/vendor); online map tiles
are used only when MAP_TILES_URL is configured, over a base layer drawn from the city's own polygons.
The markers restyle themselves from /api/v1/shelters (static/map.js), so the page never reloads.
"""
from __future__ import annotations

import html
import json
import threading
import weakref

from flask import Blueprint, current_app, flash, g, redirect, render_template, render_template_string, request, url_for
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from jinja2 import Template
from jinja2.utils import htmlsafe_json_dumps

from evac.disasters import DISASTERS, HAZARD_LABELS
from evac.geodata import DISPLAY_TOLERANCE, Layer
from evac.shelters import CREDITS, KINDS

from .site_words import KIND_LABELS, LOOK_LABELS, map_words
from .situation import (MARKER_SYMBOLS, NOTE_ONLY_LAYERS, PALETTE, SiteView, city_layers, current_disaster,
                        disaster_chosen_by, feature_collection, imported_layers, set_disaster, site_views)

bp = Blueprint("map", __name__)

GSI_NOTICE = ("指定緊急避難場所と指定避難所は異なります。災害の種類ごとに指定されています。"
              "データは最新でない場合があります。最新の情報は市にご確認ください。")
YAIZU_CENTRE = (34.86, 138.29)


def legend() -> list[dict]:
    """One entry for every look a site's marker can have (situation.PALETTE), in the order of the scale."""
    return [{"look": look, "colour": colour, "symbol": MARKER_SYMBOLS.get(look), "label": LOOK_LABELS[look]}
            for look, colour in PALETTE.items()]


def _depth_colour(depth: float | None) -> str:
    if depth is None:
        return "#6baed6"
    for limit, colour in ((0.3, "#ffffb3"), (0.5, "#f7f5a9"), (1.0, "#f8e1a0"), (3.0, "#f6b26b"), (5.0, "#e06666")):
        if depth < limit:
            return colour
    return "#990000"


def _geojson(layer: Layer) -> str:
    import shapely
    """The layer for display: simplified to a few metres, coordinates to about 1 m, compact JSON (the
    pluvial layer alone is 3.5 MB as published, 1.4 MB like this)."""
    frame = layer.frame.copy()
    frame["geometry"] = shapely.set_precision(
        shapely.simplify(frame.geometry.values, DISPLAY_TOLERANCE, preserve_topology=True), 1e-5)
    columns = [c for c in ("label", "depth_min_m") if c in frame.columns]
    return frame[[*columns, "geometry"]].to_json(drop_id=True, separators=(",", ":"), ensure_ascii=False)


_SIMPLIFYING = threading.Lock()
# By the layer itself, as the layers are cached (once per process): every app of the process shares them,
# the tests' hundreds of apps included.  Weak: an imported layer's old version goes with its frame.
_DISPLAYED: weakref.WeakKeyDictionary[Layer, dict] = weakref.WeakKeyDictionary()


def _cached_geojson(layer: Layer) -> dict:
    """Parsed once per layer: folium takes a dict as it is (a string it would parse on every request).
    The lock: a visitor during the warm-up waits for its layer instead of simplifying it a second time."""
    cache = _DISPLAYED
    if layer not in cache:
        with _SIMPLIFYING:
            if layer not in cache:
                parsed = json.loads(_geojson(layer))
                # Leaflet's tooltip shows a label as markup: one imported before import refused < and > in
                # them (hq_dashboard.importing) must stay text.
                for feature in parsed.get("features", ()):
                    props = feature.get("properties") or {}
                    if isinstance(props.get("label"), str):
                        props["label"] = html.escape(props["label"])
                cache[layer] = parsed
    return cache[layer]


def _polygon_layer(m, layer: Layer, show: bool, overlay: bool = True, control: bool = True) -> None:
    import folium
    if layer.group == "hazard":
        def style(feature):
            depth = feature["properties"].get("depth_min_m")
            return {"fillColor": _depth_colour(depth), "color": "#3182bd" if depth is None else "#b45f06",
                    "weight": 0.5, "fillOpacity": 0.45}
    elif layer.group == "base":
        def style(_):
            return {"fillColor": "#f4f1e8", "color": "#555555", "weight": 2, "fillOpacity": 1}
    else:
        def style(_):
            return {"fill": True, "fillOpacity": 0.02, "color": "#2b6cb0", "weight": 1}
    tooltip = folium.GeoJsonTooltip(fields=["label"], labels=False) if layer.group != "base" else None
    # The layer list shows a name as markup, as the tooltip does a label.
    folium.GeoJson(_cached_geojson(layer), name=html.escape(layer.title), style_function=style, tooltip=tooltip,
                   show=show, overlay=overlay, control=control, smooth_factor=1.5).add_to(m)


def _ring_style(_):
    return {"fill": False, "weight": 1.5, "color": "#1565c0"}


def _points(views: list[SiteView], styled: bool = False) -> dict:
    features = []
    for v in views:
        props = {"id": v.shelter.id}
        if styled:
            props["style"] = v.marker
        features.append({"type": "Feature", "properties": props,
                         "geometry": {"type": "Point", "coordinates": [v.shelter.lon, v.shelter.lat]}})
    return {"type": "FeatureCollection", "features": features}


_START = Template("""{% macro script(this, kwargs) %}
evacMap.start({{ this.map.get_name() }}, {
  siteLayers: [{{ this.site_layers|join(", ") }}], layerControl: {{ this.layer_control }},
  bounds: {{ this.bounds|tojson }}, silentS: {{ this.silent_s }},
  offlineBase: {{ this.offline_base }}, tileLayer: {{ this.tile_layer or "null" }},
  controls: {{ this.controls }},
  url: {{ this.url|tojson }}, refreshMs: {{ this.refresh_ms }}, sites: {{ this.sites }},
  words: {{ this.words }}
});
{% endmacro %}""")


def _start(m, site_layers, offline_base, tile_layer, url, refresh_ms, sites_json, layer_control, bounds):
    """Hands the site layers to map.js, which binds popups and keeps the markers live, and the words its
    popups say the codes in (site_words: the same as HQ's pages and exports)."""
    from branca.element import MacroElement
    element = MacroElement()
    element._name, element._template = "EvacStart", _START
    element.map, element.site_layers, element.url, element.refresh_ms = m, site_layers, url, refresh_ms
    element.offline_base, element.tile_layer, element.sites = offline_base, tile_layer, sites_json
    element.layer_control, element.bounds = layer_control, bounds
    # A site's numbers older than the dashboard's silence alert are marked stale in its popup too.
    element.silent_s = int(current_app.config.get("KIOSK_SILENT_ALERT_S", 600))
    element.words = str(htmlsafe_json_dumps({**map_words(), "transit_closed": transit_closed_words()},
                                            ensure_ascii=False))
    element.controls = str(htmlsafe_json_dumps(control_words(), ensure_ascii=False))
    return element


def transit_closed_words() -> dict[str, str]:
    """What a closed site's popup says of those on their way to it (site properties' in_transit_to_closed), in
    Japanese then the browser's language as the dashboard's alert (wall_display._in_two); "{num}": map.js puts
    the count in (a count, no one named)."""
    from flask_babel import gettext as _
    from .wall_display import _in_two   # (which imports staff, which imports the dashboard)
    two = _in_two(lambda: _("This shelter is closed. People on their way to it: %(num)s", num="{num}"))
    return {"ja": two["ja"], "other": two["other"], "lang": two["other_lang"]}


def control_words() -> dict[str, str]:
    """What Leaflet's own controls say (their titles and labels, which screen readers read and a mouse shows),
    in this request's language (Japanese unless the browser or ?lang= asks for another of HQ's seven); Leaflet
    says them in English.  `lang`: the tag they are marked with, the page itself being Japanese."""
    from flask_babel import gettext as _
    from .i18n import current_language, html_lang
    return {"zoomIn": _("Zoom in"), "zoomOut": _("Zoom out"), "layers": _("Layers"), "closePopup": _("Close popup"),
            "leaflet": _("A JavaScript library for interactive maps"), "lang": html_lang(current_language())}


def build_map(views: list[SiteView], disaster: str | None) -> str:
    import folium
    from branca.element import Element
    static = lambda name: url_for("static", filename=name)  # noqa: E731
    # The first view is fitted to all the sites by map.js, once the bar above the map has its height; the
    # scale bar (metres only) is map.js's too.
    m = folium.Map(location=YAIZU_CENTRE, zoom_start=13, tiles=None, control_scale=False, prefer_canvas=True)
    # Served by HQ: no CDN (the folium defaults) and no jQuery/Bootstrap, which these layers do not need.
    m.default_js = [("leaflet", static("vendor/leaflet/leaflet.js")), ("evac_map", static("map.js"))]
    m.default_css = [("leaflet_css", static("vendor/leaflet/leaflet.css")), ("evac_map_css", static("map.css"))]

    layers = city_layers()
    boundary = next(layer for layer in layers if layer.key == "boundary")
    # The base that needs no internet: the city's own outline on a plain background.
    # With online tiles configured they are the base, and map.js swaps in the outline when they fail.
    online = bool(current_app.config.get("MAP_TILES_URL"))
    offline = folium.FeatureGroup(name="市域（オフライン地図）", overlay=False, control=True, show=not online)
    _polygon_layer(offline, boundary, show=True, control=False)
    offline.add_to(m)
    tiles = None
    if online:
        tiles = folium.TileLayer(current_app.config["MAP_TILES_URL"], name="地図タイル（オンライン）",
                                 attr=current_app.config.get("MAP_TILES_ATTRIBUTION", ""), overlay=False,
                                 show=True)
        tiles.add_to(m)
    for layer in layers:
        if layer.group == "district":
            _polygon_layer(m, layer, show=layer.key == "school_districts")
    for layer in [*[x for x in layers if x.group == "hazard"], *imported_layers()]:
        _polygon_layer(m, layer, show=bool(disaster and disaster in layer.disasters)
                       and layer.key not in NOTE_ONLY_LAYERS)

    # Designations: a ring per site and hazard code, one switchable layer per code.
    active = DISASTERS[disaster].designations if disaster else frozenset()
    codes = sorted({h for v in views for h in v.shelter.hazards.split()}, key=list(HAZARD_LABELS).index)
    for code in codes:
        members = [v for v in views if code in v.shelter.hazards.split()]
        ring = folium.CircleMarker((0, 0), radius=11, fill=False, weight=1.5, color="#1565c0", interactive=False)
        folium.GeoJson(_points(members), name=f"指定: {HAZARD_LABELS[code]} ({len(members)})", marker=ring,
                       show=code in active, style_function=_ring_style).add_to(m)

    # The sites, one layer per kind; each point carries its marker style (restyled live by map.js).
    kind_layers = []
    for kind in KINDS:
        members = [v for v in views if v.shelter.kind == kind]
        layer = folium.GeoJson(_points(members, styled=True), name=f"{KIND_LABELS[kind]} ({len(members)})",
                               marker=folium.CircleMarker((0, 0), radius=5, fill=True), show=True)
        layer.add_to(m)
        kind_layers.append(layer.get_name())
    # Open for HQ's desks; map.js folds it on a narrow screen, where the list would cover the sites.
    control = folium.LayerControl(collapsed=False)
    control.add_to(m)

    # Inside <script>, '<' in a site's name ("<!--<script>" opens a state no "</script>" closes) would
    # stop the whole map: every <, >, & and ' is written as a \u escape, which JSON reads back the same.
    sites = str(htmlsafe_json_dumps(feature_collection(views, disaster), ensure_ascii=False))
    m.add_child(_start(m, kind_layers, offline.get_name(), tiles.get_name() if tiles else None,
                       url_for("api.shelters"), int(current_app.config.get("MAP_REFRESH_SECONDS", 5) * 1000),
                       sites, control.get_name(), _bounds(views)))
    staff = current_user.is_authenticated   # only staff get the disaster choice (and its form token)
    m.get_root().html.add_child(Element(render_template_string(_CHROME, disasters=DISASTERS, disaster=disaster,
                                                               credits=_credits(views), notice=GSI_NOTICE,
                                                               legend=legend(),
                                                               staff=staff, csrf=generate_csrf() if staff else "",
                                                               chosen=disaster_chosen_by() if staff else None,
                                                               wall="wall_display" in g)))
    # (an empty icon: the browser asks for nothing HQ does not serve)
    m.get_root().header.add_child(Element('<title>焼津市 災害対策本部 — 避難所マップ</title><link rel="icon" href="data:,">'))
    # The page is Japanese (screen readers, fonts, hyphenation): folium writes a bare <html>.
    return m.get_root().render().replace("<html>", '<html lang="ja">', 1)


def _bounds(views: list[SiteView]) -> list[list[float]] | None:
    if not views:
        return None
    lats, lons = [v.shelter.lat for v in views], [v.shelter.lon for v in views]
    return [[min(lats), min(lons)], [max(lats), max(lons)]]


def _credits(views: list[SiteView]) -> list[str]:
    seen = [CREDITS[k] for k in ("yaizu_opendata", "n03_boundary")]
    seen += [CREDITS[v.shelter.source] for v in views if v.shelter.source in CREDITS]
    seen += [layer.credit for layer in imported_layers() if layer.credit]
    seen.append(current_app.config.get("MAP_TILES_ATTRIBUTION", "") if current_app.config.get("MAP_TILES_URL") else "")
    return [c for i, c in enumerate(seen) if c and c not in seen[:i]]


_CHROME = """
<div id="evac-bar">
  <strong>避難所マップ</strong>
  {% if staff %}
  <form method="post" action="{{ url_for('map.choose_disaster') }}" id="evac-disaster">
    <input type="hidden" name="csrf_token" value="{{ csrf }}">
    <label>発生中の災害
      <select name="disaster">
        <option value="" {{ 'selected' if not disaster }}>（未選択）</option>
        {% for code, d in disasters.items() %}
        <option value="{{ code }}" {{ 'selected' if code == disaster }}>{{ d.label }}</option>
        {% endfor %}
      </select></label>
    <noscript><button>設定</button></noscript>
    {% if chosen %}<small id="evac-disaster-by">（{{ chosen[0] }}、{{ chosen[1]|jst("%m/%d %H:%M") }}）</small>{% endif %}
  </form>
  {% else %}
  {# Only HQ staff choose the disaster: a visitor reads it, and staff log in from here back to the map. #}
  <span id="evac-disaster">発生中の災害: <strong>{{ disasters[disaster].label if disaster else '（未選択）' }}</strong></span>
  {% if not wall %}<a href="{{ url_for('staff.login', next=url_for('map.map_page')) }}" id="evac-login">職員ログイン</a>{% endif %}
  {% endif %}
  <span id="evac-updated" role="status">—</span>
  <a href="{{ url_for('dashboard.dashboard') }}">ダッシュボード</a>
  <span class="legend">{% for e in legend %}<span data-look="{{ e.look }}"><i class="look-{{ e.look }}" style="background:{{ e.colour }}"></i>
   {%- if e.symbol %}<b class="evac-symbol">{{ e.symbol }}</b>{% endif %}{{ e.label }}</span> {% endfor %}
   <span data-look="unsuitable"><i class="hollow"></i>対象外</span> <span data-look="at_risk"><i class="risk"></i>危険区域内</span></span>
</div>
<div id="evac-credits">{% for c in credits %}<div>{{ c }}</div>{% endfor %}<div>{{ notice }}</div></div>
"""


def warm_up(app) -> None:
    """Read, reproject and simplify the city's layers (~1.5 s), so that the map's first visitor does not.

    Then everything loaded so far (geopandas, pandas, the layers) is moved out of the garbage
    collector's sight: full collections walking those objects were what made one poll in twenty of
    /api/v1/shelters take 100 ms instead of 12."""
    import gc
    with app.test_request_context():
        for layer in city_layers():
            _cached_geojson(layer)
    gc.collect()
    gc.freeze()


def warm_up_beside(app) -> threading.Thread:
    """warm_up while HQ already listens: kiosks' syncs need no layer, and a page that does waits for it."""
    thread = threading.Thread(target=warm_up, args=(app,), name="map-warm-up", daemon=True)
    thread.start()
    return thread


@bp.get("/map")
def map_page():
    disaster = current_disaster()
    return build_map(site_views(disaster), disaster)


@bp.post("/map/disaster")
def choose_disaster():
    # The disaster in progress steers suitability, alerts and overflow for everyone: HQ staff only.
    # (Not @login_required: its log-in would return to this POST-only address; back to the map instead.)
    if not current_user.is_authenticated:
        from .staff import NOT_SAVED, logged_out_message
        flash(logged_out_message())
        flash(NOT_SAVED)
        return redirect(url_for("staff.login", next=url_for("map.map_page")))
    code = request.form.get("disaster", "").strip()
    if code and code not in DISASTERS:
        # The value is the sender's, never markup: the page escapes it.
        code = code[:100]
        return render_template("message.html", title="400", back=url_for("map.map_page"),
                               ja=f"不明な災害の種類です:「{code}」。一覧から選んでください。",
                               en=f"Unknown disaster 「{code}」; choose one of: {', '.join(DISASTERS)}."), 400
    set_disaster(code or None, by=current_user.username)
    return redirect(url_for("map.map_page"))
