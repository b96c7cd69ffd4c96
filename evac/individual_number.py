"""Recognising a 12-digit Individual Number (マイナンバー) typed where it must not go.

番号法 §20: a shelter may not collect the number.  The kiosk never reads it from the card, but a
person can still type it into a free-text field (a note, a family code, an address); those fields
refuse it, so it is never stored, logged or synced.  Recognised by its check digit (番号法施行令
§8), so that other twelve-digit numbers rarely trip it.

One general rule rather than a list of separators (every list the reviews found was one mark short:
〜, ～, ;, =, 「」, →, @ ...): the text is read as runs of digits ("groups") joined by whatever holds no
letter between them, and twelve digits made of whole neighbouring groups are checked.  Whole groups: a
number inside a longer run of digits is not the number (1234567890180), and it keeps other numbers in a
row of numbers from being read across their edges.
"""
from __future__ import annotations

import re
import unicodedata

# Kanji numerals written digit by digit, as the number is read out (一二三四 五六七八 九〇一八), the formal
# 大字 of documents (壱弐参肆伍陸漆捌玖, 零) and their traditional and Chinese forms.  Not 十百千 nor 拾 (大字
# ten): place values, and a twelve-digit number is never written with place values; 大 and 字 (大字藤守, a
# place name) are no digits either.
_KANJI_DIGITS = {**dict.fromkeys("〇零", "0"), **dict.fromkeys("一壱壹弌", "1"), **dict.fromkeys("二弐貳貮弍贰", "2"),
                 **dict.fromkeys("三参參弎叁", "3"), **dict.fromkeys("四肆", "4"), **dict.fromkeys("五伍", "5"),
                 **dict.fromkeys("六陸陆", "6"), **dict.fromkeys("七漆柒", "7"), **dict.fromkeys("八捌", "8"),
                 **dict.fromkeys("九玖", "9")}
_ASCII_DIGITS = "0123456789"
# A circle typed for the zero (○ ◯, as many people write 〇): next to a digit (九○一八) or between digits
# (九 ○ 一 八); before or after digits, apart from them, it is a bullet or a mark (○ 090-…).
_CIRCLES = frozenset("○◯")
_CIRCLE_RUN = re.compile("[○◯]+")
# Between two digits, any run of characters that are no letter joins them: punctuation (P*), symbols (S*),
# spaces of any kind (Z*), control characters (C*: tabs, new lines) and marks that are no letter of their
# own (M*), however many.  Letters (L*) and other numerals (十, Ⅻ) end the run.  Except ー (a letter, Lm):
# the IME's long-vowel mark, typed as a dash.
_JOINING_CATEGORIES = frozenset("PSZCM")
_DASH_LETTERS = frozenset("ー")
# A clock time is h:mm or h:mm:ss, nothing longer (12:34:56:78:90:18 is not one), with an hour and minutes
# that a clock shows (not 56:78).  A date is y/m/d (or - .) or m/d, of a real month and day.
_DATE_SEPARATORS = "/-."


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
    plain = "".join(str(unicodedata.decimal(c)) if c.isdecimal() else _KANJI_DIGITS.get(c)
                    or ("" if c in _FILLERS or unicodedata.category(c) in _INVISIBLE_CATEGORIES else c)
                    for c in text)
    return _CIRCLE_RUN.sub(lambda m: "0" * len(m[0]) if _circle_is_zero(plain, m.start(), m.end()) else m[0],
                           plain) if "○" in plain or "◯" in plain else plain


def _circle_is_zero(plain: str, start: int, end: int) -> bool:
    before, after = plain[start - 1:start], plain[end:end + 1]
    if (before and before in _ASCII_DIGITS) or (after and after in _ASCII_DIGITS):
        return True
    left = start - 1   # (other circles on the way are zeros or bullets with this one)
    while left >= 0 and _joins(plain[left]):
        left -= 1
    right = end
    while right < len(plain) and _joins(plain[right]):
        right += 1
    return left >= 0 and right < len(plain) and plain[left] in _ASCII_DIGITS and plain[right] in _ASCII_DIGITS


def _joins(c: str) -> bool:
    return c in _DASH_LETTERS or unicodedata.category(c)[0] in _JOINING_CATEGORIES


def _chains(plain: str) -> list[tuple[list[str], list[str]]]:
    """Groups of digits that nothing but non-letters separates, each chain as (groups, separators):
    separators[i] is what stands before groups[i] (for the first: since the last letter)."""
    chains: list[tuple[list[str], list[str]]] = []
    groups: list[str] = []
    separators: list[str] = []
    digits: list[str] = []
    between: list[str] = []
    for c in plain:
        if c in _ASCII_DIGITS:
            if not digits:
                separators.append("".join(between))
                between = []
            digits.append(c)
            continue
        if digits:
            groups.append("".join(digits))
            digits = []
        if _joins(c):
            between.append(c)
        else:
            if groups:
                chains.append((groups, separators))
            groups, separators, between = [], [], []
    if digits:
        groups.append("".join(digits))
    if groups:
        chains.append((groups, separators))
    return chains


def _clock(groups: list[str]) -> bool:
    h, *ms = groups
    return len(h) <= 2 and int(h) <= 24 and all(len(x) == 2 and int(x) <= 59 for x in ms)


def _date(groups: list[str]) -> bool:
    *y, m, d = groups
    return (len(m) <= 2 and 1 <= int(m) <= 12 and len(d) <= 2 and 1 <= int(d) <= 31
            and all(len(x) == 4 and 1900 <= int(x) <= 2099 for x in y))


def _dates_and_times(groups: list[str], separators: list[str]) -> list[int | None]:
    """For each group of a chain: which date or clock time typed as such (2026/11/26 14:30) it is part of
    (a number for each), or None: a staff note's date and time is twelve digits too."""
    marks = [s.strip() for s in separators]
    tokens: list[int | None] = [None] * len(groups)
    i = 0
    while i < len(groups):
        j = i + 1   # the run of groups joined by one and the same mark (spaces around it allowed)
        mark = marks[j] if j < len(groups) else ""
        if mark in (":", *_DATE_SEPARATORS):
            while j < len(groups) and marks[j] == mark:
                j += 1
        run = groups[i:j]
        if (mark == ":" and len(run) in (2, 3) and _clock(run)) or (
                mark in _DATE_SEPARATORS and (len(run) == 3 or (len(run) == 2 and mark == "/")) and _date(run)):
            tokens[i:j] = [i] * len(run)
        i = j
    return tokens


# Japan's numbers as dialled from abroad: 81 and the number without its 0.  Only mobile, IP and free-dial
# numbers (0X0-XXXX-XXXX: 090, 080, 070, 050, 020, 0800) have twelve digits so; landlines have eleven.
_JAPAN_FROM_ABROAD = tuple(f"81{d}0" for d in "23456789")
# A contact that says it is the Individual Number is refused however the digits are written.
_LABELS = ("マイナンバー", "マイナ番号", "個人番号", "mynumber", "individualnumber", "kojinbango")


def _phone(digits: str, groups: list[str], before: str) -> bool:
    """Twelve digits that a contact may hold as a phone number: only a number from abroad, written as one.
    At home in Japan a number is 10 or 11 digits (0X… 10, 0X0… 11), so twelve digits beginning with 0 are
    none (08… too: a family's Indonesian mobile is +62 8…, dialled from Japan with its country code).
    +…: any country's number, as the + says (we cannot know every country's numbering), but not one that
    the country's numbering rules out: +81 is Japan (above), +1 has ten digits after it.  Japan's from
    abroad without the +: only grouped as people write it (81-90-1234-5678, 81 80 …); as one run or
    in fours (8190 1234 5678) it is written as the Individual Number is, and refused: a phone typed so
    is asked for again with its +, but a number stored is not taken back."""
    plus = before.rstrip(" \t\u3000(").endswith("+")
    if digits.startswith("81"):
        return digits.startswith(_JAPAN_FROM_ABROAD) and (
            plus or (len(groups) > 1 and groups[0] == "81" and groups[1] in {d + "0" for d in "23456789"} | {"800"}))
    return plus and not digits.startswith("1")


def _labelled(text: str) -> bool:
    squeezed = "".join(text.casefold().split())
    return any(label in squeezed for label in _LABELS)


# What a message says in place of a typed value that holds the number (番号法 §20: not repeated on a console
# that others read and that may be kept); the option is still named, so the operator knows what to correct.
NOT_SHOWN_JA = "（個人番号と思われる数字は表示しません）"
NOT_SHOWN_EN = "(a number that looks like an Individual Number is not shown)"
_QUOTED = re.compile(r"'(?:[^'\\]|\\.)*'" r'|"(?:[^"\\]|\\.)*"')   # a value as repr() quotes it


def not_shown(message: str, words: str = NOT_SHOWN_EN) -> str:
    """`message` (in one language) to print: a quoted value holding the number replaced by `words`, and any
    other digits of the number starred out (what a message repeats unquoted)."""
    if not contains_individual_number(message):
        return message
    return without_individual_numbers(
        _QUOTED.sub(lambda q: words if contains_individual_number(q[0]) else q[0], message))


def without_individual_numbers(text: str) -> str:
    """`text` to keep or show, its digits starred out if it holds an Individual Number: a message that
    repeats what a kiosk sent (an id) may repeat the number."""
    if not contains_individual_number(text):
        return text
    return "".join("*" if c.isdecimal() or c in _KANJI_DIGITS or c in _CIRCLES else c for c in text)


def _holds_number(plain: str, phones: bool, labelled: bool) -> bool:
    for groups, separators in _chains(plain):
        if sum(map(len, groups)) < 12:
            continue
        tokens = None
        for start in range(len(groups)):
            length, end = 0, start
            while end < len(groups) and length < 12:
                length += len(groups[end])
                end += 1
            if length != 12:
                continue
            digits = "".join(groups[start:end])
            if not is_individual_number(digits):
                continue
            if tokens is None:
                tokens = _dates_and_times(groups, separators)
            # Only dates and times (11/26 14:30 → 11/27 09:00): 1234 12:34 9018 is not one.  Twelve digits
            # that make only real dates and times, as written, are a number so few Individual Numbers are
            # that it is not worth refusing a note's dates for them.
            if None not in tokens[start:end]:
                continue
            if phones and not labelled and _phone(digits, groups[start:end], separators[start]):
                continue
            return True
    return False


def contains_individual_number(text: str, phones: bool = False) -> bool:
    """Whether `text` holds twelve digits that are a valid Individual Number, in any script's digits or
    in kanji numerals, however they are separated (see the module's doc).
    `phones`: the text may hold phone numbers (a contact): twelve digits written as a phone number from
    abroad (see _phone) are taken for one, unless the text calls them マイナンバー / 個人番号 / my number."""
    text = unicodedata.normalize("NFKC", text)
    # Most texts (every name, most addresses) have fewer than twelve digits: no need for the search.
    if text.isascii():
        if sum(map(text.count, _ASCII_DIGITS)) < 12:
            return False
    else:
        if sum(c.isdecimal() or c in _KANJI_DIGITS or c in _CIRCLES for c in text) < 12:
            return False
    plain = _plain(text)
    labelled = phones and _labelled(text)
    if _holds_number(plain, phones, labelled):
        return True
    # 一 typed for a dash (it sits next to ー in the IME's list): 1234一5678一9018.
    return "一" in text and _holds_number(_plain(text.replace("一", "ー")), phones, labelled)


def looks_like_individual_number_not_phone(phone: str) -> bool:
    """In a phone field: an Individual Number however written, unless it is written as a phone number
    (see _phone)."""
    return contains_individual_number(phone, phones=True)
