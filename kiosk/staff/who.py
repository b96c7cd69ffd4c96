"""Who did what on this kiosk: each record with the staff member it was written for (KioskStore's
event_staff, kiosk-local), for the shelter lead's accountability page and a person's own page.

Records the evacuee screen wrote (an IC tap, a QR, a card) were written for nobody: "kiosk screen".
Records from before this kiosk recorded who say so rather than guess."""
from __future__ import annotations

from flask import Blueprint, render_template, request, url_for

from evac.identity import person_key

from .. import staff_store
from ..db import get_store
from ..store import CLI, Attributed
from .auth import guard, lead_required
from .i18n import CONSENT_LABELS, NEED_LABELS, PERSON_STATUS_LABELS, SHELTER_STATUS_LABELS, STAY_LABELS, gettext as t
from .shelter import record

bp = Blueprint("staff_who", __name__, url_prefix="/staff")
guard(bp)

PAGE = 50          # records a page: a kiosk holds tens of thousands
PERSON_HISTORY = 20  # the newest records about someone, on their page


def written_by(rec: Attributed) -> str:
    """Who wrote the record, in the tablet's words."""
    if rec.staff is not None:
        if rec.via == CLI:
            return t("Command line: %(name)s", name=rec.staff) if rec.staff else t("Command line")
        return rec.staff
    if rec.recorded:
        return t("Kiosk screen (self-service)")
    return t("Not recorded (written before this kiosk recorded who)")


def _detail(event: dict) -> str:
    """What the record says, briefly: where to, which status, never-disclose on or off."""
    data = event.get("data") if isinstance(event.get("data"), dict) else {}
    kind = event.get("type")
    if kind in ("checkin", "stay_type") and data.get("stay_type") in STAY_LABELS:
        return str(STAY_LABELS[data["stay_type"]])
    if kind == "transfer":
        to = str(data.get("to_shelter_id", ""))
        return "→ " + (get_store().shelter_name(to) or to)
    if kind == "needs":
        return "・".join(str(NEED_LABELS.get(n, n)) for n in data.get("needs", [])) or t("No needs")
    if kind == "consent":
        words = str(CONSENT_LABELS.get(data.get("consent"), data.get("consent", "")))
        return words + (" / " + t("NEVER DISCLOSE") if data.get("never_disclose") else "")
    if kind == "status" and data.get("status") in PERSON_STATUS_LABELS:
        return " — ".join(filter(None, (str(PERSON_STATUS_LABELS[data["status"]]), str(data.get("note") or ""))))
    if kind == "shelter_status" and data.get("status") in SHELTER_STATUS_LABELS:
        return str(SHELTER_STATUS_LABELS[data["status"]])
    if kind == "correction" and isinstance(data.get("person"), dict):
        return "→ " + str(data["person"].get("name", "")) + " " + str(data["person"].get("birth_date", ""))
    return ""


def _person_link(event: dict) -> str | None:
    """The person's page (their page follows a corrected identity from the key it had then)."""
    p = event.get("person")
    if not isinstance(p, dict):
        return None
    try:
        return url_for("staff_roster.person", key=person_key(p["name"], p["birth_date"], p.get("address") or ""))
    except (KeyError, TypeError, ValueError):
        return None


def described(rec: Attributed) -> dict:
    """A record as a row of the tablet's tables."""
    said = record(rec.event)
    detail = _detail(rec.event)
    if rec.withdrawn_by is not None:   # kept here, HQ never had it: who took it back counts too
        detail = " ".join(filter(None, (detail, t("(withdrawn by %(name)s: HQ does not have it)",
                                                  name=rec.withdrawn_by))))
    return {"seq": rec.seq, "when": said["when"], "what": said["what"], "detail": detail,
            "person": said["who"], "link": _person_link(rec.event), "by": written_by(rec),
            "self_service": rec.self_service}


def person_history(key: str) -> list[dict]:
    return [described(r) for r in get_store().person_records(key, PERSON_HISTORY)]


def _before() -> int | None:
    try:
        before = int(request.args.get("before", ""))
    except ValueError:
        return None
    return before if 0 < before < 1 << 62 else None   # beyond: no record's number, and SQLite's integers end


@bp.get("/who")
@lead_required(message=lambda: t("Only the shelter lead can see who did what. Ask the shelter lead on duty."))
def who():
    """Newest first; ?staff=NAME for one staff member, ?by=screen for the evacuee screen's own records,
    ?before=SEQ for older ones."""
    store = get_store()
    staff = request.args.get("staff", "").strip()[:100] or None
    screen = request.args.get("by") == "screen"
    records = store.staff_records(None if screen else staff, self_service=screen, before=_before(), limit=PAGE)
    # Whoever wrote records here or may log in (a name asked for in the address stays chosen too).
    names = sorted((set(store.recorded_staff()) | {a.name for a in staff_store.accounts(store)}
                    | ({staff} if staff and not screen else set())) - {""})
    older = None
    if len(records) == PAGE:
        args = {"by": "screen"} if screen else ({"staff": staff} if staff else {})
        older = url_for(".who", before=records[-1].seq, **args)
    return render_template("staff/who.html", rows=[described(r) for r in records], names=names,
                           staff=None if screen else staff, screen=screen, older=older, paged=_before() is not None,
                           recorded_from=store.staff_recorded_from())
