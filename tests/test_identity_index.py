"""HQ's in-memory identity map stays true to the database: other processes' batches, rollbacks, resets."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, func, select

from evac.hlc import pack
from hq_dashboard.db import db
from hq_dashboard.merge import BatchRejected, apply_batch
from hq_dashboard.models import Person
from tests.test_merge_property import fresh_hq

ANNA = {"name": "焼津 杏奈", "birth_date": "1990-03-03", "sex": "female", "address": "焼津市本町1-1"}
ANNA_TYPED = {"name": "焼津杏奈", "birth_date": "1990-03-03", "sex": "female", "address": "本町１－１"}


def event(k: int, seq: int, person: dict, etype: str = "checkin", shelter: str = "H001") -> dict:
    return {"kiosk_id": f"dev-{k}", "seq": seq, "hlc": pack(1_764_000_000_000 + seq * 1000 + k), "type": etype,
            "shelter_id": shelter, "person": person, "data": {"stay_type": "in_shelter"} if etype == "checkin" else {}}


def persons(engine) -> list[tuple]:
    with engine.connect() as conn:
        return conn.execute(select(Person.id, Person.state, Person.shelter_id).order_by(Person.id)).all()


def test_a_second_hq_process_sees_the_persons_the_first_one_created(tmp_path: Path):
    path = tmp_path / "hq.sqlite3"
    first = fresh_hq(path, kiosks=2)
    second = create_engine(f"sqlite:///{path}")   # another HQ worker on the same database
    with first.begin() as conn:
        apply_batch(conn, "K0", "dev-0", [event(0, 1, ANNA)])
    with second.begin() as conn:
        apply_batch(conn, "K1", "dev-1", [event(1, 1, ANNA_TYPED, shelter="H002")])
    with first.begin() as conn:
        apply_batch(conn, "K0", "dev-0", [event(0, 2, ANNA, etype="checkout", shelter="H002")])
    assert persons(first) == [(1, "checked_out", "H002")]


def test_a_rolled_back_batch_leaves_no_trace_in_the_map(tmp_path: Path):
    engine = fresh_hq(tmp_path / "hq.sqlite3", kiosks=1)
    conn = engine.connect()
    trans = conn.begin()
    apply_batch(conn, "K0", "dev-0", [event(0, 1, ANNA)])
    trans.rollback()
    conn.close()
    # The same person later arrives for real: one person, numbered as if the first try never was.
    with engine.begin() as conn:
        apply_batch(conn, "K0", "dev-0", [event(0, 1, ANNA_TYPED)])
    assert persons(engine) == [(1, "checked_in", "H001")]


def test_a_database_reset_under_the_same_engine_is_noticed(tmp_path: Path):
    engine = fresh_hq(tmp_path / "hq.sqlite3", kiosks=1)
    with engine.begin() as conn:
        apply_batch(conn, "K0", "dev-0", [event(0, 1, ANNA), event(0, 2, {**ANNA, "name": "焼津 次郎"})])
    # Emptied and rebuilt (as a test database or a restore would be); the engine lives on.
    db.metadata.drop_all(engine)
    fresh_hq(tmp_path / "hq.sqlite3", kiosks=1)
    with engine.begin() as conn:
        apply_batch(conn, "K0", "dev-0", [event(0, 1, {**ANNA, "name": "焼津 三郎"}), event(0, 2, ANNA_TYPED)])
        count = conn.execute(select(func.count()).select_from(Person)).scalar()
    assert count == 2
    assert [state for _, state, _ in persons(engine)] == ["checked_in", "checked_in"]


def test_a_refused_batch_changes_nothing_in_the_map(tmp_path: Path):
    engine = fresh_hq(tmp_path / "hq.sqlite3", kiosks=1)
    try:
        with engine.begin() as conn:
            apply_batch(conn, "K0", "dev-0", [event(0, 1, ANNA), event(0, 3, ANNA)])
    except BatchRejected as exc:
        assert exc.code == "sequence_gap"
    else:
        raise AssertionError("a batch with a gap was applied")
    with engine.begin() as conn:
        apply_batch(conn, "K0", "dev-0", [event(0, 1, ANNA_TYPED, shelter="H003")])
    assert persons(engine) == [(1, "checked_in", "H003")]
