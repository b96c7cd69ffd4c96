"""A shelter its staff closed (閉鎖 on the tablet) stays closed at HQ when someone checks in there after: the
person counts there and HQ's alert says so, in any order of delivery.  A check-in re-opened it: HQ showed it
open and dropped its alert while its staff's tablet said 閉鎖 (kiosk review, high).  Only its staff's next
status record opens it again.  Real sync API through Flask's test client, on SQLite and PostgreSQL."""
from __future__ import annotations

import pytest

from tests.test_hq_sync_api import post
from tests.wire import KioskStream, person

LATE = person("焼津 遅子", "1970-07-07", "female")


def _sites(client):
    return {f["properties"]["id"]: f["properties"] for f in client.get("/api/v1/shelters").get_json()["features"]}


@pytest.mark.parametrize("checkin_first", [False, True], ids=["in order", "check-in delivered first"])
def test_a_check_in_after_its_staff_closed_it_leaves_it_closed_with_that_person_counted(
        hq_client, enroll, checkin_first):
    staff, screen = KioskStream("tablet-kiosk", "H052"), KioskStream("screen-kiosk", "H052")
    staff.add("shelter_status", None, {"status": "open"})
    staff.add("shelter_status", None, {"status": "closed"})
    screen.checkin(LATE, at_ms=staff.ms + 60_000)           # a minute after the close
    sends = [(enroll("H052"), "tablet-kiosk", staff.events), (enroll("H052"), "screen-kiosk", screen.events)]
    for token, device, events in (reversed(sends) if checkin_first else sends):
        assert post(hq_client, token, device, events).status_code == 200
    h052 = _sites(hq_client)["H052"]
    assert (h052["status"], h052["occupancy"], h052["closed_with_people"]) == ("closed", 1, 1)
    assert h052["marker"]["look"] == "closed_people"
    # Its staff open it again: open, whatever came before.
    staff.add("shelter_status", None, {"status": "open"}, at_ms=screen.ms + 60_000)
    assert post(hq_client, sends[0][0], "tablet-kiosk", staff.events[2:]).status_code == 200
    assert _sites(hq_client)["H052"]["status"] == "open"


def test_check_ins_still_open_a_shelter_no_status_record_has_spoken_of(hq_client, enroll):
    screen = KioskStream("screen-kiosk", "H039")
    screen.checkin(LATE)
    assert post(hq_client, enroll("H039"), "screen-kiosk", screen.events).status_code == 200
    assert _sites(hq_client)["H039"]["status"] == "open"
