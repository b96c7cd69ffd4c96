"""Tap detection: a card put on a reader wakes the kiosk screen's PIN pad.

PC/SC readers are watched by one thread of our own that asks pcscd for the readers' states
(SCardGetStatusChange); the state is simply "which card-holding readers are there", which the
screen polls at /api/card-status.  pcscd may be absent when the kiosk starts, or restart under it
(an update, a reader plugged in on some systems): the thread then says it does not know, and keeps
trying again, more slowly, until pcscd answers.  Nothing is read from the card here: reading needs
the evacuee's PIN and goes through the screen's /screen/card.
"""
from __future__ import annotations

import logging
import threading

log = logging.getLogger(__name__)

# How long one wait for a change lasts (ms): a new reader, or pcscd gone, is noticed within it.
WAIT_MS = 1000
# Seconds between tries to reach pcscd when it is not there: doubled each time, up to the last.
RETRY = (0.5, 1.0, 2.0, 5.0)


class _ServiceLost(Exception):
    """pcscd stopped answering (not running, restarted, or our context is no longer valid)."""


class PcscTapWatcher:
    """Keeps the set of PC/SC readers that hold a card, as pcscd reports them."""

    def __init__(self, reader_name: str | None = None):
        from smartcard import scard   # ImportError here: the kiosk runs without the watcher
        self._scard = scard
        self.reader_name = reader_name
        self._lock = threading.Lock()
        self._present: set[str] = set()
        self._readers: set[str] = set()
        self._events = 0
        self._known = False            # whether pcscd answered the last time we asked
        self._answered = False         # whether the current watch got an answer at all
        self._said_lost = False        # whether the console was told pcscd does not answer
        self._context = None
        # Each watch of pcscd that got an answer is a session: pcsc-lite counts card events from 0 again
        # when it restarts, so a count means a placing only within one session.  The cards lying on a
        # reader when a later session began were there before (left by someone, most likely).
        self._session = 0
        self._carried_over: set[tuple[str, int]] = set()
        self._stopping = threading.Event()
        self._first_look = threading.Event()
        self._thread = threading.Thread(target=self._run, name="card-tap-watcher", daemon=True)
        self._thread.start()
        # the kiosk starts serving knowing the reader (pcscd answers in milliseconds, or not at all)
        self._first_look.wait(3)

    def _wanted(self, reader: str) -> bool:
        return not self.reader_name or str(reader).startswith(self.reader_name)

    @property
    def known(self) -> bool:
        """Whether the watcher knows the readers' state now (pcscd answers, and a wanted reader is there)."""
        with self._lock:
            return self._known and bool(self._readers)

    @property
    def placings(self) -> int:
        """pcsc-lite's count of card events on the readers watched: it moves whenever a card is taken off
        or put on, even between two looks of the screen (a card swapped in a moment)."""
        with self._lock:
            return self._events if self._known else 0

    @property
    def card_present(self) -> bool:
        with self._lock:
            return self._known and bool(self._present)

    @property
    def session(self) -> int:
        with self._lock:
            return self._session

    def carried_over(self, insertion: tuple[str, int]) -> bool:
        """Whether this placing (reader, count) was already on its reader when the present session began
        after another (pcscd restarted, or the watch did): a card no one can be shown to have put on since."""
        with self._lock:
            return insertion in self._carried_over

    def stop(self) -> None:
        self._stopping.set()
        context = self._context
        if context is not None:
            self._scard.SCardCancel(context)   # wakes the wait at once
        self._thread.join(5)

    # -- the thread ----------------------------------------------------------------------------

    def _run(self) -> None:
        attempt = 0
        while not self._stopping.is_set():
            self._answered = False
            try:
                self._watch()
            except _ServiceLost as exc:
                if self._answered:   # it had worked: a new outage, retried quickly at first
                    attempt = 0
                if not self._said_lost:   # once an outage, in a line, not a traceback a minute
                    log.warning("card reader service not answering (%s); trying again until it does", exc)
                    self._said_lost = True
            except Exception as exc:  # noqa: BLE001 - the watcher must outlive any one failure
                log.warning("card reader watch failed (%s: %s); starting it again", type(exc).__name__, exc)
            with self._lock:
                self._known = False
                self._present.clear()
                self._readers.clear()
            self._first_look.set()
            if self._stopping.wait(RETRY[min(attempt, len(RETRY) - 1)]):
                break
            attempt += 1

    def _heard(self) -> None:
        if self._said_lost:
            log.warning("card reader service answering again")
            self._said_lost = False
        self._answered = True

    def _watch(self) -> None:
        s = self._scard
        hresult, context = s.SCardEstablishContext(s.SCARD_SCOPE_USER)
        if hresult != s.SCARD_S_SUCCESS:
            raise _ServiceLost(s.SCardGetErrorMessage(hresult))
        self._context = context
        try:
            states: dict[str, int] = {}
            began = False
            while not self._stopping.is_set():
                hresult, readers = s.SCardListReaders(context, [])
                if hresult in (s.SCARD_E_NO_READERS_AVAILABLE, s.SCARD_E_READER_UNAVAILABLE):
                    readers = []
                elif hresult != s.SCARD_S_SUCCESS:
                    raise _ServiceLost(s.SCardGetErrorMessage(hresult))
                readers = [r for r in readers if self._wanted(r)]
                if not readers:
                    self._heard()
                    with self._lock:
                        self._known, self._readers, self._present = True, set(), set()
                    self._first_look.set()
                    if self._stopping.wait(WAIT_MS / 1000):
                        return
                    continue
                # the last state as pcscd gave it, its count of card events included: a card taken away
                # and another put on between two waits is a change too
                query = [(r, states.get(r, s.SCARD_STATE_UNAWARE)) for r in readers]
                hresult, result = s.SCardGetStatusChange(context, WAIT_MS, query)
                if hresult in (s.SCARD_E_TIMEOUT, s.SCARD_E_UNKNOWN_READER, s.SCARD_E_CANCELLED):
                    continue   # nothing changed, a reader went (listed again next turn), or stop()
                if hresult != s.SCARD_S_SUCCESS:
                    raise _ServiceLost(s.SCardGetErrorMessage(hresult))
                states = {reader: state & ~s.SCARD_STATE_CHANGED for reader, state, _atr in result}
                self._heard()
                with self._lock:
                    self._known = True
                    self._readers = set(states)
                    self._present = {r for r, state in states.items() if state & s.SCARD_STATE_PRESENT}
                    self._events = sum(state >> 16 for state in states.values())
                    if not began:
                        began = True
                        self._session += 1
                        self._carried_over = ({(r, states[r] >> 16) for r in self._present} if self._session > 1
                                              else set())
                self._first_look.set()
        finally:
            self._context = None
            s.SCardReleaseContext(context)
