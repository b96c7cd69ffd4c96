"""Kiosk enrollment and authentication.

A token is `<kiosk id>.<secret>`.  HQ keeps only a SHA-256 of the whole
token, so a copy of HQ's database does not let anyone impersonate a kiosk;
the id in front lets HQ tell "no such kiosk" from "wrong secret".
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json

from sqlalchemy.orm import Session

from evac.kiosk_token import KIOSK_ID_RE, new_kiosk_id, new_token

from .models import HQMeta, Kiosk, Shelter


class EnrollmentError(ValueError):
    """A change HQ's command line refuses; the message says it in Japanese, then in English."""


class AuthError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def enroll_kiosk(session: Session, shelter_id: str) -> str:
    """Enroll a new kiosk at a shelter; returns its token (shown once, never stored)."""
    if session.get(Shelter, shelter_id) is None:
        raise EnrollmentError(_no_shelter(shelter_id))
    kiosk_id = new_kiosk_id()
    token = new_token(kiosk_id)
    session.add(Kiosk(id=kiosk_id, shelter_id=shelter_id, token_hash=_hash(token),
                      enrolled_at=dt.datetime.now(dt.timezone.utc)))
    session.commit()
    return token


def rekey_kiosk(session: Session, kiosk_id: str) -> str:
    """A new token for an enrolled kiosk whose token was lost or may be known to others (a carried
    file on a lost USB stick holds it); returns it.  The old token stops working at once.  The kiosk
    keeps its database, its stream and what HQ holds of it: restarted with the new token, it syncs on."""
    kiosk = _enrolled(session, kiosk_id)
    if kiosk.retired_at is not None:
        raise EnrollmentError(f"端末 {kiosk_id} は登録を取り消されています。`evac hq enroll-kiosk` で登録し直してください / "
                              f"kiosk {kiosk_id} was retired: enroll the kiosk again (`evac hq enroll-kiosk`)")
    token = new_token(kiosk_id)
    kiosk.token_hash = _hash(token)
    session.commit()
    return token


def retire_kiosk(session: Session, kiosk_id: str) -> Kiosk:
    """A kiosk whose database was replaced (new-device, enrolled again) or whose machine is gone: its token
    stops working and it leaves the dashboard's kiosk table and alerts.  What HQ holds from it stays."""
    kiosk = _enrolled(session, kiosk_id)
    if kiosk.retired_at is None:
        kiosk.retired_at = dt.datetime.now(dt.timezone.utc)
        session.commit()
    return kiosk


def _enrolled(session: Session, kiosk_id: str) -> Kiosk:
    kiosk = session.get(Kiosk, kiosk_id)
    if kiosk is None:
        raise EnrollmentError(f"端末 {kiosk_id!r} は本部に登録されていません（端末IDはトークンのドットより前の部分で、"
                              f"ダッシュボードにも出ています） / no kiosk {kiosk_id!r} is enrolled at HQ (kiosk ids "
                              "are the part of the token before the dot, as on the dashboard)")
    return kiosk


def move_kiosk(session: Session, kiosk_id: str, shelter_id: str) -> tuple[str, str]:
    """A kiosk carried to another shelter now belongs there: (from, to), the same shelter twice for a kiosk
    already there (nothing changed).  The kiosk hears it with its next configuration; its people were always
    counted where it checked them in."""
    kiosk = _enrolled(session, kiosk_id)
    if kiosk.retired_at is not None:   # as rekey: a retired kiosk's token is refused for good
        raise EnrollmentError(f"端末 {kiosk_id} は登録を取り消されています。`evac hq enroll-kiosk --shelter {shelter_id}` "
                              f"で登録し直してください / kiosk {kiosk_id} was retired: enroll the kiosk again "
                              f"(`evac hq enroll-kiosk --shelter {shelter_id}`)")
    if session.get(Shelter, shelter_id) is None:
        raise EnrollmentError(_no_shelter(shelter_id))
    before = kiosk.shelter_id
    if before == shelter_id:   # already there: nothing to write, nothing for the kiosk to hear
        return before, shelter_id
    kiosk.shelter_id = shelter_id
    session.commit()
    return before, shelter_id


def _no_shelter(shelter_id: str) -> str:
    return (f"避難所ID {shelter_id!r} は本部にありません。--shelter を確かめてください / no shelter with id "
            f"{shelter_id!r} at HQ (check --shelter)")


def authenticate(session: Session, authorization: str | None) -> Kiosk:
    """The enrolled kiosk behind an `Authorization: Bearer <token>` header."""
    if not authorization or not authorization.startswith("Bearer "):
        raise AuthError("unauthenticated", "this request needs a kiosk token (Authorization: Bearer …)")
    token = authorization[len("Bearer "):].strip()
    kiosk_id, _, secret = token.partition(".")
    kiosk = session.get(Kiosk, kiosk_id) if secret and len(kiosk_id) <= 32 else None
    if kiosk is None:
        raise AuthError("unknown_kiosk", "no kiosk is enrolled under this token: check the token (as "
                        "`evac hq enroll-kiosk` printed it), or enroll the kiosk at HQ first")
    if not hmac.compare_digest(kiosk.token_hash, _hash(token)):
        raise AuthError("wrong_token", f"the token for kiosk {kiosk_id} is wrong")
    if kiosk.retired_at is not None:
        raise AuthError("kiosk_retired", f"HQ retired kiosk {kiosk_id} on {kiosk.retired_at:%Y-%m-%d %H:%M} UTC: "
                        "its token no longer works; enroll this kiosk again at HQ (`evac hq enroll-kiosk`)")
    return kiosk


# Kiosks that sync with a token HQ does not know (HQ's database restored from a backup taken before they
# were enrolled, most often): the kiosk tells its staff to call HQ, and HQ's dashboard says it too.  Kept as
# hq_meta rows, a few at most: anyone can send a made-up token.
_UNKNOWN = "unknown_kiosk:"
MAX_UNKNOWN_KIOSKS = 20


def note_unknown_kiosk(session: Session, authorization: str | None) -> None:
    """Keep that a kiosk tried a token HQ does not know (its id, how often, when last).  Never raises."""
    token = (authorization or "")[len("Bearer "):].strip()
    kiosk_id = token.partition(".")[0]
    if not KIOSK_ID_RE.match(kiosk_id):
        return
    from sqlalchemy import func, select
    from sqlalchemy.exc import SQLAlchemyError
    try:
        row = session.get(HQMeta, _UNKNOWN + kiosk_id)
        now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        if row is None:
            known = session.scalar(select(func.count()).select_from(HQMeta).where(HQMeta.name.like(_UNKNOWN + "%")))
            if known >= MAX_UNKNOWN_KIOSKS:
                return
            session.add(HQMeta(name=_UNKNOWN + kiosk_id, value=json.dumps({"n": 1, "at": now})))
        else:
            seen = json.loads(row.value)
            row.value = json.dumps({"n": seen.get("n", 0) + 1, "at": now})
        session.commit()
    except (SQLAlchemyError, ValueError):
        session.rollback()


def unknown_kiosks(session: Session, since: dt.datetime) -> list[tuple[str, int, dt.datetime]]:
    """(kiosk id, attempts, last attempt) of the kiosks that tried a token HQ does not know since `since`."""
    from sqlalchemy import select
    out = []
    for row in session.scalars(select(HQMeta).where(HQMeta.name.like(_UNKNOWN + "%")).order_by(HQMeta.name)):
        try:
            seen = json.loads(row.value)
            at = dt.datetime.fromisoformat(seen["at"])
        except (ValueError, KeyError, TypeError):
            continue
        if at >= since and session.get(Kiosk, row.name[len(_UNKNOWN):]) is None:
            out.append((row.name[len(_UNKNOWN):], int(seen.get("n", 1)), at))
    return out
