// HQ staff pages' idle log-out.  The idea of the kiosk's staff tablet (kiosk/static/staff/idle.js),
// written again here: HQ does not import the kiosk.  A page left unused comes back to HQ a little
// after HQ's idle limit, so HQ logs it out (the log-in page says why, and its `next` brings staff
// back) and no evacuee's details stay on a shared PC's screen.  Typing is use: every key, tap or
// change restarts the countdown, and while someone types HQ is told now and then, so a long review
// note is not cut off; a note left half typed for the whole limit is lost, and the log-in page says so.  Without scripts the <noscript> refresh in the page does the countdown.
(function () {
  "use strict";
  const me = document.getElementById("idle-script");
  if (!me) return;
  const idleMs = Number(me.dataset.idle) * 1000;                 // HQ's idle limit
  const reloadAfterMs = idleMs + Number(me.dataset.margin) * 1000;
  const pingEveryMs = Number(me.dataset.ping) * 1000;           // how often HQ notes a log-in's use
  const aliveUrl = me.dataset.alive;
  const target = me.dataset.to;
  let timer = null;
  let lastPing = Date.now();

  // Something typed and not sent (a review note, say) is lost with the reload: HQ's log-in page
  // then says so, rather than the text vanishing without a word.
  function typed() {
    return Array.from(document.querySelectorAll("input:not([type=hidden]):not([type=password]), textarea"))
      .some((field) => (field.type === "checkbox" || field.type === "radio")
        ? field.checked !== field.defaultChecked : field.value !== field.defaultValue);
  }

  function timeUp() {
    window.location.replace(typed() ? target + (target.includes("?") ? "&" : "?") + "unsaved=1" : target);
  }

  function restart() {
    clearTimeout(timer);
    timer = setTimeout(timeUp, reloadAfterMs);
  }

  function used(event) {
    if (Date.now() - lastPing >= idleMs) {
      // HQ has not heard from this page for its whole idle limit (a PC that slept): it has logged
      // the page out, and the log-in page says so.
      timeUp();
      return;
    }
    restart();
    // A tap is usually a link or a button: the page it opens tells HQ.  Typing stays on the page.
    if (event.type === "pointerdown") return;
    const now = Date.now();
    if (now - lastPing >= pingEveryMs) {
      lastPing = now;
      fetch(aliveUrl, {credentials: "same-origin", cache: "no-store", redirect: "manual"}).catch(() => {});
    }
  }

  restart();
  for (const type of ["input", "change", "keydown", "pointerdown"]) {
    document.addEventListener(type, used, {capture: true, passive: true});
  }
})();
