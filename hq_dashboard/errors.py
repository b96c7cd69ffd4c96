"""HQ's answer when a request fails (no such page, wrong method, too large, HQ's own fault, a database
that failed): JSON {error, message} under /api/, where kiosks and scripts read it; a plain page
elsewhere, for the person at the browser.  Both in Japanese and English: a kiosk shows the message to
its staff as it is.  The blueprints' own handlers (the sync API's, CSRF, rate limits) come first; this is
what is left."""
from __future__ import annotations

import sys

from flask import current_app, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 413: "too_large",
         500: "server_error", 503: "unavailable"}

MESSAGES = {
    400: ("リクエストを読み取れませんでした。ページを読み込み直して、もう一度お試しください。",
          "The request could not be read. Reload the page and try again."),
    404: ("このページはありません。アドレスを確かめてください。", "There is no such page. Please check the address."),
    405: ("このページはこの方法では使えません。", "This page cannot be used this way (method not allowed)."),
    413: ("送られたデータが大きすぎます。何も保存されていません。",
          "What was sent is larger than HQ accepts. Nothing was saved."),
    500: ("本部のサーバーで問題が起きました。何も保存されていないことがあります。しばらくしてからもう一度お試しください。"
          "続く場合は本部の担当者に連絡してください。",
          "Something went wrong on HQ's server; what you sent may not have been saved. Please try again "
          "in a moment, and if it goes on, tell HQ's staff."),
}


def _words(code: int) -> tuple[str, str]:
    return MESSAGES.get(code, MESSAGES[500] if code >= 500 else MESSAGES[400])


def json_message(code: int) -> str:
    """The JSON answer's message: Japanese, then English (the kiosk's staff read the first, scripts the
    second; `error` is the code programs go by)."""
    ja, en = _words(code)
    if code == 413:
        limit = current_app.config["MAX_CONTENT_LENGTH"]
        ja = f"送られたデータが大きすぎます（本部が受け付けるのは {limit} バイトまで）。何も保存されていません。"
        en = f"the request is larger than HQ accepts ({limit} bytes); nothing was saved"
    return f"{ja} / {en}"


def json_error(exc: HTTPException, codes: dict[int, str] | None = None):
    """A failure under /api/ as {error, message} (`codes`: a blueprint's own names for some statuses)."""
    code = exc.code or 500
    headers = [(k, v) for k, v in exc.get_headers() if k.lower() == "allow"]   # 405 says what is allowed
    name = (codes or {}).get(code) or CODES.get(code, "http_error")
    return jsonify({"error": name, "message": json_message(code)}), code, headers


def http_error(exc: HTTPException):
    code = exc.code or 500
    if request.path.startswith("/api/"):
        return json_error(exc)
    ja, en = _words(code)
    headers = [(k, v) for k, v in exc.get_headers() if k.lower() == "allow"]
    return render_template("message.html", title=f"エラー {code} / Error {code}", ja=ja, en=en,
                           retry=RETRY_SECONDS if code >= 500 and _reloads_itself() else None), code, headers


RETRY_SECONDS = 15


def _reloads_itself() -> bool:
    """A page that reloads itself on a screen nobody touches (the dashboard's ?auto=1, the public occupancy
    table at /): its error page must keep trying, or one failed reload (a database restarting) leaves the
    screen on the error for good."""
    return request.method == "GET" and (request.args.get("auto") == "1" or request.path == "/")


# (a kiosk takes any 5xx as "try again", and "busy" is the sync's own word for it: api._busy)
LOST_JA = "本部のデータベースとの接続が一時的に切れました（再起動など）。しばらくしてからもう一度お試しください。"
LOST_EN = "HQ's connection to its database was lost for a moment (a restart?). Please try again shortly."
LOST_JSON = ("本部のデータベースとの接続が一時的に切れました（再起動など）。しばらくしてからもう一度お試しください"
             "（端末は自動で送り直します）。 / HQ's connection to its database was lost for a moment (a restart?); "
             "try again shortly (a kiosk retries by itself)")


def connection_lost(exc: Exception) -> bool:
    """The request's database connection was lost or could not be made: PostgreSQL restarting (its
    connections cut, or refused while it starts), a network between them failing.  Trying again helps:
    HQ makes a new connection (sqlalchemy invalidated the lost one; pool_pre_ping finds the others)."""
    if getattr(exc, "connection_invalidated", False):
        return True
    orig = getattr(exc, "orig", None) or exc
    psycopg = sys.modules.get("psycopg")   # (not imported: HQ is not on PostgreSQL)
    if psycopg is None or not isinstance(orig, psycopg.OperationalError):
        return False
    # No SQLSTATE: the client's side failed (connection refused, closed); 08: connection exceptions;
    # 57P01-03: the server shutting down, crashed, or not yet taking connections.
    return orig.sqlstate is None or orig.sqlstate.startswith(("08", "57P"))


def page_logged() -> str:
    """The page a log line names: its route (/prereg/manage/<secret>), not the path asked for, which may be a
    household's secret management link or hold what someone typed (an id, an Individual Number: 番号法 §20)."""
    rule = request.url_rule
    return rule.rule if rule is not None else (request.endpoint or "(no such page)")


def database_lost(exc: Exception):
    """A lost database connection (connection_lost) as 503: JSON {error: busy, message} under /api/, a plain
    page elsewhere (one that reloads itself keeps trying); one line on HQ's console, not a traceback.
    Any other database error is left to be HQ's 500."""
    if not connection_lost(exc):
        raise exc
    from sqlalchemy.exc import DBAPIError

    from .db import db
    try:   # lost under the driver's own cursor (db.driver_rows), sqlalchemy learns of it here: not in the
        db.session.rollback()   # request's teardown, which would fail this answer after all
    except DBAPIError:
        pass
    cause = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    current_app.logger.warning("HQ's connection to its database was lost (%s); %s %s was answered 503, to be tried "
                               "again. HQ connects again by itself (PostgreSQL restarted?)",
                               cause[0] if cause else type(exc).__name__, request.method, page_logged())
    if request.path.startswith("/api/"):
        return jsonify({"error": "busy", "message": LOST_JSON}), 503
    return render_template("message.html", title="エラー 503 / Error 503", ja=LOST_JA, en=LOST_EN,
                           retry=RETRY_SECONDS if _reloads_itself() else None), 503
