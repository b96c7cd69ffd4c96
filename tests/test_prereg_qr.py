"""The pre-registration QR: signed at HQ, verified offline at kiosks; every bad QR refused with its reason."""
import datetime as dt
import re

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from evac.prereg_qr import PREFIX, Household, Member, QRRejected, key_id, sign, verify
from tests.test_kiosk_screen_api import FAMILY as KIOSK_FAMILY
from tests.test_kiosk_screen_api import KEY as KIOSK_KEY
from tests.test_kiosk_screen_api import kiosk  # noqa: F401  (fixture)

NOW = dt.datetime(2026, 11, 25, tzinfo=dt.timezone.utc)
HQ_KEY = Ed25519PrivateKey.generate()
KEYS = {key_id(HQ_KEY.public_key()): HQ_KEY.public_key()}


def household(**over) -> Household:
    base = dict(household_id="HH-0001", address="静岡県焼津市本町5-9-1", consent="family",
                expires=int((NOW + dt.timedelta(days=365)).timestamp()), issued=int(NOW.timestamp()),
                members=(Member("PR-1", "焼津 太郎", "1948-03-03", "male", "ヤイヅ タロウ", ("dialysis",)),
                         Member("PR-2", "焼津 花子", "1950-07-07", "female", "ヤイヅ ハナコ"),
                         Member("PR-3", "Silva Ana", "2019-05-05", "female", "", ("infant", "allergy"))))
    return Household(**{**base, **over})


def test_a_household_round_trips_offline():
    text = sign(household(), HQ_KEY)
    got = verify(text, KEYS, now=NOW)
    assert got == household() and got.key_id == key_id(HQ_KEY.public_key())
    assert [m.name for m in got.members] == ["焼津 太郎", "焼津 花子", "Silva Ana"]


def test_the_text_stays_in_qr_alphanumeric_mode_and_fits_a_phone_screen():
    import segno
    text = sign(household(), HQ_KEY)
    assert text.startswith(PREFIX) and re.fullmatch(r"[0-9A-Z $%*+\-./:]+", text)
    qr = segno.make(text, error="m")
    assert qr.mode == "alphanumeric" and qr.version <= 20


def test_an_altered_qr_is_refused():
    import base45
    text = sign(household(), HQ_KEY)
    raw = bytearray(base45.b45decode(text[len(PREFIX):]))
    raw[-3] ^= 0x01
    with pytest.raises(QRRejected) as exc:
        verify(PREFIX + base45.b45encode(bytes(raw)).decode(), KEYS, now=NOW)
    assert exc.value.reason == "forged"


def test_a_qr_signed_with_another_key_under_our_key_id_is_refused():
    forger = Ed25519PrivateKey.generate()
    text = sign(household(), forger)
    import base45
    raw = bytearray(base45.b45decode(text[len(PREFIX):]))
    raw[:4] = bytes.fromhex(key_id(HQ_KEY.public_key()))
    with pytest.raises(QRRejected) as exc:
        verify(PREFIX + base45.b45encode(bytes(raw)).decode(), KEYS, now=NOW)
    assert exc.value.reason == "forged"


def test_expired_revoked_foreign_and_malformed_are_refused_with_their_reason():
    cases = [
        (sign(household(expires=int((NOW - dt.timedelta(days=1)).timestamp())), HQ_KEY), set(), "expired"),
        (sign(household(), HQ_KEY), {"PR-2"}, "revoked"),
        (sign(household(), HQ_KEY), {"HH-0001"}, "revoked"),
        (sign(household(), Ed25519PrivateKey.generate()), set(), "foreign"),
        ("https://example.com/not-ours", set(), "foreign"),
        (PREFIX + "!!!", set(), "malformed"),
        (PREFIX + "00", set(), "malformed"),
    ]
    for text, revoked, reason in cases:
        with pytest.raises(QRRejected) as exc:
            verify(text, KEYS, revoked, now=NOW)
        assert exc.value.reason == reason and exc.value.message


def test_keys_can_be_rotated():
    new_key = Ed25519PrivateKey.generate()
    keys = {**KEYS, key_id(new_key.public_key()): new_key.public_key()}
    old, new = sign(household(), HQ_KEY), sign(household(household_id="HH-2"), new_key)
    assert verify(old, keys, now=NOW).household_id == "HH-0001"
    assert verify(new, keys, now=NOW).household_id == "HH-2"
    retired = {k: v for k, v in keys.items() if k != key_id(HQ_KEY.public_key())}
    with pytest.raises(QRRejected):
        verify(old, retired, now=NOW)


def _full_width(text: str) -> str:
    """What an IME in full-width mode types for each ASCII character (space → 　)."""
    return "".join("\u3000" if c == " " else chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def test_a_real_qr_typed_in_lowercase_or_full_width_is_still_the_citys():
    """A keyboard-wedge scanner types the QR: with CapsLock on it comes in lowercase, with the IME on in
    full-width characters.  Both are the same code; one character changed is still refused."""
    text = sign(household(), HQ_KEY)
    for typed in (text.lower(), _full_width(text), _full_width(text.lower()), " " + text.lower() + "\r\n"):
        assert typed != text
        assert verify(typed, KEYS, now=NOW) == household(), typed[:20]
    body = text[len(PREFIX):]
    i = len(body) // 2
    changed = PREFIX + body[:i] + ("A" if body[i] != "A" else "B") + body[i + 1:]
    for typed in (changed.lower(), _full_width(changed)):
        with pytest.raises(QRRejected) as exc:
            verify(typed, KEYS, now=NOW)
        assert exc.value.reason in ("forged", "malformed")



def test_the_kiosk_screen_takes_a_scan_typed_in_lowercase_or_full_width(kiosk):   # noqa: F811
    """End to end: what a keyboard-wedge scanner typed reaches the kiosk screen's /screen/qr as it is."""
    text = sign(KIOSK_FAMILY, KIOSK_KEY)
    for typed in (text.lower(), _full_width(text)):
        resp = kiosk.post("/screen/qr?lang=en", json={"qr": typed})
        assert resp.status_code == 200, resp.get_json()
        assert [p["name"] for p in resp.get_json()["persons"]] == ["焼津 太郎", "焼津 花子"]
