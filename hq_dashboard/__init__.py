"""HQ service: receives kiosk batches, merges them, serves occupancy."""
from __future__ import annotations

import ipaddress
import os
import sys
from pathlib import Path
from typing import Any

from flask import Flask
from flask_wtf.csrf import CSRFProtect
from werkzeug.exceptions import HTTPException

from evac.capacity import DEFAULT_AREA_PER_PERSON_M2
from evac.hlc import HybridLogicalClock

from .db import SQLITE_BUSY_TIMEOUT_MS, db, wait_when_busy
from .json_body import JSONBodyRequest

MIGRATIONS_DIR = str(Path(__file__).with_name("migrations"))
csrf = CSRFProtect()


def default_database_url() -> str:
    var = Path(os.environ.get("EVAC_VAR_DIR", Path.cwd() / "var"))
    var.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{var / 'hq.sqlite3'}"


class _HQ(Flask):
    def log_exception(self, exc_info) -> None:
        """A failed request logged by its route (errors.page_logged), not Flask's "Exception on <path>": the
        path may be a household's secret link (/prereg/manage/…) or hold an Individual Number typed in it."""
        from flask import request

        from .errors import page_logged
        self.logger.error("Exception on %s [%s]", page_logged(), request.method, exc_info=exc_info)


def create_app(config: dict[str, Any] | None = None) -> Flask:
    app = _HQ(__name__)
    app.request_class = JSONBodyRequest   # deeply nested JSON is a 400, not a 500
    app.config.from_mapping(
        SQLALCHEMY_DATABASE_URI=None,
        # The kiosk sends at most 1000 events a batch, well under 4 MB.
        MAX_CONTENT_LENGTH=4 * 1024 * 1024,
        # A carried file sent while another is being applied waits this long for its turn (carried_pages):
        # well within a proxy's read timeout (the README's nginx: 300 s), so staff read HQ's words, not a 504.
        CARRIED_WAIT_SECONDS=120,
        AREA_PER_PERSON_M2=DEFAULT_AREA_PER_PERSON_M2,
        JSON_AS_ASCII=False,
        # Safety inquiries (Flask-Limiter syntax): per client address, and per person sought.
        # Per address only a ceiling against one runaway script: on the day, a shelter's Wi-Fi or a
        # carrier's NAT puts dozens of families behind one address, each asking, checking and
        # self-reporting (30 a minute refused the 31st family).  Per person sought the limit is per
        # address too (so nobody can lock a family out by asking often); guessing a family code is held
        # back per person from every address (safety_api.may_try_family_code).
        SAFETY_RATE_PER_CLIENT="600 per minute",
        SAFETY_RATE_PER_PERSON="10 per hour",
        PERMANENT_SESSION_LIFETIME=8 * 3600,   # a staff shift
        # HQ staff log-ins (kept at HQ, hq_dashboard.staff): one unused this long ends (a shared PC left
        # logged in at a crowded HQ; half an hour lets staff take a call or a meeting), and none
        # outlives a shift.  EVAC_STAFF_IDLE_MINUTES, EVAC_STAFF_SESSION_HOURS.  (The signed cookie
        # itself is refused PERMANENT_SESSION_LIFETIME after it was last written: a longer shift needs both.)
        STAFF_IDLE_MINUTES=30,
        STAFF_SESSION_HOURS=8,
        # A form on another site cannot ride on a staff member's log-in.
        SESSION_COOKIE_SAMESITE="Lax",
        # Failed HQ staff log-ins: per client address, per staff name from anywhere, and per name from
        # a browser that name has logged in on (which stays usable while the name is being guessed at).
        STAFF_LOGIN_LIMITS="10 per minute;60 per hour",
        STAFF_LOGIN_NAME_LIMIT="10 per hour",
        STAFF_LOGIN_BROWSER_LIMIT="5 per hour",
        # HQ's own networks (EVAC_STAFF_TRUSTED_NETWORKS, comma-separated, e.g. "10.20.0.0/16"): a log-in
        # from one counts its failures per name and address, not with guesses from the internet at that
        # name, so a stranger cannot lock staff out of a PC HQ just handed them.  Empty: none.
        STAFF_TRUSTED_NETWORKS="",
        # The map: no online tiles unless a URL is set (HQ must work with no internet); markers
        # refresh this often; a designated site inside a depth-classed hazard area this deep is flagged.
        MAP_TILES_URL=None,
        MAP_TILES_ATTRIBUTION="",
        MAP_REFRESH_SECONDS=5,
        HAZARD_MIN_DEPTH_M=0.5,
        # A kiosk that has not synced for this long is an alert on the dashboard.
        KIOSK_SILENT_ALERT_S=600,
        # Where the city's map layers are read from (None: the repo's data/ or $EVAC_DATA_DIR).
        DATA_DIR=None,
        # A form's token lasts as long as the browser's session: a family filling in the inquiry
        # slowly, or a phone that slept, must not lose what they typed to an hour's time limit.
        WTF_CSRF_TIME_LIMIT=None,
        # How many reverse proxies in front of HQ add to X-Forwarded-For (`evac hq serve --trusted-proxies`,
        # EVAC_TRUSTED_PROXIES).  Behind one, every family has the proxy's address, and the limits per
        # client address above would count them all as one; with 0 the header is not believed (anyone
        # can write it), so a forged one cannot slip out of a limit.
        TRUSTED_PROXIES=0,
        # HQ's wall display (hq_dashboard.wall_display) refreshes its board's numbers this often.
        WALL_DISPLAY_REFRESH_SECONDS=15,
        # On SQLite, how long a write waits for another process writing the same file (`evac hq import`, a
        # second HQ) before it fails as busy (said in words: hq_dashboard.db.is_busy).
        SQLITE_BUSY_TIMEOUT_SECONDS=SQLITE_BUSY_TIMEOUT_MS / 1000,
    )
    app.config.from_prefixed_env("EVAC")
    if config:
        app.config.update(config)
    if not app.config["SQLALCHEMY_DATABASE_URI"]:
        app.config["SQLALCHEMY_DATABASE_URI"] = default_database_url()
    app.json.ensure_ascii = False
    _trust_proxies(app)
    _check_staff_limits(app)
    _check_wall_display(app)
    _check_numbers(app)
    _check_public_url(app)

    _check_connections_when_taken(app)
    db.init_app(app)
    with app.app_context():
        wait_when_busy(db.engine, app.config["SQLITE_BUSY_TIMEOUT_SECONDS"])
        driver = db.engine.dialect.driver
    app.extensions["migrate"] = _MigrationsWhenRun(app)
    app.extensions["hlc"] = HybridLogicalClock()

    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(app)
    csrf.init_app(app)

    from . import expired_forms, i18n
    i18n.init_app(app)
    expired_forms.init_app(app)

    from . import (api, carried_pages, dashboard, map_page, needing_care, pages, possible_duplicates, prereg_manage,
                   prereg_pages, safety_api, safety_pages, staff)
    from .limits import limiter, too_many_requests
    limiter.init_app(app)
    app.register_error_handler(429, too_many_requests)
    from .errors import database_lost, http_error
    app.register_error_handler(HTTPException, http_error)   # after blueprints' own and by-code handlers
    # A connection to the database lost in the middle of a request (PostgreSQL restarting): 503, try again.
    from sqlalchemy.exc import DBAPIError
    app.register_error_handler(DBAPIError, database_lost)
    if driver == "psycopg":   # (HQ's own reads through the driver's cursor raise its errors unwrapped)
        import psycopg
        app.register_error_handler(psycopg.OperationalError, database_lost)
    staff.login_manager.init_app(app)
    app.before_request(staff.load_staff)
    csrf.exempt(api.bp)  # kiosks authenticate with their token; the JSON API has no browser session
    csrf.exempt(safety_api.bp)  # JSON only: a browser cannot post it cross-site without CORS
    csrf.exempt(carried_pages.upload)  # its form checks the token itself, once the larger body is allowed
    app.register_blueprint(api.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(prereg_pages.bp)
    app.register_blueprint(prereg_manage.bp)
    app.register_blueprint(safety_api.bp)
    app.register_blueprint(safety_pages.bp)
    app.register_blueprint(staff.bp)
    app.register_blueprint(map_page.bp)
    app.register_blueprint(dashboard.bp)
    app.register_blueprint(carried_pages.bp)
    app.register_blueprint(possible_duplicates.bp)
    app.register_blueprint(needing_care.bp)
    from . import wall_display
    wall_display.init_app(app)   # (its check goes first of every request's: after the others are registered)
    app.after_request(_security_headers)
    app.after_request(_revalidate_shelters)   # (runs first: after_request functions run last-added first)
    return app


def _check_connections_when_taken(app: Flask) -> None:
    """On PostgreSQL a pooled connection is checked as it is taken (pool_pre_ping, one round trip) and made
    anew if the server dropped it: after PostgreSQL restarted, each stale connection in the pool failed one
    request with a 500 (a kiosk's sync, the map, a page).  SQLite is left with Flask-SQLAlchemy's own
    options (its file cannot drop a connection; hq_dashboard.db sets its pragmas)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError
    try:
        backend = make_url(app.config["SQLALCHEMY_DATABASE_URI"]).get_backend_name()
    except (ArgumentError, TypeError, ValueError):   # an unusable URL is refused when the database is opened
        return
    if backend == "postgresql":
        options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
        options.setdefault("pool_pre_ping", True)
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


def _check_public_url(app: Flask) -> None:
    """PUBLIC_URL (EVAC_PUBLIC_URL): HQ's address as families reach it (https://HQ-NAME), for the page named
    in e-mail news; HQ behind its proxy cannot know it.  Unset: the e-mail names no address."""
    from urllib.parse import urlsplit
    value = app.config.get("PUBLIC_URL")
    if value in (None, ""):
        app.config["PUBLIC_URL"] = None
        return
    parts = urlsplit(str(value))
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise SettingError(f"EVAC_PUBLIC_URL は家族が開く本部のアドレスです（例 https://anpi.city.yaizu.example）。"
                           f"{value!r} は使えません / "
                           f"PUBLIC_URL (EVAC_PUBLIC_URL) is HQ's address as families reach it, such as "
                           f"https://anpi.city.yaizu.example, not {value!r}")
    app.config["PUBLIC_URL"] = str(value).rstrip("/")


class SettingError(ValueError):
    """A setting HQ cannot start with; the message says which and what it must be."""


def _trust_proxies(app: Flask) -> None:
    """The client's address (rate limits, the inquiries' audit) from X-Forwarded-For as written by the
    TRUSTED_PROXIES proxies nearest HQ: werkzeug's ProxyFix, for the address only."""
    from werkzeug.middleware.proxy_fix import ProxyFix
    count = app.config["TRUSTED_PROXIES"]
    if isinstance(count, str) and count.strip().isdigit():   # from the environment as text
        count = int(count)
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise SettingError(f"EVAC_TRUSTED_PROXIES は本部の前にあるリバースプロキシの数で、0 以上の整数です（{count!r} は"
                           f"使えません） / TRUSTED_PROXIES (EVAC_TRUSTED_PROXIES) is the number of reverse proxies in "
                           f"front of HQ, 0 or more, not {count!r}")
    app.config["TRUSTED_PROXIES"] = count
    if count:
        app.wsgi_app = _SaysAMissingForwardedFor(
            app, ProxyFix(app.wsgi_app, x_for=count, x_proto=0, x_host=0, x_port=0, x_prefix=0))


class _SaysAMissingForwardedFor:
    """Once per process: a request came without X-Forwarded-For although HQ trusts a proxy.  nginx sends
    none unless told (include proxy_params): every family would then count as one client, the proxy."""

    def __init__(self, app: Flask, wsgi_app):
        self.app, self.wsgi_app, self.said = app, wsgi_app, False

    def __call__(self, environ, start_response):
        if not self.said and "HTTP_X_FORWARDED_FOR" not in environ:
            self.said = True
            self.app.logger.warning(
                "HQ trusts %s proxy(ies) (TRUSTED_PROXIES), but a request from %s came without X-Forwarded-For: "
                "is the proxy setting it (nginx: include proxy_params)? Until it does, every family counts as "
                "one client (README: HQ behind HTTPS)", self.app.config["TRUSTED_PROXIES"], environ.get("REMOTE_ADDR"))
        return self.wsgi_app(environ, start_response)


def _check_staff_limits(app: Flask) -> None:
    networks = app.config["STAFF_TRUSTED_NETWORKS"]
    if isinstance(networks, str):   # from the environment as text
        networks = [n for n in (part.strip() for part in networks.split(",")) if n]
    try:
        app.config["STAFF_TRUSTED_NETWORKS"] = tuple(ipaddress.ip_network(n, strict=False) for n in networks)
    except (TypeError, ValueError):
        raise SettingError("EVAC_STAFF_TRUSTED_NETWORKS は本部自身のネットワークをカンマ区切りで並べたものです（例 "
                           f"10.20.0.0/16,192.168.1.0/24）。{networks!r} は使えません / "
                           "STAFF_TRUSTED_NETWORKS (EVAC_STAFF_TRUSTED_NETWORKS) lists HQ's own networks, "
                           f"comma-separated (such as 10.20.0.0/16,192.168.1.0/24), not {networks!r}") from None
    for name in ("STAFF_IDLE_MINUTES", "STAFF_SESSION_HOURS"):
        value = app.config[name]
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = 0.0
        # A ceiling too: timedelta overflows past ~2.7 million years, and every staff page would then fail.
        most = STAFF_LIMITS_MOST[name]
        if isinstance(value, bool) or not 0 < number <= most:
            raise SettingError(f"{STAFF_LIMITS_JA[name]} EVAC_{name} は 0 より大きく {most} 以下の数です（{value!r} は"
                               f"使えません） / {name} (EVAC_{name}) must be a number above 0 and at most {most}, "
                               f"not {value!r}")


# A day unused, a week's shift: anything longer is no protection of a shared PC at all.
STAFF_LIMITS_MOST = {"STAFF_IDLE_MINUTES": 24 * 60, "STAFF_SESSION_HOURS": 7 * 24}
STAFF_LIMITS_JA = {"STAFF_IDLE_MINUTES": "職員のログインが操作なしで続く分数",
                   "STAFF_SESSION_HOURS": "職員のログインが続く最長の時間数"}


def _check_wall_display(app: Flask) -> None:
    """How often a wall display refreshes its numbers (static/wall_board.js)."""
    check_refresh_seconds(app.config, "WALL_DISPLAY_REFRESH_SECONDS", "壁面表示", "HQ's wall display")


def _check_numbers(app: Flask) -> None:
    """The other numbers HQ's pages read: text or a number out of range would start HQ, then fail every
    dashboard, map and /api/v1/shelters answer (or every carried file) with a 500."""
    config = app.config
    check_refresh_seconds(config, "MAP_REFRESH_SECONDS", "地図", "HQ's map")
    # Whole seconds (the map's popups and the wall count them so); at most a week, past which no kiosk is
    # ever called silent (a kiosk cut off for days is what the alert is for).
    value = config["KIOSK_SILENT_ALERT_S"]
    if not _within(config, "KIOSK_SILENT_ALERT_S", 0, SILENT_ALERT_MOST_S, whole=True):
        raise SettingError(f"端末の無通信を警告するまでの秒数 EVAC_KIOSK_SILENT_ALERT_S は 1 以上 {SILENT_ALERT_MOST_S} "
                           f"（7日）以下の整数です（{value!r} は使えません） / KIOSK_SILENT_ALERT_S "
                           "(EVAC_KIOSK_SILENT_ALERT_S) is how long a kiosk may go without syncing before the "
                           f"dashboard alerts, in whole seconds from 1 to {SILENT_ALERT_MOST_S} (7 days), not {value!r}")
    # Depth classes' lower bounds go to 20 m (浸水深 20m以上): a setting deeper would flag no site at all.
    value = config["HAZARD_MIN_DEPTH_M"]
    if not _within(config, "HAZARD_MIN_DEPTH_M", 0, HAZARD_MIN_DEPTH_MOST_M, zero=True):
        raise SettingError(f"EVAC_HAZARD_MIN_DEPTH_M は、避難所に印を付けるハザード区域の深さ（メートル、深さ区分の"
                           f"下限）で、0 以上 {HAZARD_MIN_DEPTH_MOST_M} 以下です（{value!r} は使えません） / "
                           f"HAZARD_MIN_DEPTH_M (EVAC_HAZARD_MIN_DEPTH_M) is how deep (in metres, the depth class's "
                           f"lower bound) a hazard area must be for a site in it to be flagged, from 0 to "
                           f"{HAZARD_MIN_DEPTH_MOST_M}, not {value!r}")
    # Past an hour staff have long given up (and a proxy ended the request).
    value = config["CARRIED_WAIT_SECONDS"]
    if not _within(config, "CARRIED_WAIT_SECONDS", 0, 3600):
        raise SettingError(f"EVAC_CARRIED_WAIT_SECONDS は、持ち込まれた記録ファイルが別のファイルの取り込みを待つ秒数で、"
                           f"0 より大きく 3600 以下です（{value!r} は使えません） / "
                           f"CARRIED_WAIT_SECONDS (EVAC_CARRIED_WAIT_SECONDS) is how long a carried file waits for "
                           f"another to be applied, in seconds above 0 and at most 3600, not {value!r}")
    # Past an hour a command or a page would look hung rather than say busy.
    value = config["SQLITE_BUSY_TIMEOUT_SECONDS"]
    if not _within(config, "SQLITE_BUSY_TIMEOUT_SECONDS", 0, 3600):
        raise SettingError(f"EVAC_SQLITE_BUSY_TIMEOUT_SECONDS は、別の処理が本部の SQLite ファイルに書き込んでいるときに"
                           f"書き込みが待つ秒数で、0 より大きく 3600 以下です（{value!r} は使えません） / "
                           f"SQLITE_BUSY_TIMEOUT_SECONDS (EVAC_SQLITE_BUSY_TIMEOUT_SECONDS) is how long a write waits "
                           f"for another process writing HQ's SQLite file, in seconds above 0 and at most 3600, "
                           f"not {value!r}")


SILENT_ALERT_MOST_S = 7 * 24 * 3600
HAZARD_MIN_DEPTH_MOST_M = 20


def _within(config, name: str, low: float, high: float, zero: bool = False, whole: bool = False) -> bool:
    """Whether config[name] is a number above `low` (or equal to it, with `zero`) and at most `high` (whole, with
    `whole`); if so it is kept as that number (the environment gives text)."""
    value = config[name]
    try:
        number = float(value)
    except (TypeError, ValueError):
        return False
    if isinstance(value, bool) or not (low <= number if zero else low < number) or not number <= high \
            or whole and number != int(number):
        return False
    config[name] = int(number) if whole else number
    return True


def check_refresh_seconds(config: dict, name: str, screen_ja: str, screen_en: str) -> None:
    """How often a screen that refreshes itself asks HQ for its numbers: 0 or less would ask HQ without pause,
    and text would stop the refresh for good."""
    value = config[name]
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = 0.0
    # At most an hour: numbers older than that are no picture of now (and a browser's timer tops out at 24 days).
    if isinstance(value, bool) or not 0 < number <= 3600:
        raise SettingError(f"{screen_ja}の更新間隔 EVAC_{name} は 0 より大きく 3600 以下の秒数です"
                           f"（{value!r} は使えません） / {name} (EVAC_{name}) is how often {screen_en} refreshes "
                           f"its numbers, in seconds above 0 and at most 3600, not {value!r}")
    config[name] = int(number) if number == int(number) else number


def _revalidate_shelters(response):
    """The map polls /api/v1/shelters every few seconds from every browser showing it, and most polls
    find nothing changed: an ETag lets the answer be '304 Not Modified' without the ~150 kB of GeoJSON
    again (phones on a congested network on the day).  'no-cache': kept, but asked about every time."""
    from flask import request
    if request.endpoint == "api.shelters" and request.method == "GET" and response.status_code == 200:
        response.add_etag()
        response.headers["Cache-Control"] = "no-cache"
        response.make_conditional(request)
    return response


_STRICT_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
               "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


def _security_headers(response):
    # No page of HQ's may be framed by another site (a log-in or the disaster choice clicked through
    # a disguise).  Only frame-ancestors: the map (folium) needs its inline scripts.
    from flask import request, session
    headers = response.headers
    headers.setdefault("X-Frame-Options", "DENY")
    # Every page but the map runs only HQ's own script files: a name or an address that got past every
    # escape still could not run as script in a staff member's browser (the safety queue, the dashboard).
    headers.setdefault("Content-Security-Policy", "frame-ancestors 'none'" if request.path == "/map" else _STRICT_CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    # An inquiry's answer link carries its key: it must not travel to anywhere else in a Referer.
    headers.setdefault("Referrer-Policy", "same-origin")
    # (Logged in or not is read from the cookie: no database query, which on a failing database would
    # fail this answer too.)

    from .staff import STAFF_AREAS
    # Staff pages (people's details, HQ's working picture) and a family's answer (its key in the address,
    # someone's whereabouts on the page): a shared PC's or phone's back button or cache must not show
    # them to the next person.
    # So are the answers to what a person sent (a pre-registration's QR and names, a self-report's
    # confirmation, a form shown again with what was typed) and the safety API's (an inquiry's answer).
    # So is a family's own registration page, its secret in the address (hq_dashboard.prereg_manage).
    if request.path.startswith(STAFF_AREAS) or (request.path == "/safety/check" and request.args.get("key")) or (
            request.path.startswith("/prereg/manage/")) or (
            not request.path.startswith("/static/") and session.get("_user_id")) or (
            request.method not in ("GET", "HEAD")) or request.path.startswith("/api/v1/safety/"):
        headers["Cache-Control"] = "no-store"
    return response


def _secret_key(app: Flask) -> str:
    """A per-installation secret, so that log-ins and forms survive restarts.  On SQLite it lives
    beside the database file (<db>.secret-key), wherever the command is run from; on PostgreSQL set
    EVAC_SECRET_KEY, or it is kept in $EVAC_VAR_DIR (default ./var) as hq-secret-key.  A key made
    now is noted in app.extensions (NEW_SECRET_KEY): prepare_database refuses it for a database whose
    IC card links and kiosks were keyed by an old one (refuse_a_new_key_for_old_links)."""
    import secrets
    var_key = Path(os.environ.get("EVAC_VAR_DIR", Path.cwd() / "var")) / "hq-secret-key"
    path = secret_key_path(app.config["SQLALCHEMY_DATABASE_URI"])
    adopt, legacy, looked = None, None, [var_key]
    if path is None:
        path = var_key
    elif not path.exists():
        database = path.with_name(path.name.removesuffix(".secret-key"))
        # Older releases kept var/hq.sqlite3 with var/hq-secret-key beside it: the key beside the
        # database first (HQ may be started from another folder now), then ./var as they looked.
        looked = _unique([path, database.parent / "hq-secret-key", var_key])
        # Only a database with HQ's work in it takes an old key: a new or empty one must not take the
        # key of whatever HQ once ran in the folder it was started from (its log-ins would pass here).
        if _holds_hqs_work(database):
            legacy = next((place for place in looked[1:] if place.is_file()), None)
            adopt = legacy.read_text().strip() if legacy is not None else None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            try:  # created 0600 from the start: no moment when others could read it
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:  # another HQ command made it just now
                pass
            else:
                with os.fdopen(fd, "w") as f:
                    f.write(adopt or secrets.token_hex(32))
                if adopt:
                    print(f"evac: 本部の秘密鍵は今後、データベースと同じ場所に置きます（{legacy} を {path} に"
                          f"コピーしました） / HQ's secret key now lives beside its database: copied {legacy} to {path}",
                          file=sys.stderr)
                else:
                    app.extensions[NEW_SECRET_KEY] = {"path": path, "looked": looked}
        return path.read_text().strip()
    except OSError:
        app.logger.warning("no writable place for the secret key; forms will not survive a restart")
        app.extensions[NEW_SECRET_KEY] = {"path": None, "looked": looked}
        return secrets.token_hex(32)


NEW_SECRET_KEY = "evac_new_secret_key"


def _unique(paths: list[Path]) -> list[Path]:
    seen, kept = set(), []
    for place in paths:
        if place.absolute() not in seen:
            seen.add(place.absolute())
            kept.append(place)
    return kept


def _holds_hqs_work(database: Path) -> bool:
    """The SQLite file holds kiosks, IC card links, persons or staff of an HQ that ran on it."""
    import sqlite3
    if not database.is_file():
        return False
    try:
        conn = sqlite3.connect(f"{database.absolute().as_uri()}?mode=rw", uri=True, timeout=10)
    except sqlite3.Error:
        return False
    try:
        tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        return any(conn.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone()
                   for table in ("kiosks", "ic_links", "persons", "staff_users") if table in tables)
    except sqlite3.Error:   # not a database after all: opening it for HQ says so
        return False
    finally:
        conn.close()


class OldSecretKeyMissing(SettingError):
    """The database's IC card links and kiosks were keyed by an old secret key this start did not find."""


def refuse_a_new_key_for_old_links(app: Flask) -> None:
    """A database whose IC card links (or kiosks, which hash cards with it) were made under a key HQ
    derived from its old secret, with that key not kept in hq_meta yet: a new secret now would be kept
    for good (api.keep_ic_token_key) and every card linked so far would stop finding its person."""
    from sqlalchemy import func, select

    from .api import IC_TOKEN_KEY
    from .models import HQMeta, IcLink, Kiosk
    made = app.extensions.get(NEW_SECRET_KEY)
    if made is None or db.session.get(HQMeta, IC_TOKEN_KEY) is not None:
        return
    kiosks = db.session.scalar(select(func.count()).select_from(Kiosk))
    links = db.session.scalar(select(func.count()).select_from(IcLink))
    db.session.rollback()
    if not kiosks and not links:
        return
    if made["path"] is not None:   # or the next start would take the new key as HQ's own
        made["path"].unlink(missing_ok=True)
    app.extensions.pop(NEW_SECRET_KEY)
    looked = [str(place.absolute()) for place in made["looked"]]
    places = " or ".join(looked)
    raise OldSecretKeyMissing(
        f"本部のデータベースには、古い秘密鍵で作った登録済みの端末 {kiosks} 台と IC カードの紐付け {links} 件がありますが、"
        f"その鍵が見つかりません（探した場所: {'、'.join(looked)}）。新しい鍵で起動すると、これまで紐付けた IC カードで"
        "本人を見つけられなくなります。古い hq-secret-key ファイルをデータベースの横にコピーするか、EVAC_VAR_DIR を"
        "そのファイルのあるフォルダに、または EVAC_SECRET_KEY をその中身にして、本部をもう一度起動してください / "
        f"HQ's database has {kiosks} enrolled kiosk(s) and {links} IC card link(s) made with its old secret key, "
        f"and that key was not found (looked for {places}); starting with a new key would make every IC card "
        "linked so far stop finding its person. Copy the old hq-secret-key file beside the database, or set "
        "EVAC_VAR_DIR to the folder that holds it, or EVAC_SECRET_KEY to its contents, and start HQ again")


def sqlite_file(database_url: str) -> Path | None:
    """The database file of a SQLite URL; None for PostgreSQL or an in-memory database."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError
    try:
        url = make_url(database_url)
    except (ArgumentError, TypeError, ValueError):  # an unusable URL is refused when the database is opened
        return None
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:" \
            or url.database.startswith("file:"):
        return None
    return Path(url.database)


def secret_key_path(database_url: str) -> Path | None:
    """<database file>.secret-key for a SQLite file; None for PostgreSQL or an in-memory database."""
    database = sqlite_file(database_url)
    return None if database is None else Path(f"{database}.secret-key")


class _MigrationsWhenRun:
    """Flask-Migrate's registration, made when a migration first asks for it: importing Alembic cost every
    HQ command 0.1 s of its 0.7, and one on an up-to-date database runs none."""

    def __init__(self, app: Flask):
        self.app = app

    def __getattr__(self, name: str):
        from flask_migrate import Migrate
        Migrate(render_as_batch=True, compare_type=True).init_app(self.app, db, directory=MIGRATIONS_DIR)
        return getattr(self.app.extensions["migrate"], name)   # (init_app put its own in this one's place)


def _schema_revision() -> str | None:
    """The revision HQ's database is at (Alembic's table), None for a database without one yet."""
    from sqlalchemy import inspect, text
    with db.engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def _head_revision() -> str:
    """This release's newest migration."""
    return _migrations()[1]


def _migrations() -> tuple[set[str], str]:
    """This release's migrations and the newest of them, read from the files' `revision` and `down_revision`
    lines (as Alembic's ScriptDirectory would, without importing Alembic or each migration)."""
    import re
    revisions, parents = set(), set()
    for path in Path(MIGRATIONS_DIR, "versions").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        revisions.add(re.search(r"^revision\s*=\s*['\"]([^'\"]+)['\"]", source, re.M).group(1))
        parents.update(re.findall(r"['\"]([^'\"]+)['\"]",
                                  re.search(r"^down_revision\s*=\s*(.*)$", source, re.M).group(1)))
    (head,) = revisions - parents
    return revisions, head


class SchemaBehind(SettingError):
    """The database is at an older release's schema, and this command may not upgrade it."""


class SchemaAhead(SettingError):
    """The database is at a newer release's schema: this release would read and write it wrongly."""


def _refuse_a_newer_schema(current: str | None) -> None:
    """A revision none of this release's migrations is: a newer release upgraded the database (Alembic would
    only say it "can't locate revision", and a command other than the start took it for an older one)."""
    revisions, head = _migrations()
    if current is not None and current not in revisions:
        raise SchemaAhead(
            f"本部のデータベースは {current} で、このリリース（{head} まで）より新しいリリースのものです。"
            "新しいリリースで実行してください（このリリースでは正しく扱えません。何も変更していません） / "
            f"HQ's database is at {current}, from a newer release than this one (which knows up to {head}): "
            "run the newer release (this one would use it wrongly; nothing was changed)")


def _refuse_an_older_schema(app: Flask) -> str | None:
    """An older release's database: only HQ's start (serve, init) upgrades it.  Upgraded by another
    command (enroll-kiosk, add-staff) while the older HQ still serves, the older HQ's pages would fail
    on tables the upgrade removed, and its syncs write the older forms into the upgraded database."""
    current, head = _schema_revision(), _head_revision()
    if current is not None and current != head:
        raise SchemaBehind(
            f"本部のデータベースは古いリリースのスキーマ {current} です。このリリースには {head} が必要です。古いリリースで"
            "動いている本部をすべて止めてから、このリリースを起動して（evac hq serve）データベースを更新し、"
            "このコマンドをもう一度実行してください / "
            f"HQ's database is at {current}, from an older release; this release needs {head}. Stop every HQ "
            "still running the older release, then start this one (evac hq serve), which upgrades the "
            "database; then run this command again")
    return current


def prepare_database(app: Flask, upgrade_schema: bool = True) -> int:
    """Bring the schema up to date and seed the shelters on an empty database.  `upgrade_schema`
    False (every command but serve and init): a database at an older release's schema is refused."""
    from . import rekey
    from .api import keep_ic_token_key
    from .seed import seed_if_empty
    with app.app_context():
        current = _schema_revision()
        made_now = current is None
        _refuse_a_newer_schema(current)
        # (a command other than serve and init on an up-to-date database has no migration to run)
        if upgrade_schema or _refuse_an_older_schema(app) is None:
            from flask_migrate import upgrade
            upgrade(directory=MIGRATIONS_DIR)
        if made_now:
            rekey.mark_new(db.engine)   # a new HQ's first start said it had re-keyed "0 records" (a warning)
        try:
            if upgrade_schema:
                joined = rekey.bring_up_to_date(db.engine)
                if joined is not None:
                    app.logger.warning(
                        "HQ's identity keys were brought to this release's form (once, for good); %d person "
                        "record(s) joined another, being the same person under two spellings of an address or "
                        "name (counted once from now). Nothing else to do", joined)
            elif (why := rekey.why_not_current(db.engine)) is not None:
                raise SchemaBehind(why)
        except (rekey.NewerForm, rekey.BrokenForm) as exc:
            raise SettingError(str(exc)) from None
        refuse_a_new_key_for_old_links(app)
        seeded = seed_if_empty(db.session, app.config["AREA_PER_PERSON_M2"])
        keep_ic_token_key(db.session, app.config["SECRET_KEY"])
        return seeded
