"""Self-reports: people safe outside the shelters (at home, with relatives, in a car) say so from a phone.

A self-report becomes events in HQ's own stream (device `hq-self-report`),
merged exactly like a kiosk's: the same identity rules make it the same
person a kiosk may later check in, the same fold decides where they are, and
the same counters count them.  Its consent choices are a consent event.
"""
from __future__ import annotations

from flask import current_app
from sqlalchemy import text

from evac.events import CONSENT, SELF_REPORT, Event, InvalidEvent, parse_event, parse_person

from .db import db, one_writer, param_mark
from .merge import AT_HQ, SELF_REPORT_DEVICE, apply_events, lock_merge

DEVICE = SELF_REPORT_DEVICE
WHERE_SHELTER = AT_HQ   # the shelter field of a self-report: it was made at HQ


class SelfReportError(ValueError):
    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


# The person's fields are checked one at a time, each beside a stand-in that passes, so every wrong field is
# said at once (parse_person stops at the first): a family fixing the form on a phone fixes it in one go.
_STAND_IN = {"name": "焼津 太郎", "name_kana": "", "birth_date": "2000-01-01", "sex": "female", "address": ""}


def _person_errors(form: dict) -> dict[str, str]:
    errors: dict[str, str] = {}
    for field in _STAND_IN:
        value = form.get(field)
        if field == "birth_date" and not (value or "").strip():
            errors[field] = "birth date is missing"
            continue
        try:
            parse_person({**_STAND_IN, field: value})
        except InvalidEvent as exc:
            errors[field] = str(exc)
    return errors


def _events(form: dict) -> list[dict]:
    errors = _person_errors(form)
    person = None
    if not errors:
        try:
            person = parse_person({field: form.get(field) for field in _STAND_IN})
        except InvalidEvent as exc:   # each field passed alone: what is left concerns the form as a whole
            errors["form"] = str(exc)
    # Where they are and the consent are checked even when the person's fields are wrong (with the stand-in).
    wire = (person or parse_person(_STAND_IN)).to_wire()
    drafts = [{"type": SELF_REPORT, "person": wire,
               "data": {"where": form.get("where"), "note": form.get("note", "")}}]
    consent = form.get("consent") or "none"
    if consent == "family" and not (form.get("family_code") or "").strip():
        errors["consent"] = "consent for the family needs a family code, the one your family will give"
    drafts.append({"type": CONSENT, "person": wire,
                   "data": {"consent": consent, "family_code": form.get("family_code", "")}})
    # Each draft is checked exactly as a kiosk's event would be, before anything is written.
    for draft in drafts:
        try:
            parse_event({**draft, "kiosk_id": DEVICE, "seq": 1, "hlc": 1, "shelter_id": WHERE_SHELTER})
        except InvalidEvent as exc:
            errors["where" if draft["type"] == SELF_REPORT else "consent"] = str(exc)
    if errors:
        raise SelfReportError(errors)
    return drafts


def _catch_up(conn, hlc) -> None:
    """HQ's clock starts from nothing in each process (a restart, a second worker): dating a report
    before the one it follows (taken from a kiosk's clock a little ahead) would let the older word win.
    Its own stream's last stamp is always taken; what kiosks sent, once per process, within the guard."""
    mark = param_mark(conn)
    own = conn.exec_driver_sql(f"SELECT hlc FROM events WHERE device_id = {mark} ORDER BY seq DESC LIMIT 1",
                               (DEVICE,)).scalar()
    if not hlc.last:
        heard = conn.exec_driver_sql("SELECT max(hlc) FROM events").scalar()
        if heard:
            hlc.receive(heard)
    if own:
        hlc.adopt(own)


def record(form: dict) -> list[Event]:
    """Validate and merge a self-report in one transaction.  Raises SelfReportError, writing nothing."""
    drafts = _events(form)
    hlc = current_app.extensions["hlc"]
    db.session.rollback()
    with one_writer(db.engine), db.engine.begin() as conn:
        lock_merge(conn)
        mark = param_mark(conn)
        n = len(drafts)
        # Numbering HQ's own stream is the first write, which takes SQLite's write lock.
        bump = ("CAST(CAST(hq_meta.value AS INTEGER) + excluded.value AS TEXT)" if conn.dialect.name == "sqlite"
                else "(hq_meta.value::bigint + excluded.value::bigint)::text")
        conn.exec_driver_sql(f"INSERT INTO hq_meta (name, value) VALUES ('self_report_seq', {mark})"
                             f" ON CONFLICT (name) DO UPDATE SET value = {bump}", (str(n),))
        last = int(conn.execute(text("SELECT value FROM hq_meta WHERE name = 'self_report_seq'")).scalar())
        first = last - n + 1
        _catch_up(conn, hlc)
        events = [parse_event({**d, "kiosk_id": DEVICE, "seq": first + i, "hlc": hlc.tick(),
                               "shelter_id": WHERE_SHELTER}) for i, d in enumerate(drafts)]
        apply_events(conn, events)
    return events
