// The evacuee's kiosk screen (kiosk/templates/screen.html).  All of one person's flow lives in this
// page's memory; starting over reloads the page without ?lang=, so nothing of them stays and the
// next person starts in Japanese.  Texts come from the server in the chosen language.
"use strict";
(function () {
  const body = document.body;
  const lang = body.dataset.lang;
  const S = JSON.parse(document.getElementById("strings").textContent);
  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));
  const state = { purpose: "checkin", token: null, source: null, identified: [], present: [], members: [],
                  stay: null, needs: [], disclosure: null, secretMode: "pin", digits: "" };

  // -- starting over -----------------------------------------------------------------------
  function restart() {
    if (state.token) navigator.sendBeacon("/screen/forget", state.token);
    // a card read still waiting for the card: given up, so the PIN typed never reaches the next card
    if (state.reading) navigator.sendBeacon("/screen/card-cancel", "");
    location.replace(location.pathname);
  }
  let timer = null;
  function arm(seconds) {
    clearTimeout(timer);
    timer = setTimeout(restart, seconds * 1000);
  }
  let stillHereAt = 0;
  function touched() {
    // The start screen in the default language has nothing to forget.
    if (current() === "start" && lang === "ja") { clearTimeout(timer); return; }
    arm(current() === "done" ? Number(body.dataset.doneTimeout)
      : current() === "called" && state.callOpen ? Number(body.dataset.calledTimeout) : Number(body.dataset.timeout));
    // The kiosk holds who was identified only while the person is there: tell it, now and then.
    if (state.token && Date.now() - stillHereAt > 30000) {
      stillHereAt = Date.now();
      navigator.sendBeacon("/screen/still-here", state.token);
    }
  }
  ["pointerdown", "keydown", "input"].forEach((t) => document.addEventListener(t, touched, true));

  // -- screens -----------------------------------------------------------------------------
  function current() { const s = $(".screen:not([hidden])"); return s && s.dataset.screen; }
  function show(name) {
    $$(".screen").forEach((s) => { s.hidden = s.dataset.screen !== name; });
    $$("[data-show]").forEach((el) => {
      const key = el.dataset.show;
      if (key.startsWith("purpose-")) el.hidden = key !== "purpose-" + state.purpose;
    });
    clearErrors();
    sayPending(name);
    if (name !== "qr") stopCamera();
    if (name === "qr") $("#qr-input").focus();
    if (name === "card") watchCard();
    if (name === "members") renderMembers();
    if (name === "needs") renderNeeds();
    touched();
    window.scrollTo(0, 0);
  }

  // -- errors next to their field ----------------------------------------------------------
  // The check-in's screens in order: an error the final check-in finds is said on the screen of its
  // field, the earliest first, and the others when the person gets back to theirs.
  const FLOW = ["confirm", "members", "stay", "needs", "consent"];
  let pending = {};
  function clearErrors() {
    $$("[data-error]").forEach((el) => { el.textContent = ""; });
    $$("[aria-invalid]").forEach((el) => el.removeAttribute("aria-invalid"));
  }
  function slotFor(field, screen) {
    // a field's own slot, wherever it is; a member of the household in the members list's; the rest
    // in the general one of the screen
    const own = field === "form" ? null : $(`[data-error="${CSS.escape(field)}"]`)
      || (field.startsWith("members.") ? $('[data-error="members"]') : null);
    return own || $('[data-error="form"]', screen) || $("[data-error]", screen);
  }
  function say(el, field, message) {
    if (!el) return;
    const member = field.match(/^members\.(\d+)\./);
    if (member && state.members[Number(member[1])]) message = `${state.members[Number(member[1])].name}: ${message}`;
    el.textContent = el.textContent ? el.textContent + " " + message : message;
    const input = el.previousElementSibling;
    if (input && input.matches("input, output")) input.setAttribute("aria-invalid", "true");
  }
  function showErrors(errors) {
    // on the screen shown
    clearErrors();
    const screen = $(".screen:not([hidden])");
    for (const [field, message] of Object.entries(errors)) {
      let el = slotFor(field, screen);
      if (el && !screen.contains(el)) el = $('[data-error="form"]', screen) || $("[data-error]", screen);
      say(el, field, message);
    }
  }
  function showErrorsWhere(errors) {
    const consent = $('[data-screen="consent"]');
    const screenOf = (field) => { const el = slotFor(field, consent); return el ? el.closest(".screen").dataset.screen : "consent"; };
    const first = FLOW.find((name) => Object.keys(errors).some((f) => screenOf(f) === name)) || "consent";
    pending = { ...errors };
    show(first);
  }
  function sayPending(name) {
    const screen = $(`[data-screen="${name}"]`);
    for (const [field, message] of Object.entries(pending)) {
      const el = slotFor(field, screen);
      if (el && screen.contains(el)) { say(el, field, message); delete pending[field]; }
    }
  }

  async function post(path, data) {
    const headers = { "Content-Type": "application/json" };
    const csrf = $('meta[name="csrf-token"]');
    if (csrf) headers["X-CSRFToken"] = csrf.content;
    clearTimeout(timer);  // a card read may take a while: the person is still there
    try {
      const resp = await fetch(`${path}?lang=${encodeURIComponent(lang)}`, {
        method: "POST", headers, body: JSON.stringify(data || {}), credentials: "same-origin" });
      return { ok: resp.ok, data: await resp.json() };
    } catch (e) {
      return { ok: false, data: { errors: { form: S.offline } } };
    } finally {
      touched();
    }
  }

  // -- identification ----------------------------------------------------------------------
  function identified(data) {
    state.token = data.token;
    state.source = data.source;
    state.identified = data.persons;
    state.disclosure = data.disclosure;
    const leaving = state.purpose === "leave";
    // A household's QR lists everyone registered, some perhaps checked in at another shelter and still
    // there: checking them in here would move them.  So nobody is ticked for them; the person taps who
    // is here (one tap for everyone).  A list of one is that person.
    const one = data.persons.length === 1;
    state.present = data.persons.map((p) => (leaving ? p.here : one && !p.here));
    const choose = !leaving && data.persons.filter((p) => !p.here).length > 1;
    $$('[data-show="choose-who"]').forEach((el) => { el.hidden = !choose; });
    $('[data-show="tick-all"]').hidden = choose;
    state.codeKept = Boolean(data.family_code_kept);
    $('[data-show="code-kept"]').hidden = !state.codeKept;
    state.needs = data.persons.map((p) => p.needs.slice());
    const list = $('[data-list="identified"]');
    list.replaceChildren();
    data.persons.forEach((p, i) => {
      // the whole row is the checkbox's label: a large target for a finger
      const li = document.createElement("li");
      const row = document.createElement("label");
      row.className = "person";
      const box = document.createElement("input");
      box.type = "checkbox";
      box.checked = state.present[i];
      box.disabled = state.purpose === "leave" && !p.here;
      box.dataset.testid = `present-${i}`;
      box.addEventListener("change", () => { state.present[i] = box.checked; });
      const text = document.createElement("span");
      text.textContent = `${p.name}（${p.birth_date}）`;
      row.append(box, text);
      if (p.here) {
        const note = document.createElement("span");
        note.className = "note";
        note.textContent = S.here;
        row.append(note);
      }
      li.append(row);
      list.append(li);
    });
    show("confirm");
  }

  async function readCard() {
    const digits = state.digits;
    const field = state.secretMode;
    const want = field === "pin" ? 4 : 14;
    if (digits.length !== want) { showErrors({ [field]: field === "pin" ? S.digits_pin : S.digits_code_b }); return; }
    // An NFC reader waits for the card after OK: say so at once, not after its wait
    const hold = $('[data-testid="hold-card"]');
    hold.hidden = body.dataset.cardReader !== "nfc";
    state.reading = true;
    let r;
    try { r = await post("/screen/card", { [field]: digits }); } finally { state.reading = false; hold.hidden = true; }
    state.digits = "";
    renderDigits();
    if (r.ok) { identified(r.data); return; }
    showErrors(r.data.errors);
    $('[data-testid="tries-left"]').textContent = r.data.tries_text || "";
  }
  function renderDigits() {
    // Masked, so that nobody behind sees the PIN or 照合番号B; 照合番号B in its three parts (6-4-4).
    const dots = "●".repeat(state.digits.length);
    $("#secret").textContent = state.secretMode === "pin" ? dots
      : [dots.slice(0, 6), dots.slice(6, 10), dots.slice(10)].filter(Boolean).join(" ");
  }
  function secretMode(mode) {
    state.secretMode = mode;
    state.digits = "";
    renderDigits();
    clearErrors();
    $$("[data-mode-label]").forEach((el) => { el.hidden = el.dataset.modeLabel !== mode; });
    $('[data-testid="use-code-b"]').hidden = mode === "code_b";
    $('[data-testid="use-pin"]').hidden = mode === "pin";
    $('[data-testid="tries-left"]').textContent = "";
    showTries();
  }
  // Tries left, read from the card without spending one, shown before anything is typed.
  let cardLeftSaid = false;
  async function showTries() {
    // A PC/SC reader answers at once, card or not; an NFC reader waits for a card and would still be
    // busy when the PIN is sent, so there the tries are shown only after a wrong one.
    if (body.dataset.cardReader !== "pcsc") return;
    const r = await post("/screen/card-tries", state.secretMode === "code_b" ? { code_b: true } : {});
    $('[data-testid="tries-left"]').textContent = r.ok ? r.data.text : "";
    // the card left behind has been taken away: its message goes with it
    if (r.ok && cardLeftSaid) clearErrors();
    cardLeftSaid = !r.ok && r.data.code === "card_left";
    if (r.ok && r.data.warning) showErrors({ [state.secretMode]: r.data.warning });
    // the last person's card still on the reader: said before anyone types a PIN for it
    if (cardLeftSaid) showErrors(r.data.errors);
  }
  let cardPoll = null;
  function watchCard() {
    if (body.dataset.watchCard !== "yes") { showTries(); return; }
    clearInterval(cardPoll);
    let present = false, placed = null;
    const poll = async () => {
      if (current() !== "card") { clearInterval(cardPoll); return; }
      try {
        const s = await (await fetch("/api/card-status")).json();
        $('[data-show="waiting-card"]').hidden = s.card_present;
        if (s.card_present && (!present || s.placed !== placed)) showTries();
        if (!s.card_present) $('[data-testid="tries-left"]').textContent = "";
        present = s.card_present;
        placed = s.placed;
      } catch (e) { /* the next poll tries again */ }
    };
    poll();
    cardPoll = setInterval(poll, 1000);
  }

  let qrSending = false;
  async function submitQr(text) {
    // One code at a time: a scanner that reads it twice would send it twice, and the second answer (an
    // error, or the same household again) would land on the screen the first one opened.
    if (qrSending) return;
    qrSending = true;
    let r;
    try { r = await post("/screen/qr", { qr: text }); } finally { qrSending = false; }
    if (r.ok) identified(r.data); else { showErrors(r.data.errors); $("#qr-input").focus(); }
  }

  // The camera: frames go through jsQR (vendored in static/vendor); the first code found is submitted.
  let stream = null;
  function decodeImageData(img) {
    const found = window.jsQR(img.data, img.width, img.height, { inversionAttempts: "attemptBoth" });
    return found ? found.data : null;
  }
  function decodeImageUrl(url) {
    return new Promise((resolve, reject) => {
      const image = new Image();
      image.onload = () => {
        const canvas = document.createElement("canvas");
        canvas.width = image.naturalWidth;
        canvas.height = image.naturalHeight;
        const ctx = canvas.getContext("2d");
        ctx.drawImage(image, 0, 0);
        resolve(decodeImageData(ctx.getImageData(0, 0, canvas.width, canvas.height)));
      };
      image.onerror = () => reject(new Error("image not loaded"));
      image.src = url;
    });
  }
  window.kioskScan = { decodeImageData, decodeImageUrl, submit: submitQr };
  async function startCamera() {
    const video = $("#camera");
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
    } catch (e) {
      showErrors({ qr: S.no_camera });
      return;
    }
    video.srcObject = stream;
    video.hidden = false;
    await video.play();
    const canvas = $("#camera-frame");
    const ctx = canvas.getContext("2d", { willReadFrequently: true });
    const frame = () => {
      if (!stream) return;
      if (video.videoWidth) {
        canvas.width = video.videoWidth;
        canvas.height = video.videoHeight;
        ctx.drawImage(video, 0, 0);
        const text = decodeImageData(ctx.getImageData(0, 0, canvas.width, canvas.height));
        if (text) { stopCamera(); submitQr(text); return; }
      }
      requestAnimationFrame(frame);
    };
    requestAnimationFrame(frame);
  }
  function stopCamera() {
    if (!stream) return;
    stream.getTracks().forEach((t) => t.stop());
    stream = null;
    $("#camera").hidden = true;
  }

  // -- household, stay, needs, consent ----------------------------------------------------
  function presentIndexes() { return state.present.map((on, i) => (on ? i : -1)).filter((i) => i >= 0); }
  function people() {
    const here = state.identified.filter((_, i) => state.present[i]).map((p) => p.name);
    return here.concat(state.members.map((m) => m.name));
  }
  function renderMembers() {
    const list = $('[data-list="members"]');
    list.replaceChildren();
    state.identified.forEach((p, i) => {
      if (!state.present[i]) return;
      const li = document.createElement("li");
      li.textContent = `${p.name}（${p.birth_date}）`;
      list.append(li);
    });
    state.members.forEach((m, i) => {
      const li = document.createElement("li");
      const text = document.createElement("span");
      text.textContent = `${m.name}（${m.birth_date}）`;
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "mid";
      remove.textContent = S.remove;
      remove.addEventListener("click", () => { state.members.splice(i, 1); renderMembers(); });
      li.append(text, remove);
      list.append(li);
    });
  }
  async function addMember(form) {
    const sex = $('input[name="sex"]:checked', form);
    // the kiosk checks the person against everyone listed so far: nobody twice, not too many
    const r = await post("/screen/member", {
      token: state.token, present: presentIndexes(),
      members: state.members.map((m) => ({ name: m.name, birth_date: m.birth_date, sex: m.sex, age_confirmed: m.age_confirmed })),
      name: form.elements.name.value, birth_date: form.elements.birth_date.value, sex: sex ? sex.value : null,
      age_confirmed: state.ageAsked });
    // a great age is asked about once: the same date added again is what the person meant
    state.ageAsked = r.ok ? "" : r.data.confirm_age || "";
    if (!r.ok) { showErrors(r.data.errors); return false; }
    state.members.push({ ...r.data, needs: [] });
    form.reset();
    clearErrors();
    renderMembers();
    return true;
  }
  async function addMemberOnce(form) {
    // one answer at a time: a double tap would list the person twice
    const button = $('button[type="submit"]', form);
    if (button.disabled) return false;
    button.disabled = true;
    try { return await addMember(form); } finally { button.disabled = false; }
  }
  function memberTyped(form) {
    return Boolean(form.elements.name.value.trim() || form.elements.birth_date.value.trim()
      || $('input[name="sex"]:checked', form));
  }
  function personNeeds() {
    // one list per person, in the order people() gives
    const fromId = state.identified.map((_, i) => i).filter((i) => state.present[i]).map((i) => state.needs[i]);
    return fromId.concat(state.members.map((m) => m.needs));
  }
  function renderNeeds() {
    const list = $('[data-list="needs"]');
    list.replaceChildren();
    const names = people();
    const lists = personNeeds();
    names.forEach((name, i) => {
      const row = $("#need-row").content.firstElementChild.cloneNode(true);
      $("legend", row).textContent = name;
      row.dataset.testid = `needs-${i}`;
      $$("[data-need]", row).forEach((chip) => {
        chip.setAttribute("aria-pressed", String(lists[i].includes(chip.dataset.need)));
        chip.addEventListener("click", () => {
          const at = lists[i].indexOf(chip.dataset.need);
          if (at >= 0) lists[i].splice(at, 1); else lists[i].push(chip.dataset.need);
          chip.setAttribute("aria-pressed", String(at < 0));
        });
      });
      list.append(row);
    });
  }
  function chooseConsent(value) {
    state.disclosure = value;
    if (value) $('[data-error="disclosure"]').textContent = "";
    $$("[data-consent]").forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.consent === value)));
    // The pre-registered code is kept only with "my family": said only then (or before a choice).
    $('[data-show="code-kept"]').hidden = !(state.codeKept && (!value || value === "family"));
    $('[data-show="typed-own-consent"]').hidden = !state.members.length;
  }
  async function submitCheckin() {
    const r = await post("/screen/checkin", {
      token: state.token, present: presentIndexes(), members: state.members, stay_type: state.stay,
      needs: personNeeds(), disclosure: state.disclosure, family_code: $("#family-code").value.trim() });
    if (r.ok) done("checkin", r.data); else showErrorsWhere(r.data.errors);
  }

  // -- destination search by reading ----------------------------------------------------------
  // Shelters carry their reading (名称_カナ): a search in hiragana, katakana or romaji finds them too.
  function hiragana(text) {
    return text.normalize("NFKC").replace(/[\u30a1-\u30f6]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0x60));
  }
  const KANA = "あいうえおかきくけこがぎぐげごさしすせそざじずぜぞたちつてとだぢづでどなにぬねのはひふへほ"
    + "ばびぶべぼぱぴぷぺぽまみむめもやゆよらりるれろわゐゑをんゔぁぃぅぇぉゎ";
  const ROMA = ("a i u e o ka ki ku ke ko ga gi gu ge go sa shi su se so za ji zu ze zo ta chi tsu te to "
    + "da ji zu de do na ni nu ne no ha hi fu he ho ba bi bu be bo pa pi pu pe po ma mi mu me mo ya yu yo "
    + "ra ri ru re ro wa i e o n vu a i u e o wa").split(" ");
  function romaji(kana) {
    let out = "", double = false;
    for (const c of kana) {
      const small = "ゃゅょ".indexOf(c);
      if (small >= 0) {   // きょ kyo, しゃ sha
        const vowel = "auo"[small];
        out = /(sh|ch|j)i$/.test(out) ? out.slice(0, -1) + vowel : /i$/.test(out) ? out.slice(0, -1) + "y" + vowel : out + "y" + vowel;
        continue;
      }
      if (c === "っ") { double = true; continue; }
      const i = KANA.indexOf(c);
      let r = i >= 0 ? ROMA[i] : "";
      if (double && r) r = (r.startsWith("ch") ? "t" : r[0]) + r;
      double = false;
      out += r;
    }
    return out;
  }
  function foldRoman(text) {
    // Hepburn or kunrei, long vowels written or not: "Ōigawa", "Ooigawa" and "oigawa" are one
    return text.toLowerCase().normalize("NFD").replace(/[\u0300-\u036f]/g, "").replace(/[^a-z]/g, "")
      .replace(/sh(?=i)/g, "s").replace(/sh/g, "sy").replace(/ch(?=i)/g, "t").replace(/ch/g, "ty")
      .replace(/ts(?=u)/g, "t").replace(/f(?=u)/g, "h").replace(/j(?=i)/g, "z").replace(/j/g, "zy")
      .replace(/oh(?![aiueo])/g, "o").replace(/ou/g, "o").replace(/([aiueo])\1+/g, "$1");
  }

  // -- leaving -----------------------------------------------------------------------------
  async function leave(toShelter, toName) {
    let present = presentIndexes();
    if (!present.length && state.identified.some((p) => p.here)) { showErrors({ present: S.nobody }); return; }
    // nobody identified is checked in here: the kiosk says so, in words
    if (!present.length) present = state.identified.map((_, i) => i);
    const data = { token: state.token, present };
    if (toShelter) data.to_shelter_id = toShelter;
    const r = await post("/screen/leave", data);
    if (!r.ok) { showErrors(r.data.errors); return; }
    $('[data-testid="done-destination"]').textContent = toName || "";
    done(toShelter ? "transfer" : "checkout", r.data);
  }

  function done(kind, data) {
    // saved: what the kiosk held for a retry is no longer needed
    if (state.token) navigator.sendBeacon("/screen/forget", state.token);
    state.token = null;
    $$('[data-show^="done-"]').forEach((el) => { el.hidden = el.dataset.show !== "done-" + kind; });
    const list = $('[data-list="done-names"]');
    list.replaceChildren(...data.names.map((n) => { const li = document.createElement("li"); li.textContent = n; return li; }));
    $('[data-testid="done-time"]').textContent = data.time_text;
    $('[data-testid="done-time"]').dataset.iso = data.confirmed_at;
    // household members a QR could not check out, still recorded here (the kiosk named nobody)
    const behind = $('[data-testid="done-left-behind"]');
    behind.textContent = data.left_behind || "";
    behind.hidden = !data.left_behind;
    show("done");
    if (state.source === "card") watchTakeCard();
  }
  // After a My Number card: "take your card" while it lies on the reader (always, where the kiosk
  // cannot see the reader), so that nobody walks away without it.  Only while the card that was read
  // lies there: a card put on after it was taken (the next person's) is not told to be taken away.
  function watchTakeCard() {
    const note = $('[data-testid="take-card"]');
    note.hidden = false;
    if (body.dataset.watchCard !== "yes") return;
    let readPlacing;   // the placing that was read; null once the reader was seen empty
    const poll = async () => {
      if (current() !== "done") { clearInterval(takePoll); return; }
      try {
        const s = await (await fetch("/api/card-status")).json();
        if (!s.reader) { note.hidden = false; return; }   // a reader not seen now may still hold it
        if (readPlacing === undefined) readPlacing = s.card_present ? s.placed : null;
        note.hidden = !(s.card_present && s.placed === readPlacing);
        if (note.hidden) readPlacing = null;
      } catch (e) { /* the next poll tries again */ }
    };
    clearInterval(takePoll);
    takePoll = setInterval(poll, 1000);
    poll();
  }
  let takePoll = null;

  // -- waiting for staff ---------------------------------------------------------------------
  // The person was told 「係員が来ます。ここでお待ちください。」: that stays while the call is open (up to
  // data-called-timeout), not the 90 s of any other screen, after which they left or pressed again.  Once
  // staff have marked it helped it is any screen left alone.  "Back to the start" is always there.
  let callPoll = null;
  function waitForStaff(call) {   // `call`: the token /screen/call-staff gave (never an id: screen.call_staff)
    state.callOpen = true;
    show("called");
    clearInterval(callPoll);
    callPoll = setInterval(async () => {
      try {
        const resp = await fetch(`/screen/calls/${encodeURIComponent(call)}`, { cache: "no-store", credentials: "same-origin" });
        if (!resp.ok || (await resp.json()).open) return;
        clearInterval(callPoll);
        state.callOpen = false;
        if (current() === "called") arm(Number(body.dataset.timeout));
      } catch (e) { /* the next poll asks again */ }
    }, Number(body.dataset.callPoll) * 1000);
  }

  // -- wiring --------------------------------------------------------------------------------
  document.addEventListener("click", async (ev) => {
    const el = ev.target.closest("button");
    if (!el) return;
    if (el.dataset.digit) {
      const max = state.secretMode === "pin" ? 4 : 14;
      if (state.digits.length < max) state.digits += el.dataset.digit;
      renderDigits();
      return;
    }
    switch (el.dataset.action) {
      case "restart": restart(); break;
      case "purpose": state.purpose = el.dataset.purpose; show("method"); break;
      case "go": {
        if (el.dataset.to === "members" && !state.present.some(Boolean)) { showErrors({ present: S.nobody }); break; }
        // Someone typed in but "Next" pressed instead of "Add this person": added first, as that button
        // would, or kept here with what is wrong; never left out of the check-in unsaid.  (Back keeps
        // the form as typed, so coming forward again still finds them.)
        const form = $('[data-form="member"]');
        if (current() === "members" && el.dataset.to === "stay" && memberTyped(form)) {
          if (!(await addMemberOnce(form)) || current() !== "members") break;
        }
        show(el.dataset.to);
        break;
      }
      case "backspace": state.digits = state.digits.slice(0, -1); renderDigits(); break;
      case "read-card": el.disabled = true; try { await readCard(); } finally { el.disabled = false; } break;
      case "secret-mode": secretMode(el.dataset.mode); break;
      case "camera": startCamera(); break;
      case "read-ic": {
        el.disabled = true;
        const r = await post("/screen/ic", {});
        el.disabled = false;
        if (r.ok) identified(r.data); else showErrors(r.data.errors);
        break;
      }
      case "call-staff": {
        el.disabled = true;
        try {
          const r = await post("/screen/call-staff", el.dataset.reason ? { reason: el.dataset.reason } : {});
          if (r.ok) waitForStaff(r.data.call); else showErrors(r.data.errors);
        } finally { el.disabled = false; }
        break;
      }
      case "everyone":
        $$('[data-list="identified"] input[type=checkbox]').forEach((box, i) => {
          if (box.disabled || state.identified[i].here) return;
          box.checked = true;
          state.present[i] = true;
        });
        clearErrors();
        break;
      case "stay": state.stay = el.dataset.stay; show("needs"); break;
      case "consent": chooseConsent(el.dataset.consent); break;
      case "submit-checkin": el.disabled = true; try { await submitCheckin(); } finally { el.disabled = false; } break;
      case "leave": case "transfer": {
        // one departure at a time: every leave and transfer button waits for the kiosk's answer
        const buttons = $$('[data-action="leave"], [data-action="transfer"]');
        if (buttons.some((b) => b.disabled)) break;
        buttons.forEach((b) => { b.disabled = true; });
        try {
          await (el.dataset.action === "leave" ? leave(null) : leave(el.dataset.shelter, el.dataset.name));
        } finally { buttons.forEach((b) => { b.disabled = false; }); }
        break;
      }
      default: break;
    }
  });
  // A pre-registration QR held under the scanner before 「QRコード」 was chosen (on the start or method
  // screen, as the printed instructions have it): its keystrokes, with no field to take them, are
  // collected, and at Enter a code goes into the QR screen's flow as if scanned there.  Anything else
  // typed there is left alone.  A code is told by its prefix, not by typing speed (scanners differ); a
  // key typed before it is no part of it.
  const QR_PREFIX = "EV1:";   // evac/prereg_qr.PREFIX
  let wedge = "";
  let wedgeKeyAt = 0;
  // A touch is a person, not the scanner; and a scanner types a code's keys close together: what was typed
  // before either is no part of a code to come (a half-read code left there would hold every Space after it).
  document.addEventListener("pointerdown", () => { wedge = ""; }, true);
  function qrIn(text) {
    // as evac/prereg_qr.verify reads it: CapsLock on, or the IME's full-width letters, are the same code
    const upper = text.normalize("NFKC").toUpperCase();
    const at = upper.lastIndexOf(QR_PREFIX);   // a half-read code before it is no part of this one
    return at < 0 ? "" : upper.slice(at);
  }
  function scannedBeforeChosen(code) {
    if (current() === "start") {
      // at a shelter its staff closed, "Check in" calls them: so does a code for checking in
      const checkin = $('[data-testid="checkin"]');
      if (checkin.dataset.action !== "purpose") { checkin.click(); return; }
      state.purpose = "checkin";
    }
    show("qr");
    submitQr(code);
  }
  document.addEventListener("keydown", (ev) => {
    const screen = current();
    if ((screen !== "start" && screen !== "method") || ev.isComposing || ev.ctrlKey || ev.altKey || ev.metaKey
        || ev.target.matches("input, textarea, select")) { wedge = ""; return; }
    if (ev.key === "Enter") {
      const code = qrIn(wedge);
      wedge = "";
      if (!code) return;   // a button with the focus is pressed as ever
      // not a press of a focused button, nor a submit of the QR field that has the focus next
      ev.preventDefault();
      scannedBeforeChosen(code);
      return;
    }
    if (ev.key.length !== 1) return;   // Shift, Tab, arrows
    if (ev.timeStamp - wedgeKeyAt > 2000) wedge = "";
    wedgeKeyAt = ev.timeStamp;
    wedge = (wedge + ev.key).slice(-4000);
    // inside a code, its spaces press no button that has the focus
    if (qrIn(wedge)) ev.preventDefault();
  }, true);
  document.addEventListener("keydown", (ev) => {
    // A scanner's keystrokes belong in the scan field even if someone tapped elsewhere on the screen.
    const field = $("#qr-input");
    if (current() === "qr" && document.activeElement !== field && !ev.target.matches("input")) field.focus();
  }, true);
  $('[data-form="qr"]').addEventListener("submit", (ev) => {
    // A keyboard-wedge scanner types the code and presses Enter.
    ev.preventDefault();
    // emptied now, so that a second read while the first is sent starts a field of its own (dropped)
    const text = $("#qr-input").value;
    $("#qr-input").value = "";
    if (current() === "qr") submitQr(text);
  });
  document.addEventListener("input", (ev) => {
    // A field being corrected loses its old error (each error follows its field, or the fieldset of
    // a choice); the next answer from the kiosk says whether it is right now.
    const field = ev.target.type === "radio" ? ev.target.closest("fieldset") : ev.target;
    const error = field && field.nextElementSibling;
    ev.target.removeAttribute("aria-invalid");
    if (error && error.matches("[data-error]")) error.textContent = "";
  });
  $('[data-form="member"]').addEventListener("submit", (ev) => {
    ev.preventDefault();
    addMemberOnce(ev.target);
  });
  $('[data-form="family-code"]').addEventListener("submit", (ev) => {
    // Enter in the family code: "Check in" (a click, so that its one-at-a-time guard holds)
    ev.preventDefault();
    $('[data-testid="submit"]').click();
  });
  $("#dest-filter").addEventListener("input", (ev) => {
    const q = ev.target.value.trim().normalize("NFKC");
    const qKana = hiragana(q).replace(/\s+/g, "");
    // romaji only for a word of letters: "H001" is an id, not "h"
    const qRoman = /^[\p{Script=Latin}\s'-]{2,}$/u.test(q) ? foldRoman(q) : "";
    const shelters = $$("[data-shelter]");
    shelters.forEach((b) => {
      const reading = hiragana(b.dataset.kana || "").replace(/\s+/g, "");
      b.parentElement.hidden = Boolean(q) && !b.dataset.name.normalize("NFKC").includes(q)
        && !b.dataset.shelter.includes(q.toUpperCase())
        && !(qKana && reading.includes(qKana))
        && !(qRoman && foldRoman(romaji(reading)).includes(qRoman));
    });
    // an empty list says why, and what to do
    $('[data-testid="no-destination"]').hidden = shelters.some((b) => !b.parentElement.hidden);
  });
  // When the consent screen opens, show what a pre-registration already said.
  const observer = new MutationObserver(() => { if (current() === "consent") chooseConsent(state.disclosure); });
  observer.observe($('[data-screen="consent"]'), { attributes: true, attributeFilter: ["hidden"] });
  show("start");
})();
