"""The public safety-inquiry page (phone-sized) and the page to check an answer again."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, current_app, render_template, request


from . import safety, self_report
from .db import db
from .limits import limiter
from .safety_api import person_sought_key

bp = Blueprint("safety_pages", __name__, url_prefix="/safety")

RELATIONSHIP_LABELS = {
    "household_family": "同居の家族（事実婚を含む） / Family living with them (incl. de facto spouse)",
    "relative": "その他の親族 / Other relative",
    "workplace": "職場の関係者 / Workplace",
    "other": "知人など / Acquaintance or other",
}


def _inquiry_from_form(form) -> dict:
    return {
        "inquirer": {"name": form.get("inquirer_name", ""), "address": form.get("inquirer_address", ""),
                     "contact": form.get("inquirer_contact", "")},
        "relationship": form.get("relationship", ""), "reason": form.get("reason", ""),
        "sought": {"name": form.get("sought_name", ""), "birth_date": form.get("sought_birth_date", ""),
                   "address": form.get("sought_address", "")},
        "family_code": form.get("family_code", ""), "notify_email": form.get("notify_email", ""),
    }


def _form_person_key() -> str:
    return person_sought_key(request.form.get("sought_name", ""), request.form.get("sought_birth_date", ""))


@bp.get("/")
def form():
    return render_template("safety/inquiry.html", form={}, errors={}, relationships=RELATIONSHIP_LABELS)


@bp.post("/")
@limiter.limit(lambda: current_app.config["SAFETY_RATE_PER_CLIENT"])
@limiter.limit(lambda: current_app.config["SAFETY_RATE_PER_PERSON"], key_func=_form_person_key)
def submit():
    try:
        answer, key = safety.receive(db.session, _inquiry_from_form(request.form), request.remote_addr or "")
    except safety.InvalidInquiry as exc:
        errors = {k.replace(".", "_"): v for k, v in exc.errors.items()}
        return render_template("safety/inquiry.html", form=request.form, errors=errors,
                               relationships=RELATIONSHIP_LABELS), 422
    return render_template("safety/answer.html", answer=answer, key=key), 201


@bp.get("/self-report")
def self_report_form():
    return render_template("safety/self_report.html", form={}, errors={})


@bp.post("/self-report")
@limiter.limit(lambda: current_app.config["SAFETY_RATE_PER_CLIENT"])
def self_report_submit():
    try:
        events = self_report.record(request.form)
    except self_report.SelfReportError as exc:
        return render_template("safety/self_report.html", form=request.form, errors=exc.errors), 422
    return render_template("safety/self_report_done.html", name=events[0].person.name,
                           at=dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M")), 201


@bp.get("/check")
@limiter.limit(lambda: current_app.config["SAFETY_RATE_PER_CLIENT"])
def check():
    if not request.args.get("id"):
        return render_template("safety/check.html")
    try:
        answer = safety.lookup(db.session, request.args.get("id", "").strip().upper(), request.args.get("key", ""))
    except safety.InquiryNotFound:
        return render_template("safety/message.html",
                               message="照会番号またはキーが違います。 / No inquiry with this reference and key."), 404
    return render_template("safety/answer.html", answer=answer, key=None)
