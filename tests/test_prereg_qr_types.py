"""A QR that HQ signed but whose payload has a field of the wrong type (an HQ bug, an older HQ) is refused as
malformed: never a TypeError (a 500 at the kiosk's screen)."""
from __future__ import annotations

import json
import zlib

import base45
import pytest

from evac.prereg_qr import _DOMAIN, PREFIX, QRRejected, key_id, sign, verify
from tests.test_kiosk_screen_api import FAMILY as KIOSK_FAMILY
from tests.test_kiosk_screen_api import KEY as KIOSK_KEY
from tests.test_kiosk_screen_api import kiosk  # noqa: F401  (fixture)
from tests.test_prereg_qr import HQ_KEY, KEYS, NOW, household

GOOD = household().to_payload()
MEMBER = GOOD["m"][0]


def signed(payload) -> str:
    """`payload` signed with HQ's key exactly as evac.prereg_qr.sign signs a household's."""
    kid = bytes.fromhex(key_id(HQ_KEY.public_key()))
    body = zlib.compress(json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode(), 9)
    return PREFIX + base45.b45encode(kid + HQ_KEY.sign(_DOMAIN + kid + body) + body).decode()


def test_the_helper_signs_as_hq_does():
    assert signed(GOOD) == sign(household(), HQ_KEY)
    assert verify(signed(GOOD), KEYS, now=NOW) == household()


BAD = {
    "expiry as text": {**GOOD, "x": "2030"},
    "expiry as a list": {**GOOD, "x": [1]},
    "expiry as true": {**GOOD, "x": True},
    "expiry as a float": {**GOOD, "x": 1.5e9 * 2},
    "issued as text": {**GOOD, "i": "yesterday"},
    "household id as a list": {**GOOD, "h": ["HH-1"]},
    "household id as a number": {**GOOD, "h": 7},
    "address as a number": {**GOOD, "a": 5},
    "consent as null": {**GOOD, "c": None},
    "language as a dict": {**GOOD, "l": {}},
    "contact as a number": {**GOOD, "t": 0},
    "family code as a number": {**GOOD, "f": 1234},
    "members as text": {**GOOD, "m": "abc"},
    "members as a dict": {**GOOD, "m": {"a": 1}},
    "a member as text": {**GOOD, "m": ["PR-1"]},
    "a member too short": {**GOOD, "m": [MEMBER[:5]]},
    "a member's id as a list": {**GOOD, "m": [[["PR-1"], *MEMBER[1:]]]},
    "a member's name as a number": {**GOOD, "m": [[MEMBER[0], 1, *MEMBER[2:]]]},
    "a member's birth date as a number": {**GOOD, "m": [[*MEMBER[:3], 19480303, *MEMBER[4:]]]},
    "a member's needs as text": {**GOOD, "m": [[*MEMBER[:5], "dialysis"]]},
    "a member's needs as a number": {**GOOD, "m": [[*MEMBER[:5], 5]]},
    "a member's needs holding a number": {**GOOD, "m": [[*MEMBER[:5], ["dialysis", 5]]]},
    "the payload a list": [GOOD],
}


@pytest.mark.parametrize("name", BAD)
def test_a_signed_payload_of_the_wrong_types_is_malformed(name):
    with pytest.raises(QRRejected) as refused:
        verify(signed(BAD[name]), KEYS, now=NOW)
    assert refused.value.reason == "malformed"


def test_the_kiosk_screen_says_the_code_is_damaged(kiosk):  # noqa: F811  (the fixture)
    kid = bytes.fromhex(key_id(KIOSK_KEY.public_key()))
    body = zlib.compress(json.dumps({**KIOSK_FAMILY.to_payload(), "x": "2030"}).encode(), 9)
    qr = PREFIX + base45.b45encode(kid + KIOSK_KEY.sign(_DOMAIN + kid + body) + body).decode()
    resp = kiosk.post("/screen/qr?lang=en", json={"qr": qr})
    assert resp.status_code == 422 and resp.get_json()["code"] == "malformed", resp.data[:300]
    assert resp.get_json()["errors"]["qr"] == "This QR code is damaged and cannot be read. Please ask staff."
