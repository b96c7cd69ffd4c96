"""The public pre-registration page (phone-sized): a household registers and saves its QR."""
from __future__ import annotations

import base64
import datetime as dt
import io

import segno
from flask import Blueprint, render_template, request

from evac.events import NEEDS_CODES, SEXES

from . import prereg
from .db import db

bp = Blueprint("prereg_pages", __name__)
ROWS = 5  # member rows on the form; more people register as a second household


def _form_data(form) -> dict:
    members = []
    for i in range(ROWS):
        name = form.get(f"m{i}_name", "").strip()
        if not name and i > 0:
            continue
        members.append({"name": name, "name_kana": form.get(f"m{i}_kana", ""),
                        "birth_date": form.get(f"m{i}_birth", ""), "sex": form.get(f"m{i}_sex", ""),
                        "needs": form.getlist(f"m{i}_needs")})
    return {"address": form.get("address", ""), "contact": form.get("contact", ""),
            "consent": form.get("consent", "none"), "family_code": form.get("family_code", ""), "members": members}


def _qr_images(text: str) -> tuple[str, str]:
    qr = segno.make(text, error="m")
    png = io.BytesIO()
    qr.save(png, kind="png", scale=8, border=4)
    return qr.svg_inline(scale=5), base64.b64encode(png.getvalue()).decode()


def form_page(form, errors: dict):
    return render_template("prereg.html", rows=ROWS, needs_codes=NEEDS_CODES, sexes=SEXES, form=form, errors=errors)


@bp.route("/prereg", methods=["GET", "POST"])
def register():
    if request.method == "GET":
        return form_page(request.form, {})
    try:
        household, text = prereg.register(db.session, _form_data(request.form))
    except prereg.PreregError as exc:
        field = exc.field.split(".")
        key = f"m{field[1]}" if field[0] == "members" and len(field) > 1 else field[0]
        return form_page(request.form, {key: exc.message}), 422
    svg, png = _qr_images(text)
    valid_until = dt.datetime.fromtimestamp(household.expires, dt.timezone.utc).date().isoformat()
    return render_template("prereg_done.html", household=household, svg=svg, png=png, valid_until=valid_until)
