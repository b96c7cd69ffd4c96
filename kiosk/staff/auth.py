"""Staff log-in: one account per person (Flask-Login), roles staff and lead, an idle timeout,
failed log-ins rate-limited (Flask-Limiter), and a CSRF check on every staff form (Flask-WTF)."""
from __future__ import annotations

import functools
import math
import sqlite3
import time
from urllib.parse import urlsplit

from flask import (
    Blueprint, Flask, abort, current_app, flash, redirect, render_template, request, session, url_for,
)
from flask_babel import get_locale
from flask_limiter import Limiter
from flask_limiter.errors import RateLimitExceeded
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_wtf.csrf import CSRFError, generate_csrf, validate_csrf
from wtforms import ValidationError

from evac.events import InvalidEvent

from .. import disk_failure, staff_store
from ..db import get_store
from ..store import KioskError, KioskStore
from .forms import ActionForm, LoginForm
from .i18n import STAFF_LANGUAGES, gettext as t

bp = Blueprint("staff_auth", __name__, url_prefix="/staff")
login_manager = LoginManager()
# In memory: a kiosk is one process, and a restart forgetting the counts is harmless.
limiter = Limiter(get_remote_address, storage_uri="memory://")


class StaffUser(UserMixin):
    def __init__(self, account: staff_store.StaffAccount):
        self.account = account
        self.id = str(account.id)
        self.name = account.name
        self.role = account.role
        self.is_lead = account.is_lead


@login_manager.user_loader
def _load(user_id: str):
    try:
        account = staff_store.get_staff(get_store(), int(user_id))
    except ValueError:
        return None
    return StaffUser(account) if account else None


def init_auth(app: Flask) -> None:
    if not app.config.get("SECRET_KEY"):
        store = KioskStore(app.config["KIOSK_DB"])
        try:
            app.config["SECRET_KEY"] = staff_store.secret_key(store)
        finally:
            store.close()
    app.config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    login_manager.init_app(app)
    login_manager.login_view = "staff_auth.login"
    login_manager.login_message = None  # said by `guard` below, in the chosen language
    limiter.init_app(app)


def guard(blueprint: Blueprint) -> None:
    """Every page of `blueprint` needs a logged-in staff member, and every POST a valid CSRF token."""
    blueprint.before_request(_check_login)
    blueprint.before_request(_check_csrf)
    blueprint.after_request(_no_store)
    blueprint.context_processor(_words)
    blueprint.register_error_handler(CSRFError, _csrf_failed)
    blueprint.register_error_handler(KioskError, _refused)
    blueprint.register_error_handler(InvalidEvent, _refused)
    blueprint.register_error_handler(404, _not_found)
    blueprint.register_error_handler(sqlite3.Error, _not_saved)


def _no_store(response):
    # Pages full of evacuees' details: a shared tablet's back button or cache must not show them
    # to the next person after a log-out.
    response.headers["Cache-Control"] = "no-store"
    return response


def _refused(exc):
    # The forms check everything first; this is what is left (two tablets acting on the same
    # person at once, say).  The store wrote nothing: each action is one transaction.
    return render_template("staff/message.html", title=t("Not saved"),
                           message=t("Nothing was saved: %(why)s", why=str(exc))), 422


def not_saved_message(exc: sqlite3.Error) -> str:
    """What staff are told when the kiosk's own database refused a write (see kiosk.disk_failure)."""
    why = disk_failure.log(exc)
    if why == disk_failure.BUSY:
        return t("Nothing was saved: the kiosk's database stayed busy too long. Try again in a moment.")
    if why == disk_failure.FULL:
        return t("Nothing was saved: the kiosk's disk is full. Write people in on paper forms (避難者カード) "
                 "and tell HQ; enter them here when there is room again.")
    return t("Nothing was saved: the kiosk could not write to its disk (it may be full or failing). "
             "Write people in on paper forms (避難者カード) and tell HQ.")


def _not_saved(exc):
    return render_template("staff/message.html", title=t("Not saved"), message=not_saved_message(exc)), 503


def _not_found(_exc):
    return render_template("staff/message.html", title=t("Not found"),
                           message=t("This kiosk has no such page or person.")), 404


def _check_login():
    if not current_user.is_authenticated:
        flash(t("Please log in."), "info")
        return redirect(url_for("staff_auth.login", next=request.full_path if request.method == "GET" else None))
    now = int(time.time())
    minutes = current_app.config["STAFF_IDLE_MINUTES"]
    if now - session.get("staff_seen", now) > minutes * 60:
        logout_user()
        session.pop("staff_seen", None)
        flash(t("You were logged out after %(n)d minutes without use. Please log in again.",
                n=max(1, math.ceil(minutes))), "error")
        return redirect(url_for("staff_auth.login"))
    session["staff_seen"] = now
    return None


def _check_csrf():
    if request.method == "POST":
        try:
            validate_csrf(request.form.get("csrf_token"))
        except ValidationError:
            raise CSRFError() from None
    return None


def _csrf_failed(_exc):
    # The page was open too long or came from elsewhere: nothing is saved, the person reloads.
    return render_template("staff/message.html", title=t("Not saved"),
                           message=t("This form has expired or did not come from this tablet. Nothing was saved. "
                                     "Go back, reload the page and try again.")), 400


def lead_required(view):
    """Actions on a shelter lead's authority only (never-disclose)."""
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_lead:
            return render_template("staff/message.html", title=t("Shelter lead only"),
                                   message=t("Only a shelter lead can mark someone never-disclose. "
                                             "Ask the shelter lead on duty.")), 403
        return view(*args, **kwargs)
    return wrapped


def _safe_next(target: str | None) -> str:
    # Only a path on this app: a crafted ?next= must not send staff to another site.
    if target and target.startswith("/staff") and not urlsplit(target).netloc:
        return target
    return url_for("staff_roster.roster")


def _login_failed(response) -> bool:
    # Only failed attempts count towards the limit: a login that works redirects.
    return response.status_code != 302


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["STAFF_LOGIN_LIMITS"], methods=["POST"], deduct_when=_login_failed)
@limiter.limit(lambda: current_app.config["STAFF_LOGIN_NAME_LIMIT"], methods=["POST"], deduct_when=_login_failed,
               key_func=lambda: "staff-name:" + request.form.get("name", "").strip())
def login():
    form = LoginForm()
    if request.method == "POST" and not form.validate():
        if "csrf_token" in form.errors:
            return _csrf_failed(None)
        return render_template("staff/login.html", form=form), 400
    if request.method == "POST":
        account = staff_store.authenticate(get_store(), form.name.data, form.password.data)
        if account is None:
            return render_template("staff/login.html", form=form,
                                   error=t("Wrong staff name or password. Nothing was changed.")), 401
        lang = session.get("lang")
        session.clear()  # a fresh session on log-in: nothing from before carries over
        if lang:
            session["lang"] = lang
        login_user(StaffUser(account))
        session["staff_seen"] = int(time.time())
        return redirect(_safe_next(request.args.get("next")))
    if current_user.is_authenticated:
        return redirect(url_for("staff_roster.roster"))
    return render_template("staff/login.html", form=form)


@bp.errorhandler(RateLimitExceeded)
def _too_many(exc):
    return render_template("staff/login.html", form=LoginForm(formdata=None),
                           error=t("Too many failed log-in attempts. Wait a few minutes, then try again, "
                                   "or ask the shelter lead.")), 429


@bp.post("/logout")
def logout():
    form = ActionForm()
    if not form.validate():
        return _csrf_failed(None)
    logout_user()
    session.pop("staff_seen", None)
    flash(t("You are logged out."), "info")
    return redirect(url_for("staff_auth.login"))


@bp.get("/lang/<code>")
def language(code: str):
    """One tap switches the tablet's language; it is kept in this browser's session."""
    if code not in STAFF_LANGUAGES:
        abort(404)
    session["lang"] = code
    return redirect(_safe_next(request.args.get("next")))


def _words() -> dict:
    lang = str(get_locale() or "ja")
    words = {"t": t, "csrf_token": generate_csrf, "languages": STAFF_LANGUAGES,
             "lang": lang if lang in STAFF_LANGUAGES else "en", "open_calls": []}
    if current_user.is_authenticated:
        # Someone at the screen pressed "I have nothing": every staff page says so until answered.
        from ..db import get_store
        words["open_calls"] = get_store().open_staff_calls()
    return words


bp.context_processor(_words)
