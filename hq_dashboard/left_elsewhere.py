"""Telling a kiosk which of the people it checked in HQ has since seen elsewhere.

A person's place is their latest location record, whichever kiosk wrote it.  A kiosk knows only its
own records: someone it checked in who then checked in at another shelter stayed on its roster and in
its headcount, and its staff went looking for them.  HQ names, per kiosk, its record that no longer
says where the person is (device id and seq: the kiosk finds the person by its own log, under whatever
key it knows them by now, whatever identity form or correction came since), and how they left: "moved"
(checked in, or on their way, at another shelter) or "left" (checked out; or never-disclose, of whom
nothing more is said).  Never where: a DV-protected person's new shelter must reach no other shelter,
and the kiosk does not need it.  "" takes HQ's word back (a record arriving late put them back there).

The words are an append-only log (left_elsewhere), written by the merge for the persons a batch moved,
and read by each kiosk from where it stopped (its sync's `left_elsewhere_after`), a bounded number at a
time: a shelter of 10,000 people dispersing is many answers, not one huge one.  The merge decides "left" for
protection by a cheap rule of its own (never-disclose rows and their households, inside every batch); each
"moved" is told by the inquiries' own rule, as it is told (since): protection reaching her only through a
name form, a correction link or a household in turn, or arriving after the word was written, says "left".
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select

from evac.events import CHECKIN, CHECKOUT, STAY_TYPE, TRANSFER, order_key
from evac.whereabouts import CHECKED_IN, IN_TRANSIT

from .models import EventRecord, LeftElsewhere, Person, PersonHousehold

left_elsewhere_t = LeftElsewhere.__table__
events_t = EventRecord.__table__
persons_t = Person.__table__
person_households_t = PersonHousehold.__table__
KIOSK_LOCATION_TYPES = (CHECKIN, CHECKOUT, TRANSFER, STAY_TYPE)   # (a self-report is HQ's own stream)
MOVED, LEFT, BACK = "moved", "left", ""
PER_ANSWER = 500   # words per sync answer; the kiosk's next round asks from where this one stopped


def word(person: tuple[str, str | None, str, bool], device: str, latest: tuple[int, int, str, str]) -> str | None:
    """HQ's word on a kiosk's latest location record about a person, or None: that record still says
    where they are.  `person`: (state, shelter_id, loc_order, never_disclose) as HQ folded them;
    `latest`: (seq, hlc as HQ ordered it, type, shelter_id) of the kiosk's latest location record."""
    state, shelter, loc_order, protected = person
    seq, hlc, etype, at = latest
    if etype not in (CHECKIN, STAY_TYPE):
        return None          # the kiosk has them checked out or on their way already
    if state == CHECKED_IN and shelter == at:
        return None          # later only there (another kiosk of the same shelter), or nothing later
    if etype == CHECKIN and loc_order <= order_key(hlc, device, seq):
        return None          # nothing later
    # A stay type changed here may be their latest record (loc_order is the latest of any kind: the merge
    # folds on from it), yet it says nothing of where they are: it only changes how someone checked in
    # here stays (evac.whereabouts.step), and HQ had them elsewhere, or gone, before it.
    return MOVED if state in (CHECKED_IN, IN_TRANSIT) and not protected else LEFT


def words_for(persons: dict[int, tuple],
              latest: dict[tuple[int, str], tuple]) -> dict[tuple[int, str], tuple[int, str]]:
    """(person, device) -> (seq, kind) for every kiosk record that no longer says where its person is."""
    found = {}
    for (pid, device), last in latest.items():
        if pid in persons:
            kind = word(persons[pid], device, last)
            if kind is not None:
                found[(pid, device)] = (last[0], kind)
    return found


def note(conn: Connection, persons: dict[int, dict[str, Any]], pids: set[int], gone: set[int] = frozenset()) -> None:
    """After a merge moved `pids` (their folded rows in `persons`), or changed their protection: the words
    that changed for any kiosk with a location record about them, in the caller's transaction.  Any of `pids`
    not in `persons` (a protected person's household member the batch said nothing of) is read as HQ holds
    them.  `gone`: persons a correction left with no record (merge._refile): only their words are taken back."""
    unread = sorted(p for p in pids if p not in persons)
    if unread:
        persons = {**persons, **_read(conn, unread)}
    pids = sorted(p for p in pids if p in persons)
    # Every word the batch takes back is written before any it says: the kiosk applies them by record, the last
    # one standing, and a record refiled under someone else is taken back from one person and told of another,
    # whichever 500 of the batch's persons each falls among.
    taken: list[dict] = []
    told: list[tuple[dict, bool]] = []
    for i in range(0, len(pids), 500):
        chunk_taken, chunk_told = _note_chunk(conn, persons, pids[i:i + 500])
        taken += chunk_taken
        told += chunk_told
    gone = sorted(set(gone) - set(pids))
    for i in range(0, len(gone), 500):
        taken += _taken_back(conn, _said(conn, gone[i:i + 500])[1])
    # Whom a record taken back is filed under now is told afresh of it, if HQ has a word on it: the kiosk's
    # mark on that record went with the taken-back word, even one it had from this person.
    retold = {(r["device_id"], r["seq"]) for r in taken}
    rows = taken + [row for row, said_before in told if not said_before or (row["device_id"], row["seq"]) in retold]
    if rows:
        conn.execute(left_elsewhere_t.insert(), rows)


def _said(conn: Connection, pids: list[int]) -> tuple[dict[tuple[int, str], tuple[int, str]],
                                                  dict[tuple[str, int], tuple[int, str]]]:
    """HQ's words of these persons: (person, device) -> (seq, kind) of the latest one; and (device, seq) ->
    (person, kind) of the latest one on each record (one person's older word on a record stays the kiosk's
    word on it behind their later word on another: a person HQ joined had words on two records there)."""
    said: dict[tuple[int, str], tuple[int, str]] = {}
    on_record: dict[tuple[str, int], tuple[int, str]] = {}
    for pid, device, seq, kind in conn.execute(
            select(left_elsewhere_t.c.person_id, left_elsewhere_t.c.device_id, left_elsewhere_t.c.seq,
                   left_elsewhere_t.c.kind).where(left_elsewhere_t.c.person_id.in_(pids))
            .order_by(left_elsewhere_t.c.id)):
        said[(pid, device)] = (seq, kind)
        on_record[(device, seq)] = (pid, kind)
    return said, on_record


def _taken_back(conn: Connection, on_record: dict[tuple[str, int], tuple[int, str]]) -> list[dict]:
    """BACK for each standing word whose record is no longer its person's: a correction at the kiosk filed
    it under the corrected person (merge._refile), whom the word was not said of.  The kiosk marks whom its
    record is about now; unsaid, the old word would mark the corrected person, when the kiosk takes it after
    its correction or takes HQ's words again from the start.  `on_record`: _said's latest word on each record
    of the persons asked of, which may be older than the person's latest word at that kiosk."""
    standing = sorted((device, seq, pid) for (device, seq), (pid, kind) in on_record.items() if kind != BACK)
    if not standing:
        return []
    owner: dict[tuple[str, int], int | None] = {}
    for device in sorted({d for d, _, _ in standing}):
        seqs = sorted({s for d, s, _ in standing if d == device})
        for i in range(0, len(seqs), 500):
            owner.update(((device, s), p) for s, p in conn.execute(
                select(events_t.c.seq, events_t.c.person_id)
                .where(events_t.c.device_id == device, events_t.c.seq.in_(seqs[i:i + 500]))))
    refiled = [(device, seq, pid) for device, seq, pid in standing
               if (device, seq) in owner and owner[(device, seq)] != pid]
    if not refiled:
        return []
    # The record's last word, whoever it was said of, is the kiosk's: a later one of its owner now already
    # stands (a log written before HQ took such words back), and BACK would clear it.  Only after a refile.
    last: dict[tuple[str, int], int] = {}
    for device in sorted({d for d, _, _ in refiled}):
        seqs = sorted({s for d, s, _ in refiled if d == device})
        for i in range(0, len(seqs), 500):
            last.update(((device, s), p) for s, p in conn.execute(
                select(left_elsewhere_t.c.seq, left_elsewhere_t.c.person_id)
                .where(left_elsewhere_t.c.device_id == device, left_elsewhere_t.c.seq.in_(seqs[i:i + 500]))
                .order_by(left_elsewhere_t.c.id)))
    return [{"device_id": device, "seq": seq, "person_id": pid, "kind": BACK}
            for device, seq, pid in refiled if last.get((device, seq)) == pid]


def _note_chunk(conn: Connection, persons: dict[int, dict[str, Any]],
                pids: list[int]) -> tuple[list[dict], list[tuple[dict, bool]]]:
    """For these persons: HQ's words to take back (_taken_back), and the words on their own records, each
    with whether HQ said just that already (then it is said again only after a word taken back on the record)."""
    latest: dict[tuple[int, str], tuple] = {}
    for pid, device, seq, hlc, etype, shelter in conn.execute(
            select(events_t.c.person_id, events_t.c.device_id, events_t.c.seq, events_t.c.hlc, events_t.c.type,
                   events_t.c.shelter_id)
            .where(events_t.c.person_id.in_(pids), events_t.c.type.in_(KIOSK_LOCATION_TYPES))):
        if (pid, device) not in latest or seq > latest[(pid, device)][0]:
            latest[(pid, device)] = (seq, hlc, etype, shelter)
    said, on_record = _said(conn, pids)
    taken = _taken_back(conn, on_record)
    # Protection reaches their household too, as inquiries' does (safety.protected_identities): of a protected
    # mother's child nothing more is said than of her.
    sheltered = _in_protected_household(conn, persons, [pid for pid, _ in latest])
    told = []
    for (pid, device), last in sorted(latest.items()):
        p = persons[pid]
        protected = bool(p["never_disclose"]) or pid in sheltered
        kind = word((p["state"], p["shelter_id"], p["loc_order"], protected), device, last)
        before = said.get((pid, device))
        if kind is not None:
            told.append(({"device_id": device, "seq": last[0], "person_id": pid, "kind": kind},
                         before == (last[0], kind)))
        elif before is not None and before[1] != BACK and before[0] == last[0]:
            # That record says where they are again (a record of theirs elsewhere re-dated before it).
            # A newer record of the kiosk's own needs no word: the kiosk clears the mark itself.
            told.append(({"device_id": device, "seq": last[0], "person_id": pid, "kind": BACK}, False))
    return taken, told


def _read(conn: Connection, pids: list[int]) -> dict[int, dict[str, Any]]:
    cols = (persons_t.c.id, persons_t.c.state, persons_t.c.shelter_id, persons_t.c.loc_order,
            persons_t.c.never_disclose, persons_t.c.household_id)
    found = {}
    for i in range(0, len(pids), 500):
        for row in conn.execute(select(*cols).where(persons_t.c.id.in_(pids[i:i + 500]))):
            found[row.id] = dict(row._mapping)
    return found


def _in_protected_household(conn: Connection, persons: dict[int, dict[str, Any]], pids: list[int]) -> set[int]:
    """Which of `pids` are or were in a household a never-disclose person is or was in (persons.household_id
    and person_households, as written by the batch already)."""
    homes: dict[int, set[str]] = {pid: {persons[pid]["household_id"]} - {""} for pid in set(pids)}
    if not homes:
        return set()
    for pid, home in conn.execute(select(person_households_t.c.person_id, person_households_t.c.household_id)
                                  .where(person_households_t.c.person_id.in_(sorted(homes)))):
        homes[pid].add(home)
    wanted = sorted(set().union(*homes.values()))
    if not wanted:
        return set()
    protected = persons_t.c.never_disclose == True  # noqa: E712 (the partial index's own term)
    guarded = set(conn.execute(select(persons_t.c.household_id).where(protected,
                                                                      persons_t.c.household_id.in_(wanted))).scalars())
    guarded.update(conn.execute(select(person_households_t.c.household_id).join(
        persons_t, persons_t.c.id == person_households_t.c.person_id).where(
        protected, person_households_t.c.household_id.in_(wanted))).scalars())
    return {pid for pid, theirs in homes.items() if theirs & guarded}


def since(conn: Connection, device_id: str, after: int, last: dict[str, Any] | None = None) -> dict[str, Any]:
    """The words for this kiosk after `after` (the last one it took), at most PER_ANSWER: its sync
    answer's `left_elsewhere`.  HQ's database restored from a backup is told by the kiosk's cursor: past
    every word HQ holds; or, once the log grew again past it, at a word that is not the one the kiosk took
    there (`last`: its seq and kind, and how many words the kiosk has taken, as it says them): the ids were
    given again to other words, and the kiosk would miss them.  The kiosk is then told to start again
    (`from_start`), its marks taken from HQ's words afresh.  A "moved" of someone protected now is told
    "left" (_protected_now)."""
    from_start = after > 0 and (after > (conn.execute(select(func.max(left_elsewhere_t.c.id))).scalar() or 0)
                                or last is not None and not _took(conn, device_id, after, last))
    if from_start:
        after = 0
    rows = conn.execute(select(left_elsewhere_t.c.id, left_elsewhere_t.c.seq, left_elsewhere_t.c.kind,
                               left_elsewhere_t.c.person_id)
                        .where(left_elsewhere_t.c.device_id == device_id, left_elsewhere_t.c.id > after)
                        .order_by(left_elsewhere_t.c.id).limit(PER_ANSWER + 1)).all()
    more = len(rows) > PER_ANSWER
    rows = rows[:PER_ANSWER]
    unsaid = _protected_now(conn, {r.person_id for r in rows if r.kind == MOVED})
    answer = {"after": rows[-1].id if rows else after, "more": more,
              "people": [[r.seq, LEFT if r.kind == MOVED and r.person_id in unsaid else r.kind] for r in rows]}
    if from_start:
        answer["from_start"] = True
    return answer


def _protected_now(conn: Connection, pids: set[int]) -> set[int]:
    """Of whom of these persons "moved" is told as "left": one the inquiries' rule protects now
    (safety.protected_among).  The merge writes a word by its own cheaper rule (never-disclose rows and their
    households), inside every batch; here, as each kiosk is told, a protection only through a name form, a
    correction link or a household in turn, or one a later batch brought, says no more of her than "left".
    One HQ no longer holds is told "left" too: whom the word is about now cannot be decided."""
    if not pids:
        return set()
    from sqlalchemy.orm import Session

    from . import safety  # (safety imports the merge, which imports this module)
    # Read only, in the caller's transaction (begun above): "rollback_only" leaves it to the caller on
    # close, and nothing here commits or rolls back.
    session = Session(bind=conn, join_transaction_mode="rollback_only", autoflush=False)
    try:
        persons = list(session.scalars(select(Person).where(Person.id.in_(sorted(pids)))))
        protected = safety.protected_among(session, persons)
    finally:
        session.close()
    return protected | (pids - {p.id for p in persons})


def last_taken(value: Any) -> dict[str, Any] | None:
    """A kiosk's `left_elsewhere_last` ({seq, kind, count?}: the last word it took and how many it has taken),
    or None.  Only a check of the cursor: one HQ cannot read is as if not sent (the cursor alone, as from a
    kiosk older than it), not a refused sync."""
    if not isinstance(value, dict):
        return None
    seq, kind, count = value.get("seq"), value.get("kind"), value.get("count")
    if not whole_number(seq) or not isinstance(kind, str) or len(kind) > 8 \
            or count is not None and not whole_number(count):
        return None
    return {"seq": seq, "kind": kind, "count": count}


def whole_number(value: Any) -> bool:
    """A cursor, record number or count as a kiosk sends one: a whole number from 0, below where SQLite's
    integers end (hq_dashboard.api checks the sync's own with it)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 1 << 62


def _took(conn: Connection, device_id: str, after: int, last: dict[str, Any]) -> bool:
    """Whether HQ's word `after` is the one this kiosk took there: its own, with the same seq and kind as told,
    and (when the kiosk counted) the same number of its words up to it."""
    row = conn.execute(select(left_elsewhere_t.c.device_id, left_elsewhere_t.c.seq, left_elsewhere_t.c.kind,
                              left_elsewhere_t.c.person_id).where(left_elsewhere_t.c.id == after)).first()
    if row is None or (row.device_id, row.seq) != (device_id, last["seq"]):
        return False
    # The kiosk says back what it was told: "moved" told as "left" (_protected_now) is the same word if it
    # would be told so now.  Only then is the person read: not at every sync.
    if last["kind"] != row.kind and ((row.kind, last["kind"]) != (MOVED, LEFT)
                                     or not _protected_now(conn, {row.person_id})):
        return False
    return last["count"] is None or last["count"] == conn.execute(
        select(func.count()).select_from(left_elsewhere_t)
        .where(left_elsewhere_t.c.device_id == device_id, left_elsewhere_t.c.id <= after)).scalar()
