"""A kiosk killed with SIGKILL at random moments loses no check-in it confirmed,
and HQ ends up with each exactly once."""
from __future__ import annotations

import json
import random
import signal
import sqlite3
import threading
import time
import urllib.error
import urllib.request

from kiosk.store import KioskStore
from tests.conftest import Server, evac_cmd, free_port, run_evac


def burst(url: str, start: int, confirmed: list[str], stop: threading.Event) -> None:
    i = start
    while not stop.is_set():
        name = f"停電 {i:05d}"
        body = json.dumps({"persons": [{"name": name, "birth_date": "1960-01-01", "sex": "other",
                                        "address": f"焼津市焼津{i}"}]}).encode()
        req = urllib.request.Request(f"{url}/api/checkin", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=5) as resp:
                if resp.status == 201:
                    confirmed.append(name)  # the evacuee saw "checked in"
        except (urllib.error.URLError, OSError):
            return  # the kiosk died under us: this one was never confirmed
        i += 1


def test_sigkill_during_a_burst_loses_no_confirmed_checkin(hq_server, tmp_path):
    rng = random.Random(2026)
    hq = hq_server()
    token = run_evac("hq", "enroll-kiosk", "--db", hq.db_url, "--shelter", "H001").stdout.strip()
    db = tmp_path / "kiosk.sqlite3"
    confirmed: list[str] = []
    for round_ in range(6):
        port = free_port()
        # The kiosk also syncs in the background, so kills land mid-sync too.
        kiosk = Server(evac_cmd("kiosk", "serve", "--db", str(db), "--shelter", "H001", "--hq", hq.url,
                                "--token", token, "--port", str(port)),
                       f"http://127.0.0.1:{port}", tmp_path / f"kiosk-{round_}.log", "/api/status")
        stop = threading.Event()
        workers = [threading.Thread(target=burst, args=(kiosk.url, round_ * 100_000 + w * 10_000, confirmed, stop))
                   for w in range(3)]
        for w in workers:
            w.start()
        time.sleep(rng.uniform(0.3, 1.5))
        kiosk.proc.send_signal(signal.SIGKILL)  # the power cut
        kiosk.proc.wait()
        stop.set()
        for w in workers:
            w.join()
        kiosk.stop()

    assert len(confirmed) > 50, "the burst should have confirmed a good number of check-ins"
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    store = KioskStore(db)
    stored = [e.person.name for e in store.checked_in("H001")]
    assert set(confirmed) <= set(stored), "a confirmed check-in was lost"
    seqs = [r[0] for r in store.db.execute("SELECT seq FROM events ORDER BY seq")]
    assert seqs == list(range(1, len(seqs) + 1)), "the kiosk's sequence has a gap"

    result = run_evac("kiosk", "sync", "--db", str(db), "--hq", hq.url, "--token", token)
    assert result.returncode == 0, result.stderr
    with urllib.request.urlopen(f"{hq.url}/api/v1/shelters") as resp:
        features = json.loads(resp.read())["features"]
    h001 = next(f["properties"] for f in features if f["properties"]["id"] == "H001")
    assert h001["occupancy"] == len(stored) == len(set(stored))
    from sqlalchemy import create_engine, text
    engine = create_engine(hq.db_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*), count(DISTINCT seq) FROM events")).one() == (len(seqs), len(seqs))
        assert conn.execute(text("SELECT count(*) FROM persons")).scalar() == len(stored)
    engine.dispose()
