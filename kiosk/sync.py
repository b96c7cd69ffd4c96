"""Sending the kiosk's outbox to HQ and taking down what the kiosk needs offline.

Events always go in sequence order from the first one HQ has not
acknowledged; HQ's answer names the highest sequence it holds, and only that
moves the kiosk's acknowledgement.  A lost answer just means the same events
are sent again, which HQ recognises as duplicates.
"""
from __future__ import annotations

import datetime as dt
import email.utils
import json
import random
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass

from .store import KioskStore

BATCH_SIZE = 500


class SyncError(Exception):
    """A sync round did not finish; the events stay queued.  The message is for staff."""


@dataclass
class SyncReport:
    sent: int
    acked_seq: int
    pending: int


class HQClient:
    def __init__(self, hq_url: str, token: str, timeout: float = 15.0):
        self.base = hq_url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.hq_time: dt.datetime | None = None   # HQ's clock, from its last answer's Date header

    def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method, headers={
            "Authorization": f"Bearer {self.token}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                self._note_hq_time(resp.headers.get("Date"))
                return resp.status, json.loads(resp.read() or b"{}")
        except urllib.error.HTTPError as exc:
            try:
                payload = json.loads(exc.read() or b"{}")
            except ValueError:
                payload = {"error": "http_error", "message": f"HQ answered HTTP {exc.code}"}
            return exc.code, payload
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise SyncError(f"HQ at {self.base} is unreachable ({reason})") from None

    def _note_hq_time(self, header: str | None) -> None:
        try:
            self.hq_time = email.utils.parsedate_to_datetime(header) if header else None
        except (TypeError, ValueError):
            self.hq_time = None


CONFIG_EVERY_S = 600


def sync_once(store: KioskStore, client: HQClient, batch_size: int = BATCH_SIZE) -> SyncReport:
    """One round: send everything pending (at least an empty batch, which tells this kiosk what HQ
    holds), then refresh the shelter list when it is due.  Raises SyncError."""
    sent = 0
    rewound = False
    config_changed = False
    try:
        while True:
            events = store.outbox(batch_size)
            status, answer = client.request("POST", "/api/v1/sync",
                                            {"device_id": store.device_id, "events": events})
            if status == 409 and answer.get("error") == "sequence_gap" and "acked_seq" in answer and not rewound:
                # HQ holds less than we thought (restored from a backup): send again from where it is.
                store.set_acked(answer["acked_seq"])
                rewound = True
                continue
            if status != 200:
                raise SyncError(f"HQ refused the batch: {answer.get('message', answer)}")
            if answer["acked_seq"] < store.acked_seq and not rewound:
                store.set_acked(answer["acked_seq"])
                rewound = True
                continue
            store.set_acked(answer["acked_seq"])
            store.receive_hlc(answer["hlc"])
            sent += answer.get("applied", 0)
            config_changed = answer.get("config_version") not in (None, store.config_version())
            if not events or len(events) < batch_size and store.pending() == 0:
                break
        if config_changed or store.config_due(CONFIG_EVERY_S):
            status, config = client.request("GET", "/api/v1/kiosk/config")
            if status != 200:
                raise SyncError(f"HQ refused the configuration request: {config.get('message', config)}")
            store.apply_config(config)
            store.receive_hlc(config["hlc"])
    except SyncError as exc:
        pending = store.pending()
        raise SyncError(f"{exc}; {pending} event(s) stay queued on this kiosk") from None
    if client.hq_time is not None:
        store.note_clock_offset(client.hq_time)
    return SyncReport(sent, store.acked_seq, store.pending())


class BackgroundSync(threading.Thread):
    """Syncs every few seconds while HQ answers, backing off (with jitter) while it does not."""

    def __init__(self, db_path: str, client: HQClient, interval: float = 2.0, max_backoff: float = 60.0):
        super().__init__(daemon=True, name="kiosk-sync")
        self.db_path, self.client = db_path, client
        self.interval, self.max_backoff = interval, max_backoff
        self.stopping = threading.Event()
        self.last_error: str | None = None
        self.wake = threading.Event()

    def run(self) -> None:
        store = KioskStore(self.db_path)  # its own connection: sqlite objects stay in their thread
        delay = self.interval
        while not self.stopping.is_set():
            try:
                sync_once(store, self.client)
                self.last_error = None
                delay = self.interval
            except SyncError as exc:
                self.last_error = str(exc)
                delay = min(self.max_backoff, delay * 2) * random.uniform(0.8, 1.2)
            except Exception as exc:  # keep syncing whatever one round hit
                self.last_error = f"sync failed: {exc!r}"
                delay = min(self.max_backoff, delay * 2)
            self.wake.wait(delay)
            self.wake.clear()
        store.close()

    def stop(self) -> None:
        self.stopping.set()
        self.wake.set()
