"""Safety inquiries over JSON: `POST /api/v1/safety/inquiries` and checking back on one.

Rate-limited per client and per person sought (Flask-Limiter), so nobody can
walk the city's list of names and birth dates, and one frightened family
member cannot flood staff with the same question.
"""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from evac.events import parse_birth_date
from evac.identity import normalize_name

from . import notify, safety
from .db import db
from .limits import limiter

bp = Blueprint("safety_api", __name__, url_prefix="/api/v1/safety")


def sought_person_key() -> str:
    body = request.get_json(silent=True)
    sought = body.get("sought") if isinstance(body, dict) else None
    if not isinstance(sought, dict):
        return "unreadable"
    return person_sought_key(sought.get("name"), sought.get("birth_date"))


def person_sought_key(name: object, birth_date: object) -> str:
    """The person an inquiry is about, the same in either name order, with or without spaces or
    異体字 (the letters sorted); kanji and kana are two spellings and count apart."""
    if not isinstance(name, str):
        return "unreadable"
    try:
        born = parse_birth_date(birth_date)     # 1985-04-01, 19850401 and " 1985-04-01" are one date
    except ValueError:
        born = "unreadable"
    return f"{''.join(sorted(normalize_name(name[:100])))}|{born}"


def _per_client() -> str:
    return current_app.config["SAFETY_RATE_PER_CLIENT"]


def _per_person() -> str:
    return current_app.config["SAFETY_RATE_PER_PERSON"]


@bp.post("/inquiries")
@limiter.shared_limit(_per_client, scope="safety-inquiry-client")
@limiter.shared_limit(_per_person, scope="safety-inquiry-person", key_func=sought_person_key)
def create_inquiry():
    body = request.get_json(silent=True)
    if body is None:
        return jsonify({"error": "invalid_inquiry", "message": "the inquiry must be a JSON object",
                        "fields": {"inquiry": "the inquiry must be a JSON object"}}), 400
    try:
        answer, key = safety.receive(db.session, body, request.remote_addr or "")
    except safety.InvalidInquiry as exc:
        return jsonify({"error": "invalid_inquiry", "message": "the inquiry is not complete or not valid",
                        "fields": exc.errors}), 422
    news = "by e-mail when there is news you may be told" if notify.enabled(current_app) else "not available"
    if not body.get("notify_email"):
        news = "not asked for"
    return jsonify({**answer, "access_key": key, "email_news": news}), 201


@bp.get("/inquiries/<inquiry_id>")
@limiter.limit(_per_client)
def check_inquiry(inquiry_id: str):
    try:
        return jsonify(safety.lookup(db.session, inquiry_id, request.args.get("key", "")))
    except safety.InquiryNotFound as exc:
        return jsonify({"error": "not_found", "message": str(exc)}), 404
