"""Review (HIGH): the screen told someone 「係員が来ます」 and the tablet heard of it only when a page was
drawn.  The tablet's pages now ask /staff/open-calls now and then (static/staff/calls.js), without that
counting as use; repeated presses at the screen are one call; the screen can ask whether its call is
still open, so that its 「係員が来ます」 stays while it is."""
from __future__ import annotations

import threading
import time

from kiosk import staff_store
from kiosk.store import SENT_TO_STAFF, STAFF_CALL_PRESSES_JOIN_S, KioskStore
from tests.staff_helpers import logged_in, make_app
from tests.staff_helpers import app, db  # noqa: F401 (fixtures)


def test_the_open_calls_are_told_to_logged_in_staff_only(app):
    tablet = app.test_client()
    resp = tablet.get("/staff/open-calls")
    assert resp.status_code == 401 and resp.get_json() == {"logged_in": False}
    assert resp.headers["Cache-Control"] == "no-store"

    client = logged_in(app)
    resp = client.get("/staff/open-calls")
    assert resp.status_code == 200 and resp.is_json
    assert resp.get_json()["open"] == 0 and resp.get_json()["text"] == ""
    assert resp.headers["Cache-Control"] == "no-store" and "default-src 'self'" in resp.headers["Content-Security-Policy"]

    assert app.test_client().post("/screen/call-staff?lang=pt", json={}).status_code == 201
    data = client.get("/staff/open-calls").get_json()
    # what base.html's banner says and links to, in the tablet's language (Japanese by default)
    assert data["open"] == 1 and data["text"] == "受付画面で 1 人が職員を待っています。"
    assert data["href"] == "/staff/summary#calls" and data["newest"] >= 1
    assert client.get("/staff/lang/en?next=/staff/").status_code == 302
    assert client.get("/staff/open-calls").get_json()["text"] == "1 people at the screen are waiting for staff."
    # the page's script draws the banner from these words: the page itself says where to ask
    page = client.get("/staff/").text
    assert 'src="/static/staff/calls.js"' in page and 'data-url="/staff/open-calls"' in page
    assert 'data-every="10"' in page and f'data-newest="{data["newest"]}"' in page


def test_the_poll_interval_is_the_apps_config(db):  # noqa: F811
    client = logged_in(make_app(db, STAFF_CALLS_POLL_SECONDS=1))
    assert 'data-every="1"' in client.get("/staff/").text


def test_asking_for_calls_is_not_use_of_the_tablet(app):
    """A tablet left on a page must still log itself out after the idle limit: the poll notes no use,
    neither in the cookie (staff_seen) nor in the log-in's row (seen_at)."""
    client = logged_in(app)
    idle = app.config["STAFF_IDLE_MINUTES"] * 60
    long_ago = int(time.time()) - staff_store.SEEN_EVERY - 30
    with client.session_transaction() as s:
        s["staff_seen"] = long_ago
    store = KioskStore(app.config["KIOSK_DB"])
    try:
        store.db.execute("UPDATE staff_sessions SET seen_at = ?", (long_ago,))
        assert client.get("/staff/open-calls").status_code == 200
        with client.session_transaction() as s:
            assert s["staff_seen"] == long_ago
        assert store.db.execute("SELECT seen_at FROM staff_sessions").fetchall() == [(long_ago,)]
        # A page is use, as before (the guard notes it).
        assert client.get("/staff/").status_code == 200
        assert store.db.execute("SELECT seen_at FROM staff_sessions").fetchone()[0] > long_ago
    finally:
        store.close()
    # Past the idle limit the poll is told "logged out", and the page the tablet then loads logs it out.
    with client.session_transaction() as s:
        s["staff_seen"] = int(time.time()) - idle - 10
    assert client.get("/staff/open-calls").status_code == 401
    resp = client.get("/staff/")
    assert resp.status_code == 302 and "/staff/login" in resp.headers["Location"]


def test_presses_of_the_screens_button_while_a_call_is_open_are_one_call(app):
    screen = app.test_client()
    # the screen is given a token per call, not its id (test_screen_call_numbers_no_oracle)
    tokens = [screen.post(f"/screen/call-staff?lang={lang}", json={}).get_json()["call"]
              for lang in ("ja", "en", "vi")]
    store = KioskStore(app.config["KIOSK_DB"])
    try:
        calls = store.open_staff_calls()
        # one person pressing three times is one call, in the language they use now
        assert len(set(tokens)) == 1 and [c["language"] for c in calls] == ["vi"]
        assert store.staff_call_token(calls[0]["id"]) == tokens[0]
        assert screen.get(f"/screen/calls/{tokens[0]}").get_json() == {"open": True}
        store.answer_staff_call(calls[0]["id"])
        assert screen.get(f"/screen/calls/{tokens[0]}").get_json() == {"open": False}
        # answered: the next press is someone new (or the same person still waiting), called again
        again = screen.post("/screen/call-staff", json={}).get_json()["call"]
        assert again != tokens[0] and [store.staff_call_token(c["id"]) for c in store.open_staff_calls()] == [again]
    finally:
        store.close()


def test_a_press_long_after_the_last_one_is_another_call(kiosk_store):
    first = kiosk_store.call_staff("ja")
    assert kiosk_store.call_staff("en") == first
    # the last press at the screen is older than the window: another person
    call, at = kiosk_store.db.execute("SELECT value FROM meta WHERE key = 'staff_call_last_press'").fetchone()[0].split()
    old = int(at) - (STAFF_CALL_PRESSES_JOIN_S + 1) * 1000
    kiosk_store.db.execute("UPDATE meta SET value = ? WHERE key = 'staff_call_last_press'", (f"{call} {old}",))
    second = kiosk_store.call_staff("pt")
    assert second != first and [c["language"] for c in kiosk_store.open_staff_calls()] == ["en", "pt"]
    # within the window of the last press (the second call's), a press joins that one
    assert kiosk_store.call_staff("zh") == second


def test_a_press_after_the_screen_sent_someone_to_staff_joins_that_call(kiosk_store):
    sent = kiosk_store.call_staff("vi", SENT_TO_STAFF)
    assert kiosk_store.call_staff("vi") == sent
    assert [c["reason"] for c in kiosk_store.open_staff_calls()] == [SENT_TO_STAFF]   # the more telling reason stays
    # but another person the screen sends to staff is a call of their own (kiosk.screen._to_staff)
    assert kiosk_store.call_staff("ja", SENT_TO_STAFF) != sent


def test_presses_at_the_same_moment_on_two_connections_make_one_call(tmp_path):
    """Decided in one write transaction: two requests at once (two threads, each its own connection, as
    the kiosk's server has) cannot both find no call and both add one."""
    path = tmp_path / "k.sqlite3"
    KioskStore(path).close()
    stores = [KioskStore(path) for _ in range(4)]
    start = threading.Barrier(len(stores))
    got: list[int] = []

    def press(store):
        start.wait()
        for _ in range(5):
            got.append(store.call_staff("ja"))

    threads = [threading.Thread(target=press, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    try:
        assert len(got) == 20 and len(set(got)) == 1 and len(stores[0].open_staff_calls()) == 1
    finally:
        for s in stores:
            s.close()
