"""Failed staff log-ins: guesses at one staff name count together from every address, so spreading them
over many addresses gains nothing.  Once a name is over its limit its password is not even checked,
except from a browser that name has logged in on before (its mark: a random id and the names that logged
in on it, signed, in a cookie) and that has not itself been failing for it: a flood of guesses from
elsewhere cannot lock staff out of their own tablet or desk.

The kiosk's staff tablet and HQ's staff pages both use it; each keeps the mark in its own cookie and
its counters under its own scope.  No Flask here: the caller passes the cookie's text and its limiter.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeSerializer
from limits import parse_many
from limits.strategies import RateLimiter

REMEMBERED_NAMES = 20   # a shared browser remembers this many staff names


@dataclass(frozen=True)
class StaffLockout:
    scope: str   # the counters' prefix: "staff" at a kiosk, "hq-staff" at HQ
    salt: str    # of the mark's signature

    def mark(self, secret: str, cookie: str) -> dict:
        """The browser's mark from its cookie; an unsigned or foreign one counts as none."""
        try:
            mark = URLSafeSerializer(secret, salt=self.salt).loads(cookie or "")
        except BadSignature:
            mark = None
        if isinstance(mark, dict) and isinstance(mark.get("id"), str) and isinstance(mark.get("names"), list):
            return mark
        return {"id": None, "names": []}

    def remembered(self, secret: str, cookie: str, name: str) -> str:
        """The cookie's new text once `name` has logged in on this browser."""
        mark = self.mark(secret, cookie)
        names = [n for n in mark["names"] if n != name][-(REMEMBERED_NAMES - 1):] + [name]
        return URLSafeSerializer(secret, salt=self.salt).dumps({"id": mark["id"] or secrets.token_urlsafe(16),
                                                                "names": names})

    def try_password(self, limiter: RateLimiter, name: str, mark: dict, name_limits: str,
                     browser_limits: str, trusted_place: str | None = None) -> list[str] | None:
        """One password try for `name`, counted before the password is checked, so that guesses sent at
        the same moment cannot slip past the limits: the counters' keys, to `give_back` once the
        password is seen to be right; None if the try is refused (then nothing of it stays counted).
        `trusted_place`: the try comes from one of the operator's own networks (this address in it):
        its failures count for the name at that address alone, apart from guesses from elsewhere."""
        if trusted_place is not None:
            return _take(limiter, name_limits, f"{self.scope}-name-at", name, trusted_place)
        taken = _take(limiter, name_limits, f"{self.scope}-name", name)
        if taken is not None:
            if mark["id"]:   # every failure from a browser counts against it too
                taken += _take(limiter, browser_limits, f"{self.scope}-name-browser", name, mark["id"],
                               always=True)
            return taken
        own = name in mark["names"] and mark["id"]
        if own:   # over the name's limit: only from a browser it logged in on, while that is under its own
            mine = _take(limiter, browser_limits, f"{self.scope}-name-browser", name, mark["id"])
            if mine is not None:
                return _take(limiter, name_limits, f"{self.scope}-name", name, always=True) + mine
        return None


def give_back(limiter: RateLimiter, keys: list[str]) -> None:
    """Tries that were no guess (the right password) are taken off the counters again."""
    for key in keys:
        limiter.storage.decr(key)


def _take(limiter: RateLimiter, limits_text: str, *key: str, always: bool = False) -> list[str] | None:
    """One hit on each of the limits; None (and every hit given back) if any was already used up,
    unless `always`."""
    taken, ok = [], True
    for item in parse_many(limits_text):
        ok = limiter.hit(item, *key) and ok
        taken.append(item.key_for(*key))
    if ok or always:
        return taken
    give_back(limiter, taken)
    return None
