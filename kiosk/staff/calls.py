"""Calls from the screen, asked after by every staff page (static/staff/calls.js), so that a tablet
left on the roster shows someone waiting at the screen without a reload.

Not behind the pages' guard (auth.guard): the guard notes every request as use of the tablet, and a
page asking every few seconds would then never log itself out.  The same log-in check, noting nothing."""
from __future__ import annotations

import sqlite3

from flask import Blueprint, jsonify, url_for

from .. import disk_failure
from ..db import get_store
from ..store import HELD_PROTECTED
from .auth import logged_in_unnoted
from .i18n import gettext as t

bp = Blueprint("staff_calls", __name__, url_prefix="/staff")


@bp.after_request
def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.errorhandler(sqlite3.Error)
def _unreadable(exc):
    # the page keeps what it shows, and its next poll asks again; a page it loads says what is wrong
    disk_failure.log(exc)
    return jsonify({"error": "the kiosk's database cannot be read now"}), 503


def banner(calls: list[dict]) -> str:
    """The banner's words for the open calls.  A check-in held back for a lead (HELD_PROTECTED) is not someone
    waiting at the screen: said apart, so that no one goes to the screen looking for a protected person."""
    held = sum(1 for c in calls if c["reason"] == HELD_PROTECTED)
    said = []
    if len(calls) > held:
        said.append(t("%(n)d people at the screen are waiting for staff.", n=len(calls) - held))
    if held:
        said.append(t("%(n)d check-ins are held for a lead: see the calls; do not look for them at the screen.",
                      n=held))
    return " ".join(said)


@bp.get("/open-calls")
def open_calls():
    """The open calls' count and the words of base.html's banner, in the tablet's language; `newest`,
    the latest call's id, tells the page a call is new since it last asked."""
    if not logged_in_unnoted():
        return jsonify({"logged_in": False}), 401
    calls = get_store().open_staff_calls()
    return jsonify({
        "open": len(calls), "newest": max((c["id"] for c in calls), default=0),
        "text": banner(calls),
        "href": url_for("staff_shelter.summary", _anchor="calls")})
