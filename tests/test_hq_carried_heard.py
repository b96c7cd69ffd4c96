"""A kiosk with no network: its records carried to HQ in a file (evac.carried) and applied there.  HQ then
holds the shelter's records up to the file's newest one, so the map, the dashboard and the wall say the
site's numbers are as fresh as that record (not the time the file was applied, and not 'never heard'),
while the kiosk itself stays silent on the dashboard: its network is still down.  Real HTTP through
Flask's test client, a real file uploaded on HQ's page, on SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt
import re
import time

from evac.carried import carried_file
from hq_dashboard.db import db
from hq_dashboard.models import Kiosk
from tests.test_carried import _staff_client, _upload
from tests.test_hq_wall_display import _display
from tests.test_map_review_fixes import sites
from tests.wire import KioskStream, person

MINUTE_MS = 60_000


def _offline_since_enrolled(app, token: str, hours: int = 3) -> str:
    """The kiosk was enrolled hours ago and has not reached HQ since (the network went down)."""
    kiosk_id = token.split(".")[0]
    with app.app_context():
        db.session.get(Kiosk, kiosk_id).enrolled_at = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=hours)
        db.session.commit()
        db.session.remove()
    return kiosk_id


def _carry(client, token: str, device: str, shelter: str, *ages_min: int) -> tuple[dt.datetime, KioskStream]:
    """A file of check-ins written `ages_min` minutes ago, uploaded at HQ now; the newest record's time."""
    now_ms = int(time.time() * 1000)
    k = KioskStream(device, shelter_id=shelter)
    for i, age in enumerate(ages_min):
        k.checkin(person(f"持込 {device}{i}", birth=f"19{60 + i}-02-0{1 + i % 9}"), at_ms=now_ms - age * MINUTE_MS)
    page = _upload(client, carried_file(device, k.events, token))
    assert page.status_code == 200, page.get_data(as_text=True)
    return dt.datetime.fromtimestamp((now_ms - min(ages_min) * MINUTE_MS) / 1000, dt.timezone.utc), k


def _wall_silent(app) -> str:
    board = _display(app).get("/dashboard").get_data(as_text=True)
    found = re.search(r'<li id="alert-silent">(.*?)</li>', board, re.S)
    return found.group(1) if found else ""


def test_a_carried_file_makes_the_sites_numbers_as_fresh_as_its_newest_record(hq_app, hq_client, enroll):
    silent_s = hq_app.config["KIOSK_SILENT_ALERT_S"]
    token = enroll("H031")
    kiosk_id = _offline_since_enrolled(hq_app, token)
    before = sites(hq_client)["H031"]
    assert before["last_heard_at"] is None and before["heard_silent"] is True

    client = _staff_client(hq_app, hq_client)
    # Records from two hours ago up to five minutes ago, carried and applied now.
    newest, _ = _carry(client, token, "dev-carried", "H031", 120, 60, 5)
    assert 5 * 60 < silent_s   # (five minutes is within the silence alert's limit)
    h031 = sites(client)["H031"]
    assert dt.datetime.fromisoformat(h031["last_heard_at"]) == newest     # the newest record's, not the import's
    assert h031["heard_silent"] is False and h031["heard_by_hand"] is True
    assert h031["occupancy"] == 3

    # The dashboard: the kiosk is still silent (its network), and its alert says how far HQ's records reach.
    page = client.get("/dashboard").get_data(as_text=True)
    alert = next(a for a in re.findall(r"<li>(.*?)</li>", page, re.S) if f"端末 {kiosk_id}" in a and "同期がありません" in a)
    assert "（最終: 登録以来）" in alert
    assert "持ち込まれた記録ファイルで" in alert and "までの記録は本部にあります" in alert
    assert 'class="carried">記録ファイル:' in page
    with hq_app.test_request_context():
        from hq_dashboard.dashboard import kiosk_rows, silent_sites
        rows = {k["id"]: k for k in kiosk_rows()}
        assert rows[kiosk_id]["silent"] is True and rows[kiosk_id]["numbers_silent"] is False
        assert "H031" not in silent_sites(list(rows.values()))
    # The wall: no 'no data' mark on the site.
    assert "H031" not in _wall_silent(hq_app)


def test_a_file_of_old_records_leaves_the_site_as_old_as_they_are(hq_app, hq_client, enroll):
    """The numbers are as fresh as the records, not the time the file was applied: a file of records from
    half an hour ago, applied now, leaves the site past the silence alert's limit."""
    silent_s = hq_app.config["KIOSK_SILENT_ALERT_S"]
    assert 30 * 60 > silent_s
    token = enroll("H032")
    _offline_since_enrolled(hq_app, token)
    client = _staff_client(hq_app, hq_client)
    newest, _ = _carry(client, token, "dev-old", "H032", 50, 30)
    h032 = sites(client)["H032"]
    assert dt.datetime.fromisoformat(h032["last_heard_at"]) == newest
    assert h032["heard_silent"] is True and h032["heard_by_hand"] is True
    assert "H032" in _wall_silent(hq_app)
    with hq_app.app_context():
        assert db.session.get(Kiosk, token.split(".")[0]).last_sync_at is None   # a file says nothing of the network


def test_a_sync_after_the_file_is_the_sites_freshest_again(hq_app, hq_client, enroll):
    """When the network comes back the kiosk's sync is newer than the file's records: heard as before."""
    token = enroll("H033")
    _offline_since_enrolled(hq_app, token)
    client = _staff_client(hq_app, hq_client)
    newest, k = _carry(client, token, "dev-back", "H033", 40, 20)
    assert sites(client)["H033"]["heard_by_hand"] is True
    k.checkin(person("持込 後", birth="1990-05-05"), at_ms=int(time.time() * 1000))   # the file's records, then one more
    sent = client.post("/api/v1/sync", json={"device_id": "dev-back", "events": k.events},
                       headers={"Authorization": f"Bearer {token}"})
    assert sent.status_code == 200, sent.get_json()
    h033 = sites(client)["H033"]
    assert dt.datetime.fromisoformat(h033["last_heard_at"]) > newest
    assert h033["heard_by_hand"] is False and h033["heard_silent"] is False and h033["occupancy"] == 3
