"""Who is who: the same person seen at two kiosks must become one person at HQ.

The My Number card gives 「髙橋 一郎」 and 「静岡県焼津市藤守１２３４番地の５」; staff
at another shelter type 「高橋一郎」 and 「藤守1234-5」.  A person's key is the
normalised name + birth date + normalised address, or their pre-registration
id.  Normalisation is deliberately conservative: folding two different
people together is worse than failing to link one person's two records.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
import unicodedata

# Variant kanji (異体字) that card text and typed text disagree on.  Only forms
# that are the same name in practice; 龍/竜, 齊/斎 and the like are different
# registered names and stay apart.
ITAIJI = str.maketrans({
    "髙": "高", "﨑": "崎", "嵜": "崎", "邊": "辺", "邉": "辺", "濵": "浜", "濱": "浜",
    "齋": "斎", "澤": "沢", "國": "国", "櫻": "桜", "廣": "広", "瀨": "瀬", "嶋": "島",
    "嶌": "島", "槇": "槙", "冨": "富", "\U00020BB7": "吉", "德": "徳", "惠": "恵",
    "眞": "真", "邨": "村", "曻": "昇", "栁": "柳", "靑": "青", "淸": "清", "黑": "黒",
    "縣": "県", "萬": "万",
    "ヶ": "ケ", "ヵ": "カ",
})

_SPACE_RE = re.compile(r"\s+")
# Separators people put between family and given name.
_NAME_SEPARATORS = str.maketrans("", "", "・･·,、")
_HIRAGANA_TO_KATAKANA = {c: c + 0x60 for c in range(ord("ぁ"), ord("ゖ") + 1)}

PREFECTURES = (
    "北海道", "青森県", "岩手県", "宮城県", "秋田県", "山形県", "福島県", "茨城県", "栃木県", "群馬県",
    "埼玉県", "千葉県", "東京都", "神奈川県", "新潟県", "富山県", "石川県", "福井県", "山梨県", "長野県",
    "岐阜県", "静岡県", "愛知県", "三重県", "滋賀県", "京都府", "大阪府", "兵庫県", "奈良県", "和歌山県",
    "鳥取県", "島根県", "岡山県", "広島県", "山口県", "徳島県", "香川県", "愛媛県", "高知県", "福岡県",
    "佐賀県", "長崎県", "熊本県", "大分県", "宮崎県", "鹿児島県", "沖縄県",
)
_PREFECTURE_RE = re.compile("^(?:" + "|".join(PREFECTURES) + ")")
_KANJI_DIGITS = {"〇": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
# A kanji numeral is only a number where an address number stands: right before
# 丁目/番/号/の-number or after a digit-dash.  「一色」 and 「三ケ名」 are place names.
_KANJI_NUMBER_RE = re.compile(r"[〇一二三四五六七八九十百千]+(?=丁目|番地|番|号|[-の][0-9〇一二三四五六七八九十])")
_KANJI_AFTER_NUMBER_RE = re.compile(r"([0-9](?:丁目|番地の|番地|番|号|の|-))([〇一二三四五六七八九十百千]+)")
_DASHES_RE = re.compile(r"(?<=[0-9])[-‐‑‒–—―−－ーｰ](?=[0-9])")
_UNITS_RE = re.compile(r"(?<=[0-9])(?:丁目|番地の|番地|番|号|の)(?=[0-9]|$)")


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


def _common(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    return _SPACE_RE.sub("", text).translate(ITAIJI)


def normalize_name(name: str) -> str:
    text = _common(name).translate(_NAME_SEPARATORS).translate(_HIRAGANA_TO_KATAKANA)
    return text.casefold()


def normalize_address(address: str, home_municipality: str = "焼津市") -> str:
    text = _PREFECTURE_RE.sub("", _common(address), count=1)
    if home_municipality and text.startswith(home_municipality):
        text = text[len(home_municipality):]
    # Each rewrite can expose another (a converted numeral next to a unit), so
    # rewrite until nothing changes; that also makes this idempotent.
    for _ in range(5):
        before = text
        text = _KANJI_NUMBER_RE.sub(lambda m: str(_kanji_to_int(m.group())), text)
        text = _KANJI_AFTER_NUMBER_RE.sub(lambda m: m.group(1) + str(_kanji_to_int(m.group(2))), text)
        text = _UNITS_RE.sub("-", text)
        text = _DASHES_RE.sub("-", text)
        text = re.sub(r"-{2,}", "-", text)
        # Trailing units after the last number (…1号) and a dangling dash go.
        text = re.sub(r"(?<=[0-9])(?:丁目|番地|番|号)$", "", text).rstrip("-")
        if text == before:
            break
    return text


def person_key(name: str, birth_date: str, address: str) -> str:
    """'nba:' + a hash of normalised name, birth date and normalised address (基本4情報 less sex)."""
    try:
        born = dt.date.fromisoformat(birth_date)
    except (TypeError, ValueError):
        raise ValueError(f"birth date {birth_date!r} is not a date in the form YYYY-MM-DD") from None
    norm_name = normalize_name(name)
    if not norm_name:
        raise ValueError("a person needs a name")
    text = "\x1f".join((norm_name, born.isoformat(), normalize_address(address or "")))
    return "nba:" + hashlib.sha256(text.encode()).hexdigest()[:32]


def prereg_key(prereg_id: str) -> str:
    return "pre:" + prereg_id.strip()
