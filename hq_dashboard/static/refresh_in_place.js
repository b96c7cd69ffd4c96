// A screen of HQ's numbers that refreshes them in place: the wall display's board (wall_board.js) and the
// staff dashboard (dashboard_refresh.js).  Reloading the whole page, as they once did, left HQ's error page
// (a database outage) or the browser's own (HQ unreachable) on a screen nobody touches, and the numbers
// gone.  Here a refresh that fails leaves the last good numbers up, saying since when and why, and the next
// one that works puts them back by itself.
//
// evacRefreshInPlace({url, every, fresh, stale, lastGood, answered}) starts it:
//   url: where the numbers are; every: milliseconds between refreshes;
//   fresh, stale: the "Updated: <time>" and the "not updated since" notice (templates/wall_display/_two.html);
//   lastGood(): the time of the numbers on the screen;
//   answered(answer, screen): HQ's answer (a fetch Response); returns (or promises) true when the page is to
//     ask no more; it calls screen.shown(time) with new numbers up, screen.failed("error") otherwise.
// The page's <body> says how it goes, for people and tests: data-board-state (fresh, error, unreachable)
// and data-refreshes (how many refreshes put numbers up).
(function () {
  "use strict";
  window.evacRefreshInPlace = function (o) {
    var body = document.body;
    var refreshes = 0;

    function failed(why) {   // why: "unreachable" or "error"
      var time = o.lastGood();
      o.stale.querySelector(".ja").textContent = o.stale.dataset[why].replace("{time}", time);
      o.stale.querySelector(".en").textContent = "/ " + o.stale.dataset[why + "Other"].replace("{time}", time);
      o.stale.hidden = false;
      o.fresh.hidden = true;
      body.dataset.boardState = why;
    }

    function shown(time) {
      o.fresh.querySelector("time").textContent = time;
      o.fresh.hidden = false;
      o.stale.hidden = true;
      refreshes += 1;
      body.dataset.refreshes = refreshes;
      body.dataset.boardState = "fresh";
    }

    var screen = {failed: failed, shown: shown};

    function refresh() {
      var stop = window.AbortController ? new AbortController() : null;
      // A hung HQ counts as unreachable, not as a screen frozen on numbers that never say they are old.
      var timer = stop && setTimeout(function () { stop.abort(); }, Math.max(o.every, 10000));
      var ended = false;
      fetch(o.url, {cache: "no-store", credentials: "same-origin", signal: stop && stop.signal})
        .then(function (answer) {
          return Promise.resolve(o.answered(answer, screen)).then(function (last) { ended = last === true; });
        }, function () { failed("unreachable"); })
        .catch(function () { failed("unreachable"); })   // the answer cut off while it was read
        .then(function () {
          if (timer) { clearTimeout(timer); }
          if (!ended) { setTimeout(refresh, o.every); }
        });
    }

    setTimeout(refresh, o.every);
    return screen;
  };
})();
