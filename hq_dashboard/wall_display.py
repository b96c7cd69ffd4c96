"""HQ's wall screen: the dashboard's numbers and the map, on a screen nobody logs in to and nobody logs out.

A staff log-in left on a wall is logged out after STAFF_IDLE_MINUTES (the wall goes to a log-in page in the
middle of a disaster), and while it lasts anyone walking past could use it.  A display is neither: a lead
makes one (`evac hq add-display --name NAME`), which gives a link that works once; opened on the wall's
browser it leaves a cookie there that shows the sites' numbers (hq_dashboard.dashboard.shelter_board) and
the map, and nothing else: no person, no inquiry, no export, no audit, no carried file, no staff page
(403), and no form of any kind (a display cannot choose the disaster for everyone).  It is not a staff
account: no password, no role, no idle limit and no shift; `evac hq revoke-display` ends it at its next
request.  Making, opening and revoking one are in the audit log beside the staff accounts' changes.
"""
from __future__ import annotations

import datetime as dt
import math
import secrets

from flask import (Blueprint, abort, current_app, g, jsonify, make_response, redirect, render_template, request,
                   session, url_for)
from flask_babel import force_locale, gettext as _
from flask_login import current_user, logout_user
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from kiosk.secure_cookies import secure_cookie
from . import safety
from .db import db, one_writer
from .i18n import LANGUAGES, current_language, html_lang
from .models import WallDisplay
from .staff import ACCOUNT_ENTRY, POLLS, _utc, _write, command_line, end_session, seen_every
from .staff import _id_hash as secret_hash   # the hash staff log-ins are kept by (a random id's sha256)

bp = Blueprint("wall_display", __name__)

COOKIE = "hq_wall_display"
COOKIE_MAX_AGE = 400 * 24 * 3600   # the most a browser keeps a cookie: the wall stays a display after a restart
# What a display opens (GET only): the dashboard (its wall variant) and the board's numbers it refreshes
# itself from, the map and what the map polls, and this blueprint's own pages.  Everything else, now or
# added later, is refused.
DISPLAY_PAGES = ("dashboard.dashboard", "wall_display.numbers", "map.map_page", *POLLS)
# The wall's layout (templates/wall_display/board.html): a 1920x1080 screen holds this many rows of
# sites in each of at most this many columns, at a size read from across the room.
ROWS_PER_COLUMN = 30
MOST_COLUMNS = 3


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


# --- the command line's side ------------------------------------------------------------------------

def _check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 64 or not name.isprintable():
        raise ValueError("表示名は1〜64文字です / a display's name is 1 to 64 characters")
    return name


def add_display(session, name: str, by: str | None = None) -> str:
    """A new wall display; returns the token of its one-time link (shown once: HQ keeps only its hash)."""
    name = _check_name(name)
    if _live(session, name) is not None:
        raise ValueError(_name_taken(name))
    token = secrets.token_urlsafe(32)
    by = (by or command_line("add-display"))[:64]
    session.add(WallDisplay(name=name, link_hash=secret_hash(token), created_at=_now(), created_by=by))
    safety.audit(session, ACCOUNT_ENTRY, by, "display_added", display=name)
    try:
        session.commit()
    except IntegrityError:   # the same name made at the same moment by another command
        session.rollback()
        raise ValueError(_name_taken(name)) from None
    return token


def _name_taken(name: str) -> str:
    return (f"「{name}」という表示はすでにあります（evac hq list-displays）。別の名前にするか、先に取り消してください"
            f" / there is already a display called {name!r} (evac hq list-displays): choose another name, or revoke "
            "it first (evac hq revoke-display)")


def display_link(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/display/{token}"


def _live(session, name: str) -> WallDisplay | None:
    return session.scalars(select(WallDisplay).where(WallDisplay.name == name, WallDisplay.revoked_at.is_(None))).first()


def displays(session) -> list[WallDisplay]:
    return list(session.scalars(select(WallDisplay).order_by(WallDisplay.name, WallDisplay.id)))


class AlreadyRevoked(Exception):
    def __init__(self, display: WallDisplay):
        super().__init__(display.name)
        self.display = display


def revoke_display(session, name: str, by: str | None = None) -> WallDisplay:
    """The display ends at its wall's next request (which then says so), and its link opens nothing.
    AlreadyRevoked: no display of that name is live, and the latest of that name was revoked before."""
    display = _live(session, name.strip())
    if display is None:
        ended = session.scalars(select(WallDisplay).where(WallDisplay.name == name.strip())
                                .order_by(WallDisplay.revoked_at.desc())).first()
        if ended is not None:   # asked twice (or by two leads): it is ended, which is what was wanted
            raise AlreadyRevoked(ended)
        live = session.scalars(select(WallDisplay.name).where(WallDisplay.revoked_at.is_(None))
                               .order_by(WallDisplay.name)).all()
        raise ValueError(f"「{name.strip()}」という表示はありません / there is no display called {name.strip()!r}"
                         + (f" (HQ's displays: {', '.join(live)})" if live else " (HQ has no display: add-display)"))
    display.revoked_at = _now()
    by = (by or command_line("revoke-display"))[:64]
    safety.audit(session, ACCOUNT_ENTRY, by, "display_revoked", display=display.name)
    session.commit()
    return display


# --- the wall's side --------------------------------------------------------------------------------

def _in_two(words, **kwargs) -> dict:
    """`words()` in Japanese first, then the browser's language (English when that is Japanese), as the
    staff pages' refusal says it (roles.refused)."""
    code = current_language()
    second = "en" if code in ("ja", "easy") else code
    with force_locale("ja"):
        ja = words(**kwargs)
    with force_locale(LANGUAGES[second][1]):
        other = words(**kwargs)
    return {"ja": ja, "other": other, "other_lang": html_lang(second)}


def _message(kind: str, name: str = "") -> dict:
    command = "evac hq add-display --name NAME"
    return {
        "link": {"title": _("Make this screen HQ's wall display"),
                 "text": _("The display “%(name)s” will show the dashboard's numbers and the map here, and keep them "
                           "up to date by itself, with no log-in and no time limit. It opens no staff page and "
                           "shows no one's name. The link works only once.", name=name),
                 "button": _("Show the wall display on this screen")},
        "used": {"title": _("This display link has already been used"),
                 "text": _("A display link works only once. If this screen should show the dashboard, ask a lead "
                           "for a new link: %(command)s", command=command)},
        "unknown": {"title": _("This display link is not valid"),
                    "text": _("Check that the whole link was copied, or ask a lead for a new link: %(command)s",
                              command=command)},
        "revoked": {"title": _("The display link was revoked"),
                    "text": _("A lead revoked this screen's display link, so it shows the dashboard no more. To "
                              "show it here again, ask a lead for a new link: %(command)s", command=command)},
        "refused": {"title": _("This screen is HQ's wall display"),
                    "text": _("It shows only the dashboard's numbers and the map. Staff pages do not open on it, "
                              "and nothing can be sent from it. Staff log in on a staff PC."),
                    "not_saved": _("Nothing was changed: what was sent was not saved.")
                    if request.method not in ("GET", "HEAD") else "",
                    "back": _("Back to the dashboard")},
    }[kind]


def _page(kind: str, status: int, name: str = "", **extra):
    return make_response(render_template("wall_display/message.html", kind=kind,
                                         **_in_two(_message, kind=kind, name=name), **extra), status)


@bp.get("/display/<token>")
def link(token: str):
    """The link a lead gave: a page with a button, so a chat program's preview of the link (which opens it)
    does not use it up before the wall does."""
    display = _by_link(token)
    if display is None:
        return _page("unknown", 404)
    if display.revoked_at is not None:
        return _page("revoked", 410)
    if display.opened_at is not None:
        return _page("used", 410)
    return _page("link", 200, display.name, token=token)


@bp.post("/display/<token>")
def open_display(token: str):
    """The wall's browser becomes the display: a cookie with a new random value (HQ keeps its hash),
    not the link's token, which is spent now."""
    display = _by_link(token)
    if display is None:
        return _page("unknown", 404)
    secret = secrets.token_urlsafe(32)
    now = _now()
    db.session.rollback()
    with one_writer(db.engine):
        # Only the first of two opened at once wins: the update finds the link unused for one of them.
        done = db.session.execute(
            update(WallDisplay).where(WallDisplay.id == display.id, WallDisplay.opened_at.is_(None),
                                      WallDisplay.revoked_at.is_(None))
            .values(opened_at=now, last_seen_at=now, session_hash=secret_hash(secret)))
        if done.rowcount != 1:
            db.session.rollback()
            display = db.session.get(WallDisplay, display.id)
            return _page("revoked" if display.revoked_at is not None else "used", 410)
        safety.audit(db.session, ACCOUNT_ENTRY, f"wall display {display.name}"[:64], "display_opened",
                     display=display.name, address=request.remote_addr or "")
        db.session.commit()
    if current_user.is_authenticated:   # a staff log-in in this browser ends: the wall is no staff PC
        end_session(current_user.session_id)
    logout_user()
    session.clear()
    response = redirect(url_for("dashboard.dashboard"))
    response.set_cookie(COOKIE, secret, max_age=COOKIE_MAX_AGE, httponly=True, samesite="Lax",
                        secure=secure_cookie())
    return response


def _by_link(token: str) -> WallDisplay | None:
    if len(token) > 100:
        return None
    return db.session.scalars(select(WallDisplay).where(WallDisplay.link_hash == secret_hash(token))).first()


def keep_display_to_its_pages():
    """First of every request: a browser that is a wall display gets its pages and nothing else (before
    the form-token check, so a form it sends is refused as a display's, not as an expired form)."""
    secret = request.cookies.get(COOKIE)
    if not secret or request.endpoint == "static" or len(secret) > 100:
        return None
    display = db.session.scalars(select(WallDisplay).where(WallDisplay.session_hash == secret_hash(secret))).first()
    if display is None:   # no display of this HQ's (a database put back from before it): an ordinary browser
        return None
    if display.revoked_at is not None:
        # (The board's own refresh gets the page below too: board.js puts it up in the board's place.)
        if request.endpoint in POLLS:   # the map's poll: the page itself says it at its next load
            return jsonify(error="display_revoked", message="this wall display was revoked"), 403
        response = _page("revoked", 403)
        response.delete_cookie(COOKIE, httponly=True, samesite="Lax", secure=secure_cookie())
        return response
    g.wall_display = display   # pages it may open leave out what only staff can follow (the map's log-in)
    if _utc(display.last_seen_at or display.opened_at) < _now() - seen_every():
        _write(update(WallDisplay).where(WallDisplay.id == display.id).values(last_seen_at=_now()))
    if request.method in ("GET", "HEAD"):
        if request.endpoint == "dashboard.dashboard":
            return board()
        if request.endpoint in DISPLAY_PAGES or request.endpoint in ("wall_display.link",):
            return None
    return _page("refused", 403)


def board():
    """The dashboard for the wall: the sites' numbers, the disaster, short alerts about sites.  Not the
    kiosks (their refusals quote what a shelter sent), nor the needs of care (health, of a handful of
    people at a site), nor any link to a staff page.  Its numbers refresh themselves in place
    (static/wall_board.js, from numbers() below): a refresh that fails leaves the last good ones up,
    saying since when, where reloading the page would leave HQ's error page or the browser's on the wall."""
    return render_template("wall_display/board.html", refresh=current_app.config["WALL_DISPLAY_REFRESH_SECONDS"],
                           **_board())


@bp.get("/wall/numbers")
def numbers():
    """The board's numbers alone, for the wall's own refresh; only a display reads them."""
    if "wall_display" not in g:
        abort(404)
    response = make_response(render_template("wall_display/numbers.html", **_board()))
    response.headers["Cache-Control"] = "no-store"
    return response


# What the wall lists first, in this order: what HQ's officers act on.  Sites unsafe in the disaster with
# people are said by name in the alerts above the rows; in the rows they take no place ahead of a suitable
# shelter at 96% (a tsunami makes most sites unsafe, and the wall's rows are few).
FULL, CLOSED_WITH_PEOPLE, NEARLY_FULL, REST = range(4)
NEARLY_FULL_AT = 0.9


def _urgency(v, to_closed=()) -> int:
    from .dashboard import closed_with_people
    s = v.shelter
    if s.status == "full" or (s.capacity is not None and s.occupancy > s.capacity):
        return FULL
    # Closed with people in it, or on their way to it (`to_closed`: dashboard.in_transit_to_closed): someone
    # must go there either way.
    if closed_with_people(s) or s.id in to_closed:
        return CLOSED_WITH_PEOPLE
    if v.fullness is not None and v.fullness >= NEARLY_FULL_AT:
        return NEARLY_FULL
    return REST


def _board() -> dict:
    from .dashboard import (SORTS, closed_with_people, closed_with_registered_outside, kiosk_rows,
                            shelter_board, silent_sites)
    # No arrivals chart: its labels are too small to read across a room, and its room is the sites'.
    shown = shelter_board(chart=False)
    views = shown.pop("all_views")
    shown.pop("disaster_code")
    shown.pop("chart")
    order = SORTS.get(shown["sort"], SORTS["fullness"])
    sites = sorted(shown.pop("views"), key=lambda v: (_urgency(v, shown["transit_to_closed"]), order(v)))
    # A site by its name and its id: two sites may share a name (焼津地域交流センター is H045 and T046).
    named = lambda v: f"{v.shelter.name}（{v.shelter.id}）"   # noqa: E731
    over = [named(v) for v in views if v.shelter.capacity is not None and v.shelter.occupancy > v.shelter.capacity]
    unsafe = [named(v) for v in views
              if v.suitability != "suitable" and v.shelter.occupancy + v.shelter.at_home + v.shelter.in_car]
    closed = [named(v) for v in views if closed_with_people(v.shelter)]
    # Closed with people staying at home or in cars registered to it (the dashboard's alert): told apart from
    # those with people inside, who need a place to go; these need to know where their food and news are now.
    closed_outside = [named(v) for v in views if closed_with_registered_outside(v.shelter)]
    # People sent on to a shelter its staff closed (the dashboard's alert, at once): the sites, no one named.
    to_closed = shown["transit_to_closed"]
    transit_closed = [named(v) for v in views if v.shelter.id in to_closed]
    # A site whose kiosk is silent: its numbers are from its last sync, however fresh the wall's time.
    # Only the mark: no kiosk, no time, nothing a shelter sent.
    silent = silent_sites(kiosk_rows())
    silent_named = [named(v) for v in views if v.shelter.id in silent
                    and (v.shelter.opened or v.shelter.occupancy + v.shelter.at_home + v.shelter.in_car)]
    # The screen holds ROWS_PER_COLUMN rows under two lines of alerts: each line more takes a row's room.
    # People in transit past EVAC_TRANSIT_ALERT_HOURS (the dashboard's alert): a count, no destination.
    transit_long = shown["transit"]["long"]
    per_column = ROWS_PER_COLUMN - max(0, sum(map(bool, (over, closed, closed_outside, transit_closed, unsafe,
                                                         silent_named, transit_long))) - 2)
    columns = min(MOST_COLUMNS, max(1, math.ceil(len(sites) / per_column)))
    on_wall, rest = sites[:columns * per_column], sites[columns * per_column:]
    rows = max(1, math.ceil(len(on_wall) / columns))
    now = _now()
    minutes = max(1, current_app.config["KIOSK_SILENT_ALERT_S"] // 60)
    return {"columns": [on_wall[i * rows:(i + 1) * rows] for i in range(columns)], "sites": on_wall,
            "rest": len(rest),
            "over_capacity": over, "unsafe": unsafe, "closed": closed, "closed_outside": closed_outside,
            "transit_closed": transit_closed,
            "silent": silent,
            "silent_named": silent_named, "transit_long": transit_long, "now": now, **shown,
            "numbers_url": url_for("wall_display.numbers", sort=shown["sort"], all="1" if shown["show_all"] else None),
            **_in_two(_board_words, rest=len(rest), people=sum(v.shelter.occupancy for v in rest), minutes=minutes,
                      hours=f"{shown['transit']['hours']:g}")}


def _board_words(rest: int = 0, people: int = 0, minutes: int = 10, hours: str = "2") -> dict:
    return {"title": _("Evacuation situation"), "disaster": _("Disaster in progress"), "none": _("(none chosen)"),
            "in_shelters": _("In shelters"), "at_home": _("Staying at home"), "in_cars": _("In cars"),
            "alerts": _("Alerts"), "no_alerts": _("No alerts."), "arrivals": _("Arrivals per hour (JST)"),
            "sites": _("Shelters"), "name": _("Site name"), "status": _("Status"), "suitability": _("Suitability"),
            "evacuees": _("Evacuees"), "capacity": _("Capacity"), "fullness": _("Fullness"),
            "offers": _("Sites with room nearby"), "empty": _("No shelter is open and nobody is counted yet."),
            "map": _("Map"),
            "only_numbers": _("HQ's wall display: numbers only, no one's name. It updates itself."),
            "over_capacity": _("Over capacity"), "unsafe": _("Evacuees at sites unsafe in this disaster"),
            "in_transit": _("In transit"), "closed_with_people": _("Closed shelters with evacuees"),
            "closed_outside": _("Closed shelters with people at home or in cars registered"),
            "transit_closed": _("In transit to closed shelters"),
            "silent": _("No data for %(minutes)d+ min", minutes=minutes), "no_data": _("No data"),
            "transit_long": _("In transit for over %(hours)s h", hours=hours),
            "rest": _("%(count)d more sites not shown (%(people)d evacuees)", count=rest, people=people),
            **freshness_words()}


def freshness_words() -> dict:
    """What a screen refreshing its numbers in place says of them (static/refresh_in_place.js): the wall's
    board and the staff dashboard (hq_dashboard.dashboard)."""
    return {"updated": _("Updated"),
            # "{time}": the page's script puts in the time of the last numbers it got
            "unreachable": _("Not updated since %(time)s (HQ cannot be reached)", time="{time}"),
            "error": _("Not updated since %(time)s (HQ error)", time="{time}")}


def init_app(app) -> None:
    app.config.setdefault("WALL_DISPLAY_REFRESH_SECONDS", 15)
    app.register_blueprint(bp)
    # Ahead of every other check (the form token's, the staff log-in's): a display is refused as a display.
    app.before_request_funcs.setdefault(None, []).insert(0, keep_display_to_its_pages)
