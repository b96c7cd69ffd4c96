// HQ's wall display (templates/wall_display/board.html): the board's numbers refresh themselves in place
// (refresh_in_place.js), the last good ones staying up, saying since when and why, while HQ fails or cannot
// be reached.  A display revoked meanwhile gets HQ's page saying so (403), which takes the board's place.
(function () {
  "use strict";
  var body = document.body;
  var numbers = document.getElementById("board-numbers");

  function lastGood() {
    var part = numbers.querySelector("[data-updated]");
    return part ? part.dataset.updated : "—";
  }

  function show(html, screen) {
    var got = document.createElement("template");
    got.innerHTML = html;
    var part = got.content.querySelector("#board-part[data-updated-at]");
    if (!part) { throw new Error("not the board's numbers"); }   // a proxy's page, say: not numbers
    numbers.replaceChildren(got.content);
    screen.shown(part.dataset.updatedAt);
  }

  function revoked(html) {
    var page = new DOMParser().parseFromString(html, "text/html");
    if (!page.querySelector('body[data-page="revoked"]')) { return false; }
    // HQ's page, whole (its own lang and style): the wall shows it, and asks HQ nothing more.
    document.replaceChild(document.importNode(page.documentElement, true), document.documentElement);
    return true;
  }

  function answered(answer, screen) {
    if (answer.status === 403) {
      return answer.text().then(function (html) {
        if (revoked(html)) { return true; }
        screen.failed("error");
        return false;
      });
    }
    if (!answer.ok) { screen.failed("error"); return false; }
    return answer.text().then(function (html) {
      try { show(html, screen); } catch (e) { screen.failed("error"); }
      return false;
    });
  }

  window.evacRefreshInPlace({url: body.dataset.numbersUrl, every: Number(body.dataset.refreshSeconds) * 1000,
                             fresh: document.getElementById("display-updated"),
                             stale: document.getElementById("board-stale"), lastGood: lastGood,
                             answered: answered});
})();
