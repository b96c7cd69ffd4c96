// Calls from the screen, on a staff page left open (kiosk/staff/calls.py): the page asks every few
// seconds and draws base.html's banner in place, as the server draws it, so a tablet left on the
// roster says someone waits at the screen without a reload.  Asking is not use of the tablet: the
// server notes nothing, and no event here touches idle.js's countdown, so the idle log-out still comes.
// A call new since the last answer is drawn to the eye (and the hand, where the tablet can vibrate).
(function () {
  "use strict";
  const me = document.getElementById("calls-script");
  if (!me) return;
  const url = me.dataset.url;
  const everyMs = Math.max(1, Number(me.dataset.every) || 10) * 1000;
  let newest = Number(me.dataset.newest) || 0;   // the latest open call the page was drawn with

  function draw(data) {
    let banner = document.getElementById("staff-call-banner");
    if (!data.open) {
      if (banner) banner.remove();
      return;
    }
    if (!banner) {
      // the same markup as base.html's; role="alert": a screen reader says it as it appears
      banner = document.createElement("p");
      banner.className = "flash error";
      banner.id = "staff-call-banner";
      banner.setAttribute("role", "alert");
      banner.append(document.createElement("a"));
      document.querySelector("main").before(banner);
    }
    const link = banner.querySelector("a");
    if (link.getAttribute("href") !== data.href) link.setAttribute("href", data.href);
    if (link.textContent !== data.text) link.textContent = data.text;   // unchanged words are not said again
    if (data.newest > newest) {
      newest = data.newest;
      banner.classList.remove("staff-call-new");
      void banner.offsetWidth;   // so that the pulse starts again for another new call
      banner.classList.add("staff-call-new");
      if (navigator.vibrate) {
        try { navigator.vibrate([200, 100, 200]); } catch (e) { /* not allowed here: the banner says it */ }
      }
    }
  }

  // On 人数・同期 the list of calls below was drawn before the call came: the banner's link (to this
  // page's own #calls) draws the page again rather than only scrolling to the old list.
  document.addEventListener("click", (event) => {
    const link = event.target.closest && event.target.closest("#staff-call-banner a");
    if (!link || link.pathname !== location.pathname || link.search !== location.search) return;
    event.preventDefault();
    location.reload();
  });

  async function ask() {
    let resp;
    try {
      resp = await fetch(url, {credentials: "same-origin", cache: "no-store", redirect: "manual",
                               headers: {Accept: "application/json"}});
    } catch (e) {
      resp = null;   // the kiosk restarting, say: asked again next time
    }
    if (resp && resp.status === 401) return;   // logged out: idle.js takes the page to the log-in page
    if (resp && resp.ok) {
      try { draw(await resp.json()); } catch (e) { /* a half answer: asked again next time */ }
    }
    setTimeout(ask, everyMs);
  }
  setTimeout(ask, everyMs);
})();
