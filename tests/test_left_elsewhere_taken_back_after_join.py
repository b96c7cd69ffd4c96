"""HQ takes back its left-elsewhere word on a kiosk record a correction refiled, also when that word is not the
person's latest at that kiosk: two persons HQ joined (a pre-registration id found with both their identities)
each had a word on a record of the same kiosk, and only the older record is refiled.  Untaken back, the older
word marks the record's new owner as moved on when the kiosk takes it after its correction, or takes HQ's
words again from the start, while HQ has her here."""
from __future__ import annotations

from evac.events import CHECKIN
from tests.test_hq_left_elsewhere_rules import she_alone_moves_on
from tests.test_kiosk_moved_on import HANAKO, Site, sites  # noqa: F401  (sites: fixture)
from tests.test_kiosk_moved_on_edges import correct_name, hq_has
from tests.test_left_elsewhere_taken_back_gone import hq_words
from tests.test_sync_hq_answers import serve  # noqa: F401  (fixture: HQ over real HTTP in a thread)

PREREG = "PR-HANA1"
# The same woman, typed with another kanji at A from her pre-registration: to A (and to HQ, until the id is
# seen with 花子 too) someone else.
HANAKO_PREREG = {**HANAKO, "name": "大石 華子", "prereg_id": PREREG}


def check_in_as_written(site, who) -> int:
    """A check-in of `who` as the kiosk writes it (with her pre-registration id); its record's seq."""
    (ev,) = site.store.append([{"type": CHECKIN, "shelter_id": site.shelter, "person": who, "household_id": "",
                                "data": {"stay_type": "in_shelter"}}])
    return ev.seq


def joined_at(c):
    """The third shelter checks 花子 in with 華子's pre-registration id: HQ joins the two, and has her there."""
    check_in_as_written(c, {**HANAKO, "prereg_id": PREREG})
    c.sync()


def third_site(sites, enroll, tmp_path):
    class HQ:
        url = sites[0].link.base
    return Site(tmp_path, HQ, enroll("H003"), "H003")


def two_records_joined(sites, enroll, tmp_path):
    """A checks in 花子 (its first record) and 華子 (its second); 花子 checks in at B (HQ's word on the first:
    moved), then the third shelter joins her with 華子 (HQ's word on the second: moved).  (a, b, c, first, second)"""
    a, b = sites
    c = third_site(sites, enroll, tmp_path)
    a.check_in(HANAKO)
    first = a.store.last_seq
    second = check_in_as_written(a, HANAKO_PREREG)
    a.sync()
    b.check_in(HANAKO)
    b.sync()
    joined_at(c)
    return a, b, c, first, second


def test_corrected_after_a_join_before_the_kiosk_took_the_word_she_is_here(sites, hq_app, enroll, tmp_path):
    """A checks in 花子, then 華子; 花子 checks in at B (HQ's word on A's first record: moved) and the third
    shelter joins her with 華子 (HQ's word on A's second record: moved).  Before A syncs, its staff find that its
    first record was 花江, someone else: HQ refiles it under 花江, here.  A, taking HQ's words after its
    correction, must not mark 花江 as moved on."""
    a, b, c, first, second = two_records_joined(sites, enroll, tmp_path)
    assert hq_has(hq_app, "大石 花子") == [("checked_in", "H003")]
    assert hq_words(hq_app, a.store.device_id) == [(first, "moved"), (second, "moved")]
    correct_name(a, "大石 花子", "大石 花江")
    a.sync()
    a.sync()
    assert hq_has(hq_app, "大石 花江") == [("checked_in", "H001")]
    assert a.here() == ["大石 花江"] and a.headcount() == 1 and a.left() == {"大石 華子": "moved"}
    assert hq_words(hq_app, a.store.device_id)[-1] == (first, "")


def test_corrected_after_a_join_she_stays_here_when_hqs_words_are_taken_afresh(sites, hq_app, enroll, tmp_path):
    """The same with A told of each word as it came: its correction clears 花子's mark at once; HQ's words
    taken again from the start (HQ restored from a backup) must leave 花江 here too."""
    a, b = sites
    c = third_site(sites, enroll, tmp_path)
    she_alone_moves_on(a, b)
    check_in_as_written(a, HANAKO_PREREG)
    a.sync()
    joined_at(c)
    a.sync()
    assert a.left() == {"大石 花子": "moved", "大石 華子": "moved"}
    correct_name(a, "大石 花子", "大石 花江")
    a.sync()
    a.sync()
    assert hq_has(hq_app, "大石 花江") == [("checked_in", "H001")]
    assert a.here() == ["大石 花江"] and a.left() == {"大石 華子": "moved"}
    with a.store._write():                      # as if HQ were restored from a backup: its words afresh
        a.store.db.execute("UPDATE meta SET value = '999999' WHERE key = 'left_elsewhere_after'")
    a.sync()
    a.sync()
    assert a.store.left_elsewhere_after() < 999999
    assert a.here() == ["大石 花江"] and a.headcount() == 1 and a.left() == {"大石 華子": "moved"}


def test_a_log_from_before_takes_back_no_word_the_records_owner_stands_on(sites, hq_app, enroll, tmp_path):
    """HQ's log as written before it took such words back: 花子's (the joined person's) old word on A's first
    record was left standing when A corrected that record to 花江, whom HQ has at the third shelter and told A
    of on that record since.  When HQ next tells A of 花子, her old word is not taken back: the record's last
    word is 花江's, which the kiosk stands on, and taking 花子's back would clear it."""
    from hq_dashboard.db import db
    from hq_dashboard.models import LeftElsewhere
    a, b, c, first, second = two_records_joined(sites, enroll, tmp_path)
    c.check_in({**HANAKO, "name": "大石 花江"})
    c.sync()
    correct_name(a, "大石 花子", "大石 花江")
    a.sync()
    device = a.store.device_id
    assert hq_words(hq_app, device) == [(first, "moved"), (second, "moved"), (first, ""), (first, "moved")]
    with hq_app.app_context():                  # the log as HQ wrote it before: no word taken back
        db.session.execute(LeftElsewhere.__table__.delete().where(LeftElsewhere.device_id == device,
                                                                  LeftElsewhere.kind == ""))
        db.session.commit()
        db.session.remove()
    c.check_out(HANAKO)                         # HQ tells A of 花子 again
    c.sync()
    a.sync()
    a.sync()
    assert hq_has(hq_app, "大石 花江") == [("checked_in", "H003")]
    assert a.here() == [] and a.headcount() == 0 and a.left() == {"大石 花江": "moved", "大石 華子": "left"}
    assert hq_words(hq_app, device) == [(first, "moved"), (second, "moved"), (first, "moved"), (second, "left")]
