"""Safety inquiries under load: many families asking at once, against a real HQ process on loopback.

HQ runs as `evac hq serve` on a fresh SQLite database holding `persons`
evacuees (some with public consent, some under never-disclose protection).
`clients` threads, spread over a few processes so that the load generator's
own GIL does not become the bottleneck, each send `per_client` inquiries over
one keep-alive connection, pausing between them as a person does to read the
answer and type the next name (`think_ms` on average; 0 sends them back to
back, which measures throughput more than latency): about people the city
knows, people it does not, and protected people.  Latencies are measured end to end;
errors are any answer other than 201 and any failure to connect.

Reported: p50/p99/max latency in ms, error count, throughput, and the median
latency of inquiries about unknown vs protected people (never-disclose must
not be told apart by timing).  The goal is p99 ≤ 100 ms with zero errors.
"""
from __future__ import annotations

import http.client
import json
import multiprocessing
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from evac.hlc import pack

FAMILY = "山田 佐藤 鈴木 高橋 田中 伊藤 渡辺 中村 小林 加藤 吉田 山本 松本 井上 木村 林 清水 斎藤 山崎 森".split()
GIVEN = "太郎 花子 一郎 美咲 翔太 陽菜 大輔 さくら 健 由美 蓮 結衣 悠真 葵 湊 凛".split()


def _people(n: int, seed: int = 11) -> list[dict]:
    rng = random.Random(seed)
    people, seen = [], set()
    while len(people) < n:
        name = f"{rng.choice(FAMILY)} {rng.choice(GIVEN)}"
        birth = f"{rng.randint(1930, 2020)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        if (name, birth) in seen:
            continue
        seen.add((name, birth))
        r = rng.random()
        kind = "protected" if r < 0.05 else "public" if r < 0.35 else "none"
        people.append({"name": name, "birth_date": birth, "sex": rng.choice(("female", "male")),
                       "address": f"焼津市本町{rng.randint(1, 6)}-{rng.randint(1, 30)}", "kind": kind})
    return people


def _seed(db_path: Path, people: list[dict]) -> None:
    from hq_dashboard import create_app, prepare_database
    from hq_dashboard.db import db
    from hq_dashboard.enrollment import enroll_kiosk
    from hq_dashboard.merge import apply_batch
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{db_path}"})
    prepare_database(app)
    with app.app_context():
        token = enroll_kiosk(db.session, "H031")
        kiosk_id = token.split(".")[0]
        events = []
        for p in people:
            person = {k: p[k] for k in ("name", "birth_date", "sex", "address")}
            events.append({"type": "checkin", "person": person, "data": {"stay_type": "in_shelter"}})
            if p["kind"] != "none":
                events.append({"type": "consent", "person": person,
                               "data": {"consent": "public" if p["kind"] == "public" else "none",
                                        "never_disclose": p["kind"] == "protected"}})
        for i, e in enumerate(events, start=1):
            e.update(kiosk_id="bench-inquiries", seq=i, hlc=pack(1_764_000_000_000 + i), shelter_id="H031")
        for i in range(0, len(events), 1000):
            with db.engine.begin() as conn:
                apply_batch(conn, kiosk_id, "bench-inquiries", events[i:i + 1000])
        db.engine.dispose()


def _client_process(port: int, threads: int, per_client: int, targets: list[dict], seed: int, think_s: float,
                    ready, go, out) -> None:
    results: list[tuple[str, float, bool]] = []
    lock = threading.Lock()

    def one_client(n: int) -> None:
        rng = random.Random(seed * 1000 + n)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine = []
        for _ in range(per_client):
            # A person reads the answer and types the next name: exponential pauses of mean think_s,
            # which also spreads the clients' first requests.
            if think_s:
                time.sleep(rng.expovariate(1 / think_s))
            target = rng.choice(targets)
            body = json.dumps({"inquirer": {"name": "焼津 照会", "address": "焼津市本町1-1", "contact": "090-0000-0000"},
                               "relationship": rng.choice(("household_family", "relative", "other")),
                               "reason": "家族の安否確認",
                               "sought": {"name": target["name"], "birth_date": target["birth_date"]}},
                              ensure_ascii=False).encode()
            start = time.perf_counter()
            ok = False
            try:
                conn.request("POST", "/api/v1/safety/inquiries", body, {"Content-Type": "application/json"})
                resp = conn.getresponse()
                resp.read()
                ok = resp.status == 201
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            mine.append((target["kind"], time.perf_counter() - start, ok))
        conn.close()
        with lock:
            results.extend(mine)

    workers = [threading.Thread(target=one_client, args=(n,)) for n in range(threads)]
    ready.release()
    go.wait()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    out.send(results)
    out.close()


def _pick(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def _wait(port: int, proc: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("evac: HQ did not start for the benchmark")
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/api/v1/shelters")
            c.getresponse().read()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("evac: HQ did not answer within a minute")


def run(clients: int = 200, per_client: int = 5, persons: int = 5000, think_ms: float = 1000,
        processes: int = 4) -> dict:
    import socket
    people = _people(persons)
    unknown = [{"name": f"{p['name']}子", "birth_date": p["birth_date"], "kind": "unknown"} for p in people[:500]]
    targets = people + unknown
    with tempfile.TemporaryDirectory(prefix="evac-bench-inq-") as tmp:
        db_path = Path(tmp) / "hq.sqlite3"
        _seed(db_path, people)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        env = {**os.environ, "EVAC_VAR_DIR": tmp, "EVAC_SAFETY_RATE_PER_CLIENT": "1000000 per minute",
               "EVAC_SAFETY_RATE_PER_PERSON": "1000000 per minute"}
        server = subprocess.Popen([sys.executable, "-m", "evac.cli", "hq", "serve", "--db", str(db_path),
                                   "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            _wait(port, server)
            ctx = multiprocessing.get_context("spawn")
            per_process = [clients // processes + (1 if i < clients % processes else 0) for i in range(processes)]
            pipes, procs = [], []
            ready, go = ctx.Semaphore(0), ctx.Event()
            for i, n in enumerate(per_process):
                recv, send = ctx.Pipe(duplex=False)
                proc = ctx.Process(target=_client_process,
                                   args=(port, n, per_client, targets, i, think_ms / 1000, ready, go, send))
                proc.start()
                pipes.append(recv)
                procs.append(proc)
            for _ in procs:   # the clock starts when every client is ready
                ready.acquire()
            start = time.perf_counter()
            go.set()
            results = [r for pipe in pipes for r in pipe.recv()]
            elapsed = time.perf_counter() - start
            for proc in procs:
                proc.join(timeout=30)
        finally:
            server.terminate()
            server.wait(timeout=30)
    latencies = sorted(t for _, t, _ in results)
    by_kind = {k: sorted(t for kind, t, _ in results if kind == k) for k in ("unknown", "protected")}
    return {
        "clients": clients, "think_ms": think_ms, "requests": len(results), "errors": sum(1 for *_, ok in results if not ok),
        "seconds": round(elapsed, 2), "requests_per_s": round(len(results) / elapsed, 1),
        "p50_ms": round(_pick(latencies, 0.5) * 1000, 1), "p99_ms": round(_pick(latencies, 0.99) * 1000, 1),
        "max_ms": round(latencies[-1] * 1000, 1) if latencies else 0.0,
        "p50_ms_unknown": round(_pick(by_kind["unknown"], 0.5) * 1000, 1),
        "p50_ms_protected": round(_pick(by_kind["protected"], 0.5) * 1000, 1),
        "goal": "p99 <= 100 ms, 0 errors",
    }
