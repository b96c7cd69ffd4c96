"""Tap detection: a card put on a reader wakes the kiosk screen's PIN pad.

PC/SC readers are watched with pyscard's CardMonitor; the state is simply
"which card-holding readers are there", which the screen polls at
/api/card-status.  Nothing is read from the card here: reading needs the
evacuee's PIN and goes through /api/card-checkin.
"""
from __future__ import annotations

import threading


class PcscTapWatcher:
    """Keeps the set of PC/SC readers that hold a card, from pyscard's card monitor."""

    def __init__(self, reader_name: str | None = None):
        from smartcard.CardMonitoring import CardMonitor, CardObserver

        watcher = self

        class _Observer(CardObserver):
            def update(self, observable, handlers):
                added, removed = handlers
                with watcher._lock:
                    for card in added:
                        if watcher._wanted(card.reader):
                            watcher._present.add(card.reader)
                    for card in removed:
                        watcher._present.discard(card.reader)

        self.reader_name = reader_name
        self._lock = threading.Lock()
        self._present: set[str] = set()
        self._observer = _Observer()
        self._monitor = CardMonitor()
        self._monitor.addObserver(self._observer)

    def _wanted(self, reader: str) -> bool:
        return not self.reader_name or str(reader).startswith(self.reader_name)

    @property
    def card_present(self) -> bool:
        with self._lock:
            return bool(self._present)

    def stop(self) -> None:
        self._monitor.deleteObserver(self._observer)
