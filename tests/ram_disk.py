"""Where the tests write: a RAM disk (/dev/shm) when the machine has one with room, else the system's temp.

The kiosk commits every check-in with fsync (SQLite's synchronous=FULL) and HQ and PostgreSQL write on
every batch; on a disk each of the suite's thousands of fsyncs waits for it (a tenth of the suite's
time).  The code paths are the same on a RAM disk: SQLite files, WAL and fsync calls are real; only a
power cut, which no test can make, would tell them apart."""
from __future__ import annotations

import os
import tempfile

RAM_DISK = "/dev/shm"
# A run of the suite writes a few hundred MB there at most (its PostgreSQL's WAL included).
ROOM_NEEDED = 4 << 30


def ram_disk() -> str | None:
    """/dev/shm if it is writable and has ROOM_NEEDED free; EVAC_TEST_ON_DISK=1 keeps the tests on disk."""
    if os.environ.get("EVAC_TEST_ON_DISK") == "1":
        return None
    try:
        room = os.statvfs(RAM_DISK)
    except OSError:
        return None
    if room.f_bavail * room.f_frsize < ROOM_NEEDED or not os.access(RAM_DISK, os.W_OK | os.X_OK):
        return None
    return RAM_DISK


def scratch_root() -> str:
    return ram_disk() or tempfile.gettempdir()
