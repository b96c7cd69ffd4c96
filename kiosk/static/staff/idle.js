// The staff pages' idle log-out, as a script file (the kiosk's pages allow no inline script).
// A page left unused goes back to the server after the idle limit, so the guard logs the tablet out and
// no names stay on its screen.  But typing a long 避難者カード is use: every key, tap or change restarts
// the countdown, and while someone types the server is told now and then, so the session stays alive
// and the form is saved when sent.  Without scripts the <noscript> meta refresh does the countdown.
(function () {
  "use strict";
  const me = document.getElementById("idle-script");
  if (!me) return;
  const reloadAfterMs = Number(me.dataset.reload) * 1000;  // the idle limit and a little more
  const idleMs = Number(me.dataset.idle) * 1000;            // the server's idle limit
  const aliveUrl = me.dataset.alive;
  const target = me.dataset.to;
  // Tell the server well within its limit, but not on every key: once a third of it, at most every 30 s.
  const pingEveryMs = Math.min(30000, idleMs / 3);
  let timer = null;
  let lastPing = Date.now();

  function restart() {
    clearTimeout(timer);
    timer = setTimeout(() => window.location.replace(target), reloadAfterMs);
  }

  function used() {
    restart();
    const now = Date.now();
    if (now - lastPing >= pingEveryMs) {
      lastPing = now;
      // A failure (the kiosk restarting, say) is not the typist's concern: the form is sent as usual.
      fetch(aliveUrl, {credentials: "same-origin", cache: "no-store"}).catch(() => {});
    }
  }

  restart();
  for (const type of ["input", "change", "keydown", "pointerdown"]) {
    document.addEventListener(type, used, {capture: true, passive: true});
  }
})();
