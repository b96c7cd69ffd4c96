"""The public pre-registration page (phone-sized): a household registers and saves its QR.

The page is in Japanese and English side by side; its refusals too (the registration core, prereg.py,
speaks English to the API).  Each row of the form keeps its number, so an error about the third person
stands at the third person's fields, and a row with anything typed in but no name is refused, not
dropped."""
from __future__ import annotations

import base64
import datetime as dt
import io

import segno
from flask import Blueprint, current_app, render_template, request

from evac.events import FAMILY_CODE_LEN, NEEDS_CODES, SEXES, InvalidEvent, parse_birth_date, parse_person
from evac.individual_number import contains_individual_number

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
    "elderly": "高齢者 / Elderly", "disability": "障がい / Disability", "pregnancy": "妊娠中 / Pregnant",
    "infant": "乳幼児 / Baby or infant", "allergy": "食物アレルギー / Food allergy",
    "medication": "服薬が必要 / Needs medicine", "dialysis": "人工透析 / Dialysis", "pets": "ペット同伴 / With pets",
    "interpreter": "通訳が必要 / Needs an interpreter", "care": "要介護 / Needs care",
}

_NUMBER = "マイナンバー（個人番号）は書かないでください。 / Do not write your My Number (Individual Number)."
MESSAGES = {
    "address": "住所を入力してください（200文字まで）。 / Enter the address (up to 200 characters).",
    "consent": "安否の問い合わせへの答え方を選んでください。 / Choose who may learn where you are.",
    "contact": "連絡先は100文字までです。 / The contact is up to 100 characters.",
    "family_code": (f"「家族」を選んだときは、{FAMILY_CODE_LEN[0]}〜{FAMILY_CODE_LEN[1]}文字の家族コードを決めてください。 / "
                    f"With \"family\", choose a family code of {FAMILY_CODE_LEN[0]} to {FAMILY_CODE_LEN[1]} characters."),
    "family_code_only": "家族コードは「家族」を選んだときだけ使います。 / A family code goes only with \"family\".",
    "members": f"1〜{ROWS}人を登録してください。 / Register 1 to {ROWS} people.",
    "name": "氏名を入力してください。 / Enter the name.",
    "name_bad": ("氏名・ふりがなを確かめてください（100文字まで、記号や番号は使えません）。 / "
                 "Check the name and the name in kana (up to 100 characters, no symbols or numbers)."),
    "birth": "生年月日を入力してください。 / Enter the birth date.",
    "birth_bad": ("生年月日を確かめてください（未来の日付や1880年より前は登録できません）。 / "
                  "Check the birth date (it cannot be in the future or before 1880)."),
    "sex": "性別を選んでください。 / Choose the sex.",
    "needs": "配慮が必要なことを選び直してください。 / Choose the needs again.",
    "form": "登録できませんでした。もう一度お試しください。 / This could not be registered. Please try again.",
    "too_many": ("短時間に多くの登録がありました。しばらくしてからもう一度お試しください。 / "
                 "Too many registrations in a short time. Please try again later."),
}


def _rows(form) -> list[tuple[int, dict]]:
    """(row number, member) for each row with anything typed in (the first always)."""
    rows = []
    for i in range(ROWS):
        member = {"name": form.get(f"m{i}_name", "").strip(), "name_kana": form.get(f"m{i}_kana", "").strip(),
                  "birth_date": form.get(f"m{i}_birth", "").strip(), "sex": form.get(f"m{i}_sex", ""),
                  "needs": form.getlist(f"m{i}_needs")}
        if i == 0 or member["name"] or member["name_kana"] or member["birth_date"] or member["needs"]:
            rows.append((i, member))
    return rows


def _row_error(member: dict) -> str | None:
    """What is wrong with one person's row, in both languages (the core's own checks, field by field)."""
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
    return None


def _in_words(form, exc: prereg.PreregError, rows: list[tuple[int, dict]]) -> dict[str, str]:
    """The registration core's refusal, at its field on the page, in Japanese and English."""
    field = exc.field.split(".")
    if field[0] == "members" and "address" in exc.message:   # the household's address, checked with each person
        address = form.get("address", "")
        return {"address": _NUMBER if contains_individual_number(address) else MESSAGES["address"]}
    if field[0] == "members" and len(field) > 1:
        i = int(field[1])
        row, member = rows[i] if i < len(rows) else (0, {})
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
    qr = segno.make(text, error="m")
    png = io.BytesIO()
    qr.save(png, kind="png", scale=8, border=4)
    return qr.svg_inline(scale=5), base64.b64encode(png.getvalue()).decode()


def form_page(form, errors: dict):
    return render_template("prereg.html", rows=ROWS, needs_codes=NEEDS_CODES, need_labels=NEED_LABELS, sexes=SEXES,
                           form=form, errors=errors)


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
    rows = _rows(form)
    errors = {f"m{i}": message for i, member in rows if (message := _row_error(member))}
    if errors:
        return form_page(form, errors), 422
    data = {"address": form.get("address", ""), "contact": form.get("contact", ""),
            "consent": form.get("consent", "none"), "family_code": form.get("family_code", ""),
            "members": [member for _i, member in rows]}
    try:
        household, text = prereg.register(db.session, data)
    except prereg.PreregError as exc:
        return form_page(form, _in_words(form, exc, rows)), 422
    svg, png = _qr_images(text)
    valid_until = dt.datetime.fromtimestamp(household.expires, dt.timezone.utc).date().isoformat()
    return render_template("prereg_done.html", household=household, svg=svg, png=png, valid_until=valid_until)
