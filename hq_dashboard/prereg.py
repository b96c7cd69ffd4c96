"""Pre-registration at HQ: households registered ahead of time get a signed QR (evac.prereg_qr)."""
from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import re
import secrets
import unicodedata
from typing import Any

import segno
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from evac.events import FAMILY_CODE_LEN, NEEDS_CODES, InvalidEvent, clean_family_code, family_code_fits, parse_person
from evac.identity import normalize_name, person_key
from evac.individual_number import contains_individual_number
from evac.prereg_qr import Household, Member, key_id, sign
from evac.typed_names import in_letters, reads_as_kana

from .models import PreregHousehold, PreregKey

VALID_FOR = dt.timedelta(days=365)
CONSENTS = ("none", "family", "public")
MAX_MEMBERS = 10
# The largest QR a phone screen held to the kiosk's camera still reads: a household of five with usual
# names and address needs version 17-18; the kiosk's decoder (jsQR, 640x480 frame) lost version 25 and
# up at most sizes.  A QR that would be larger is refused before anything is saved.
MAX_QR_VERSION = 20
QR_ERROR = "m"
TOO_LARGE = ("the household's QR code would be too large for a phone camera to read: shorten long names or the "
             "address, or register the household in two parts (the same address for both)")


class PreregError(ValueError):
    """Bad registration input; `field` says which field, for the message next to it."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field, self.message = field, message


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# A new key is sent to the kiosks this long before it signs: a QR signed with it at once was refused, as
# "not the city's", at every kiosk that had not synced since (an offline one for as long as it stayed so).
KEY_LEAD = dt.timedelta(hours=24)


def rotate_key(session: Session, at_once: bool = False) -> str:
    """A new signing key, sent to kiosks at their next sync and signing new QRs KEY_LEAD later (at once
    with `at_once`: the old key leaked); older ones stay valid for verification until retired (retire_key)."""
    private = Ed25519PrivateKey.generate()
    public = private.public_key()
    first = session.execute(select(PreregKey.kid).limit(1)).first() is None
    if at_once:
        # A key still waiting to sign never signed a QR: retired with the leaked one's successor in place,
        # or it would stay trusted by every kiosk, its private half in the database that may have leaked.
        for pending in session.execute(select(PreregKey).where(~PreregKey.active, PreregKey.retired_at.is_(None),
                                                               PreregKey.private_raw != "")).scalars():
            if _aware(pending.created_at) > _aware(_signing_row(session).created_at):
                pending.retired_at, pending.private_raw = _now(), ""
    if at_once or first:
        session.execute(PreregKey.__table__.update().values(active=False))
    kid = key_id(public)
    session.add(PreregKey(kid=kid, active=at_once or first, created_at=_now(),
                          private_raw=private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()).hex(),
                          public_raw=public.public_bytes(Encoding.Raw, PublicFormat.Raw).hex()))
    session.commit()
    return kid


def signs_from(session: Session, kid: str) -> dt.datetime | None:
    """When a key made by rotate_key starts signing new QRs; None when it signs already (or is retired)."""
    row = session.get(PreregKey, kid)
    if row is None or row.active or row.retired_at is not None:
        return None
    return _aware(row.created_at) + KEY_LEAD


def _aware(at: dt.datetime) -> dt.datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=dt.UTC)   # SQLite gives UTC back without its zone


def _signing_row(session: Session) -> PreregKey:
    """The key that signs new QRs now: the newest one the kiosks have had KEY_LEAD to learn takes over
    (written with the caller's commit)."""
    row = session.execute(select(PreregKey).where(PreregKey.active)).scalar_one_or_none()
    if row is None:
        rotate_key(session)
        row = session.execute(select(PreregKey).where(PreregKey.active)).scalar_one()
    ready = [k for k in session.execute(select(PreregKey).where(
        PreregKey.retired_at.is_(None), ~PreregKey.active, PreregKey.private_raw != "")).scalars()
        if _aware(row.created_at) < _aware(k.created_at) <= _now() - KEY_LEAD]
    if ready:
        newest = max(ready, key=lambda k: _aware(k.created_at))
        row.active, newest.active, row = False, True, newest
    return row


def _active_key(session: Session) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(bytes.fromhex(_signing_row(session).private_raw))


def public_keys(session: Session) -> dict[str, str]:
    """The keys kiosks check QRs with: every key not retired."""
    return {k.kid: k.public_raw for k in session.execute(select(PreregKey).where(PreregKey.retired_at.is_(None)))
            .scalars()}


def retire_key(session: Session, kid: str) -> dt.datetime:
    """Stop trusting a signing key (lost, leaked, or its QRs all replaced): kiosks drop it at their next
    sync and refuse every QR signed with it.  The key that signs new QRs is retired only once a newer
    one has taken over (rotate_key), or HQ would hand out QRs no kiosk accepts.  Returns when it was
    retired (earlier, if it already was)."""
    row = session.get(PreregKey, kid.strip().lower()) if isinstance(kid, str) else None
    if row is None:
        kids = _kids(session)
        raise PreregError("kid", f"事前登録の鍵 {kid!r} はありません（鍵: {'、'.join(kids) or 'まだありません'}） / "
                                 f"no pre-registration key {kid!r} (keys: {', '.join(kids) or 'none yet'})")
    if row.retired_at is not None:
        return row.retired_at
    _signing_row(session)   # a newer key whose day has come signs now, though nobody registered since
    if row.active:
        raise PreregError("kid", f"{row.kid} は今、新しい QR に署名している鍵です。先に新しい鍵を作ってから"
                                 "（evac hq rotate-prereg-key。1日後から署名します。--now なら今から）、この鍵を"
                                 "取り消してください / "
                                 f"{row.kid} signs new QRs: make a new key first (evac hq rotate-prereg-key; "
                                 "it signs a day later, or at once with --now), then retire this one")
    row.retired_at = _now()
    row.private_raw = ""   # it never signs again: a copy of HQ's database then forges no QR with it
    session.commit()
    return row.retired_at


def _kids(session: Session) -> list[str]:
    return list(session.execute(select(PreregKey.kid).order_by(PreregKey.created_at)).scalars())


def revoked_ids(session: Session) -> list[str]:
    return sorted(session.execute(select(PreregHousehold.id).where(PreregHousehold.revoked_at.is_not(None)))
                  .scalars())


# 番号法 §20: a pre-registration is no use the law allows for the number; it would be signed into the QR.
_NUMBER_REFUSED = ("{what} holds what looks like a 12-digit Individual Number (マイナンバー): "
                   "it must not be recorded; write something else")


def parse_registration(data: Any) -> tuple[str, str, str, list[Member]]:
    if not isinstance(data, dict):
        raise PreregError("form", "the registration must be a JSON object")
    address = data.get("address")
    if not isinstance(address, str) or not address.strip() or len(address) > 200:
        raise PreregError("address", "the address is missing or too long")
    consent = data.get("consent", "none")
    if consent not in CONSENTS:
        raise PreregError("consent", f"consent must be one of {', '.join(CONSENTS)}")
    contact = data.get("contact") or ""
    if not isinstance(contact, str):
        raise PreregError("contact", "the contact must be text")
    if len(contact) > 100:
        raise PreregError("contact", "the contact is too long")
    if contains_individual_number(contact, phones=True):
        raise PreregError("contact", _NUMBER_REFUSED.format(what="the contact"))
    code = data.get("family_code") or ""
    if not isinstance(code, str):
        raise PreregError("family_code", "the family code must be text")
    code = clean_family_code(code)
    if consent == "family" and not family_code_fits(code):
        raise PreregError("family_code", f"choose a family code of {FAMILY_CODE_LEN[0]} to {FAMILY_CODE_LEN[1]} "
                                         "characters: your family gives it when they ask about you")
    if code and consent != "family":
        raise PreregError("family_code", "a family code only goes with answers to the family")
    if contains_individual_number(code):
        raise PreregError("family_code", _NUMBER_REFUSED.format(what="the family code"))
    raw_members = data.get("members")
    if not isinstance(raw_members, list) or not 1 <= len(raw_members) <= MAX_MEMBERS:
        raise PreregError("members", f"register 1 to {MAX_MEMBERS} people")
    members = []
    seen: dict[str, int] = {}
    for i, m in enumerate(raw_members):
        try:
            person = parse_person({**m, "address": address} if isinstance(m, dict) else m)
        except InvalidEvent as exc:
            raise PreregError(f"members.{i}", f"person {i + 1}: {exc}") from None
        # Typed here, as at a kiosk: the QR carries them to every kiosk's roster, which is searched by them.
        if not in_letters(person.name):
            raise PreregError(f"members.{i}", f"person {i + 1}: a name has letters, not only symbols or emoji")
        if person.name_kana and not reads_as_kana(person.name_kana):
            raise PreregError(f"members.{i}.name_kana", f"person {i + 1}: write the name's reading in kana (or "
                                                        "Latin letters for a foreign name), without symbols, "
                                                        "digits or kanji")
        needs = m.get("needs") or []
        if not isinstance(needs, list) or any(n not in NEEDS_CODES for n in needs):
            raise PreregError(f"members.{i}.needs", f"person {i + 1}: needs must be from: {', '.join(NEEDS_CODES)}")
        # The kiosk refuses a check-in listing one person twice; refuse the QR that would ask for it.
        same = seen.setdefault(person_key(person.name, person.birth_date, address), i)
        if same != i:
            raise PreregError(f"members.{i}.same", f"person {i + 1} is the same as person {same + 1} (same name "
                                                   "and birth date): register each person once")
        members.append(Member("PR-" + secrets.token_hex(6).upper(), person.name, person.birth_date, person.sex,
                              person.name_kana, tuple(sorted(set(needs)))))
    return address.strip(), consent, contact.strip(), members, code


def qr_code(text: str) -> segno.QRCode:
    """The QR symbol of a household's text, or PreregError when no phone camera would read it back."""
    try:
        qr = segno.make(text, error=QR_ERROR)
    except segno.DataOverflowError:
        qr = None
    if qr is None or qr.version > MAX_QR_VERSION:
        raise PreregError("qr_size", TOO_LARGE)
    return qr


def _household(session: Session, data: Any, members_from=None) -> tuple[Household, str]:
    """A new household and its signed QR text, checked to fit a readable QR; nothing saved.
    `members_from(members, family_code, consent)` may change the parsed members and code (a change)."""
    address, consent, contact, members, code = parse_registration(data)
    if members_from is not None:
        members, code = members_from(members, code, consent)
    now = _now()
    household = Household(household_id="HH-" + secrets.token_hex(8).upper(), address=address, consent=consent,
                          contact=contact, family_code=code, members=tuple(members), issued=int(now.timestamp()),
                          expires=int((now + VALID_FOR).timestamp()), language=str(data.get("language", "ja"))[:8])
    qr = sign(household, _active_key(session))
    qr_code(qr)
    return household, qr


def _row(household: Household, manage_hash: str | None) -> PreregHousehold:
    issued = dt.datetime.fromtimestamp(household.issued, dt.UTC)
    return PreregHousehold(id=household.household_id, created_at=issued,
                           expires_at=dt.datetime.fromtimestamp(household.expires, dt.UTC),
                           payload=json.dumps(household.to_payload(), ensure_ascii=False), manage_hash=manage_hash)


def register(session: Session, data: Any) -> tuple[Household, str, str]:
    """Register a household; returns it, the text of its QR (checked to fit a readable QR before
    anything is saved) and the secret of its management link (shown once; HQ keeps only its hash)."""
    household, qr = _household(session, data)
    secret = secrets.token_urlsafe(MANAGE_BYTES)
    session.add(_row(household, manage_hash(secret)))
    session.commit()
    return household, qr, secret


def revoke(session: Session, household_id: str) -> tuple[str, dt.datetime | None] | None:
    """Staff revoke a registration by its number: the one that stands now, if the family changed it since
    (the number the family has may be their first done page's).  Returns (its number, when it was
    revoked before, None if now), or None for no such number; one revoked before keeps when it was."""
    row = session.get(PreregHousehold, household_id)
    if row is None:
        return None
    for _ in range(1000):   # (a chain of changes; never a loop, but never trusted to end either)
        if row.replaced_by is None or (after := session.get(PreregHousehold, row.replaced_by)) is None:
            break
        row = after
    before = row.revoked_at
    if before is None:
        row.revoked_at = _now()
    session.commit()
    return row.id, before


# The family's management link: /prereg/manage/<secret>.  Anyone holding it may see, change or cancel the
# registration, so it is long and random, and HQ keeps only its SHA-256 (it is no password a person chose:
# one round of hashing is enough against a copy of the database).
MANAGE_BYTES = 32
MANAGE_SECRET = re.compile(r"[A-Za-z0-9_-]{43}")


def manage_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def managed(session: Session, secret: Any, for_update: bool = False) -> PreregHousehold | None:
    """The registration a management link opens, or None: an unknown link and one of the wrong shape are
    the same None (nothing tells whether a household exists)."""
    if not isinstance(secret, str) or not MANAGE_SECRET.fullmatch(secret):
        return None
    query = select(PreregHousehold).where(PreregHousehold.manage_hash == manage_hash(secret))
    return session.execute(query.with_for_update() if for_update else query).scalar_one_or_none()


def state(row: PreregHousehold, now: dt.datetime | None = None) -> str:
    """cancelled (by the family or by staff), expired, or valid."""
    if row.revoked_at is not None:
        return "cancelled"
    return "expired" if _aware(row.expires_at) < (now or _now()) else "valid"


def registered(row: PreregHousehold) -> Household | None:
    """What the household registered, while HQ still keeps it (None once erased)."""
    payload = json.loads(row.payload or "{}")
    return Household.from_payload(payload, "") if payload else None


def qr_again(session: Session, household: Household) -> str:
    """The QR text of a registration HQ still keeps, signed again (Ed25519 is deterministic: the same text
    while the signing key is the same; after a key rotation a text the kiosks take as well), for a family
    that lost the image."""
    return sign(household, _active_key(session))


class NotManaged(LookupError):
    """The link opens no registration that can be changed (unknown, cancelled or expired)."""


def cancel(session: Session, secret: str) -> PreregHousehold:
    """The family cancels: kiosks refuse the QR after their next sync (the id joins revoked_ids), and what
    HQ kept only for the QR (names, birth dates, address, needs, contact, family code) is erased now, as
    retention would erase it later.  Kept: the id (the kiosks' revocation list), its dates (when it was
    made, valid until, cancelled) and the link's hash (the link then says "cancelled").  Cancelling again
    changes nothing."""
    from .retention import ERASED_PAYLOAD
    row = managed(session, secret, for_update=True)
    if row is None:
        session.rollback()
        raise NotManaged("no registration")
    if row.revoked_at is None:
        row.revoked_at = _now()
    row.payload = ERASED_PAYLOAD
    session.commit()
    return row


def _edits(a: str, b: str) -> int:
    """Characters to change, add or drop to make `a` into `b` (Levenshtein)."""
    before = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        now = [i]
        for j, cb in enumerate(b, 1):
            now.append(min(before[j] + 1, now[j - 1] + 1, before[j - 1] + (ca != cb)))
        before = now
    return before[-1]


def _date_slip(a: str, b: str) -> bool:
    """Two birth dates one slip apart: one of year, month and day differs, or month and day swapped.  A year
    only within ten (1985 for 1986 or 1995): further apart is a generation, a father's row given to his son
    of the same name born on the same day of the year."""
    ya, ma, da = a.split("-")
    yb, mb, db = b.split("-")
    if ya != yb and abs(int(ya) - int(yb)) > 10:
        return False
    return sum((ya != yb, ma != mb, da != db)) <= 1 or (ya == yb and ma == db and da == mb)


def _unaccented(text: str) -> str:
    # "Nguyen Thi Anh" typed first without its accents is "Nguyễn Thị Ánh": accents fixed are no edit
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _name_parts(name: str) -> frozenset[str]:
    return frozenset(p for p in (normalize_name(_unaccented(part)) for part in re.split(r"[\s\u3000]+", name))
                     if p)


def _same_person(old: Member, new: Member) -> bool:
    """A typo fixed in the name (a character, two in a long name; the parts put in another order, or a
    middle name added) or in the birth date (one slip), the rest as it was and the same sex: the same
    person.  (A sex fixed alone is the same name and birth date: kept before this is asked.)  Anything more
    is someone else given that row (a grandmother who moved out, her row given to a newborn; a father's row
    to his son of the same name): a new id, or HQ would join them, and one would be told the other's
    whereabouts.  Twins whose names differ by a character cannot be told from a typo."""
    if old.sex != new.sex:
        return False
    old_name, new_name = normalize_name(_unaccented(old.name)), normalize_name(_unaccented(new.name))
    if old_name == new_name:
        return _date_slip(old.birth_date, new.birth_date)
    if old.birth_date != new.birth_date:
        return False
    old_parts, new_parts = _name_parts(old.name), _name_parts(new.name)
    fewer, more = sorted((old_parts, new_parts), key=len)
    if len(fewer) > 1 and fewer <= more and len(more) - len(fewer) <= 1:
        return True   # "SMITH John" as "John SMITH"; "Maria Silva" as "Maria Aparecida Silva"
    return _edits(old_name, new_name) <= max(1, min(2, len(old_name) // 3))


def change(session: Session, secret: str, data: Any, rows: list[int | None] | None = None,
           drawn_from: str | None = None) -> tuple[Household, str]:
    """Replace a registration with a corrected one: a new QR, the old one revoked, in one transaction (a
    refused change, PreregError, leaves the old valid and nothing written).  `rows[i]`: which registered
    person the i-th member of `data` was (the form's row), None for someone new.  An empty family code
    with consent "family" keeps the registered one (the form never shows it).

    Ids: the household gets a new id, because kiosks revoke QRs by household id (revoked_ids; kiosk
    verify); each person who stays keeps their prereg id, so HQ (prereg_key) keeps them one person with
    what a kiosk recorded under the old QR.  The management link stays the same: it moves to the new row."""
    from .retention import ERASED_PAYLOAD
    row = managed(session, secret, for_update=True)
    if row is None or state(row) != "valid" or (old := registered(row)) is None or (
            drawn_from is not None and row.id != drawn_from):   # (`drawn_from`: changed since the form was read)
        session.rollback()
        raise NotManaged("no registration that can be changed")

    def members_from(members: list[Member], code: str, consent: str) -> tuple[list[Member], str]:
        # First everyone registered as they are now, name and birth date both, in whichever row (person 1
        # left: person 2 typed into the first row; twins born the same day swapped).  Only then a row whose
        # person kept one of the two (a typo fixed in the other), among those not matched yet: otherwise
        # a twin moved up into a left twin's row would take that twin's id, and HQ would make them one.
        ids: dict[int, str] = {}
        left = {}
        for m in old.members:
            left.setdefault((normalize_name(m.name), m.birth_date), []).append(m.prereg_id)
        for i, member in enumerate(members):
            if found := left.get((normalize_name(member.name), member.birth_date)):
                ids[i] = found.pop(0)
        taken = set(ids.values())
        for i, member in enumerate(members):   # each in the row they were registered in
            was = rows[i] if rows is not None and i < len(rows) else None
            if i in ids or was is None or not 0 <= was < len(old.members):
                continue
            if old.members[was].prereg_id not in taken and _same_person(old.members[was], member):
                ids[i] = old.members[was].prereg_id
                taken.add(ids[i])
        # Last, someone moved to another row with a typo fixed (花 typed into the row of one who left, as 華):
        # when exactly one person not matched yet could be them, and they could be no one else's.  Two
        # (twins, one typo'd, one gone) cannot be told apart: a new id, as for someone new.
        # (Only in a row that held a registered person: a row the family added is someone new.)
        could_be = {i: [m.prereg_id for m in old.members if m.prereg_id not in taken and _same_person(m, member)]
                    for i, member in enumerate(members) if i not in ids
                    and rows is not None and i < len(rows) and rows[i] is not None}
        for i, found in could_be.items():
            if len(found) == 1 and sum(found[0] in other for other in could_be.values()) == 1:
                ids[i] = found[0]
        return [dataclasses.replace(m, prereg_id=ids[i]) if i in ids else m for i, m in enumerate(members)], code

    if isinstance(data, dict):
        data = {**data, "language": data.get("language") or old.language}
        if data.get("consent") == "family" and not (data.get("family_code") or "").strip() and old.family_code:
            data["family_code"] = old.family_code
    try:
        household, qr = _household(session, data, members_from)
    except PreregError:
        session.rollback()
        raise
    row.revoked_at, row.payload, row.manage_hash, row.replaced_by = _now(), ERASED_PAYLOAD, None, household.household_id
    session.flush()   # the link's hash leaves the old row before the new row takes it (unique)
    session.add(_row(household, manage_hash(secret)))
    try:
        session.commit()
    except IntegrityError:   # the same link changed twice at once: the other change won
        session.rollback()
        raise NotManaged("changed at the same time") from None
    return household, qr
