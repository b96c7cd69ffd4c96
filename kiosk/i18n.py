"""Languages of the kiosk's screens (Flask-Babel catalogs in kiosk/translations).

The language is chosen with one tap and travels with each request as `?lang=`;
nothing remembers it, so the next person starts in Japanese again.  The staff
tablet can use the same catalogs and selector.

やさしい日本語 (easy Japanese) has no locale of its own; its catalog is the
Japanese locale with the modifier "easy" (directory translations/ja@easy),
so dates and times are formatted as Japanese.
"""
from __future__ import annotations

from flask import Flask, request
from flask_babel import Babel

DEFAULT = "ja"
# screen code -> (name shown on its button, in its own language; Babel locale)
LANGUAGES: dict[str, tuple[str, str]] = {
    "ja": ("日本語", "ja"),
    "easy": ("やさしい にほんご", "ja@easy"),
    "en": ("English", "en"),
    "pt": ("Português", "pt"),
    "vi": ("Tiếng Việt", "vi"),
    "tl": ("Tagalog", "fil"),  # CLDR knows Tagalog as Filipino (fil)
    "zh": ("中文", "zh"),
}


def current_language() -> str:
    """The screen code of this request's language (from ?lang=), Japanese if none or unknown."""
    code = request.args.get("lang") or request.headers.get("X-Kiosk-Lang") or DEFAULT
    return code if code in LANGUAGES else DEFAULT


def _locale() -> str:
    # The staff tablet keeps its language in the session (one staff member uses it all shift);
    # the evacuee screen's travels with each request and is forgotten with the person.
    if request.path.startswith("/staff"):
        from .staff.i18n import select_locale
        return select_locale()
    return LANGUAGES[current_language()][1]


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", "translations")
    # times on the screen are the shelter's own, whatever the machine's clock zone
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", "Asia/Tokyo")
    Babel(app, locale_selector=_locale)
