"""The staff tablet: shelter staff on phones and tablets on the shelter LAN, under /staff.

Thin blueprints around kiosk.staff_store and the KioskStore: log in
(auth), the roster and everything done to one person (roster), and the
shelter's counts, status, sync panel and 避難者名簿 export (shelter), who did what (who), and the
calls from the screen that every page asks after (calls).
"""
from __future__ import annotations

from flask import Flask
from flask_babel import Babel

from .auth import init_auth
from .i18n import DEFAULT_LANGUAGE, select_locale

DEFAULTS = {
    "STAFF_IDLE_MINUTES": 15,  # a tablet left lying around logs itself out (env KIOSK_STAFF_IDLE_MINUTES)
    "STAFF_LOGIN_LIMITS": "5 per minute;30 per hour",  # failed log-ins per tablet (per client address)
    "STAFF_LOGIN_NAME_LIMIT": "10 per hour",     # failed log-ins per staff name, from anywhere
    # how often a staff page asks whether someone at the screen waits (env KIOSK_STAFF_CALLS_POLL_SECONDS)
    "STAFF_CALLS_POLL_SECONDS": 10,
    # A form's CSRF token is good for as long as its session (as at HQ), not Flask-WTF's one hour: the
    # log-in page lies open on the tablet between shifts, and a long 避難者カード is typed for longer.
    "WTF_CSRF_TIME_LIMIT": None,
}


def init_app(app: Flask) -> None:
    for key, value in DEFAULTS.items():
        app.config.setdefault(key, value)
    if "babel" not in app.extensions:
        Babel(app, locale_selector=select_locale, default_locale=DEFAULT_LANGUAGE)
    init_auth(app)
    from . import calls, roster, shelter, who
    from .auth import bp as auth_bp
    app.register_blueprint(auth_bp)
    app.register_blueprint(calls.bp)
    app.register_blueprint(roster.bp)
    app.register_blueprint(shelter.bp)
    app.register_blueprint(who.bp)
