"""HQ's answer when a request fails (no such page, wrong method, too large, HQ's own fault, a database
that failed): JSON {error, message} under /api/, where kiosks and scripts read it; a plain page in
Japanese and English elsewhere, for the person at the browser.  The blueprints' own handlers (the sync
API's, CSRF, rate limits) come first; this is what is left."""
from __future__ import annotations

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


def http_error(exc: HTTPException):
    code = exc.code or 500
    ja, en = MESSAGES.get(code, MESSAGES[500] if code >= 500 else MESSAGES[400])
    headers = [(k, v) for k, v in exc.get_headers() if k.lower() == "allow"]   # 405 says what is allowed
    if request.path.startswith("/api/"):
        message = en
        if code == 413:
            message = f"the request is larger than HQ accepts ({current_app.config['MAX_CONTENT_LENGTH']} bytes)"
        return jsonify({"error": CODES.get(code, "http_error"), "message": message}), code, headers
    return render_template("message.html", title=f"エラー {code} / Error {code}", ja=ja, en=en), code, headers
