"""Recognising a 12-digit Individual Number (マイナンバー) typed where it must not go.

番号法 §20: a shelter may not collect the number.  The kiosk never reads it from the card, but a
person can still type it into a free-text field (a note, a family code, an address); those fields
refuse it, so it is never stored, logged or synced.  Recognised by its check digit (番号法施行令
§8), so that other twelve-digit numbers rarely trip it.
"""
from __future__ import annotations

import re
import unicodedata

# Twelve digits, possibly split as people write them (1234 5678 9018): by any run of spaces, and up to
# five of the marks a Japanese IME offers between digits (−, ‐, ー, 、, 。, ・, :, brackets, dots, commas,
# slashes, ~ | ' * + #: 1234 -- 5678); not part of a longer run of digits.  Checked after NFKC (全角 digits,
# spaces and marks), with the digits of every script made 0-9 and whatever shows nothing between them
# dropped (_INVISIBLE).  Atomic: the separators hold no digit, so nothing is to be gained by
# giving any of them back, and a long run of spaces costs one pass.
_SEPARATOR = "(?>\\s*(?:[\\-‐‑‒–—―−ー_.,/・、。:()~|'*+#]\\s*){0,5})"
# Searched at every position (a lookahead that captures), so that a number right after another group
# of digits (〒425-0000 1234 5678 9018) is not hidden by a match that began at the group before it.
_CANDIDATE = re.compile(f"(?<![0-9])(?=((?:[0-9]{_SEPARATOR}){{11}}[0-9])(?![0-9]))")
_NOT_DIGIT = re.compile("[^0-9]")
# Kanji numerals written digit by digit, as the number is read out (一二三四 五六七八 九〇一八), and the
# formal 壱弐参 of documents.  Not 十百千: a twelve-digit number is never written with place values.
_KANJI_DIGITS = {"〇": "0", "零": "0", "一": "1", "壱": "1", "二": "2", "弐": "2", "三": "3", "参": "3", "四": "4",
                 "五": "5", "六": "6", "七": "7", "八": "8", "九": "9"}
# Any script's decimal digit (category Nd, as str.isdecimal) or a kanji numeral.
_DECIMAL = re.compile(f"[\\d{''.join(_KANJI_DIGITS)}]")
# hh:mm inside twelve digits is a date and time a staff note gives (2026/11/26 14:30), not the number.
_CLOCK = re.compile("(?<![0-9])[0-9]{1,2}\\s*:\\s*[0-9]{2}(?![0-9])")
_ASCII_DIGITS = "0123456789"


def check_digit(first_eleven: str) -> int:
    """The twelfth digit of an Individual Number whose first eleven are given."""
    total = sum(int(d) * (n + 1 if n <= 6 else n - 5)
                for n, d in enumerate(reversed(first_eleven), start=1))
    remainder = total % 11
    return 0 if remainder <= 1 else 11 - remainder


def is_individual_number(digits: str) -> bool:
    return len(digits) == 12 and digits.isdigit() and check_digit(digits[:11]) == int(digits[11])


# Characters that show nothing of their own between two digits: format characters (zero-width space, soft
# hyphen), combining and enclosing marks (a phone's keycap digits 1️⃣ are 1, U+FE0F, U+20E3; an underline
# U+0332; the grapheme joiner U+034F), and the blank fillers of Hangul and Braille.
_INVISIBLE_CATEGORIES = frozenset({"Cf", "Mn", "Me"})
_FILLERS = frozenset("\u115f\u1160\u3164\uffa0\u2800\u180e")


def _plain(text: str) -> str:
    """Digits of any script and kanji numerals as 0-9, without what shows nothing between them."""
    return "".join(str(unicodedata.decimal(c)) if c.isdecimal() else _KANJI_DIGITS.get(c)
                   or ("" if c in _FILLERS or unicodedata.category(c) in _INVISIBLE_CATEGORIES else c)
                   for c in text)


def _phone(digits: str, before: str) -> bool:
    """Twelve digits that a contact may hold as a phone number.  +…: any number from abroad.  81…: Japan
    from abroad without the + (81 and the number without its 0: 81 90 1234 5678).  08…: numbers at home
    in Japan are 10 or 11 digits, but Indonesia's mobiles (residents' families) have 12, written in groups
    no different from the Individual Number's (0812-3456-7890).  Not every 0…: a tenth of all Individual
    Numbers begin with 0."""
    return before.rstrip().endswith("+") or digits.startswith("08") or (digits.startswith("81") and digits[2] != "0")


def without_individual_numbers(text: str) -> str:
    """`text` to keep or show, its digits starred out if it holds an Individual Number: a message that
    repeats what a kiosk sent (an id) may repeat the number."""
    return re.sub(r"\d", "*", text) if contains_individual_number(text) else text


def contains_individual_number(text: str, phones: bool = False) -> bool:
    """Whether `text` holds twelve digits that are a valid Individual Number, in any script's digits or
    in kanji numerals.
    `phones`: the text may hold phone numbers (a contact): twelve digits written as a phone number
    (see _phone) are taken for one."""
    text = unicodedata.normalize("NFKC", text)
    # Most texts (every name, most addresses) have fewer than twelve digits: no need for the search.
    if text.isascii():
        if sum(map(text.count, _ASCII_DIGITS)) < 12:
            return False
    else:
        if len(_DECIMAL.findall(text)) < 12:
            return False
        text = _plain(text)
    for m in _CANDIDATE.finditer(text):
        candidate = m.group(1)
        digits = _NOT_DIGIT.sub("", candidate)
        if not is_individual_number(digits) or (":" in candidate and _CLOCK.search(candidate)):
            continue
        if phones and _phone(digits, text[:m.start()]):
            continue
        return True
    return False


def looks_like_individual_number_not_phone(phone: str) -> bool:
    """In a phone field: an Individual Number however written, unless it is written as a phone number
    (see _phone)."""
    return contains_individual_number(phone, phones=True)
