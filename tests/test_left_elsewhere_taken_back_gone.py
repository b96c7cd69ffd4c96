"""HQ takes back its left-elsewhere word on a kiosk record even from a person a correction left with no record
at all (merge._refile, left_elsewhere.note's `gone`): the word still stands in HQ's log, on a record that is
now someone else's.  Reached when the person's last word was said before a later record of that kiosk's own
(which needs no word: the kiosk clears its mark itself) and another kiosk's correction took their records
there away first.  The kiosk's own later record also keeps that word from marking anyone there (it counts her
here without the taken-back word too): what is tested is that HQ's log holds no standing word on a record that
is not its person's."""
from __future__ import annotations

from sqlalchemy import select

from tests.test_kiosk_moved_on import HANAKO, sites  # noqa: F401  (sites: fixture)
from tests.test_hq_left_elsewhere_rules import she_alone_moves_on
from tests.test_kiosk_moved_on_edges import correct_name, hq_has
from tests.test_sync_hq_answers import serve  # noqa: F401  (fixture: HQ over real HTTP in a thread)


def hq_words(hq_app, device: str) -> list[tuple[int, str]]:
    """HQ's words to this kiosk, (its record's seq, kind), in the order the kiosk reads them."""
    from hq_dashboard.db import db
    from hq_dashboard.models import LeftElsewhere
    with hq_app.app_context():
        rows = db.session.execute(select(LeftElsewhere.seq, LeftElsewhere.kind)
                                  .where(LeftElsewhere.device_id == device).order_by(LeftElsewhere.id)).all()
        db.session.remove()
    return [tuple(r) for r in rows]


def test_a_person_corrected_away_at_both_kiosks_has_their_word_taken_back(sites, hq_app):
    """Hanako checks in at A, then at B: HQ tells A she moved (A's first record).  She comes back to A and
    checks in again (A's second record: A clears its mark; HQ says nothing).  Staff at B correct her name, then
    staff at A correct it to another: HQ has no record left of 花子.  Its word on A's first record, now 華子's,
    is taken back, and A goes on counting 華子 here, as HQ has her, also after taking HQ's words from the start."""
    a, b = sites
    she_alone_moves_on(a, b)
    first = a.store.last_seq
    a.check_in(HANAKO)
    a.sync()
    b.sync()
    assert a.here() == ["大石 花子"] and hq_has(hq_app, "大石 花子") == [("checked_in", "H001")]
    correct_name(b, "大石 花子", "大石 花江")
    b.sync()
    assert hq_words(hq_app, a.store.device_id) == [(first, "moved")]   # (said before A's own later check-in)
    correct_name(a, "大石 花子", "大石 華子")
    a.sync()
    a.sync()
    assert hq_has(hq_app, "大石 花子") == []
    assert hq_has(hq_app, "大石 華子") == [("checked_in", "H001")]
    assert hq_words(hq_app, a.store.device_id) == [(first, "moved"), (first, "")]
    assert a.here() == ["大石 華子"] and a.headcount() == 1 and a.left() == {}
    with a.store._write():                      # as if HQ were restored from a backup: its words afresh
        a.store.db.execute("UPDATE meta SET value = '999999' WHERE key = 'left_elsewhere_after'")
    a.sync()
    a.sync()
    assert a.store.left_elsewhere_after() < 999999
    assert a.here() == ["大石 華子"] and a.headcount() == 1 and a.left() == {}
