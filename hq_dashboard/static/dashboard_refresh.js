// HQ's staff dashboard (templates/dashboard.html): its numbers refresh themselves in place from
// /dashboard/numbers (refresh_in_place.js), the last good ones staying up, saying since when and why, while
// HQ fails or cannot be reached.  A log-in that ended (idle, shift over) is not retried for ever: the page
// goes to HQ, which sends it to the log-in page saying why, as the whole page's reload did.
(function () {
  "use strict";
  var body = document.body;
  var numbers = document.getElementById("dashboard-numbers");

  function lastGood() {
    var part = numbers.querySelector("[data-updated]");
    return part ? part.dataset.updated : "—";
  }

  function show(got, screen) {
    if (!got || typeof got.html !== "string" || !got.updated_at) { throw new Error("not the dashboard's numbers"); }
    var drawn = document.createElement("template");
    drawn.innerHTML = got.html;
    if (!drawn.content.querySelector("#dashboard-part[data-updated]")) { throw new Error("not the dashboard's numbers"); }
    numbers.replaceChildren(drawn.content);
    screen.shown(got.updated_at);
  }

  function answered(answer, screen) {
    if (answer.status === 401) {
      window.location.assign(body.dataset.reloadUrl);
      return true;
    }
    if (!answer.ok) { screen.failed("error"); return false; }
    return answer.text().then(function (text) {
      // Not JSON (a proxy's page, say), or not the numbers: no numbers, which is an error at HQ's end.
      try { show(JSON.parse(text), screen); } catch (e) { screen.failed("error"); }
      return false;
    });
  }

  window.evacRefreshInPlace({url: body.dataset.numbersUrl, every: Number(body.dataset.refreshSeconds) * 1000,
                             fresh: document.getElementById("dashboard-updated"),
                             stale: document.getElementById("dashboard-stale"), lastGood: lastGood,
                             answered: answered});
})();
