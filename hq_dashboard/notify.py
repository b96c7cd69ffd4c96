"""E-mail news for inquirers: "the person you asked about has been found", within what they may be told.

After each kiosk batch (and each release by staff) HQ looks at inquiries that
asked for news and have not had it yet.  An inquiry reviewed by staff gets its
tier, about the record staff released against only; one answered under the
person's consent gets what the consent gives; an unreviewed one, or one about a
protected person, gets nothing at all.  An inquiry staff released with "no
information" gets no news: when a record it matches turns up, it goes back to
staff, who judge the relationship against that record before any tier is told.

SMTP settings come from the app config (EVAC_SMTP_HOST, EVAC_SMTP_PORT,
EVAC_SMTP_FROM, EVAC_SMTP_USER, EVAC_SMTP_PASSWORD, EVAC_SMTP_STARTTLS); with
no host, news by e-mail is off.
"""
from __future__ import annotations

import datetime as dt
import smtplib
import threading
from email.message import EmailMessage

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from evac.disclosure import Answer, answer_for_notice

from . import safety
from .db import db
from .models import Inquiry

_running = threading.Lock()


def enabled(app: Flask) -> bool:
    return bool(app.config.get("SMTP_HOST"))


# evac.events PERSON_STATUSES and evac.disclosure's "not_reported", in the e-mail's two languages (as the page's
# labels in templates/safety/answer.html): a family reads words, never the code.
INJURY_LABELS = {"safe": "なし（無事） / none (safe)", "injured": "けが / injured", "ill": "病気 / ill",
                 "hospitalised": "入院中 / in hospital", "not_reported": "報告なし / not reported"}


# Where a self-report says they are (safety_pages.WHERE_LABELS), in the e-mail's two languages.
SELF_REPORTED_LABELS = {"at_home": "自宅 / at home", "with_relatives": "親族・知人宅 / with relatives or friends",
                        "in_car": "車中 / in a car", "elsewhere": "その他 / elsewhere"}


def _body(row: Inquiry, answer: Answer) -> str:
    lines = [f"焼津市 安否照会 {row.id} / Yaizu City safety inquiry {row.id}", "",
             f"お問い合わせの方（{row.sought_name}）について、市が安否情報を得ました。",
             f"The city now holds safety information about the person you asked about ({row.sought_name}).", ""]
    w = answer.whereabouts
    if w and w.get("self_reported"):
        # Anyone may send the public self-report page: said as a report, never as the person's own word.
        lines.append("居場所（市の自己申告ページでの報告・未確認） / Whereabouts, reported on the city's self-report "
                     "page (not confirmed): " + SELF_REPORTED_LABELS.get(w.get("state"), SELF_REPORTED_LABELS["elsewhere"]))
    elif w:
        place = w.get("shelter_name") or w.get("shelter_id") or ""
        lines.append({"in_shelter": f"居場所 / Whereabouts: 避難所 {place} / at the shelter {place}",
                      "at_home": f"居場所 / Whereabouts: 在宅避難（{place}に登録） / at home, registered with {place}",
                      "in_car": f"居場所 / Whereabouts: 車中避難（{place}付近） / in a car near {place}"}
                     .get(w.get("state"), "居場所 / Whereabouts: 避難所を離れました / has left the shelter"))
    if answer.injury_or_illness:
        lines.append("負傷・疾病 / Injury or illness: "
                     + INJURY_LABELS.get(answer.injury_or_illness, INJURY_LABELS["not_reported"]))
    if answer.contact:
        lines.append(f"連絡先 / Contact: {answer.contact}")
    lines += ["", "照会番号と確認キーで最新の回答を確認できます。 / Check the latest answer with your reference and key."]
    return "\n".join(lines)


def _send(app: Flask, to: str, subject: str, body: str) -> None:
    msg = EmailMessage()
    msg["From"] = app.config.get("SMTP_FROM", "anpi@city.yaizu.example")
    msg["To"] = to
    msg["Subject"] = subject
    msg.set_content(body)
    with smtplib.SMTP(app.config["SMTP_HOST"], int(app.config.get("SMTP_PORT", 25)), timeout=20) as smtp:
        if app.config.get("SMTP_STARTTLS"):
            smtp.starttls()
        if app.config.get("SMTP_USER"):
            smtp.login(app.config["SMTP_USER"], app.config.get("SMTP_PASSWORD", ""))
        smtp.send_message(msg)


def send_due(app: Flask, session: Session) -> int:
    """Send the news that is due; returns how many e-mails went out."""
    if not enabled(app):
        return 0
    sent = 0
    waiting = session.execute(select(Inquiry).where(
        Inquiry.notify_email != "", Inquiry.notified_at.is_(None),
        Inquiry.status.in_(("answered", "released")))).scalars().all()
    for row in waiting:
        if safety.released_against_nobody(row):
            # Staff released "no information": they judged the relationship against no record.  A record found
            # since goes back to them, not into an e-mail (never-disclose: a protected record matches nobody).
            inquiry = safety.inquiry_of(row)
            if safety.matching_person(session, inquiry) is not None or safety.several_matching(session, inquiry):
                safety.back_to_review(session, row)
            continue
        answer = answer_for_notice(row.status, *safety.inquiry_and_person(session, row))
        if answer is None:
            continue
        try:
            _send(app, row.notify_email, f"安否情報 / Safety information ({row.id})", _body(row, answer))
        except (OSError, smtplib.SMTPException) as exc:
            app.logger.warning("news for inquiry %s not sent yet: %s", row.id, exc)
            continue   # tried again after the next batch
        row.notified_at = dt.datetime.now(dt.timezone.utc)
        safety.audit(session, row.id, "system", "notified", shown=sorted(answer.shown))
        session.commit()
        sent += 1
    return sent


def after_change(app: Flask) -> None:
    """Called after a kiosk batch or a release; sends in the background so kiosks never wait on mail."""
    if not enabled(app):
        return

    def run() -> None:
        if not _running.acquire(blocking=False):
            return   # a run is going on; it will see this change or the next batch will
        try:
            with app.app_context():
                send_due(app, db.session)
        finally:
            _running.release()
    if app.config.get("NOTIFY_INLINE"):
        run()
    else:
        threading.Thread(target=run, daemon=True, name="inquiry-news").start()
