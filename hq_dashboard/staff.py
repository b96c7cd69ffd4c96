"""HQ staff: login (Flask-Login), the review queue of safety inquiries, the audit log (by role: roles.py)."""
from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import ipaddress
import math
import secrets
from urllib.parse import urlencode, urlsplit

from flask import (
    Blueprint, abort, current_app, flash, g, has_request_context, redirect, render_template, request, session, url_for,
)
from flask_login import LoginManager, current_user, login_url, login_user, logout_user
from sqlalchemy import delete, select, update
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

from evac.disclosure import ANSWER_FIELDS, STATUTORY, answer_after_review
from evac.individual_number import contains_individual_number
from evac.passwords import hash_password, password_matches
from evac.staff_lockout import StaffLockout, give_back

from kiosk.secure_cookies import secure_cookie
from . import notify, safety
from .db import WriterBusy, db, lock_wait_at_most, one_writer
from .limits import client_network, limiter
from .models import Person, StaffSession, StaffUser
from .roles import (AUDIT, DESK, HQ, INQUIRIES, LEAD, check_role, home, may_open, not_open_notice, staff_only,
                    template_words)
from .safety_pages import ReviewForm, review_error

bp = Blueprint("staff", __name__, url_prefix="/staff")
login_manager = LoginManager()
login_manager.login_view = "staff.login"
login_manager.login_message = "Please log in as HQ staff. / 本部職員としてログインしてください。"


class StaffLogin:
    """What Flask-Login keeps of a staff member: the id, the name and the log-in (StaffSession)."""

    def __init__(self, user: StaffUser, session_id: str):
        self.id, self.username, self.role = user.id, user.username, user.role
        self.session_id = session_id
        self.is_authenticated, self.is_active, self.is_anonymous = True, True, False

    def get_id(self) -> str:
        # What the cookie holds: the account and its log-in's random id, looked up on every request.
        return f"{self.id}:{self.session_id}"


# --- log-ins kept at HQ (StaffSession) --------------------------------------------------------------
#
# Idle: STAFF_IDLE_MINUTES (default 30).  A disaster HQ is crowded (volunteers, other agencies, the
# press) and its PCs are shared, so a PC left logged in must not stay open on evacuees' details for
# long; yet staff are called away to the phone or a meeting all day, and half an hour is what such
# an interruption takes without a new log-in.  Typing on a staff page counts as use
# (static/staff_idle.js); a page's own reload and the public pages do not (_counts_as_use).
# Shift: STAFF_SESSION_HOURS (default 8, as PERMANENT_SESSION_LIFETIME): no log-in outlives a shift.

SEEN_EVERY = dt.timedelta(seconds=60)   # last_seen_at is written at most this often (seen_every)
ENDED_LOGOUT, ENDED_IDLE, ENDED_SHIFT, ENDED_DISABLED, ENDED_PASSWORD, ENDED_ROLE = \
    "logout", "idle", "shift", "disabled", "password", "role"

IDLE_MESSAGE = ("{minutes}分間操作がなかったため、ログアウトしました。もう一度ログインしてください。 / "
                "You were logged out after {minutes} minutes without use. Please log in again.")
SHIFT_MESSAGE = ("ログインから{hours}時間たったため、ログアウトしました。もう一度ログインしてください。 / "
                 "You were logged out {hours} hours after logging in. Please log in again.")
ROLE_MESSAGE = ("あなたの役割が変更されたため、ログアウトしました。もう一度ログインしてください。 / "
                "Your role was changed, so you were logged out. Please log in again.")
NOT_SAVED = ("送信された内容は保存されていません。ログイン後にもう一度入力してください。 / "
             "What you sent was NOT saved: enter it again after logging in.")
TYPED_LOST = ("入力途中の内容は送信されず、保存されていません。ログイン後にもう一度入力してください。 / "
              "What was typed on the page was not sent and NOT saved: enter it again after logging in.")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _utc(t: dt.datetime) -> dt.datetime:
    # SQLite gives the stored UTC time back without its zone; PostgreSQL with it.
    return t.replace(tzinfo=dt.timezone.utc) if t.tzinfo is None else t


def idle_limit() -> dt.timedelta:
    return dt.timedelta(minutes=float(current_app.config["STAFF_IDLE_MINUTES"]))


def shift_limit() -> dt.timedelta:
    return dt.timedelta(hours=float(current_app.config["STAFF_SESSION_HOURS"]))


def _id_hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def start_session(user: StaffUser) -> str:
    """A new log-in for `user`; returns its random id (for the cookie only: HQ keeps its hash).
    Log-ins unused for a week go on the way: a week is past any limit, and the table stays small."""
    now = _now()
    session_id = secrets.token_urlsafe(32)
    user_id = user.id
    db.session.rollback()   # (see _write)
    with one_writer(db.engine):
        db.session.execute(delete(StaffSession).where(StaffSession.last_seen_at < now - dt.timedelta(days=7)))
        db.session.add(StaffSession(id_hash=_id_hash(session_id), user_id=user_id, created_at=now, last_seen_at=now))
        db.session.commit()
    return session_id


def _ended(session_id: str, why: str):
    return (update(StaffSession).where(StaffSession.id_hash == _id_hash(session_id), StaffSession.ended_at.is_(None))
            .values(ended_at=_now(), ended_why=why))


def end_session(session_id: str, why: str = ENDED_LOGOUT) -> None:
    db.session.rollback()   # (see _write)
    with one_writer(db.engine):
        db.session.execute(_ended(session_id, why))
        db.session.commit()


def _end_all(session, user: StaffUser, why: str) -> None:
    """Every live log-in of `user` ends (in the caller's transaction)."""
    session.execute(update(StaffSession).where(StaffSession.user_id == user.id, StaffSession.ended_at.is_(None))
                    .values(ended_at=_now(), ended_why=why))


def _counts_as_use() -> bool:
    """Whether this request is staff at work: a page of HQ's staff, or a form they sent; not a page
    reloading itself (the dashboard every 15 s, ?auto=1; a staff page at the idle limit, ?idle=1), nor
    a public page (the occupancy table reloads itself every 5 s, the map polls its markers), which
    would keep an unattended PC logged in for the whole shift."""
    if request.endpoint in POLLS or any(request.args.get(mark) == "1" for mark in ("auto", "idle")):
        return False
    return request.method == "POST" or request.path.startswith(STAFF_AREAS)


POLLS = ("api.shelters", "static")
STAFF_AREAS = ("/staff", "/dashboard", "/export")   # what only logged-in staff may open (and no cache keeps)


@login_manager.user_loader
def _load(user_id: str):
    # Looked up on every request: a log-in ended (log-out, idle, shift over, account disabled, new
    # password) is refused for every copy of its cookie.  Why it ended is kept for the log-in page.
    account_id, _, session_id = user_id.partition(":")
    if not account_id.isdigit() or not session_id:
        return None   # a cookie from before log-ins were kept at HQ: log in again
    row = db.session.execute(select(StaffSession, StaffUser).join(StaffUser, StaffUser.id == StaffSession.user_id)
                             .where(StaffSession.id_hash == _id_hash(session_id))).first()
    if row is None or row.StaffUser.id != int(account_id):
        return None
    login, user = row.StaffSession, row.StaffUser
    if login.ended_at is not None:
        g.staff_logged_out = login.ended_why
        return None
    now = _now()
    why = (ENDED_DISABLED if user.disabled_at is not None
           else ENDED_SHIFT if now - _utc(login.created_at) > shift_limit()
           else ENDED_IDLE if now - _utc(login.last_seen_at) > idle_limit() else None)
    if why is not None:
        g.staff_logged_out = why
        _write(_ended(session_id, why))
        return None
    staff = StaffLogin(user, session_id)
    if _counts_as_use() and now - _utc(login.last_seen_at) >= seen_every():
        _write(update(StaffSession).where(StaffSession.id_hash == login.id_hash, StaffSession.ended_at.is_(None))
               .values(last_seen_at=now))
    return staff


BOOKKEEPING_WAIT_S = 2


def _write(statement) -> None:
    """A log-in's bookkeeping, at the start of the request (load_staff).  A database kept busy (a
    large kiosk sync) must not hold up or fail the page: after BOOKKEEPING_WAIT_S it is left, and the
    next request tries again (the log-in is judged all the same)."""
    # The read above ends first: on SQLite a read snapshot carried into a write fails when another
    # writer committed in between (as in safety.submit).
    db.session.rollback()
    try:
        with one_writer(db.engine, BOOKKEEPING_WAIT_S), db.engine.begin() as conn, \
                lock_wait_at_most(conn, BOOKKEEPING_WAIT_S):
            conn.execute(statement)
    except (SQLAlchemyError, WriterBusy):
        current_app.logger.warning("could not note an HQ staff log-in's use or end", exc_info=True)


def load_staff() -> None:
    """Before anything else in the request: the log-in is checked (and its use noted) while the
    request's database session is fresh, not in the middle of a view's own transaction."""
    if "_user_id" in session and request.endpoint != "static":
        current_user._get_current_object()


@login_manager.unauthorized_handler
def _unauthorized():
    """To the log-in page with `next` (back to this page after it), saying why: a log-in that lay
    unused or outlived the shift says so, and a form sent after it says it was not saved."""
    flash(logged_out_message())
    if request.method == "POST":
        flash(NOT_SAVED)
        return redirect(url_for("staff.login", next=form_page()))
    if request.args.get("unsaved") == "1":   # the page reloaded itself with something typed on it
        flash(TYPED_LOST)
    here = request.url
    if any(mark in request.args for mark in SELF_MARKS):   # back to the page itself, not its self-reload
        args = {k: v for k, v in request.args.items() if k not in SELF_MARKS}
        here = url_for(request.endpoint, **(request.view_args or {}), **args)
    return redirect(login_url("staff.login", next_url=here))


def form_page() -> str | None:
    """The page the form sent now was on, to go back to after logging in (a form's own address may take no
    GET: _safe_next).  The same host, whatever its port: behind HQ's proxy on a port of its own (8443), the
    Host the proxy passes on has none.  Only the path and query are kept (_safe_next checks them again)."""
    referrer = urlsplit(request.referrer or "")
    return (referrer.path + (f"?{referrer.query}" if referrer.query else "")
            if referrer.hostname and referrer.hostname == urlsplit(f"//{request.host}").hostname else None)


# What a page adds to its own reload: the dashboard's every 15 s (auto), a staff page's at the idle
# limit (idle), with something typed on it (unsaved, static/staff_idle.js).
SELF_MARKS = ("auto", "unsaved", "idle")


def logged_out_message() -> str:
    """What the log-in page says to someone sent to it: why, if their log-in lay unused or outlived
    the shift (a form they sent was not saved: they must know it was the time, not a fault)."""
    why = g.get("staff_logged_out")
    if why == ENDED_IDLE:
        return IDLE_MESSAGE.format(minutes=_whole(current_app.config["STAFF_IDLE_MINUTES"]))
    if why == ENDED_SHIFT:
        return SHIFT_MESSAGE.format(hours=_whole(current_app.config["STAFF_SESSION_HOURS"]))
    if why == ENDED_ROLE:
        return ROLE_MESSAGE
    return login_manager.login_message


def _whole(number) -> int:
    return max(1, math.ceil(float(number)))


def seen_every() -> dt.timedelta:
    # A short idle limit (a test's, or a cautious HQ's) is noted more often, so typing keeps it alive.
    return min(SEEN_EVERY, idle_limit() / 4)


# Staff pages that reload themselves once unused for the idle limit (static/staff_idle.js), so HQ
# logs them out and no evacuee's details stay on a shared PC's screen.  (The dashboard reloads every
# 15 seconds anyway; the public pages are not staff pages, even with staff logged in.)
IDLE_PAGES = ("/staff/",)   # the review queue, the audit log, the carried records
IDLE_RELOAD_MARGIN = 3   # seconds past the idle limit: HQ finds the log-in idle when the page comes back


bp.app_context_processor(template_words)


@bp.app_context_processor
def _idle_page() -> dict:
    if not has_request_context() or not request.path.startswith(IDLE_PAGES) or not current_user.is_authenticated:
        return {}
    # A page shown after a POST comes back as a GET of a page (a form's own address may take none).
    if request.method == "GET":
        args = {k: v for k, v in request.args.items(multi=True) if k not in SELF_MARKS}
        to = request.path + ("?" + urlencode(args) if args else "")
    else:
        to = _safe_next(request.path)
    # Marked as the page's own reload (idle=1): not use, so it finds the log-in idle and ends it.
    reload = to + ("&" if "?" in to else "?") + "idle=1"
    return {"staff_idle": {"seconds": math.ceil(idle_limit().total_seconds()), "margin": IDLE_RELOAD_MARGIN,
                           "ping": math.ceil(seen_every().total_seconds()),
                           "alive": url_for("staff.alive"), "to": reload}}


@bp.get("/alive")
@staff_only(HQ)
def alive():
    """Someone is typing on a staff page (static/staff_idle.js): the log-in's use was noted on the way."""
    return "", 204


def command_line(command: str) -> str:
    """Who changed an account from the command line (no staff log-in there): the OS user and the command."""
    try:
        os_user = getpass.getuser()
    except Exception:   # no login name in the environment nor the password database (a bare container)
        os_user = "?"
    return f"{os_user} (evac hq {command})"[:64]


ACCOUNT_ENTRY = ""   # the audit entry's inquiry: none, for a change to a staff account (audit.html)


def _account_audit(session, by: str, action: str, user: StaffUser, **detail) -> None:
    """A change to a staff account, in the audit log beside the inquiries' (no inquiry: ACCOUNT_ENTRY)."""
    safety.audit(session, ACCOUNT_ENTRY, by[:64], action, staff=user.username, **detail)


def add_staff(session, username: str, password: str, role: str = DESK, by: str | None = None) -> None:
    """A new account; its role is the least (desk) unless one is named (災対法 §86-15: safety information
    only for the staff the city designated)."""
    username = username.strip()
    if not username or len(username) > 64:
        raise ValueError("職員名は1〜64文字です / a staff name is 1 to 64 characters")
    if contains_individual_number(username):   # 番号法 §20: kept, and in every audit entry the staff member makes
        raise ValueError("職員名に個人番号（マイナンバー）を入れてはいけません / a staff name must not hold an Individual "
                         "Number (My Number)")
    check_role(role)
    _check_password(password)
    if session.execute(select(StaffUser).where(StaffUser.username == username)).first():
        raise ValueError(f"{username!r} という職員はすでにいます / there is already a staff member called {username!r}")
    user = StaffUser(username=username, password_hash=hash_password(password), role=role,
                     created_at=dt.datetime.now(dt.timezone.utc))
    session.add(user)
    _account_audit(session, by or command_line("add-staff"), "staff_added", user, role=role)
    session.commit()


def set_role(session, username: str, role: str, by: str | None = None) -> tuple[StaffUser, str]:
    """A new role: every log-in of the account ends now, so no page opened under the old role stays
    open (a queue of inquiries on the screen of someone who no longer handles them).  Returns the
    account and its role before."""
    check_role(role)
    user = _staff_member(session, username)
    before = user.role
    if before != role:
        user.role = role
        if before == LEAD and user.disabled_at is None:
            _a_lead_left(session, user.username, f"「{role}」に変更できません", f"cannot be made {role}")
        _end_all(session, user, ENDED_ROLE)
        _account_audit(session, by or command_line("set-role"), "staff_role_changed", user, before=before,
                       role=role)
    session.commit()
    return user, before


def _a_lead_left(session, name: str, change_ja: str, change_en: str) -> None:
    """After a change that took a lead away (written, not committed): refused, and undone, when no
    enabled lead is left, for nobody would read the audit log or give roles.  The change is written
    first, so of two such changes at once the second waits for the first and sees it (PostgreSQL's row
    locks, SQLite's one writer)."""
    session.flush()
    left = session.scalars(select(StaffUser.id).where(StaffUser.role == LEAD, StaffUser.disabled_at.is_(None))
                           .order_by(StaffUser.id).limit(1).with_for_update()).first()
    if left is None:
        session.rollback()
        raise ValueError(f"{name} は最後の有効な責任者（lead）のため{change_ja}。先に別のアカウントを"
                         f"責任者にしてください（evac hq set-role NAME lead）。何も変更していません / "
                         f"{name} is HQ's last enabled lead and {change_en}: make another account a lead "
                         "first (evac hq set-role NAME lead); nothing was changed")


def staff_list(session) -> list[StaffUser]:
    return list(session.scalars(select(StaffUser).order_by(StaffUser.username)))


MIN_PASSWORD = 10


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"パスワードは {MIN_PASSWORD} 文字以上にしてください / the password must be at least "
                         f"{MIN_PASSWORD} characters")


def _staff_member(session, username: str) -> StaffUser:
    user = session.execute(select(StaffUser).where(StaffUser.username == username.strip())).scalar()
    if user is None:
        known = session.scalars(select(StaffUser.username).order_by(StaffUser.username)).all()
        name = username.strip()
        if known:
            ja, en = f"（本部の職員: {'、'.join(known)}）", f" (HQ's staff: {', '.join(known)})"
        else:
            ja, en = "（本部にはまだ職員がいません。evac hq add-staff で追加してください）", " (HQ has no staff yet: add-staff)"
        raise ValueError(f"{name!r} という職員はいません{ja} / there is no staff member called {name!r}{en}")
    return user


def disable_staff(session, username: str, by: str | None = None) -> StaffUser:
    """Someone who left: their log-ins end now and their password is refused.  The account stays, so
    the reviews and audit entries it made keep its name."""
    user = _staff_member(session, username)
    if user.disabled_at is None:
        user.disabled_at = dt.datetime.now(dt.timezone.utc)
        if user.role == LEAD:
            _a_lead_left(session, user.username, "無効にできません", "cannot be disabled")
        _account_audit(session, by or command_line("disable-staff"), "staff_disabled", user, role=user.role)
    _end_all(session, user, ENDED_DISABLED)
    session.commit()
    return user


def enable_staff(session, username: str, by: str | None = None) -> StaffUser:
    user = _staff_member(session, username)
    if user.disabled_at is not None:
        user.disabled_at = None
        _account_audit(session, by or command_line("enable-staff"), "staff_enabled", user, role=user.role)
    session.commit()
    return user


def set_password(session, username: str, password: str, by: str | None = None) -> StaffUser:
    """A new password: every log-in made with the old one (one seen over a shoulder, say) ends now."""
    _check_password(password)
    user = _staff_member(session, username)
    user.password_hash = hash_password(password)
    _end_all(session, user, ENDED_PASSWORD)
    _account_audit(session, by or command_line("set-password"), "staff_password_changed", user)
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
                        max_age=365 * 24 * 3600, httponly=True, samesite="Lax", secure=secure_cookie())


def _try_name(name: str) -> list[str] | None:
    """This try counted against the name (and browser) before its password is checked; None: refused."""
    config = current_app.config
    return LOCKOUT.try_password(limiter.limiter, name, _browser(), config["STAFF_LOGIN_NAME_LIMIT"],
                                config["STAFF_LOGIN_BROWSER_LIMIT"], trusted_place=_trusted_place())


def _trusted_place() -> str | None:
    """The client's address when it is in one of HQ's own networks (STAFF_TRUSTED_NETWORKS), else None."""
    networks = current_app.config["STAFF_TRUSTED_NETWORKS"]
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return None
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return client_network() if any(address in n for n in networks) else None


def _password_ok(user: StaffUser | None, password: str) -> bool:
    # An unknown name (None) costs the same hash check as a known one (password_matches).
    ok = password_matches(user.password_hash if user else None, password)
    return ok and user is not None and user.disabled_at is None   # disabled: as a wrong password


def _safe_next(target: str | None, role: str | None = None) -> str:
    """Where to send staff: `target` if it is a page on this site that their role opens, else the first
    page of their role (a desk account is not sent to the inquiry queue to be refused there)."""
    return _next_page(target, role if role is not None else current_user.role)[0]


def _next_page(target: str | None, role: str) -> tuple[str, bool]:
    """(_safe_next's page, whether `target` was a page of this site that the role does not open)."""
    # Only a path on this site: a crafted ?next= must not send staff to another one.
    # (no "//host", no backslash or tab that a browser would read as one)
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target \
            and target.isprintable():
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and _a_page(parts.path):
            area = _page_area(parts.path)
            if area is None or may_open(area, role):
                return target, False
            return home(role), True
    return home(role), False


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


def _page_area(path: str) -> str | None:
    """The staff area of the page at `path` (staff_only), None for a page anyone opens."""
    try:
        endpoint, _args = current_app.url_map.bind("").match(path, method="GET")
    except RequestRedirect as redirect_to:
        return _page_area(urlsplit(redirect_to.new_url).path)
    except HTTPException:
        return None
    return getattr(current_app.view_functions.get(endpoint), "staff_area", None)


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
            login_user(StaffLogin(user, start_session(user)))
            to, not_open = _next_page(request.args.get("next"), user.role)
            if not_open:   # not a silent landing elsewhere: staff know the page was not theirs to open
                flash(not_open_notice(user.role), "role")
            response = redirect(to)
            _remember_browser(response, user.username)
            return response
        error = "Wrong name or password. / 名前またはパスワードが違います。"
    return render_template("safety/login.html", error=error), 401 if error else 200


@bp.post("/logout")
def logout():
    if current_user.is_authenticated:   # ended at HQ: a copy of the cookie is logged out too
        end_session(current_user.session_id)
    logout_user()
    session.clear()
    return redirect(url_for("staff.login"))


# The queue says the relationship an inquirer claimed, and what a release gives for it, in words
# (staff pages are Japanese/English: hq_dashboard.i18n).
RELATIONSHIP_WORDS = {
    "household_family": "同居の家族（事実婚を含む） / Family living with them (incl. a de facto spouse)",
    "relative": "その他の親族 / Other relative",
    "workplace": "職場の関係者 / Workplace",
    "other": "知人など / Acquaintance or other",
}
ANSWER_WORDS = {
    "information_exists": "安否情報の有無 / whether the city holds information",
    "whereabouts": "居場所（避難所名） / whereabouts (the shelter)",
    "injury_or_illness": "負傷・疾病 / injury or illness",
    "contact": "連絡先（電話番号） / contact (phone number)",
}
NOTHING_RELEASED = "「情報なし」と同じ回答 / the same answer as for someone unknown (no information)"


def _in_words(fields) -> str:
    return "、".join(ANSWER_WORDS[f] for f in ANSWER_FIELDS if f in fields)


def _what_a_release_gives(inquiries, found: dict) -> dict:
    """For each waiting inquiry: what a release would tell the inquirer, in words, and, when it names one
    unprotected record, that record's address and household, so staff can check a claimed relationship
    (同居: living together) against the record before releasing its tier.  `found`: the record each
    inquiry names now (_found_now), the one the tier is of."""
    facts = {}
    for row in inquiries:
        tier, record = NOTHING_RELEASED, None
        # Flagged when received, or protected since (a lead marked the person never-disclose after the
        # inquiry came): either way staff are warned, and shown no record of them.
        flagged = row.flagged or safety.asks_about_protected(db.session, safety.inquiry_of(row))
        if not flagged:
            inquiry, person = safety.inquiry_and_person(db.session, row)
            if person is not None and not person.never_disclose:
                tier = _in_words(answer_after_review(inquiry, person).shown) or NOTHING_RELEASED
                record = found.get(row.id)
            elif row.relationship in STATUTORY and safety.several_matching(db.session, inquiry):
                # (what the chosen record's consent adds is not known until staff choose it)
                tier = "選んだ記録について / about the record chosen: " + _in_words(STATUTORY[row.relationship])
        facts[row.id] = {"relationship": RELATIONSHIP_WORDS.get(row.relationship, row.relationship),
                         "tier": tier, "record": record, "flagged": flagged,
                         "household": _household_of(record) if record is not None else []}
    return facts


def _found_now(inquiries) -> dict[str, Person]:
    """The record each waiting inquiry names now (safety.matching_record, the lookup its tier is decided by),
    by inquiry id; none for one that names nobody, several, or could mean a protected person.  Not the
    record it matched when it came (person_id): it may have come before the person was recorded."""
    found = {}
    for row in inquiries:
        if row.flagged:
            continue
        record = safety.matching_record(db.session, safety.inquiry_of(row))
        if record is not None:
            found[row.id] = record
    return found


def _household_of(record: Person) -> list[Person]:
    """The others recorded in the record's household (a kiosk's family check-in), oldest first; none that
    protection reaches (a child who fled with a protected mother, now with his grandmother): staff would
    check "living together" against him with the inquirer on the phone (災対法 §86-15)."""
    if not record.household_id:
        return []
    members = list(db.session.scalars(select(Person).where(Person.household_id == record.household_id,
                                                            Person.id != record.id).order_by(Person.birth_date)))
    protected = safety.protected_among(db.session, members)   # (the inquiries' own rule, all their days at once)
    return [m for m in members if m.id not in protected]


def _queue_page(errors: dict | None = None, status: int = 200, chosen: dict | None = None):
    # Hundreds may wait about people born on one day: each birth date's records are read once for the page.
    with safety.one_reading(db.session):
        return _queue_page_read(errors, status, chosen)


def _queue_page_read(errors: dict | None, status: int, chosen: dict | None):
    inquiries = safety.pending(db.session)
    found = _found_now(inquiries)
    # Whose consent came from the public self-report page (anyone can claim to be anyone there):
    # staff should know the person's own word is unverified before they release anything.
    seen = safety.recorded_beyond_self_report(db.session, (p.id for p in found.values())) if found else set()
    # Known only from self-reports: a release says "no information" (evac.disclosure), and staff say why.
    only_self = {i for i, p in found.items() if p.id not in seen}
    self_consent = {i for i, p in found.items() if i not in only_self and p.consent_source == "self"}
    # Or from a kiosk of a shelter where they have not been recorded (a copied kiosk token could send it).
    away_consent = {i for i, p in found.items() if i not in only_self and p.consent_source == "away"}
    # Or with a pre-registration QR (HQ's public page signs whatever anyone types): it answers nothing at once.
    qr_consent = {i for i, p in found.items() if i not in only_self and p.consent_unproven}
    # An error about an inquiry no longer in the queue (decided meanwhile by someone else) is said on top.
    waiting = {i.id for i in inquiries}
    elsewhere = [(i, message) for i, message in (errors or {}).items() if i not in waiting]
    return render_template("safety/queue.html", inquiries=inquiries, errors=errors or {}, elsewhere=elsewhere,
                           self_consent=self_consent, away_consent=away_consent, qr_consent=qr_consent,
                           only_self=only_self,
                           chosen=chosen or {}, confirmed_by=safety.CONFIRMED_BY,
                           gives=_what_a_release_gives(inquiries, found)), status


@bp.get("/inquiries")
@staff_only(INQUIRIES)
def queue():
    return _queue_page()


@bp.post("/inquiries/<inquiry_id>/<decision>")
@staff_only(INQUIRIES)
def decide(inquiry_id: str, decision: str):
    if decision not in ("release", "reject"):
        abort(404)
    form = ReviewForm()
    note = form.note.data or ""
    try:
        if decision == "release":
            if not form.validate():   # a record that is no number: not one the inquiry matches
                raise safety.ReviewError("the chosen record is not a record id", code="stale_choice")
            safety.release(db.session, inquiry_id, current_user.username, safety.how_confirmed(form.how.data, note),
                           form.record.data, role=current_user.role)
            done = "回答しました / released"
        else:
            kept = safety.reject(db.session, inquiry_id, current_user.username, note, role=current_user.role)
            # Back after a "no information" release, refusing keeps that answer (safety._keep_no_information).
            done = ("「情報なし」の回答のままにしました / the answer stays \"no information\""
                    if kept["status"] == "released" else "断りました / refused")
    except safety.ReviewError as exc:
        db.session.rollback()
        return _queue_page({inquiry_id: review_error(exc)}, 422, {inquiry_id: form.record.data})
    if decision == "release":
        notify.after_change(current_app._get_current_object())
    flash(f"{inquiry_id}: {done}")
    return redirect(url_for("staff.queue"))


@bp.get("/audit")
@staff_only(AUDIT)
def audit():
    q = request.args.get("q", "")[:100]
    return render_template("safety/audit.html", entries=safety.search_audit(db.session, q), q=q)
