"""The public safety-inquiry page (phone-sized) and the page to check an answer again.

The public pages speak the kiosk's seven languages (hq_dashboard.i18n); the
validators' English errors are said per field in the person's language (form_errors).
"""
from __future__ import annotations

import datetime as dt
import time

from flask import Blueprint, current_app, has_request_context, redirect, render_template, request, url_for
from flask_babel import force_locale, lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import event
from wtforms import RadioField, StringField

from evac.disclosure import InvalidInquiry, parse_inquiry
from evac.events import FAMILY_CODE_LEN

from . import form_errors, notify, safety, self_report
from .dashboard import jst
from .db import db
from .i18n import LANGUAGES, current_language
from .limits import client_network, limiter
from .models import Inquiry
from .safety_api import (
    client_and, may_try_family_code, per_client_and_person, person_sought_key, received, refused_as_waiting,
    settle_family_code, waiting_cap,
)

bp = Blueprint("safety_pages", __name__, url_prefix="/safety")

RELATIONSHIP_LABELS = {
    "household_family": _l("Family living with them (including a de facto spouse)"),
    "relative": _l("Other relative"),
    "workplace": _l("Workplace"),
    "other": _l("Acquaintance or other"),
}
# Where a self-reporting person is (evac.events SELF_REPORT "where").
WHERE_LABELS = {
    "at_home": _l("At home"),
    "with_relatives": _l("With relatives or friends"),
    "in_car": _l("In a car"),
    "elsewhere": _l("Elsewhere"),
}
# safety.MESSAGES (English, for the JSON API) on the page, by the inquiry's status.
STATUS_MESSAGES = {
    "answered": _l("This is what the person agreed may be told."),
    "pending_review": _l("Your inquiry has been received. City staff will confirm who you are (for example by "
                         "calling you back) before answering; check again later with your reference and key."),
    "released": _l("City staff confirmed your inquiry; this is what may be told to you."),
    "rejected": _l("City staff could not confirm your inquiry, so nothing more can be told. Please contact "
                   "the city's safety-information desk."),
}


@bp.app_template_global("review_matches")
def review_matches(row) -> list[dict]:
    """For the staff queue (safety/queue.html): the records a waiting inquiry matches when there are several."""
    return safety.for_review(db.session, row)


def _record_id(value) -> int | None:
    # Nothing chosen is None (safety.release asks for a choice); anything but a number is a form error.
    return None if value in (None, "") else int(value)


class ReviewForm(FlaskForm):
    """Staff's decision on a waiting inquiry (staff.decide): how the inquirer was confirmed and, when the
    inquiry matches several records, which one it is about.  The choice is checked by safety.release
    against the records the inquiry matches at that moment, not against the page that was shown."""
    how = StringField()   # a key of safety.CONFIRMED_BY (checked by safety.how_confirmed)
    note = StringField()
    record = RadioField(coerce=_record_id, validate_choice=False)


# safety.ReviewError codes, said in the staff's language (the rest stay the review's own words).
REVIEW_MESSAGES = {
    "confirm_how": _l("Choose how the inquirer was confirmed (ID at the counter, a call back, …); nothing was "
                      "released."),
    "confirm_other": _l("Write how the inquirer was confirmed (ID at the counter, a call back, …); nothing was "
                        "released."),
    "refuse_why": _l("Write why the inquiry is refused; nothing was changed."),
    "not_waiting": _l("This inquiry is no longer waiting for review (another staff member may have decided it "
                      "already); nothing was changed. A lead can see its decision in the audit log."),
    "choose_record": _l("Several records match this inquiry, or records close to it, so nothing was released. Ask "
                        "the inquirer for the address or other details, then choose the record they mean below, or "
                        "\"None of these\", and release again."),
    "stale_choice": _l("The record you chose is not one of the records this inquiry matches now (the records "
                       "may have changed since this page was shown), so nothing was released. Check the inquiry "
                       "below again before releasing."),
    "individual_number": _l("The note seems to hold an Individual Number (My Number), which may not be written "
                            "down (番号法 §20), so nothing was saved. Write how the inquirer was confirmed "
                            "without the number (for example: My Number card seen at the counter)."),
}


# safety.TooManyWaiting, on the page in the person's language (safety_api.TOO_MANY_WAITING for the JSON API).
# Counted per connection (client network), so a family behind a shelter's Wi-Fi may be told of others' inquiries.
TOO_MANY_WAITING = _l("Many inquiries sent from this connection are still waiting for city staff to confirm them, "
                      "so this one was not received. (A connection can be shared, like a shelter's or a shop's "
                      "Wi-Fi: they may not be yours.) Please wait until staff have answered them, or contact the "
                      "city's safety-information desk.")


# The rate limits (Flask-Limiter) on the form, said with what still stands and how long to wait.
TOO_MANY_FOR_PERSON = _l("You have asked about this person many times in a short time, so this inquiry was not "
                         "sent. Your earlier inquiries about them were received and still stand: city staff will "
                         "answer them, and you can check an answer with the reference and key shown when you "
                         "sent it.")
TOO_MANY_FROM_NETWORK = _l("Many inquiries came from your network in a short time (a shared Wi-Fi, for example), so "
                           "this inquiry was not sent. Inquiries that were given a reference and key before still "
                           "stand: you can check their answers with them.")
SEND_AGAIN_IN = _l("You can send it again in about %(minutes)s min.")


def too_many_page(exc):
    """The form's answer to a rate limit (limits.too_many_requests): the form again, with what she typed,
    saying that her earlier inquiries stand and roughly how long until this one may be sent."""
    per_person = getattr(exc.limit, "scope", "") == "safety-inquiry-client-person"
    said = [str(TOO_MANY_FOR_PERSON if per_person else TOO_MANY_FROM_NETWORK)]
    breached = limiter.current_limit
    if breached is not None:
        said.append(str(SEND_AGAIN_IN) % {"minutes": max(1, round((breached.reset_at - time.time()) / 60))})
    # The limit comes before the form is checked: an Individual Number in it is not sent back either.
    numbers = _individual_numbers(request.form)
    return inquiry_page(form_errors.cleared(request.form, numbers),
                        {**form_errors.translate_all(numbers), "form": " ".join(said)}, earlier=True)


def review_error(exc: safety.ReviewError) -> str:
    """In the staff member's language, then Japanese and English as the rest of the staff queue says
    everything (safety/queue.html): a volunteer reading Portuguese and the lead beside them both read it."""
    message = REVIEW_MESSAGES.get(exc.code)
    if message is None:
        return str(exc)
    locales = dict.fromkeys([LANGUAGES[current_language()][1], "ja", "en"])
    said = []
    for locale in locales:
        with force_locale(locale):
            said.append(str(message))
    return " / ".join(said)


def _answer_page(answer: dict, key: str | None):
    return render_template("safety/answer.html", answer=answer, key=key, where_labels=WHERE_LABELS,
                           status_message=STATUS_MESSAGES.get(answer.get("status"), answer.get("message")))


def _inquiry_from_form(form) -> dict:
    return {
        "inquirer": {"name": form.get("inquirer_name", ""), "address": form.get("inquirer_address", ""),
                     "contact": form.get("inquirer_contact", "")},
        "relationship": form.get("relationship", ""), "reason": form.get("reason", ""),
        "sought": {"name": form.get("sought_name", ""), "birth_date": form.get("sought_birth_date", ""),
                   "address": form.get("sought_address", ""), "sex": form.get("sought_sex", "")},
        "family_code": form.get("family_code", ""),
        # Offered only when HQ sends e-mail (templates/safety/inquiry.html): one posted anyway is no error
        # beside a field the page does not show, and no address kept for news that cannot be sent.
        "notify_email": form.get("notify_email", "") if notify.enabled(current_app) else "",
    }


def _individual_numbers(form) -> dict[str, str]:
    """The validator's errors of the fields that hold an Individual Number (番号法 §20), for a form not checked."""
    try:
        parse_inquiry(_inquiry_from_form(form))
    except InvalidInquiry as exc:
        return {key: message for key, message in exc.errors.items() if form_errors.is_individual_number(message)}
    return {}


def _form_person_key() -> str:
    return person_sought_key(request.form.get("sought_name", ""), request.form.get("sought_birth_date", ""))


def inquiry_page(form, errors: dict, earlier: bool = False):
    """`earlier`: the inquiry was refused for the ones before it: a link to check their answers."""
    return render_template("safety/inquiry.html", form=form, errors=errors, relationships=RELATIONSHIP_LABELS,
                           earlier=earlier)


def self_report_page(form, errors: dict):
    return render_template("safety/self_report.html", form=form, errors=errors, where_labels=WHERE_LABELS,
                           family_code_len=FAMILY_CODE_LEN)


@event.listens_for(Inquiry, "before_insert")
def _page_language(_mapper, _connection, row: Inquiry) -> None:
    """An inquiry sent from the page keeps the page's language, for its e-mail news (notify.mail_languages).
    Set as safety.receive_inquiry writes the row, in its transaction: a second write after it could be
    overtaken by news sent in between, in languages she may not read."""
    if has_request_context() and request.endpoint == "safety_pages.submit" and not row.language:
        row.language = current_language()


@bp.get("/")
def form():
    return inquiry_page({}, {})


@bp.post("/")
# The same counters as the JSON API's (safety_api): asking by the form and by JSON is one budget.
@limiter.shared_limit(lambda: current_app.config["SAFETY_RATE_PER_CLIENT"], scope="safety-inquiry-client")
@limiter.shared_limit(per_client_and_person, scope="safety-inquiry-client-person",
                      key_func=lambda: client_and(_form_person_key()), deduct_when=received)
def submit():
    try:
        got = safety.receive_inquiry(db.session, _inquiry_from_form(request.form), request.remote_addr or "",
                                     may_try_family_code, waiting_cap(), client_network())
    except safety.InvalidInquiry as exc:
        shown = form_errors.cleared(request.form, exc.errors)
        return inquiry_page(shown, form_errors.translate_all(exc.errors)), 422
    except safety.TooManyWaiting as exc:
        refused_as_waiting(exc)
        # Said at the top of the form, with what they typed kept for when staff have caught up.
        return inquiry_page(request.form, {"form": str(TOO_MANY_WAITING)}, earlier=True), 429
    settle_family_code(got)
    # To the inquiry's own answer page (POST-redirect-GET): a reload, or "back" to it later, shows the
    # answer again instead of sending a new inquiry (a new reference, the family's hourly budget, one more
    # in staff's queue).  The key rides in the address as when she checks it herself; HQ's pages send no
    # Referer to other sites (Referrer-Policy: same-origin, hq_dashboard._security_headers).
    return redirect(url_for("safety_pages.check", id=got.answer["inquiry_id"], key=got.access_key), 303)


@bp.get("/self-report")
def self_report_form():
    return self_report_page({}, {})


@bp.post("/self-report")
@limiter.limit(lambda: current_app.config["SAFETY_RATE_PER_CLIENT"])
def self_report_submit():
    try:
        events = self_report.record(request.form)
    except self_report.SelfReportError as exc:
        # The consent's only typed field is the family code.
        shown = form_errors.cleared(request.form, exc.errors, {"consent": "family_code"})
        return self_report_page(shown, form_errors.translate_all(exc.errors)), 422
    return render_template("safety/self_report_done.html", name=events[0].person.name,
                           at=jst(dt.datetime.now(dt.timezone.utc), "%Y-%m-%d %H:%M")), 201


@bp.get("/check")
@limiter.limit(lambda: current_app.config["SAFETY_RATE_PER_CLIENT"])
def check():
    # A space or line break copied along with the reference or key is no part of them.
    inquiry_id, key = request.args.get("id", "").strip().upper(), request.args.get("key", "").strip()
    if not inquiry_id:
        return render_template("safety/check.html")
    try:
        answer = safety.lookup(db.session, inquiry_id, key)
    except safety.InquiryNotFound:
        # The form again to try once more, with the reference she typed and never the key; an unknown
        # reference and a wrong key give the same page (nothing tells her which reference exists).
        return render_template("safety/check.html", reference=inquiry_id,
                               message=_l("No inquiry with this reference and key. Please check them.")), 404
    # The reference and key stay on the page: she needs them to check again later.
    return _answer_page(answer, key)
