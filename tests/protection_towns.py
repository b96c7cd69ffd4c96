"""Random small towns for the protection properties (tests/test_protection_closure.py,
tests/test_protection_households_reached.py): people whose name forms share a form or a reading, on a few
birth dates, checked in at three kiosks (alone or in households), protected, and corrected into one another,
sent to HQ as real sync batches."""
from __future__ import annotations

from hypothesis import strategies as st

from evac.events import Person
from tests.test_hq_corrections import _post
from tests.wire import KioskStream

# Name forms that share a form or a reading (kanji with and without kana, kana only, 斎/斉 alike) and one apart.
NAMES = [("西村 愛", ""), ("西村 愛", "ニシムラ アイ"), ("ニシムラ アイ", ""), ("斎藤 花", ""), ("斉藤 花", "サイトウ ハナ"),
         ("山田 一郎", ""), ("山田 二郎", "ヤマダ ジロウ")]
ADDRESSES = ["焼津市本町1-1", "焼津市本町2-2"]
DAYS = 4
KIOSKS = (("a", "H031"), ("b", "H039"), ("c", "H040"))

identities = st.lists(st.tuples(st.integers(0, len(NAMES) - 1), st.integers(0, DAYS - 1),
                                st.sampled_from(("female", "male")), st.integers(0, len(ADDRESSES) - 1)),
                      min_size=2, max_size=7)
steps = st.lists(st.one_of(
    st.tuples(st.just("checkin"), st.integers(0, len(KIOSKS) - 1), st.integers(0, 6), st.integers(0, 3)),
    st.tuples(st.just("protect"), st.integers(0, len(KIOSKS) - 1), st.integers(0, 6), st.integers(0, 0)),
    st.tuples(st.just("correct"), st.integers(0, len(KIOSKS) - 1), st.integers(0, 6), st.integers(0, 6))),
    min_size=1, max_size=16)


def send_town(hq_client, enroll, town, n: int, first_year: int, tag: str) -> list[str]:
    """Send example `n` of a town to HQ: its people born in a month of its own (from `first_year`), from kiosks
    and households of its own (devices dev-{tag}{n}-…), so that no other example's records reach it.  Returns
    its birth dates."""
    people, moves = town
    dates = [f"{first_year + n // 12}-{n % 12 + 1:02d}-{day + 1:02d}" for day in range(DAYS)]
    who = [Person(NAMES[name][0], dates[day], sex, ADDRESSES[address], name_kana=NAMES[name][1])
           for name, day, sex, address in people]
    streams = [(KioskStream(f"dev-{tag}{n}-{k}", shelter), enroll(shelter)) for k, shelter in KIOSKS]
    for kind, kiosk, i, j in moves:
        stream = streams[kiosk][0]
        person = who[i % len(who)].to_wire()
        if kind == "checkin":
            # households shared across kiosks too: a person checked in again elsewhere with another family
            stream.checkin(person, household_id=f"hh-{n:08x}{j:08x}" if j else "")
        elif kind == "protect":
            stream.add("consent", person, {"consent": "public", "never_disclose": True})
        else:
            corrected = who[j % len(who)]
            if (corrected.name, corrected.birth_date, corrected.address) != (person["name"], person["birth_date"],
                                                                             person["address"]):
                stream.add("correction", person, {"person": corrected.to_wire()})
    for stream, token in streams:
        if stream.events:
            _post(hq_client, token, stream)
    return dates
