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


# Between and within the parts of a reading people type these (NFKC has made ･ ・, ＝ =, ， ,): ジョン・スミス,
# ジョン＝スミス, Anne-Marie O'Neil.
_READING_MARKS = frozenset(" ・·,、=゠.-‐‑'’ʻʼ")


def reads_as_kana(text: str) -> bool:
    """Whether a name's reading (name_kana, ふりがな) typed in at this kiosk is one: kana (hiragana, katakana,
    half-width ones, small kana, ー, ゝ, a lone ゛), or Latin letters for a foreign name as its owner writes
    it (José Martínez, Nguyễn Thị Lan), with spaces and the marks between names; at least one kana or letter.
    Emoji or symbols (😀, ★★, やまだ🌸), digits, and kanji (an input method's conversion slipped into the kana
    field) are no reading: the roster is sorted and searched by it.  Checked only where the kiosk takes new
    text in, as in_letters; a reading already kept (from HQ's QR, HQ, an older kiosk) is let be."""
    said = False
    for c in unicodedata.normalize("NFKC", text):
        kind = unicodedata.category(c)
        if "\u3041" <= c <= "\u30ff" or "\u31f0" <= c <= "\u31ff":   # hiragana, katakana (and ・ ー ゛ ゠)
            said = said or kind == "Lo"
        elif kind[0] == "L" and unicodedata.name(c, "").startswith("LATIN"):
            said = True
        elif not (c in _READING_MARKS or c.isspace() or kind in ("Mn", "Cf")):
            return False   # an emoji, a symbol, a digit, a kanji
    return said
