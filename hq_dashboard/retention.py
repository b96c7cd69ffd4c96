"""Forgetting personal data HQ no longer needs: closed safety inquiries, spent pre-registrations.

An inquiry keeps who asked (name, address, phone, e-mail, network address), about whom, why, and staff's
notes on how they confirmed the inquirer: needed while families ask and staff check, and for questions
afterwards.  Kept for good it is a list of who looked for whom.  What stays is what the audit needs to
show the answers were lawful: the reference, when, the relationship, what was shown, who decided and when.
An inquiry still waiting for staff is never touched.
"""
from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import AuditEntry, Inquiry, PreregHousehold

CLOSED = ("answered", "released", "rejected")
# What an audit entry keeps of its detail: no person's data, no free text staff wrote.
KEPT_DETAIL = ("relationship", "shown", "flagged", "family_code_given", "kept_no_information", "none_of_these", "role")
FORGOTTEN = "（消去済み / erased）"


def forget_before(session: Session, before: dt.datetime) -> tuple[int, int]:
    """Erase the personal data of inquiries closed and made before `before`: (erased now, still waiting
    for staff among those made before it).  Already erased ones are not counted again."""
    # In UTC: SQLite keeps the times as UTC text without their zone, and compared a JST time as if UTC
    # (--before a day erased that day's first nine hours in Japan).
    before = before.astimezone(dt.timezone.utc)
    rows = session.execute(select(Inquiry).where(Inquiry.created_at < before)).scalars().all()
    waiting = sum(1 for r in rows if r.status not in CLOSED)
    erased = 0
    on = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d")
    for row in rows:
        if row.status not in CLOSED or row.inquirer_name == FORGOTTEN:
            continue
        told = json.loads(row.answer)
        # What they were told about the person goes; whether anything was, the audit keeps.
        row.answer = json.dumps({"information_exists": told.get("information_exists"), "whereabouts": None,
                                 "injury_or_illness": None, "contact": None, "pending_review": False})
        row.inquirer_name = row.sought_name = FORGOTTEN
        row.inquirer_address = row.inquirer_contact = row.reason = row.client = ""
        row.sought_birth_date = row.sought_address = row.sought_sex = row.notify_email = row.review_note = ""
        row.person_id = None
        for entry in session.execute(select(AuditEntry).where(AuditEntry.inquiry_id == row.id)).scalars():
            detail = json.loads(entry.detail or "{}")
            entry.detail = json.dumps({**{k: v for k, v in detail.items() if k in KEPT_DETAIL}, "erased_on": on},
                                      ensure_ascii=False, sort_keys=True)
        erased += 1
    session.commit()
    return erased, waiting


def forget_spent_preregistrations(session: Session, now: dt.datetime | None = None) -> int:
    """Erase what a household registered (names, birth dates, address, needs, phone, family code) once its
    QR is spent: past its expiry, or cancelled.  HQ never reads it again (kiosks check the QR itself);
    the id and dates stay, for the kiosks' list of cancelled QRs.  Returns how many were erased now."""
    now = now or dt.datetime.now(dt.timezone.utc)
    spent = session.execute(select(PreregHousehold).where(
        (PreregHousehold.expires_at < now) | PreregHousehold.revoked_at.is_not(None),
        PreregHousehold.payload != ERASED_PAYLOAD)).scalars().all()
    for row in spent:
        row.payload = ERASED_PAYLOAD
    session.commit()
    return len(spent)


ERASED_PAYLOAD = "{}"
