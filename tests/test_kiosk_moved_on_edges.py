"""Edges of HQ's left-elsewhere words on the kiosk (tests/test_kiosk_moved_on.py has the main story): a
correction of someone HQ said moved on, a cursor HQ should never send, and the tablet's words."""
from __future__ import annotations

from tests.test_kiosk_moved_on import (ADDRESS, HANAKO, JIRO, SABURO, hanako_moves_on,  # noqa: F401  (sites: fixture)
                                       protected_mothers_child_moves_on, sites)
from tests.test_sync_hq_answers import serve  # noqa: F401  (fixture: HQ over real HTTP in a thread)

from evac.events import Person


def hq_has(hq_app, name: str) -> list[tuple[str, str | None]]:
    """Where HQ has everyone of this name: (state, shelter_id) per person."""
    from sqlalchemy import select

    from hq_dashboard.db import db
    from hq_dashboard.models import Person as HQPerson
    with hq_app.app_context():
        return [tuple(r) for r in db.session.execute(
            select(HQPerson.state, HQPerson.shelter_id).where(HQPerson.name == name).order_by(HQPerson.id))]


def correct_name(site, old_name: str, new_name: str) -> None:
    """Staff at `site` correct a typo in the name (the identity key changes), on the person's row."""
    from kiosk import staff_store
    (row,) = [r for r in staff_store.checked_out(site.store, site.shelter) + staff_store.roster(site.store, site.shelter)
              if r.person.name == old_name]
    p = row.person
    staff_store.correct(site.store, site.shelter, row,
                        Person(name=new_name, birth_date=p.birth_date, sex=p.sex, address=p.address,
                               name_kana=p.name_kana),
                        stay_type="in_shelter", needs=[], contact_phone="", home_damage="unknown",
                        household_members=None, consent="none", family_code="")


def test_a_corrected_identity_of_someone_hq_said_moved_is_where_hq_has_it(sites, hq_app):
    """Staff correct the name of someone HQ said moved on: HQ files the kiosk's records under the corrected
    identity as someone new, at this shelter, and takes back its word on the kiosk's record (it is no longer
    the old person's).  The kiosk counts the corrected person here too, not moved: the two agree, and go on
    agreeing (the cursor and the last word taken are HQ's log's; a roster folded again keeps it so)."""
    from kiosk.store import KioskStore
    a, b = sites
    hanako_moves_on(a, b)
    a.sync()
    assert a.left() == {"大石 花子": "moved"}
    after, last = a.store.left_elsewhere_after(), a.store.left_elsewhere_last()
    correct_name(a, "大石 花子", "大石 華子")
    assert sorted(a.here()) == ["大石 次郎", "大石 華子"] and a.headcount() == 2 and a.left() == {}
    a.sync()
    b.sync()
    a.sync()
    assert hq_has(hq_app, "大石 華子") == [("checked_in", "H001")]      # HQ: someone new, at A
    assert hq_has(hq_app, "大石 花子") == [("checked_in", "H002")]
    assert sorted(a.here()) == ["大石 次郎", "大石 華子"] and a.headcount() == 2 and a.left() == {}
    assert a.store.left_elsewhere_after() == after + 1          # HQ's word taken back: BACK on the same record
    assert a.store.left_elsewhere_last() == {**last, "kind": "", "count": last["count"] + 1}
    with a.store._write():
        a.store.db.execute("DELETE FROM meta WHERE key = 'identity_form'")
    a.store.close()
    a.store = KioskStore(a.path)                         # folded again from its log and HQ's words
    assert sorted(a.here()) == ["大石 次郎", "大石 華子"] and a.left() == {}
    a.sync()
    assert sorted(a.here()) == ["大石 次郎", "大石 華子"] and a.left() == {}
    assert hq_has(hq_app, "大石 華子") == [("checked_in", "H001")]


def rewriting_hq(hq_app, change):
    """HQ as it is, over real HTTP, its sync answers' left_elsewhere passed through `change` (None: as HQ
    said it): an HQ whose software says what it should not."""
    import json

    def app(environ, start_response):
        held = {}

        def keep(status, headers, exc_info=None):
            held.update(status=status, headers=headers)
        body = b"".join(hq_app.wsgi_app(environ, keep))
        if environ["PATH_INFO"] == "/api/v1/sync" and body.startswith(b"{") and change[0] is not None:
            answer = json.loads(body)
            if "left_elsewhere" in answer:
                answer["left_elsewhere"] = change[0](answer["left_elsewhere"])
            body = json.dumps(answer).encode()
        headers = [(k, v) for k, v in held["headers"] if k.lower() != "content-length"]
        start_response(held["status"], headers + [("Content-Length", str(len(body)))])
        return [body]
    return app


def test_a_cursor_beyond_hqs_own_limit_is_left_aside_and_said_and_sync_goes_on(sites, hq_app, serve):  # noqa: F811
    """HQ's software at fault says a cursor of 2**63: kept, it would be sent back and HQ would refuse every
    later sync.  The kiosk leaves those words aside, says so in the round's report and on the console, and
    takes HQ's words again once HQ says them as it should."""
    from kiosk.sync import BackgroundSync, HQClient, sync_once
    from tests.staff_helpers import wait_for
    a, b = sites
    change = [lambda words: {**words, "after": 2 ** 63}]
    a.link = HQClient(serve(rewriting_hq(hq_app, change)).url, a.link.token)
    hanako_moves_on(a, b)
    for _ in range(2):                                   # the second round too: nothing HQ refuses is sent
        report = sync_once(a.store, a.link)
        assert report.pending == 0
        assert report.doubts == ("本部の応答にある「ほかの避難所に移った人」の知らせを、この端末は読めません（読み進めた"
                                 "位置 9223372036854775808 が 0〜4611686018427387903 の外です）。取り込まず、名簿は"
                                 "そのままです。本部のソフトウェアの不具合かもしれません / HQ's answer had "
                                 "left-elsewhere words this kiosk cannot read (its cursor 9223372036854775808 is not "
                                 "from 0 to 4611686018427387903): not taken, the roster stays as it was; HQ's "
                                 "software may be at fault",)
        assert a.store.left_elsewhere_after() == 0 and a.store.left_elsewhere_last() is None
        assert sorted(a.here()) == ["大石 次郎", "大石 花子"] and a.left() == {}
    said: list[str] = []
    syncer = BackgroundSync(str(a.path), a.link, interval=0.05, say=said.append)
    syncer.start()
    try:
        wait_for(lambda: said, "the console told how the sync went")
        assert said[0].startswith(f"本部 {a.link.base} との同期は動いています: 本部はこの受付機の記録を 2 番まで受け取って"
                                  "います（送信待ち 0 件）。ただし、本部の応答にある「ほかの避難所に移った人」の知らせを、"
                                  "この端末は読めません"), said
        assert f" / sync with HQ at {a.link.base} works: HQ holds this kiosk's records up to 2, 0 waiting to be " \
            "sent; but HQ's answer had left-elsewhere words" in said[0], said
        assert "HQ's answer had left-elsewhere words this kiosk cannot read (its cursor 9223372036854775808 is " \
            "not from 0" in said[0], said
        change[0] = None                                 # HQ mended
        wait_for(lambda: len(said) == 2, "the console told the sync works as it should again")
        assert said[1] == (f"本部 {a.link.base} との同期は動いています: 本部はこの受付機の記録を 2 番まで受け取っています"
                           f"（送信待ち 0 件） / sync with HQ at {a.link.base} works: HQ holds this kiosk's records up "
                           "to 2, 0 waiting to be sent")
    finally:
        syncer.stop()
        syncer.join(10)
    assert sync_once(a.store, a.link).doubts == ()
    assert a.here() == ["大石 次郎"] and a.left() == {"大石 花子": "moved"}
    assert 0 < a.store.left_elsewhere_after() < 1 << 62


def test_words_beyond_the_limit_in_the_store_are_read_as_none(kiosk_store):
    """A cursor kept beyond the limit (by a kiosk before this check, or by hand) is read as none taken: HQ's
    words are read again from the start, not refused every round; a word naming no record this kiosk could
    have written is left aside, not the end of the round (SQLite's integers end at 2**63 - 1)."""
    from evac.events import Person as P
    store = kiosk_store
    store.check_in("H001", [P(**HANAKO)])
    store.note_left_elsewhere([[2 ** 63, "moved"], [1, "moved"]], after=3)
    assert store.db.execute("SELECT seq, kind FROM left_elsewhere").fetchall() == [(1, "moved")]
    assert store.left_elsewhere_after() == 3 and store.left_elsewhere_last() == {"seq": 1, "kind": "moved",
                                                                                 "count": 2}
    store.note_left_elsewhere([[2 ** 63, "left"]], after=4)
    assert store.left_elsewhere_last() is None           # a word it cannot say back: the cursor alone
    for beyond in (2 ** 63, 1 << 62, 10 ** 30):
        with store._write():
            store.db.execute("UPDATE meta SET value = ? WHERE key = 'left_elsewhere_after'", (str(beyond),))
        assert store.left_elsewhere_after() == 0 and store.left_elsewhere_last() is None, beyond
    with store._write():
        store.db.execute("UPDATE meta SET value = ? WHERE key = 'left_elsewhere_after'", (str((1 << 62) - 1),))
    assert store.left_elsewhere_after() == (1 << 62) - 1




def household_list(page: str) -> dict[str, str]:
    """The household list of a person's page on the tablet: each member's name and the words beside it."""
    import re
    (members,) = re.findall(r'<ul id="household-members">(.*?)</ul>', page, re.S)
    return {name: " ".join(re.sub(r"<[^>]+>", "", rest).split())
            for name, rest in re.findall(r'<li><a href="[^"]*">([^<]*)</a>(.*?)</li>', members, re.S)}


def test_the_tablet_says_someone_left_elsewhere_left_here_not_that_they_checked_out(sites):
    """Of a protected mother's child HQ says only "left": not a check-out (staff would think he checked out
    here as usual), only that he is no longer here.  His mother's page says it beside him in her household."""
    import re

    from kiosk import staff_store
    from tests.staff_helpers import logged_in
    a, b = sites
    protected_mothers_child_moves_on(a, b)
    assert a.left() == {"大石 三郎": "left"}
    (saburo,) = staff_store.checked_out(a.store, "H001")
    (hanako,) = staff_store.roster(a.store, "H001")
    tablet = logged_in(a.app)
    for page in (tablet.get(f"/staff/person/{saburo.key}").text, tablet.get("/staff/summary").text,
                 tablet.get(f"/staff/?q={SABURO['name']}").text):
        assert re.findall(r'<span class="left-elsewhere">([^<]*)</span>', page) == ["ここを離れました（ほかで記録）"]
    assert household_list(tablet.get(f"/staff/person/{hanako.key}").text) == {
        "大石 三郎": f"{SABURO['birth_date']} — ここを離れました（ほかで記録）"}
    tablet.get("/staff/lang/en")
    assert "Left here (recorded elsewhere)" in tablet.get(f"/staff/person/{saburo.key}").text
    assert household_list(tablet.get(f"/staff/person/{hanako.key}").text) == {
        "大石 三郎": f"{SABURO['birth_date']} — Left here (recorded elsewhere)"}


def test_a_household_member_who_moved_to_another_shelter_is_marked_so_on_the_others_page(sites):
    from kiosk import staff_store
    from tests.staff_helpers import logged_in
    a, b = sites
    hanako_moves_on(a, b)
    a.sync()
    (jiro,) = staff_store.roster(a.store, "H001")
    tablet = logged_in(a.app)
    assert household_list(tablet.get(f"/staff/person/{jiro.key}").text) == {
        "大石 花子": "1980-04-04 — 他の避難所へ移動（移動先で記録）"}
    b.sync()
    (hanako,) = staff_store.roster(b.store, "H002")
    b_tablet = logged_in(b.app)   # at B she is here; of Jiro, checked in only at A, B's kiosk knows nothing
    assert "household-members" not in b_tablet.get(f"/staff/person/{hanako.key}").text
    a.check_in(HANAKO)                                   # back at A: no mark beside her on Jiro's page
    assert household_list(tablet.get(f"/staff/person/{jiro.key}").text) == {"大石 花子": "1980-04-04"}
