"""Transport IC cards (Suica, PASMO, TOICA, …) as check-in tokens, as Noto did in 2024.

Only a keyed hash of the card's IDm is kept: the IDm itself is a stable
identifier that could track a person through every ticket gate.  The key
comes from HQ with the sync, so a card linked at one shelter is known at all.
"""
from __future__ import annotations

import hashlib
import hmac


def ic_token(idm: bytes, secret: bytes) -> str:
    if len(idm) != 8:
        raise ValueError("a FeliCa IDm is 8 bytes")
    if len(secret) < 16:
        raise ValueError("the IC token key is missing; sync with HQ first")
    return "ic:" + hmac.new(secret, idm, hashlib.sha256).hexdigest()[:32]
