"""Staff log-in: one account per person (Flask-Login), roles staff and lead, an idle timeout,
failed log-ins rate-limited (Flask-Limiter), and a CSRF check on every staff form (Flask-WTF).

Each log-in is a row in the kiosk database (staff_store.start_session) and the session cookie only
names it: logging out or timing out deletes the row, so a copy of the cookie stops working too."""
from __future__ import annotations

import functools
import math
import sqlite3
import time
from pathlib import Path
from urllib.parse import quote, urlsplit

from flask import (
    Blueprint, Flask, abort, current_app, flash, g, redirect, render_template, request, session, url_for,
)
from flask_babel import get_locale
from flask_limiter import Limiter
from flask_limiter.errors import RateLimitExceeded
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_wtf.csrf import CSRFError, generate_csrf, validate_csrf
from wtforms import ValidationError

from evac.events import InvalidEvent
from evac.staff_lockout import StaffLockout, give_back

from ..clients import client_key
from ..secure_cookies import secure_cookie
from .. import disk_failure, staff_store
from ..db import get_store
from ..store import Acting, KioskError, KioskStore, acting_staff
from .forms import ActionForm, LoginForm
from . import held, refusals, times
from .i18n import STAFF_LANGUAGES, gettext as t

bp = Blueprint("staff_auth", __name__, url_prefix="/staff")
login_manager = LoginManager()
# In memory: a kiosk is one process, and a restart forgetting the counts is harmless.
limiter = Limiter(lambda: client_key(get_remote_address()), storage_uri="memory://")


class StaffUser(UserMixin):
    def __init__(self, account: staff_store.StaffAccount, login: staff_store.LoginSession):
        self.account = account
        self.id = str(account.id)
        self.login = login
        self.session_id = login.id
        self.name = account.name
        self.role = account.role
        self.is_lead = account.is_lead

    def get_id(self) -> str:
        # What the cookie holds: the account and its log-in session, looked up on every request.
        return f"{self.id}:{self.session_id}"


IDLE_REFRESH_MARGIN = 3  # seconds past the idle limit (the guard counts whole seconds: 2 would do)


def idle_seconds() -> float:
    return float(current_app.config["STAFF_IDLE_MINUTES"]) * 60


def _unwritten() -> staff_store.UnwrittenSessions:
    """Log-ins and their use the disk would not take, held in memory (a full disk logs nobody out)."""
    return current_app.extensions["staff_unwritten_sessions"]


@login_manager.user_loader
def _load(user_id: str):
    account_id, _, session_id = user_id.partition(":")
    if not session_id:
        return None  # a cookie from before log-in sessions were kept: log in again
    try:
        login = staff_store.login_session(get_store(), int(account_id), session_id, idle_seconds(), _unwritten())
    except ValueError:
        return None
    except sqlite3.Error:
        # The database cannot be opened (kiosk.db: deleted or replaced): the request's own use of it
        # says so (_store_first), and the page saying it must render without a user.
        return None
    return StaffUser(login.account, login) if login else None


def init_auth(app: Flask) -> None:
    if not app.config.get("SECRET_KEY"):
        store = KioskStore(app.config["KIOSK_DB"])
        try:
            app.config["SECRET_KEY"] = staff_store.secret_key(store)
        finally:
            store.close()
    # Flask's own default is None (no SameSite at all), so setdefault would keep that: Lax unless the
    # caller chose, so that another site's page cannot send the tablet's cookie with its requests.
    if app.config.get("SESSION_COOKIE_SAMESITE") is None:
        app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    # failed log-ins for one name from a tablet it has logged in on, before that tablet too is refused
    # once the name is over STAFF_LOGIN_NAME_LIMIT
    app.config.setdefault("STAFF_LOGIN_TABLET_LIMIT", "5 per hour")
    app.extensions["staff_held_forms"] = held.HeldForms()
    app.extensions["staff_unwritten_sessions"] = staff_store.UnwrittenSessions()
    app.register_error_handler(404, _no_such_page)
    app.register_error_handler(500, _unexpected)
    login_manager.init_app(app)
    login_manager.login_view = "staff_auth.login"
    login_manager.login_message = None  # said by `guard` below, in the chosen language
    limiter.init_app(app)


def guard(blueprint: Blueprint) -> None:
    """Every page of `blueprint` needs a logged-in staff member, and every POST a valid CSRF token."""
    blueprint.before_request(_store_first)
    blueprint.before_request(_check_login)
    blueprint.before_request(_check_csrf)
    blueprint.before_request(_note_writes)
    blueprint.teardown_request(_stop_acting)
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
                           message=t("Nothing was saved: %(why)s", why=refusals.why(exc))), 422


def _store_first():
    # A database that cannot be opened (deleted or replaced while the kiosk runs) is said before
    # anything else, as the page's whole message: not as a log-out.
    get_store()


def not_saved_message(exc: sqlite3.Error) -> str:
    """What staff are told when the kiosk's own database refused a write (see kiosk.disk_failure)."""
    why = disk_failure.log(exc)
    if why == disk_failure.REPLACED:
        if exc.rescued:
            return t("Nothing was saved: the kiosk's database file (%(file)s) was deleted or replaced while the "
                     "kiosk was running. Do NOT restart the kiosk: the running kiosk still holds the records, and "
                     "it copied them to %(copy)s. Keep that file. Call HQ or the shelter lead.",
                     file=exc.path, copy=exc.rescued)
        return t("Nothing was saved: the kiosk's database file (%(file)s) was deleted or replaced while the "
                 "kiosk was running. Do NOT restart the kiosk: the running kiosk still holds the records, but it "
                 "could not copy them anywhere. Keep it running and call HQ or the shelter lead at once.",
                 file=exc.path)
    if why == disk_failure.BUSY:
        return t("Nothing was saved: the kiosk's database stayed busy too long. Try again in a moment.")
    # Deleting the database's -wal file to free space was the obvious move, and lost confirmed records.
    file = Path(current_app.config["KIOSK_DB"]).name
    if why == disk_failure.READ_ONLY:
        return t("Nothing was saved: the kiosk's disk has become read-only (a failing card or disk). Write people in "
                 "on paper forms (避難者カード) and tell HQ. Take the records to HQ with `evac kiosk carry --db "
                 "%(db)s --out FILE` (FILE on a USB stick), or copy %(file)s together with %(file)s-wal and "
                 "%(file)s-shm to another disk.", db=current_app.config["KIOSK_DB"], file=file)
    if why == disk_failure.DAMAGED:
        return t("Nothing was saved: the kiosk's database file (%(file)s) is damaged. Keep the file, do not delete "
                 "it. Write people in on paper forms (避難者カード) and call HQ or the shelter lead: the kiosk is "
                 "started on a new database and enrolled again at HQ, and what can still be read is carried to "
                 "HQ (evac kiosk carry).", file=file)
    if why == disk_failure.FULL:
        return t("Nothing was saved: the kiosk's disk is full. Write people in on paper forms (避難者カード) "
                 "and tell HQ; enter them here when there is room again. Never delete %(file)s, %(file)s-wal or "
                 "%(file)s-shm: they hold the records. To make room, delete photos, videos, logs or downloads "
                 "instead.", file=file)
    return t("Nothing was saved: the kiosk could not write to its disk (it may be full or failing). "
             "Write people in on paper forms (避難者カード) and tell HQ. Never delete %(file)s, %(file)s-wal or "
             "%(file)s-shm: they hold the records. If the disk is full, delete photos, videos, logs or downloads "
             "instead.", file=file)


def _not_saved(exc):
    return render_template("staff/message.html", title=t("Not saved"), message=not_saved_message(exc)), 503


def _not_found(_exc):
    return render_template("staff/message.html", title=t("Not found"),
                           message=t("This kiosk has no such page or person.")), 404


def _note_writes():
    # Rows this request's connection changed before the page's own work (a session's use, above): each
    # store write commits on its own (KioskStore._write), so a later error cannot take it back, and the
    # error page says "nothing was saved" only if this count has not moved (_unexpected).
    g.changes_before = get_store().db.total_changes


def _nothing_written() -> bool:
    """This request wrote nothing to the kiosk database (as far as _note_writes can tell)."""
    store, before = g.get("store"), g.get("changes_before")
    if store is None or before is None:
        return False
    try:
        return not store.db.in_transaction and store.db.total_changes == before
    except sqlite3.Error:
        return False


# Said when even the tablet's own page cannot be drawn (the error is in what every page shows): both
# languages, nothing from the database or the templates.
_UNEXPECTED_PLAIN = """<!doctype html>
<html lang="ja"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>予期しないエラー / Unexpected error</title></head>
<body style="font-family:sans-serif;font-size:1.1rem;margin:1rem">
<h1>予期しないエラー / Unexpected error</h1>
<p role="alert">{ja}</p>
<p lang="en">{en}</p>
<p><a href="/staff/">名簿に戻る</a> / <a href="/staff/" lang="en">Back to the roster</a></p>
</body></html>
"""
_PLAIN_NOTHING = ("予期しないエラーでこのページを表示できませんでした。何も保存していません。"
                  "もう一度お試しください。繰り返す場合は本部に伝えてください。",
                  "An unexpected error stopped this page. Nothing was saved. Try again; if it happens again, tell HQ.")
_PLAIN_MAYBE = ("予期しないエラーでこのページを表示できませんでした。操作した内容は保存された可能性があります。"
                "もう一度行う前に、その方の記録か名簿で確かめてください。繰り返す場合は本部に伝えてください。",
                "An unexpected error stopped this page. What you did may have been saved: check the person's "
                "record or the roster before doing it again. If it happens again, tell HQ.")


def _unexpected(exc):
    """An error no staff page expected (a bug): the tablet's own page in its language, with a way back,
    not werkzeug's bare English one.  Flask has logged the error already; the page shows none of it."""
    if not (request.path == "/staff" or request.path.startswith("/staff/")):
        return exc
    nothing = _nothing_written()
    try:
        if nothing:
            message = t("An unexpected error stopped this page. Nothing was saved. Try again; if it happens again, "
                        "tell HQ.")
        else:
            message = t("An unexpected error stopped this page. What you did may have been saved: check the "
                        "person's record or the roster before doing it again. If it happens again, tell HQ.")
        return render_template("staff/message.html", title=t("Unexpected error"), message=message,
                               **_words()), 500
    except Exception:  # the error is in what every page draws: a page that needs none of it
        current_app.logger.exception("the staff error page could not be drawn either")
        ja, en = _PLAIN_NOTHING if nothing else _PLAIN_MAYBE
        return _UNEXPECTED_PLAIN.format(ja=ja, en=en), 500, {"Content-Type": "text/html; charset=utf-8"}


def _no_such_page(exc):
    """An address under /staff/ that no page has (a mistyped or old bookmark): the tablet's own page,
    in its language, as for an unknown person, not werkzeug's English one.  Other addresses as before."""
    if not request.path.startswith("/staff/"):
        return exc
    return render_template("staff/message.html", title=t("Not found"),
                           message=t("This kiosk has no such page or person."), **_words()), 404


def logged_in_unnoted() -> bool:
    """Whether the guard would let this request's tablet in, without noting it as use (the pages' poll
    for calls, static/staff/calls.js): a tablet left on a page still logs itself out when idle."""
    now = int(time.time())
    return current_user.is_authenticated and now - session.get("staff_seen", now) <= idle_seconds()


def _check_login():
    now = int(time.time())
    idle = now - session.get("staff_seen", now) > idle_seconds()
    if not current_user.is_authenticated:
        if idle:  # its session ended while the tablet lay unused (removed as stale, or timed out elsewhere)
            return _timed_out()
        if request.method == "POST" and request.endpoint in KEPT_FORMS:
            return _sent_late()
        flash(t("Please log in."), "info")
        return redirect(url_for("staff_auth.login", next=request.full_path if request.method == "GET" else None))
    if idle:
        _end_session(current_user.session_id)
        return _timed_out()
    session["staff_seen"] = now
    staff_store.session_seen(get_store(), current_user.login, _unwritten())
    # Every record this request writes is this staff member's (KioskStore._append, event_staff).
    g.acting_token = acting_staff.set(Acting(current_user.name))
    return None


def _stop_acting(_exc=None) -> None:
    # waitress reuses its threads: the next request on this one (the evacuee screen's, say) must not
    # be written as this staff member's.
    token = g.pop("acting_token", None)
    if token is not None:
        try:
            acting_staff.reset(token)
        except ValueError:   # set in another context (cannot happen within one request): clear it
            acting_staff.set(None)


# Forms kept across the end of a session (kiosk.staff.held): a typed 避難者カード, sent late or by the
# page itself when its idle time ran out (static/staff/idle.js), or with the log-out button on its page.
KEPT_FORMS = ("staff_roster.register", "staff_roster.hold_register")


def keep_seconds() -> float:
    return idle_seconds() * held.KEEP_IDLE_LIMITS


def _held_forms() -> held.HeldForms:
    return current_app.extensions["staff_held_forms"]


def _hold_form() -> str | None:
    """Keep the card this request carries for the staff member whose session it is (or was); returns
    their name, or None if nothing was kept."""
    if request.method != "POST" or request.endpoint not in KEPT_FORMS:
        return None
    # Whose card: the session's, or the one that just ended on this tablet (its name stays in the
    # signed cookie until the next log-in replaces it).
    owner = current_user.name if current_user.is_authenticated else session.get("staff_name")
    if not owner:
        return None
    try:
        validate_csrf(request.form.get("csrf_token"))  # only a form this tablet's own page sent
    except ValidationError:
        return None
    pairs = list(request.form.items(multi=True))
    if not held.typed(pairs):
        return None
    # 'Check in' pressed after the log-out: staff believe it saved, and must be told it was not.
    why = held.SENT if request.endpoint == "staff_roster.register" else held.LEFT
    _held_forms().hold(owner, pairs, keep_seconds(), why)
    return owner


def _say_kept(owner: str | None, *, sent: bool) -> None:
    if not owner:
        return
    if sent:
        flash(t("This card was NOT saved: you had already been logged out when it was sent."), "error")
    flash(t("The card is kept for %(name)s only, not saved: log in again as %(name)s within %(minutes)d minutes "
            "to finish it. It is kept in this kiosk's memory only, so a restart of the kiosk loses it: keep the "
            "paper form until it is saved.", name=owner, minutes=max(1, math.ceil(keep_seconds() / 60))), "info")


def _sent_late():
    """A POST from a page whose session had already ended (its keep-alive came too late, or it was
    logged out elsewhere): nothing is saved, and a card it carries is kept for its staff member."""
    owner = _hold_form()
    flash(t("Please log in."), "info")
    _say_kept(owner, sent=request.endpoint == "staff_roster.register")
    return redirect(url_for("staff_auth.login"))


def _timed_out():
    owner = _hold_form()
    logout_user()
    session.pop("staff_seen", None)
    minutes = current_app.config["STAFF_IDLE_MINUTES"]
    flash(t("You were logged out after %(n)d minutes without use. Please log in again.",
            n=max(1, math.ceil(minutes))), "error")
    _say_kept(owner, sent=request.endpoint == "staff_roster.register")
    return redirect(url_for("staff_auth.login"))


def timed_out_now():
    """The page says it lay unused for the idle time (static/staff/idle.js): log out as the guard would."""
    _end_session(current_user.session_id)
    return _timed_out()


def logged_out_with_card():
    """The log-out button pressed on the card page: the card on screen is kept for this staff member."""
    owner = _hold_form()
    _end_session(current_user.session_id)
    logout_user()
    session.pop("staff_seen", None)
    flash(t("You are logged out."), "info")
    _say_kept(owner, sent=False)
    return redirect(url_for("staff_auth.login"))


def _end_session(session_id: str) -> None:
    try:
        staff_store.end_session(get_store(), session_id, _unwritten())
    except sqlite3.Error as exc:
        # The cookie is logged out all the same; the row is then only removed once it is stale.
        disk_failure.log(exc)


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


def _login_expired(form: LoginForm):
    # Nothing to save and no roster to go back to: the log-in page again, with a fresh token and the
    # name as typed, and words that fit a log-in.
    again = LoginForm(formdata=None, name=form.name.data)
    return render_template("staff/login.html", form=again, error=t(
        "The log-in page had expired or did not come from this tablet. You are not logged in yet: enter "
        "your password again and log in.")), 400


def lead_required(view=None, *, message=None):
    """Actions on a shelter lead's authority only (never-disclose, withdrawing a record HQ refuses).
    `message` (a callable giving the words in the tablet's language) says what only a lead can do."""
    if view is None:
        return functools.partial(lead_required, message=message)

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_lead:
            words = message() if message else t("Only a shelter lead can mark someone never-disclose. "
                                                "Ask the shelter lead on duty.")
            return render_template("staff/message.html", title=t("Shelter lead only"), message=words), 403
        return view(*args, **kwargs)
    return wrapped


def _safe_next(target: str | None) -> str:
    # Only a path on this app: a crafted ?next= must not send staff to another site.
    if target and target.startswith("/staff") and not urlsplit(target).netloc:
        return target
    return url_for("staff_roster.roster")


def _give_back_address_tries() -> None:
    """The per-tablet limit counts every log-in as it arrives (guesses sent at the same moment cannot
    slip past it); one that was no guess (the right password) is taken off again."""
    give_back(limiter.limiter, [request_limit.key for request_limit in limiter.current_limits])


# -- failed log-ins per staff name -------------------------------------------
#
# Guesses at one name from anywhere count together (STAFF_LOGIN_NAME_LIMIT), so spreading them over
# many addresses does not help a guesser.  Once a name has reached its limit, its password is not
# even checked, except from a tablet that name has logged in on before (a signed cookie) and that
# has not itself been failing for it (STAFF_LOGIN_TABLET_LIMIT): a flood of wrong passwords from
# elsewhere cannot lock the lead out of her own tablet, and a new address or browser gains nothing.

TABLET_COOKIE = "staff_tablet"
LOCKOUT = StaffLockout("staff", salt="staff-tablet")


def _tablet() -> dict:
    """This browser's tablet mark: a random id and the names that have logged in on it."""
    return LOCKOUT.mark(current_app.secret_key, request.cookies.get(TABLET_COOKIE, ""))


def _remember_tablet(response, name: str) -> None:
    response.set_cookie(TABLET_COOKIE, LOCKOUT.remembered(current_app.secret_key, request.cookies.get(TABLET_COOKIE, ""),
                                                          name),
                        max_age=365 * 24 * 3600, httponly=True, samesite="Lax", secure=secure_cookie())


def _try_name(name: str) -> list[str] | None:
    """This try counted against the name (and tablet) before its password is checked; None: refused."""
    config = current_app.config
    return LOCKOUT.try_password(limiter.limiter, name, _tablet(), config["STAFF_LOGIN_NAME_LIMIT"],
                                config["STAFF_LOGIN_TABLET_LIMIT"])


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["STAFF_LOGIN_LIMITS"], methods=["POST"])
def login():
    form = LoginForm()
    if request.method == "POST" and not form.validate():
        if "csrf_token" in form.errors:
            return _login_expired(form)
        return render_template("staff/login.html", form=form), 400
    if request.method == "POST":
        name = form.name.data.strip()
        tried = _try_name(name)
        if tried is None:
            return _too_many(None)  # the password is not even checked
        store = get_store()
        try:
            account = staff_store.authenticate(store, name, form.password.data)
        except sqlite3.Error:   # a database that cannot be read checked no password: no guess
            give_back(limiter.limiter, tried)
            _give_back_address_tries()
            raise
        if account is None:
            return render_template("staff/login.html", form=form,
                                   error=t("Wrong staff name or password. Nothing was changed.")), 401
        give_back(limiter.limiter, tried)
        _give_back_address_tries()
        # A disk that refuses the log-in's row does not refuse the log-in: it is held in memory.
        session_id = staff_store.start_session(store, account.id, idle_seconds(), _unwritten())
        unwritten = session_id in _unwritten().snapshot()[0]
        kept = {k: session[k] for k in ("lang",) if k in session}
        session.clear()  # a fresh session on log-in: nothing from before carries over but the language
        session.update(kept)
        login_user(StaffUser(account, staff_store.LoginSession(session_id, account, int(time.time()))))
        session["staff_seen"] = int(time.time())
        session["staff_name"] = account.name  # whose card a late POST is, after the session ends
        if unwritten:
            flash(t("You are logged in, but the kiosk cannot write to its disk (it may be full or failing): "
                    "you can read the roster, but nothing new can be saved. Write people in on paper forms "
                    "(避難者カード) and tell HQ."), "error")
        # A card this staff member was typing when their session ended waits on the card page (only theirs).
        waiting = _held_forms().waiting_for(account.name)
        response = redirect(url_for("staff_roster.register") if waiting else _safe_next(request.args.get("next")))
        _remember_tablet(response, account.name)
        return response
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
    if current_user.is_authenticated:
        _end_session(current_user.session_id)  # every copy of this cookie is logged out with it
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


def _this_page() -> str:
    """This page's address to reload (percent-encoded); a page shown after a POST reloads as a GET."""
    path = quote(request.path, safe="/:@!$&'()*+,;=-._~")
    if request.method == "GET" and request.query_string:
        return path + "?" + quote(request.query_string, safe="=&+%/:@,;")
    return path


def _words() -> dict:
    lang = str(get_locale() or "ja")
    words = {"t": t, "csrf_token": generate_csrf, "languages": STAFF_LANGUAGES, "local_time": times.local,
             "lang": lang if lang in STAFF_LANGUAGES else "en", "open_calls": []}
    if current_user.is_authenticated:
        # The page reloads itself a little after the idle limit, so the guard takes it back to the
        # log-in page: names and protection badges do not stay on an unused tablet's screen.
        words["idle_refresh"] = math.ceil(idle_seconds()) + IDLE_REFRESH_MARGIN
        words["idle_limit"] = idle_seconds()
        words["refresh_to"] = _this_page()
        # Someone at the screen pressed "I have nothing": every staff page says so until answered, and
        # learns of a new call by itself (static/staff/calls.js, every STAFF_CALLS_POLL_SECONDS).
        from ..db import get_store
        words["open_calls"] = get_store().open_staff_calls(with_who=True)
        from .calls import banner
        words["call_banner"] = banner
        words["calls_poll"] = current_app.config["STAFF_CALLS_POLL_SECONDS"]
    return words


bp.context_processor(_words)


# The log-in page too says a database file deleted or replaced, rather than failing.
bp.before_request(_store_first)
bp.register_error_handler(sqlite3.Error, _not_saved)
