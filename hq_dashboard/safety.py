"""Safety inquiries at HQ: receive, answer within consent, queue the rest for review, audit all.

The rules are evac.disclosure's; this module finds the candidates, keeps the
inquiry and its audit trail, and lets staff release or refuse.  Every inquiry
does the same work whether the person is known, unknown or protected, so the
time an answer takes says nothing either.
"""
from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import hmac
import json
import logging
import secrets
import threading
import weakref
from typing import Callable, Iterable, Iterator, NamedTuple

from sqlalchemy import and_, func, or_, select, text, update
from sqlalchemy.orm import Session

from evac.disclosure import (
    EXISTS, KANA_INQUIRY, KANA_RECORD, Answer, Inquiry, InvalidInquiry, PersonFacts, answer_after_review,
    answer_for_notice, answer_now, could_mean, family_code_opens, kana_only, matches, near, near_kanji_forms,
    offered_near, parse_inquiry, protected_forms, protection_forms, reading_differs, same_address, the_person,
)
from evac.events import CORRECTION, parse_birth_date
from evac.individual_number import contains_individual_number

from . import consent_reach, hospital_stays
from .db import one_writer, param_mark
from .merge import SELF_REPORT_DEVICE
from .models import (
    AuditEntry, EventRecord, HQMeta, Inquiry as InquiryRow, Kiosk, Person, PersonHousehold, Shelter,
)

log = logging.getLogger(__name__)

__all__ = ["NONE_OF_THESE", "InvalidInquiry", "InquiryNotFound", "ReviewError", "TooManyWaiting", "receive", "lookup", "release",
           "reject", "pending", "put_back_found", "search_audit"]

MESSAGES = {
    "answered": "This is what the person agreed may be told.",
    "pending_review": "Your inquiry has been received. City staff will confirm who you are (for example by "
                      "calling you back) before answering; check again later with your reference and key.",
    "released": "City staff confirmed your inquiry; this is what may be told to you.",
    "rejected": "City staff could not confirm your inquiry, so nothing more can be told. Please contact "
                "the city's safety-information desk.",
}


# The record staff "choose" when the inquirer means none of the records offered (release): no Person id is 0.
NONE_OF_THESE = 0


class InquiryNotFound(LookupError):
    pass


class TooManyWaiting(Exception):
    """This address already has as many inquiries waiting for staff as one address may (nothing was kept)."""

    def __init__(self, waiting: int):
        super().__init__(f"{waiting} earlier inquiries from this address are still waiting for staff")
        self.waiting = waiting


class ReviewError(ValueError):
    """`code` names the mistake for the staff page, which says it in the staff's language."""

    def __init__(self, message: str, code: str = ""):
        super().__init__(message)
        self.code = code


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def households_of(session: Session, persons: Iterable[Person]) -> dict[int, set[str]]:
    """Every household each of these persons is or was recorded in at HQ: persons.household_id, and
    person_households (by its key) for the few seen in more than one."""
    persons = list(persons)
    homes: dict[int, set[str]] = {p.id: ({p.household_id} if p.household_id else set()) for p in persons}
    ids = sorted(homes)
    for i in range(0, len(ids), 500):
        for pid, household in session.execute(select(PersonHousehold.person_id, PersonHousehold.household_id)
                                              .where(PersonHousehold.person_id.in_(ids[i:i + 500]))):
            homes[pid].add(household)
    return homes


def recorded_beyond_self_report(session: Session, person_ids: Iterable[int]) -> set[int]:
    """Those of these persons with a record made anywhere but the public self-report page (a kiosk, by card,
    QR, IC card or staff, or its carried file): someone has seen them.  The others are known only from
    what anyone could have typed in their name (evac.disclosure.PersonFacts.only_self_reported)."""
    ids = list(set(person_ids))
    seen: set[int] = set()
    for i in range(0, len(ids), 500):
        seen.update(session.execute(select(EventRecord.person_id).where(
            EventRecord.person_id.in_(ids[i:i + 500]), EventRecord.device_id != SELF_REPORT_DEVICE).distinct()).scalars())
    return seen


def _facts(session: Session, person: Person, through_household: set[int] | None = None,
           only_self_reported: bool | None = None, shelters: dict | None = None) -> PersonFacts:
    """`through_household`: those of the persons being looked at protection reaches (protected_among:
    through a household, now or before, of any record it reaches, or a correction's link; computed here
    when not given), so that one protected member protects the household at the moment of answering.
    `only_self_reported`: whether every record of the person is a self-report (looked up when not given)."""
    if through_household is None:
        through_household = protected_among(session, [person])
    if only_self_reported is None:
        only_self_reported = not recorded_beyond_self_report(session, [person.id])
    where = None
    if person.state == "checked_in":
        shelter = shelters.get(person.shelter_id) if shelters is not None else session.get(Shelter, person.shelter_id)
        where = {"state": person.stay_type, "shelter_id": person.shelter_id,
                 "shelter_name": shelter.name if shelter else person.shelter_id}
    elif person.state == "self_reported":
        where = {"state": person.stay_type, "shelter_id": None, "shelter_name": None, "self_reported": True}
    elif person.state in ("checked_out", "in_transit"):
        # The shelter they left; none on the way between two (persons.shelter_id is then where they go).
        where = {"state": "left_shelter", "shelter_id": person.shelter_id if person.state == "checked_out" else None,
                 "shelter_name": None}
    consent, family_code = person.effective_consent
    status = hospital_stays.status_now(session, person)
    return PersonFacts(name=person.name, name_kana=person.name_kana, birth_date=person.birth_date,
                       address=person.address, consent=consent, family_code=family_code,
                       never_disclose=person.never_disclose or person.id in through_household,
                       whereabouts=where, injury_or_illness=status, contact=person.contact,
                       consent_self_reported=person.consent_unchecked, sex=person.sex or "",
                       consent_unproven=person.consent_unproven,
                       only_self_reported=only_self_reported,
                       consent_speaks_for=consent_reach.consent_speaks_for(session, person, status))


def protected_identities(session: Session, birth_date: str | None = None) -> frozenset[tuple[str, str]]:
    """The (name form, birth date) protection reaches (born on `birth_date`, if given), by the same rule as
    inquiries (evac.disclosure.protected_forms): one protected record protects every record sharing a
    name form (kanji or kana) and birth date with it, and those records' other forms in turn; and everyone
    who is or was in a household any record protection reaches is or was in (by a shared form, a correction's
    link, or such a household in turn: she protected at one shelter and, at another, under the address she
    fled to, with her child), to a fixpoint.  For the whole city (the PFIF export, and the kiosks' digests
    read at every sync: api._protected) from the few protected rows, read by their index, the households'
    members by ix_persons_household_id and ix_person_households_household_id (_households_city).
    A staff correction links the identity it corrected away and the corrected one (correction_links):
    protection reaching either reaches both, whichever kiosk made the correction, and in turn whatever
    either reaches.  A birth date it links may be another day than the one asked about: protection is then
    decided over the records that could bear on the day asked about, the days the corrections link to it and
    the households of the records so found, in turn (_households_born), never the whole city."""
    links = correction_links(session)
    if birth_date is None:
        return _households_city(session, links)
    return _households_born(session, links, {birth_date})


def linked_birth_dates(session: Session, links: list[tuple[PersonFacts, PersonFacts]],
                       birth_dates: Iterable[str]) -> frozenset[str]:
    """These birth dates and every one a correction links to one of them, in turn: the smallest set of days
    holding both sides of every link with a side among them."""
    memo = session.info.get(_ONE_READING)
    linked = memo.get("linked_dates") if memo is not None else None
    if linked is None:
        linked = {}
        for old, new in links:
            linked.setdefault(old.birth_date, set()).add(new.birth_date)
            linked.setdefault(new.birth_date, set()).add(old.birth_date)
        if memo is not None:
            memo["linked_dates"] = linked
    days = set(birth_dates)
    todo = list(days)
    while todo:
        for day in linked.get(todo.pop(), ()):
            if day not in days:
                days.add(day)
                todo.append(day)
    return frozenset(days)


def correction_links(session: Session) -> list[tuple[PersonFacts, PersonFacts]]:
    """(the identity corrected away, the corrected identity) of every staff correction HQ holds, from any
    kiosk: its records, never kiosk_corrections, so that correcting back or on again lifts no protection a
    link once gave (a kiosk cannot lift never-disclose, 災対法 §86-15).  Once per one_reading."""
    memo = session.info.get(_ONE_READING)
    if memo is not None and "correction_links" in memo:
        return memo["correction_links"]
    links = _correction_records(session)
    if memo is not None:
        memo["correction_links"] = links
    return links


class _CorrectionRecords:
    """The correction records of one database, as read so far: each kiosk's stream up to `read_to`.  Read
    with every sync (the kiosks' digests) and every inquiry, where a look for them among all the city's
    records would read them all; so only each kiosk's records since, by the events' key (device, seq)."""

    def __init__(self) -> None:
        self.instance: str | None = None
        self.read_to: dict[str, int] = {}
        self.links: list[tuple[PersonFacts, PersonFacts]] = []


_correction_cache: "weakref.WeakKeyDictionary[object, _CorrectionRecords]" = weakref.WeakKeyDictionary()
_correction_guard = threading.Lock()


def _correction_records(session: Session) -> list[tuple[PersonFacts, PersonFacts]]:
    instance = session.execute(select(HQMeta.value).where(HQMeta.name == "instance")).scalar()
    # A kiosk's records up to its high_seq are all committed with it: read no further than that.
    high = dict(session.execute(select(Kiosk.device_id, Kiosk.high_seq).where(Kiosk.device_id.is_not(None))).all())
    bind = session.get_bind()
    engine = getattr(bind, "engine", bind)   # a Session on one request's Connection (left_elsewhere): its engine's
    with _correction_guard:
        cache = _correction_cache.get(engine)
        # Another database: read again from the start.  A kiosk's high_seq read below what was read already is
        # a reading older than another thread's (a sync committed in between), not a restore: a restored HQ
        # is started again, with nothing cached; links kept meanwhile could only protect more, never less.
        if cache is None or cache.instance != instance:
            cache = _correction_cache[engine] = _CorrectionRecords()
            cache.instance = instance
        behind = sorted((device, cache.read_to.get(device, 0), seq) for device, seq in high.items()
                        if seq > cache.read_to.get(device, 0))
        for i in range(0, len(behind), 50):
            chunk = behind[i:i + 50]
            for body in session.execute(corrections_among(chunk)).scalars():
                try:
                    wire = json.loads(body)
                    cache.links.append((_identity_facts(wire["person"]), _identity_facts(wire["data"]["person"])))
                except (LookupError, TypeError, ValueError):
                    continue   # (a record HQ took is whole; a hand-edited one links nothing)
            cache.read_to.update((device, upto) for device, _, upto in chunk)
        return list(cache.links)


def corrections_among(streams: list[tuple[str, int, int]]):
    """The correction records of these kiosks' streams (device, after seq, up to seq), by the events' key."""
    return select(EventRecord.body).where(EventRecord.type == CORRECTION, or_(*(
        and_(EventRecord.device_id == device, EventRecord.seq > after, EventRecord.seq <= upto)
        for device, after, upto in streams)))


def _identity_facts(person: dict) -> PersonFacts:
    born = person["birth_date"]
    try:   # as the merge stored it (19910111 is 1991-01-11)
        born = parse_birth_date(born)
    except ValueError:
        pass
    return PersonFacts(name=person["name"], name_kana=person.get("name_kana") or "", birth_date=born,
                       address=person.get("address") or "", sex=person.get("sex") or "")


# -- protection through the households of every record it reaches ------------------------------------------------

class _World:
    """The records of some birth dates and the members of some households, each read once (for a one_reading,
    once for it): what protection through households is decided on."""

    def __init__(self) -> None:
        self.days: dict[str, list[tuple[int, PersonFacts]]] = {}   # birth date: its records, by id
        self.home_of: dict[int, str] = {}                            # record: persons.household_id
        self.of: dict[int, set[str]] = {}                            # record followed: its households, ever
        self.homes: dict[str, set[int]] = {}                         # household read: its members, ever
        self.born: dict[int, str] = {}                               # member: birth date

    @staticmethod
    def of_reading(session: Session) -> "_World":
        memo = session.info.get(_ONE_READING)
        if memo is None:
            return _World()
        if "protection_world" not in memo:
            memo["protection_world"] = _World()
        return memo["protection_world"]

    def read_days(self, session: Session, days: Iterable[str]) -> None:
        wanted = sorted(d for d in set(days) if d not in self.days)
        for day in wanted:
            self.days[day] = []
        for i in range(0, len(wanted), 500):
            for pid, name, kana, born, address, sex, never, home in session.execute(
                    select(Person.id, Person.name, Person.name_kana, Person.birth_date, Person.address, Person.sex,
                           Person.never_disclose, Person.household_id)
                    .where(Person.birth_date.in_(wanted[i:i + 500])).order_by(Person.id)):
                self.days[born].append((pid, PersonFacts(name=name, name_kana=kana, birth_date=born, address=address,
                                                         sex=sex, never_disclose=bool(never))))
                self.home_of[pid] = home or ""

    def follow(self, session: Session, ids: Iterable[int]) -> set[int]:
        """Read every household these records (of days read) are or were in, and its members; returns the
        members (their birth dates in self.born)."""
        todo = sorted(i for i in set(ids) if i not in self.of)
        for pid in todo:
            self.of[pid] = {self.home_of[pid]} - {""}
        for i in range(0, len(todo), 500):
            for pid, home in session.execute(select(PersonHousehold.person_id, PersonHousehold.household_id)
                                             .where(PersonHousehold.person_id.in_(todo[i:i + 500]))):
                self.of[pid].add(home)
        wanted = sorted({h for pid in todo for h in self.of[pid]} - set(self.homes))
        for home in wanted:
            self.homes[home] = set()
        for i in range(0, len(wanted), 500):
            chunk = wanted[i:i + 500]
            for pid, home, born in session.execute(select(Person.id, Person.household_id, Person.birth_date)
                                                   .where(Person.household_id.in_(chunk))):
                self.homes[home].add(pid)
                self.born[pid] = born
            for pid, home, born in session.execute(
                    select(PersonHousehold.person_id, PersonHousehold.household_id, Person.birth_date)
                    .join(Person, Person.id == PersonHousehold.person_id)
                    .where(PersonHousehold.household_id.in_(chunk))):
                self.homes[home].add(pid)
                self.born[pid] = born
        return {m for pid in set(ids) for h in self.of[pid] for m in self.homes[h]}


def _reach(facts: dict[int, PersonFacts], links: list[tuple[PersonFacts, PersonFacts]],
           homes: Iterable[set[int]]) -> tuple[frozenset[tuple[str, str]], set[int]]:
    """(the forms protection reaches, the records it reaches) among these records, through these correction
    links and these households (each with all its members): a household any reached member of is reached
    whole, its members protected records in turn, until nothing changes.  Every round only adds members, of
    finitely many, so it ends."""
    homes = [h for h in homes if h]
    members: set[int] = set()
    while True:
        people = [dataclasses.replace(f, never_disclose=True) if pid in members and not f.never_disclose else f
                  for pid, f in facts.items()]
        reached = _reach_links(people, links)
        protected = {pid for pid, f in facts.items()
                     if f.never_disclose or pid in members or protection_forms(f.name, f.name_kana, f.birth_date)
                     & reached}
        grown = {m for home in homes if home & protected for m in home} - members
        if not grown:
            return reached, protected
        members |= grown


def _reach_links(people: list[PersonFacts], links: list[tuple[PersonFacts, PersonFacts]]
                 ) -> frozenset[tuple[str, str]]:
    """protected_forms over these records with these correction links: both sides of a link either side of
    which shares a form with a reached one are taken as protected records, until no link is added.

    Every form is of one birth date, and protected_forms joins records of one date only (a shared form, a
    reading, both at that date): what is reached on a day depends only on that day's records and on the links
    seeded on it, and a link is seeded once either side is reached.  So over the records of days closed under
    the links (linked_birth_dates), with the links having a side on them (whose other side is then on them
    too), nothing off those days can seed anything on them: given the same protected records there, the
    rounds reach there, round by round, what the same rounds over every record and link of the city do, and
    once they stop, further rounds of the city's add nothing there.  _households_born decides over such days,
    _households_city reads a link's days once it is reached (tests/test_protection_closure.py)."""
    reached = protected_forms(people)
    seeded: list[PersonFacts] = []
    while True:
        # A pair once reached stays reached: the pairs only grow, so this ends within a round per correction.
        linked = [dataclasses.replace(f, never_disclose=True) for pair in links
                  if any(protection_forms(f.name, f.name_kana, f.birth_date) & reached for f in pair) for f in pair]
        if len(linked) == len(seeded):
            return reached
        seeded = linked
        reached = protected_forms(people + seeded)


def _households_city(session: Session, links: list[tuple[PersonFacts, PersonFacts]]) -> frozenset[tuple[str, str]]:
    """protected_identities over the whole city: from the protected rows (by their index), the days of every
    record reached and of every member of a household of one, read as they are found.  Nothing off the days
    read can be reached: a seed is a protected row or a member (whose days are read), a form or a reading
    joins records of one day only (_reach_links), and a link's sides are read once either is reached.  So
    once a round finds no new day nor record, what it reached is the city's fixpoint."""
    memo = session.info.get(_ONE_READING)
    key = "protected_city"
    if memo is not None and key in memo:
        return memo[key]
    world = _World.of_reading(session)
    protected = Person.never_disclose == True  # noqa: E712 (the partial index's own term)
    days = set(session.execute(select(Person.birth_date).where(protected).distinct()).scalars())
    followed: set[int] = set()
    while True:
        world.read_days(session, days)
        facts = {pid: f for day in days for pid, f in world.days[day]}
        reached, found = _reach(facts, links, [world.homes[h] for pid in followed for h in world.of[pid]])
        more = {f[1] for f in reached} - days
        new = found - followed
        if new:
            more |= {world.born[m] for m in world.follow(session, new)} - days
            followed |= new
        if not more and not new:
            break
        days |= more
    if memo is not None:
        memo[key] = reached
    return reached


def _households_born(session: Session, links: list[tuple[PersonFacts, PersonFacts]],
                     birth_dates: Iterable[str]) -> frozenset[tuple[str, str]]:
    """protected_identities for the records born on these dates (their forms only), the same as the city's
    there, decided over the records that could bear on them, never the city.

    Whom protection reaches is the least fixpoint of: a protected row; a record sharing a form, or joined by
    a reading, with a reached one of its day; both sides of a correction link either side of which shares a
    form with a reached one; every member of a household a reached record is or was in.  Each step marks a
    record for a reached one next to it: its day's records, a link's other side, a household's members.  So
    from the records asked about, follow every such neighbour, protected or not (what is read never depends
    on who is protected, as the time an answer takes must not): the days' same-day components (protected_forms
    from them: a superset of the neighbours), the links on those days (linked_birth_dates), the households of
    every record so found and their members' days, in turn, until nothing is added.  Every neighbour of a
    record so found is found, so the fixpoint over them reaches there, round by round, what the city's does,
    and never more (fewer records, fewer seeds).  Other records of those days, unfollowed, may be reached
    less there, but none is next to a found one.  What it reads is those records' days and households: as
    small as the families and namesakes involved (_bearing_on).  Once per one_reading for each set of dates."""
    targets = frozenset(birth_dates)
    memo = session.info.get(_ONE_READING)
    key = ("protected_born", targets)
    if memo is not None and key in memo:
        return memo[key]
    world, days, followed = _bearing_on(session, links, targets)
    facts = {pid: f for day in days for pid, f in world.days[day]}
    # (either side's date is among the days, so both are: the days are closed under the links, _reach_links)
    reached, _ = _reach(facts, [pair for pair in links if pair[0].birth_date in days],
                        [world.homes[h] for pid in followed for h in world.of[pid]])
    reached = frozenset(f for f in reached if f[1] in targets)
    if memo is not None:
        memo[key] = reached
    return reached


def _bearing_on(session: Session, links: list[tuple[PersonFacts, PersonFacts]],
                targets: frozenset[str]) -> tuple[_World, set[str], set[int]]:
    """(the records read, the days read, the records whose households were followed) from the records born on
    these dates, following every neighbour protection could pass through (_households_born), protected or not,
    until nothing is added.  The days are closed under the links.  Protection a record on these dates gives
    or passes on (protected, corrected, or checked in with a household) reaches only records so found: every
    step of it is from a record to such a neighbour."""
    world = _World.of_reading(session)
    days = set(linked_birth_dates(session, links, targets))
    sides: dict[str, list[tuple[int, PersonFacts]]] = {}
    for i, pair in enumerate(links):
        for f in pair:
            sides.setdefault(f.birth_date, []).append((i, f))
    world.read_days(session, days)
    found = {pid for day in targets for pid, _ in world.days[day]}
    found_links = {i for day in targets for i, _ in sides.get(day, ())}
    followed: set[int] = set()
    while True:
        world.read_days(session, days)
        grown = True
        while grown:
            grown = False
            for day in days:
                records, linked = world.days[day], sides.get(day, [])
                marked = [dataclasses.replace(f, never_disclose=pid in found) for pid, f in records] + \
                    [dataclasses.replace(f, never_disclose=i in found_links) for i, f in linked]
                if not any(f.never_disclose for f in marked):
                    continue
                near = protected_forms(marked)
                for pid, f in records:
                    if pid not in found and protection_forms(f.name, f.name_kana, f.birth_date) & near:
                        found.add(pid)
                        grown = True
                for i, f in linked:
                    if i not in found_links and protection_forms(f.name, f.name_kana, f.birth_date) & near:
                        found_links.add(i)
                        grown = True
        new = found - followed
        if not new:
            break
        members = world.follow(session, new)
        followed |= new
        found |= members
        days = set(linked_birth_dates(session, links, days | {world.born[m] for m in members}))
    return world, days, followed


def protected_among(session: Session, persons: Iterable[Person]) -> set[int]:
    """Those of these persons protection reaches (protected_identities), decided over their birth dates
    (_households_born): the inquiries' answer for each person, once per one_reading for each set of days."""
    persons = list(persons)
    if not persons:
        return set()
    reached = _households_born(session, correction_links(session), {p.birth_date for p in persons})
    return {p.id for p in persons if p.never_disclose or protection_forms(p.name, p.name_kana, p.birth_date) & reached}


def is_protected(person: Person, protected: frozenset[tuple[str, str]]) -> bool:
    return person.never_disclose or bool(protection_forms(person.name, person.name_kana, person.birth_date) & protected)


def _candidates(session: Session, inquiry: Inquiry) -> list[tuple[Person, PersonFacts]]:
    """The records an inquiry is decided on: every record of its birth date; inside one_reading only those
    it could be near, and every record protection reaches that day (_RecordsBorn), which decide the same."""
    memo = session.info.get(_ONE_READING)
    if memo is None:
        return candidates_born(session, inquiry.sought_birth_date)
    key = ("indexed", inquiry.sought_birth_date)
    if key not in memo:
        memo[key] = _RecordsBorn(candidates_born(session, inquiry.sought_birth_date))
    return memo[key].for_inquiry(inquiry)


class _RecordsBorn:
    """The records of one birth date, indexed by what could make an inquiry near one (evac.disclosure.near):
    its name's forms with 斎/斉 alike (a match, or near by writing); else only its reading could tell (a kana
    inquiry: records without a reading; a kanji one: records only in kana).  The records protection reaches
    that day are always among them: they make the same protection (protected_forms) of those as of all.
    For a page or a pass comparing hundreds of inquiries with one day's records, each with a few."""

    def __init__(self, candidates: list[tuple[Person, PersonFacts]]):
        self.candidates = candidates
        facts = [f for _, f in candidates]
        forms = [protection_forms(f.name, f.name_kana, f.birth_date) for f in facts]
        reached = protected_forms(facts)
        self._always = [i for i, f in enumerate(facts) if f.never_disclose or forms[i] & reached]
        self._by_form: dict[str, list[int]] = {}
        self._without_kana, self._only_kana = [], []
        for i, f in enumerate(facts):
            for form in near_kanji_forms(f.name) | near_kanji_forms(f.name_kana):
                self._by_form.setdefault(form, []).append(i)
            if not (kana_only(f.name) or kana_only(f.name_kana)):
                self._without_kana.append(i)
            if kana_only(f.name) and (not f.name_kana or kana_only(f.name_kana)):
                self._only_kana.append(i)

    def for_inquiry(self, inquiry: Inquiry) -> list[tuple[Person, PersonFacts]]:
        picked = set(self._always)
        for form in near_kanji_forms(inquiry.sought_name):
            picked.update(self._by_form.get(form, ()))
        picked.update(self._without_kana if kana_only(inquiry.sought_name) else self._only_kana)
        return [self.candidates[i] for i in sorted(picked)]   # in the records' order (offered_near)


def candidates_born(session: Session, birth_date: str) -> list[tuple[Person, PersonFacts]]:
    """Every record of this birth date with its facts: what an inquiry about someone born that day is decided
    on.  Inside one_reading, read once per birth date (the staff queue: hundreds waiting on one birth date)."""
    memo = session.info.get(_ONE_READING)
    if memo is not None and birth_date in memo:
        return memo[birth_date]
    # By id: near records are offered to staff in this order, the same each time (evac.disclosure.offered_near).
    rows = list(session.execute(select(Person).where(Person.birth_date == birth_date)
                                .order_by(Person.id)).scalars())
    protected = protected_among(session, rows)
    seen = recorded_beyond_self_report(session, (p.id for p in rows)) if rows else set()
    shelters = {}
    if any(p.state == "checked_in" for p in rows):
        shelters = {s.id: s for s in session.execute(select(Shelter).where(
            Shelter.id.in_({p.shelter_id for p in rows if p.state == "checked_in"}))).scalars()}
    found = [(p, _facts(session, p, protected, p.id not in seen, shelters)) for p in rows]
    if memo is not None:
        memo[birth_date] = found
    return found


_ONE_READING = "safety.one_reading"


@contextlib.contextmanager
def one_reading(session: Session) -> Iterator[None]:
    """Within it, the records of a birth date are read once (candidates_born), and protection decided once
    for the city (_households_city) and for each set of days (_households_born), each day's records and each
    household's members read once for them all (_World): for a page or a pass that decides many inquiries at
    one moment, and writes nothing that would change them."""
    if _ONE_READING in session.info:
        yield
        return
    session.info[_ONE_READING] = {}
    try:
        yield
    finally:
        session.info.pop(_ONE_READING, None)


def audit(session: Session, inquiry_id: str, actor: str, action: str, **detail) -> None:
    session.add(AuditEntry(at=_now(), inquiry_id=inquiry_id, actor=actor, action=action,
                           detail=json.dumps(detail, ensure_ascii=False, sort_keys=True)))


def _public(row: InquiryRow, told: dict | None = None) -> dict:
    if went_back(row):
        # Still "no information" to the inquirer until staff release again: "being reviewed" would tell that a
        # record matching the inquiry appeared, and for a protected person that is telling she was recorded,
        # while an inquiry about someone unknown never changes (災対法 §86-15).
        return {"inquiry_id": row.id, "status": "released", "message": MESSAGES["released"], **NO_INFORMATION}
    told = json.loads(row.answer) if told is None else told
    return {"inquiry_id": row.id, "status": row.status, "message": MESSAGES[row.status], **told}


def told_now(session: Session, row: InquiryRow) -> dict:
    """What an answer that told something tells when the inquirer checks again: what they may be told now
    (as e-mail news is, evac.disclosure.answer_for_notice).  The person protected since, their consent
    withdrawn, or no longer a record the inquiry could mean: where they are and the rest go, and only what
    cannot be untold stays ("information exists"), the same whichever of these it was.  Before, the answer
    kept from the first time was shown again, with the shelter, after she was protected (災対法 §86-15)."""
    told = json.loads(row.answer)
    if not told.get("information_exists") or not row.sought_birth_date:
        return told   # (no birth date: erased, inquiry_retention; it names nobody now)
    # Not released by staff (waiting, or refused): what the person's consent gives at once, as at first.
    now = answer_for_notice("released" if row.status == "released" else "answered", *inquiry_and_person(session, row))
    return {**_no_less_than_told(told, now).to_json(), "pending_review": row.status == "pending_review"}


def _no_less_than_told(told: dict, now: Answer | None) -> Answer:
    """What an answer says after one that told `told`, for told_now and release alike: `now` (what may be told
    now, None: nothing), but once "information exists" was said it stays said, and nothing more, whether the
    person was protected since, their consent withdrawn (told_now) or the record is no longer one the inquiry
    could mean.  A release that said "no information" after "exists" told the inquirer that she was protected:
    a release about anyone unprotected keeps "exists", consent withdrawn or not (災対法 §86-15)."""
    if told.get("information_exists") and (now is None or not now.information_exists):
        return Answer(information_exists=True, shown=frozenset({EXISTS}))
    return now if now is not None else Answer(information_exists=False)


NO_INFORMATION = Answer(information_exists=False).to_json()


def went_back(row: InquiryRow) -> bool:
    """Released with "no information", then back with staff because a record turned up (back_to_review)."""
    return row.status == "pending_review" and row.reviewed_at is not None


def inquiry_of(row: InquiryRow, family_code: str = "") -> Inquiry:
    return Inquiry(row.inquirer_name, row.inquirer_address, row.inquirer_contact, row.relationship, row.reason,
                   row.sought_name, row.sought_birth_date, row.sought_address, family_code=family_code,
                   notify_email=row.notify_email, sought_sex=row.sought_sex or "")


FAMILY_CODE_KEY = "family_code_key"


def _family_code_key(session: Session) -> bytes:
    """The key of the family-code hash, made once per database (hq_meta), so it survives restarts."""
    kept = select(HQMeta.value).where(HQMeta.name == FAMILY_CODE_KEY)
    key = session.execute(kept).scalar()
    if key is None:   # the first family code ever given: two HQ processes may race, one key wins
        conn = session.connection()
        conn.exec_driver_sql(f"INSERT INTO hq_meta (name, value) VALUES ('{FAMILY_CODE_KEY}', {param_mark(conn)})"
                             " ON CONFLICT (name) DO NOTHING", (secrets.token_hex(32),))
        key = session.execute(kept).scalar_one()
    return bytes.fromhex(key)


def family_code_hash(session: Session, code: str) -> str:
    """A keyed hash of a family code (compared as evac.disclosure compares them): the code an inquirer gave
    is kept only so, in the inquiry's audit entry, to be compared with the person's at review."""
    return hmac.new(_family_code_key(session), code.casefold().encode(), hashlib.sha256).hexdigest()[:32]


def inquiry_and_person(session: Session, row: InquiryRow, chosen: Person | None = None
                       ) -> tuple[Inquiry, PersonFacts | None]:
    """A kept inquiry as it was asked (with the family code, when the one given is the person's) and the
    person it names as the city knows them now: for a release and for e-mail news, as at the first answer.
    `chosen`: the record staff chose among several the inquiry matches (release checked it is one)."""
    inquiry = inquiry_of(row)
    if chosen is not None:
        person = _facts(session, chosen)
    elif row.status == "released":
        # News follows the record staff released against (release sets person_id), never one found since:
        # a release that found nobody has no record, and gives no news (notify puts it back to review).
        person = _chosen_still(session, inquiry, row.person_id) if row.person_id is not None else None
    else:
        person = matching_person(session, inquiry)
    if row.family_code_given and person is not None and person.family_code:
        received = session.execute(select(AuditEntry.detail).where(
            AuditEntry.inquiry_id == row.id, AuditEntry.action == "received")).scalar()
        given = json.loads(received or "{}").get("family_code_hash", "")
        if given and hmac.compare_digest(given, family_code_hash(session, person.family_code)):
            inquiry = inquiry_of(row, person.family_code)
    return inquiry, person


def _chosen_still(session: Session, inquiry: Inquiry, person_id: int | None) -> PersonFacts | None:
    """The record staff chose at release, while the inquiry still could mean it (evac.disclosure.near: staff
    may have chosen it although its address or the writing of its name differs) and nobody it could mean
    is protected: news follows that record only, never another one the inquiry has come to match since.
    (Inquiry.person_id is re-pointed when the merge finds the chosen record and another are one.)"""
    candidates = _candidates(session, inquiry)
    if the_person(inquiry, [f for _, f in candidates])[1]:   # a protected person it could mean
        return None
    return next((f for p, f in candidates if p.id == person_id and near(inquiry, f)), None)


def asks_about_protected(session: Session, inquiry: Inquiry) -> bool:
    """Whether the inquiry could mean a protected person now (evac.disclosure.the_person's flag)."""
    return the_person(inquiry, [f for _, f in _candidates(session, inquiry)])[1]


def matching_person(session: Session, inquiry: Inquiry) -> PersonFacts | None:
    """The one person an inquiry names, as the city knows them now (None: nobody, or several)."""
    return the_person(inquiry, [f for _, f in _candidates(session, inquiry)])[0]


def matching_record(session: Session, inquiry: Inquiry) -> Person | None:
    """The record of matching_person (None: nobody, several, or a protected person it could mean)."""
    candidates = _candidates(session, inquiry)
    facts = the_person(inquiry, [f for _, f in candidates])[0]
    return next((p for p, f in candidates if f is facts), None) if facts is not None else None


def several_matching(session: Session, inquiry: Inquiry) -> list[Person]:
    """The records staff must choose among (or say the inquirer means none of them), when none is protected:
    those an inquiry matches when it matches more than one (the same person on record twice, a card's
    address and none typed; or two people of one name and birth date); or, when it matches none, its near
    candidates: the same name and birth date at another address (the inquirer knew an old address, or the
    record has another), a name written another way (斉藤 for 齋藤), or one only its reading could tell (kana
    where the record has none, as from a My Number card: at most evac.disclosure.READING_NEAR_CAP of those;
    see evac.disclosure.near).  A near candidate is never answered at once, and a release cannot say "no
    information" while one is offered.  Empty when it names one person, nobody near, or a protected person."""
    return _offered(session, inquiry)[0]


def _offered(session: Session, inquiry: Inquiry) -> tuple[list[Person], int]:
    """several_matching's records, and how many near records the cap left off (READING_NEAR_CAP)."""
    offered, left_off = _offered_facts(session, inquiry)
    return [p for p, _ in offered], left_off


def _offered_facts(session: Session, inquiry: Inquiry) -> tuple[list[tuple[Person, PersonFacts]], int]:
    candidates = _candidates(session, inquiry)
    person, flagged = the_person(inquiry, [f for _, f in candidates])
    if person is not None or flagged:
        return [], 0
    found = [(p, f) for p, f in candidates if matches(inquiry, f)]
    if len(found) > 1:
        return found, 0
    near_ones = could_mean(inquiry, [f for _, f in candidates])
    offered = {id(f) for f in offered_near(inquiry, near_ones)}
    return [(p, f) for p, f in candidates if id(f) in offered], len(near_ones) - len(offered)


def for_review(session: Session, row: InquiryRow) -> list[dict]:
    """What staff see of each record a waiting inquiry matches when it matches several: enough to tell
    them apart on the phone (where, birth date, address), nothing more."""
    if row.flagged or row.status != "pending_review":
        return []
    memo = session.info.get(_ONE_READING)
    shelters = memo.get(Shelter) if memo is not None else None
    if shelters is None:
        # Each site's name, and whether its staff closed it (閉鎖): one on the way to it will not be checked in there.
        shelters = {s.id: (s.name, s.closed_by_staff) for s in session.execute(select(Shelter)).scalars()}
        if memo is not None:
            memo[Shelter] = shelters
    inquiry = inquiry_of(row)
    offered, left_off = _offered_facts(session, inquiry)
    # The facts the records were offered by: whether each is known only from self-reports was read with them.
    return [{"id": p.id, "name": p.name, "name_kana": p.name_kana, "birth_date": p.birth_date, "address": p.address,
             "state": p.state, "shelter": shelters.get(p.shelter_id, (p.shelter_id,))[0] if p.shelter_id else "",
             # In transit to a shelter its staff closed since (or before): where they are bound is no place to
             # say they will be found.
             "bound_closed": p.state == "in_transit" and shelters.get(p.shelter_id, ("", False))[1],
             # Not exactly what the inquirer gave (a near candidate): staff ask before choosing it.
             "differs": _differs(inquiry, f),
             # Records near by reading the cap left off: "none of these" may not be true of them.
             "left_off": left_off,
             # Chosen, it is answered as nobody (evac.disclosure.PersonFacts.only_self_reported).
             "only_self_reported": f.only_self_reported}
            for p, f in offered]


def _differs(inquiry: Inquiry, person: PersonFacts) -> list[str]:
    """What of a record offered to staff is not as the inquirer gave it: "name" (written another way),
    evac.disclosure.KANA_INQUIRY or KANA_RECORD (only the reading could tell: staff check it), "address";
    empty for a record the inquiry matches exactly."""
    if matches(inquiry, person):
        return []
    if matches(inquiry, person, by_address=False):
        return ["address"]
    reading = reading_differs(inquiry, person)
    if not reading:
        return ["name"]
    # Near by reading at any address: staff are told when the inquirer gave another one as well.
    return [reading] if same_address(inquiry, person) else [reading, "address"]


class Received(NamedTuple):
    answer: dict
    access_key: str
    family_code_opened: bool     # a right family code: it opened the person's family consent at once


def receive(session: Session, raw: object, client: str) -> tuple[dict, str]:
    """Record an inquiry and answer what consent allows at once.  Returns (answer, access key).

    Raises InvalidInquiry (nothing is recorded)."""
    received = receive_inquiry(session, raw, client)
    return received.answer, received.access_key


def waiting_for_review(session: Session, client: str) -> int:
    """How many inquiries from this client network (limits.client_network) wait in staff's review queue now.
    Those gone back to staff (went_back) are not counted: the inquirer still reads them as answered, and a
    refusal counting them would tell that a record turned up."""
    return session.execute(select(func.count()).select_from(InquiryRow).where(
        InquiryRow.client == client[:64], InquiryRow.status == "pending_review",
        InquiryRow.reviewed_at.is_(None))).scalar_one()


def receive_inquiry(session: Session, raw: object, client: str,
                    may_try_code: Callable[[Inquiry], bool] | None = None,
                    waiting_cap: int | None = None, network: str | None = None) -> Received:
    """As receive, also saying whether a family code was given that opened the person's family consent.
    `may_try_code` counts a family code against its person's budget before it is compared; over it, the
    code is not compared and the inquiry waits for staff like one without a code (a family is never
    turned away).  `waiting_cap`: an inquiry that would wait for staff while `waiting_cap` others from
    the same client network already wait raises TooManyWaiting and nothing is kept (one answered at
    once, by consent, is still answered: it adds nothing to staff's queue).  `network`: what the cap
    counts by (limits.client_network: an IPv6 address's /64), the client's address when not given; the
    audit keeps the address itself."""
    network = client if network is None else network
    inquiry = parse_inquiry(raw)
    unchecked = bool(inquiry.family_code) and may_try_code is not None and not may_try_code(inquiry)
    if unchecked:
        inquiry = dataclasses.replace(inquiry, family_code="")
    candidates = _candidates(session, inquiry)
    answer, person_facts, flagged = answer_now(inquiry, [f for _, f in candidates])
    person_id = next((p.id for p, f in candidates if f is person_facts), None) if person_facts else None
    key = secrets.token_urlsafe(18)
    # The reads above end here: on SQLite a read snapshot carried into a write fails when another
    # writer committed in between, and a write begun before one_writer (an autoflush, the family-code
    # key made on first use) can wait on a writer that waits on it.  All writing is inside one_writer.
    session.rollback()
    with one_writer(session.get_bind()):
        if answer.pending_review and waiting_cap is not None:
            _one_client_at_a_time(session, network)
            waiting = waiting_for_review(session, network)
            if waiting >= waiting_cap:
                session.rollback()
                raise TooManyWaiting(waiting)
        code_hash = family_code_hash(session, inquiry.family_code) if inquiry.family_code else None
        row = InquiryRow(
            id=secrets.token_hex(6).upper(), access_hash=hashlib.sha256(key.encode()).hexdigest(), created_at=_now(),
            client=network[:64], inquirer_name=inquiry.inquirer_name, inquirer_address=inquiry.inquirer_address,
            inquirer_contact=inquiry.inquirer_contact, relationship=inquiry.relationship, reason=inquiry.reason,
            sought_name=inquiry.sought_name, sought_birth_date=inquiry.sought_birth_date,
            sought_address=inquiry.sought_address, sought_sex=inquiry.sought_sex, family_code_given=bool(inquiry.family_code) or unchecked,
            person_id=person_id, flagged=flagged, notify_email=inquiry.notify_email,
            status="pending_review" if answer.pending_review else "answered",
            answer=json.dumps(answer.to_json(), ensure_ascii=False), review_note="")
        session.add(row)
        audit(session, row.id, "inquirer", "received", client=client, relationship=inquiry.relationship,
              inquirer=inquiry.inquirer_name, sought=inquiry.sought_name, birth_date=inquiry.sought_birth_date,
              family_code_given=bool(inquiry.family_code) or unchecked,
              **({"family_code_hash": code_hash} if code_hash else {}),
              **({"family_code_not_checked": "too many family codes for this person this hour"} if unchecked else {}))
        audit(session, row.id, "system", row.status, shown=sorted(answer.shown), flagged=flagged)
        session.commit()
    return Received(_public(row), key, family_code_opens(inquiry, person_facts))


def _one_client_at_a_time(session: Session, client: str) -> None:
    """The count of a client's waiting inquiries and the new one's row in one step: SQLite's writers are
    queued by one_writer; on PostgreSQL a lock on the client's address, held to the commit, does it, so
    inquiries sent at the same moment cannot all pass the cap."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
                        {"key": f"inquiries-waiting|{client[:64]}"})


def lookup(session: Session, inquiry_id: str, key: str) -> dict:
    """The inquirer checks again.  Unknown reference and wrong key look the same."""
    row = session.get(InquiryRow, inquiry_id)
    if row is None or not secrets.compare_digest(row.access_hash, hashlib.sha256(key.encode()).hexdigest()):
        raise InquiryNotFound("no inquiry with this reference and key")
    return _public(row, told_now(session, row))


def pending(session: Session) -> list[InquiryRow]:
    return list(session.execute(select(InquiryRow).where(InquiryRow.status == "pending_review")
                                .order_by(InquiryRow.created_at)).scalars())


def _for_review(session: Session, inquiry_id: str) -> InquiryRow:
    row = session.get(InquiryRow, inquiry_id)
    if row is None:
        raise ReviewError(f"no inquiry {inquiry_id}", code="not_waiting")
    if row.status != "pending_review":
        raise ReviewError(f"inquiry {inquiry_id} is not waiting for review (it is {row.status})", code="not_waiting")
    return row


def _no_individual_number(note: str) -> None:
    """番号法 §20: the note is kept (inquiries.review_note and the audit); asked how the inquirer was
    confirmed, staff may write the number from the card they were shown."""
    if contains_individual_number(note):
        raise ReviewError("the note seems to hold an Individual Number (My Number), which may not be kept; "
                          "write how the inquirer was confirmed without it; nothing was saved",
                          code="individual_number")


# How staff confirmed who is asking before a release (災対法施行規則 §8-3: the inquirer shows who they are,
# e.g. with a driving licence), kept in the audit with the note.  A free note alone let "x" through.
CONFIRMED_BY = {
    "id_document": "窓口で本人確認書類を確認 / ID document seen at the counter",
    "call_back": "照会者の電話番号へ折り返して確認 / called the inquirer back",
    "in_writing": "書面（郵送など）と本人確認書類の写しで確認 / in writing, with a copy of an ID document",
    "other": "その他 / other",
}


def how_confirmed(method: str | None, note: str) -> str:
    """What the audit keeps of how the inquirer was confirmed: one of CONFIRMED_BY, and the note (needed
    with "other")."""
    if method not in CONFIRMED_BY:
        raise ReviewError("choose how the inquirer was confirmed; nothing was released", code="confirm_how")
    if method == "other" and not note.strip():
        raise ReviewError("say how the inquirer was confirmed (ID at the counter, a call back, …)",
                          code="confirm_other")
    label = CONFIRMED_BY[method].split(" / ")[0]
    return f"{label}: {note.strip()}" if note.strip() else label


def release(session: Session, inquiry_id: str, staff: str, how_confirmed: str,
            chosen_record: int | None = None, role: str | None = None) -> dict:
    """Staff confirmed the inquirer: release exactly the tier's information (plus what consent gives).

    When the inquiry matches several records or has near candidates (several_matching), staff say which one
    the inquirer means (`chosen_record`, a Person id), or NONE_OF_THESE: it must be one of those offered
    now, checked here, or nothing is released.  NONE_OF_THESE releases the answer of someone the city
    knows nothing about.  A protected person among them leaves nothing to choose (several_matching is
    empty), and the answer is the unknown person's, as always."""
    if not how_confirmed.strip():
        raise ReviewError("say how the inquirer was confirmed (ID at the counter, a call back, …)", code="confirm_how")
    _no_individual_number(how_confirmed)
    row = _for_review(session, inquiry_id)
    several = several_matching(session, inquiry_of(row))
    if several and chosen_record is None:
        # "No information" may be false, and picking one ourselves would be a guess.
        raise ReviewError("several records match this inquiry, or records of the same name and birth date at "
                          "another address; nothing was released: choose the record the inquirer means, or "
                          "say it is none of them", code="choose_record")
    none_of_these = bool(several) and chosen_record == NONE_OF_THESE and not row.flagged
    # An inquiry about a protected person offers no records to choose from (for_review), whatever is posted.
    chosen = next((p for p in several if p.id == chosen_record), None) if not row.flagged else None
    if chosen_record is not None and chosen is None and not none_of_these:
        # Forged, or the records changed since the page was shown (corrected, merged, now one or protected).
        raise ReviewError(f"record {chosen_record} is not one of the records this inquiry matches now; "
                          "nothing was released", code="stale_choice")
    # The person's facts as they are now, found the same way as at the first answer (nobody, when staff
    # said the inquirer means none of the records offered: matching_record finds no one person then).
    record = chosen if chosen is not None else matching_record(session, inquiry_of(row))
    inquiry, person = inquiry_and_person(session, row, record)
    tier: Answer = answer_after_review(inquiry, person)
    # What the inquirer was told at once (or by the release before, for one gone back) is not taken back.
    answer = _no_less_than_told(json.loads(row.answer), tier)
    row.status, row.answer = "released", json.dumps(answer.to_json(), ensure_ascii=False)
    row.reviewed_by, row.reviewed_at, row.review_note = staff, _now(), how_confirmed.strip()[:500]
    # News after the release follows the record staff released against, and only it (inquiry_and_person);
    # "no information" was released against none, and a record found later goes back to staff (back_to_review).
    # "Information exists" kept as told was released against none either: no news, and nothing comes back.
    row.person_id = record.id if record is not None and tier.information_exists else None
    chose = {}
    if chosen is not None:
        chose = {"chosen_record": chosen.id, "matching_records": sorted(p.id for p in several)}
    elif none_of_these:
        chose = {"none_of_these": True, "matching_records": sorted(p.id for p in several)}
    if not answer.information_exists:
        chose.update(_judged_at_release(session, inquiry_of(row)))
    if answer is not tier:
        # For leads: the tier was not released, only what the inquirer had been told, and whether protection
        # is why (otherwise the record is no longer one the inquiry could mean, or staff said "none of these").
        chose.update(kept_as_told=True, protected_now=asks_about_protected(session, inquiry_of(row)))
    audit(session, row.id, staff, "released", how_confirmed=row.review_note, shown=sorted(answer.shown),
          record=row.person_id, **chose, **_as_role(role))
    session.commit()
    return _public(row)


def reject(session: Session, inquiry_id: str, staff: str, why: str, role: str | None = None) -> dict:
    if not why.strip():
        raise ReviewError("say why the inquiry is refused", code="refuse_why")
    _no_individual_number(why)
    row = _for_review(session, inquiry_id)
    if went_back(row):
        return _keep_no_information(session, row, staff, why, role)
    row.status, row.reviewed_by, row.reviewed_at, row.review_note = "rejected", staff, _now(), why.strip()[:500]
    audit(session, row.id, staff, "rejected", why=row.review_note, **_as_role(role))
    session.commit()
    return _public(row)


def _keep_no_information(session: Session, row: InquiryRow, staff: str, why: str, role: str | None) -> dict:
    """Staff cannot confirm the inquirer against the record that turned up after a "no information" release:
    that release stands.  "Refused" now would tell the inquirer that a record turned up, which an inquiry
    about someone unknown never does (災対法 §86-15).  Kept as a release judged against the records there
    now, so that those records do not bring it back again."""
    row.status, row.answer, row.person_id = "released", json.dumps(NO_INFORMATION, ensure_ascii=False), None
    row.reviewed_by, row.reviewed_at, row.review_note = staff, _now(), why.strip()[:500]
    _audit_no_information_stands(session, row, staff, row.review_note, **_as_role(role))
    session.commit()
    return _public(row)


def _audit_no_information_stands(session: Session, row: InquiryRow, actor: str, why: str, **detail) -> None:
    """The audit of a came-back inquiry's "no information" standing again: a release judged against the records
    there now (_judged_at_release), so that they do not bring it back once more."""
    audit(session, row.id, actor, "released", why=why, kept_no_information=True, shown=[], record=None,
          **_judged_at_release(session, inquiry_of(row)), **detail)


def _as_role(role: str | None) -> dict:
    # The staff member's role when they decided (it may change later: evac hq set-role).
    return {} if role is None else {"role": role}


BACK_TO_REVIEW_NOTE = ("確認後に照会に一致する記録が見つかりました（前回の回答は「情報なし」）。その記録と照らして続柄を"
                       "確認し直してから回答してください。照会者には回答するまで「情報なし」のままです。 / A record this "
                       "inquiry matches appeared after it was released with no information: confirm the relationship "
                       "against that record before releasing. The inquirer reads \"no information\" until you do.")


def released_against_nobody(row: InquiryRow) -> bool:
    """A release that answered "no information": staff judged the inquirer against no record."""
    return row.status == "released" and not json.loads(row.answer).get("information_exists")


def _could_mean_any(session: Session, inquiry: Inquiry) -> list[tuple[Person, PersonFacts]]:
    """Every record the inquiry matches or could mean (could_mean, not capped), as if no record were
    protected: what a release was judged against (_judged_at_release), protected records included, so that
    one there then brings nothing back later either."""
    return _could_mean_among(inquiry, _as_if_unprotected(_candidates(session, inquiry)))


def _as_if_unprotected(candidates: list[tuple[Person, PersonFacts]]) -> list[tuple[Person, PersonFacts]]:
    return [(p, dataclasses.replace(f, never_disclose=False)) for p, f in candidates]


def _may_be_told(candidates: list[tuple[Person, PersonFacts]]) -> list[tuple[Person, PersonFacts]]:
    """The records a release could tell of: none that protection reaches (evac.disclosure.is_protected).  One
    that turns up protected brings no inquiry back to staff: whatever they judge, its answer stays "no
    information", as one about someone unknown does, and a call back or a refusal prompted by it would tell
    the inquirer that a record turned up (災対法 §86-15)."""
    reached = protected_forms(f for _, f in candidates)
    return [(p, f) for p, f in candidates if not is_protected(f, reached)]


def _could_mean_among(inquiry: Inquiry, candidates: list[tuple[Person, PersonFacts]]
                      ) -> list[tuple[Person, PersonFacts]]:
    could = {id(f) for f in could_mean(inquiry, [f for _, f in candidates])}
    return [(p, f) for p, f in candidates if id(f) in could]


def _judged_at_release(session: Session, inquiry: Inquiry) -> dict:
    """What a "no information" release keeps in its audit entry (read by leads only) for found_since_release:
    the records the inquiry could mean then, uncapped, and which of them it was near only by the reading
    (_differs: KANA_INQUIRY or KANA_RECORD)."""
    could = _could_mean_any(session, inquiry)
    return {"could_mean_records": sorted(p.id for p, _ in could),
            "by_reading": sorted(p.id for p, f in could if {KANA_INQUIRY, KANA_RECORD} & set(_differs(inquiry, f))),
            "self_reported_only": sorted(p.id for p, f in could if f.only_self_reported)}


def found_since_release(session: Session, row: InquiryRow) -> bool:
    """A record this inquiry matches, or is near, that was not there when staff released "no information".
    Those there then (staff answered "none of these" about them, or the cap left them unshown) stay answered:
    without this, every kiosk batch put the inquiry back in the queue with the same records staff had
    already declined.  A record near then only by its reading that now matches by name (the reading has
    been recorded since) counts as new: staff declined a guess.  Only records a release could tell of count
    (_may_be_told): a protected person's record brings nothing back, as someone unknown brings nothing."""
    released = _last_releases(session, [row.id]).get(row.id, {})
    return _found_since(inquiry_of(row), released, _may_be_told(_candidates(session, inquiry_of(row))))


def _last_releases(session: Session, inquiry_ids: list[str]) -> dict[str, dict]:
    """The audit detail of each inquiry's latest release (what staff judged it against), in few queries."""
    latest: dict[str, tuple[int, str]] = {}
    for i in range(0, len(inquiry_ids), 500):
        for entry_id, inquiry_id, detail in session.execute(
                select(AuditEntry.id, AuditEntry.inquiry_id, AuditEntry.detail).where(
                    AuditEntry.inquiry_id.in_(inquiry_ids[i:i + 500]), AuditEntry.action == "released")):
            if inquiry_id not in latest or entry_id > latest[inquiry_id][0]:
                latest[inquiry_id] = (entry_id, detail)
    return {inquiry_id: _detail(inquiry_id, detail) for inquiry_id, (_, detail) in latest.items()}


def _detail(inquiry_id: str, detail: str | None) -> dict:
    try:
        kept = json.loads(detail) if detail else {}
    except ValueError:
        kept = None
    if not isinstance(kept, dict):
        # Read as "judged against no record": any record there now goes back to staff, who look at it again.
        log.error("the audit entry of the release of inquiry %s cannot be read; taken as judged against no record",
                  inquiry_id)
        return {}
    return kept


def _found_since(inquiry: Inquiry, released: dict, unprotected: list[tuple[Person, PersonFacts]]) -> bool:
    """found_since_release, given the release's audit detail and the records born that day as if unprotected."""
    # Releases before could_mean_records was kept: the records offered then (matching_records).
    there = set(released.get("could_mean_records", released.get("matching_records", ())))
    by_reading = set(released.get("by_reading", ()))
    self_reported_then = set(released.get("self_reported_only", ()))
    # A record known only from self-reports is nobody (evac.disclosure) and brings nothing back: anyone can make
    # one, and one made with a protected person's name, birth date and address joins her record instead, so
    # "came back" would tell "unknown" from "protected".  Once a kiosk has recorded that person, it is news.
    return any(not f.only_self_reported
               and (p.id not in there or p.id in self_reported_then
                    or (p.id in by_reading and matches(inquiry, f, by_address=False)))
               for p, f in _could_mean_among(inquiry, unprotected))


def put_back_found(session: Session, birth_dates: Iterable[str] | None = None) -> int:
    """Every inquiry released with "no information" that a record appeared for since (found_since_release)
    goes back to staff (back_to_review), whether or not it asked for e-mail news: staff judge the record that
    turned up, and the family reads its real answer once they release again.  `birth_dates`: those of the
    records just written (a kiosk batch's people): the inquiries such records can concern are about them or
    about someone protection could pass to from them (_days_bearing_on); None looks at every one (a carried
    file).  Returns how many went back.

    The records of each birth date are read once for all its inquiries (hundreds may ask about people born
    on one day), and each inquiry goes back by a conditional write that takes it only from the very release
    read here: two passes at the same moment (two syncs, two HQ processes) put it back once."""
    query = select(InquiryRow).where(InquiryRow.status.in_(("released", "pending_review")))
    if birth_dates is not None:
        dates = {d for d in birth_dates if isinstance(d, str)}
        if not dates:
            return 0
        # Protection reaches the households of every record it reaches, in turn: a mother protected in this batch
        # protects the child checked in earlier, and his grandmother in his other household.  The inquiries about
        # every record protection could so pass to from this batch's are looked at again too (settle_back).
        dates = _days_bearing_on(session, dates)
        query = query.where(InquiryRow.sought_birth_date.in_(sorted(dates)))
    by_date: dict[str, list[InquiryRow]] = {}
    unreadable = []   # one damaged row must not keep every other inquiry from going back
    for row in session.execute(query).scalars():
        try:
            if went_back(row) or released_against_nobody(row):
                by_date.setdefault(row.sought_birth_date, []).append(row)
        except (ValueError, TypeError, AttributeError):
            unreadable.append(row.id)
    released = _last_releases(session, [row.id for rows in by_date.values() for row in rows])
    due = []   # (inquiry id, the release it goes back from, the one record it matches now)
    settled = []   # (inquiry id, the release it went back from): back with staff for nothing that may be told now
    with one_reading(session):
        for rows in by_date.values():
            for row in rows:
                try:
                    inquiry = inquiry_of(row)
                    candidates = _candidates(session, inquiry)
                    found = _found_since(inquiry, released.get(row.id, {}), _may_be_told(candidates))
                except (ValueError, TypeError, AttributeError, KeyError):
                    unreadable.append(row.id)
                    continue
                if went_back(row):
                    if not found:   # what brought it back is protected now (or gone): nothing for staff to judge
                        settled.append((row.id, row.reviewed_at))
                    continue
                if not found:
                    continue
                # The one record it matches now, as a new inquiry has (receive): the queue shows it to staff.
                facts = the_person(inquiry, [f for _, f in candidates])[0]
                record = next((p.id for p, f in candidates if f is facts), None) if facts is not None else None
                due.append((row.id, row.reviewed_at, record))
    session.rollback()   # the reads end here
    if unreadable:
        log.error("inquiries %s cannot be read and were not looked at for going back to staff (the others were); "
                  "mend them from the audit", ", ".join(sorted(unreadable)))
    due.sort()   # passes running at the same moment (PostgreSQL) lock the rows in one order: no deadlock
    back = 0
    for i in range(0, len(due), PUT_BACK_CHUNK):
        back += back_to_review(session, due[i:i + PUT_BACK_CHUNK])
    for i in range(0, len(settled), PUT_BACK_CHUNK):
        settle_back(session, sorted(settled[i:i + PUT_BACK_CHUNK]))
    return back


def _days_bearing_on(session: Session, birth_dates: set[str]) -> set[str]:
    """The birth dates of every record protection could pass to from the records born on these dates: the days
    _households_born reads for them (_bearing_on), their households' members' among them."""
    _, days, _ = _bearing_on(session, correction_links(session), frozenset(birth_dates))
    session.rollback()   # the reads end here, as put_back_found's own
    return days


def settle_back(session: Session, settled: list[tuple[str, dt.datetime | None]]) -> int:
    """Inquiries back with staff whose new records are all protected now (given protection after they came
    back, or through a household later): their "no information" release stands again, quietly.  Left on the
    queue, the note asking staff to confirm the relationship with the inquirer would have them call a stalker
    back about a record that has turned up (災対法 §86-15).  Each only from the very state read (conditional
    write): one staff released meanwhile is left as it is.  Kept as a release judged against the records
    there now, as a refusal of a came-back inquiry is (_keep_no_information)."""
    done = 0
    answer = json.dumps(NO_INFORMATION, ensure_ascii=False)
    with one_writer(session.get_bind()):
        for inquiry_id, reviewed_at in settled:
            row = session.get(InquiryRow, inquiry_id)
            if row is None:
                continue
            changed = session.execute(
                update(InquiryRow).where(InquiryRow.id == inquiry_id, InquiryRow.status == "pending_review",
                                         InquiryRow.reviewed_at == reviewed_at)
                .values(status="released", answer=answer, person_id=None, review_note="", reviewed_at=_now())
                .execution_options(synchronize_session=False)).rowcount
            if changed == 1:
                _audit_no_information_stands(session, row, "system", "what brought it back to staff is protected now")
                done += 1
        session.commit()
    return done


# Inquiries put back in one transaction: one commit (one fsync on SQLite) for many, while kiosks' batches
# wait for the writer no longer than a few of them take.
PUT_BACK_CHUNK = 100


def back_to_review(session: Session, due: list[tuple[str, dt.datetime | None, int | None]]) -> int:
    """A record turned up for these inquiries released with "no information": staff never judged the
    relationship against it, so no tier may be told yet (災対法 §86-15).  Each waits for staff again; the
    inquirer still reads "no information" (_public) until the new release, and e-mail news waits for it.  `due`: (inquiry id, when
    staff released it, the one record it matches now).  Each goes back only from that very release, by a
    conditional write: one another pass put back meanwhile, or staff released again, is left as it is.  The
    record is shown to staff on the queue; news never follows it unreleased (a waiting inquiry gets none,
    and the release sets person_id anew).  Returns how many went back."""
    back = 0
    with one_writer(session.get_bind()):
        for inquiry_id, reviewed_at, record in due:
            changed = session.execute(
                update(InquiryRow).where(InquiryRow.id == inquiry_id, InquiryRow.status == "released",
                                         InquiryRow.reviewed_at == reviewed_at if reviewed_at is not None
                                         else InquiryRow.reviewed_at.is_(None))
                .values(status="pending_review", review_note=BACK_TO_REVIEW_NOTE, person_id=record)
                .execution_options(synchronize_session=False)).rowcount
            if changed == 1:
                audit(session, inquiry_id, "system", "back_to_review",
                      why="a matching record appeared after a release with no information")
                back += 1
        session.commit()
    return back


def birth_dates_of(events: Iterable[dict]) -> set[str]:
    """The birth dates of the people a batch's records name, a correction's new one included."""
    dates = set()
    for ev in events:
        for person in (ev.get("person"), (ev.get("data") or {}).get("person")):
            if isinstance(person, dict) and isinstance(person.get("birth_date"), str):
                try:   # as the merge stored it (19660616 is 1966-06-16)
                    dates.add(parse_birth_date(person["birth_date"]))
                except ValueError:
                    dates.add(person["birth_date"])
    return dates


def search_audit(session: Session, text: str = "", limit: int = 200) -> list[AuditEntry]:
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if text.strip():
        like = f"%{text.strip()}%"
        query = query.where((AuditEntry.inquiry_id.like(like)) | (AuditEntry.detail.like(like))
                            | (AuditEntry.actor.like(like)) | (AuditEntry.action.like(like)))
    return list(session.execute(query).scalars())
