"""Who the kiosk screen has identified (from a My Number card, a verified QR or a linked IC card), held in
memory only, under a random token, while the person is at the screen.  The final step is made from what
was read here, never from what a browser sends back, and nothing of it reaches the disk before the
person confirms.

An identification lives while it is used: each use extends it by `ttl` seconds (someone typing in a
household of five on a touch keyboard is not cut off), but never past `cap` seconds after it was made.
Once the check-in or departure is saved, the confirmation stays with it, so a retry after a lost
answer gets the same confirmation and nothing is written twice."""
from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from evac.events import Person


@dataclass
class Identified:
    source: str                      # card | qr | ic
    persons: list[Person]
    needs: list[tuple[str, ...]]
    household_id: str = ""
    disclosure: str | None = None
    family_code: str = ""            # from the pre-registration: never sent to the browser
    # whom the screen cannot act on, for QR and IC identifications: never-disclose (災対法 §86-15), or
    # someone this kiosk knows whom the QR does not prove (KioskStore.qr_proves)
    protected: tuple[bool, ...] = ()
    # of those, whom the QR names otherwise than the roster: "QR name（roster name）", for the staff call only
    # (the family changed its pre-registration at HQ since: KioskStore.prereg_renamed)
    renamed: dict[int, str] = field(default_factory=dict)
    expires: float = 0.0
    cap: float = 0.0
    done: tuple[str, object] | None = None   # (what was saved, its confirmation) once saved
    staff_call: int | None = None   # the call the screen raised when it sent them to staff (screen._to_staff)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)


class Identifications:
    """Identifications by token: each lives `ttl` seconds past its last use, `cap` seconds at most."""

    def __init__(self, ttl: float, cap: float = 30 * 60, clock: Callable[[], float] = time.monotonic):
        self.ttl, self.cap, self.clock = ttl, max(cap, ttl), clock
        self._lock, self._held = threading.Lock(), {}

    def put(self, ident: Identified) -> str:
        token = secrets.token_urlsafe(18)
        now = self.clock()
        ident.cap = now + self.cap
        ident.expires = min(now + self.ttl, ident.cap)
        with self._lock:
            self._held = {t: i for t, i in self._held.items() if i.expires > now}
            self._held[token] = ident
        return token

    def get(self, token) -> Identified | None:
        """The identification, now extended for another `ttl` seconds (up to its cap), or None."""
        now = self.clock()
        with self._lock:
            ident = self._held.get(token) if isinstance(token, str) else None
            if ident is None or ident.expires <= now:
                return None
            ident.expires = min(now + self.ttl, ident.cap)
        return ident

    def __len__(self) -> int:
        now = self.clock()
        with self._lock:
            return sum(1 for i in self._held.values() if i.expires > now)

    def drop(self, token: str) -> None:
        with self._lock:
            self._held.pop(token, None)
