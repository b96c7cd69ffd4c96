"""Who the kiosk screen has identified (from a My Number card, a verified QR or a linked IC card), held in
memory only, under a random token, until the person's check-in or departure is saved or the screen
starts over.  The final step is made from what was read here, never from what a browser sends back,
and nothing of it reaches the disk before the person confirms."""
from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass

from evac.events import Person


@dataclass
class Identified:
    source: str                      # card | qr | ic
    persons: list[Person]
    needs: list[tuple[str, ...]]
    household_id: str = ""
    disclosure: str | None = None
    expires: float = 0.0


class Identifications:
    """Identifications by token, each for `ttl` seconds at most."""

    def __init__(self, ttl: float):
        self.ttl, self._lock, self._held = ttl, threading.Lock(), {}

    def put(self, ident: Identified) -> str:
        token = secrets.token_urlsafe(18)
        ident.expires = time.monotonic() + self.ttl
        with self._lock:
            self._held = {t: i for t, i in self._held.items() if i.expires > time.monotonic()}
            self._held[token] = ident
        return token

    def get(self, token) -> Identified | None:
        with self._lock:
            ident = self._held.get(token) if isinstance(token, str) else None
        return ident if ident and ident.expires > time.monotonic() else None

    def __len__(self) -> int:
        with self._lock:
            return sum(1 for i in self._held.values() if i.expires > time.monotonic())

    def drop(self, token: str) -> None:
        with self._lock:
            self._held.pop(token, None)
