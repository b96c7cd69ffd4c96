"""Staff passwords, kept only as slow salted hashes (werkzeug's scrypt, its default cost): a copied
kiosk or HQ database must not give them away.  Both apps hash through here, so they agree on the cost.

EVAC_TEST_CHEAP_PASSWORD_HASH=1 is for the project's tests only: the same scrypt at 1/32 of the cost,
since the suite hashes thousands of test passwords (0.1 s of CPU each on its 2-core machine).  A hash
records its own cost, so a password stored either way is checked either way."""
from __future__ import annotations

import functools
import os
import secrets

from werkzeug.security import check_password_hash, generate_password_hash

_CHEAP_FOR_TESTS = "scrypt:1024:8:1"


def _method() -> str:
    return _CHEAP_FOR_TESTS if os.environ.get("EVAC_TEST_CHEAP_PASSWORD_HASH") == "1" else "scrypt"


def cheap_hashing_warning() -> str | None:
    """What a serving HQ or kiosk says at its start when the tests' cheap hashing is on (never for real)."""
    if _method() == _CHEAP_FOR_TESTS:
        return ("evac: EVAC_TEST_CHEAP_PASSWORD_HASH=1 is set: staff passwords set now are hashed at the "
                "tests' low cost. It is for the project's tests only: unset it and set those passwords again")
    return None


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=_method())


def password_matches(stored_hash: str | None, password: str) -> bool:
    """Whether `password` is the one `stored_hash` was made from.  No account (None) costs the same
    check as a known one: the answer's time must not tell a stranger which staff names exist."""
    return check_password_hash(stored_hash or _dummy_hash(_method()), password) and stored_hash is not None


@functools.cache
def _dummy_hash(method: str) -> str:
    return generate_password_hash(secrets.token_hex(16), method=method)
