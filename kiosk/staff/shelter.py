"""The shelter as a whole on the tablet: headcount and needs, open/full/closed, the sync panel,
and the 避難者名簿 as CSV and as a printable page."""
from __future__ import annotations

import datetime as dt
import errno
import socket
from pathlib import Path

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from evac.carried import carried_file
from evac.events import NEEDS_CODES, STAY_TYPES
from evac.hlc import wall_ms

from .. import disk_failure, staff_store
from ..db import get_store
from ..store import HQ_CLOCK_TOLERANCE_MS
from . import hq_refusals, times
from .auth import guard, lead_required
from .forms import ShelterStatusForm, WithdrawForm
from .i18n import (
    CONSENT_LABELS, DAMAGE_LABELS, EVENT_LABELS, NEED_LABELS, SEX_LABELS, SHELTER_STATUS_LABELS, STAY_LABELS,
    gettext as t, ngettext, screen_language,
)

bp = Blueprint("staff_shelter", __name__, url_prefix="/staff")
guard(bp)


def _shelter() -> str:
    return current_app.config["SHELTER_ID"]


# Beyond this, HQ would order this kiosk's events wrongly against other shelters' (evac.hlc), and the
# kiosk dates new events by HQ's clock instead (KioskStore.now_ms).
CLOCK_TOLERANCE_S = HQ_CLOCK_TOLERANCE_MS // 1000


def _span(seconds: int) -> str:
    """A time difference as staff read it: minutes, hours or days (a clock reset to 2000 is years off)."""
    minutes = round(abs(seconds) / 60)
    if minutes < 120:
        return ngettext("%(num)d minute", "%(num)d minutes", minutes)
    if minutes < 48 * 60:
        return ngettext("%(num)d hour", "%(num)d hours", round(minutes / 60))
    return ngettext("%(num)d day", "%(num)d days", round(minutes / 1440))


def _problem(failure) -> str:
    """Why the last sync round failed, in the tablet's language (kiosk.sync.SyncError.kind)."""
    if failure.kind == failure.UNREACHABLE and getattr(failure, "status", 0):
        return t("HQ answered but cannot take the records now (%(reason)s). Nothing is lost: the records stay on "
                 "this kiosk, and it tries again by itself.", reason=failure.detail)
    if failure.kind == failure.UNREACHABLE and getattr(failure, "slow", False):
        return t("The connection to HQ is too slow (%(reason)s): the kiosk sends smaller batches. Nothing is lost: "
                 "the records stay on this kiosk until HQ has them.", reason=_unreachable_because(failure))
    if failure.kind == failure.UNREACHABLE and getattr(failure, "untrusted", False):
        # Waiting does not mend these two: someone must (the console says the same: kiosk.sync.SyncError).
        return t("HQ answered, but this kiosk cannot trust its certificate. Tell the city's IT staff: this kiosk needs "
                 "the city's certificate authority (README: SSL_CERT_FILE or update-ca-certificates). Nothing is "
                 "lost: the records stay on this kiosk.")
    if failure.kind == failure.UNREACHABLE and getattr(failure, "not_https", False):
        return t("HQ's address begins with https://, but nothing answered by HTTPS there. An HQ without a certificate "
                 "is reached by http://: check the HQ address. Nothing is lost: the records stay on this kiosk.")
    if failure.kind == failure.UNREACHABLE:
        return t("HQ cannot be reached (%(reason)s). Nothing is lost: the records stay on this kiosk and are sent "
                 "when HQ answers.", reason=_unreachable_because(failure))
    if failure.kind == failure.REFUSED:   # what to do, by HQ's refusal code; HQ's English after it
        return hq_refusals.refused(getattr(failure, "code", ""), failure.detail)
    if failure.kind == failure.STORAGE:   # HQ has the records: the disk is what staff must see to
        return _not_noted(failure)
    if failure.kind == failure.NOT_HQ and getattr(failure, "web_page", False):
        return t("A web page answered at %(url)s instead of HQ. If this network has a log-in page (Wi-Fi at a hotel "
                 "or a school), open any web page in a browser on the kiosk and log in; otherwise check the HQ "
                 "address. Nothing is lost: the records stay on this kiosk.", url=failure.url)
    if failure.kind == failure.NOT_HQ:
        return t("The server at %(url)s is not HQ — check the HQ address.", url=failure.url)
    if failure.kind == failure.RESTORED:
        return t("This kiosk's database is older than what HQ holds from it (restored from a backup?) — new "
                 "records cannot be sent with it: run `evac kiosk new-device --db %(path)s` and enroll the kiosk "
                 "again at HQ.", path=failure.db)
    return t("Sync stopped with an error (%(detail)s). Nothing is lost: the records stay on this kiosk.",
             detail=failure.detail)


def _unreachable_because(failure) -> str:
    """Why HQ could not be reached, in the tablet's language for the usual reasons (the system's own
    words, "[Errno 111] Connection refused", were English on a Japanese page); other reasons as the
    system gave them, for whoever mends the network."""
    code = getattr(failure, "errno", None)
    if getattr(failure, "timed_out", False):
        return t("no answer in time")
    if code == errno.ECONNREFUSED:
        return t("refused: HQ's program is not running there, or the address's port is wrong")
    if code == errno.ENETUNREACH:
        return t("this kiosk is not connected to a network")
    if code == errno.EHOSTUNREACH:
        return t("no route to HQ's machine")
    if code in (errno.ECONNRESET, errno.ECONNABORTED, errno.EPIPE):
        return t("the connection was cut")
    if code in (socket.EAI_NONAME, socket.EAI_AGAIN, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)):
        return t("HQ's address could not be looked up")
    return failure.detail


def _not_noted(failure) -> str:
    file = Path(current_app.config["KIOSK_DB"]).name
    if failure.storage == disk_failure.FULL:
        return t("HQ has received this kiosk's records (up to record %(held)d), but this kiosk's disk is full, so "
                 "it could not note that down. Nothing is lost. Make room: delete photos, videos, logs or downloads. "
                 "Never delete %(file)s, %(file)s-wal or %(file)s-shm: they hold the records. Until there is room, "
                 "write people in on paper forms (避難者カード).", held=failure.held, file=file)
    if failure.storage == disk_failure.BUSY:   # space would not mend these three: not "delete photos"
        return t("HQ has received this kiosk's records (up to record %(held)d), but this kiosk's database stayed busy "
                 "too long (another program writing to it), so it could not note that down. Nothing is lost: the "
                 "next sync notes it down. If this goes on, tell HQ.", held=failure.held)
    if failure.storage == disk_failure.READ_ONLY:
        return t("HQ has received this kiosk's records (up to record %(held)d), but this kiosk's disk has become "
                 "read-only (a failing card or disk), so it could not note that down. Nothing is lost. Write people in "
                 "on paper forms (避難者カード) and tell HQ. Take the rest of the records to HQ with `evac kiosk carry "
                 "--db %(db)s --out FILE` (FILE on a USB stick), or copy %(file)s together with %(file)s-wal and "
                 "%(file)s-shm to another disk.", held=failure.held, db=current_app.config["KIOSK_DB"], file=file)
    if failure.storage == disk_failure.DAMAGED:
        return t("HQ has received this kiosk's records (up to record %(held)d), but this kiosk's database file "
                 "(%(file)s) is damaged, so it could not note that down. Nothing is lost. Keep the file, do not delete "
                 "it. Write people in on paper forms (避難者カード) and call HQ or the shelter lead: the kiosk is "
                 "started on a new database and enrolled again at HQ.", held=failure.held, file=file)
    return t("HQ has received this kiosk's records (up to record %(held)d), but this kiosk could not write to its "
             "disk (it may be full or failing), so it could not note that down. Nothing is lost. Tell HQ. Never "
             "delete %(file)s, %(file)s-wal or %(file)s-shm: they hold the records. If the disk is full, delete "
             "photos, videos, logs or downloads; meanwhile write people in on paper forms (避難者カード).",
             held=failure.held, file=file)


def sync_state() -> dict:
    """What the background sync (kiosk.sync) has recorded: events waiting, last success, HQ's answer."""
    store = get_store()
    syncer = current_app.extensions.get("kiosk_sync")
    offset, ahead = store.clock_check()
    failure = None if syncer is None else syncer.failure_now(store.last_sync_at())
    behind = offset is not None and offset < -CLOCK_TOLERANCE_S
    enrolled = store.enrolled_shelter()
    return {"pending": store.pending(), "records": store.last_seq, "last_sync_at": store.last_sync_at(),
            "clock_ahead": offset is not None and offset > CLOCK_TOLERANCE_S, "clock_behind": behind,
            "clock_known": offset is not None, "clock_span": _span(offset or 0),
            # Records dated ahead of the clock, when the clock is not known to be behind HQ's.
            "events_ahead": _span(ahead) if ahead > CLOCK_TOLERANCE_S and not behind else None,
            # HQ enrolled this kiosk elsewhere: a slip in `--shelter`, or a kiosk carried to another
            # shelter. HQ counts people where the kiosk says, so staff and HQ must know.
            "enrolled_elsewhere": {"id": enrolled, "name": store.shelter_name(enrolled) or "", "here": _shelter(),
                                   "here_name": store.shelter_name(_shelter()) or ""}
            if enrolled and enrolled != _shelter() else None,
            "configured": syncer is not None,
            # None until HQ first answers (since the kiosk started), as well as when no HQ is configured.
            "reachable": None if syncer is None or failure is None and not syncer.heard
            else failure is None or failure.hq_answered,
            # HQ took the records, this kiosk's disk would not take HQ's answer (SyncError.STORAGE).
            "storage": failure is not None and failure.hq_answered,
            "unreachable": failure is not None and failure.kind == failure.UNREACHABLE
            and not getattr(failure, "slow", False),
            "slow": failure is not None and getattr(failure, "slow", False),
            "problem": None if failure is None else _problem(failure)}


def record(event: dict) -> dict:
    """A record of the event log as staff read it: what it is, whom it is about, when it was written."""
    person = event.get("person")
    hlc = event.get("hlc")
    when = (times.local(dt.datetime.fromtimestamp(wall_ms(hlc) / 1000, dt.timezone.utc))
            if isinstance(hlc, int) and hlc > 0 else "")
    kind = event.get("type")
    return {"what": str(EVENT_LABELS.get(kind, kind if isinstance(kind, str) else "?")),
            "who": person.get("name", "") if isinstance(person, dict) and isinstance(person.get("name"), str)
            else "", "when": when, "shelter_id": event.get("shelter_id") if isinstance(event.get("shelter_id"), str)
            else ""}


def _summary_page(form: ShelterStatusForm, status: int = 200, withdraw_form: WithdrawForm | None = None):
    store = get_store()
    rows = staff_store.roster(store, _shelter())
    left_elsewhere, left_elsewhere_count = staff_store.left_elsewhere(store, _shelter())
    refusal = store.refusal()
    return render_template("staff/summary.html", summary=staff_store.summary(rows), form=form,
                           left_elsewhere=left_elsewhere, left_elsewhere_count=left_elsewhere_count,
                           shelter_status=staff_store.shelter_status(store, _shelter()),
                           status_labels=SHELTER_STATUS_LABELS, sync=sync_state(), need_labels=NEED_LABELS,
                           stay_labels=STAY_LABELS, needs=NEEDS_CODES, stays=STAY_TYPES,
                           shelter_name=store.shelter_name(_shelter()),
                           refusal=refusal, refused=refusal and record(refusal.event),
                           refusal_reason=refusal and hq_refusals.record_reason(refusal.code, refusal.message),
                           withdraw_form=withdraw_form or WithdrawForm(formdata=None),
                           is_lead=current_user.is_lead,
                           withdrawn=[(w, record(w.event)) for w in store.withdrawn()],
                           screen_language=screen_language,
                           refresh_to=url_for(".summary")), status  # also after a POST: its address takes no GET


@bp.get("/summary")
def summary():
    current = staff_store.shelter_status(get_store(), _shelter())
    return _summary_page(ShelterStatusForm(formdata=None, status=current or "open"))


def _lead_only_words() -> str:
    return t("Only a shelter lead can withdraw a record HQ refuses. Ask the shelter lead on duty.")


@bp.post("/sync/withdraw/<int:seq>")
@lead_required(message=_lead_only_words)
def withdraw(seq: int):
    """The lead withdraws the record HQ refuses: the others go to HQ with the next sync."""
    store = get_store()
    form = WithdrawForm()
    if not form.validate():
        current = staff_store.shelter_status(store, _shelter())
        return _summary_page(ShelterStatusForm(formdata=None, status=current or "open"), 422, form)
    store.withdraw(seq, form.reason.data, current_user.name, _shelter())  # a KioskError is said by the guard
    syncer = current_app.extensions.get("kiosk_sync")
    if syncer is not None:
        syncer.send_now()   # the others
    flash(t("The record is withdrawn: the other records go to HQ with the next sync. It stays on this kiosk; "
            "re-enter it once the cause is fixed, or tell HQ."), "ok")
    return redirect(url_for(".summary") + "#sync")


@bp.get("/carry")
@lead_required(message=lambda: t("Only the shelter lead can save the records to a file. Ask the shelter lead on duty."))
def carry():
    """The records HQ has not acknowledged, as a file someone carries to HQ (evac.carried).  The lead's
    only: it holds everyone's personal data and this kiosk's HQ token.  ?records=all writes every
    record (as `evac kiosk carry --all`): for an HQ whose database was lost or restored, which
    acknowledged records it no longer holds; HQ applies them once however often they come."""
    store = get_store()
    every = request.args.get("records") == "all"
    events = store.events_after(0 if every else store.acked_seq)
    if not events:
        flash(t("This kiosk has no records yet: there is nothing to carry.") if every else
              t("HQ holds every record of this kiosk: there is nothing to carry."), "ok")
        return redirect(url_for(".summary") + "#sync")
    data = carried_file(store.device_id, events, current_app.config.get("HQ_TOKEN"))
    name = f"records-{_shelter()}-{'all-' if every else ''}{events[0]['seq']}-{events[-1]['seq']}.json"
    return Response(data, mimetype="application/json", headers={
        "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})


@bp.post("/shelter-status")
def shelter_status():
    form = ShelterStatusForm()
    if not form.validate():
        return _summary_page(form, 422)
    staff_store.set_shelter_status(get_store(), _shelter(), form.status.data)
    flash(t("The shelter is now marked: %(status)s.", status=SHELTER_STATUS_LABELS[form.status.data]), "ok")
    return redirect(url_for(".summary"))


@bp.post("/calls/<int:call_id>/answered")
def answer_call(call_id: int):
    """A staff member went to the person at the screen."""
    get_store().answer_staff_call(call_id)   # the blueprint's guard has checked the CSRF token
    flash(t("Marked as helped."), "ok")
    return redirect(url_for(".summary"))


def _header() -> list[str]:
    return [t("Name"), t("Name in kana"), t("Date of birth"), t("Sex"), t("Address"), t("Household"),
            t("Staying"), t("Needs (要配慮)"), t("Contact phone"), t("Damage to the home"),
            t("People in the household"), t("Who may be told where they are"), t("Never disclose")]


def _label(column: str, value):
    """Codes in the language the export was asked in."""
    labels = {"sex": SEX_LABELS, "stay_type": STAY_LABELS, "home_damage": DAMAGE_LABELS, "consent": CONSENT_LABELS}
    if column in labels:
        return str(labels[column].get(value, value or ""))
    if column == "needs":
        return "・".join(str(NEED_LABELS[n]) for n in value)
    if column == "never_disclose":
        return t("NEVER DISCLOSE") if value else ""
    return value


def _exported(store) -> tuple[list, int]:
    """The roster as a CSV or a printed page carries it off the tablet (staff_store.for_export)."""
    return staff_store.for_export(store, staff_store.roster(store, _shelter()), current_user.is_lead)


@bp.get("/roster.csv")
def roster_csv():
    rows, _left_out = _exported(get_store())
    text = staff_store.roster_csv(rows, _header(), _label)
    stamp = times.now().strftime("%Y%m%d-%H%M")
    # A staff member's file says in its name that protected people are not in it (a note row would
    # break the CSV for programs); it says so always, so the name tells nobody whether anyone is protected.
    kept_out = "" if current_user.is_lead else "-without-protected"
    return Response(text.encode("utf-8"), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="roster-{_shelter()}-{stamp}{kept_out}.csv"',
        "Cache-Control": "no-store"})


def _by_household(rows: list) -> list[tuple]:
    """The printed roster's rows with a household number people can read (世帯1, 世帯2…, numbered on
    this page): each household's members together, households in the kana order of their first
    member.  The CSV keeps the household id itself, which other files and HQ can be joined on."""
    groups: dict[object, list] = {}
    for r in rows:   # a person without a household id is a household of one
        groups.setdefault(r.entry.household_id or ("alone", r.key), []).append(r)
    return [(n, r) for n, members in enumerate(groups.values(), start=1) for r in members]


@bp.get("/roster/print")
def roster_print():
    store = get_store()
    rows, left_out = _exported(store)
    return render_template("staff/print.html", rows=_by_household(rows), header=_header(), label=_label,
                           columns=staff_store.CSV_COLUMNS, shelter_name=store.shelter_name(_shelter()),
                           printed_at=times.local(times.now()), is_lead=current_user.is_lead, left_out=left_out)
