"""Recognising a 12-digit Individual Number (マイナンバー) typed where it must not go.

番号法 §20: a shelter may not collect the number.  The kiosk never reads it from the card, but a
person can still type it into a free-text field (a note, a family code, an address); those fields
refuse it, so it is never stored, logged or synced.  Recognised by its check digit (番号法施行令
§8), so that other twelve-digit numbers rarely trip it.
"""
from __future__ import annotations

import re
import unicodedata

# Twelve digits, possibly split as people write them (1234 5678 9018): by spaces, and by the hyphens,
# dashes and long vowel marks a Japanese IME offers (−, ‐, ー), dots, commas, slashes, up to three in a
# row (1234 - 5678); not part of a longer run of digits.  Checked after NFKC (全角 digits and spaces).
_SEPARATOR = "[\\s\\-‐‑‒–—―−ー_.,/・]{0,3}"
_CANDIDATE = re.compile(f"(?<![0-9])(?:[0-9]{_SEPARATOR}){{11}}[0-9](?![0-9])")
_NOT_DIGIT = re.compile("[^0-9]")


def check_digit(first_eleven: str) -> int:
    """The twelfth digit of an Individual Number whose first eleven are given."""
    total = sum(int(d) * (n + 1 if n <= 6 else n - 5)
                for n, d in enumerate(reversed(first_eleven), start=1))
    remainder = total % 11
    return 0 if remainder <= 1 else 11 - remainder


def is_individual_number(digits: str) -> bool:
    return len(digits) == 12 and digits.isdigit() and check_digit(digits[:11]) == int(digits[11])


def contains_individual_number(text: str, phones: bool = False) -> bool:
    """Whether `text` holds twelve digits that are a valid Individual Number (full-width digits too).
    `phones`: the text may hold phone numbers (a contact): twelve digits written as a phone number in
    Japan or from abroad (0…, +…, 81…) are taken for one."""
    text = unicodedata.normalize("NFKC", text)
    if sum(map(text.count, "0123456789")) < 12:
        return False  # most texts (every name, most addresses): no need for the pattern's search
    for m in _CANDIDATE.finditer(text):
        digits = _NOT_DIGIT.sub("", m.group())
        if phones and (digits.startswith(("0", "81")) or text[:m.start()].rstrip().endswith("+")):
            continue
        if is_individual_number(digits):
            return True
    return False


def looks_like_individual_number_not_phone(phone: str) -> bool:
    """In a phone field: twelve digits that are no phone number written in Japan (those start with 0,
    or with + or 81 abroad) and carry the Individual Number's check digit."""
    digits = re.sub(r"[ \-()]", "", unicodedata.normalize("NFKC", phone))
    return not digits.startswith(("0", "+", "81")) and is_individual_number(digits)
