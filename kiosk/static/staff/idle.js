// The staff pages' idle log-out, as a script file (the kiosk's pages allow no inline script).
// A page left unused goes back to the server after the idle limit, so the guard logs the tablet out and
// no names stay on its screen.  But typing a long 避難者カード is use: every key, tap or change restarts
// the countdown, and while someone types the server is told now and then, so the session stays alive
// and the form is saved when sent.  Without scripts the <noscript> meta refresh does the countdown.
// A card left half typed is sent to be kept (not saved) for the same staff member's next log-in (only
// theirs: kiosk/staff/held.py), off the screen meanwhile.
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
  // A 避難者カード typed into and then left: it goes to the server to be kept for its typist's next log-in
  // (kiosk/staff/held.py) instead of being wiped by the reload.  Nothing is saved that way.
  const card = document.getElementById("card-form");
  // A card shown again holding what was typed (refused, not saved for a full disk, or kept across a
  // log-out) is as worth keeping as one typed into on this page.
  let typedOnCard = !!card && Array.from(card.querySelectorAll("input:not([type=hidden]), textarea"))
    .some((field) => (field.type === "checkbox" || field.type === "radio") ? false : field.value.trim() !== "");

  function timeUp() {
    if (card && typedOnCard && card.dataset.hold) {
      card.action = card.dataset.hold;
      card.submit();
    } else {
      window.location.replace(target);
    }
  }

  function restart() {
    clearTimeout(timer);
    timer = setTimeout(timeUp, reloadAfterMs);
  }

  function used(event) {
    if (Date.now() - lastPing >= idleMs) {
      // The server has not heard from this page for its whole idle limit: it has logged the tablet
      // out, or will at this request.  Keep the card rather than ping into the log-out.
      timeUp();
      return;
    }
    restart();
    // A tap is use, but usually a link or a button: the page it opens tells the server.  Typing
    // stays on the page, so the server is told now and then.
    if (event.type === "pointerdown") return;
    if (card && card.contains(event.target)) typedOnCard = true;
    const now = Date.now();
    if (now - lastPing >= pingEveryMs) {
      lastPing = now;
      // Not followed if the server has logged the tablet out meanwhile: its message is for the page
      // the next tap opens.  A failure (the kiosk restarting, say) is not the typist's concern.
      fetch(aliveUrl, {credentials: "same-origin", cache: "no-store", redirect: "manual"}).catch(() => {});
    }
  }

  restart();
  for (const type of ["input", "change", "keydown", "pointerdown"]) {
    document.addEventListener(type, used, {capture: true, passive: true});
  }
})();
