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
