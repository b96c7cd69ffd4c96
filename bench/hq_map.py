"""HQ's map page and its live occupancy, timed on the server side (Flask test client, no network).

* map: GET /map with all 212 sites and every city layer (goal ≤ 1 s, ≤ 3 MB).
* occupancy: GET /api/v1/shelters, which the map polls, with 135,000 persons (Yaizu's population)
  checked in across the shelters, some with needs (goal p99 ≤ 50 ms).

Figures are of one run on this machine; nothing here is a pass/fail threshold.
"""
from __future__ import annotations

import random
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import select, update

from evac.events import NEEDS_CODES, STAY_TYPES


def _percentiles(samples: list[float]) -> dict:
    ms = sorted(s * 1000 for s in samples)
    pick = lambda q: round(ms[min(len(ms) - 1, int(q * len(ms)))], 2)  # noqa: E731
    return {"n": len(ms), "p50_ms": pick(0.50), "p95_ms": pick(0.95), "p99_ms": pick(0.99),
            "max_ms": round(ms[-1], 2), "mean_ms": round(statistics.fmean(ms), 2)}


def _app(db_url: str | None, folder: Path, warm: bool = True):
    """HQ as `evac hq serve` runs it: migrated, seeded and (unless warm=False) warmed up."""
    from hq_dashboard import create_app, prepare_database
    from hq_dashboard.map_page import warm_up
    app = create_app({"SQLALCHEMY_DATABASE_URI": db_url or f"sqlite:///{folder / 'hq.sqlite3'}",
                      "SECRET_KEY": "bench"})
    prepare_database(app)
    if warm:
        warm_up(app)
    return app


def run_map(requests: int = 20, db_url: str | None = None) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        app = _app(db_url, Path(tmp), warm=False)
        client = app.test_client()
        t = time.perf_counter()
        first = client.get("/map")
        cold = time.perf_counter() - t   # includes reading and reprojecting the city's layers, which
        # `evac hq serve` does before it listens (warm_up); the warm figures are what visitors see
        assert first.status_code == 200, first.status_code
        times = []
        for _ in range(requests):
            t = time.perf_counter()
            r = client.get("/map")
            times.append(time.perf_counter() - t)
        return {"sites": 212, "bytes": len(r.data), "megabytes": round(len(r.data) / 1e6, 3),
                "first_request_unwarmed_ms": round(cold * 1000, 1), "warm": _percentiles(times),
                "goal": "≤ 1 s, ≤ 3 MB"}


def _fill(app, persons: int, seed: int = 5) -> None:
    """persons checked in over the 56 shelters (stay types and needs mixed), counters to match."""
    from hq_dashboard.db import db
    from hq_dashboard.merge import insert_many
    from hq_dashboard.models import Shelter
    rng = random.Random(seed)
    with app.app_context():
        shelters = [s.id for s in db.session.execute(select(Shelter).where(Shelter.kind == "shelter")).scalars()]
        counts: dict[str, dict[str, int]] = {s: dict.fromkeys(STAY_TYPES, 0) for s in shelters}
        rows = []
        for pid in range(1, persons + 1):
            shelter, stay = rng.choice(shelters), rng.choices(STAY_TYPES, (8, 1, 1))[0]
            counts[shelter][stay] += 1
            needs = " ".join(sorted(rng.sample(NEEDS_CODES, rng.randint(1, 2)))) if rng.random() < 0.15 else ""
            rows.append((pid, f"避難 {pid}", "", "1970-01-01", "female", "焼津市本町1-1", "", "", "checked_in",
                         shelter, stay, "", needs, "", "", "", ""))
        columns = ("id", "name", "name_kana", "birth_date", "sex", "address", "household_id", "info_order", "state",
                   "shelter_id", "stay_type", "loc_order", "needs", "needs_order", "status", "status_note",
                   "status_order")
        with db.engine.begin() as conn:
            for i in range(0, len(rows), 10_000):
                insert_many(conn, "persons", columns, rows[i:i + 10_000])
            for sid, c in counts.items():
                conn.execute(update(Shelter).where(Shelter.id == sid).values(
                    occupancy=c["in_shelter"], at_home=c["at_home"], in_car=c["in_car"], opened=True))
        if db.engine.dialect.name == "postgresql":
            # Statistics and the visibility map, as autovacuum would have made them on a live HQ after such a load.
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM ANALYZE persons")


def run_occupancy(persons: int = 135_000, requests: int = 200, db_url: str | None = None) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        app = _app(db_url, Path(tmp))
        t = time.perf_counter()
        _fill(app, persons)
        fill_s = time.perf_counter() - t
        import gc
        gc.collect()
        client = app.test_client()
        with app.app_context():   # the disaster in progress, so suitability and overflow are computed too
            from hq_dashboard.situation import set_disaster
            set_disaster("tsunami")
        client.get("/api/v1/shelters")
        times = []
        for _ in range(requests):
            t = time.perf_counter()
            r = client.get("/api/v1/shelters")
            times.append(time.perf_counter() - t)
        body = r.get_json()
        total = sum(f["properties"]["occupancy"] + f["properties"]["at_home"] + f["properties"]["in_car"]
                    for f in body["features"])
        assert total == persons, (total, persons)
        return {"persons": persons, "sites": len(body["features"]), "bytes": len(r.data),
                "fill_s": round(fill_s, 1), "api_v1_shelters": _percentiles(times), "goal": "p99 ≤ 50 ms"}
