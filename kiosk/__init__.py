"""The shelter kiosk app: checks people in to its own SQLite database, syncs to HQ when it can."""
from __future__ import annotations

from typing import Any

from flask import Flask


def create_app(config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    app.config.from_mapping(
        KIOSK_DB=None,          # path of the kiosk's SQLite file
        SHELTER_ID=None,        # the shelter this kiosk stands in
        HQ_URL=None,
        HQ_TOKEN=None,
        SYNC_INTERVAL=2.0,
        START_SYNC=True,
        MAX_CONTENT_LENGTH=256 * 1024,
    )
    app.config.from_prefixed_env("KIOSK")
    if config:
        app.config.update(config)
    if not app.config["KIOSK_DB"] or not app.config["SHELTER_ID"]:
        raise ValueError("the kiosk needs KIOSK_DB (its database file) and SHELTER_ID")
    app.json.ensure_ascii = False

    from . import checkin, db
    db.init_app(app)
    app.register_blueprint(checkin.bp)

    # Languages: chosen with one tap, kept in the session (or a `lang` cookie); Japanese by default.
    from flask_babel import Babel
    from .staff.i18n import select_locale
    Babel(app, locale_selector=select_locale, default_locale="ja")

    # The staff tablet (issue 4) under /staff: logins, roster, export; its own translation domain.
    from . import staff
    staff.init_app(app)

    if app.config.get("CARD_READER") == "pcsc" and app.config.get("WATCH_TAPS", True):
        from .tap import PcscTapWatcher
        try:
            app.extensions["tap_watcher"] = PcscTapWatcher(app.config.get("READER_NAME"))
        except Exception as exc:  # no pcscd: the kiosk still works with QR codes and staff entry
            app.logger.warning("card reader not watched: %s", exc)

    if app.config["HQ_URL"] and app.config["HQ_TOKEN"] and app.config["START_SYNC"]:
        from .sync import BackgroundSync, HQClient
        syncer = BackgroundSync(app.config["KIOSK_DB"], HQClient(app.config["HQ_URL"], app.config["HQ_TOKEN"]),
                                interval=app.config["SYNC_INTERVAL"])
        app.extensions["kiosk_sync"] = syncer
        syncer.start()
    return app
