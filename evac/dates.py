"""Birth dates as people type them on a Japanese kiosk: 1980-02-17, 1980/2/17, 1980.2.17, 1980年2月17日,
full-width digits from an IME, or the Japanese era (和暦) 昭和55年2月17日, S55.2.17, 昭55.2.17, 平成元年1月8日;
spaces may part the numbers (1980 2 17).
Anything else is refused, never guessed: an ISO week date or a two-digit year could name the wrong day."""
from __future__ import annotations

import datetime as dt
import re
import unicodedata

from .events import OLDEST_BIRTH

# Each era from its first day (明治 from 1868-01-01, the year its first year was reckoned from).
ERAS = (("明治", "M", dt.date(1868, 1, 1)), ("大正", "T", dt.date(1912, 7, 30)),
        ("昭和", "S", dt.date(1926, 12, 25)), ("平成", "H", dt.date(1989, 1, 8)),
        ("令和", "R", dt.date(2019, 5, 1)))
# (and each era's first kanji alone, as paper forms abbreviate it: 昭55.2.17)
_ERA = {key: i for i, (kanji, letter, _start) in enumerate(ERAS) for key in (kanji, kanji[0], letter)}

_SEP = r"(?:\s*[-/.]\s*|\s+)"   # 1980-2-17, 1980/2/17, 1980.2.17, or spaces: 1980 2 17
_WESTERN = re.compile(rf"(\d{{4}})(?:{_SEP}(\d{{1,2}}){_SEP}(\d{{1,2}})|\s*年\s*(\d{{1,2}})\s*月\s*(\d{{1,2}})\s*日?|(\d{{2}})(\d{{2}}))")
_JAPANESE = re.compile(rf"(明治|大正|昭和|平成|令和|[明大昭平令MTSHR])\s*(元|\d{{1,2}})"
                       rf"(?:{_SEP}(\d{{1,2}}){_SEP}(\d{{1,2}})|\s*年\s*(\d{{1,2}})\s*月\s*(\d{{1,2}})\s*日?)")


class NotADate(ValueError):
    """Not a birth date in a form this module reads (or not a day that exists)."""


class NoSuchDay(NotADate):
    """In a form this module reads, but a day that does not exist: 2010-02-30, 2011-02-29, 昭和65年1月1日,
    平成31年5月1日 (令和 by then).  Said as such ("check the year, month and day"), not as a wrong format.
    A NotADate still, to a caller that does not tell the two apart."""


class InTheFuture(ValueError):
    """A real date, but after today."""


class TooLongAgo(NotADate):
    """A real date, but before OLDEST_BIRTH (a mistyped year, most likely): said as such, not as a wrong
    format.  A NotADate still, to a caller that does not tell the two apart."""
    oldest = OLDEST_BIRTH


def parse_typed_birth_date(text: object, today: dt.date) -> dt.date:
    """The date typed, or NotADate (NoSuchDay, TooLongAgo) / InTheFuture.  `today` allows one day's slack, as parse_birth_date does
    (a kiosk east of the date line of the person's idea of today)."""
    if not isinstance(text, str):
        raise NotADate(text)
    value = unicodedata.normalize("NFKC", text).strip().upper()
    if m := _WESTERN.fullmatch(value):
        born = _date(int(m[1]), int(m[2] or m[4] or m[6]), int(m[3] or m[5] or m[7]))
    elif m := _JAPANESE.fullmatch(value):
        era = _ERA[m[1]]
        nth = 1 if m[2] == "元" else int(m[2])
        start = ERAS[era][2]
        born = _date(start.year + nth - 1, int(m[3] or m[5]), int(m[4] or m[6]))
        end = ERAS[era + 1][2] if era + 1 < len(ERAS) else None
        if nth < 1 or born < start or (end and born >= end):
            raise NoSuchDay(text)   # 昭和65年 or 平成31年5月1日: no such day in that era
    else:
        raise NotADate(text)
    if born < OLDEST_BIRTH:
        raise TooLongAgo(text)
    if born.toordinal() > today.toordinal() + 1:
        raise InTheFuture(text)
    return born


def _date(year: int, month: int, day: int) -> dt.date:
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise NoSuchDay(f"{year}-{month}-{day}") from None


def to_japanese_era(day: dt.date) -> tuple[str, int]:
    """The era and its year a date falls in (for tests and for showing a date back)."""
    for kanji, _letter, start in reversed(ERAS):
        if day >= start:
            return kanji, day.year - start.year + 1
    raise ValueError(f"{day} is before 明治")
