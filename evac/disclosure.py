"""Who may be told what about an evacuee: 災害対策基本法 §86-15 and 施行規則 §8-3, §8-4.

An inquiry names the inquirer, their relationship to the person sought, a
reason, and the person sought (name, birth date, address if known).  The law
sets what each relationship may learn once the city has confirmed who is
asking; the person's own consent can widen that, and is the only thing that
can be answered at once, before anyone has checked the inquirer.  A consent
given on the public self-report page (anyone can claim to be anyone there)
answers nothing at once, and after review widens only what such a report says.
Nor are whereabouts that only a self-report gives ever told at once, whoever
consented: they wait for staff.  And a person the city knows only from that
page is, to inquirers, someone it knows nothing about, even after review:
otherwise anyone could self-report a name, ask about it, and learn from the
answer whether that name is protected (their own report came back, or did not).

A person under never-disclose protection (DV, stalking) is answered exactly as
someone the city knows nothing about.  So is an inquiry that matches more
than one person: nobody gets a partial or fuzzy answer before review.

Pure: no database, no Flask.
"""
from __future__ import annotations

import datetime as dt
import hmac
import re
import unicodedata
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from .events import FAMILY_CODE_LEN, SEXES, parse_birth_date
from .identity import IDENTITY_FORM, normalize_address, normalize_name
from .individual_number import contains_individual_number

# 施行規則 §8-4: 同居の親族 (de facto spouses included); other relatives; the workplace;
# anyone else with a fair reason.
RELATIONSHIPS = ("household_family", "relative", "workplace", "other")

EXISTS, WHEREABOUTS, INJURY, CONTACT = "information_exists", "whereabouts", "injury_or_illness", "contact"
ANSWER_FIELDS = (EXISTS, WHEREABOUTS, INJURY, CONTACT)

# What each relationship may be told once the inquirer is confirmed.
STATUTORY = {
    "household_family": frozenset({EXISTS, WHEREABOUTS, INJURY, CONTACT}),
    "relative": frozenset({EXISTS, INJURY}),
    "workplace": frozenset({EXISTS, INJURY}),
    "other": frozenset({EXISTS}),
}
# What the person's consent lets anyone be told at once.
BY_CONSENT = {
    "public": frozenset({EXISTS, WHEREABOUTS, INJURY}),
    "family": frozenset({EXISTS, WHEREABOUTS, INJURY, CONTACT}),  # only with the right family code
    "none": frozenset(),
}

# HQ stores these in columns of these lengths (hq_dashboard.models.Inquiry): a longer value is refused here.
MAX_TEXT = {"name": 100, "address": 200, "contact": 100, "reason": 500, "family_code": FAMILY_CODE_LEN[1],
            "notify_email": 200}
_MARKUP_RE = re.compile(r"[<>]")
# With them the bidirectional formatting marks: "焼津市\u202e1-2-3" shows as 焼津市3-2-1 on the staff queue,
# where staff compare an inquirer's address with the evacuee's by eye.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_EMAIL_RE = re.compile(r"[^@\s<>\"]{1,64}@[A-Za-z0-9.-]{1,190}\.[A-Za-z]{2,}\Z")
_SPLIT_RE = re.compile(r"[\s\u3000・·,、=゠]+")


class InvalidInquiry(ValueError):
    """`errors` maps each field to what is wrong with it, in words for the person asking."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class Inquiry:
    inquirer_name: str
    inquirer_address: str
    inquirer_contact: str
    relationship: str
    reason: str
    sought_name: str
    sought_birth_date: str
    sought_address: str = ""
    family_code: str = ""
    notify_email: str = ""      # tell me by e-mail when they are found (within what I may be told)
    # evac.events.SEXES, or "" (not given): only narrows near records by reading (reading_differs).
    sought_sex: str = ""


@dataclass(frozen=True)
class PersonFacts:
    """What the city holds about one person, as the disclosure rules need it."""
    name: str
    name_kana: str
    birth_date: str
    address: str
    consent: str = "none"
    family_code: str = ""
    # Never disclosed to anyone, whatever the consent: set for the person, or for anyone of their household
    # (in_protected_household): DV protection covers the family who fled with the victim.
    never_disclose: bool = False
    whereabouts: dict | None = None     # {"state", "shelter_id", "shelter_name"}
    injury_or_illness: str = ""
    contact: str = ""
    # The consent was given on the public self-report page, where anyone can claim to be anyone.
    consent_self_reported: bool = False
    # The consent was given with a pre-registration QR: HQ's public page signs whatever anyone types.
    consent_unproven: bool = False
    sex: str = ""       # evac.events.SEXES, or "" (not known)
    # Every record of this person came from the public self-report page: nobody has seen them.
    only_self_reported: bool = False
    # Of WHEREABOUTS, INJURY and CONTACT, those a kiosk consent may tell: what the consenting shelter itself
    # recorded (None: no limit).  A copied kiosk token can send a check-in at its own shelter and then a
    # consent, which counts as given in person; it must not open what other shelters recorded.
    consent_speaks_for: frozenset | None = None


@dataclass
class Answer:
    information_exists: bool | None = None
    whereabouts: dict | None = None
    injury_or_illness: str | None = None
    contact: str | None = None
    pending_review: bool = False
    shown: frozenset = field(default_factory=frozenset)

    def to_json(self) -> dict:
        return {EXISTS: self.information_exists, WHEREABOUTS: self.whereabouts,
                INJURY: self.injury_or_illness, CONTACT: self.contact, "pending_review": self.pending_review}


def _is_text(value: str) -> bool:
    """Text that can be stored and said back: a lone surrogate (JSON's "\\ud800") is not."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _text(raw: dict, key: str, label: str, errors: dict, limit: int, required: bool = True) -> str:
    value = raw.get(key)
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors[key] = f"{label} must be text"
        return ""
    if not _is_text(value):
        errors[key] = f"{label} contains characters that cannot be used (broken text)"
        return ""
    value = unicodedata.normalize("NFC", value).strip()
    if not value:
        if required:
            errors[key] = f"{label} is missing"
        return ""
    if len(value) > limit:
        errors[key] = f"{label} is too long ({len(value)} characters, at most {limit})"
    elif _CONTROL_RE.search(value):
        errors[key] = f"{label} contains control characters"
    elif contains_individual_number(value, phones=key == "contact"):   # a contact holds phone numbers (prereg too)
        errors[key] = f"{label} holds what looks like a 12-digit Individual Number (マイナンバー): it must not be recorded"
    elif key.endswith("name") and _MARKUP_RE.search(value):
        errors[key] = f"{label} cannot contain < or >"
    return value


def parse_inquiry(raw: object, today: dt.date | None = None) -> Inquiry:
    """Validate an inquiry; raises InvalidInquiry naming every field that is wrong."""
    if not isinstance(raw, dict):
        raise InvalidInquiry({"inquiry": "the inquiry must be a JSON object"})
    errors: dict[str, str] = {}
    inquirer = raw.get("inquirer") if isinstance(raw.get("inquirer"), dict) else {}
    sought = raw.get("sought") if isinstance(raw.get("sought"), dict) else {}
    if not isinstance(raw.get("inquirer"), dict):
        errors["inquirer"] = "say who is asking: name, address and contact"
    if not isinstance(raw.get("sought"), dict):
        errors["sought"] = "say whom you are looking for: name and birth date"
    sub: dict[str, str] = {}
    i_name = _text(inquirer, "name", "your name", sub, MAX_TEXT["name"])
    i_address = _text(inquirer, "address", "your address", sub, MAX_TEXT["address"])
    i_contact = _text(inquirer, "contact", "your phone or e-mail", sub, MAX_TEXT["contact"])
    errors.update({f"inquirer.{k}": v for k, v in sub.items()} if inquirer else {})
    relationship = raw.get("relationship")
    if relationship not in RELATIONSHIPS:
        errors["relationship"] = f"relationship must be one of: {', '.join(RELATIONSHIPS)}"
    reason = _text(raw, "reason", "the reason for asking", errors, MAX_TEXT["reason"])
    sub = {}
    s_name = _text(sought, "name", "the name of the person you are looking for", sub, MAX_TEXT["name"])
    s_address = _text(sought, "address", "their address", sub, MAX_TEXT["address"], required=False)
    s_birth = ""
    try:
        if isinstance(sought.get("birth_date"), str) and not _is_text(sought["birth_date"]):
            raise ValueError("their birth date contains characters that cannot be used (broken text)")
        s_birth = parse_birth_date(sought.get("birth_date"), today)
    except ValueError as exc:
        if sought:
            sub["birth_date"] = str(exc) if sought.get("birth_date") else "their birth date is missing"
    if s_name and not name_forms(s_name):
        sub["name"] = "the name has no letters in it"
    # Optional: it only narrows the records a name's reading alone could mean (reading_differs).
    s_sex = sought.get("sex") or ""
    if s_sex not in ("", *SEXES):
        sub["sex"] = f"their sex is one of {', '.join(SEXES)}, or left out when not known"
        s_sex = ""
    errors.update({f"sought.{k}": v for k, v in sub.items()} if sought else {})
    code = raw.get("family_code") or ""
    if isinstance(code, str) and not _is_text(code):
        errors["family_code"] = "the family code contains characters that cannot be used (broken text)"
        code = ""
    elif (not isinstance(code, str) or len(code) > MAX_TEXT["family_code"]
          # No family's code is shorter (evac.events.family_code_fits): said so, not counted as a wrong guess.
          or 0 < len(unicodedata.normalize("NFKC", code).strip()) < FAMILY_CODE_LEN[0]):
        errors["family_code"] = f"the family code is {FAMILY_CODE_LEN[0]} to {FAMILY_CODE_LEN[1]} characters"
        code = ""
    elif contains_individual_number(code):
        errors["family_code"] = "the family code holds what looks like a 12-digit Individual Number (マイナンバー): it must not be recorded"
        code = ""
    email = raw.get("notify_email") or ""
    if isinstance(email, str) and not _is_text(email):
        errors["notify_email"] = "the e-mail address for news contains characters that cannot be used (broken text)"
        email = ""
    elif isinstance(email, str) and len(email.strip()) > MAX_TEXT["notify_email"]:
        errors["notify_email"] = (f"the e-mail address for news is too long ({len(email.strip())} characters, "
                                  f"at most {MAX_TEXT['notify_email']})")
        email = ""
    elif not isinstance(email, str) or (email.strip() and not _EMAIL_RE.match(email.strip())):
        errors["notify_email"] = "the e-mail address for news is not a valid address"
        email = ""
    elif contains_individual_number(email):   # kept with the inquiry: 番号法 §20 as for every other field
        errors["notify_email"] = ("the e-mail address for news holds what looks like a 12-digit Individual Number "
                                  "(マイナンバー): it must not be recorded")
        email = ""
    if errors:
        raise InvalidInquiry(errors)
    return Inquiry(i_name, i_address, i_contact, relationship, reason, s_name, s_birth, s_address,
                   unicodedata.normalize("NFKC", code).strip(), email.strip(), s_sex)


# Latin diacritics (Vietnamese tones, Spanish, Portuguese): a card or a staff member's keyboard often has
# none, the family types them.  Only these blocks: the kana voicing marks (U+3099, U+309A) are not here,
# so ガ stays ガ.  Letters with a stroke do not decompose and are listed.
_LATIN_MARKS_RE = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
_LATIN_LETTERS = str.maketrans({"đ": "d", "ð": "d", "ø": "o", "ł": "l", "ħ": "h", "ı": "i", "æ": "ae", "œ": "oe"})
# Marks the unordered form of a Latin name, so it never equals a name written as one word.
_WORD_SET = "\x1e"


def _without_accents(part: str) -> str:
    return unicodedata.normalize("NFC", _LATIN_MARKS_RE.sub("", unicodedata.normalize("NFD", part))
                                 ).translate(_LATIN_LETTERS)


# Each inquiry is compared with every record born that day, and HQ's staff queue and put-back compare hundreds
# of inquiries with the same records: each name is normalised once, not once per comparison.
@lru_cache(maxsize=1 << 16)
def name_forms(name: str) -> frozenset[str]:
    """A name written family-first or given-first, with or without a space, kanji or kana; a Latin name
    also without its accents (Nguyễn Văn An is NGUYEN VAN AN) and, of three words or more, in any order
    (Juan Dela Cruz is DELA CRUZ JUAN).  Always a superset of the forms a name had before accents and
    word order counted: kiosks compare protection digests of these forms (protection_digests), and a
    kiosk not yet updated must still find every protected form."""
    forms: set[str] = set()
    # Each identity form's (evac.identity.IDENTITY_FORM): 曾根 is 曽根 since form 2, and a kiosk of an
    # older release still digests 曾根.
    for identity_form in range(1, IDENTITY_FORM + 1):
        parts = [normalize_name(p, identity_form) for p in _SPLIT_RE.split(name)]
        parts = [p for p in parts if p]
        if not parts:
            return frozenset()
        forms |= {"".join(parts), "".join(reversed(parts))}
        plain = [_without_accents(p) for p in parts]
        plain = [p for p in plain if p]
        if plain and all(p.isascii() for p in plain):   # Latin only: Japanese names keep their forms
            forms |= {"".join(plain), "".join(reversed(plain))}
            if len(plain) > 2:
                forms.add(_WORD_SET + " ".join(sorted(plain)))
    return frozenset(forms)


@lru_cache(maxsize=1 << 16)
def identity_forms(name: str, name_kana: str, birth_date: str) -> frozenset[tuple[str, str]]:
    """Every (name form, birth date) an inquiry could find this person by (as `matches` compares them)."""
    return frozenset((form, birth_date) for form in name_forms(name) | name_forms(name_kana))


@lru_cache(maxsize=1 << 16)
def protection_forms(name: str, name_kana: str, birth_date: str) -> frozenset[tuple[str, str]]:
    """The forms protection is decided by (protected_forms, is_protected, the kiosks' digests): identity_forms
    and the same with 斎/斉 and 龍/竜 alike (near_kanji_forms).  An inquiry for 斉藤 about a protected 齋藤 is
    held as near; the PFIF export and the staff lists must hold back the 斉藤 record as well, or an outside
    finder's fuzzy search shows it to whoever asked HQ in vain."""
    return identity_forms(name, name_kana, birth_date) | frozenset(
        (form, birth_date) for form in near_kanji_forms(name) | near_kanji_forms(name_kana))


def matches(inquiry: Inquiry, person: PersonFacts, by_address: bool = True) -> bool:
    """Exactly this person: same birth date, the name in either order (or its kana), and the
    address when both are known and one is not a part of the other."""
    if person.birth_date != inquiry.sought_birth_date:
        return False
    wanted = name_forms(inquiry.sought_name)
    if not wanted & (name_forms(person.name) | name_forms(person.name_kana)):
        return False
    return not by_address or same_address(inquiry, person)


def same_address(inquiry: Inquiry, person: PersonFacts) -> bool:
    """The address, when both are known, one a part of the other."""
    if not (inquiry.sought_address and person.address):
        return True
    a, b = _address_form(inquiry.sought_address), _address_form(person.address)
    return a.startswith(b) or b.startswith(a)


@lru_cache(maxsize=1 << 16)
def _address_form(address: str) -> str:
    return normalize_address(address)


# Kanji the identity table keeps apart because they are different registered names (evac.identity.ITAIJI:
# 斎/斉, 龍/竜), though a family may write either: alike for a near candidate only, which staff decide.
_NEAR_KANJI = str.maketrans({"斎": "斉", "龍": "竜"})
_KANA_RE = re.compile("[\u30a1-\u30fc]+")   # normalize_name has made hiragana katakana


@lru_cache(maxsize=1 << 16)
def kana_only(name: str) -> bool:
    """Written only in kana (either order): a reading with no kanji to compare it with."""
    forms = name_forms(name)
    return bool(forms) and all(_KANA_RE.fullmatch(f) for f in forms)


def _near_kanji(inquiry: Inquiry, person: PersonFacts) -> bool:
    return bool(near_kanji_forms(inquiry.sought_name)
                & (near_kanji_forms(person.name) | near_kanji_forms(person.name_kana)))


@lru_cache(maxsize=1 << 16)
def near_kanji_forms(name: str) -> frozenset[str]:
    """The name's forms (name_forms) with 斎/斉 and 龍/竜 alike: two names near by their writing share one."""
    return frozenset(f.translate(_NEAR_KANJI) for f in name_forms(name))


# How a near record's name differs when only its reading can tell (reading_differs): the inquiry has the name
# in kana and the record no reading of it (a My Number card gives only kanji); or the record has it only in
# kana (a paper form typed in kana) and the inquiry in kanji or Latin letters.  Staff must check the reading.
KANA_INQUIRY, KANA_RECORD = "kana_inquiry", "kana_record"


def reading_differs(inquiry: Inquiry, person: PersonFacts) -> str:
    """KANA_INQUIRY or KANA_RECORD when the name cannot be compared for want of a reading, else "" (the
    birth date is the caller's to compare; the sex, when both give one, must agree).  KANA_INQUIRY at any
    address (the family knows an old one, or none); KANA_RECORD only at the address asked: a kanji name
    is what most inquiries give, and every kana-only record born that day would be near all of them."""
    if inquiry.sought_sex and person.sex and inquiry.sought_sex != person.sex:
        return ""
    has_kana = kana_only(person.name) or kana_only(person.name_kana)
    if kana_only(inquiry.sought_name):
        return "" if has_kana else KANA_INQUIRY
    only_kana = kana_only(person.name) and (not person.name_kana or kana_only(person.name_kana))
    return KANA_RECORD if only_kana and _at_address_asked(inquiry, person) else ""


def _at_address_asked(inquiry: Inquiry, person: PersonFacts) -> bool:
    return bool(inquiry.sought_address and person.address and same_address(inquiry, person))


def near(inquiry: Inquiry, person: PersonFacts) -> bool:
    """Could be this person, for staff to ask the inquirer about (never answered at once): a match but for
    the address; the name alike but for 斎/斉 or 龍/竜; or a name that only its reading could tell
    (reading_differs: kana where the record has none, at any address; kanji or Latin letters where the
    record has only kana, at the address asked).  Always the same birth date.  Of a set of records, the
    ones an inquiry could mean are could_mean's."""
    if person.birth_date != inquiry.sought_birth_date:
        return False
    if matches(inquiry, person, by_address=False) or _near_kanji(inquiry, person):
        return True
    return bool(reading_differs(inquiry, person))


def _by_reading_alone(inquiry: Inquiry, person: PersonFacts) -> bool:
    return not matches(inquiry, person, by_address=False) and not _near_kanji(inquiry, person)


def could_mean(inquiry: Inquiry, candidates: list[PersonFacts]) -> list[PersonFacts]:
    """The records an inquiry could mean (near), in their order.  A name in kana near a record without a
    reading away from the address asked counts only when the inquiry matches nobody exactly: it is there
    so that a family asking in kana is not told "no information" about a card-only record, not to hold
    back (or, when protected, flag) an answer the inquiry's own name and address already find.  Nor does
    it count when that record is protected (or reached by protection: protected_forms): a birth date alone
    is too weak a link to call the inquiry one about that person, and if it flagged the inquiry, one
    protected card-only record would hide from staff every kana inquiry born that day.  It is left out as
    if it were not there (neither flagged nor offered), so the inquirer cannot tell it from nobody."""
    exact = any(matches(inquiry, p) for p in candidates)
    reached = protected_forms(candidates)
    return [p for p in candidates if near(inquiry, p)
            and not (_by_reading_alone(inquiry, p) and not _at_address_asked(inquiry, p)
                     and (exact or is_protected(p, reached)))]


# At most this many records near only by reading (reading_differs) are offered to staff for one inquiry.
# Nothing but the birth date (and the sex) narrows them: on a day many check in by My Number card, one birth
# date can hold more kanji-only records than staff can go through on one call back, and each shown is a
# stranger's name and shelter put before staff.  The first in the order the records are given in (HQ: by
# record id), so the same inquiry offers the same records each time.  (Those at the address asked were near
# before and stay uncapped.)
READING_NEAR_CAP = 5


def offered_near(inquiry: Inquiry, near_ones: list[PersonFacts]) -> list[PersonFacts]:
    """The near records (could_mean, in a stable order) staff are offered: all but those near only by reading
    away from the address asked past READING_NEAR_CAP.  Protection is not decided here: any protected record
    the inquiry could mean, offered or not, flags it (the_person)."""
    elsewhere = [p for p in near_ones if _by_reading_alone(inquiry, p) and not _at_address_asked(inquiry, p)]
    left_off = {id(p) for p in elsewhere[READING_NEAR_CAP:]}
    return [p for p in near_ones if id(p) not in left_off]


# What a consent from the self-report page can widen, once staff have confirmed the inquirer: only what
# such a report itself says (that they are safe, and where); never what a kiosk recorded.
BY_SELF_REPORTED_CONSENT = frozenset({EXISTS, WHEREABOUTS})


def _consented(inquiry: Inquiry, person: PersonFacts, at_once: bool) -> frozenset[str]:
    """What the person's consent lets this inquirer be told: `at_once` before anyone has checked them."""
    if (person.consent_self_reported or person.consent_unproven) and at_once:
        # Unverifiable: answering at once would let anyone self-report a name, or pre-register it and check
        # in with the QR (a protected person's check-in is held back, an unknown one's written), and ask,
        # and so tell a protected person from an unknown one, or read what a kiosk recorded.
        return frozenset()
    fields: frozenset[str] = frozenset()
    if person.consent == "public":
        fields = BY_CONSENT["public"]
    elif person.consent == "family" and person.family_code and inquiry.family_code and hmac.compare_digest(
            inquiry.family_code.casefold().encode(), person.family_code.casefold().encode()):
        fields = BY_CONSENT["family"]
    if at_once and self_reported_whereabouts(person):
        # Anyone may self-report anyone "safe at home": an unchecked claim is never told at once.
        fields -= {WHEREABOUTS}
    if person.consent_self_reported:
        return fields & BY_SELF_REPORTED_CONSENT
    if person.consent_speaks_for is not None:
        # What another shelter recorded is told as the law's tiers allow, never by this consent.
        fields &= person.consent_speaks_for | {EXISTS}
    return fields


def self_reported_whereabouts(person: PersonFacts) -> bool:
    return bool(person.whereabouts and person.whereabouts.get("self_reported"))


# Whereabouts told of a person a shelter recorded (evac.whereabouts stay types), besides "left_shelter".
_AT_A_SHELTER = ("in_shelter", "at_home", "in_car")
# What is told instead: in hospital, as registered with a shelter; or only that they are registered with it.
IN_HOSPITAL, REGISTERED = "in_hospital", "registered"


def told_whereabouts(fields: frozenset[str], person: PersonFacts) -> dict | None:
    """The whereabouts an answer of these fields gives.  A shelter that sent someone to hospital still
    holds where they stayed: told with the injury, they are in hospital (registered with the shelter),
    never "in the shelter".  Told without the injury, whoever it is hears only the shelter they are
    registered with: "in hospital" would tell the injury, and a neutral word for hospitalised people
    alone would tell it too."""
    where = person.whereabouts
    if not where or where.get("self_reported") or where.get("state") not in _AT_A_SHELTER:
        return where
    if INJURY not in fields:
        return {**where, "state": REGISTERED}
    return {**where, "state": IN_HOSPITAL} if person.injury_or_illness == "hospitalised" else where


def _fill(fields: frozenset[str], person: PersonFacts) -> Answer:
    answer = Answer(shown=fields)
    if EXISTS in fields:
        answer.information_exists = True
    if WHEREABOUTS in fields:
        answer.whereabouts = told_whereabouts(fields, person)
    if INJURY in fields:
        answer.injury_or_illness = person.injury_or_illness or "not_reported"
    if CONTACT in fields:
        answer.contact = person.contact or None
    return answer


def answer_now(inquiry: Inquiry, candidates: list[PersonFacts]) -> tuple[Answer, PersonFacts | None, bool]:
    """The answer given at once, before anyone confirms the inquirer.

    Returns (answer, the person matched or None, flagged).  `flagged` is set
    when a never-disclose person was asked about: HQ must know, the inquirer
    must not.  Unknown, ambiguous and protected all give the same answer.
    """
    person, flagged = the_person(inquiry, candidates)
    if person is None or person.only_self_reported:
        # Staff still see the one record (a self-report): they may tell its reporter someone asked.
        return Answer(pending_review=True), person, flagged
    fields = _consented(inquiry, person, at_once=True)
    answer = _fill(fields, person)
    # Whereabouts held back because only a self-report says them: staff decide after confirming the inquirer.
    answer.pending_review = not STATUTORY[inquiry.relationship] <= fields or (
        self_reported_whereabouts(person) and WHEREABOUTS in _consented(inquiry, person, at_once=False))
    return answer, person, flagged


def in_protected_household(household_id: str, protected_households: Collection[str]) -> bool:
    """Whether a person of this household is protected because someone of it is (災対法 §86-15: the
    children, the parent who fled with the victim).  Decided when answering, from the protected people
    of the moment, so a member protected later protects those registered before.  No household: no."""
    return bool(household_id) and household_id in protected_households


def protection_digests(key: bytes, forms: Iterable[tuple[str, str]]) -> frozenset[str]:
    """Keyed digests of identity forms: how HQ tells every kiosk whom never to show behind a household QR
    or an IC card, without sending anyone's name.  A kiosk compares the digests of whom it is shown."""
    return frozenset(hmac.new(key, f"protected\x1f{form}\x1f{born}".encode(), "sha256").hexdigest()[:32]
                     for form, born in forms)


def protected_forms(people: Iterable[PersonFacts]) -> frozenset:
    """Every identity form (identity_forms) protection reaches from these records.

    One protected record protects every record that shares a name form and birth date with it, in kanji
    or kana, and so on through those: the same person may be on record several times (a card's kanji,
    a kana typed at another kiosk, another address), and any of them may be the one a stalker asks for.
    It also protects a record that only a reading could join to it at the same birth date, at any address
    or none (a card's kanji without a reading and a paper form's kana), when both say the same sex or one
    says none, or the kana record, unprotected, would answer whoever asks for the kana: she may have typed
    it at the shelter she fled to, under the address she is hiding at.  An unrelated namesake in kana born
    that day is so held back too (rare: a birth date, a sex and a record without kanji; it is answered
    as unknown, as is the protected person); the other way, a stalker told "safe at 大井川中学校", is not
    to be undone.  The inquiry answer, the PFIF export, the staff lists and the kiosks' digests all decide
    protection by this one rule."""
    people = list(people)
    forms = [_forms(p) for p in people]
    links = [_reading_link(p) for p in people]
    reached: set = set()
    linked: dict[tuple[str, str], set[str]] = {}   # (kind, birth date) of protected: sexes
    done = [False] * len(people)
    grown = True
    while grown:
        grown = False
        for i, person in enumerate(people):
            if done[i]:
                continue
            link = links[i]
            if not (person.never_disclose or forms[i] & reached or (
                    link is not None and _linked(linked.get((_OTHER_KIND[link[0]],) + link[1:]), person.sex))):
                continue
            done[i] = grown = True
            reached |= forms[i]
            if link is not None:
                linked.setdefault(link, set()).add(person.sex)
    return frozenset(reached)


_OTHER_KIND = {"kana": "no_reading", "no_reading": "kana"}


def _reading_link(person: PersonFacts) -> tuple[str, str] | None:
    """(kind, birth date) of a record whose name only a reading could join to another's: one only in kana,
    or one in kanji or letters without a reading.  None for one with both."""
    if kana_only(person.name):
        return "kana", person.birth_date
    if not person.name_kana.strip():
        return "no_reading", person.birth_date
    return None


def _linked(sexes: set[str] | None, sex: str) -> bool:
    # the same sex when both records say one (evac.duplicates.why_same)
    return bool(sexes) and (not sex or "" in sexes or sex in sexes)


def _forms(person: PersonFacts) -> frozenset:
    return protection_forms(person.name, person.name_kana, person.birth_date)


def is_protected(person: PersonFacts, reached: frozenset) -> bool:
    return person.never_disclose or bool(_forms(person) & reached)


def the_person(inquiry: Inquiry, candidates: list[PersonFacts]) -> tuple[PersonFacts | None, bool]:
    """(the one person an inquiry names, or None; whether a protected person was among those it
    could mean).  Protection is decided over every candidate (protected_forms), before the address
    narrows them down: the same person may be on record twice (a card's address and a typed one,
    kanji at one kiosk and only kana at another), and one protected record protects them all."""
    reached = protected_forms(candidates)
    could_be = could_mean(inquiry, candidates)
    if any(is_protected(p, reached) for p in could_be):
        return None, True
    found = [p for p in could_be if matches(inquiry, p)]
    return (found[0] if len(found) == 1 else None), False


def family_code_opens(inquiry: Inquiry, person: PersonFacts | None) -> bool:
    """The inquiry's family code opened the person's family consent at once (a right code, a kiosk's
    consent).  Anything else a code was given with counts as a wrong guess, whoever was asked about."""
    return (bool(inquiry.family_code) and person is not None and person.consent == "family"
            and bool(_consented(inquiry, person, at_once=True)))


def answer_for_notice(status: str, inquiry: Inquiry, person: PersonFacts | None) -> Answer | None:
    """What an e-mail about news may say: what the inquirer may be told now, or nothing at all.

    Only a reviewed inquiry gets the tier, about the record staff released against; an unreviewed one
    only what consent gives, about the one record it matches exactly; a protected or unknown person
    never gives news."""
    if person is None or person.never_disclose or person.only_self_reported:
        return None
    if status == "released":
        # The record staff released against (HQ re-checks it is still one the inquiry could mean): they may
        # have chosen a near record (another address, a name only its reading could tell), not an exact match.
        answer = answer_after_review(inquiry, person)
    elif status == "answered" and matches(inquiry, person):
        answer = _fill(_consented(inquiry, person, at_once=True), person)
    else:
        return None
    return answer if answer.information_exists else None


def answer_after_review(inquiry: Inquiry, person: PersonFacts | None) -> Answer:
    """What staff release once they have confirmed who is asking: the tier, plus what consent gives.
    Nobody, a protected person and one known only from self-reports are all answered alike."""
    if person is None or person.never_disclose or person.only_self_reported:
        return Answer(information_exists=False)
    return _fill(STATUTORY[inquiry.relationship] | _consented(inquiry, person, at_once=False), person)


__all__ = ["ANSWER_FIELDS", "Answer", "Inquiry", "InvalidInquiry", "KANA_INQUIRY", "KANA_RECORD", "PersonFacts",
           "READING_NEAR_CAP", "RELATIONSHIPS", "STATUTORY", "answer_after_review", "answer_now", "could_mean",
           "family_code_opens", "identity_forms", "in_protected_household", "is_protected", "kana_only", "matches", "name_forms",
           "near", "offered_near", "parse_inquiry", "protected_forms", "protection_forms", "reading_differs", "same_address", "the_person"]
