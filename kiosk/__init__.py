"""The shelter kiosk app: checks people in to its own SQLite database, syncs to HQ when it can."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from flask import Config, Flask

from .secure_cookies import SecureOverHttps

# No page of the kiosk loads anything from outside it (issue 4), and the browser enforces it: the
# screen's, the staff tablet's and the status page.  No inline script at all.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; "
    "img-src 'self' data: blob:; media-src 'self' blob:; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'")   # no other site's page may frame a lead's buttons


def settings(config: dict[str, Any] | None = None) -> Config:
    """The kiosk's settings: its defaults, then KIOSK_* from the environment, then `config`; a wrong one
    refused in words (ValueError).  `evac kiosk serve` asks before it makes a new kiosk database."""
    found = Config(Path(__file__).parent)
    found.from_mapping(
        KIOSK_DB=None,          # path of the kiosk's SQLite file
        SHELTER_ID=None,        # the shelter this kiosk stands in
        HQ_URL=None,
        HQ_TOKEN=None,
        SYNC_INTERVAL=2.0,      # seconds between sync rounds while HQ answers (env KIOSK_SYNC_INTERVAL)
        # the longest wait between tries while HQ is out of reach, each failure doubling it (KIOSK_SYNC_MAX_BACKOFF)
        SYNC_MAX_BACKOFF=60.0,
        SYNC_SAY=None,          # say(text): the sync's changes of state on the operator's console (kiosk serve)
        START_SYNC=True,
        MAX_CONTENT_LENGTH=256 * 1024,
        SCREEN_TIMEOUT=90,       # seconds without a touch before the screen starts over, blank
        SCREEN_DONE_TIMEOUT=20,  # seconds the confirmation stays up
        # 「係員が来ます」 stays this long while the call is open (the person was told to wait: not 90 s),
        # asking every SCREEN_CALL_POLL_SECONDS whether staff have marked it helped
        SCREEN_CALLED_TIMEOUT=600,
        SCREEN_CALL_POLL_SECONDS=10,
        IC_READER=False,         # an nfcpy reader (NFC_DEVICE) for transport IC cards on the screen
    )
    found.from_prefixed_env("KIOSK")
    if config:
        found.update(config)
    if not found["KIOSK_DB"] or not found["SHELTER_ID"]:
        raise ValueError("the kiosk needs KIOSK_DB (its database file) and SHELTER_ID")
    for name in ("SYNC_INTERVAL", "SYNC_MAX_BACKOFF"):
        found[name] = _seconds(name, found[name])
    return found


class _KioskFlask(Flask):
    def get_send_file_max_age(self, filename: str | None) -> int | None:
        # The fonts, split into hundreds of unicode-range files, are the same until the kiosk's software is:
        # a tablet on a congested shelter Wi-Fi keeps them a day rather than asking about dozens a page.  Its
        # own scripts and styles are asked about each time (a kiosk updated in place runs no old script).
        if filename and filename.startswith("vendor/fonts/"):
            return 24 * 3600
        return super().get_send_file_max_age(filename)


def create_app(config: dict[str, Any] | None = None) -> Flask:
    app = _KioskFlask(__name__)
    app.session_interface = SecureOverHttps()   # the tablets' HTTPS port (kiosk.tablet_tls)
    app.config.update(settings(config))
    app.json.ensure_ascii = False

    @app.after_request
    def _nothing_from_outside(resp):
        resp.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return resp

    from . import checkin, db, i18n, screen
    from .identifications import Identifications
    db.init_app(app)
    i18n.init_app(app)
    app.register_blueprint(checkin.bp)
    app.register_blueprint(screen.bp)
    # what the screen identified, held in memory a little longer than the screen waits for a touch
    app.extensions["screen_ids"] = Identifications(float(app.config["SCREEN_TIMEOUT"]) + 60)

    # The staff tablet (issue 4) under /staff: logins, roster, export; its own translation domain.
    from . import staff
    staff.init_app(app)

    if app.config.get("CARD_READER") == "pcsc" and app.config.get("WATCH_TAPS", True):
        from .tap import PcscTapWatcher
        try:
            app.extensions["tap_watcher"] = PcscTapWatcher(app.config.get("READER_NAME"))
        except Exception as exc:  # no pyscard: the kiosk still works with QR codes and staff entry
            # (pcscd absent or restarting is the watcher's own to wait for: kiosk/tap.py)
            app.logger.warning("card reader not watched: %s", exc)

    if app.config["HQ_URL"] and app.config["HQ_TOKEN"] and app.config["START_SYNC"]:
        from .sync import BackgroundSync, HQClient
        syncer = BackgroundSync(app.config["KIOSK_DB"], HQClient(app.config["HQ_URL"], app.config["HQ_TOKEN"]),
                                interval=app.config["SYNC_INTERVAL"], max_backoff=app.config["SYNC_MAX_BACKOFF"],
                                say=app.config["SYNC_SAY"])
        app.extensions["kiosk_sync"] = syncer
        syncer.start()
    return app


def _seconds(name: str, value: Any) -> float:
    """A number of seconds above 0 from the kiosk's settings (env KIOSK_<NAME> arrives as text or JSON)."""
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = math.nan
    if isinstance(value, bool) or not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"KIOSK_{name} は 0 より大きい秒数にしてください（例: 60。いまは {value!r}） / "
                         f"KIOSK_{name} must be a number of seconds above 0, like 60 (it is {value!r})")
    return seconds
