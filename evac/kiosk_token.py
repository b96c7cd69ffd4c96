"""A kiosk's token: how HQ makes it (hq_dashboard.enrollment) and what a kiosk checks before it sends it
(kiosk.cli), in one place so that the two cannot drift apart.

"K" and 8 hexadecimal digits (the kiosk's id, as HQ's dashboard shows it), a dot, and a secret of
secrets.token_urlsafe(32): 43 of A-Z a-z 0-9 - _ (a longer secret is let through for a later HQ)."""
from __future__ import annotations

import re
import secrets

KIOSK_ID_RE = re.compile(r"K[0-9A-F]{8}\Z")
SECRET_LEN = 43
TOKEN_RE = re.compile(rf"K[0-9A-F]{{8}}\.[A-Za-z0-9_-]{{{SECRET_LEN},}}\Z")


def new_kiosk_id() -> str:
    return "K" + secrets.token_hex(4).upper()


def new_token(kiosk_id: str) -> str:
    return f"{kiosk_id}.{secrets.token_urlsafe(32)}"
