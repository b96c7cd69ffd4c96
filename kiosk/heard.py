"""What this kiosk process last heard from HQ, kept in memory for each database file.

An idle kiosk syncs every 2 s and hears the same each time: HQ holds everything, HQ's clock moved on
2 s.  Written to the file every round, that was 3 commits and 12 fsyncs a round (measured: some
520,000 a day) on a small machine's SD card, for nothing.  What every round changes is kept here
instead, where every KioskStore of the process on that file reads it (the sync thread's and each
request's); the file is written when it matters (kiosk.store says when).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

_lock = threading.Lock()


@dataclass
class Heard:
    hlc: int = 0                   # HQ's latest timestamp: this process dates its next record after it
    sync_at: str | None = None     # when HQ last answered a sync round (ISO, UTC)
    config_at: str | None = None   # when HQ's configuration was last fetched (ISO, UTC)
    # HQ's acknowledgement the file would not take (a full disk): (device id, the file's acked_seq then,
    # HQ's).  The next batch is read from it, so a kiosk whose disk stays full does not send the same
    # first batch again every round.  Worth nothing once the file says otherwise (another process wrote
    # it, a new device id) or after a restart: then the file is the truth, and HQ dedupes what is resent.
    unwritten_ack: tuple[str, int, int] | None = None

    def take_hlc(self, remote: int) -> None:
        with _lock:
            self.hlc = max(self.hlc, remote)


_files: dict[Path, Heard] = {}


def heard(path: Path) -> Heard:
    """The record for the database file at `path` (resolved, so every connection to it finds the same)."""
    with _lock:
        return _files.setdefault(path.resolve(), Heard())
