"""The public pre-registration page (phone-sized): a household registers and saves its QR.

The page speaks the seven languages of HQ's other public pages (hq_dashboard.i18n: `?lang=`, the
remembered choice, Accept-Language; Japanese otherwise); its refusals too (the registration core,
prereg.py, speaks English to the API).  Each row of the form keeps its number, so an error about the
third person stands at the third person's fields, and a row with anything typed in but no name is
refused, not dropped."""
from __future__ import annotations

import base64
import datetime as dt
import io
import re

from flask import Blueprint, current_app, render_template, request
from flask_babel import lazy_gettext as _l

from evac.events import FAMILY_CODE_LEN, NEEDS_CODES, SEXES, InvalidEvent, parse_birth_date, parse_person
from evac.identity import person_key
from evac.individual_number import contains_individual_number
from evac.typed_names import in_letters, reads_as_kana

from . import prereg
from .db import db
from .limits import limiter

bp = Blueprint("prereg_pages", __name__)
ROWS = 5  # member rows on the form; more people register as a second household

# Registrations from one address: enough for a community centre or a carrier's shared address helping
# many families, too few for a script filling HQ's database.  One budget for the page and the JSON API
# (decorate its route with PREREG_LIMIT too).  PREREG_RATE in the app's config overrides it.
PREREG_RATE = "20 per minute;300 per hour"
PREREG_LIMIT = limiter.shared_limit(lambda: current_app.config.get("PREREG_RATE", PREREG_RATE), scope="prereg",
                                    methods=["POST"])

# As the kiosk's screen and staff tablet say them (kiosk/screen.py NEED_LABELS, kiosk/staff/i18n.py).
NEED_LABELS = {
    "elderly": _l("Elderly"), "disability": _l("Disability"), "pregnancy": _l("Pregnant"),
    "infant": _l("Baby or infant"), "allergy": _l("Food allergy"), "medication": _l("Needs medicine"),
    "dialysis": _l("Dialysis"), "pets": _l("With pets"), "interpreter": _l("Needs an interpreter"),
    "care": _l("Needs care"),
}

_NUMBER = _l("Do not write your My Number (Individual Number).")
MESSAGES = {
    "address": _l("Enter the address (up to 200 characters)."),
    "consent": _l("Choose who may learn where you are."),
    "contact": _l("The contact is up to 100 characters."),
    "family_code": _l('With "Family", choose a family code of %(low)s to %(high)s characters.',
                      low=FAMILY_CODE_LEN[0], high=FAMILY_CODE_LEN[1]),
    "family_code_only": _l('A family code goes only with "Family".'),
    "members": _l("Register 1 to %(rows)s people.", rows=ROWS),
    "rows": _l("This page registers up to %(rows)s people at a time. Register the others as a second household "
               "with the same address; nothing was registered yet.", rows=ROWS),
    "name": _l("Enter the name."),
    "name_bad": _l("Check the name and the name in kana (up to 100 characters, no symbols or numbers)."),
    "birth": _l("Enter the birth date."),
    "birth_bad": _l("Check the birth date (it cannot be in the future or before 1880)."),
    "sex": _l("Choose the sex."),
    "needs": _l("Choose the needs again."),
    "same": _l("This is the same person as person %(other)s (same name and birth date). Register each person "
               "once."),
    "qr_size": _l("This household's QR code would be too large for a phone camera to read. Shorten long names "
                  "or the address, or register the household in two parts with the same address. Nothing was "
                  "registered yet."),
    "form": _l("This could not be registered. Please try again."),
    "too_many": _l("Too many registrations in a short time. Please try again later."),
    # (changing and cancelling share the registrations' budget, but are not registrations)
    "too_many_change": _l("Too many changes from this network in a short time. Nothing was changed yet; "
                          "please try again in a few minutes."),
    "too_many_cancel": _l("Too many changes from this network in a short time. The registration was not "
                          "cancelled; please try again in a few minutes."),
}
_ROW_FIELD = re.compile(r"m(\d+)_(name|kana|birth|needs)")


def _rows(form, count: int = ROWS) -> list[tuple[int, dict]]:
    """(row number, member) for each row with anything typed in (the first always)."""
    rows = []
    for i in range(count):
        member = {"name": form.get(f"m{i}_name", "").strip(), "name_kana": form.get(f"m{i}_kana", "").strip(),
                  "birth_date": form.get(f"m{i}_birth", "").strip(), "sex": form.get(f"m{i}_sex", ""),
                  "needs": form.getlist(f"m{i}_needs")}
        if i == 0 or member["name"] or member["name_kana"] or member["birth_date"] or member["needs"]:
            rows.append((i, member))
    return rows


def _row_error(member: dict) -> str | None:
    """What is wrong with one person's row, in the page's language (the core's own checks, field by field)."""
    if not member["name"]:
        return MESSAGES["name"]
    if not member["birth_date"]:
        return MESSAGES["birth"]
    try:
        parse_birth_date(member["birth_date"])
    except InvalidEvent:
        return MESSAGES["birth_bad"]
    if member["sex"] not in SEXES:
        return MESSAGES["sex"]
    if any(n not in NEEDS_CODES for n in member["needs"]):
        return MESSAGES["needs"]
    try:
        parse_person({**member, "address": "-"})
    except InvalidEvent as exc:
        return _NUMBER if "Individual Number" in str(exc) else MESSAGES["name_bad"]
    if not in_letters(member["name"]) or member["name_kana"] and not reads_as_kana(member["name_kana"]):
        return MESSAGES["name_bad"]   # (prereg.parse_registration's rule, said in the page's language)
    return None


def _beyond_the_rows(form, count: int = ROWS) -> bool:
    """Anything typed for a person past the page's rows (a form posted by hand or by a script): refused,
    not dropped, or the household's QR would silently leave someone out."""
    return any(int(m.group(1)) >= count and any(v.strip() for v in form.getlist(key))
               for key in form if (m := _ROW_FIELD.fullmatch(key)))


def _same_person(form, rows: list[tuple[int, dict]]) -> dict[str, str]:
    """A person listed twice (the kiosk would refuse the check-in), said at the second row."""
    seen: dict[str, int] = {}
    for i, member in rows:
        try:
            first = seen.setdefault(person_key(member["name"], member["birth_date"], form.get("address", "")), i)
        except ValueError:   # said by _row_error
            continue
        if first != i:
            return {f"m{i}": str(MESSAGES["same"]) % {"other": first + 1}}
    return {}


def _in_words(form, exc: prereg.PreregError, rows: list[tuple[int, dict]]) -> dict[str, str]:
    """The registration core's refusal, at its field on the page, in the page's language."""
    field = exc.field.split(".")
    if field[0] == "qr_size":
        return {"form": MESSAGES["qr_size"]}
    if field[0] == "members" and "address" in exc.message:   # the household's address, checked with each person
        address = form.get("address", "")
        return {"address": _NUMBER if contains_individual_number(address) else MESSAGES["address"]}
    if field[0] == "members" and len(field) > 1:
        i = int(field[1])
        row, member = rows[i] if i < len(rows) else (0, {})
        if field[-1] == "same":
            return _same_person(form, rows) or {f"m{row}": MESSAGES["form"]}
        return {f"m{row}": (_row_error(member) if member else None) or MESSAGES["name_bad"]}
    if field[0] == "contact" and contains_individual_number(form.get("contact", ""), phones=True):
        return {"contact": _NUMBER}
    if field[0] == "family_code":
        if contains_individual_number(form.get("family_code", "")):
            return {"family_code": _NUMBER}
        if form.get("consent") != "family":
            return {"family_code": MESSAGES["family_code_only"]}
    return {field[0]: MESSAGES.get(field[0], MESSAGES["form"])}


def _qr_images(text: str) -> tuple[str, str]:
    qr = prereg.qr_code(text)   # the symbol whose size the registration checked
    png = io.BytesIO()
    qr.save(png, kind="png", scale=8, border=4)
    return qr.svg_inline(scale=5), base64.b64encode(png.getvalue()).decode()


def form_page(form, errors: dict, secret: str | None = None, rows: int = ROWS, has_family_code: bool = False):
    """The registration form; with `secret`, the form that changes the registration that link opens."""
    return render_template("prereg.html", rows=rows, needs_codes=NEEDS_CODES, need_labels=NEED_LABELS, sexes=SEXES,
                           form=form, errors=errors, family_code_len=FAMILY_CODE_LEN, manage_secret=secret,
                           has_family_code=has_family_code)


def checked_form(form, count: int = ROWS) -> tuple[list[tuple[int, dict]], dict, dict]:
    """(rows, the registration core's input, errors by field in the page's language)."""
    if _beyond_the_rows(form, count):
        return [], {}, {"form": MESSAGES["rows"]}
    rows = _rows(form, count)
    errors = {f"m{i}": message for i, member in rows if (message := _row_error(member))} or _same_person(form, rows)
    data = {"address": form.get("address", ""), "contact": form.get("contact", ""),
            "consent": form.get("consent", "none"), "family_code": form.get("family_code", ""),
            "members": [member for _i, member in rows]}
    return rows, data, errors


def done_page(household, text: str, manage_url: str | None = None, changed: bool = False):
    # Drawn from the text whose size the registration checked, so it cannot fail once saved.
    svg, png = _qr_images(text)
    valid_until = dt.datetime.fromtimestamp(household.expires, dt.UTC).date().isoformat()
    return render_template("prereg_done.html", household=household, svg=svg, png=png, valid_until=valid_until,
                           manage_url=manage_url, changed=changed)


@bp.errorhandler(429)
def _too_many(exc):
    # said at the top of the form, with what they typed kept (Flask-Limiter adds Retry-After)
    return form_page(request.form, {"form": MESSAGES["too_many"]}), 429


@bp.route("/prereg", methods=["GET", "POST"])
@PREREG_LIMIT
def register():
    if request.method == "GET":
        return form_page(request.form, {})
    form = request.form
    rows, data, errors = checked_form(form)
    if errors:
        return form_page(form, errors), 422
    try:
        household, text, secret = prereg.register(db.session, data)
    except prereg.PreregError as exc:
        return form_page(form, _in_words(form, exc, rows)), 422
    from .prereg_manage import manage_url
    return done_page(household, text, manage_url=manage_url(secret))
