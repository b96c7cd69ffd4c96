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

  function popup(p, disasterLabel) {
    var cap = p.capacity == null ? "—" : p.capacity;
    var pct = p.capacity ? " (" + Math.round(100 * p.occupancy / p.capacity) + "%)" : "";
    var h = '<div class="evac-popup" data-site="' + esc(p.id) + '"><h3>' + esc(p.name) + "</h3>" +
      "<div>" + esc(say("kind", p.kind)) + " · " + esc(p.id) + " · " + esc(say("status", p.status)) + "</div>";
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
    return h + '<div class="credit">' + esc(p.credit) + "</div></div>";
  }

  function apply(markers, fc) {
    fc.features.forEach(function (f) {
      var p = f.properties, m = markers[p.id];
      if (!m) { return; }
      var s = p.marker;
      // fill: Leaflet's circle markers are hollow unless told, and the colour is the occupancy.
      m.setStyle({fill: true, fillColor: s.fillColor, fillOpacity: s.fillOpacity, color: s.color, weight: s.weight,
                  dashArray: s.dashArray});
      m.setRadius(s.radius);
      // A school is often a 指定避難所 and a 津波避難ビル at one spot: the open or occupied one is drawn on top.
      if (p.status !== "closed" || p.occupancy > 0) { m.bringToFront(); }
      m.evacSite = p;
      var html = popup(p, fc.disaster_label);
      if (m.getPopup()) { m.setPopupContent(html); } else { m.bindPopup(html, {maxWidth: 360}); }
      var tip = esc(p.name) + " " + p.occupancy + (p.capacity == null ? "" : " / " + p.capacity);
      if (m.getTooltip()) { m.setTooltipContent(tip); } else { m.bindTooltip(tip); }
    });
  }

  function underBar(map) {
    // The bar is one row on a wide screen and more on a narrow one: the map starts below it.
    var top = document.getElementById("evac-bar").offsetHeight + "px";
    if (map.getContainer().style.getPropertyValue("top") !== top) {
      map.getContainer().style.setProperty("top", top, "important");
      map.invalidateSize();
    }
  }

  function start(map, opts) {
    WORDS = opts.words || WORDS;
    underBar(map);
    if (window.ResizeObserver) {   // the bar's height changes with the window and once its fonts load
      new ResizeObserver(function () { underBar(map); }).observe(document.getElementById("evac-bar"));
    } else {
      window.addEventListener("resize", function () { underBar(map); });
    }
    var stamp = document.getElementById("evac-updated");
    // In Japan's time, as the dashboard says it: a browser set to another zone or locale (an aid worker's
    // laptop) showed "3:30:41 AM" beside the dashboard's "12:31:10 JST".
    function jst(when) {
      return when.toLocaleTimeString("ja-JP", {timeZone: "Asia/Tokyo", hourCycle: "h23", hour: "2-digit",
                                               minute: "2-digit", second: "2-digit"}) + " JST";
    }
    var markers = {};
    opts.siteLayers.forEach(function (layer) {
      layer.eachLayer(function (m) { markers[m.feature.properties.id] = m; });
    });
    var state = {markers: markers, version: 0};
    apply(markers, opts.sites);
    stamp.textContent = "更新 " + jst(new Date());
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
          if (r.status === 403) {   // a wall display a lead revoked: said so, not as HQ out of reach
            return r.json().then(function (answer) {
              var e = new Error("HTTP 403");
              e.revoked = answer && answer.error === "display_revoked";
              throw e;
            }, function () { throw new Error("HTTP 403"); });
          }
          if (!r.ok) { throw new Error("HTTP " + r.status); }
          return r.json();
        })
        .then(function (fc) {
          apply(state.markers, fc);
          state.version += 1;
          document.body.dataset.evacRefreshes = state.version;
          stamp.textContent = "更新 " + jst(new Date());
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
          stamp.textContent = "本部サーバーに接続できません（" + e.message + "）: 表示は最後の更新のままです";
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
