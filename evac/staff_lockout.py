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

    def refused(self, limiter: RateLimiter, name: str, mark: dict, name_limits: str, browser_limits: str) -> bool:
        """Whether this log-in is refused before its password is checked."""
        if _under(limiter, name_limits, f"{self.scope}-name", name):
            return False
        own = name in mark["names"] and mark["id"]
        return not (own and _under(limiter, browser_limits, f"{self.scope}-name-browser", name, mark["id"]))

    def count_failure(self, limiter: RateLimiter, name: str, mark: dict, name_limits: str,
                      browser_limits: str) -> None:
        for item in parse_many(name_limits):
            limiter.hit(item, f"{self.scope}-name", name)
        if mark["id"]:
            for item in parse_many(browser_limits):
                limiter.hit(item, f"{self.scope}-name-browser", name, mark["id"])


def _under(limiter: RateLimiter, limits_text: str, *key: str) -> bool:
    return all(limiter.test(item, *key) for item in parse_many(limits_text))
