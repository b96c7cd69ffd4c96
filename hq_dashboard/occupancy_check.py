"""HQ's live counters recounted from where everyone is now (`evac hq check-occupancy [--repair]`).

The merge moves each shelter's counters (occupancy, at home, in a car) and the self-report counts by the
difference each batch makes (hq_dashboard.merge._flush_shelters), so nothing ever counts them again: after a
crash, a restore from a backup or a hand edit of the database, an operator doubting the map had no way to
check them.  The recount is the merge's own: each person is in the counter merge._slot says, the column
merge._SLOT_COLUMN names.  It runs in one transaction under the merge's lock (merge.lock_merge, and a write
first on SQLite, as a batch takes it), so no batch is half seen nor lands between the recount and a repair.
Opened, closed and declared full are not counts (status records and check-ins set them); "full" by the
count is derived from occupancy as it is read, so setting the counters is the whole repair.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import Connection, func, select
from sqlalchemy.engine import Engine

from .db import param_mark
from .merge import _SLOT_COLUMN, SELF, _slot, lock_merge
from .models import Person, SelfReportCount, Shelter

COUNTERS = tuple(_SLOT_COLUMN.values())   # the shelters' columns, in the stay types' order
_COUNTER_WORDS = {"occupancy": ("避難所内", "in the shelter"), "at_home": ("在宅", "at home"),
                  "in_car": ("車中", "in a car")}
# (as HQ's occupancy page names them)
_PLACE_WORDS = {"at_home": ("自宅", "at home"), "with_relatives": ("親族・知人宅", "with relatives or friends"),
                "in_car": ("車中", "in a car"), "elsewhere": ("その他", "elsewhere")}


@dataclass
class Findings:
    sites: int = 0   # how many sites HQ has
    # (site id, name, [(counter, stored, recounted), ...]) of each site whose counters differ
    differing: list[tuple[str, str, list[tuple[str, int, int]]]] = field(default_factory=list)
    # (place, stored, recounted) of each self-report count that differs
    outside: list[tuple[str, int, int]] = field(default_factory=list)
    # people the recount puts where no counter is (a site HQ does not have, a stay type of no counter):
    # ((shelter id, stay type), how many); no repair places them
    unplaced: list[tuple[tuple[str, str], int]] = field(default_factory=list)
    repaired: bool = False

    @property
    def agree(self) -> bool:
        return not (self.differing or self.outside or self.unplaced)

    def lines(self) -> list[str]:
        """One line a site (or self-report place) that differs, then the summary: Japanese, then English."""
        out = []
        for sid, name, counters in self.differing:
            ja = "。".join(f"{_COUNTER_WORDS[c][0]} 記録 {was} 人、数え直すと {now} 人" for c, was, now in counters)
            en = "; ".join(f"{_COUNTER_WORDS[c][1]}: stored {was}, recounted {now}" for c, was, now in counters)
            out.append(f"{sid} {name}: {ja} / {en}")
        for place, was, now in self.outside:
            ja_place, en_place = _PLACE_WORDS.get(place, (place, place))
            out.append(f"本人報告（避難所外で無事） {ja_place}: 記録 {was} 人、数え直すと {now} 人 / self-reported safe "
                       f"outside the shelters, {en_place}: stored {was}, recounted {now}")
        for (sid, stay), n in self.unplaced:
            out.append(f"{sid}（{stay}）に {n} 人が記録されていますが、本部にその施設か滞在の種類の人数欄がありません。"
                       "この人たちは数えられません。記録を確かめてください / "
                       f"{n} person(s) recorded at {sid} ({stay}), a site or stay type HQ keeps no count of: they "
                       "cannot be counted; look at their records")
        out.append(self._summary())
        return out

    def _summary(self) -> str:
        if self.agree:
            return (f"すべての施設（{self.sites} か所）と本人報告の人数は、今いる場所から数え直した数と一致しています / "
                    f"all {self.sites} sites' counts and the self-reported counts agree with a recount of where "
                    "everyone is now")
        k = len(self.differing)
        what_ja = "と".join(([f"{k} か所"] if k else []) + (["本人報告"] if self.outside else []))
        what_en = " and ".join(([f"{k} site(s)'"] if k else []) + (["the self-reported"] if self.outside else []))
        unplaced_ja = "（数えられない人は上のとおりです）" if self.unplaced else ""
        unplaced_en = " (those who cannot be counted are above)" if self.unplaced else ""
        if not (self.differing or self.outside):
            return "上の人たちは数えられません。記録を確かめてください / the people above cannot be counted: look at their records"
        if self.repaired:
            return (f"{what_ja}の人数を数え直した数に直しました{unplaced_ja}。地図と一覧は次の更新でこの数を表示します / "
                    f"set {what_en} counts to the recount{unplaced_en}; the map and lists show them at their next "
                    "refresh")
        return (f"{what_ja}の人数が、今いる場所から数え直した数と違います{unplaced_ja}。"
                "`evac hq check-occupancy --repair` で数え直した数に直せます（何も変更していません） / "
                f"{what_en} counts differ from a recount of where everyone is now{unplaced_en}; "
                "`evac hq check-occupancy --repair` sets them to the recount (nothing was changed)")


def recount(conn: Connection) -> tuple[dict[str, Counter], Counter, Counter]:
    """(each site's counters, the self-report counts, the unplaced) from the persons' whereabouts, as the
    merge counts them.  Grouped in the database: a city's persons come back as a few hundred groups."""
    shelters: dict[str, Counter] = {}
    outside: Counter = Counter()
    unplaced: Counter = Counter()
    for state, sid, stay, n in conn.execute(
            select(Person.state, Person.shelter_id, Person.stay_type, func.count())
            .group_by(Person.state, Person.shelter_id, Person.stay_type)):
        slot = _slot({"state": state, "shelter_id": sid, "stay_type": stay})
        if slot is None:
            continue
        where, kind = slot
        if where == SELF:
            outside[kind] += n
        elif kind in _SLOT_COLUMN:
            shelters.setdefault(where, Counter())[_SLOT_COLUMN[kind]] += n
        else:
            unplaced[(where, kind)] += n
    return shelters, outside, unplaced


def _lock(conn: Connection) -> None:
    """The merge's lock, as a batch takes it (merge._lock_kiosk): PostgreSQL's advisory lock; on SQLite a
    write before anything is read takes the database's write lock (and makes every read one snapshot)."""
    lock_merge(conn)
    conn.exec_driver_sql("UPDATE shelters SET occupancy = occupancy WHERE id = ''")


def check(engine: Engine, repair: bool = False) -> Findings:
    """Recount, compare with the stored counters and, with `repair`, set them to the recount: one transaction."""
    with engine.begin() as conn:
        _lock(conn)
        counted, outside, unplaced = recount(conn)
        findings = Findings()
        rows = conn.execute(select(Shelter.id, Shelter.name, *(getattr(Shelter, c) for c in COUNTERS))).all()
        findings.sites = len(rows)
        known = set()
        for sid, name, *was in sorted(rows, key=lambda r: r[0]):   # (by code point, whatever the collation)
            known.add(sid)
            now = [counted.get(sid, Counter())[c] for c in COUNTERS]
            if was != now:
                findings.differing.append((sid, name, [(c, a, b) for c, a, b in zip(COUNTERS, was, now) if a != b]))
        for sid in sorted(set(counted) - known):
            unplaced.update({(sid, kind): counted[sid][col] for kind, col in _SLOT_COLUMN.items() if counted[sid][col]})
        findings.unplaced = sorted(unplaced.items())
        stored_outside = dict(conn.execute(select(SelfReportCount.place, SelfReportCount.count)).all())
        places = sorted(set(stored_outside) | set(outside))
        findings.outside = [(p, stored_outside.get(p, 0), outside[p]) for p in places
                            if stored_outside.get(p, 0) != outside[p]]
        if repair and (findings.differing or findings.outside):
            mark = param_mark(conn)
            sets = ", ".join(f"{c} = {mark}" for c in COUNTERS)
            if findings.differing:
                conn.exec_driver_sql(f"UPDATE shelters SET {sets} WHERE id = {mark}",
                                     [tuple(counted.get(sid, Counter())[c] for c in COUNTERS) + (sid,)
                                      for sid, _, _ in findings.differing])
            if findings.outside:
                conn.exec_driver_sql(f"INSERT INTO self_report_counts (place, count) VALUES ({mark}, {mark})"
                                     " ON CONFLICT (place) DO UPDATE SET count = excluded.count",
                                     [(p, now) for p, _, now in findings.outside])
            findings.repaired = True
    return findings
