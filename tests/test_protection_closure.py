"""An inquiry's protection (災対法 §86-15) is decided over the birth dates staff corrections link to the one
asked about, never over the whole city: with any correction on record, every inquiry used to read the records
of every protected person's birth date, of their households' members and of every correction (83 ms at 50k
persons).  The answer must stay exactly the city's: a hypothesis property over random small cities (protected
people, households, chains of corrections at several kiosks, through real kiosk batches), and which birth
dates' records an inquiry reads now (SQLAlchemy's before_cursor_execute), on a real HQ app and database."""
from __future__ import annotations

import contextlib
import itertools
import threading

import pytest
from hypothesis import HealthCheck, example, given, settings, strategies as st
from sqlalchemy import event, select

from evac.disclosure import protection_forms
from evac.events import Person
from hq_dashboard.db import db
from hq_dashboard.models import Person as HQPerson
from hq_dashboard.safety import one_reading, protected_among, protected_identities
from tests.test_hq_corrections import _post
from tests.test_protection_follows_corrections import answer
from tests.protection_towns import identities, send_town, steps
from tests.wire import KioskStream

T0 = 1_764_000_000_000


@contextlib.contextmanager
def parameters_sent(app):
    """Every value HQ sends its database as a statement's parameter meanwhile, in this thread (the test
    client's requests run in it; a sync's put-back pass runs in another, notify.PutBackWorker)."""
    sent: list = []
    here = threading.get_ident()

    def flatten(parameters):
        if isinstance(parameters, dict):
            parameters = list(parameters.values())
        if isinstance(parameters, (list, tuple)):
            for p in parameters:
                flatten(p)
        else:
            sent.append(parameters)

    with app.app_context():
        engine = db.engine

    def listener(conn, cursor, statement, parameters, context, executemany):
        if threading.get_ident() == here:
            flatten(parameters)

    event.listen(engine, "before_cursor_execute", listener)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", listener)


# -- what one inquiry reads -------------------------------------------------------------------------------------

MOTHER = Person("保護 母子", "1980-01-01", "female", "焼津市保護町1-1")
CHILD = Person("保護 子太郎", "2010-10-10", "male", "焼津市保護町1-1")
ICHIRO = Person("山田 一郎", "1990-02-02", "male", "焼津市本町6-6")
ICHIRO_FIXED = Person("山田 一郎", "1990-02-20", "male", "焼津市本町6-6")
HANAKO = Person("鈴木 花子", "1975-05-05", "female", "焼津市本町7-7")
CITY_DATES = {p.birth_date for p in (MOTHER, CHILD, ICHIRO, ICHIRO_FIXED, HANAKO)}


def test_an_inquiry_reads_only_the_birth_dates_a_correction_links_to_the_one_asked(hq_app, hq_client, enroll):
    """A protected mother and her child at one shelter, a correction of someone else's birth date at another:
    an inquiry about a third person reads the records of her birth date alone, and one about the corrected
    person those of the two dates the correction links (before: those of every protected person's birth date
    and of her household's, whatever was asked)."""
    ta, tb = enroll("H031"), enroll("H039")
    a, b = KioskStream("dev-a", "H031"), KioskStream("dev-b", "H039")
    household = "hh-0123456789abcdef"
    for who, protect in ((MOTHER, True), (CHILD, False)):
        a.checkin(who.to_wire(), at_ms=T0 + len(a.events), household_id=household)
        a.add("consent", who.to_wire(), {"consent": "public", "never_disclose": protect}, household_id=household)
    _post(hq_client, ta, a)
    for who in (ICHIRO, HANAKO):
        b.checkin(who.to_wire())
        b.add("consent", who.to_wire(), {"consent": "public"})
    b.add("correction", ICHIRO.to_wire(), {"person": ICHIRO_FIXED.to_wire()})
    _post(hq_client, tb, b)

    with parameters_sent(hq_app) as sent:
        told = answer(hq_client, HANAKO)
    assert told["whereabouts"]["shelter_id"] == "H039", "the inquiry itself is answered"
    assert CITY_DATES & set(sent) == {HANAKO.birth_date}

    with parameters_sent(hq_app) as sent:
        told = answer(hq_client, ICHIRO_FIXED)
    assert told["whereabouts"]["shelter_id"] == "H039"
    assert CITY_DATES & set(sent) == {ICHIRO.birth_date, ICHIRO_FIXED.birth_date}

    # The child is protected through his mother's household: his household's members' days are read, whoever is
    # protected (what is read must not tell it), and no other.
    with parameters_sent(hq_app) as sent:
        told = answer(hq_client, CHILD)
    assert told == answer(hq_client, Person("保護 誰", CHILD.birth_date, "male")), "answered as someone unknown"
    assert CITY_DATES & set(sent) == {CHILD.birth_date, MOTHER.birth_date}


# -- the same protection as the city's: a property over random small cities --------------------------------------

# A chain: protected on day 0, corrected to day 1 at b, then to day 2 at c.  Day 3's record shares a household
# with the chain's person at c, whom only a link protects: protection reaches day 3 too (the households of every
# record it reaches).
CHAIN = ([(1, 0, "female", 0), (1, 1, "female", 0), (2, 2, "female", 1), (5, 3, "male", 1)],
         [("checkin", 0, 0, 0), ("protect", 0, 0, 0), ("checkin", 1, 0, 0), ("correct", 1, 0, 1),
          ("checkin", 2, 1, 1), ("correct", 2, 1, 2), ("checkin", 2, 3, 1)])

_month = itertools.count()


@pytest.mark.parametrize("hq_db_url", ["sqlite"], indirect=True)
@settings(max_examples=20, deadline=None,
          # One HQ for every example: each has birth dates (a month), kiosks and households of its own, which no
          # protection, household or correction of another example reaches, so each is its own small city.
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@example(town=CHAIN)
@given(town=st.tuples(identities, steps))
def test_the_protection_of_a_birth_date_is_the_citys_on_that_date(hq_app, hq_client, enroll, town):
    dates = send_town(hq_client, enroll, town, next(_month), 1940, "")

    with hq_app.app_context():
        session = db.session
        city = protected_identities(session)
        born = {d: list(session.execute(select(HQPerson).where(HQPerson.birth_date == d)).scalars()) for d in dates}
        reached = {d: {p.id for p in born[d] if protection_forms(p.name, p.name_kana, p.birth_date) & city}
                   for d in dates}
        for d in dates:
            assert protected_identities(session, d) == {f for f in city if f[1] == d}, d
            assert protected_among(session, born[d]) == reached[d], d
        everyone = [p for d in dates for p in born[d]]
        assert protected_among(session, everyone) == set().union(*reached.values())
        with one_reading(session):   # kept for the reading: the same, in any order, the city's too
            for d in reversed(dates + dates):
                assert protected_identities(session, d) == {f for f in city if f[1] == d}, d
                assert protected_among(session, born[d]) == reached[d], d
            assert protected_among(session, everyone) == set().union(*reached.values())
            assert protected_identities(session) == city
        session.rollback()
    if town == CHAIN:
        # The example means what it says: the chain's far end is protected, and the household there.
        assert {f[1] for f in city_of(hq_app) if f[1] in dates} == set(dates)


def city_of(app):
    with app.app_context():
        return protected_identities(db.session)
