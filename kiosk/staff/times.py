"""Times on the staff tablet are the shelter's own (Asia/Tokyo, the kiosk's BABEL_DEFAULT_TIMEZONE), and
say so: the kiosk keeps UTC, and a call at 00:05 must not read 15:05 the day before."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from flask import current_app

DEFAULT_ZONE = "Asia/Tokyo"


def zone() -> ZoneInfo:
    return ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE") or DEFAULT_ZONE)


def local(when: dt.datetime | str | None, fmt: str = "%Y-%m-%d %H:%M %Z") -> str:
    """A moment (an aware datetime, or ISO text as the kiosk stores it) in the shelter's time, labelled
    with its zone (JST); "" for none.  Text without a zone is UTC, as the kiosk writes it."""
    if not when:
        return ""
    if isinstance(when, str):
        try:
            when = dt.datetime.fromisoformat(when)
        except ValueError:
            return when  # not a time: shown as it is rather than a 500
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return when.astimezone(zone()).strftime(fmt)


def now() -> dt.datetime:
    return dt.datetime.now(zone())
