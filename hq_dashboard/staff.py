"""HQ staff: login (Flask-Login), the review queue of safety inquiries, the audit log."""
from __future__ import annotations

import datetime as dt
import functools
import secrets
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import LoginManager, current_user, login_required, login_user, logout_user
from sqlalchemy import select
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect
from werkzeug.security import check_password_hash, generate_password_hash

from evac.staff_lockout import StaffLockout

from . import notify, safety
from .db import db
from .limits import limiter
from .models import Person, StaffUser
from .safety_pages import ReviewForm, review_error

bp = Blueprint("staff", __name__, url_prefix="/staff")
login_manager = LoginManager()
login_manager.login_view = "staff.login"
login_manager.login_message = "Please log in as HQ staff. / 本部職員としてログインしてください。"


class StaffLogin:
    """What Flask-Login keeps of a staff member: the id and the name."""

    def __init__(self, user: StaffUser):
        self.id, self.username = user.id, user.username
        self.is_authenticated, self.is_active, self.is_anonymous = True, True, False

    def get_id(self) -> str:
        return str(self.id)


@login_manager.user_loader
def _load(user_id: str):
    user = db.session.get(StaffUser, int(user_id)) if user_id.isdigit() else None
    return StaffLogin(user) if user else None


def add_staff(session, username: str, password: str) -> None:
    username = username.strip()
    if not username or len(username) > 64:
        raise ValueError("a staff name is 1 to 64 characters")
    if len(password) < 10:
        raise ValueError("the password must be at least 10 characters")
    if session.execute(select(StaffUser).where(StaffUser.username == username)).first():
        raise ValueError(f"there is already a staff member called {username!r}")
    session.add(StaffUser(username=username, password_hash=generate_password_hash(password),
                          created_at=dt.datetime.now(dt.timezone.utc)))
    session.commit()


def _login_failed(response) -> bool:
    # Only failed attempts count against the address: HQ's staff log in from behind one address.
    return response.status_code != 302


# --- failed log-ins per staff name ------------------------------------------------------------------
#
# Guesses at one name count together from every address (STAFF_LOGIN_NAME_LIMIT), so spreading them
# over many addresses gains nothing.  Once a name is over its limit its password is not even checked,
# except from a browser that name has logged in on before (a signed cookie) and that has not itself
# been failing for it (STAFF_LOGIN_BROWSER_LIMIT): a flood of guesses from elsewhere cannot lock HQ's
# staff out of their own desks.  (The kiosk's staff log-in works the same way: kiosk/staff/auth.py.)

BROWSER_COOKIE = "hq_staff_browser"
LOCKOUT = StaffLockout("hq-staff", salt="hq-staff-browser")


def _browser() -> dict:
    return LOCKOUT.mark(current_app.secret_key, request.cookies.get(BROWSER_COOKIE, ""))


def _remember_browser(response, name: str) -> None:
    response.set_cookie(BROWSER_COOKIE, LOCKOUT.remembered(current_app.secret_key,
                                                           request.cookies.get(BROWSER_COOKIE, ""), name),
                        max_age=365 * 24 * 3600, httponly=True, samesite="Lax", secure=request.is_secure)


def _name_refused(name: str) -> bool:
    config = current_app.config
    return LOCKOUT.refused(limiter.limiter, name, _browser(), config["STAFF_LOGIN_NAME_LIMIT"],
                           config["STAFF_LOGIN_BROWSER_LIMIT"])


def _count_failure(name: str) -> None:
    config = current_app.config
    LOCKOUT.count_failure(limiter.limiter, name, _browser(), config["STAFF_LOGIN_NAME_LIMIT"],
                          config["STAFF_LOGIN_BROWSER_LIMIT"])


@functools.cache
@functools.cache
def _dummy_hash() -> str:
    # Made once: made per log-in, it doubled an unknown name's time instead of matching a known one's.
    return generate_password_hash(secrets.token_hex(16))


def _password_ok(user: StaffUser | None, password: str) -> bool:
    # An unknown name costs the same hash check as a known one: the answer's time must not tell a
    # stranger which staff names exist.
    ok = check_password_hash(user.password_hash if user else _dummy_hash(), password)
    return ok and user is not None


def _safe_next(target: str | None) -> str:
    # Only a path on this site: a crafted ?next= must not send staff to another one.
    # (no "//host", no backslash or tab that a browser would read as one)
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target \
            and target.isprintable():
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and _a_page(parts.path):
            return target
    return url_for("staff.queue")


def _a_page(path: str) -> bool:
    """Whether a browser sent to `path` gets a page: a POST-only address (a form's action, such as the
    map's disaster choice) would answer the redirect's GET with 405 and staff would be lost."""
    try:
        current_app.url_map.bind("").match(path, method="GET")
    except RequestRedirect:   # e.g. a missing trailing slash: the browser follows it to the page
        return True
    except HTTPException:     # 405, or 404: no page there
        return False
    return True


TOO_MANY_LOGINS = ("Too many failed log-in attempts. Wait a few minutes, then try again. / "
                   "ログインの失敗が多すぎます。数分待ってからもう一度お試しください。")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["STAFF_LOGIN_LIMITS"], methods=["POST"], deduct_when=_login_failed)
def login():
    error = None
    if request.method == "POST":
        name = request.form.get("username", "").strip()[:64]
        if _name_refused(name):   # the password is not even checked
            return render_template("safety/login.html", error=TOO_MANY_LOGINS), 429
        user = db.session.execute(select(StaffUser).where(StaffUser.username == name)).scalar() if name else None
        if _password_ok(user, request.form.get("password", "")):
            session.clear()   # a fresh session on log-in: nothing from before carries over
            login_user(StaffLogin(user))
            response = redirect(_safe_next(request.args.get("next")))
            _remember_browser(response, user.username)
            return response
        _count_failure(name)
        error = "Wrong name or password. / 名前またはパスワードが違います。"
    return render_template("safety/login.html", error=error), 401 if error else 200


@bp.post("/logout")
def logout():
    logout_user()
    session.clear()
    return redirect(url_for("staff.login"))


def _queue_page(errors: dict | None = None, status: int = 200, chosen: dict | None = None):
    inquiries = safety.pending(db.session)
    # Whose consent came from the public self-report page (anyone can claim to be anyone there):
    # staff should know the person's own word is unverified before they release anything.
    persons = {p.id: p for p in db.session.scalars(
        select(Person).where(Person.id.in_([i.person_id for i in inquiries if i.person_id])))}
    self_consent = {i.id for i in inquiries if i.person_id in persons
                    and persons[i.person_id].consent_source == "self"}
    # An error about an inquiry no longer in the queue (decided meanwhile by someone else) is said on top.
    waiting = {i.id for i in inquiries}
    elsewhere = [(i, message) for i, message in (errors or {}).items() if i not in waiting]
    return render_template("safety/queue.html", inquiries=inquiries, errors=errors or {}, elsewhere=elsewhere,
                           self_consent=self_consent, chosen=chosen or {}), status


@bp.get("/inquiries")
@login_required
def queue():
    return _queue_page()


@bp.post("/inquiries/<inquiry_id>/<decision>")
@login_required
def decide(inquiry_id: str, decision: str):
    if decision not in ("release", "reject"):
        abort(404)
    form = ReviewForm()
    note = form.note.data or ""
    try:
        if decision == "release":
            if not form.validate():   # a record that is no number: not one the inquiry matches
                raise safety.ReviewError("the chosen record is not a record id", code="stale_choice")
            safety.release(db.session, inquiry_id, current_user.username, note, form.record.data)
        else:
            safety.reject(db.session, inquiry_id, current_user.username, note)
    except safety.ReviewError as exc:
        db.session.rollback()
        return _queue_page({inquiry_id: review_error(exc)}, 422, {inquiry_id: form.record.data})
    if decision == "release":
        notify.after_change(current_app._get_current_object())
    flash(f"{inquiry_id}: {decision}d")
    return redirect(url_for("staff.queue"))


@bp.get("/audit")
@login_required
def audit():
    q = request.args.get("q", "")[:100]
    return render_template("safety/audit.html", entries=safety.search_audit(db.session, q), q=q)
