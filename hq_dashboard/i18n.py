"""Languages of HQ's public pages (inquiry, answer, self-report): the kiosk's seven.

Families reach these pages from their own phones, so the choice is remembered:
`?lang=` (one tap on the language bar) sets a `lang` cookie; without either the
browser's Accept-Language picks among the seven; Japanese otherwise.  The codes
and names are the kiosk's (kiosk.i18n.LANGUAGES), so both apps offer the same
choice; catalogs are hq_dashboard/translations/<locale>/LC_MESSAGES/messages.po.
The staff review pages are not translated (ja/en); the JSON API stays English.
"""
from __future__ import annotations

from urllib.parse import urlencode

from flask import Flask, has_request_context, request
from flask_babel import Babel

from kiosk.i18n import DEFAULT, LANGUAGES

COOKIE = "lang"
COOKIE_MAX_AGE = 365 * 24 * 3600
# Accept-Language tags -> our code: the Babel locales, plus Tagalog's own tag.
_BROWSER_TAGS = {**{locale: code for code, (_name, locale) in LANGUAGES.items() if "@" not in locale},
                 "tl": "tl"}


def current_language() -> str:
    """This request's language code (a key of LANGUAGES)."""
    for code in (request.args.get("lang"), request.cookies.get(COOKIE)):
        if code in LANGUAGES:
            return code
    tag = request.accept_languages.best_match(list(_BROWSER_TAGS))
    return _BROWSER_TAGS.get(tag, DEFAULT) if tag else DEFAULT


def html_lang(code: str) -> str:
    """The BCP 47 tag for <html lang>: やさしい日本語 is Japanese."""
    return "ja" if code == "easy" else code


def language_url(code: str) -> str:
    """This page again in another language (a POST's result goes back to its form)."""
    args = {k: v for k, v in request.args.items() if k != "lang"}
    return request.path + "?" + urlencode({**args, "lang": code})


def _remember(response):
    chosen = request.args.get("lang")
    if chosen in LANGUAGES and request.cookies.get(COOKIE) != chosen:
        response.set_cookie(COOKIE, chosen, max_age=COOKIE_MAX_AGE, samesite="Lax", httponly=True)
    return response


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", "translations")
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", "Asia/Tokyo")
    Babel(app, locale_selector=lambda: LANGUAGES[current_language()][1])
    app.after_request(_remember)

    @app.context_processor
    def _languages():
        if not has_request_context():
            return {}
        code = current_language()
        return {"ui_languages": LANGUAGES, "ui_lang": code, "ui_html_lang": html_lang(code),
                "ui_language_url": language_url}
