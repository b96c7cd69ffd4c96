"""A 避難者カード on screen when its staff member's session ends (the idle log-out, the log-out
button, or 'Check in' pressed after the server had already logged the tablet out) is not lost: it is
kept for THAT staff member (their login name) and comes back, filled in, when they log in again.
Nothing is saved until they press 'Check in' themselves.

The card holds an evacuee's personal data, so it is given back to nobody else (a colleague logging in
next on the same tablet gets no card and never sees it), only for a bounded time, and taken once.
It is kept in the kiosk process's memory only: a half-typed card is never written to disk, and a
restart of the kiosk forgets it (the pages say so).  番号法 §20: a value holding an Individual Number
(typed into a free-text field by mistake) is not kept at all."""
from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass
from typing import Iterable

from evac.individual_number import contains_individual_number

# How long a card is kept, as a multiple of the idle limit (15 min by default: an hour).  Long enough
# for staff called away from the desk (first aid, the queue at the door) to come back and log in
# again; short enough that a stranger's details do not wait in memory into the next shift.
KEEP_IDLE_LIMITS = 4
MAX_KEPT = 50   # tablets of one shelter; the oldest goes first

# Why the card was kept, which the page says when it comes back.
LEFT = "left"   # left on screen at the idle log-out or the log-out button: it was never sent
SENT = "sent"   # 'Check in' pressed after the log-out: staff think it was saved, and it was NOT

# Fields that are choices with a default (always sent) or the form's own: a card holding only these
# has nothing typed into it and is not worth keeping.
_NOT_TYPED = {"csrf_token", "once", "sex", "stay_type", "home_damage", "consent", "leaving"}


def typed(pairs: Iterable[tuple[str, str]]) -> bool:
    """Something was typed or ticked on the card (not only its defaults)."""
    return any(k not in _NOT_TYPED and not k.endswith("-sex") and v.strip() for k, v in pairs)


@dataclass(frozen=True)
class HeldCard:
    owner: str        # the staff login name that typed it
    why: str          # LEFT or SENT
    pairs: list[tuple[str, str]]
    until: float      # on the clock below


class HeldForms:
    def __init__(self, clock=time.monotonic) -> None:
        self._lock = threading.Lock()
        self._cards: dict[str, HeldCard] = {}
        self.clock = clock

    def hold(self, owner: str, pairs: Iterable[tuple[str, str]], keep_seconds: float, why: str = LEFT) -> str:
        kept = [(k, v) for k, v in pairs
                if k not in ("csrf_token", "leaving") and not contains_individual_number(v)]
        hold_id = secrets.token_urlsafe(16)
        now = self.clock()
        with self._lock:
            self._cards = {k: c for k, c in self._cards.items() if now < c.until}
            while len(self._cards) >= MAX_KEPT:
                self._cards.pop(min(self._cards, key=lambda k: self._cards[k].until))
            self._cards[hold_id] = HeldCard(owner, why, kept, now + keep_seconds)
        return hold_id

    def waiting_for(self, owner: str) -> bool:
        """A card kept for this staff member and not yet expired."""
        now = self.clock()
        with self._lock:
            return any(c.owner == owner and now < c.until for c in self._cards.values())

    def take(self, owner: str) -> HeldCard | None:
        """This staff member's newest kept card, removed; None if there is none (or it expired).
        Another staff member's card is never returned and stays for its owner."""
        now = self.clock()
        with self._lock:
            self._cards = {k: c for k, c in self._cards.items() if now < c.until}
            mine = [k for k, c in self._cards.items() if c.owner == owner]
            if not mine:
                return None
            return self._cards.pop(max(mine, key=lambda k: self._cards[k].until))

    def __len__(self) -> int:
        now = self.clock()
        with self._lock:
            return sum(1 for c in self._cards.values() if now < c.until)
