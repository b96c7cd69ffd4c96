import json
import sqlite3

import pytest

from evac.events import Person
from kiosk.store import KioskError, KioskStore

TARO = Person("焼津 太郎", "1948-03-03", "male", "静岡県焼津市本町５丁目９番１号")
HANAKO = Person("焼津 花子", "1950-07-07", "female", "静岡県焼津市本町５丁目９番１号")


def test_database_is_in_wal_mode_with_full_sync(kiosk_store):
    assert kiosk_store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert kiosk_store.db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_a_checkin_is_on_disk_when_it_returns(tmp_path):
    store = KioskStore(tmp_path / "k.sqlite3")
    (event,) = store.check_in("H001", [TARO])
    # A second, independent connection (as after a power cut) sees the event.
    other = sqlite3.connect(tmp_path / "k.sqlite3")
    assert other.execute("SELECT seq FROM events").fetchall() == [(event.seq,)]
    other.close()
    device = store.device_id
    store.close()
    reopened = KioskStore(tmp_path / "k.sqlite3")
    assert [e.person.name for e in reopened.checked_in("H001")] == ["焼津 太郎"]
    assert reopened.device_id == device


def test_sequence_is_gap_free_and_household_checks_in_together(kiosk_store):
    events = kiosk_store.check_in("H001", [TARO, HANAKO])
    events += kiosk_store.check_in("H001", [Person("駿河 一郎", "1990-01-01", "male", "")])
    assert [e.seq for e in events] == [1, 2, 3]
    assert events[0].household_id and events[0].household_id == events[1].household_id
    assert events[0].hlc < events[1].hlc < events[2].hlc
    assert kiosk_store.pending() == 3


def test_checkout_finds_the_person_by_normalised_identity(kiosk_store):
    kiosk_store.check_in("H001", [TARO])
    event = kiosk_store.check_out("焼津太郎", "1948-03-03", "本町5-9-1")
    assert event.type == "checkout" and event.person.sex == "male"
    assert kiosk_store.checked_in("H001") == []


def test_checkout_of_someone_not_here_is_refused_and_writes_nothing(kiosk_store):
    with pytest.raises(KioskError, match="not checked in"):
        kiosk_store.check_out("誰 か", "2000-01-01", "")
    assert kiosk_store.last_seq == 0


def test_unknown_shelter_is_refused_and_writes_nothing(kiosk_store):
    with pytest.raises(KioskError, match="unknown shelter"):
        kiosk_store.check_in("H999", [TARO])
    assert kiosk_store.last_seq == 0


def test_transfer_needs_a_known_other_shelter(kiosk_store):
    kiosk_store.check_in("H001", [TARO])
    with pytest.raises(KioskError, match="already in"):
        kiosk_store.transfer(TARO.name, TARO.birth_date, TARO.address, "H001")
    event = kiosk_store.transfer(TARO.name, TARO.birth_date, TARO.address, "H002")
    assert event.data == {"to_shelter_id": "H002"}
    assert kiosk_store.checked_in() == []


def test_outbox_is_what_hq_has_not_acknowledged(kiosk_store):
    kiosk_store.check_in("H001", [TARO, HANAKO])
    assert [e["seq"] for e in kiosk_store.outbox(10)] == [1, 2]
    kiosk_store.set_acked(1)
    assert [e["seq"] for e in kiosk_store.outbox(10)] == [2]
    with pytest.raises(KioskError, match="only written 2"):
        kiosk_store.set_acked(5)


def test_kiosk_knows_the_city_shelters_before_its_first_sync(kiosk_store):
    assert len(kiosk_store.shelter_ids()) == 212


def test_needs_status_and_registration_are_events_too(kiosk_store):
    kiosk_store.register("H001", [TARO, HANAKO])
    assert kiosk_store.checked_in() == []
    needs = kiosk_store.set_needs("H001", "焼津 花子", "1950-07-07", HANAKO.address, ["dialysis", "elderly"])
    status = kiosk_store.set_status("H001", "焼津 太郎", "1948-03-03", TARO.address, "injured", "右足を捻挫")
    assert needs.data == {"needs": ["dialysis", "elderly"]} and needs.household_id
    assert status.data == {"status": "injured", "note": "右足を捻挫"}
    assert [e["type"] for e in kiosk_store.outbox(10)] == ["register", "register", "needs", "status"]


def test_bad_needs_are_refused_and_write_nothing(kiosk_store):
    from evac.events import InvalidEvent
    kiosk_store.check_in("H001", [TARO])
    with pytest.raises(InvalidEvent, match="needs must be a list"):
        kiosk_store.set_needs("H001", TARO.name, TARO.birth_date, TARO.address, ["flying"])
    with pytest.raises(KioskError, match="not known"):
        kiosk_store.set_status("H001", "誰 か", "2000-01-01", "", "safe")
    assert kiosk_store.last_seq == 1


def test_the_kiosk_app_records_needs_and_refuses_bad_input_with_a_message(tmp_path):
    from kiosk import create_app
    app = create_app({"KIOSK_DB": str(tmp_path / "k.sqlite3"), "SHELTER_ID": "H001", "TESTING": True})
    client = app.test_client()
    who = {"name": "焼津 太郎", "birth_date": "1948-03-03", "address": TARO.address}
    assert client.post("/api/checkin", json={"persons": [{**who, "sex": "male"}]}).status_code == 201
    ok = client.post("/api/needs", json={**who, "needs": ["medication"]})
    assert ok.status_code == 201 and ok.get_json()["status"] == "confirmed"
    bad = client.post("/api/needs", json={**who, "needs": "medication"})
    assert bad.status_code == 422 and "needs must be a list" in bad.get_json()["message"]
    bad_date = client.post("/api/checkin", json={"persons": [{**who, "sex": "male", "birth_date": "1948-02-30"}]})
    assert bad_date.status_code == 422 and "not a date" in bad_date.get_json()["message"]
    moved = client.post("/api/stay-type", json={**who, "stay_type": "in_car"})
    assert moved.status_code == 201
    status = client.get("/api/status").get_json()
    assert status["checked_in"] == 1 and status["pending_events"] == 3


def test_the_kiosk_api_answers_only_the_kiosk_machine(tmp_path):
    """Anyone on the shelter's Wi-Fi could otherwise check people out or probe who is here."""
    from kiosk import create_app
    app = create_app({"KIOSK_DB": str(tmp_path / "k.sqlite3"), "SHELTER_ID": "H031", "TESTING": True})
    lan = app.test_client()
    person = {"name": "焼津 花", "birth_date": "1990-01-01", "sex": "female"}
    # The screen's own routes too: the card reader (PIN tries), QR, check-in, leaving, calling staff.
    for path in ("/api/checkin", "/api/checkout", "/api/person-status", "/api/ic/tap", "/api/staff-calls",
                 "/screen/card", "/screen/card-tries", "/screen/qr", "/screen/checkin", "/screen/leave",
                 "/screen/call-staff", "/screen/member", "/screen/ic"):
        resp = lan.post(path, json={"persons": [person], "pin": "0000"}, environ_base={"REMOTE_ADDR": "192.168.10.23"})
        assert resp.status_code == 403 and "staff pages" in resp.get_json()["message"], path
    for path in ("/", "/api/card-status"):
        assert lan.get(path, environ_base={"REMOTE_ADDR": "192.168.10.23"}).status_code == 403, path
    # Staff's pages and the kiosk's status stay open to the shelter's network.
    for path in ("/api/status", "/staff/login", "/static/kiosk.css"):
        assert lan.get(path, environ_base={"REMOTE_ADDR": "192.168.10.23"}).status_code == 200, path
    assert app.extensions["kiosk_db_keeper"].open_staff_calls() == []
    here = lan.post("/api/checkin", json={"persons": [person]})
    assert here.status_code == 201
    elsewhere = lan.post("/api/checkin", json={"persons": [person], "shelter_id": "H039"})
    assert elsewhere.status_code == 422 and "stands in shelter H031" in elsewhere.get_json()["message"]
    odd = lan.post("/api/checkin", json={"persons": [person], "shelter_id": ["x"]})
    assert odd.status_code == 422


# -- a staff correction of name, birth date or address: the same person under a new key ----------

def _correction(old: Person, new: Person, household_id: str = "") -> dict:
    return {"type": "correction", "shelter_id": "H001", "person": old.to_wire(), "household_id": household_id,
            "data": {"person": new.to_wire()}}


def _rows(store) -> list:
    return store.db.execute("SELECT * FROM roster ORDER BY person_key").fetchall()


def test_a_correction_re_keys_the_roster_and_what_is_known_follows(kiosk_store):
    from evac.identity import person_key
    from kiosk import staff_store
    typo = Person("焼津 太郎", "1948-03-03", "male", "焼津市藤守1243-5", "ヤイヅ タロウ")
    fixed = Person("焼津 太郎", "1948-03-03", "male", "焼津市藤守1234-5", "ヤイヅ タロウ")
    kiosk_store.check_in("H001", [typo, HANAKO], stay_type="in_car", needs=[["dialysis"], []],
                         disclosure="family", family_code="hamada7", never_disclose=True)
    household = kiosk_store.find(typo.name, typo.birth_date, typo.address).household_id
    token = "ic:" + "ab" * 16
    kiosk_store.link_ic(token, typo.name, typo.birth_date, typo.address, "H001")
    (ev,) = kiosk_store.append([_correction(typo, fixed, household)])
    assert ev.type == "correction" and ev.person == typo and ev.data == {"person": fixed.to_wire()}

    # The typo still names her (a QR printed with it, say), but she is on the roster as corrected.
    assert kiosk_store.find(typo.name, typo.birth_date, typo.address).person == fixed
    entry = kiosk_store.find("焼津太郎", "1948-03-03", "藤守1234-5")
    assert entry.person == fixed and entry.household_id == household
    assert (entry.where.state, entry.where.shelter_id, entry.where.stay_type) == ("checked_in", "H001", "in_car")
    assert len(kiosk_store.checked_in("H001")) == 2, "occupancy unchanged: the same two people"
    assert kiosk_store.ic_holder(token).person == fixed
    profile = staff_store.profiles(kiosk_store)[person_key(fixed.name, fixed.birth_date, fixed.address)]
    assert profile.needs == ("dialysis",) and profile.never_disclose and profile.family_code == "hamada7"
    assert person_key(typo.name, typo.birth_date, typo.address) not in staff_store.profiles(kiosk_store)
    assert kiosk_store.db.execute("SELECT last_seq FROM roster WHERE name_kana = ?", (fixed.name_kana,)
                                  ).fetchone() == (ev.seq,)
    # Later events are written under the corrected identity.
    assert kiosk_store.check_out(fixed.name, fixed.birth_date, fixed.address).person == fixed


def test_a_word_under_the_corrected_away_identity_lands_on_the_corrected_row(kiosk_store):
    """The person scans the pre-registration QR with the typo again: the kiosk's roster keeps one
    person under the corrected identity (the event says what was read; HQ maps it the same way)."""
    from kiosk import staff_store
    typo = Person("焼津 太郎", "1948-03-03", "male", "焼津市藤守1243-5")
    fixed = Person("焼津 太郎", "1948-03-30", "male", "焼津市藤守1234-5")
    other = Person("焼津 太郎", "1948-03-30", "male", "焼津市本町1-1")
    kiosk_store.check_in("H001", [typo], needs=[["dialysis"]])
    kiosk_store.append([_correction(typo, fixed)])
    kiosk_store.check_out(fixed.name, fixed.birth_date, fixed.address)
    (ev,) = kiosk_store.check_in("H001", [typo], stay_type="in_car")
    assert ev.person == typo
    rows = _rows(kiosk_store)
    assert [(r[1], r[3], r[8], r[10]) for r in rows] == [("焼津 太郎", "1948-03-30", "checked_in", "in_car")]
    kiosk_store.append([{"type": "needs", "shelter_id": "H001", "person": typo.to_wire(), "data": {"needs": ["pets"]}}])
    assert [p.needs for p in staff_store.profiles(kiosk_store).values()] == [("pets",)]
    # Corrected again (a chain), then back: the mapping follows; the first identity names the row again.
    kiosk_store.append([_correction(fixed, other)])
    assert kiosk_store.find(typo.name, typo.birth_date, typo.address).person == other
    kiosk_store.append([_correction(other, typo)])
    assert kiosk_store.find(fixed.name, fixed.birth_date, fixed.address).person == typo
    assert [(r[1], r[3]) for r in _rows(kiosk_store)] == [("焼津 太郎", "1948-03-03")]
    assert [p.needs for p in staff_store.profiles(kiosk_store).values()] == [("pets",)]


def test_a_correction_onto_someone_else_here_writes_nothing(kiosk_store):
    kiosk_store.check_in("H001", [TARO, HANAKO])
    before = (kiosk_store.last_seq, _rows(kiosk_store))
    with pytest.raises(KioskError, match="already someone else"):
        kiosk_store.append([_correction(TARO, Person(HANAKO.name, HANAKO.birth_date, "male", HANAKO.address))])
    assert (kiosk_store.last_seq, _rows(kiosk_store)) == before


def test_a_correction_of_someone_unknown_here_writes_nothing(kiosk_store):
    kiosk_store.check_in("H001", [HANAKO])
    before = (kiosk_store.last_seq, _rows(kiosk_store))
    with pytest.raises(KioskError, match="not known at this kiosk"):
        kiosk_store.append([{"type": "needs", "shelter_id": "H001", "person": HANAKO.to_wire(),
                             "data": {"needs": ["pets"]}},
                            _correction(TARO, Person(TARO.name, "1949-03-03", "male", TARO.address))])
    assert (kiosk_store.last_seq, _rows(kiosk_store)) == before, "the needs event before it is rolled back too"


def test_the_cli_checks_out_by_the_corrected_identity(tmp_path):
    from tests.conftest import run_evac
    store = KioskStore(tmp_path / "k.sqlite3")
    store.check_in("H001", [TARO])
    store.append([_correction(TARO, Person(TARO.name, "1949-03-03", "male", TARO.address))])
    store.close()
    db = str(tmp_path / "k.sqlite3")
    new = run_evac("kiosk", "checkout", "--db", db, "--name", "焼津 太郎", "--birth", "1949-03-03",
                   "--address", "焼津市本町5-9-1")
    assert new.returncode == 0, new.stderr
    assert "checked out: 焼津 太郎 from H001" in new.stdout
    # The old identity names the same (corrected) person, who is no longer checked in.
    old = run_evac("kiosk", "checkout", "--db", db, "--name", "焼津 太郎", "--birth", "1948-03-03",
                   "--address", "焼津市本町5-9-1")
    assert old.returncode == 2 and "has already checked out from H001" in old.stderr, old.stderr


def test_never_disclose_stays_when_the_person_checks_in_again_until_a_lead_lifts_it(tmp_path):
    """A lead protected her (DV/stalker): checking in again on the screen, by QR or typed in writes a
    consent without the protection; the kiosk keeps it.  Only the lead's own form lifts it."""
    from kiosk import staff_store
    db = tmp_path / "k.sqlite3"
    store = KioskStore(db)
    nozomi = Person("匿名 希", "1990-02-02", "female", "焼津市大住1")
    store.check_in("H001", [nozomi], disclosure="family", family_code="sakura7")
    row = staff_store.person(store, person_key_of(nozomi))
    staff_store.set_never_disclose(store, "H001", row, True)
    store.check_out(nozomi.name, nozomi.birth_date, nozomi.address)
    store.check_in("H001", [nozomi], disclosure="none")   # the screen's check-in
    last = json.loads(store.db.execute("SELECT body FROM events ORDER BY seq DESC LIMIT 1").fetchone()[0])
    assert last["type"] == "consent" and last["data"] == {"consent": "none", "never_disclose": True}
    assert staff_store.profiles(store)[person_key_of(nozomi)].never_disclose
    # A kiosk database from before the protected table learns it from its consent events.
    store.db.execute("DROP TABLE protected")
    store.close()
    store = KioskStore(db)
    assert store.is_protected(nozomi.name, nozomi.birth_date, nozomi.address)
    # The lead lifts it on the tablet; a later check-in then writes what the person chose.
    row = staff_store.person(store, person_key_of(nozomi))
    staff_store.set_never_disclose(store, "H001", row, False)
    store.check_out(nozomi.name, nozomi.birth_date, nozomi.address)
    store.check_in("H001", [nozomi], disclosure="public")
    assert not store.is_protected(nozomi.name, nozomi.birth_date, nozomi.address)
    assert not staff_store.profiles(store)[person_key_of(nozomi)].never_disclose
    store.close()


def person_key_of(p: Person) -> str:
    from evac.identity import person_key
    return person_key(p.name, p.birth_date, p.address)


def test_hqs_configuration_is_fetched_again_after_the_clock_was_set_back(kiosk_store):
    # Fetched "tomorrow" by a clock that ran a day fast, then the clock was put right: the next fetch
    # must not wait a day (the shelter list, QR keys and revocations would be that old).
    import datetime as dt
    kiosk_store.apply_config({"shelters": [{"id": "H001", "name": "x", "kind": "shelter", "capacity": 10}]})
    assert not kiosk_store.config_due(600)
    tomorrow = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1)).isoformat()
    with kiosk_store._write():
        kiosk_store._set_meta("config_at", tomorrow)
    assert kiosk_store.config_due(600)


def test_the_status_counts_exactly_whom_the_roster_lists(tmp_path):
    # /api/status counts with SQL (the roster of a large shelter is slow to build only to count it):
    # after check-ins, a check-out and a transfer the count is the roster's, here and for every shelter.
    from kiosk import create_app
    db = tmp_path / "k.sqlite3"
    client = create_app({"KIOSK_DB": str(db), "SHELTER_ID": "H001", "TESTING": True}).test_client()
    store = KioskStore(db)
    try:
        assert store.count_checked_in("H001") == store.count_checked_in() == 0
        store.check_in("H001", [TARO, HANAKO])
        store.check_in("H001", [Person("駿河 一郎", "1990-01-01", "male", "")], stay_type="in_car")
        store.check_in("H002", [Person("駿河 二郎", "1992-02-02", "male", "")])
        store.check_out(TARO.name, TARO.birth_date, TARO.address)
        store.transfer(HANAKO.name, HANAKO.birth_date, HANAKO.address, "H003")
        counts = {s: store.count_checked_in(s) for s in ("H001", "H002", "H003", None)}
        assert counts == {s: len(store.checked_in(s)) for s in counts}
        assert counts == {"H001": 1, "H002": 1, "H003": 0, None: 2}   # she is on her way, not checked in yet
        assert client.get("/api/status").get_json()["checked_in"] == counts["H001"]
    finally:
        store.close()
