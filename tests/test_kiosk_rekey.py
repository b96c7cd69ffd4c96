"""A kiosk database written under identity form 1 (evac.identity before IDENTITY_FORM 2), opened by
today's store: its roster, whom each record is about, corrections, protection and IC links are keyed
again from its own log, once, and the log itself stays as HQ has it."""
import sqlite3
from pathlib import Path

import pytest

import evac.events
import kiosk.store
from evac.events import CORRECTION, Person
from evac.identity import IDENTITY_FORM, person_key
from kiosk.store import KioskStore
from tests import identity_form1

# Form 1 keyed the card's and the typed address of one flat as two people, and kept 号室 in a room.
CARD = Person("焼津 太郎", "1948-03-03", "male", "静岡県焼津市本町五丁目９番１号　焼津ハイツ２０３")
TYPED = Person("焼津太郎", "1948-03-03", "male", "本町5-9-1 焼津ハイツ203号室")
ROOM = Person("大井 花子", "1950-07-07", "female", "焼津市本町三丁目4番5号 コーポ大井101号室")
HIDDEN = Person("匿名 希", "1990-02-02", "female", "焼津市本町三丁目4番5号 コーポ大井102号室")
TYPO = Person("駿河 一朗", "1985-05-05", "male", "焼津市本町三丁目4番5号 コーポ大井103号室")
FIXED = Person("駿河 一郎", "1985-05-05", "male", "焼津市本町三丁目4番5号 コーポ大井103号室")
TOKEN_ROOM, TOKEN_TYPED = "ic:" + "1" * 32, "ic:" + "2" * 32
DERIVED = ("roster", "event_person", "corrected_keys", "protected", "ic_links")


def key(p: Person) -> str:
    return person_key(p.name, p.birth_date, p.address)


@pytest.fixture(scope="module")
def form1_key():
    """person_key as form 1 had it (tests/identity_form1.py)."""
    for who, pinned in identity_form1.PINNED.items():
        assert identity_form1.person_key(*who) == pinned
    # The people here are keyed otherwise by form 1: else these tests would show nothing.
    for p in (CARD, TYPED, ROOM, HIDDEN, TYPO, FIXED):
        assert identity_form1.person_key(p.name, p.birth_date, p.address) != key(p)
    assert identity_form1.person_key(CARD.name, CARD.birth_date, CARD.address) != \
        identity_form1.person_key(TYPED.name, TYPED.birth_date, TYPED.address)
    return identity_form1.person_key


def upgraded(tmp_path: Path, form1_key, *steps) -> KioskStore:
    """A kiosk database as a kiosk under form 1 wrote it with `steps` (the store keying everything it
    derives, and checking corrections, with form 1's person_key; no identity form recorded), opened by
    today's store."""
    path = tmp_path / "k.sqlite3"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(kiosk.store, "person_key", form1_key)
        mp.setattr(evac.events, "person_key", form1_key)
        store = KioskStore(path)
        for step in steps:
            step(store)
        with store._write():
            store.db.execute("DELETE FROM meta WHERE key = 'identity_form'")
        store.close()
    return KioskStore(path)


def dump(path: Path, tables=DERIVED) -> dict[str, list]:
    conn = sqlite3.connect(path)
    try:
        return {t: conn.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in tables}
    finally:
        conn.close()


def correction(old: Person, new: Person, shelter: str = "H001") -> dict:
    return {"type": CORRECTION, "shelter_id": shelter, "person": old.to_wire(), "data": {"person": new.to_wire()}}


def test_someone_checked_in_before_the_upgrade_checks_out_after_it_and_has_their_page(tmp_path, form1_key):
    store = upgraded(tmp_path, form1_key, lambda s: s.check_in("H001", [ROOM]))
    event = store.check_out(ROOM.name, ROOM.birth_date, ROOM.address)
    assert event.type == "checkout" and store.count_checked_in() == 0
    # The staff tablet's link to their page is today's key: it lists both records.
    assert [r.event["type"] for r in store.person_records(key(ROOM))] == ["checkout", "checkin"]
    store.close()


def test_the_card_and_the_typed_address_of_one_flat_become_one_person_where_the_later_record_says(
        tmp_path, form1_key):
    def two_people(s):
        assert s.count_checked_in() == 2   # under form 1
    store = upgraded(tmp_path, form1_key, lambda s: s.check_in("H001", [CARD]),
                     lambda s: s.check_in("H002", [TYPED]), two_people)
    assert store.count_checked_in() == 1
    (row,) = store.db.execute("SELECT person_key, shelter_id, address FROM roster").fetchall()
    assert row == (key(CARD), "H002", TYPED.address)
    assert store.find(CARD.name, CARD.birth_date, CARD.address).where.shelter_id == "H002"
    store.close()


def test_a_protected_person_stays_protected_after_the_upgrade(tmp_path, form1_key):
    store = upgraded(tmp_path, form1_key, lambda s: s.check_in("H001", [HIDDEN], never_disclose=True))
    assert store.is_protected(HIDDEN.name, HIDDEN.birth_date, HIDDEN.address)
    # The screen's next check-in keeps it, as before the upgrade.
    store.check_out(HIDDEN.name, HIDDEN.birth_date, HIDDEN.address)
    (*_, consent) = store.check_in("H001", [HIDDEN], disclosure="public")
    assert consent.data["never_disclose"] is True
    store.close()


def test_an_ic_card_linked_before_the_upgrade_still_names_its_holder(tmp_path, form1_key):
    store = upgraded(tmp_path, form1_key, lambda s: s.check_in("H001", [ROOM]),
                     lambda s: s.link_ic(TOKEN_ROOM, ROOM.name, ROOM.birth_date, ROOM.address))
    holder = store.ic_holder(TOKEN_ROOM)
    assert holder is not None and holder.person.name == ROOM.name
    assert store.tap_ic(TOKEN_ROOM, "H001")[0] == "checked_out"
    store.close()


def test_the_database_is_keyed_again_once_and_a_second_opening_changes_nothing(tmp_path, form1_key):
    first = upgraded(tmp_path, form1_key, lambda s: s.check_in("H001", [CARD, ROOM]),
                     lambda s: s.check_in("H001", [HIDDEN], never_disclose=True),
                     lambda s: s.check_in("H002", [TYPED]),
                     lambda s: s.link_ic(TOKEN_ROOM, ROOM.name, ROOM.birth_date, ROOM.address))
    assert first._meta("identity_form") == str(IDENTITY_FORM)
    after_first = dump(first.path)
    second = KioskStore(first.path)
    assert second._initialised() and second.db.total_changes == 0
    # A process that found the old form before the first had keyed it again, then waited for the write
    # lock: under the lock it finds today's form and writes nothing.
    second._initialise()
    assert second.db.total_changes == 0
    assert dump(first.path) == after_first
    first.close()
    second.close()


def test_a_correction_made_before_the_upgrade_still_leads_from_the_old_identity_to_the_new(tmp_path, form1_key):
    store = upgraded(tmp_path, form1_key, lambda s: s.check_in("H001", [TYPO]),
                     lambda s: s.append([correction(TYPO, FIXED)]))
    assert store.current_key(key(TYPO)) == key(FIXED)
    assert store.find(TYPO.name, TYPO.birth_date, TYPO.address).person.name == FIXED.name
    # A pre-registration QR printed with the typo checks out the one person.
    store.check_out(TYPO.name, TYPO.birth_date, TYPO.address)
    assert store.count_checked_in() == 0
    assert [r.event["type"] for r in store.person_records(key(TYPO))] == ["checkout", "correction", "checkin"]
    store.close()


def test_the_log_hq_holds_is_not_changed_by_keying_again(tmp_path, form1_key):
    logged = ("events", "withdrawn_events", "event_staff")
    before = {}
    store = upgraded(tmp_path, form1_key, lambda s: s.check_in("H001", [CARD, ROOM, TYPO]),
                     lambda s: s.check_in("H002", [TYPED]), lambda s: s.append([correction(TYPO, FIXED)]),
                     lambda s: before.update(dump(s.path, logged)))
    assert store.find(ROOM.name, ROOM.birth_date, ROOM.address) is not None   # keyed again
    store.close()
    assert dump(store.path, logged) == before


def test_a_correction_that_is_only_a_new_spelling_now_is_kept_as_the_spelling(tmp_path, form1_key):
    # Form 1 kept 号室, so adding it to the address was a correction; today it is the same key.
    without_room = Person(ROOM.name, ROOM.birth_date, ROOM.sex, "焼津市本町三丁目4番5号 コーポ大井101")
    store = upgraded(tmp_path, form1_key, lambda s: s.check_in("H001", [without_room]),
                     lambda s: s.append([correction(without_room, ROOM)]))
    assert store.db.execute("SELECT person_key, address, state FROM roster").fetchall() == [
        (key(ROOM), ROOM.address, "checked_in")]
    assert store.db.execute("SELECT * FROM corrected_keys").fetchall() == []
    store.close()


def test_a_correction_to_someone_on_the_roster_under_todays_keys_makes_one_person(tmp_path, form1_key):
    # Form 1: the card's 「焼津 太朗」 (a typo) and the typed 「焼津太郎」 at 「…203号室」 were two people,
    # and correcting the card's name made a third key; today that key is the typed one.
    card_typo = Person("焼津 太朗", CARD.birth_date, CARD.sex, CARD.address)
    store = upgraded(tmp_path, form1_key, lambda s: s.check_in("H002", [TYPED]),
                     lambda s: s.link_ic(TOKEN_TYPED, TYPED.name, TYPED.birth_date, TYPED.address),
                     lambda s: s.check_in("H001", [card_typo], never_disclose=True),
                     lambda s: s.append([correction(card_typo, CARD)]))
    assert store.db.execute("SELECT person_key, name, shelter_id FROM roster").fetchall() == [
        (key(CARD), CARD.name, "H001")]   # where the later check-in put them
    assert store.current_key(key(card_typo)) == key(CARD)
    assert store.is_protected(TYPED.name, TYPED.birth_date, TYPED.address)
    assert store.ic_holder(TOKEN_TYPED).person.name == CARD.name
    store.close()


def test_a_correction_of_someone_todays_keys_do_not_know_is_left_out_and_the_kiosk_opens(tmp_path, form1_key):
    # Form 1 read 「1234-5 二号棟」 as lot 1234-52, the row checked in; today it is building 2 of lot
    # 1234-5, and the correction names no one on the roster.  The records after it still count.
    lot = Person("藤守 次郎", "1960-06-06", "male", "焼津市藤守1234-52号棟")
    building = Person(lot.name, lot.birth_date, lot.sex, "焼津市藤守1234-5 二号棟")
    renamed = Person("藤守 二郎", lot.birth_date, lot.sex, building.address)
    store = upgraded(tmp_path, form1_key, lambda s: s.check_in("H001", [lot]),
                     lambda s: s.append([correction(building, renamed)]), lambda s: s.check_in("H001", [ROOM]))
    assert store.find(lot.name, lot.birth_date, lot.address).person == lot
    assert store.find(renamed.name, renamed.birth_date, renamed.address) is None
    assert store.count_checked_in() == 2
    assert store.last_seq == 3
    store.close()


def test_a_new_database_records_todays_form(tmp_path):
    store = KioskStore(tmp_path / "new.sqlite3")
    assert store._meta("identity_form") == str(IDENTITY_FORM)
    store.close()
