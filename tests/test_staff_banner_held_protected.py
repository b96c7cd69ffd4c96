"""A check-in held back for a lead (a protected person's, kiosk.store.HELD_PROTECTED) is not someone waiting at
the screen: the tablets' banner said "N people at the screen are waiting" for it too, and staff walking to the
screen to find them is what the holding back avoids.  It is said apart, with what to do.  The real kiosk app on a
real SQLite file."""
from __future__ import annotations

from kiosk.store import KioskStore
from tests.staff_helpers import logged_in
from tests.staff_helpers import app, db  # noqa: F401 (fixtures)


def test_held_check_ins_are_said_apart_from_people_at_the_screen(app):  # noqa: F811
    client = logged_in(app)
    store = KioskStore(app.config["KIOSK_DB"])
    try:
        store.hold_for_staff("ja", ["匿名 希 1990-02-02"])
    finally:
        store.close()
    said = "職員の確認を待つチェックインが 1 件あります（一覧を見てください。受付画面で探さないでください）。"
    data = client.get("/staff/open-calls").get_json()
    assert data["open"] == 1 and data["text"] == said, data
    assert said in client.get("/staff/").text

    assert app.test_client().post("/screen/call-staff?lang=ja", json={}).status_code == 201
    both = f"受付画面で 1 人が職員を待っています。 {said}"
    assert client.get("/staff/open-calls").get_json()["text"] == both
    assert both in client.get("/staff/").text
    assert client.get("/staff/lang/en?next=/staff/").status_code == 302
    assert client.get("/staff/open-calls").get_json()["text"] == (
        "1 people at the screen are waiting for staff. 1 check-ins are held for a lead: see the calls; do not "
        "look for them at the screen.")
