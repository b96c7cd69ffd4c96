"""HQ staff: login (Flask-Login), the review queue of safety inquiries, the audit log."""
from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import secrets
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import LoginManager, current_user, login_required, login_user, logout_user
from sqlalchemy import select
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect
from werkzeug.security import check_password_hash, generate_password_hash

from evac.staff_lockout import StaffLockout, give_back

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
        self.password_mark = password_mark(user)
        self.is_authenticated, self.is_active, self.is_anonymous = True, True, False

    def get_id(self) -> str:
        # The session cookie names the password too (a digest of its hash): a new password ends every
        # log-in made with the old one (one seen over a shoulder, say).
        return f"{self.id}:{self.password_mark}"


def password_mark(user: StaffUser) -> str:
    # The hash is salted, so even the same password set again makes a new mark.
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


@login_manager.user_loader
def _load(user_id: str):
    # Looked up on every request: a disabled account, or a password changed since the log-in, is
    # logged out at its next request.  (A cookie from before the mark was kept logs in again.)
    account_id, _, mark = user_id.partition(":")
    user = db.session.get(StaffUser, int(account_id)) if account_id.isdigit() else None
    if user is None or user.disabled_at is not None or not hmac.compare_digest(mark, password_mark(user)):
        return None
    return StaffLogin(user)


def add_staff(session, username: str, password: str) -> None:
    username = username.strip()
    if not username or len(username) > 64:
        raise ValueError("a staff name is 1 to 64 characters")
    _check_password(password)
    if session.execute(select(StaffUser).where(StaffUser.username == username)).first():
        raise ValueError(f"there is already a staff member called {username!r}")
    session.add(StaffUser(username=username, password_hash=generate_password_hash(password),
                          created_at=dt.datetime.now(dt.timezone.utc)))
    session.commit()


MIN_PASSWORD = 10


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"the password must be at least {MIN_PASSWORD} characters")


def _staff_member(session, username: str) -> StaffUser:
    user = session.execute(select(StaffUser).where(StaffUser.username == username.strip())).scalar()
    if user is None:
        known = session.scalars(select(StaffUser.username).order_by(StaffUser.username)).all()
        raise ValueError(f"there is no staff member called {username.strip()!r}"
                         + (f" (HQ's staff: {', '.join(known)})" if known else " (HQ has no staff yet: add-staff)"))
    return user


def disable_staff(session, username: str) -> StaffUser:
    """Someone who left: their log-ins end at their next request and their password is refused.  The
    account stays, so the reviews and audit entries it made keep its name."""
    user = _staff_member(session, username)
    if user.disabled_at is None:
        user.disabled_at = dt.datetime.now(dt.timezone.utc)
    session.commit()
    return user


def enable_staff(session, username: str) -> StaffUser:
    user = _staff_member(session, username)
    user.disabled_at = None
    session.commit()
    return user


def set_password(session, username: str, password: str) -> StaffUser:
    """A new password: every log-in made with the old one ends at its next request."""
    _check_password(password)
    user = _staff_member(session, username)
    user.password_hash = generate_password_hash(password)
    session.commit()
    return user


def _give_back_address_tries() -> None:
    """The per-address limit counts every log-in as it arrives (guesses sent at the same moment cannot
    slip past it); one with the right password was no guess and is taken off again."""
    give_back(limiter.limiter, [request_limit.key for request_limit in limiter.current_limits])


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


def _try_name(name: str) -> list[str] | None:
    """This try counted against the name (and browser) before its password is checked; None: refused."""
    config = current_app.config
    return LOCKOUT.try_password(limiter.limiter, name, _browser(), config["STAFF_LOGIN_NAME_LIMIT"],
                                config["STAFF_LOGIN_BROWSER_LIMIT"])


@functools.cache
def _dummy_hash() -> str:
    return generate_password_hash(secrets.token_hex(16))


def _password_ok(user: StaffUser | None, password: str) -> bool:
    # An unknown name costs the same hash check as a known one: the answer's time must not tell a
    # stranger which staff names exist.
    ok = check_password_hash(user.password_hash if user else _dummy_hash(), password)
    return ok and user is not None and user.disabled_at is None   # disabled: as a wrong password


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


def _own_browser() -> bool:
    """The log-in comes from a browser the name it gives has logged in on (its signed mark): the
    per-address limit is not for it.  Behind one proxy or NAT every guesser shares HQ's staff's
    address, and 60 wrong passwords an hour from anyone would lock every staff member out; the name's
    own limit for that browser (StaffLockout) still holds."""
    return request.form.get("username", "").strip()[:64] in _browser()["names"]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["STAFF_LOGIN_LIMITS"], methods=["POST"], exempt_when=_own_browser)
def login():
    error = None
    if request.method == "POST":
        name = request.form.get("username", "").strip()[:64]
        tried = _try_name(name)
        if tried is None:   # the password is not even checked
            return render_template("safety/login.html", error=TOO_MANY_LOGINS), 429
        user = db.session.execute(select(StaffUser).where(StaffUser.username == name)).scalar() if name else None
        if _password_ok(user, request.form.get("password", "")):
            give_back(limiter.limiter, tried)
            _give_back_address_tries()
            session.clear()   # a fresh session on log-in: nothing from before carries over
            login_user(StaffLogin(user))
            response = redirect(_safe_next(request.args.get("next")))
            _remember_browser(response, user.username)
            return response
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
