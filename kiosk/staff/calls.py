"""Calls from the screen, asked after by every staff page (static/staff/calls.js), so that a tablet
left on the roster shows someone waiting at the screen without a reload.

Not behind the pages' guard (auth.guard): the guard notes every request as use of the tablet, and a
page asking every few seconds would then never log itself out.  The same log-in check, noting nothing."""
from __future__ import annotations

import sqlite3

from flask import Blueprint, jsonify, url_for

from .. import disk_failure
from ..db import get_store
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


@bp.get("/open-calls")
def open_calls():
    """The open calls' count and the words of base.html's banner, in the tablet's language; `newest`,
    the latest call's id, tells the page a call is new since it last asked."""
    if not logged_in_unnoted():
        return jsonify({"logged_in": False}), 401
    calls = get_store().open_staff_calls()
    return jsonify({
        "open": len(calls), "newest": max((c["id"] for c in calls), default=0),
        "text": t("%(n)d people at the screen are waiting for staff.", n=len(calls)) if calls else "",
        "href": url_for("staff_shelter.summary", _anchor="calls")})
