"""Who is who: the same person seen at two kiosks must become one person at HQ.

The My Number card gives 「髙橋 一郎」 and 「静岡県焼津市藤守１２３４番地の５」; staff
at another shelter type 「高橋一郎」 and 「藤守1234-5」.  A person's key is the
normalised name + birth date + normalised address, or their pre-registration
id.  Normalisation is deliberately conservative: folding two different
people together is worse than failing to link one person's two records.

Keys are stored by kiosks and HQ, so any change to the rules here changes
keys: raise IDENTITY_FORM with it.  A database that recorded an older form
is re-keyed when it is opened (HQ: hq_dashboard.rekey; a kiosk: its roster is
folded again from its own log), so that a person checked in before the change
is found after it.

Standard library only.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
import unicodedata
from functools import lru_cache

from .kanji_variants import OLD_TO_NEW

__all__ = ["IDENTITY_FORM", "ITAIJI", "PREFECTURES", "normalize_address", "normalize_name", "person_key", "prereg_key"]

# The version of the rules below.  1: the first; 2: units before a building name (９番１号　焼津ハイツ),
# a room's 号室, 大字, 之 between numbers, a space before 二号棟, and 曾 藏 鷗 桒 舘 龜 壽 實; 3: every 旧字体 of the
# 常用漢字表 and 異体字 of the 人名用漢字 (evac.kanji_variants: 淺野 is 浅野, 瀧本 is 滝本).
IDENTITY_FORM = 3

# Variant kanji (異体字).  The card prints the registered form (髙, 﨑, 邊 …) while
# staff type whatever their IME offers first (高, 崎, 辺 …), so both fold to the
# everyday form.  Only pairs that are the same name in practice: 龍/竜 and
# 斎/斉 are different registered names, so 齋 folds to 斎 and 齊 to 斉, never
# across.  Compatibility ideographs that NFKC already maps (祐 U+FA4F → 祐,
# 神 U+FA19 → 神) need no entry; 﨑 U+FA11 is one of the twelve "unified"
# ideographs in that block, which NFKC leaves alone, so it is listed.
_ITAIJI_FORM_1 = {
    "髙": "高", "﨑": "崎", "嵜": "崎", "\U0002550E": "崎", "邊": "辺", "邉": "辺",
    "濵": "浜", "濱": "浜", "齋": "斎", "齊": "斉", "澤": "沢", "國": "国", "櫻": "桜",
    "廣": "広", "瀨": "瀬", "嶋": "島", "嶌": "島", "槇": "槙", "冨": "富",
    "\U00020BB7": "吉", "德": "徳", "惠": "恵", "眞": "真", "邨": "村", "曻": "昇",
    "栁": "柳", "靑": "青", "淸": "清", "黑": "黒", "縣": "県", "萬": "万",
    # Small ヶ/ヵ are typographic variants of ケ/カ in names and places (一ヶ谷, 鰯ヶ島).
    "ヶ": "ケ", "ヵ": "カ",
}
# Folded since form 2.  A kiosk of an older release still forms names without them: HQ's protection
# digests carry both forms of a name (evac.disclosure.name_forms), or such a kiosk would miss one.
_ITAIJI_SINCE_FORM_2 = {"曾": "曽", "藏": "蔵", "鷗": "鴎", "桒": "桑", "舘": "館", "龜": "亀", "壽": "寿", "實": "実"}
# Folded since form 3: the rest of the government lists (evac.kanji_variants), so that 淺野 on a card and 浅野
# typed elsewhere are one person, and one protected person (災対法 §86-15).  龍 is left to itself as above.
_ITAIJI_SINCE_FORM_3 = {old: new for old, new in OLD_TO_NEW.items()
                        if old not in _ITAIJI_FORM_1 and old not in _ITAIJI_SINCE_FORM_2 and old != "龍"}
ITAIJI = str.maketrans({**_ITAIJI_FORM_1, **_ITAIJI_SINCE_FORM_2, **_ITAIJI_SINCE_FORM_3})
_NAME_ITAIJI = {1: str.maketrans(_ITAIJI_FORM_1), 2: str.maketrans({**_ITAIJI_FORM_1, **_ITAIJI_SINCE_FORM_2}),
                3: ITAIJI}

# Whitespace of every kind, control characters (this also keeps the key's \x1f
# separator out of the fields), zero-width and bidi marks, and variation
# selectors: card text from the resident register can carry IVS selectors for
# glyph variants (葛 + U+E0100), and the base character is the usual form.
_INVISIBLE_RE = re.compile(
    "[\\s\x00-\x1f\x7f-\x9f\u00ad\u034f\u061c\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\ufe00-\ufe0f\ufeff\U000e0000-\U000e0fff]+")

# Between family and given name people type ・ or a comma, and in katakana
# renderings of foreign names ＝ or ゠ (ジョン＝スミス).  NFKC has already
# turned ･ into ・, ，into "," and ＝ into "=".
_NAME_SEPARATORS = str.maketrans("", "", "・·,、=゠")
# ぁ..ゖ and the iteration marks ゝゞ sit exactly 0x60 below their katakana.
_HIRAGANA_TO_KATAKANA = {c: c + 0x60 for c in [*range(0x3041, 0x3097), 0x309D, 0x309E]}

PREFECTURES = (
    "北海道", "青森県", "岩手県", "宮城県", "秋田県", "山形県", "福島県", "茨城県", "栃木県", "群馬県",
    "埼玉県", "千葉県", "東京都", "神奈川県", "新潟県", "富山県", "石川県", "福井県", "山梨県", "長野県",
    "岐阜県", "静岡県", "愛知県", "三重県", "滋賀県", "京都府", "大阪府", "兵庫県", "奈良県", "和歌山県",
    "鳥取県", "島根県", "岡山県", "広島県", "山口県", "徳島県", "香川県", "愛媛県", "高知県", "福岡県",
    "佐賀県", "長崎県", "熊本県", "大分県", "宮崎県", "鹿児島県", "沖縄県",
)

_KANJI = "\u3005\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
# 鰯ヶ島 is also written 鰯ケ島, 鰯が島, 鰯ガ島.  Only between two kanji, where it is
# this place-name particle; elsewhere (ガーデンハイツ) が/ガ are ordinary kana.
_PLACE_GA_RE = re.compile(f"(?<=[{_KANJI}])[がガ](?=[{_KANJI}])")

_KN = "〇一二三四五六七八九十百千"
_DASHES = "\\-‐‑‒–—―−ー─━⁃"  # after NFKC: －, ｰ and ﹣ are already "-" or "ー"
_UNIT = "丁目|番地|番|号"
_LINK = f"番地の|番地ノ|番地之|[のノ之{_DASHES}]"   # 之: 「1234番地之5」, as older registers write it
# A kanji numeral is a number only where an address number stands: before a
# unit or before a connector and another number, or after a number and a unit
# or connector.  「一色」, 「三ケ名」, 「八楠」 are place names and stay.
_KANJI_BEFORE_RE = re.compile(f"[{_KN}]+(?=(?:{_UNIT})|(?:{_LINK})[0-9{_KN}])")
_KANJI_AFTER_RE = re.compile(f"([0-9](?:{_LINK}|{_UNIT}))([{_KN}]+)")
# 丁目, 番, 号 and connectors between two numbers all mean "-"; after the last
# number a unit means nothing.  A unit followed by anything else (101号室, 1番館)
# is part of a name and stays.
_UNIT_RE = re.compile(f"(?<=[0-9])(?:{_LINK}|{_UNIT})(?=[0-9])")
_TRAILING_UNIT_RE = re.compile(f"(?<=[0-9])(?:{_UNIT})(?=-|$)")
# A room's 号室 at the end of a building's name goes too: 「ハイツ203号室」, 「ハイツ203号」 and 「ハイツ203」
# are one room.  Straight after a lot's number it stays: 「1234-5号室」 is room 5 at lot 1234, not lot 1234-5.
_ROOM_RE = re.compile("(?<=[^-0-9])([0-9]+)号室(?=-|$)")
# Before a building's name (「９番１号　焼津ハイツ２０３」 on the card, 「9-1 焼津ハイツ203」 typed) a unit
# means nothing either; before what makes it a name (号室, 番館, 号棟, 番町, 番地先 ...) it stays.
_UNIT_BEFORE_NAME_RE = re.compile(f"(?<=[0-9])(?:{_UNIT})(?=[^-0-9室館棟階先線車街町区地])")
# A space after a number separates it from the next number, in digits or in kanji before a unit
# (「1234-5 二号棟」 is building 2 of lot 1234-5, not lot 1234-52).
_DIGIT_SPACE_RE = re.compile(f"(?<=[0-9])\\s+(?=[0-9]|[{_KN}]+(?:{_UNIT}|棟|館|階|室))")
# 大字 (an old district prefix some registers and people still write) names nothing: 「大字藤守」 is 藤守.
_OAZA_RE = re.compile("^大字|(?<=[市町村郡])大字")
_KANJI_DIGITS = {c: i for i, c in enumerate("〇一二三四五六七八九")}


def _kanji_to_int(text: str) -> int:
    """漢数字 to a number: positional (一二三四 = 1234) or with 十/百/千 (二十三 = 23)."""
    if not any(u in text for u in "十百千"):
        return int("".join(str(_KANJI_DIGITS[c]) for c in text))
    total, digit = 0, 0
    for c in text:
        if c in _KANJI_DIGITS:
            digit = _KANJI_DIGITS[c]
        else:
            total += (digit or 1) * {"十": 10, "百": 100, "千": 1000}[c]
            digit = 0
    return total + digit


def _clean(text: str) -> str:
    text = _INVISIBLE_RE.sub("", unicodedata.normalize("NFKC", text))
    # Again: NFKC turns a lone ゛ into " ゙", and with the space gone the mark
    # must compose with its kana (か゛ → が) or the result is not stable.
    return unicodedata.normalize("NFKC", text)


def normalize_name(name: str, form: int = IDENTITY_FORM) -> str:
    """The form of a name that card text and typed text agree on (`form`: as that identity form made it;
    names differ between forms only by the 異体字 folded since)."""
    # Kana first: ゖ becomes ヶ, which the table then folds.
    text = _clean(name).translate(_HIRAGANA_TO_KATAKANA).translate(_NAME_ITAIJI[form]).translate(_NAME_SEPARATORS)
    # Casefolding and the kana shift can leave sequences that compose further
    # (ゐ + ゙ → ヰ + ゙ → ヸ), so normalise once more, as NFKC_Casefold does.
    return _clean(text.casefold())


@lru_cache(maxsize=64)
def _region_prefix_re(home_municipality: str) -> re.Pattern[str]:
    home = _place(home_municipality)
    alternatives = [*PREFECTURES, re.escape(home)] if home else PREFECTURES
    return re.compile("^(?:" + "|".join(alternatives) + ")+")


def _place(text: str) -> str:
    # NFKC after the table too: ヵ + ゙ only composes once ヵ is カ.
    text = unicodedata.normalize("NFKC", _clean(text).translate(ITAIJI))
    return _PLACE_GA_RE.sub("ケ", text)


def _numbers(text: str) -> str:
    # Each rewrite can expose another (一二三四番地の五: the 五 is a number only
    # once 一二三四 is 1234), so rewrite until nothing changes, which also makes
    # this idempotent.  It ends: every pass that changes something removes a
    # kanji numeral, or removes characters without adding any kanji numeral.
    while True:
        before = text
        text = _KANJI_BEFORE_RE.sub(lambda m: str(_kanji_to_int(m.group())), text)
        text = _KANJI_AFTER_RE.sub(lambda m: m.group(1) + str(_kanji_to_int(m.group(2))), text)
        text = _UNIT_RE.sub("-", text)
        text = _ROOM_RE.sub(r"\1", text)
        text = _TRAILING_UNIT_RE.sub("", text)
        text = _UNIT_BEFORE_NAME_RE.sub("", text)
        text = re.sub("-{2,}", "-", text).rstrip("-")
        if text == before:
            return text


def normalize_address(address: str, *, home_municipality: str = "焼津市") -> str:
    """The form of an address that card text and typed text agree on.

    A leading prefecture and then `home_municipality` are dropped, since staff
    at the city's own shelters leave them out; other cities stay.
    """
    # A space between two numbers separates them (藤守1234 5 is 1234-5, not 12345).
    text = _place(_DIGIT_SPACE_RE.sub("-", unicodedata.normalize("NFKC", address)))
    # Repeated, so that a doubled prefix (焼津市焼津市…, a typing slip) goes too
    # and normalising twice changes nothing.  焼津1丁目 (a district) has no 市 and stays.
    # The prefix and 大字 in turn until neither is left (「大字焼津市…」, a doubled 大字).
    while True:
        before = text
        text = _OAZA_RE.sub("", _region_prefix_re(home_municipality).sub("", text, count=1))
        if text == before:
            return _numbers(text)


def person_key(name: str, birth_date: str, address: str) -> str:
    """'nba:' + a hash of normalised name, birth date and normalised address (基本4情報 less sex)."""
    try:
        born = dt.date.fromisoformat(unicodedata.normalize("NFKC", birth_date).strip())
    except (TypeError, ValueError):
        raise ValueError(f"birth date {birth_date!r} is not a date in the form YYYY-MM-DD") from None
    norm_name = _key_name(name)
    if not norm_name:
        raise ValueError(f"a person needs a name; {name!r} has none once spaces and separators are gone")
    # Homeless people and tourists may have no address: the key then uses "".
    text = "\x1f".join((norm_name, born.isoformat(), _key_address(address or "")))
    return "nba:" + hashlib.sha256(text.encode()).hexdigest()[:32]


# HQ keys every new person it merges: a household shares its address and family
# name, and given names repeat, so each distinct text is normalised once.
_key_name = lru_cache(maxsize=65536)(normalize_name)
_key_address = lru_cache(maxsize=65536)(normalize_address)


def prereg_key(prereg_id: str) -> str:
    """'pre:' + the pre-registration id.  A blank id is refused: as a key it
    would make everyone who has one the same person."""
    ident = prereg_id.strip()
    if not ident:
        raise ValueError("a pre-registration id cannot be blank")
    return "pre:" + ident
