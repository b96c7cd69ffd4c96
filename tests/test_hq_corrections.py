"""A staff correction of a name, birth date or address reaches HQ: still one person, under the
corrected identity, in the same place, as protected as before.

The kiosk side is a real KioskStore written through the staff tablet's store functions; the events
reach HQ over real HTTP (`evac hq serve`, `sync_once`) or through the sync API, on SQLite and
PostgreSQL alike."""
from __future__ import annotations

import json
import datetime as dt
from dataclasses import replace
import urllib.request

import pytest
from sqlalchemy import create_engine, select

from evac.events import Person
from evac.identity import person_key
from hq_dashboard.db import db
from hq_dashboard.models import EventRecord, Inquiry, Person as HQPerson, PersonKey
from kiosk import staff_store
from kiosk.store import KioskStore
from kiosk.sync import HQClient, sync_once
from tests.conftest import run_evac
from tests.test_sync_http import occupancy
from tests.wire import KioskStream

# The paper form said 1948 and 藤守1234-5; staff typed 1984 and 1243-5.
TYPO = Person("駿河 花子", "1984-05-06", "female", "焼津市藤守1243-5", "スルガ ハナコ")
FIXED = Person("駿河 花子", "1948-05-06", "female", "焼津市藤守1234-5", "スルガ ハナコ")
SON = Person("駿河 一", "1975-01-01", "male", "焼津市藤守1243-5")
HIDDEN = Person("匿名 希", "1990-02-02", "female", "焼津市大住1")
HIDDEN_FIXED = Person("匿名 希", "1990-02-20", "female", "焼津市大住1")


def key(p: Person) -> str:
    return person_key(p.name, p.birth_date, p.address)


def correct(store: KioskStore, shelter: str, old: Person, new: Person) -> str:
    """What the tablet's correction form does when only the identity changed."""
    row = staff_store.person(store, key(old))
    pr = row.profile
    return staff_store.correct(store, shelter, row, new, stay_type=row.entry.where.stay_type, needs=pr.needs,
                               contact_phone=pr.contact_phone, home_damage=pr.home_damage,
                               household_members=pr.household_members, consent=pr.consent,
                               family_code=pr.family_code)


def inquire(hq_url: str, sought: Person) -> dict:
    body = {"inquirer": {"name": "駿河 太郎", "address": "東京都港区1-1", "contact": "090-0000-0000"},
            "relationship": "other", "reason": "安否確認",
            "sought": {"name": sought.name, "birth_date": sought.birth_date}}
    req = urllib.request.Request(f"{hq_url}/api/v1/safety/inquiries", data=json.dumps(body).encode(),
                                 method="POST", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        answer = json.loads(resp.read())
    return {k: v for k, v in answer.items() if k not in ("inquiry_id", "access_key")}


def hq_persons(db_url: str) -> list[tuple]:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return sorted(tuple(r) for r in conn.execute(
                select(HQPerson.name, HQPerson.birth_date, HQPerson.address, HQPerson.state, HQPerson.shelter_id,
                       HQPerson.never_disclose)))
    finally:
        engine.dispose()


def test_a_corrected_identity_reaches_hq_as_the_same_person(hq_db_url, hq_server, tmp_path):
    hq = hq_server(hq_db_url)
    enrolled = run_evac("hq", "enroll-kiosk", "--db", hq.db_url, "--shelter", "H031")
    assert enrolled.returncode == 0, enrolled.stderr
    client = HQClient(hq.url, enrolled.stdout.strip())
    store = KioskStore(tmp_path / "kiosk.sqlite3")
    store.check_in("H031", [TYPO, SON], disclosure="public")
    store.check_in("H031", [HIDDEN], disclosure="public", never_disclose=True)
    sync_once(store, client)
    assert occupancy(hq.url) == {"H031": 3}

    assert correct(store, "H031", TYPO, FIXED) == key(FIXED)
    assert correct(store, "H031", HIDDEN, HIDDEN_FIXED) == key(HIDDEN_FIXED)
    assert sync_once(store, client).pending == 0

    assert occupancy(hq.url) == {"H031": 3}, "the same three people, nobody new"
    assert hq_persons(hq.db_url) == sorted([
        (FIXED.name, FIXED.birth_date, FIXED.address, "checked_in", "H031", False),
        (SON.name, SON.birth_date, SON.address, "checked_in", "H031", False),
        (HIDDEN_FIXED.name, HIDDEN_FIXED.birth_date, HIDDEN_FIXED.address, "checked_in", "H031", True)])
    # A relative asking by the right birth date finds her (she consented to public answers) ...
    found = inquire(hq.url, FIXED)
    assert found["information_exists"] is True and found["whereabouts"]["shelter_id"] == "H031"
    assert inquire(hq.url, TYPO)["information_exists"] is not True, "the typo is nobody now"
    # ... and the never-disclose person corrected the same way is still exactly like someone unknown.
    assert inquire(hq.url, HIDDEN_FIXED) == inquire(hq.url, Person("匿名 誰", "1990-02-20", "female"))
    store.close()


def _post(client, token, stream: KioskStream):
    resp = client.post("/api/v1/sync", json={"device_id": stream.device_id, "events": stream.events},
                       headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200, resp.get_json()


def _correction(stream: KioskStream, old: Person, new: Person, at_ms: int) -> dict:
    return stream.add("correction", old.to_wire(), {"person": new.to_wire()}, at_ms=at_ms)


def _state(app) -> tuple[list[tuple], dict[str, int]]:
    with app.app_context():
        persons = [(p.id, p.name, p.birth_date, p.state, p.shelter_id)
                   for p in db.session.scalars(select(HQPerson).order_by(HQPerson.id))]
        keys = dict(db.session.execute(select(PersonKey.key, PersonKey.person_id).order_by(PersonKey.id)).all())
    return persons, keys


T0 = 1_764_000_000_000


def test_a_correction_onto_someone_hq_knows_from_another_kiosk_makes_them_one(hq_app, hq_client, enroll):
    """Kiosk B registered her correctly at H002 in the morning; kiosk A typed the typo at H031 later.
    Staff at A correcting it say A's record is hers: A's records move to her, and the typo is nobody."""
    ta, tb = enroll("H031"), enroll("H002")
    a, b = KioskStream("dev-a", "H031"), KioskStream("dev-b", "H002")
    b.checkin(FIXED.to_wire(), at_ms=T0)
    b.add("needs", FIXED.to_wire(), {"needs": ["dialysis"]}, at_ms=T0 + 1000)
    a.checkin(TYPO.to_wire(), at_ms=T0 + 3_600_000)
    _post(hq_client, tb, b)
    _post(hq_client, ta, a)
    assert occupancy_of(hq_client) == {"H002": 1, "H031": 1}, "two persons until staff say otherwise"
    _correction(a, TYPO, FIXED, T0 + 7_200_000)
    _post(hq_client, ta, a)
    persons, keys = _state(hq_app)
    assert [(n, b, s, w) for _, n, b, s, w in persons] == [(FIXED.name, FIXED.birth_date, "checked_in", "H031")]
    assert keys[key(FIXED)] == persons[0][0] and keys[key(TYPO)] != persons[0][0]
    assert occupancy_of(hq_client) == {"H031": 1}, "where she was last seen, counted once"
    with hq_app.app_context():
        assert set(db.session.scalars(select(EventRecord.person_id))) == {persons[0][0]}
        assert db.session.get(HQPerson, persons[0][0]).needs == "dialysis", "what B knew stays hers"


@pytest.mark.parametrize("b_first", [False, True], ids=["correction-first", "typo-first"])
def test_a_later_event_under_the_old_identity_does_not_undo_the_correction(hq_app, hq_client, enroll, b_first):
    """Kiosk B was offline and still has the typo: a pre-registration QR printed with it, whose id says
    whom it is about; its event is newer than the correction.  It is still about her (one person, one
    place, found under both keys) but not news about her name: in either order of arrival HQ keeps the
    corrected identity, so a family asking with the right birth date finds her."""
    ta, tb = enroll("H031"), enroll("H002")
    a, b = KioskStream("dev-a", "H031"), KioskStream("dev-b", "H002")
    typo, fixed = replace(TYPO, prereg_id="PR-SURUGA"), replace(FIXED, prereg_id="PR-SURUGA")
    a.checkin(typo.to_wire(), at_ms=T0)
    _correction(a, typo, fixed, T0 + 60_000)
    b.add("status", typo.to_wire(), {"status": "injured"}, at_ms=T0 + 120_000)
    for token, stream in ([(tb, b), (ta, a)] if b_first else [(ta, a), (tb, b)]):
        _post(hq_client, token, stream)
    persons, keys = _state(hq_app)
    assert [p[1:] for p in persons] == [(FIXED.name, FIXED.birth_date, "checked_in", "H031")]
    assert keys[key(TYPO)] == keys[key(FIXED)] == persons[0][0]
    assert occupancy_of(hq_client) == {"H031": 1}
    with hq_app.app_context():
        assert db.session.get(HQPerson, persons[0][0]).status == "injured", "B's news about her still counts"
    # Correcting back makes the first identity good again, and what is said under it news again.
    _correction(a, fixed, typo, T0 + 180_000)
    _post(hq_client, ta, a)
    assert [p[1:] for p in _state(hq_app)[0]] == [(TYPO.name, TYPO.birth_date, "checked_in", "H031")]


def occupancy_of(client) -> dict:
    features = client.get("/api/v1/shelters").get_json()["features"]
    return {f["properties"]["id"]: f["properties"]["occupancy"] for f in features if f["properties"]["occupancy"]}


def test_hq_refuses_a_correction_that_changes_nothing(hq_client, enroll):
    token = enroll("H031")
    a = KioskStream("dev-a", "H031")
    a.checkin(TYPO.to_wire())
    _correction(a, TYPO, Person("駿河　花子", TYPO.birth_date, "female", "藤守１２４３－５"), T0 + 60_000)
    resp = hq_client.post("/api/v1/sync", json={"device_id": "dev-a", "events": a.events},
                          headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 422
    assert "event 2 of the batch: the correction does not change name, birth date or address" in \
        resp.get_json()["message"]
    assert occupancy_of(hq_client) == {}, "nothing of the batch applied"


def test_an_event_stored_under_older_rules_does_not_stop_later_batches_about_a_corrected_person(hq_app, hq_client,
                                                                                                 enroll):
    """HQ re-reads everything said about a corrected person with each batch about them.  An event it
    stored when a rule was laxer (the Individual Number check came later) is not validated again: that
    made every later batch about the person a 500, and the kiosk's whole outbox stuck behind it."""
    from evac.individual_number import contains_individual_number
    token = enroll("H031")
    a = KioskStream("dev-a", "H031")
    a.checkin(TYPO.to_wire())
    a.add("status", TYPO.to_wire(), {"status": "injured", "note": "足を痛めた"}, at_ms=T0 + 10_000)
    _correction(a, TYPO, FIXED, T0 + 60_000)
    _post(hq_client, token, a)
    number = next(f"12345678901{d}" for d in range(10) if contains_individual_number(f"12345678901{d}"))
    with hq_app.app_context():   # as an older HQ stored it, before the Individual Number check
        body = json.loads(db.session.scalar(select(EventRecord.body).where(EventRecord.seq == 2)))
        body["data"]["note"] = f"保険証 {number}"
        db.session.execute(db.update(EventRecord).where(EventRecord.seq == 2).values(
            body=json.dumps(body, ensure_ascii=False)))
        db.session.commit()
    a.add("needs", FIXED.to_wire(), {"needs": ["pets"]}, at_ms=T0 + 120_000)
    resp = hq_client.post("/api/v1/sync", json={"device_id": "dev-a", "events": a.events[3:]},
                          headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.get_json()["acked_seq"] == 4
    persons, _ = _state(hq_app)
    assert [(name, birth) for _, name, birth, _, _ in persons] == [(FIXED.name, FIXED.birth_date)]


# Twins at one address, and a father and son of one name: staff typing one of them made the other's identity.
YU = Person("佐藤 優", "1990-04-01", "female", "焼津市本町2-3-4")
YUKO = Person("佐藤 優子", "1990-04-01", "female", "焼津市本町2-3-4")
FATHER = Person("大石 健", "1950-06-06", "male", "焼津市小川5-6")
SON_TYPO = Person("大石 健", "1950-06-06", "male", "焼津市小川5-6")   # the son's birth date typed as his father's
SON_FIXED = Person("大石 健", "1980-06-06", "male", "焼津市小川5-6")


@pytest.mark.parametrize("b_first", [False, True], ids=["other-kiosk-first", "correction-first"])
def test_a_correction_whose_old_identity_is_someone_else_does_not_make_them_one(hq_app, hq_client, enroll, b_first):
    """Kiosk B checked 佐藤 優 and 大石 健 (the father) in at H002.  At H031 staff typed her twin 優子 as
    「佐藤 優」 and the son's birth date as his father's, and corrected both.  Only A's own records move
    to the corrected identities: the twin and the father stay at H002, each counted, each found by
    their own name; in either order of arrival."""
    ta, tb = enroll("H031"), enroll("H002")
    a, b = KioskStream("dev-a", "H031"), KioskStream("dev-b", "H002")
    b.checkin(YU.to_wire(), at_ms=T0)
    b.checkin(FATHER.to_wire(), at_ms=T0 + 1000)
    b.add("needs", FATHER.to_wire(), {"needs": ["dialysis"]}, at_ms=T0 + 2000)
    a.checkin(YU.to_wire(), at_ms=T0 + 3_600_000)                    # 優子, typed as her twin
    a.checkin(SON_TYPO.to_wire(), at_ms=T0 + 3_601_000)
    a.add("needs", SON_TYPO.to_wire(), {"needs": ["pets"]}, at_ms=T0 + 3_602_000)
    _correction(a, YU, YUKO, T0 + 3_700_000)
    _correction(a, SON_TYPO, SON_FIXED, T0 + 3_701_000)
    for token, stream in ([(tb, b), (ta, a)] if b_first else [(ta, a), (tb, b)]):
        _post(hq_client, token, stream)
    persons, keys = _state(hq_app)
    assert sorted(p[1:] for p in persons) == sorted([
        (YU.name, YU.birth_date, "checked_in", "H002"), (YUKO.name, YUKO.birth_date, "checked_in", "H031"),
        (FATHER.name, FATHER.birth_date, "checked_in", "H002"), (SON_FIXED.name, SON_FIXED.birth_date,
                                                                 "checked_in", "H031")])
    assert occupancy_of(hq_client) == {"H002": 2, "H031": 2}
    with hq_app.app_context():
        needs = {(p.name, p.birth_date): p.needs for p in db.session.scalars(select(HQPerson))}
    assert needs[(FATHER.name, FATHER.birth_date)] == "dialysis" and needs[(SON_FIXED.name, SON_FIXED.birth_date)] == "pets"
    assert keys[key(YU)] != keys[key(YUKO)] and keys[key(FATHER)] != keys[key(SON_FIXED)]


def test_a_correction_in_a_later_batch_moves_only_its_kiosk_s_records(hq_app, hq_client, enroll):
    """The typed record reached HQ before the correction (the usual order: staff notice later).  Kiosk
    B's record of the twin stays hers; A's record moves to 優子, and a record A writes later under the
    old identity (the kiosk says it means 優子 by it) goes to 優子 too."""
    ta, tb = enroll("H031"), enroll("H002")
    a, b = KioskStream("dev-a", "H031"), KioskStream("dev-b", "H002")
    b.checkin(YU.to_wire(), at_ms=T0)
    _post(hq_client, tb, b)
    a.checkin(YU.to_wire(), at_ms=T0 + 3_600_000)
    _post(hq_client, ta, a)
    assert occupancy_of(hq_client) == {"H031": 1}, "before the correction HQ takes them for one who moved"
    _correction(a, YU, YUKO, T0 + 3_700_000)
    _post(hq_client, ta, a)
    assert occupancy_of(hq_client) == {"H002": 1, "H031": 1}
    a.add("status", YU.to_wire(), {"status": "injured"}, at_ms=T0 + 3_800_000)
    b.add("status", YU.to_wire(), {"status": "safe"}, at_ms=T0 + 3_900_000)
    _post(hq_client, ta, a)
    _post(hq_client, tb, b)
    with hq_app.app_context():
        status = {p.name: (p.status, p.shelter_id) for p in db.session.scalars(select(HQPerson))}
    assert status == {YU.name: ("safe", "H002"), YUKO.name: ("injured", "H031")}


def _send_steps(client, token, stream: KioskStream, steps, batches: str) -> None:
    """Each step writes records; "batch-each": HQ gets them after each step, else all in one batch."""
    for step in steps:
        step()
        if batches == "batch-each":
            _post(client, token, stream)
    _post(client, token, stream)


YUKA = Person("佐藤 優香", "1990-04-01", "female", "焼津市本町2-3-4")


@pytest.mark.parametrize("batches", ["one-batch", "batch-each"])
@pytest.mark.parametrize("slips, last", [([(YU, YUKO), (YUKO, YU)], YU), ([(YU, YUKO), (YUKO, YUKA)], YUKA)],
                         ids=["corrected-back", "chain"])
def test_corrections_in_turn_leave_one_person_under_the_last(hq_app, hq_client, enroll, batches, slips, last):
    """優 → 優子 and back (a slip on the slip), or 優 → 優子 → 優香, at one kiosk, and a record it writes later
    still under 優 (a QR with the first slip): one person under the last identity, where she is; nobody
    left behind under a passing identity (an inquiry must not find a record with nowhere in it), and not
    優 again after a chain (the twin mix-up through a chain)."""
    ta = enroll("H031")
    a = KioskStream("dev-a", "H031")
    steps = [lambda: a.checkin(YU.to_wire(), at_ms=T0)]
    steps += [lambda old=old, new=new, i=i: _correction(a, old, new, T0 + 60_000 * (i + 1))
              for i, (old, new) in enumerate(slips)]
    steps.append(lambda: a.add("status", YU.to_wire(), {"status": "ill"}, at_ms=T0 + 600_000))
    _send_steps(hq_client, ta, a, steps, batches)
    persons, _ = _state(hq_app)
    assert [p[1:] for p in persons] == [(last.name, last.birth_date, "checked_in", "H031")]
    assert occupancy_of(hq_client) == {"H031": 1}
    with hq_app.app_context():
        assert set(db.session.scalars(select(EventRecord.person_id))) == {persons[0][0]}
        assert db.session.get(HQPerson, persons[0][0]).status == "ill"


@pytest.mark.parametrize("real_one_first", [True, False], ids=["real-one-first", "correction-first"])
def test_an_inquiry_released_against_the_slip_stays_with_that_identity_in_any_order(hq_app, hq_client, enroll,
                                                                                     real_one_first):
    """Staff released an inquiry about 佐藤 優 against X's record (it was her twin 優子, typed as 優).  X
    corrects it; the real 優 checks in at Y before or after.  The inquiry's record is 優's either way
    (never the twin's, whom the family did not ask about)."""
    tx, ty = enroll("H031"), enroll("H002")
    x, y = KioskStream("dev-x", "H031"), KioskStream("dev-y", "H002")
    x.checkin(YU.to_wire(), at_ms=T0)
    _post(hq_client, tx, x)
    with hq_app.app_context():
        (pid,) = db.session.scalars(select(HQPerson.id))
        db.session.add(Inquiry(
            id="Q-YU", access_hash="0" * 64, created_at=dt.datetime.now(dt.timezone.utc), client="test",
            inquirer_name="佐藤 一", inquirer_address="焼津市本町2-3-4", inquirer_contact="090", relationship="family",
            reason="安否", sought_name=YU.name, sought_birth_date=YU.birth_date, person_id=pid, status="released",
            answer="{}"))
        db.session.commit()
    y.checkin(YU.to_wire(), at_ms=T0 + 1000)
    if real_one_first:
        _post(hq_client, ty, y)
    _correction(x, YU, YUKO, T0 + 120_000)
    _post(hq_client, tx, x)
    if not real_one_first:
        _post(hq_client, ty, y)
    with hq_app.app_context():
        held = db.session.get(Inquiry, "Q-YU").person_id
        who = db.session.get(HQPerson, held)
        assert who is not None and (who.name, who.shelter_id) == (YU.name, "H002")


def test_a_correction_onto_an_identity_corrected_away_makes_it_good_again_in_any_batching(hq_app, hq_client, enroll):
    """A: 佐藤 優 checked in, corrected to 優子; then another slip is corrected to 佐藤 優 (staff say that
    record was 優 after all): 優 is good again at this kiosk, and the records are filed the same in one
    batch as one record a batch (found by the property test: her check-in stayed with 優子 or not)."""
    results = []
    for n, batches in enumerate(["one-batch", "batch-each"]):
        token = enroll("H031")
        a = KioskStream(f"dev-{n}", "H031")
        other = Person("佐藤 有", "1990-04-01", "female", f"焼津市本町2-3-{n}")
        yu, yuko = replace(YU, address=other.address), replace(YUKO, address=other.address)
        steps = [lambda: a.checkin(yu.to_wire(), at_ms=T0), lambda: a.checkin(other.to_wire(), at_ms=T0 + 1000),
                 lambda: _correction(a, yu, yuko, T0 + 2000), lambda: _correction(a, other, yu, T0 + 3000)]
        _send_steps(hq_client, token, a, steps, batches)
        with hq_app.app_context():
            results.append(sorted((p.name, p.state, p.shelter_id) for p in db.session.scalars(select(HQPerson))
                                  if p.address == other.address))
    assert results[0] == results[1]
    assert (YU.name, "checked_in", "H031") in results[0]
