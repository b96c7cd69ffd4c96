"""HQ takes back its left-elsewhere word when a merge files the kiosk's record away from the person it
was said of: a correction at the kiosk made them someone new, whom HQ has at that kiosk's shelter.  A kiosk
that takes the old word after its correction, or takes HQ's words again from the start, would otherwise
mark the corrected person as moved on while HQ has them there."""
from __future__ import annotations

from tests.test_kiosk_moved_on import ADDRESS, HANAKO, JIRO, hanako_moves_on, sites  # noqa: F401
from tests.test_kiosk_moved_on_edges import correct_name, hq_has
from tests.test_sync_hq_answers import serve  # noqa: F401  (fixture: HQ over real HTTP in a thread)


def test_corrected_before_the_kiosk_took_hqs_word_she_is_here_as_hq_has_her(sites, hq_app):
    a, b = sites
    hanako_moves_on(a, b)                       # HQ says (A, her record) "moved"; A has not heard it yet
    correct_name(a, "大石 花子", "大石 華子")
    a.sync()                                    # HQ refiles A's records under the corrected name: someone new
    a.sync()
    assert hq_has(hq_app, "大石 華子") == [("checked_in", "H001")]
    assert hq_has(hq_app, "大石 花子") == [("checked_in", "H002")]
    assert sorted(a.here()) == ["大石 次郎", "大石 華子"] and a.headcount() == 2 and a.left() == {}


def test_told_to_start_again_after_the_correction_she_stays_here(sites, hq_app):
    a, b = sites
    hanako_moves_on(a, b)
    a.sync()
    assert a.left() == {"大石 花子": "moved"}
    correct_name(a, "大石 花子", "大石 華子")
    a.sync()
    b.sync()
    a.sync()
    assert a.left() == {}
    with a.store._write():                      # as if HQ were restored from a backup: its words afresh
        a.store.db.execute("UPDATE meta SET value = '999999' WHERE key = 'left_elsewhere_after'")
    a.sync()
    a.sync()
    assert a.store.left_elsewhere_after() < 999999
    assert hq_has(hq_app, "大石 華子") == [("checked_in", "H001")]
    assert sorted(a.here()) == ["大石 次郎", "大石 華子"] and a.headcount() == 2 and a.left() == {}


def test_corrected_to_someone_hq_has_at_another_shelter_she_is_moved_on_as_hq_has_her(sites, hq_app, enroll,
                                                                                      tmp_path):
    """The corrected identity is someone HQ already has at a third shelter, checked in there later: HQ's word
    on the kiosk's record is taken back from the old person and said again of the corrected one, in that
    order, so the kiosk marks her moved on, as HQ has her."""
    from tests.test_kiosk_moved_on import Site

    class HQ:
        url = sites[0].link.base
    a, b = sites
    c = Site(tmp_path, HQ, enroll("H003"), "H003")
    hanako_moves_on(a, b)
    a.sync()
    assert a.left() == {"大石 花子": "moved"}
    c.check_in({**HANAKO, "name": "大石 華子", "name_kana": "オオイシ ハナコ"})
    c.sync()
    correct_name(a, "大石 花子", "大石 華子")
    a.sync()
    a.sync()
    assert hq_has(hq_app, "大石 華子") == [("checked_in", "H003")]
    assert a.here() == ["大石 次郎"] and a.headcount() == 1 and a.left() == {"大石 華子": "moved"}

