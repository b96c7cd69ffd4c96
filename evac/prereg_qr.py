"""The signed QR of a pre-registered household: made at HQ, checked by kiosks with no network.

Text in the QR: "EV1:" + base45( key id (4) | Ed25519 signature (64) | zlib(payload JSON) ).
base45 keeps the QR in alphanumeric mode (as the EU's COVID certificates did), which is
about a third smaller than byte mode for the same data.  Kiosks hold HQ's public keys and
the revocation list, both synced down, and need nothing else to accept or refuse a QR.
"""
from __future__ import annotations

import datetime as dt
import json
import unicodedata
import zlib
from dataclasses import dataclass, field

import base45
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

PREFIX = "EV1:"
_DOMAIN = b"yaizu-evac prereg v1"  # signatures of this QR mean nothing anywhere else


class QRRejected(ValueError):
    """A QR that must not check anyone in.  `reason` is one of: malformed, foreign, forged, expired, revoked."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason, self.message = reason, message


@dataclass(frozen=True)
class Member:
    prereg_id: str
    name: str
    birth_date: str          # YYYY-MM-DD
    sex: str                 # female | male | other
    name_kana: str = ""
    needs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Household:
    household_id: str
    address: str
    members: tuple[Member, ...]
    consent: str = "none"    # none | family | public
    expires: int = 0         # unix seconds
    issued: int = 0
    language: str = "ja"
    contact: str = ""
    family_code: str = ""    # what the family gives when they ask (consent "family")
    key_id: str = field(default="", compare=False)

    def to_payload(self) -> dict:
        return {"h": self.household_id, "a": self.address, "c": self.consent, "x": self.expires, "i": self.issued,
                "l": self.language, "t": self.contact, **({"f": self.family_code} if self.family_code else {}),
                "m": [[m.prereg_id, m.name, m.name_kana, m.birth_date, m.sex, list(m.needs)] for m in self.members]}

    @classmethod
    def from_payload(cls, p: dict, key_id: str) -> "Household":
        """Raises ValueError for a payload whose fields are not of their types (a bug at HQ, an HQ of another
        version): what HQ signed is trusted to be HQ's, not to be well formed."""
        if not _payload_typed(p):
            raise ValueError("a field of the QR's payload is not of its type")
        return cls(household_id=p["h"], address=p["a"], consent=p["c"], expires=p["x"], issued=p["i"],
                   language=p["l"], contact=p["t"], family_code=p.get("f", ""), key_id=key_id,
                   members=tuple(Member(prereg_id=m[0], name=m[1], name_kana=m[2], birth_date=m[3], sex=m[4],
                                        needs=tuple(m[5])) for m in p["m"]))


def _payload_typed(p) -> bool:
    def texts(*values) -> bool:
        return all(isinstance(v, str) for v in values)

    def whole(v) -> bool:
        return isinstance(v, int) and not isinstance(v, bool)
    return (isinstance(p, dict) and texts(p.get("h"), p.get("a"), p.get("c"), p.get("l"), p.get("t"), p.get("f", ""))
            and whole(p.get("x")) and whole(p.get("i")) and isinstance(p.get("m"), list)
            and all(isinstance(m, list) and len(m) >= 6 and texts(*m[:5]) and isinstance(m[5], list)
                    and texts(*m[5]) for m in p["m"]))


def keys_from_hex(keys: dict[str, str]) -> dict[str, Ed25519PublicKey]:
    """HQ's public keys as synced down to kiosks (key id -> raw key in hex)."""
    return {kid: Ed25519PublicKey.from_public_bytes(bytes.fromhex(raw)) for kid, raw in keys.items()}


def key_id(public_key: Ed25519PublicKey) -> str:
    """A short name for a key: the first 4 bytes of its raw form, in hex."""
    return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)[:4].hex()


def sign(household: Household, private_key: Ed25519PrivateKey) -> str:
    kid = bytes.fromhex(key_id(private_key.public_key()))
    body = zlib.compress(json.dumps(household.to_payload(), ensure_ascii=False, separators=(",", ":")).encode(), 9)
    signature = private_key.sign(_DOMAIN + kid + body)
    return PREFIX + base45.b45encode(kid + signature + body).decode()


def verify(text: str, keys: dict[str, Ed25519PublicKey], revoked: set[str] | frozenset[str] = frozenset(),
           now: dt.datetime | None = None) -> Household:
    """The household in a QR, or QRRejected saying why not.  Needs no network."""
    # A keyboard-wedge scanner types what it reads: with CapsLock on it comes lowercase, with the IME on
    # full-width (ＥＶ１：…).  base45 has only uppercase letters, so both are the same code; the signature
    # still refuses any other change.
    text = unicodedata.normalize("NFKC", text).strip().upper()
    if not text.startswith(PREFIX):
        raise QRRejected("foreign", "this QR code is not a Yaizu pre-registration code")
    try:
        raw = base45.b45decode(text[len(PREFIX):])
    except ValueError:
        raise QRRejected("malformed", "this QR code is damaged; please show it again or ask staff") from None
    if len(raw) < 4 + 64 + 2:
        raise QRRejected("malformed", "this QR code is damaged; please show it again or ask staff")
    kid, signature, body = raw[:4], raw[4:68], raw[68:]
    key = keys.get(kid.hex())
    if key is None:
        raise QRRejected("foreign", "this QR code was not issued by this city's registration service")
    try:
        key.verify(signature, _DOMAIN + kid + body)
    except InvalidSignature:
        raise QRRejected("forged", "this QR code has been changed or forged; please ask staff") from None
    try:
        household = Household.from_payload(json.loads(zlib.decompress(body)), kid.hex())
    except (ValueError, KeyError, IndexError, TypeError, zlib.error):
        raise QRRejected("malformed", "this QR code could not be read; please ask staff") from None
    now = now or dt.datetime.now(dt.timezone.utc)
    if household.expires and now.timestamp() > household.expires:
        raise QRRejected("expired", "this QR code has expired; please register again or ask staff")
    if household.household_id in revoked or any(m.prereg_id in revoked for m in household.members):
        raise QRRejected("revoked", "this QR code has been cancelled; please ask staff")
    return household
