"""Safety inquiries over JSON: `POST /api/v1/safety/inquiries` and checking back on one.

Rate-limited (Flask-Limiter) per client, so nobody can walk the city's list of
names and birth dates; per client and person sought, counting only inquiries
that were valid, so one frightened family member cannot flood staff with the
same question while other families asking about the same person are never
locked out; and family codes per person sought from every address, counted before they are
compared, so nobody can guess a family's code from many addresses or many requests at once (over that
budget a code is not compared: the inquiry waits for staff).  A right family code uses up neither
budget (it is given back once it has opened the family's consent): only wrong codes are guesses.

One address may have only so many inquiries waiting for staff at once (SAFETY_WAITING_PER_CLIENT):
beyond that an inquiry that would wait is refused (nothing kept) and the inquirer is told why.
"""
from __future__ import annotations

from flask import Blueprint, current_app, g, jsonify, request
from flask_login import current_user
from limits import parse as parse_limit

from evac.disclosure import parse_inquiry
from evac.events import parse_birth_date
from evac.identity import normalize_name

from . import notify, safety
from .db import db
from .json_body import UnreadableBody, json_object
from .limits import client_network, limiter

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


def per_client_and_person() -> str:
    return current_app.config["SAFETY_RATE_PER_PERSON"]


def per_person_family_codes() -> str:
    return current_app.config.get("SAFETY_RATE_FAMILY_CODE", current_app.config["SAFETY_RATE_PER_PERSON"])


def client_and(person_key: str) -> str:
    return f"{client_network()}|{person_key}"


def received(response) -> bool:
    """What counts against the client's budget for that person (Flask-Limiter's deduct_when): an inquiry
    that was valid (recorded), and a family code tried even when the inquiry was then refused (a guess is
    a guess); never an inquiry whose right family code opened the family's consent (settle_family_code)."""
    if g.get("family_code_opened"):
        return False
    # (201: the JSON API's answer; 303: the form sends the browser on to the inquiry's answer page.)
    return response.status_code in (201, 303) or "family_code_tried" in g


FAMILY_CODE_SCOPE = "safety-family-code"


def may_try_family_code(inquiry) -> bool:
    """One more family code tried for the person sought, from any address, counted before it is compared:
    guesses sent at the same moment cannot slip past the budget (a right code is counted too, until it
    is seen to be right: settle_family_code gives it back).  Over the budget the code is not compared and
    the inquiry waits for staff (safety.receive_inquiry): nobody guesses on, no family is turned away."""
    item = parse_limit(per_person_family_codes())
    person = person_sought_key(inquiry.sought_name, inquiry.sought_birth_date)
    g.family_code_tried = item.key_for(FAMILY_CODE_SCOPE, person)    # for settle_family_code
    return limiter.limiter.hit(item, FAMILY_CODE_SCOPE, person)


def settle_family_code(received: safety.Received) -> None:
    """A family code that opened the family's consent was no guess: it is given back to the person's
    family-code budget, and the client's budget for the person is not charged (`received`).  A wrong
    code stays counted in both, so guessing stays as expensive as before."""
    if received.family_code_opened and "family_code_tried" in g:
        g.family_code_opened = True
        limiter.limiter.storage.decr(g.family_code_tried)


# How many inquiries from one client address may wait for staff at once (EVAC_SAFETY_WAITING_PER_CLIENT).
# A family asks about a handful of people, and a shelter's Wi-Fi or a carrier's NAT puts dozens of families
# behind one address (see SAFETY_RATE_PER_CLIENT): 50 lets them all through while staff work down the
# queue, yet one address can no longer bury it (the per-client rate alone lets hundreds a minute in).
WAITING_PER_CLIENT = 50


def waiting_cap() -> int | None:
    """None (no cap) for HQ staff logged in: the city's desk typing in callers' inquiries from one PC is
    the way the refused are told to go, not a flood."""
    if current_user.is_authenticated:
        return None
    return current_app.config.get("SAFETY_WAITING_PER_CLIENT", WAITING_PER_CLIENT)


@bp.record_once
def _check_waiting_cap(state) -> None:
    """A cap HQ cannot work with stops HQ starting, saying so, rather than failing every inquiry."""
    from . import SettingError
    cap = state.app.config.get("SAFETY_WAITING_PER_CLIENT", WAITING_PER_CLIENT)
    if isinstance(cap, str) and cap.strip().isdigit():   # from the environment as text
        cap = int(cap)
    if isinstance(cap, bool) or not isinstance(cap, int) or cap < 1:
        raise SettingError(f"EVAC_SAFETY_WAITING_PER_CLIENT は、一つの接続元から職員の確認を待てる安否照会の数で、"
                           f"1 以上の整数です（{cap!r} は使えません） / "
                           f"SAFETY_WAITING_PER_CLIENT (EVAC_SAFETY_WAITING_PER_CLIENT) is how many inquiries from "
                           f"one address may wait for staff at once, 1 or more, not {cap!r}")
    state.app.config["SAFETY_WAITING_PER_CLIENT"] = cap


# Said to the inquirer (the JSON API stays English + Japanese, like limits.TOO_MANY; pages translate it).
TOO_MANY_WAITING = ("Many inquiries sent from this connection are still waiting for city staff to confirm them, "
                    "so this one was not received. (A connection can be shared, like a shelter's or a shop's "
                    "Wi-Fi: they may not be yours.) Please wait until staff have answered them, or contact the "
                    "city's safety-information desk. "
                    "この接続から送られた問い合わせの多くが、まだ市の職員の確認を待っています。"
                    "そのため、この問い合わせは受け付けていません（避難所やお店のWi-Fiなど、接続はほかの人と共用の"
                    "ことがあり、あなたの問い合わせとは限りません）。"
                    "職員の回答をお待ちいただくか、市の安否情報窓口にご連絡ください。")


def refused_as_waiting(exc: safety.TooManyWaiting) -> None:
    """HQ's log says who filled the queue; the refused inquiry itself is not kept."""
    current_app.logger.warning("safety inquiry refused: %s (%s); cap %s", exc, request.remote_addr, waiting_cap())


@bp.post("/inquiries")
@limiter.shared_limit(_per_client, scope="safety-inquiry-client")
@limiter.shared_limit(per_client_and_person, scope="safety-inquiry-client-person",
                      key_func=lambda: client_and(sought_person_key()), deduct_when=received)
def create_inquiry():
    asked_news = False
    try:
        body = json_object(request)
    except UnreadableBody as exc:
        words = f"the inquiry {exc.why}"
        return jsonify({"error": "invalid_inquiry", "message": words, "fields": {"inquiry": words}}), exc.status
    try:
        if body.get("notify_email") and not notify.enabled(current_app):
            # Checked as sent (an Individual Number is refused wherever it is), and not kept: no news can be sent.
            parse_inquiry(body)
            body = {**body, "notify_email": ""}
            asked_news = True
        got = safety.receive_inquiry(db.session, body, request.remote_addr or "", may_try_family_code, waiting_cap(),
                                     client_network())
    except safety.InvalidInquiry as exc:
        return jsonify({"error": "invalid_inquiry", "message": "the inquiry is not complete or not valid",
                        "fields": exc.errors}), 422
    except safety.TooManyWaiting as exc:
        refused_as_waiting(exc)
        return jsonify({"error": "too_many_waiting", "message": TOO_MANY_WAITING}), 429
    settle_family_code(got)
    answer, key = got.answer, got.access_key
    news = "by e-mail when there is news you may be told" if notify.enabled(current_app) else "not available"
    if not body.get("notify_email") and not asked_news:
        news = "not asked for"
    return jsonify({**answer, "access_key": key, "email_news": news}), 201


@bp.get("/inquiries/<inquiry_id>")
@limiter.limit(_per_client)
def check_inquiry(inquiry_id: str):
    try:
        return jsonify(safety.lookup(db.session, inquiry_id, request.args.get("key", "")))
    except safety.InquiryNotFound as exc:
        return jsonify({"error": "not_found", "message": str(exc)}), 404
