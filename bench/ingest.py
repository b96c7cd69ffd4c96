"""HQ's merge of N synthetic kiosk events against a raw bulk insert of the same rows.

Both sides run in the same process, in the same kind of database, with the
same batching (one transaction per kiosk batch), one after the other; the
ratio between them is what we watch, because these machines are noisy.

Both sides start from the same decoded kiosk batches (the JSON HQ receives).
The raw side turns each event into the row HQ's event log holds (the event
serialised as JSON) and inserts the rows with the same driver-level
executemany the merge uses: no validation, no identity, no merge.  The merge
side does everything HQ does: validation, identity keys, person resolution,
whereabouts, occupancy counters, acknowledgement, and the same event rows.
"""
from __future__ import annotations

import datetime as dt
import json
import random
import tempfile
import time
from pathlib import Path

from sqlalchemy import BigInteger, Column, Integer, MetaData, String, Table, Text, create_engine, event, inspect

from evac.hlc import pack, wall_clock_ms
from hq_dashboard.db import db
from hq_dashboard.merge import _parse_batch, apply_batch, identity_keys, insert_many
from hq_dashboard.models import Kiosk, Shelter

SHELTERS = [f"H{i:03d}" for i in range(1, 21)]
KIOSKS = 4
FAMILY = "山田 佐藤 鈴木 高橋 田中 伊藤 渡辺 中村 小林 加藤 吉田 山本 松本 井上 木村 林 清水 斎藤 山崎 森".split()
GIVEN = "太郎 花子 一郎 美咲 翔太 陽菜 大輔 さくら 健 由美 蓮 結衣 悠真 葵 湊 凛".split()


def synthetic_batches(n: int, batch_size: int, seed: int = 7) -> list[tuple[int, list[dict]]]:
    """Kiosk batches (kiosk index, wire events) holding n events in all.

    Shaped like a shelter's first days: households (Yaizu averages about 2.5
    people) check in together; over the following hours some members get
    needs recorded, a status, a change of stay type; some leave or move to
    another shelter.  A person's events are spread over time, so they land in
    different batches, interleaved with everyone else's.
    """
    rng = random.Random(seed)
    timeline: list[tuple[int, int, dict]] = []  # (ms, kiosk, event without seq)
    base = 1_764_000_000_000
    total = hh = 0
    while total < n:
        hh += 1
        k = rng.randrange(KIOSKS)
        shelter = SHELTERS[k * 5 + rng.randrange(5)]
        family = rng.choice(FAMILY)
        address = f"焼津市本町{rng.randint(1, 6)}-{rng.randint(1, 20)}-{hh}"
        arrival = base + hh * 150
        for m in range(rng.choice((1, 1, 2, 2, 3, 3, 4, 5))):
            person = {"name": f"{family} {rng.choice(GIVEN)}{m}", "sex": rng.choice(("female", "male")),
                      "birth_date": f"{rng.randint(1930, 2024)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                      "address": address}
            plan = [(0, "checkin", {"stay_type": "in_shelter"})]
            if rng.random() < 0.3:
                plan.append((rng.randint(1, 600_000), "needs",
                             {"needs": rng.sample(["elderly", "infant", "dialysis", "pets", "allergy"], 2)}))
            if rng.random() < 0.3:
                plan.append((rng.randint(1, 600_000), "status", {"status": rng.choice(["safe", "injured"])}))
            if rng.random() < 0.2:
                plan.append((rng.randint(600_000, 900_000), "stay_type", {"stay_type": "in_car"}))
            r = rng.random()
            if r < 0.2:
                plan.append((rng.randint(900_000, 3_600_000), "checkout", {}))
            elif r < 0.3:
                plan.append((rng.randint(900_000, 3_600_000), "transfer", {"to_shelter_id": rng.choice(SHELTERS)}))
            for offset, etype, data in plan:
                timeline.append((arrival + offset, k, {"type": etype, "shelter_id": shelter, "person": person,
                                                       "household_id": f"hh-{hh}", "data": data}))
                total += 1
    timeline.sort(key=lambda t: t[0])
    streams: list[list[dict]] = [[] for _ in range(KIOSKS)]
    for ms, k, record in timeline[:n]:
        streams[k].append({"kiosk_id": f"bench-kiosk-{k}", "seq": len(streams[k]) + 1, "hlc": pack(ms), **record})
    batches = [(k, stream[i:i + batch_size]) for k, stream in enumerate(streams)
               for i in range(0, len(stream), batch_size)]
    # Kiosks' batches interleave at HQ; each kiosk's own stay in order.
    batches.sort(key=lambda b: (b[1][0]["hlc"], b[0]))
    return batches


def _fresh_engine(url: str | None, name: str, tmp: Path):
    engine = create_engine(url or f"sqlite:///{tmp / name}.sqlite3")
    if inspect(engine).get_table_names():
        raise SystemExit(f"evac: the benchmark needs an empty database, {engine.url} has tables")
    return engine


def run_raw(engine, batches) -> float:
    meta = MetaData()
    raw = Table("raw_events", meta,
                Column("device_id", String(64), primary_key=True), Column("seq", BigInteger, primary_key=True),
                Column("hlc", BigInteger), Column("type", String(32)), Column("shelter_id", String(16)),
                Column("person_id", Integer, index=True), Column("body", Text))
    meta.create_all(engine)
    columns = [c.name for c in raw.columns]
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    start = time.perf_counter()
    for _, events in batches:
        rows = [(e["kiosk_id"], e["seq"], e["hlc"], e["type"], e["shelter_id"], None, dumps(e)) for e in events]
        with engine.begin() as conn:
            insert_many(conn, "raw_events", columns, rows)
    elapsed = time.perf_counter() - start
    meta.drop_all(engine)
    return elapsed


def _seed(engine) -> None:
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


def run_merge(engine, batches, writes: list[list[tuple]] | None = None) -> tuple[float, tuple[int, int]]:
    """HQ's merge of every batch: (seconds, (events, persons) stored).  With `writes`, the statements
    that changed the database are kept, one list per batch."""
    _seed(engine)
    if writes is not None:
        def keep(conn, cursor, statement, parameters, context, executemany):
            if statement.lstrip()[:6].upper() in ("INSERT", "UPDATE", "DELETE"):
                writes[-1].append((statement, parameters, executemany))
        event.listen(engine, "before_cursor_execute", keep)
    start = time.perf_counter()
    for k, events in batches:
        if writes is not None:
            writes.append([])
        with engine.begin() as conn:
            apply_batch(conn, f"K{k}", f"bench-kiosk-{k}", events, received=pack(wall_clock_ms()))
    elapsed = time.perf_counter() - start
    if writes is not None:
        event.remove(engine, "before_cursor_execute", keep)
    with engine.begin() as conn:
        stored = conn.execute(db.text("SELECT count(*) FROM events")).scalar()
        persons = conn.execute(db.text("SELECT count(*) FROM persons")).scalar()
    if stored != sum(len(e) for _, e in batches):
        raise SystemExit(f"evac: the merge stored {stored} events, expected {sum(len(e) for _, e in batches)}")
    db.metadata.drop_all(engine)
    return elapsed, (stored, persons)


def run_replay(engine, writes: list[list[tuple]], expected: tuple[int, int]) -> float:
    """The merge's own writes again, batch by batch, with none of its Python: what the database
    alone costs for what this design stores (the floor under the merge's time)."""
    _seed(engine)
    start = time.perf_counter()
    for statements in writes:
        with engine.begin() as conn:
            cursor = conn.connection.driver_connection.cursor()
            for statement, parameters, many in statements:
                if many:
                    cursor.executemany(statement, parameters)
                else:
                    cursor.execute(statement, parameters)
    elapsed = time.perf_counter() - start
    with engine.begin() as conn:
        stored = conn.execute(db.text("SELECT count(*) FROM events")).scalar()
        persons = conn.execute(db.text("SELECT count(*) FROM persons")).scalar()
    if (stored, persons) != expected:
        raise SystemExit(f"evac: the replay stored {stored} events and {persons} persons, the merge {expected}")
    db.metadata.drop_all(engine)
    return elapsed


def _forget_caches() -> None:
    """Empty the caches of the ingest path (persons validated, names and addresses normalised), so that
    each side measured starts as cold as the merge does in a fresh HQ."""
    from evac import events, identity
    from hq_dashboard import merge
    for cached in (events._person, events._birth_date, events._person_json, identity._key_name,
                   identity._key_address, merge._basic_key):
        cached.cache_clear()


def run_validation(batches) -> float:
    """What no merge of these events can skip: validating each one and keying its person."""
    _forget_caches()
    start = time.perf_counter()
    for _, events in batches:
        for ev in _parse_batch(events):
            if ev.person is not None:
                identity_keys(ev)
    return time.perf_counter() - start


def run(n: int, url: str | None = None, batch_size: int = 1000, breakdown: bool = False) -> dict:
    batches = synthetic_batches(n, batch_size)
    writes: list[list[tuple]] | None = [] if breakdown else None
    with tempfile.TemporaryDirectory(prefix="evac-bench-") as tmp:
        tmp = Path(tmp)
        raw_engine = _fresh_engine(url, "raw", tmp)
        raw_seconds = run_raw(raw_engine, batches)
        raw_engine.dispose()
        merge_engine = _fresh_engine(url, "merge", tmp)
        _forget_caches()
        merge_seconds, stored = run_merge(merge_engine, batches, writes)
        merge_engine.dispose()
        if breakdown:
            validation_seconds = run_validation(batches)
            replay_engine = _fresh_engine(url, "replay", tmp)
            replay_seconds = run_replay(replay_engine, writes, stored)
            replay_engine.dispose()
    result = {
        "events": n,
        "database": (url or "sqlite").split(":")[0],
        "seconds": round(merge_seconds, 3),
        "events_per_s": round(n / merge_seconds, 1),
        "raw_seconds": round(raw_seconds, 3),
        "raw_events_per_s": round(n / raw_seconds, 1),
        "ratio": round(raw_seconds / merge_seconds, 3),
    }
    if breakdown:
        # The database's share of the merge, and the best ratio this design could reach with no Python at all.
        result.update(replay_seconds=round(replay_seconds, 3),
                      database_share=round(replay_seconds / merge_seconds, 3),
                      ratio_without_python=round(raw_seconds / replay_seconds, 3),
                      # The storage plus the validation and identity keys alone: no merge logic at all.
                      validation_seconds=round(validation_seconds, 3),
                      ratio_floor=round(raw_seconds / (replay_seconds + validation_seconds), 3))
    return result
