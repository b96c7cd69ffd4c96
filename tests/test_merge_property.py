"""Any duplication, reordering, loss-and-retry and interleaving of kiosk batches leaves HQ in
exactly the state of in-order delivery (property test, real SQLite files)."""
from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, select

from evac.hlc import pack
from evac.identity import person_key
from hq_dashboard.db import db
from hq_dashboard.merge import BatchRejected, apply_batch
from hq_dashboard.models import Kiosk, Person, PersonKey, Shelter

SHELTERS = ["H001", "H002", "H003"]
# The same people as different kiosks would write them: card text vs typed text.
PEOPLE = [
    [{"name": "髙橋 一郎", "birth_date": "1950-01-01", "sex": "male", "address": "静岡県焼津市藤守１２３４番地の５"},
     {"name": "高橋一郎", "birth_date": "1950-01-01", "sex": "male", "address": "藤守1234-5"}],
    [{"name": "山﨑 花", "birth_date": "2019-05-05", "sex": "female", "address": "焼津市本町5-9-1"},
     {"name": "山崎　花", "birth_date": "2019-05-05", "sex": "female", "address": "本町５－９－１"}],
    [{"name": "Silva Ana", "birth_date": "1985-12-31", "sex": "female", "address": "", "prereg_id": "PR-9"}],
    [{"name": "駿河 三郎", "birth_date": "1940-02-29", "sex": "male", "address": "焼津市石津1"}],
]
# What staff correct each person to (a typo in the birth date, address or name), or, for the last,
# to the first person: staff say the two records are one person.
CORRECTED = [
    [{"name": "髙橋 一郎", "birth_date": "1951-01-01", "sex": "male", "address": "藤守1234-5"}],
    [{"name": "山崎 花", "birth_date": "2019-05-05", "sex": "female", "address": "焼津市本町5-9-11"}],
    [{"name": "Silva Anna", "birth_date": "1985-12-31", "sex": "female", "address": "", "prereg_id": "PR-9"}],
    [{"name": "駿河 三郎", "birth_date": "1940-03-01", "sex": "male", "address": "焼津市石津1"}, PEOPLE[0][1]],
]

op = st.one_of(
    st.tuples(st.just("checkin"), st.sampled_from(["in_shelter", "at_home", "in_car"])),
    st.tuples(st.just("checkout"), st.none()),
    st.tuples(st.just("transfer"), st.sampled_from(SHELTERS)),
    st.tuples(st.just("stay_type"), st.sampled_from(["in_shelter", "at_home", "in_car"])),
    st.tuples(st.just("needs"), st.lists(st.sampled_from(["infant", "dialysis", "pets"]), max_size=2)),
    st.tuples(st.just("status"), st.sampled_from(["safe", "injured"])),
    st.tuples(st.just("ic_link"), st.sampled_from(["ic:" + "a1" * 16, "ic:" + "b2" * 16])),
    st.tuples(st.just("self_report"), st.sampled_from(["at_home", "with_relatives", "in_car"])),
    st.tuples(st.just("correction"), st.integers(0, 1)),
)
kiosk_events = st.lists(
    # variant 2: the corrected identity (events after a correction, or the correction before it arrives)
    st.tuples(st.integers(0, len(PEOPLE) - 1), st.integers(0, 2), st.sampled_from(SHELTERS), op,
              st.integers(0, 120_000)),
    min_size=1, max_size=12)


def build_stream(k: int, raw, skew_ms: int) -> list[dict]:
    """A kiosk's events: its clock runs `skew_ms` off, time moves on between events."""
    events, ms = [], 1_764_000_000_000 + skew_ms
    for seq, (who, variant, shelter, (etype, arg), gap) in enumerate(raw, start=1):
        ms += gap
        person = CORRECTED[who][0] if variant == 2 else PEOPLE[who][variant % len(PEOPLE[who])]
        if etype == "correction":
            new = CORRECTED[who][arg % len(CORRECTED[who])]
            if _key(new) == _key(person):  # already corrected: staff correct it back
                new = PEOPLE[who][0]
            data = {"person": new}
        else:
            data = {"checkin": {"stay_type": arg}, "stay_type": {"stay_type": arg},
                    "transfer": {"to_shelter_id": arg}, "needs": {"needs": arg}, "status": {"status": arg},
                    "checkout": {}, "ic_link": {"token": arg}, "self_report": {"where": arg}}[etype]
        events.append({"kiosk_id": f"dev-{k}", "seq": seq, "hlc": pack(ms), "type": etype, "shelter_id": shelter,
                       "person": person, "data": data})
    return events


def _key(p: dict) -> str:
    return person_key(p["name"], p["birth_date"], p["address"])


_pg_engines: dict[str, object] = {}


def fresh_hq(path: Path, kiosks: int, backend: str = "sqlite"):
    """An empty HQ database: a new SQLite file, or a reset PostgreSQL database."""
    if backend == "sqlite":
        engine = create_engine(f"sqlite:///{path}")
    else:
        from tests.postgres import create_database, postgres_server
        name = f"evac_prop_{path.stem}"
        if name not in _pg_engines:
            _pg_engines[name] = create_engine(create_database(postgres_server(), name))
        engine = _pg_engines[name]
        db.metadata.drop_all(engine)
    db.metadata.create_all(engine)
    now = dt.datetime.now(dt.timezone.utc)
    with engine.begin() as conn:
        conn.execute(Shelter.__table__.insert(), [
            {"id": s, "name": s, "kind": "shelter", "lat": 34.8, "lon": 138.3, "capacity": 10, "name_kana": "",
             "address": "", "hazards": "", "phone": "", "source": "", "opened": False, "opened_order": "",
             "occupancy": 0, "at_home": 0, "in_car": 0} for s in SHELTERS])
        conn.execute(Kiosk.__table__.insert(), [
            {"id": f"K{k}", "shelter_id": "H001", "token_hash": f"t{k}", "device_id": f"dev-{k}", "high_seq": 0,
             "last_event_hlc": 0, "enrolled_at": now} for k in range(kiosks)])
    return engine


def deliver(engine, k: int, events: list[dict]) -> bool:
    try:
        with engine.begin() as conn:
            apply_batch(conn, f"K{k}", f"dev-{k}", events)
        return True
    except BatchRejected as exc:
        assert exc.code == "sequence_gap", exc.message
        return False


def snapshot(engine) -> dict:
    with engine.connect() as conn:
        keys: dict[int, set] = {}
        # person_keys is a log: the latest row of a key says whose it is.
        latest = dict(conn.execute(select(PersonKey.key, PersonKey.person_id).order_by(PersonKey.id)).all())
        for key, pid in latest.items():
            keys.setdefault(pid, set()).add(key)
        persons = sorted(
            (tuple(sorted(keys.get(r.id, ()))), r.state, r.shelter_id, r.stay_type, r.needs, r.status,
             r.loc_order, r.info_order, r.name, r.birth_date, r.address)
            for r in conn.execute(select(Person)))
        shelters = sorted(tuple(r) for r in conn.execute(
            select(Shelter.id, Shelter.occupancy, Shelter.at_home, Shelter.in_car, Shelter.opened)))
        cards = sorted((token, tuple(sorted(keys.get(pid, ()))))
                       for token, pid in conn.execute(db.text("SELECT token, person_id FROM ic_links")))
        events = conn.execute(db.text("SELECT device_id, seq, person_id IS NOT NULL FROM events "
                                      "ORDER BY device_id, seq")).all()
        kiosks = conn.execute(select(Kiosk.id, Kiosk.high_seq).order_by(Kiosk.id)).all()
        outside = sorted(tuple(r) for r in conn.execute(db.text("SELECT place, count FROM self_report_counts"))
                         if r[1])
    return {"persons": persons, "shelters": shelters, "events": events, "kiosks": kiosks, "cards": cards,
            "outside": outside}


def recount(snap: dict) -> dict:
    """Occupancy recomputed from scratch from the persons' whereabouts."""
    counts: dict = {}
    outside: dict = {}
    for _keys, state, shelter, stay, *_ in snap["persons"]:
        if state == "checked_in":
            col = {"in_shelter": 1, "at_home": 2, "in_car": 3}[stay]
            counts[(shelter, col)] = counts.get((shelter, col), 0) + 1
        elif state == "self_reported":
            outside[stay] = outside.get(stay, 0) + 1
    return ({(s[0], c): s[c] for s in snap["shelters"] for c in (1, 2, 3) if s[c]} == counts
            and dict(snap["outside"]) == outside)


deliveries = dict(
    streams=st.lists(kiosk_events, min_size=1, max_size=3),
    skews=st.lists(st.integers(-3_600_000, 3_600_000), min_size=3, max_size=3),
    schedule=st.lists(st.tuples(st.integers(0, 2), st.integers(0, 11), st.integers(1, 6)), max_size=25),
    retry_chunk=st.integers(1, 5),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(**deliveries)
def test_any_delivery_converges_to_in_order_delivery(streams, skews, schedule, retry_chunk):
    check_convergence("sqlite", streams, skews, schedule, retry_chunk)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(**deliveries)
def test_any_delivery_converges_on_postgresql_too(pg_base, streams, skews, schedule, retry_chunk):
    check_convergence("postgresql", streams, skews, schedule, retry_chunk)


def check_convergence(backend, streams, skews, schedule, retry_chunk):
    streams = [build_stream(k, raw, skews[k]) for k, raw in enumerate(streams)]
    with tempfile.TemporaryDirectory() as tmp:
        reference = fresh_hq(Path(tmp) / "ref.sqlite3", len(streams), backend)
        for k, events in enumerate(streams):
            assert deliver(reference, k, events)
        expected = snapshot(reference)

        chaos = fresh_hq(Path(tmp) / "chaos.sqlite3", len(streams), backend)
        # Arbitrary batches: duplicated, out of order, overlapping, with gaps (which HQ refuses).
        for k, start, size in schedule:
            if k < len(streams):
                deliver(chaos, k, streams[k][start:start + size] or streams[k][-1:])
        # Then each kiosk retries from what HQ acknowledged, as the sync client does.
        for k, events in enumerate(streams):
            with chaos.connect() as conn:
                high = conn.execute(select(Kiosk.high_seq).where(Kiosk.id == f"K{k}")).scalar()
            while high < len(events):
                assert deliver(chaos, k, events[high:high + retry_chunk])
                high = min(len(events), high + retry_chunk)
        got = snapshot(chaos)
        if backend == "sqlite":
            reference.dispose()
            chaos.dispose()
    assert got == expected
    assert recount(got)


def test_person_keys_are_the_identity_of_normalised_name_birth_and_address():
    a, b = PEOPLE[0]
    assert person_key(a["name"], a["birth_date"], a["address"]) == person_key(b["name"], b["birth_date"], b["address"])
