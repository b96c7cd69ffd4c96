"""What a person's name and its reading must be where someone types them in (a kiosk's screen, tablet and
command line; HQ's pre-registration), beyond the event model's rules (evac.events), which records already
kept must pass and so cannot be stricter."""
from __future__ import annotations

import unicodedata


def in_letters(text: str) -> bool:
    """Whether a name or family code typed in has a letter or digit in it, in any script (kana, kanji, Latin
    with accents, digits): emoji or symbols alone (😀😀, ★★) are no one's name, nor a code a relative can say
    on the phone.  One among letters (太郎😀) is let be.  Checked only where new text is taken in (the kiosk's
    screen, JSON API check-in, `evac kiosk checkin` and tablet forms; HQ's pre-registration): records already
    kept with such a name (HQ's parser and evac.identity accept them) still sync, leave and move on."""
    return any(unicodedata.category(c)[0] in "LN" for c in unicodedata.normalize("NFKC", text))


# Between and within the parts of a reading people type these (NFKC has made ･ ・, ＝ =, ， ,): ジョン・スミス,
# ジョン＝スミス, Anne-Marie O'Neil.
_READING_MARKS = frozenset(" ・·,、=゠.-‐‑'’ʻʼ")


def reads_as_kana(text: str) -> bool:
    """Whether a name's reading (name_kana, ふりがな) typed in is one: kana (hiragana, katakana,
    half-width ones, small kana, ー, ゝ, a lone ゛), or Latin letters for a foreign name as its owner writes
    it (José Martínez, Nguyễn Thị Lan), with spaces and the marks between names; at least one kana or letter.
    Emoji or symbols (😀, ★★, やまだ🌸), digits, and kanji (an input method's conversion slipped into the kana
    field) are no reading: a kiosk's roster is sorted and searched by it.  Checked only where new text is
    taken in, as in_letters; a reading already kept (from HQ's QR, HQ, an older kiosk) is let be."""
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
