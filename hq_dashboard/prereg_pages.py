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


@bp.route("/prereg", methods=["GET", "POST"])
def register():
    context = {"rows": ROWS, "needs_codes": NEEDS_CODES, "sexes": SEXES, "form": request.form, "errors": {}}
    if request.method == "GET":
        return render_template("prereg.html", **context)
    try:
        household, text = prereg.register(db.session, _form_data(request.form))
    except prereg.PreregError as exc:
        field = exc.field.split(".")
        key = f"m{field[1]}" if field[0] == "members" and len(field) > 1 else field[0]
        context["errors"] = {key: exc.message}
        return render_template("prereg.html", **context), 422
    svg, png = _qr_images(text)
    valid_until = dt.datetime.fromtimestamp(household.expires, dt.timezone.utc).date().isoformat()
    return render_template("prereg_done.html", household=household, svg=svg, png=png, valid_until=valid_until)
