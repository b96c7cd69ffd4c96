// HQ's wall display (templates/wall_display/board.html): the board's numbers refresh themselves in place.
// Reloading the whole page, as it once did, left HQ's error page (a database outage) or the browser's own
// (HQ unreachable) on an unattended wall for good.  Here a refresh that fails leaves the last good numbers
// up, saying since when and why, and the next one that works puts the board back by itself.  A display
// revoked meanwhile gets HQ's page saying so (403), which takes the board's place.
(function () {
  "use strict";
  var body = document.body;
  var every = Number(body.dataset.refreshSeconds) * 1000;
  var numbers = document.getElementById("board-numbers");
  var fresh = document.getElementById("display-updated");
  var stale = document.getElementById("board-stale");
  var refreshes = 0;

  function lastGood() {
    var part = numbers.querySelector("[data-updated]");
    return part ? part.dataset.updated : "—";
  }

  function failed(why) {   // why: "unreachable" or "error"
    var time = lastGood();
    stale.querySelector(".ja").textContent = stale.dataset[why].replace("{time}", time);
    stale.querySelector(".en").textContent = "/ " + stale.dataset[why + "Other"].replace("{time}", time);
    stale.hidden = false;
    fresh.hidden = true;
    body.dataset.boardState = why;
  }

  function show(html) {
    var got = document.createElement("template");
    got.innerHTML = html;
    var part = got.content.querySelector("#board-part[data-updated-at]");
    if (!part) { throw new Error("not the board's numbers"); }   // a proxy's page, say: not numbers
    numbers.replaceChildren(got.content);
    fresh.querySelector("time").textContent = part.dataset.updatedAt;
    fresh.hidden = false;
    stale.hidden = true;
    refreshes += 1;
    body.dataset.refreshes = refreshes;
    body.dataset.boardState = "fresh";
  }

  function revoked(html) {
    var page = new DOMParser().parseFromString(html, "text/html");
    if (!page.querySelector('body[data-page="revoked"]')) { return false; }
    // HQ's page, whole (its own lang and style): the wall shows it, and asks HQ nothing more.
    document.replaceChild(document.importNode(page.documentElement, true), document.documentElement);
    return true;
  }

  function refresh() {
    var stop = window.AbortController ? new AbortController() : null;
    // A hung HQ counts as unreachable, not as a wall frozen on numbers that never say they are old.
    var timer = stop && setTimeout(function () { stop.abort(); }, Math.max(every, 10000));
    var ended = false;
    fetch(body.dataset.numbersUrl, {cache: "no-store", credentials: "same-origin", signal: stop && stop.signal})
      .then(function (answer) {
        if (answer.status === 403) {
          return answer.text().then(function (html) {
            if (revoked(html)) { ended = true; } else { failed("error"); }
          });
        }
        if (!answer.ok) { failed("error"); return null; }
        return answer.text().then(function (html) {
          try { show(html); } catch (e) { failed("error"); }
        });
      }, function () { failed("unreachable"); })
      .catch(function () { failed("unreachable"); })   // the answer cut off while it was read
      .then(function () {
        if (timer) { clearTimeout(timer); }
        if (!ended) { setTimeout(refresh, every); }
      });
  }

  setTimeout(refresh, every);
})();
