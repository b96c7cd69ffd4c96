"""What the kiosk takes in as typed text, beyond the event model's rules (evac.events)."""
from __future__ import annotations

import datetime as dt

from evac.dates import NoSuchDay, parse_typed_birth_date
from evac.typed_names import in_letters, reads_as_kana  # noqa: F401  (the kiosk's checks, shared with HQ's pre-registration)


def no_such_day(text: str) -> bool:
    """Whether a birth date is typed in a form people write one in (evac.dates) but names no day: 2010-02-30,
    2011-02-29, 1948-13-04, 昭和65年1月1日.  Said as such ("check the year, month and day"), where "type it as
    year-month-day" would not help: it is so typed."""
    try:
        parse_typed_birth_date(text, dt.date.max)   # whether the day exists: the bounds are said apart
    except NoSuchDay:
        return True
    except ValueError:
        pass
    return False
