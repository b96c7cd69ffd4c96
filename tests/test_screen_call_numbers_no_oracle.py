"""Review: /screen/call-staff gave the screen the staff_calls row id, and a check-in held back for staff
(a protected person's: KioskStore.hold_for_staff) is a row there too.  Pressing "call staff", checking
in a typed-in name, waiting out the join window and pressing again gave N+2 for a protected name and
N+1 for an unknown one (災対法 §86-15).  The screen now gets an opaque token per call, and asks after
its call by that token; a guessed or old row id tells nothing."""
from __future__ import annotations

import re

from kiosk.store import STAFF_CALL_PRESSES_JOIN_S, KioskStore
from tests.staff_helpers import make_app

TOKEN = re.compile(r"[A-Za-z0-9_-]{20,}")


def _past_the_join_window(store: KioskStore) -> None:
    # as test_staff_calls_live does: the screen's last press is older than the window, the next is someone new
    call, at = store.db.execute("SELECT value FROM meta WHERE key = 'staff_call_last_press'").fetchone()[0].split()
    old = int(at) - (STAFF_CALL_PRESSES_JOIN_S + 1) * 1000
    store.db.execute("UPDATE meta SET value = ? WHERE key = 'staff_call_last_press'", (f"{call} {old}",))


def _press_hold_press(db, held: bool):
    """Two presses someone new each time, a held-back check-in between them or not: what the screen saw."""
    screen = make_app(db).test_client()
    store = KioskStore(db)
    try:
        first = screen.post("/screen/call-staff?lang=ja", json={})
        again = screen.post("/screen/call-staff?lang=en", json={})   # the same person pressing again: joined
        _past_the_join_window(store)
        if held:
            store.hold_for_staff("ja", ["加藤 悪子 1980-04-01"])
        second = screen.post("/screen/call-staff?lang=ja", json={})
        answers = [(r.status_code, r.get_json()) for r in (first, again, second)]
        return screen, store, answers
    except BaseException:
        store.close()
        raise


def _shape(answers):
    """The answers with each call token in place of itself (they are random), anything else as it is."""
    return [(status, {k: "<token>" if k == "call" and isinstance(v, str) and TOKEN.fullmatch(v) else v
                      for k, v in body.items()}) for status, body in answers]


def test_what_the_screen_is_given_for_a_call_does_not_count_held_back_calls(tmp_path):
    _, plain_store, plain = _press_hold_press(tmp_path / "plain.sqlite3", held=False)
    _, held_store, held = _press_hold_press(tmp_path / "held.sqlite3", held=True)
    try:
        # a held-back call in between changes nothing the screen is given
        assert _shape(held) == _shape(plain) == [(201, {"status": "called", "call": "<token>"})] * 3, (plain, held)
        for answers in (plain, held):
            first, again, second = (body["call"] for _, body in answers)
            assert first == again != second   # joined presses keep their call; someone new gets another
        # the tokens are not the row ids, nor anything the two databases share
        assert {b["call"] for _, b in plain}.isdisjoint({b["call"] for _, b in held})
        assert held_store.db.execute("SELECT count(*) FROM staff_calls").fetchone()[0] == 3
    finally:
        plain_store.close()
        held_store.close()


def test_the_screen_asks_after_its_call_by_its_token_and_a_row_id_tells_nothing(tmp_path):
    screen, store, answers = _press_hold_press(tmp_path / "kiosk.sqlite3", held=True)
    try:
        first, _, second = (body["call"] for _, body in answers)
        ids = {c["reason"]: c["id"] for c in store.open_staff_calls()}
        assert sorted(ids) == ["held_protected", "no_id"] and len(store.open_staff_calls()) == 3
        open_ids = [c["id"] for c in store.open_staff_calls()]
        for token in (first, second):
            assert screen.get(f"/screen/calls/{token}").get_json() == {"open": True}
        # staff answer the first call on the tablet (by its id there): the screen's first token is closed
        store.answer_staff_call(open_ids[0])
        assert screen.get(f"/screen/calls/{first}").get_json() == {"open": False}
        assert screen.get(f"/screen/calls/{second}").get_json() == {"open": True}
        # Guessed or old numeric ids, open or answered, held back or pressed, or none at all: all alike.
        for guess in [*open_ids, 0, 1, 2, 3, 4, 99, "-1", "abc"]:
            resp = screen.get(f"/screen/calls/{guess}")
            assert (resp.status_code, resp.get_json()) == (200, {"open": False}), guess
        store.answer_staff_call(open_ids[2])
        assert screen.get(f"/screen/calls/{second}").get_json() == {"open": False}
    finally:
        store.close()


def test_a_kiosk_database_from_before_the_tokens_gets_them(tmp_path):
    """An older kiosk file (staff_calls without the tokens' table, a call open in it) upgrades when opened."""
    db = tmp_path / "kiosk.sqlite3"
    make_app(db)
    store = KioskStore(db)
    old = store.call_staff("ja")
    store.db.execute("DROP TABLE staff_call_tokens")
    store.close()
    screen = make_app(db).test_client()
    store = KioskStore(db)
    try:
        # a press within the window joins the call from before the upgrade, which now has a token
        token = screen.post("/screen/call-staff?lang=en", json={}).get_json()["call"]
        assert TOKEN.fullmatch(token) and screen.get(f"/screen/calls/{token}").get_json() == {"open": True}
        assert [c["id"] for c in store.open_staff_calls()] == [old]
        store.answer_staff_call(old)
        assert screen.get(f"/screen/calls/{token}").get_json() == {"open": False}
    finally:
        store.close()
