"""A family's own page for its pre-registration, reached by the secret link shown once when it registered
(hq_dashboard.prereg: HQ keeps only the link's hash).  From a phone, in the seven languages of HQ's public
pages, at any time (the city's phone lines are jammed in a disaster): see what is registered, change it (a
new QR replaces the old) or cancel it (the QR is refused at shelters and the personal data erased).

An unknown link, a link of the wrong shape and a guessed one get the same page: nothing tells whether a
household exists.  Posts share the registration's budget (PREREG_LIMIT) and its CSRF protection."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import MultiDict

from . import prereg
from .db import db
from .prereg_pages import (
    MESSAGES, NEED_LABELS, PREREG_LIMIT, ROWS, _in_words, _qr_images, checked_form, done_page, form_page,
)

bp = Blueprint("prereg_manage", __name__, url_prefix="/prereg/manage")

CONSENT_LABELS = {"none": _l("Nobody, beyond what the law allows"), "family": _l("Family"),
                  "public": _l("Anyone who asks")}
SEX_LABELS = {"female": _l("female"), "male": _l("male"), "other": _l("other")}
# A change form sent again (the done page reloaded, a double press, a form left open on a second phone):
# it was drawn from a registration a change has replaced since, and would revoke the QR just saved.
ALREADY_CHANGED = _l("This registration was changed after this form was opened (the page was sent again, or it "
                     "was changed on another phone), so nothing was changed now. This is how it stands: the QR "
                     "code from the latest change is the one that works.")


def manage_url(secret: str) -> str:
    """The link the family keeps: on HQ's public address when it is set (behind its proxy HQ cannot know it)."""
    public = current_app.config.get("PUBLIC_URL")
    path = url_for("prereg_manage.manage", secret=secret)
    return public + path if public else url_for("prereg_manage.manage", secret=secret, _external=True)


def _day(at: dt.datetime) -> str:
    # As the done page says "valid until" (prereg_pages.done_page: the UTC date)
    at = at if at.tzinfo is not None else at.replace(tzinfo=dt.UTC)   # SQLite gives UTC back without its zone
    return at.astimezone(dt.UTC).date().isoformat()


def _unknown():
    return render_template("prereg_manage.html", view="unknown"), 404


def _page(row, view: str = "show", status: int = 200, message: str | None = None):
    household = prereg.registered(row)
    state = prereg.state(row)
    # The QR again while it works (a family that lost the image, or changed phones).
    svg = png = None
    if household is not None and state == "valid" and view == "show":
        svg, png = _qr_images(prereg.qr_again(db.session, household))
    return render_template(
        "prereg_manage.html", view=view, state=state, household=household, svg=svg, png=png,
        secret=request.view_args["secret"],
        valid_until=_day(row.expires_at), cancelled_on=_day(row.revoked_at) if row.revoked_at else None,
        consent_labels=CONSENT_LABELS, sex_labels=SEX_LABELS, need_labels=NEED_LABELS, message=message), status


def _rows_for(household) -> int:
    """The change form's rows: a household registered through the API may have more people than the page."""
    return max(ROWS, len(household.members))


def prefilled(household) -> MultiDict:
    """The registration form as the household registered it; the family code is never written back into a
    page (anyone holding the link would read it): left empty, the registered one is kept."""
    form = MultiDict({"address": household.address, "contact": household.contact, "consent": household.consent,
                      "drawn_from": household.household_id})
    for i, m in enumerate(household.members):
        form.update({f"m{i}_name": m.name, f"m{i}_kana": m.name_kana, f"m{i}_birth": m.birth_date, f"m{i}_sex": m.sex})
        form.setlist(f"m{i}_needs", list(m.needs))
    return form


def change_form(form, errors: dict):
    """The change form again (a refusal, an expired form token, too many posts), with what was typed."""
    row = prereg.managed(db.session, request.view_args["secret"])
    household = prereg.registered(row) if row is not None else None
    return form_page(form, errors, secret=request.view_args["secret"],
                     rows=_rows_for(household) if household else ROWS, has_family_code=bool(
                         household and household.family_code))


@bp.errorhandler(429)
def _too_many(exc):
    if request.endpoint == "prereg_manage.change":
        return change_form(request.form, {"form": MESSAGES["too_many_change"]}), 429
    row = prereg.managed(db.session, request.view_args.get("secret") if request.view_args else None)
    return (_page(row, message=MESSAGES["too_many_cancel"])[0] if row is not None else _unknown()[0]), 429


@bp.get("/<secret>")
def manage(secret: str):
    row = prereg.managed(db.session, secret)
    return _unknown() if row is None else _page(row)


@bp.route("/<secret>/change", methods=["GET", "POST"])
@PREREG_LIMIT   # one budget with registering
def change(secret: str):
    row = prereg.managed(db.session, secret)
    if row is None:
        return _unknown()
    household = prereg.registered(row)
    if prereg.state(row) != "valid" or household is None:
        return redirect(url_for("prereg_manage.manage", secret=secret), 303)   # says cancelled or expired
    count = _rows_for(household)
    if request.method == "GET":
        return form_page(prefilled(household), {}, secret=secret, rows=count,
                         has_family_code=bool(household.family_code))
    form = request.form
    drawn_from = form.get("drawn_from") or None   # (none: a form posted by a script, not from the page)
    if drawn_from is not None and drawn_from != row.id:
        return _page(row, message=str(ALREADY_CHANGED), status=409)
    rows, data, errors = checked_form(form, count)
    if errors:
        return change_form(form, errors), 422
    try:
        # Row i of the form was registered person i (prefilled so): who stays keeps their id (prereg.change).
        new, text = prereg.change(db.session, secret, data,
                                  [i if i < len(household.members) else None for i, _m in rows], drawn_from=drawn_from)
    except prereg.PreregError as exc:
        return change_form(form, _in_words(form, exc, rows)), 422
    except prereg.NotManaged:   # changed or cancelled meanwhile (another phone): the link says how it stands
        return redirect(url_for("prereg_manage.manage", secret=secret), 303)
    return done_page(new, text, changed=True)


@bp.route("/<secret>/cancel", methods=["GET", "POST"])
@PREREG_LIMIT
def cancel(secret: str):
    row = prereg.managed(db.session, secret)
    if row is None:
        return _unknown()
    if request.method == "GET":   # the first press asks; only the second (a POST) cancels
        return _page(row, view="confirm" if row.revoked_at is None else "show")
    try:
        row = prereg.cancel(db.session, secret)
    except prereg.NotManaged:
        return _unknown()
    return _page(row, view="cancelled")
