"""A full My Number card read through pcscd with the software card, and the kiosk's own share of
the check-in once the data is in hand (validation and the durable commit).

Needs pcscd and Debian's vsmartcard-vpcd (make test installs them); pcscd is started when not running.
Timings are reported as percentiles of one run; the goal is p99 ≤ 50 ms for each part.
"""
from __future__ import annotations

import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from evac.card.applet import CardIdentity, MyNumberApplet
from evac.card.mynumber import read_basic4
from evac.events import parse_person


def _percentiles(samples: list[float]) -> dict:
    ordered = sorted(samples)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return {"p50_ms": round(pick(0.50) * 1000, 2), "p99_ms": round(pick(0.99) * 1000, 2),
            "max_ms": round(ordered[-1] * 1000, 2), "mean_ms": round(statistics.fmean(ordered) * 1000, 2)}


def _ensure_pcscd() -> subprocess.Popen | None:
    from kiosk.card_emulator import ensure_pcscd
    try:
        return ensure_pcscd()
    except RuntimeError as exc:
        raise SystemExit(f"evac: {exc}") from None


def run(reads: int = 200) -> dict:
    from kiosk.card_emulator import VpcdCard
    from kiosk.card_readers import PcscReader
    from kiosk.store import KioskStore

    started = _ensure_pcscd()
    identity = CardIdentity(name="焼津 花子", address="静岡県焼津市本町五丁目九番一号" + "南" * 60, birth="19800217",
                            sex="2", my_number="000000000000", pin="4321")
    card = VpcdCard(MyNumberApplet(identity))
    card.insert()
    threading.Thread(target=card.serve, daemon=True).start()
    time.sleep(1.0)
    read_times, checkin_times = [], []
    try:
        with tempfile.TemporaryDirectory(prefix="evac-bench-card-") as tmp:
            store = KioskStore(Path(tmp) / "kiosk.sqlite3")
            for i in range(reads):
                t0 = time.perf_counter()
                reader = PcscReader("Virtual PCD")
                try:
                    info = read_basic4(reader.transmit, pin="4321")
                finally:
                    reader.close()
                t1 = time.perf_counter()
                person = parse_person({**info.to_json(), "name": f"{info.name}{i}"})
                store.check_in("H001", [person])
                t2 = time.perf_counter()
                read_times.append(t1 - t0)
                checkin_times.append(t2 - t1)
            store.close()
    finally:
        card.remove()
        if started is not None:
            started.terminate()
            started.wait(10)
    return {"reads": reads, "card_read": _percentiles(read_times), "checkin_after_read": _percentiles(checkin_times)}
