import datetime as dt

import pytest

from evac.events import InvalidEvent, canonical_json, order_key, parse_event
from evac.hlc import pack
from evac.identity import normalize_name


def wire(**over):
    event = {"kiosk_id": "kiosk-1", "seq": 1, "hlc": 123456789, "type": "checkin", "shelter_id": "H001",
             "person": {"name": "山田 太郎", "birth_date": "1950-04-01", "sex": "male", "address": "焼津市本町1-1"},
             "data": {"stay_type": "in_shelter"}}
    event.update(over)
    return event


def test_a_valid_checkin_round_trips():
    ev = parse_event(wire())
    assert ev.person.name == "山田 太郎"
    assert parse_event(ev.to_wire()) == ev
    assert canonical_json(parse_event(ev.to_wire()).to_wire()) == canonical_json(ev.to_wire())


@pytest.mark.parametrize("over, message", [
    ({"type": "teleport"}, "unknown event type"),
    ({"seq": 0}, "seq must be a positive"),
    ({"seq": "1"}, "seq must be a positive"),
    ({"hlc": -5}, "hlc must be"),
    ({"shelter_id": ""}, "shelter id is missing"),
    ({"shelter_id": "H 001"}, "shelter id may only contain"),
    ({"person": None}, "person must be an object"),
    ({"data": {"stay_type": "on_the_roof"}}, "stay type must be one of"),
    ({"type": "transfer", "data": {}}, "destination shelter is missing"),
    ({"type": "needs", "data": {"needs": ["unicorn"]}}, "needs must be a list"),
    ({"type": "shelter_status", "data": {"status": "open"}}, "is not about a person"),
])
def test_bad_events_are_refused_with_a_reason(over, message):
    with pytest.raises(InvalidEvent, match=message):
        parse_event(wire(**over))


CORRECTING = {"type": "clock_correction", "seq": 5, "person": None}


@pytest.mark.parametrize("dates, message", [
    ([], "1 to 500"),
    ([[1, 1764000000000]] * 501, "1 to 500"),
    ([[1, "1764000000000"]], "1 to 500"),
    ([[0, 1764000000000]], "1 to 500"),
    ([[1, 1 << 47]], "1 to 500"),
    ([[2, 1764000000000], [1, 1764000000000]], "in order, each once"),
    ([[1, 1764000000000], [1, 1764000000001]], "in order, each once"),
    ([[4, 1764000000000], [5, 1764000000000]], "written before it"),
])
def test_a_clock_correction_names_earlier_records_with_times(dates, message):
    with pytest.raises(InvalidEvent, match=message):
        parse_event(wire(**CORRECTING, data={"dates": dates}))
    good = parse_event(wire(**CORRECTING, data={"dates": [[1, 1764000000000], [4, 1764000001000]]}))
    assert good.person is None and parse_event(good.to_wire()) == good


@pytest.mark.parametrize("person, message", [
    ({"name": " ", "birth_date": "1950-04-01", "sex": "male"}, "name is missing"),
    ({"name": "x" * 101, "birth_date": "1950-04-01", "sex": "male"}, "name is too long"),
    ({"name": "a\x1b[2Jb", "birth_date": "1950-04-01", "sex": "male"}, "control characters"),
    ({"name": "山田", "birth_date": "1950-02-30", "sex": "male"}, "not a date"),
    ({"name": "山田", "birth_date": "1850-01-01", "sex": "male"}, "not plausible"),
    ({"name": "山田", "birth_date": (dt.date.today() + dt.timedelta(days=30)).isoformat(), "sex": "male"},
     "not plausible"),
    ({"name": "山田", "birth_date": "1950-01-01", "sex": "x"}, "sex must be one of"),
])
def test_bad_people_are_refused_with_a_reason(person, message):
    with pytest.raises(InvalidEvent, match=message):
        parse_event(wire(person=person))


def _hlc_on(day: dt.date) -> int:
    return pack(int(dt.datetime.combine(day, dt.time(12), dt.timezone.utc).timestamp() * 1000))


def test_a_birth_date_the_writing_kiosk_could_accept_is_accepted_wherever_the_event_is_read():
    # A kiosk whose clock ran a year ahead accepted a baby "born" after HQ's today: refusing the event
    # at HQ would hold back every event the kiosk queued after it, on every sync, for good.
    ahead = dt.date.today() + dt.timedelta(days=365)
    born = (ahead - dt.timedelta(days=3)).isoformat()
    person = {"name": "山田 花", "birth_date": born, "sex": "female"}
    assert parse_event(wire(hlc=_hlc_on(ahead), person=person)).person.birth_date == born
    # Written today, the same birth date is still refused, and so is one after the event's own day.
    with pytest.raises(InvalidEvent, match="not plausible"):
        parse_event(wire(hlc=_hlc_on(dt.date.today()), person=person))
    with pytest.raises(InvalidEvent, match="not plausible"):
        parse_event(wire(hlc=_hlc_on(ahead - dt.timedelta(days=10)), person=person))
    # So does the corrected identity of a correction.
    fixed = parse_event(wire(type="correction", hlc=_hlc_on(ahead),
                             person={"name": "山田 花", "birth_date": "2020-01-01", "sex": "female"},
                             data={"person": person}))
    assert fixed.data["person"]["birth_date"] == born


def test_an_event_stamped_in_the_past_is_still_checked_against_today():
    # A kiosk clock reset to 2000 must not make a child born since then implausible (the kiosk keeps
    # the date its clock had reached; HQ checks against its own today).
    child = {"name": "山田 陽", "birth_date": (dt.date.today() - dt.timedelta(days=400)).isoformat(), "sex": "male"}
    assert parse_event(wire(hlc=_hlc_on(dt.date(2000, 1, 1)), person=child)).person == parse_event(
        wire(person=child)).person


# -- corrections: the same person under a corrected name, birth date or address ----------------

OLD = {"name": "山田 太郎", "birth_date": "1950-04-01", "sex": "male", "address": "焼津市藤守1243-5"}


def correction(new, **over):
    return wire(type="correction", person=over.pop("person", OLD), data={"person": new}, **over)


@pytest.mark.parametrize("change", [{"birth_date": "1951-04-01"}, {"address": "焼津市藤守1234-5"},
                                    {"name": "山田 太朗"}])
def test_a_correction_carries_the_old_and_the_corrected_identity(change):
    ev = parse_event(correction({**OLD, **change, "name_kana": " ヤマダ タロウ "}))
    assert ev.person.to_wire() == OLD
    assert ev.data == {"person": {**OLD, **change, "name_kana": "ヤマダ タロウ"}}, "validated like any person"
    assert parse_event(ev.to_wire()) == ev


@pytest.mark.parametrize("data, message", [
    ({}, "needs the corrected person"),
    ({"person": {**OLD, "birth_date": "1950-02-30"}}, "not a date"),
    ({"person": {**OLD, "name": "", "birth_date": "1951-04-01"}}, "name is missing"),
    ({"person": {**OLD, "sex": "x"}}, "sex must be one of"),
    ({"person": {**OLD, "name": "・", "birth_date": "1951-04-01"}}, "has no letters"),
    ({"person": {**OLD, "address": "静岡県焼津市藤守１２４３番地の５"}}, "same person"),
    ({"person": {**OLD, "name": "山田　太郎", "sex": "female", "name_kana": "ヤマダ"}}, "same person"),
    ({"person": {**OLD, "birth_date": "1951-04-01", "prereg_id": "P-1"}}, "pre-registration id"),
])
def test_a_correction_that_is_not_one_is_refused(data, message):
    with pytest.raises(InvalidEvent, match=message):
        parse_event(wire(type="correction", person=OLD, data=data))


def test_a_correction_cannot_drop_the_pre_registration_id():
    with pytest.raises(InvalidEvent, match="pre-registration id"):
        parse_event(correction({**OLD, "birth_date": "1951-04-01"}, person={**OLD, "prereg_id": "P-1"}))
    ev = parse_event(correction({**OLD, "birth_date": "1951-04-01", "prereg_id": "P-1"},
                                person={**OLD, "prereg_id": "P-1"}))
    assert ev.data["person"]["prereg_id"] == "P-1"


def test_order_key_sorts_like_the_order_tuple():
    orders = [(5, "b", 2), (5, "a", 9), (4, "z", 1), (5, "a", 10), (5, "dev-10", 1), (5, "dev-1", 2),
              (5, "dev-1.x", 1), (5, "dev-1_", 1), (5, "dev-1:", 1), (5, "dev-1-", 1)]
    assert sorted(orders) == sorted(orders, key=lambda o: order_key(*o))


def test_event_json_is_exactly_the_canonical_form():
    from hypothesis import assume, given, strategies as st

    from evac.events import event_json
    from evac.individual_number import contains_individual_number

    @given(st.sampled_from(["checkin", "stay_type", "checkout", "transfer", "needs", "status", "shelter_status",
                            "correction"]),
           st.text(min_size=1, max_size=20).filter(lambda t: t.strip() and not any(ord(c) < 32 or 127 <= ord(c) < 160 for c in t)),
           st.booleans(), st.integers(1, 2**40))
    def check(etype, name, household, seq):
        assume(normalize_name(name))  # a person needs a name that is more than separators
        assume(not contains_individual_number(name))  # and no Individual Number in it (番号法 §20)
        data = {"checkin": {"stay_type": "in_car"}, "stay_type": {"stay_type": "at_home"}, "checkout": {},
                "transfer": {"to_shelter_id": "H002"},
                "needs": {"needs": ["infant", "pets"]}, "status": {"status": "injured", "note": '"quoted" \\ 痛い'},
                "shelter_status": {"status": "open"},
                "correction": {"person": {"name": name, "birth_date": "1951-04-01", "sex": "female",
                                          "address": 'a"b\\c', "prereg_id": "P-1", "name_kana": name}}}[etype]
        raw = wire(type=etype, seq=seq, data=data, household_id="hh-1" if household else None,
                   person=None if etype == "shelter_status" else
                   {"name": name, "birth_date": "1950-04-01", "sex": "female", "address": 'a"b\\c', "prereg_id": "P-1"})
        ev = parse_event(raw)
        assert event_json(ev) == canonical_json(ev.to_wire())
    check()


def test_event_json_of_needs_status_and_transfer_data_is_the_canonical_form():
    """event_json writes these data shapes and the person from cached pieces: any needs, note,
    destination, name, kana, address and pre-registration id."""
    from hypothesis import assume, given, strategies as st

    from evac.events import NEEDS_CODES, PERSON_STATUSES, event_json

    # Quotes and backslashes often: they are what a hand-built piece would get wrong.
    note = st.text(st.characters(blacklist_categories=("Cc", "Cs")) | st.sampled_from('"\\'), max_size=30)
    data = st.one_of(
        st.builds(lambda n: ("needs", {"needs": n}), st.lists(st.sampled_from(NEEDS_CODES), max_size=5)),
        # The corrected person: another birth date, so the key always changes.
        st.builds(lambda n, a: ("correction", {"person": {"name": n, "address": a, "birth_date": "1951-04-01",
                                                          "sex": "other", "name_kana": a}}),
                  note.filter(str.strip), note),
        st.builds(lambda s, n: ("status", {"status": s, "note": n}), st.sampled_from(PERSON_STATUSES), note),
        st.builds(lambda s: ("transfer", {"to_shelter_id": s}), st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,20}",
                                                                                fullmatch=True)))

    person = st.fixed_dictionaries({"name": note.filter(str.strip), "address": note,
                                     "birth_date": st.just("1950-04-01"), "sex": st.sampled_from(["female", "male", "other"])},
                                    optional={"name_kana": note, "prereg_id": st.sampled_from(["", "P-1", "x.y:z"])})

    @given(data, person)
    def check(shape, who):
        etype, body = shape
        assume(normalize_name(who["name"]))   # a name of separators only is refused (parse_person)
        if etype == "correction":  # a correction keeps the pre-registration id
            assume(normalize_name(body["person"]["name"]))
            body = {"person": {**body["person"], "prereg_id": who.get("prereg_id", "")}}
        ev = parse_event(wire(type=etype, data=body, person=who))
        assert event_json(ev) == canonical_json(ev.to_wire())
    check()


def test_order_key_sorts_like_the_order_tuple_for_any_kiosk_ids():
    from hypothesis import given, strategies as st

    ids = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,10}", fullmatch=True)

    @given(st.lists(st.tuples(st.integers(0, 3), ids, st.integers(0, 10**6)), max_size=8))
    def check(orders):
        assert sorted(orders) == sorted(orders, key=lambda o: order_key(*o))
    check()
