"""Records carried to HQ by hand: a kiosk's sync on a USB stick, for the days the network is down.

After the Nankai Trough earthquake a shelter may have no network for days while families ask HQ
whether someone is safe.  The kiosk writes the events HQ has not acknowledged to a file; someone
carries it to HQ; HQ applies it exactly as it applies a sync over HTTP (the same kiosk token, the
same batches, the same idempotency), so a file applied twice, or records that later arrive over the
network as well, change nothing twice.

The file holds evacuees' personal data and the kiosk's token: it is handled as the paper roster is.
Its events are validated by HQ's merge as any sync is; here only the envelope is checked.
"""
from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import Any

FORMAT = "yaizu-evac-carried-records"
VERSION = 1
MAX_FILE_BYTES = 64 * 2**20   # a week of a large shelter's records is a few MB (20,000 check-ins: 4.5 MB)
MIN_BYTES_PER_CONTAINER = 40
# What every file a kiosk writes starts with: a wrong file (a hazard layer, a photo) is told apart
# before it is parsed, which would take memory many times its size.
_MARK = re.compile(rb'\A(?:\xef\xbb\xbf)?\s*\{\s*"format"\s*:\s*"' + FORMAT.encode() + rb'"')


class CarriedFileError(ValueError):
    """The file is not one a kiosk wrote.  The message is for people."""


@dataclass(frozen=True)
class CarriedRecords:
    device_id: str
    token: str | None
    events: list[dict[str, Any]]
    written_at: str


def carried_file(device_id: str, events: list[dict[str, Any]], token: str | None = None,
                 now: dt.datetime | None = None) -> bytes:
    """The file a kiosk writes: its database's id, its HQ token when it has one, and the events."""
    written_at = (now or dt.datetime.now(dt.timezone.utc)).isoformat(timespec="seconds")
    envelope = {"format": FORMAT, "version": VERSION, "device_id": device_id, "written_at": written_at,
                "token": token or None, "events": events}
    return json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode()


def read_carried_file(data: bytes) -> CarriedRecords:
    """The envelope of a carried file, checked; raises CarriedFileError saying what is wrong."""
    if len(data) > MAX_FILE_BYTES:
        raise CarriedFileError(f"the file is larger than a kiosk's records can be ({len(data)} bytes)")
    if not _MARK.match(data[:200]):
        raise CarriedFileError("the file is not a kiosk's records (it does not start with the format mark "
                               f"'{FORMAT}'; write it with `evac kiosk carry` or the staff tablet)")
    # Parsed, each {} or [] is a Python object of 50-200 bytes: 64 MB of "{}," would take 2 GB of HQ's
    # memory.  A kiosk's records hold one of them per 50 bytes or more (85 on average).
    if data.count(b"{") + data.count(b"[") > len(data) // MIN_BYTES_PER_CONTAINER + 10_000:
        raise CarriedFileError("the file is not a kiosk's records (damaged: its contents are not what a "
                               "kiosk writes)")
    try:
        envelope = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise CarriedFileError("the file is not a kiosk's records (not UTF-8 text)") from None
    except json.JSONDecodeError as exc:
        raise CarriedFileError(f"the file is not a kiosk's records, or it was cut short (not JSON: {exc.msg}, "
                               f"at character {exc.pos})") from None
    except (RecursionError, ValueError):   # nested beyond reason, or a number of thousands of digits
        raise CarriedFileError("the file is not a kiosk's records (damaged: its contents are not what a "
                               "kiosk writes)") from None
    if not isinstance(envelope, dict) or envelope.get("format") != FORMAT:
        raise CarriedFileError("the file is not a kiosk's records (it lacks the format mark "
                               f"'{FORMAT}'; write it with `evac kiosk carry` or the staff tablet)")
    if envelope.get("version") != VERSION:
        raise CarriedFileError(f"the file is of version {envelope.get('version')!r} of the records format; "
                               f"this HQ reads version {VERSION}: update HQ's software")
    device_id, token, events = envelope.get("device_id"), envelope.get("token"), envelope.get("events")
    if not isinstance(device_id, str) or not device_id or len(device_id) > 64:
        raise CarriedFileError("the file does not say which kiosk database wrote it (device_id)")
    if token is not None and (not isinstance(token, str) or not token):
        raise CarriedFileError("the file's kiosk token is not text")
    if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
        raise CarriedFileError("the file's records are not a list of events")
    written_at = envelope.get("written_at")
    return CarriedRecords(device_id, token, events, written_at if isinstance(written_at, str) else "")
