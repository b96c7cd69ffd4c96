"""Hybrid logical clock.

A kiosk's wall clock may be minutes or hours off after days without network.
An HLC timestamp never runs backwards on one node, and once a node has heard
from another it orders its own later events after everything it heard, so HQ
can order events from kiosks whose clocks disagree.

A timestamp is one integer: physical milliseconds in the high bits, a logical
counter in the low 16 bits.  Integers sort, store and travel well.
"""
from __future__ import annotations

import time
from typing import Callable

COUNTER_BITS = 16
_COUNTER_MASK = (1 << COUNTER_BITS) - 1
# A remote clock further ahead than this is not believed: one kiosk with a
# fast clock must not drag every other node's clock with it.  HQ's own answers
# are the reference and are taken (`adopt`): HQ keeps to this guard for
# what kiosks send it, so what it sends back is its clock plus at most this
# much (a kiosk leaves aside an answer further ahead than that of both
# clocks, its own and HQ's Date header: kiosk.sync).  Two minutes: more than
# machines kept by NTP or a day offline drift apart, less than it takes to
# walk from one shelter to the next.
MAX_DRIFT_MS = 2 * 60 * 1000
# The last timestamp a record can carry (evac.events: a positive 63-bit whole number, as the databases
# store it).  The clock never gives one past it: a record dated so would be refused everywhere.
MAX_HLC = (1 << 63) - 1


def _past_the_last(ts: int) -> OverflowError:
    return OverflowError(f"hybrid logical clock: {ts} is past 2^63 - 1, the last timestamp a record can carry; "
                         "a timestamp far in the future was taken from elsewhere, and no later record can be dated")


def pack(wall_ms: int, counter: int = 0) -> int:
    return (wall_ms << COUNTER_BITS) | counter


def wall_ms(ts: int) -> int:
    return ts >> COUNTER_BITS


def counter(ts: int) -> int:
    return ts & _COUNTER_MASK


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


class HybridLogicalClock:
    """The clock of one node.  `last` is what the node must persist."""

    def __init__(self, last: int = 0, now_ms: Callable[[], int] = wall_clock_ms):
        self.last = last
        self._now_ms = now_ms

    def tick(self) -> int:
        """Timestamp for a new local event."""
        ts = max(self.last + 1, pack(self._now_ms()))
        if ts > MAX_HLC:   # (refused, not made: nobody would take a record dated so)
            raise _past_the_last(ts)
        self.last = ts
        return self.last

    def receive(self, remote: int) -> int:
        """Take in a timestamp heard from another node; returns the new `last`."""
        if wall_ms(remote) - self._now_ms() > MAX_DRIFT_MS:
            return self.last
        self.last = max(self.last, remote)
        return self.last

    def adopt(self, reference: int) -> int:
        """Take in the reference clock's (HQ's) timestamp, however far ahead of this node's wall clock:
        a kiosk whose clock is days slow must still date its next events after what HQ has seen.  Not one
        past MAX_HLC: every later tick would fail."""
        if reference > MAX_HLC:
            raise _past_the_last(reference)
        self.last = max(self.last, reference)
        return self.last
