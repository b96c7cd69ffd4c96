// HQ map: binds each site's popup and keeps markers live by polling HQ's /api/v1/shelters.
// No framework: Leaflet (vendored) is all the page loads.
var evacMap = (function () {
  "use strict";
  // The words for the codes come from HQ with the page (opts.words: hq_dashboard/site_words.py), as
  // HQ's pages and exports say them; a code without a word is shown as it is.
  var WORDS = {kind: {}, status: {}, suitability: {}, needs: {}, hazards: {}};

  function say(group, code) {
    var w = (WORDS[group] || {})[code];
    return w == null ? code : w;
  }

  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
    });
  }

  // In Japan's time, as the dashboard says it: a browser set to another zone or locale (an aid worker's
  // laptop) showed "3:30:41 AM" beside the dashboard's "12:31:10 JST".
  function jst(when, seconds) {
    var o = {timeZone: "Asia/Tokyo", hourCycle: "h23", hour: "2-digit", minute: "2-digit"};
    if (seconds !== false) { o.second = "2-digit"; }
    return when.toLocaleTimeString("ja-JP", o) + " JST";
  }

  // HQ's clock minus the browser's (from each answer's Date header): "N 分前" is counted on HQ's clock.
  var skewMs = 0;

  // Truncated, as the dashboard says it: 466 of 467 is 99%, never 100% while there is room.
  function percent(p) {
    return p.capacity ? Math.floor(100 * p.occupancy / p.capacity) : null;
  }

  function statusWords(p) {
    var w = esc(say("status", p.status));
    if (p.closed_with_people) { w = '<b class="closed-people">' + w + "（まだ " + p.closed_with_people + " 人）</b>"; }
    // Closed, with people at home or in cars who came to it for food and news (the dashboard's alert).
    if (p.closed_with_registered_outside) {
      w += '<b class="closed-outside">（在宅・車中の登録 ' + p.closed_with_registered_outside + " 人）</b>";
    }
    return w;
  }

  // People on their way to a site its staff closed (閉鎖): said in Japanese, then the reader's language, with
  // the count (HQ's words, opts.words.transit_closed: "{num}" in them); a count, no one named.
  function transitClosed(p) {
    var w = WORDS.transit_closed;
    if (!p.in_transit_to_closed || !w) { return ""; }
    var put = function (s) { return esc(String(s).replace("{num}", p.in_transit_to_closed)); };
    return '<div class="transit-closed"><b>' + put(w.ja) + '</b> <span lang="' + esc(w.lang) + '">/ ' + put(w.other) +
      "</span></div>";
  }

  // The same, short, in the list of other sites at a popup's point (that site's own popup says it in full).
  function transitShort(p) {
    return p.in_transit_to_closed ? '<b class="transit-closed">（移動中 ' + p.in_transit_to_closed + " 人）</b>" : "";
  }

  function heard(p) {
    if (!p.last_heard_at) { return '<div class="heard none">端末からの同期なし（人数は届いていません）</div>'; }
    var now = Date.now() + skewMs, at = new Date(p.last_heard_at);
    var ago = Math.max(0, Math.floor((now - at.getTime()) / 60000));
    // Hours and days past the hour, and the date when it is not today's: "3060 分前" read as today.
    var since = ago < 60 ? ago + " 分前" : ago < 1440 ? Math.floor(ago / 60) + " 時間 " + ago % 60 + " 分前"
      : Math.floor(ago / 1440) + " 日前";
    var day = {timeZone: "Asia/Tokyo", month: "numeric", day: "numeric"};
    var date = at.toLocaleDateString("ja-JP", day) === new Date(now).toLocaleDateString("ja-JP", day) ? ""
      : at.toLocaleDateString("ja-JP", day) + " ";
    // Numbers from a file carried by hand are as fresh as its newest record, though the kiosk stays offline.
    var how = p.heard_by_hand ? "・持ち込まれた記録ファイル" : "";
    return '<div class="heard' + (p.heard_silent ? " stale" : "") + (p.heard_by_hand ? " by-hand" : "") + '">' + date +
      jst(at, false) + " 時点（" + since + how + "）" + (p.heard_silent ? "：端末からの同期が途絶えています" : "") + "</div>";
  }

  function popup(p, disasterLabel, sharing) {
    var cap = p.capacity == null ? "—" : p.capacity;
    var pct = p.capacity ? " (" + percent(p) + "%)" : "";
    var h = '<div class="evac-popup" data-site="' + esc(p.id) + '"><h3>' + esc(p.name) + "</h3>" +
      "<div>" + esc(say("kind", p.kind)) + " · " + esc(p.id) + " · " + statusWords(p) + "</div>" + transitClosed(p) +
      heard(p);
    if (p.suitability !== "suitable") {
      h += '<div class="' + p.suitability + '">' + esc(disasterLabel || "") + ": " + esc(say("suitability", p.suitability)) + "</div>";
    }
    p.hazard_areas.forEach(function (a) { h += '<div class="at_risk">' + esc(a) + "</div>"; });
    h += '<table><tr><td>避難者</td><td class="occ">' + p.occupancy + " / " + cap + pct + "</td></tr>" +
      "<tr><td>在宅</td><td>" + p.at_home + "</td></tr><tr><td>車中</td><td>" + p.in_car + "</td></tr></table>";
    var needs = Object.keys(p.needs || {});   // null for visitors who are not HQ staff
    if (needs.length) {
      h += "<div>要配慮: " + needs.map(function (k) { return esc(say("needs", k)) + " " + p.needs[k]; }).join("、") + "</div>";
    }
    h += "<div>指定: " + (p.hazards.map(function (k) { return esc(say("hazards", k)); }).join("、") || "—") + "</div>";
    p.notes.forEach(function (n) { h += "<div>参考: " + esc(n) + "</div>"; });
    if (p.overflow.length) {
      h += "<div>受入先の候補:<ol>" + p.overflow.map(function (o) {
        return "<li>" + esc(o.name) + "（" + esc(o.id) + "）" + (o.distance_m / 1000).toFixed(1) + " km・空き " + o.room + "</li>";
      }).join("") + "</ol></div>";
    }
    // A school is often a 指定避難所 and a 津波避難ビル at one spot: one marker hides the other, so each
    // popup lists the others at its point with their numbers.
    if (sharing && sharing.length) {
      h += '<div class="same-point">同じ地点の施設:<ul>' + sharing.map(function (o) {
        return '<li data-site="' + esc(o.id) + '">' + esc(say("kind", o.kind)) + " · " + esc(o.id) + " · " + esc(o.name) +
          " · " + statusWords(o) + transitShort(o) + " · " + o.occupancy + " / " + (o.capacity == null ? "—" : o.capacity) +
          (o.capacity ? " (" + percent(o) + "%)" : "") + "</li>";
      }).join("") + "</ul></div>";
    }
    return h + '<div class="credit">' + esc(p.credit) + "</div></div>";
  }

  function where(f) {
    return f.geometry.coordinates[1].toFixed(6) + "," + f.geometry.coordinates[0].toFixed(6);
  }

  // Drawn later is on top (and takes the click): open or occupied sites over empty ones, and a 指定避難所
  // over everything else at its point, whatever its state.
  // Of sites at one point, the one with people (in it, or on their way to it closed) or open on top (an empty
  // 指定避難所 hid a full 津波避難ビル at its door); of two alike, the 指定避難所.
  function rank(p) {
    var active = p.status === "open" || p.status === "full" || p.occupancy > 0 || p.in_transit_to_closed > 0;
    return (active ? 2 : 0) + (p.kind === "shelter" ? 1 : 0);
  }

  // Where colour alone would carry what matters most (full, closed with people in it), a symbol beside
  // the marker says it too (colour-blind officers; a grey print).
  function symbol(m, s) {
    if (!s.symbol) {
      if (m.evacSymbol) { m.evacLayer.removeLayer(m.evacSymbol); m.evacSymbol = null; }
      return;
    }
    var html = '<span class="evac-symbol look-' + esc(s.look) + '">' + esc(s.symbol) + "</span>";
    if (!m.evacSymbol) {
      m.evacSymbol = L.marker(m.getLatLng(), {interactive: false, keyboard: false, icon: L.divIcon({
        className: "evac-symbol-icon", html: html, iconSize: null, iconAnchor: [-5, 22]})});
      m.evacSymbol.evacSymbolFor = m;
      m.evacLayer.addLayer(m.evacSymbol);
    } else if (m.evacSymbol.options.icon.options.html !== html) {
      m.evacSymbol.setIcon(L.divIcon({className: "evac-symbol-icon", html: html, iconSize: null, iconAnchor: [-5, 22]}));
    }
  }

  // The disaster in progress steers every site's suitability, HQ's alerts and where overflow goes, for the
  // whole city: a slip of a finger scrolling a tablet must not change it.  Asked first; cancelled, it stays.
  function guardDisasterChoice() {
    var select = document.querySelector("#evac-disaster select");
    if (!select) { return; }
    select.dataset.was = select.value;
    select.addEventListener("change", function () {
      var label = select.options[select.selectedIndex].text;
      if (window.confirm("発生中の災害を「" + label + "」に変えます。すべての避難所の適否・警告・誘導先が変わります。よろしいですか？")) {
        select.form.submit();
      } else {
        select.value = select.dataset.was;
      }
    });
  }

  // Another desk may change the disaster: the bar says what the markers are drawn for.
  function showDisaster(fc) {
    var code = fc.disaster || "", select = document.querySelector("#evac-disaster select");
    if (select) {
      if (select.dataset.was !== code && document.activeElement !== select) {
        select.value = select.dataset.was = code;
        var by = document.getElementById("evac-disaster-by");
        if (by) { by.textContent = "（他の端末で変更されました）"; }
      }
      return;
    }
    var shown = document.querySelector("#evac-disaster strong");
    if (shown) { shown.textContent = fc.disaster_label || "（未選択）"; }
  }

  function apply(markers, fc) {
    showDisaster(fc);
    var points = {};
    fc.features.forEach(function (f) { (points[where(f)] = points[where(f)] || []).push(f.properties); });
    var order = [];
    fc.features.forEach(function (f) {
      var p = f.properties, m = markers[p.id];
      if (!m) { return; }
      var s = p.marker;
      // fill: Leaflet's circle markers are hollow unless told, and the colour is the occupancy.
      m.setStyle({fill: true, fillColor: s.fillColor, fillOpacity: s.fillOpacity, color: s.color, weight: s.weight,
                  dashArray: s.dashArray});
      m.setRadius(s.radius);
      symbol(m, s);
      m.evacSite = p;
      var sharing = points[where(f)].filter(function (o) { return o.id !== p.id; });
      var html = popup(p, fc.disaster_label, sharing);
      if (m.getPopup()) { m.setPopupContent(html); } else { m.bindPopup(html, {maxWidth: 360}); }
      var tip = [p].concat(sharing).map(function (o) {
        return esc(o.name) + (sharing.length ? "（" + esc(o.id) + "）" : "") + " " + o.occupancy +
          (o.capacity == null ? "" : " / " + o.capacity);
      }).join(" ／ ");
      if (m.getTooltip()) { m.setTooltipContent(tip); } else { m.bindTooltip(tip); }
      order.push([rank(p), m]);
    });
    order.sort(function (a, b) { return a[0] - b[0]; });
    order.forEach(function (o) { if (o[0] > 0 && o[1]._map) { o[1].bringToFront(); } });
  }

  function underBar(map) {
    // The bar is one row on a wide screen and more on a narrow one: the map starts below it.
    var top = document.getElementById("evac-bar").offsetHeight + "px";
    if (map.getContainer().style.getPropertyValue("top") !== top) {
      map.getContainer().style.setProperty("top", top, "important");
      map.invalidateSize();
    }
  }

  // On a narrow screen the open layer list covers the sites: folded into its button (tap to open, tap the
  // map to fold), as Leaflet does with collapsed: true.  HQ's desks keep it open.
  function fold(map, control) {
    if (!control || !window.matchMedia("(max-width: 900px)").matches) { return; }
    control.remove();
    control.options.collapsed = true;
    control.addTo(map);
    control.collapse();
  }

  // Leaflet's own controls say their titles in English: said in HQ's words for this page (opts.controls,
  // map_page.control_words), marked with their language.  The zoom buttons are made again with Leaflet's own
  // options for their titles; the layer list's button and list, the popups' close button and Leaflet's credit
  // are labelled where Leaflet made them.
  function labelControls(map, layerControl, w) {
    if (!w) { return; }
    if (map.zoomControl) {
      var position = map.zoomControl.getPosition();
      map.removeControl(map.zoomControl);
      map.zoomControl = L.control.zoom({position: position, zoomInTitle: w.zoomIn, zoomOutTitle: w.zoomOut}).addTo(map);
      map.zoomControl.getContainer().setAttribute("lang", w.lang);
    }
    if (layerControl) {
      var box = layerControl.getContainer(), toggle = box.querySelector(".leaflet-control-layers-toggle");
      if (toggle) { toggle.title = w.layers; toggle.setAttribute("aria-label", w.layers); toggle.setAttribute("lang", w.lang); }
      // (no lang on the list: its entries are the layers' Japanese names, as the page is)
      var list = box.querySelector(".leaflet-control-layers-list");
      if (list) { list.setAttribute("aria-label", w.layers); }
    }
    if (map.attributionControl) {
      map.attributionControl.setPrefix(String(L.Control.Attribution.prototype.options.prefix).replace(
        'title="A JavaScript library for interactive maps"', 'title="' + esc(w.leaflet) + '" lang="' + esc(w.lang) + '"'));
    }
    map.on("popupopen", function (e) {
      var close = e.popup.getElement() && e.popup.getElement().querySelector(".leaflet-popup-close-button");
      if (close) { close.setAttribute("aria-label", w.closePopup); close.setAttribute("lang", w.lang); }
    });
  }

  function fitSites(map, bounds, state) {
    if (!bounds) { return; }
    // Clear of the layer list (top right) and of the credits and scale (bottom): no site under them.
    var box = function (el) { return el ? el.getBoundingClientRect() : null; };
    var map_ = box(map.getContainer()), layers = box(document.querySelector(".leaflet-control-layers"));
    var credits = box(document.getElementById("evac-credits")), pad = 16;
    var top = pad, right = pad, bottom = pad + 30;   // 30: the scale bar
    if (layers && layers.width < 60) {   // folded: a button in the corner, the sites may pass beside it
      top = Math.max(top, layers.bottom - map_.top + pad);
    } else if (layers) {
      right = Math.max(right, map_.right - layers.left + pad);
    }
    if (credits) { bottom = Math.max(bottom, map_.bottom - credits.top + pad); }
    map.fitBounds(bounds, {paddingTopLeft: [pad, top], paddingBottomRight: [right, bottom], animate: false});
  }

  function start(map, opts) {
    WORDS = opts.words || WORDS;
    underBar(map);
    // The first view shows every site (whatever the screen) until the officer moves the map: fitted again
    // when the bar's height changes with the window or once its fonts load.
    var refit = function () { underBar(map); if (!state.moved) { fitSites(map, opts.bounds, state); } };
    if (window.ResizeObserver) {
      new ResizeObserver(refit).observe(document.getElementById("evac-bar"));
    } else {
      window.addEventListener("resize", refit);
    }
    ["mousedown", "touchstart", "wheel", "keydown"].forEach(function (name) {
      map.getContainer().addEventListener(name, function () { state.moved = true; }, {passive: true});
    });
    var stamp = document.getElementById("evac-updated");
    var markers = {};
    opts.siteLayers.forEach(function (layer) {
      layer.eachLayer(function (m) { markers[m.feature.properties.id] = m; m.evacLayer = layer; });
    });
    var state = {markers: markers, version: 0, lastUpdate: new Date()};
    L.control.scale({imperial: false}).addTo(map);   // metres: feet and miles are no unit anyone here reads
    fold(map, opts.layerControl);
    labelControls(map, opts.layerControl, opts.controls);
    fitSites(map, opts.bounds, state);
    guardDisasterChoice();
    apply(markers, opts.sites);
    stamp.textContent = "更新 " + jst(state.lastUpdate);
    // Online tiles, when configured, fall back to the city's own outline as soon as they fail.
    if (opts.tileLayer) {
      opts.tileLayer.on("tileerror", function () {
        if (map.hasLayer(opts.tileLayer)) {
          map.removeLayer(opts.tileLayer);
          map.addLayer(opts.offlineBase);
          state.tilesFailed = true;
        }
      });
    }
    function poll() {
      // "no-cache": the browser asks with the ETag it holds, and HQ answers 304 when nothing changed.
      fetch(opts.url, {cache: "no-cache", headers: {Accept: "application/json"}})
        .then(function (r) {
          var date = Date.parse(r.headers.get("Date") || "");
          if (!isNaN(date)) { skewMs = date - Date.now(); }
          if (r.status === 403) {   // a wall display a lead revoked: said so, not as HQ out of reach
            return r.json().then(function (answer) {
              var e = new Error("HTTP 403");
              e.revoked = answer && answer.error === "display_revoked";
              throw e;
            }, function () { throw new Error("HTTP 403"); });
          }
          if (!r.ok) { var e = new Error("HTTP " + r.status); e.hq = true; throw e; }
          return r.json();
        })
        .then(function (fc) {
          apply(state.markers, fc);
          state.version += 1;
          document.body.dataset.evacRefreshes = state.version;
          state.lastUpdate = new Date();
          stamp.textContent = "更新 " + jst(state.lastUpdate);
          stamp.className = "";
        })
        .catch(function (e) {
          if (e.revoked) {   // it will not come back: the markers stay as they were, and HQ is asked no more
            state.revoked = true;
            stamp.innerHTML = "表示用リンクは取り消されました（新しいリンクは責任者に） " +
              '<span lang="en">/ The display link was revoked (ask a lead for a new one)</span>';
            stamp.className = "stale";
            return;
          }
          // As the dashboard says it: since when the numbers stand still, not the browser's English error.
          stamp.textContent = jst(state.lastUpdate, false) + " から更新されていません（" +
            (e.hq ? "本部のエラー" : "本部につながりません") + "）";
          stamp.className = "stale";
        })
        .then(function () { if (!state.revoked) { setTimeout(poll, opts.refreshMs); } });
    }
    setTimeout(poll, opts.refreshMs);
    window.evacState = state;
    return state;
  }

  return {start: start, popup: popup};
})();
