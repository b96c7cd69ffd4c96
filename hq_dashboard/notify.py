"""E-mail news for inquirers: "the person you asked about has been found", within what they may be told.

After each kiosk batch (and each release by staff) HQ looks at inquiries that
asked for news and have not had it yet.  An inquiry reviewed by staff gets its
tier, about the record staff released against only; one answered under the
person's consent gets what the consent gives; an unreviewed one, or one about a
protected person, gets nothing at all.  An inquiry staff released with "no
information" gets no news: when a record it matches turns up, it goes back to
staff (after_records, e-mail or not), who judge the relationship against that
record before any tier is told.

Each e-mail speaks the language the inquirer used on the page (inquiries.language), then Japanese,
with the answer page's own catalog words (mail_languages).

SMTP settings come from the app config (EVAC_SMTP_HOST, EVAC_SMTP_PORT,
EVAC_SMTP_FROM, EVAC_SMTP_USER, EVAC_SMTP_PASSWORD, EVAC_SMTP_STARTTLS); with
no host, news by e-mail is off.
"""
from __future__ import annotations

import datetime as dt
import smtplib
import threading
from collections.abc import Iterable
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

from flask import Flask, current_app
from flask_babel import force_locale, gettext as _, lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from evac.disclosure import Answer, answer_for_notice

from . import safety
from .db import db
from .i18n import LANGUAGES
from .models import Inquiry

_running = threading.Lock()


def enabled(app: Flask) -> bool:
    return bool(app.config.get("SMTP_HOST"))


# evac.events PERSON_STATUSES and evac.disclosure's "not_reported": the answer page's own words
# (templates/safety/answer.html), so the e-mail says what the page says, in words, never the code.
INJURY_LABELS = {"safe": _l("None (safe)"), "injured": _l("Injured"), "ill": _l("Ill"),
                 "hospitalised": _l("In hospital"), "not_reported": _l("Not reported")}


def mail_languages(language: str | None) -> list[str]:
    """The languages of an inquirer's e-mail (codes of i18n.LANGUAGES), the one they read first.

    Their page's language, then Japanese: a city e-mail in Japan is read by staff and by Japanese relatives
    too.  A Japanese (or easy-Japanese) inquirer gets English as the second, as every inquiry made before the
    language was kept (or by the JSON API, which has none) does after Japanese."""
    if language == "easy":
        return ["easy", "en"]
    if language in (None, "", "ja") or language not in LANGUAGES:
        return ["ja", "en"]
    return [language, "ja"]


def _said(label: str, value: str) -> str:
    # Japanese labels end in a full-width colon, which needs no space after it.
    return label + ("" if label.endswith("：") else " ") + value


def _lines(row: Inquiry, answer: Answer) -> list[str]:
    """The news in the current locale (force_locale), with the answer page's words."""
    from .safety_pages import WHERE_LABELS   # not at import: safety_pages' blueprint imports much of HQ
    lines = [_("Yaizu City safety inquiry %(reference)s", reference=row.id), "",
             _("The city now holds safety information about the person you asked about (%(name)s).",
               name=row.sought_name), ""]
    w = answer.whereabouts
    if w and w.get("self_reported"):
        # Anyone may send the public self-report page: said as a report, never as the person's own word.
        where = str(WHERE_LABELS.get(w.get("state"), WHERE_LABELS["elsewhere"]))
        lines.append(_said(_("Whereabouts:"), _said(_("reported on the city's self-report page (not confirmed):"),
                                                     where)))
    elif w:
        place = w.get("shelter_name") or w.get("shelter_id") or ""
        state = w.get("state")
        where = (_("in the shelter %(shelter)s", shelter=place) if state == "in_shelter"
                 else _("at home (registered with %(shelter)s)", shelter=place) if state == "at_home"
                 else _("in a car near %(shelter)s", shelter=place) if state == "in_car"
                 else _("in hospital (registered with %(shelter)s)", shelter=place) if state == "in_hospital"
                 else _("registered with %(shelter)s", shelter=place) if state == "registered"
                 else _("has left the shelter"))
        lines.append(_said(_("Whereabouts:"), where))
    if answer.injury_or_illness:
        lines.append(_said(_("Injury or illness:"),
                           str(INJURY_LABELS.get(answer.injury_or_illness, INJURY_LABELS["not_reported"]))))
    if answer.contact:
        lines.append(_said(_("Contact:"), answer.contact))
    lines += ["", _said(_("Reference:"), row.id),
              _("Check the latest answer on the city's safety inquiry page with your reference and key.")]
    if current_app.config.get("PUBLIC_URL"):   # the page only: the key stays with the family, never in a mail
        lines.append(f"{current_app.config['PUBLIC_URL']}/safety/check")
    return lines


def _in_each(row: Inquiry, say) -> list:
    out = []
    for code in mail_languages(getattr(row, "language", "")):
        with force_locale(LANGUAGES[code][1]):
            out.append(say())
    return out


def _subject(row: Inquiry) -> str:
    return " / ".join(_in_each(row, lambda: f"{_('Safety information')} ({row.id})"))


def _body(row: Inquiry, answer: Answer) -> str:
    """The whole news once in each of the inquirer's languages, theirs first (mail_languages)."""
    return "\n\n----------\n\n".join("\n".join(lines) for lines in _in_each(row, lambda: _lines(row, answer)))


def _send(app: Flask, to: str, subject: str, body: str) -> None:
    msg = EmailMessage()
    sender = app.config.get("SMTP_FROM", "anpi@city.yaizu.example")
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    # RFC 5322 requires Date; large mail providers file mail without a Message-ID as spam.  The ID names the
    # city's own domain (from the From address), never this machine's host name.
    msg["Date"] = formatdate(localtime=True)   # the server's zone offset ("-0000" would say none is known)
    domain = parseaddr(sender)[1].rpartition("@")[2]
    msg["Message-ID"] = make_msgid(domain=domain or None)
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
            # since sends it back to them (after_records), never into an e-mail.
            continue
        answer = answer_for_notice(row.status, *safety.inquiry_and_person(session, row))
        if answer is None:
            continue
        try:
            _send(app, row.notify_email, _subject(row), _body(row, answer))
        except (OSError, smtplib.SMTPException) as exc:
            app.logger.warning("news for inquiry %s not sent yet: %s", row.id, exc)
            continue   # tried again after the next batch
        row.notified_at = dt.datetime.now(dt.timezone.utc)
        safety.audit(session, row.id, "system", "notified", shown=sorted(answer.shown))
        session.commit()
        sent += 1
    return sent


def after_records(app: Flask, birth_dates: Iterable[str] | None = None) -> None:
    """Called after new records reach HQ (a kiosk batch: the birth dates of its people; a carried file: None):
    inquiries released with "no information" that a record now names go back to staff (safety.put_back_found),
    e-mail or not, in the app's put-back worker, so the kiosk's sync never waits on it nor fails with it (its
    batch is HQ's already); then the news that is due goes out (after_change)."""
    put_back_worker(app).ask(birth_dates)
    after_change(app)


def drain(app: Flask) -> bool:
    """Wait until every put-back asked of this app so far is done (True), or has failed and waits to be tried
    again (False; the log says why): for tests, and a command that ends after it."""
    return put_back_worker(app).drain()


_workers = threading.Lock()


def put_back_worker(app: Flask) -> PutBackWorker:
    with _workers:
        worker = app.extensions.get("put_back")
        if worker is None:
            worker = app.extensions["put_back"] = PutBackWorker(app)
        return worker


class PutBackWorker:
    """One thread per HQ app puts inquiries back to staff after records arrive, one pass at a time.  Birth
    dates asked while a pass runs are gathered into the next one (a crowd of kiosks syncing at once makes few
    passes, not one each).  A pass that fails is logged and its birth dates are kept for the next: tried again
    at once when a new batch asks, else after a pause, a few times.  A process's first pass looks at every
    inquiry: what a process that stopped (or lost its queue) left undone is done then.  Exactly once per
    inquiry however many passes run at the same moment, here or in another HQ process (safety.back_to_review).
    The thread ends when nothing is left to do; the next batch starts another."""

    RETRY_PAUSES_S = (1, 5, 30, 120)

    def __init__(self, app: Flask):
        self.app = app
        self._cond = threading.Condition()
        self._dates: set[str] = set()
        self._everything = True
        self._running = False       # a thread is at work (or pausing before a retry)
        self._pausing = False       # after a failed pass
        self._asked = self._done = 0     # passes asked for, and those whose asks were all done
        self._failures = 0

    def ask(self, birth_dates: Iterable[str] | None) -> None:
        with self._cond:
            if birth_dates is None:
                self._everything = True
            else:
                self._dates.update(d for d in birth_dates if isinstance(d, str))
            self._asked += 1
            self._failures, self._pausing = 0, False    # a new batch: try again now
            if not self._running:
                self._running = True
                threading.Thread(target=self._run, daemon=True, name="inquiry-put-back").start()
            self._cond.notify_all()

    def drain(self) -> bool:
        with self._cond:
            wanted = self._asked
            self._cond.wait_for(lambda: self._done >= wanted or self._pausing or not self._running)
            return self._done >= wanted

    def _run(self) -> None:
        while True:
            with self._cond:
                if not (self._everything or self._dates):
                    self._done = self._asked
                    self._running = False
                    self._cond.notify_all()
                    return
                everything, dates, asked = self._everything, self._dates, self._asked
                self._everything, self._dates = False, set()
            try:
                with self.app.app_context():
                    try:
                        safety.put_back_found(db.session, None if everything else dates)
                    finally:
                        db.session.rollback()
            except Exception:   # a bug or a database gone: the kiosks' batches are HQ's already
                self.app.logger.exception("inquiries that new records name were not all put back to staff; "
                                          "tried again after a pause or with the next batch")
                with self._cond:
                    self._everything |= everything
                    self._dates |= dates
                    if self._failures >= len(self.RETRY_PAUSES_S):
                        self._running = False   # the next batch tries again, these dates with it
                        self._cond.notify_all()
                        return
                    pause = self.RETRY_PAUSES_S[self._failures]
                    self._failures += 1
                    failures = self._failures
                    self._pausing = True
                    self._cond.notify_all()
                    # A new batch (ask) sets _failures back to 0: try again at once then.
                    self._cond.wait_for(lambda f=failures: self._failures != f, pause)
                    self._pausing = False
                continue
            with self._cond:
                self._done = max(self._done, asked)
                self._cond.notify_all()


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
