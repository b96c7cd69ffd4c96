"""Two records of one person that the merge cannot join: who to ask the shelters about.

HQ joins records by name, birth date and address (evac.identity), and a name in kanji cannot be joined to
the same name in kana without its reading: a My Number card gives only kanji, a paper form may give only
kana.  Someone checked in by card at one shelter and on paper at another is then counted at both until
a shelter checks them out.  These are the pairs HQ staff phone the shelters about: the same birth date
and address, the same sex when both say one, and a name that is the same, or could be for want of a
reading.  Never joined here: only a shelter, seeing the person, knows.

Pure: no database, no Flask.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from itertools import combinations
from typing import Iterable

from .disclosure import kana_only, name_forms
from .identity import normalize_address

SAME_NAME, READING_UNKNOWN = "same_name", "reading_unknown"
# One of the two has no address (a paper card left it blank): the same name, birth date and sex.
NO_ADDRESS = "no_address"
# A shelter's staff corrected an identity that still names someone else's record elsewhere: a typo made
# alike at two shelters (only one corrected it), or twins, one typed as the other (either is possible).
CORRECTED = "corrected"


@dataclass(frozen=True)
class Record:
    id: int
    name: str
    name_kana: str
    birth_date: str
    address: str
    sex: str = ""
    shelter_id: str = ""


def _no_reading(record: Record) -> bool:
    return not kana_only(record.name) and not record.name_kana.strip()


def why_same(a: Record, b: Record) -> str:
    """SAME_NAME, READING_UNKNOWN, or "" when the two cannot be one person by their names and sex."""
    if a.sex and b.sex and a.sex != b.sex:
        return ""
    if (name_forms(a.name) | name_forms(a.name_kana)) & (name_forms(b.name) | name_forms(b.name_kana)):
        return SAME_NAME
    if (kana_only(a.name) and _no_reading(b)) or (kana_only(b.name) and _no_reading(a)):
        return READING_UNKNOWN
    return ""


def _home(address: str) -> str:
    try:
        return normalize_address(address) if address.strip() else ""
    except ValueError:
        return ""


def possible_same_people(records: Iterable[Record]) -> list[tuple[Record, Record, str]]:
    """(a, b, why) for each pair of records that may be one person, in record order: born the same day at
    the same address (why_same); or, one of them without an address, the same name (a form in common, not
    only a reading that could be), birth date and sex, both said (NO_ADDRESS).  A record without an
    address is never paired by a reading alone, nor with one whose sex is not known: a name and a birth
    date alone pair every namesake in the city."""
    together: dict[tuple[str, str], list[Record]] = defaultdict(list)
    homeless: list[Record] = []
    by_born: dict[tuple[str, str], list[Record]] = defaultdict(list)
    for record in records:
        home = _home(record.address)
        if home:
            together[(record.birth_date, home)].append(record)
        elif record.sex:
            homeless.append(record)
        if record.sex:
            by_born[(record.birth_date, record.sex)].append(record)
    pairs = []
    for group in together.values():
        for a, b in combinations(sorted(group, key=lambda r: r.id), 2):
            why = why_same(a, b)
            if why:
                pairs.append((a, b, why))
    seen = {(a.id, b.id) for a, b, _ in pairs}
    for record in homeless:
        forms = name_forms(record.name) | name_forms(record.name_kana)
        for other in by_born[(record.birth_date, record.sex)]:
            a, b = sorted((record, other), key=lambda r: r.id)
            if other.id != record.id and (a.id, b.id) not in seen and forms & (
                    name_forms(other.name) | name_forms(other.name_kana)):
                seen.add((a.id, b.id))
                pairs.append((a, b, NO_ADDRESS))
    return sorted(pairs, key=lambda p: (p[0].id, p[1].id))


def with_corrected(pairs: list[tuple[Record, Record, str]],
                   corrected: Iterable[tuple[Record, Record]]) -> list[tuple[Record, Record, str]]:
    """`pairs` and the pairs (old, new) of records a shelter's correction links, each pair once (the reason
    first found kept), in record order."""
    seen = {(a.id, b.id) for a, b, _ in pairs}
    out = list(pairs)
    for a, b in corrected:
        a, b = sorted((a, b), key=lambda r: r.id)
        if a.id != b.id and (a.id, b.id) not in seen:
            seen.add((a.id, b.id))
            out.append((a, b, CORRECTED))
    return sorted(out, key=lambda p: (p[0].id, p[1].id))
