"""HQ's merge of N synthetic kiosk events against a raw bulk insert of the same rows.

Both sides run in the same process, in the same kind of database, with the
same batching (one transaction per kiosk batch), one after the other; the
ratio between them is what we watch, because these machines are noisy.

The raw side inserts the very rows the merge writes to its event log, already
built.  The merge side starts from the parsed JSON of the kiosk's batches and
does everything HQ does: validation, identity keys, person resolution,
whereabouts, occupancy counters, acknowledgement.
"""
from __future__ import annotations

import random
import tempfile
import time
from pathlib import Path

from sqlalchemy import BigInteger, Column, Integer, MetaData, String, Table, Text, create_engine, inspect

from evac.events import canonical_json, parse_event
from evac.hlc import pack
from hq_dashboard.db import db
from hq_dashboard.merge import apply_batch
from hq_dashboard.models import Kiosk, Shelter

SHELTERS = [f"H{i:03d}" for i in range(1, 21)]
KIOSKS = 4
FAMILY = "山田 佐藤 鈴木 高橋 田中 伊藤 渡辺 中村 小林 加藤 吉田 山本 松本 井上 木村 林 清水 斎藤 山崎 森".split()
GIVEN = "太郎 花子 一郎 美咲 翔太 陽菜 大輔 さくら 健 由美 蓮 結衣 悠真 葵 湊 凛".split()


def synthetic_batches(n: int, batch_size: int, seed: int = 7) -> list[tuple[int, list[dict]]]:
    """Kiosk batches (kiosk index, wire events) holding n events in all.

    Each person checks in; some then get needs, change stay type, transfer or
    leave, roughly as a shelter's first days look.
    """
    rng = random.Random(seed)
    streams: list[list[dict]] = [[] for _ in range(KIOSKS)]
    wall = 1_764_000_000_000
    total = 0
    pid = 0
    while total < n:
        pid += 1
        k = rng.randrange(KIOSKS)
        shelter = SHELTERS[k * 5 + rng.randrange(5)]
        person = {"name": f"{rng.choice(FAMILY)} {rng.choice(GIVEN)}{pid}", "sex": rng.choice(("female", "male")),
                  "birth_date": f"{rng.randint(1930, 2024)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                  "address": f"焼津市本町{rng.randint(1, 6)}-{rng.randint(1, 20)}-{pid}"}
        plan = [("checkin", {"stay_type": "in_shelter"})]
        r = rng.random()
        if r < 0.25:
            plan.append(("needs", {"needs": rng.sample(["elderly", "infant", "dialysis", "pets", "allergy"], 2)}))
        if r < 0.15:
            plan.append(("checkout", {}))
        elif r < 0.25:
            plan.append(("transfer", {"to_shelter_id": rng.choice(SHELTERS)}))
        for etype, data in plan[: n - total]:
            wall += rng.randint(0, 50)
            streams[k].append({"kiosk_id": f"bench-kiosk-{k}", "seq": len(streams[k]) + 1,
                               "hlc": pack(wall), "type": etype, "shelter_id": shelter,
                               "person": person, "data": data})
            total += 1
    batches = []
    for k, stream in enumerate(streams):
        for i in range(0, len(stream), batch_size):
            batches.append((k, stream[i:i + batch_size]))
    # Kiosks' batches interleave at HQ; each kiosk's own stay in order.
    rng.shuffle(batches)
    batches.sort(key=lambda b: b[1][0]["seq"])
    return batches


def _fresh_engine(url: str | None, name: str, tmp: Path):
    engine = create_engine(url or f"sqlite:///{tmp / name}.sqlite3")
    if inspect(engine).get_table_names():
        raise SystemExit(f"evac: the benchmark needs an empty database, {engine.url} has tables")
    return engine


def _raw_rows(batches) -> list[list[dict]]:
    out = []
    for _, events in batches:
        out.append([{"device_id": e["kiosk_id"], "seq": e["seq"], "hlc": e["hlc"], "type": e["type"],
                     "shelter_id": e["shelter_id"], "person_id": None,
                     "body": canonical_json(parse_event(e).to_wire())} for e in events])
    return out


def run_raw(engine, batches) -> float:
    meta = MetaData()
    raw = Table("raw_events", meta,
                Column("device_id", String(64), primary_key=True), Column("seq", BigInteger, primary_key=True),
                Column("hlc", BigInteger), Column("type", String(32)), Column("shelter_id", String(16)),
                Column("person_id", Integer, index=True), Column("body", Text))
    meta.create_all(engine)
    rows = _raw_rows(batches)
    start = time.perf_counter()
    for batch in rows:
        with engine.begin() as conn:
            conn.execute(raw.insert(), batch)
    elapsed = time.perf_counter() - start
    meta.drop_all(engine)
    return elapsed


def run_merge(engine, batches) -> float:
    import datetime as dt
    db.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(Shelter.__table__.insert(), [
            {"id": s, "name": s, "name_kana": "", "kind": "shelter", "address": "", "lat": 34.86, "lon": 138.32,
             "area_m2": 1000.0, "capacity": 285, "hazards": "", "phone": "", "source": "", "opened": False,
             "opened_order": "", "occupancy": 0, "at_home": 0, "in_car": 0} for s in SHELTERS])
        conn.execute(Kiosk.__table__.insert(), [
            {"id": f"K{k}", "shelter_id": SHELTERS[k * 5], "token_hash": f"bench{k}", "device_id": f"bench-kiosk-{k}",
             "high_seq": 0, "last_event_hlc": 0, "enrolled_at": dt.datetime.now(dt.timezone.utc)}
            for k in range(KIOSKS)])
    start = time.perf_counter()
    for k, events in batches:
        with engine.begin() as conn:
            apply_batch(conn, f"K{k}", f"bench-kiosk-{k}", events)
    elapsed = time.perf_counter() - start
    with engine.begin() as conn:
        stored = conn.execute(db.text("SELECT count(*) FROM events")).scalar()
    if stored != sum(len(e) for _, e in batches):
        raise SystemExit(f"evac: the merge stored {stored} events, expected {sum(len(e) for _, e in batches)}")
    db.metadata.drop_all(engine)
    return elapsed


def run(n: int, url: str | None = None, batch_size: int = 1000) -> dict:
    batches = synthetic_batches(n, batch_size)
    with tempfile.TemporaryDirectory(prefix="evac-bench-") as tmp:
        tmp = Path(tmp)
        raw_engine = _fresh_engine(url, "raw", tmp)
        raw_seconds = run_raw(raw_engine, batches)
        raw_engine.dispose()
        merge_engine = _fresh_engine(url, "merge", tmp)
        merge_seconds = run_merge(merge_engine, batches)
        merge_engine.dispose()
    return {
        "events": n,
        "database": (url or "sqlite").split(":")[0],
        "seconds": round(merge_seconds, 3),
        "events_per_s": round(n / merge_seconds, 1),
        "raw_seconds": round(raw_seconds, 3),
        "raw_events_per_s": round(n / raw_seconds, 1),
        "ratio": round(raw_seconds / merge_seconds, 3),
    }
