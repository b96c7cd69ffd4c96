"""HQ's public home page names no kiosk and counts none of their records: how many records a kiosk sent moved
by two for someone unknown typed in beside a card and by none for a protected person held back for staff (災対法
§86-15: she must be indistinguishable from someone unknown; found in review).  Staff who log in see the kiosks,
Japanese first, as before.  A real HQ app and database; a kiosk's real batch."""
from __future__ import annotations

from tests.test_hq_board_review import _check_in, _send, hq  # noqa: F401  (hq: the fixture)


def test_the_public_home_page_shows_no_kiosk_and_staff_see_them(hq, hq_app, hq_client):  # noqa: F811
    _check_in(hq, 2)
    _send(hq, hq_client)
    public = hq_app.test_client().get("/").get_data(as_text=True)   # nobody logged in
    assert "避難所内 2 人" in public
    assert "<th>受信済み</th>" not in public and "<th>端末 / Kiosk</th>" not in public
    assert "端末の状況は本部職員が" in public and "Kiosks are shown to HQ staff who" in public
    staff = hq_client.get("/").get_data(as_text=True)                 # desk staff logged in (the fixture)
    assert "<h2>端末（キオスク） / Kiosks</h2>" in staff and "<th>端末 / Kiosk</th>" in staff
    assert "<th>受信済み</th>" in staff and "端末の状況は本部職員が" not in staff
