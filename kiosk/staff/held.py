"""A 避難者カード sent after the idle log-out is not lost: it is kept until the tablet logs in again,
then the form comes back filled in (nothing is saved until staff press 'Check in').

Kept in the kiosk process's memory only, for an hour at most, and taken once: a half-typed card is
never written to disk, and a restart forgets it.  番号法 §20: a value holding an Individual Number
(typed into a free-text field by mistake) is not kept at all."""
from __future__ import annotations

import secrets
import threading
import time
from typing import Iterable

from evac.individual_number import contains_individual_number

KEEP_SECONDS = 3600
MAX_KEPT = 50   # tablets of one shelter; the oldest goes first


class HeldForms:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._forms: dict[str, tuple[float, list[tuple[str, str]]]] = {}

    def hold(self, pairs: Iterable[tuple[str, str]]) -> str:
        kept = [(k, v) for k, v in pairs if k != "csrf_token" and not contains_individual_number(v)]
        hold_id = secrets.token_urlsafe(16)
        now = time.monotonic()
        with self._lock:
            self._forms = {k: f for k, f in self._forms.items() if now - f[0] < KEEP_SECONDS}
            while len(self._forms) >= MAX_KEPT:
                self._forms.pop(min(self._forms, key=lambda k: self._forms[k][0]))
            self._forms[hold_id] = (now, kept)
        return hold_id

    def take(self, hold_id: str) -> list[tuple[str, str]] | None:
        with self._lock:
            found = self._forms.pop(hold_id, None)
        if found is None or time.monotonic() - found[0] >= KEEP_SECONDS:
            return None
        return found[1]
