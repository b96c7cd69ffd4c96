"""What the kiosk takes in as typed text, beyond the event model's rules (evac.events)."""
from __future__ import annotations

import datetime as dt
import unicodedata

from evac.dates import NoSuchDay, parse_typed_birth_date


def in_letters(text: str) -> bool:
    """Whether a name or family code typed in at this kiosk has a letter or digit in it, in any script (kana,
    kanji, Latin with accents, digits): emoji or symbols alone (😀😀, ★★) are no one's name, nor a code a
    relative can say on the phone.  One among letters (太郎😀) is let be.  Checked only where the kiosk takes
    new text in (the screen, the JSON API's check-in, `evac kiosk checkin`, the tablet's forms): records
    already kept with such a name (HQ's parser and evac.identity accept them) still sync, leave and move on."""
    return any(unicodedata.category(c)[0] in "LN" for c in unicodedata.normalize("NFKC", text))


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
