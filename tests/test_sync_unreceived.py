"""HQ knows how many records of a shelter it has not received yet: each batch says the highest record
the kiosk has written (last_seq), and the dashboard shows 未受信 N 件 for the kiosk while a catch-up is
under way.  Kiosks older than it (no last_seq) still sync; a last_seq that is not a count is refused
as the other fields of a malformed batch are.  Real HQ processes, real HTTP, SQLite and PostgreSQL."""
from __future__ import annotations

import re

import pytest

from evac.events import Person
from hq_dashboard.db import db
from hq_dashboard.enrollment import enroll_kiosk
from hq_dashboard.models import Kiosk
from kiosk.store import KioskStore
from kiosk.sync import HQClient, sync_once
from tests.test_sync_http import enroll

PEOPLE = [Person(f"未受信 {i}", "1980-01-01", "male", f"焼津市本町{i}") for i in range(5)]


class Interrupted(Exception):
    pass


def test_a_catch_up_cut_short_shows_how_many_records_hq_has_not_received(hq_server, tmp_path):
    hq = hq_server()
    store = KioskStore(tmp_path / "k.sqlite3")
    store.check_in("H001", PEOPLE)
    client = HQClient(hq.url, enroll(hq.db_url, "H001"))
    client.batch_size = 2

    def link_drops(acked_seq: int, pending: int) -> None:   # the network goes after HQ took one batch
        raise Interrupted

    with pytest.raises(Interrupted):
        sync_once(store, client, progress=link_drops)
    from hq_dashboard import create_app
    app = create_app({"SQLALCHEMY_DATABASE_URI": hq.db_url})
    with app.app_context():
        kiosk = db.session.execute(db.select(Kiosk)).scalar_one()
        assert (kiosk.high_seq, kiosk.last_seq) == (2, 5)
        from hq_dashboard.dashboard import alerts, kiosk_rows
        rows = kiosk_rows()
        assert rows[0]["unreceived"] == 3
        assert any("3 件がまだ本部に届いていません" in a for a in alerts([], rows, None))
    sync_once(store, client)
    with app.app_context():
        assert kiosk_rows()[0]["unreceived"] == 0


def _staff_client(hq_app, hq_client):
    from hq_dashboard.staff import add_staff
    with hq_app.app_context():
        add_staff(db.session, "hq-watch", "correct horse battery")
    page = hq_client.get("/staff/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert hq_client.post("/staff/login", data={"csrf_token": token, "username": "hq-watch",
                                                "password": "correct horse battery"}).status_code == 302
    return hq_client


def test_hq_keeps_last_seq_takes_batches_without_it_and_refuses_one_that_is_not_a_count(hq_app, hq_client, tmp_path):
    store = KioskStore(tmp_path / "k.sqlite3")
    store.check_in("H001", PEOPLE)
    with hq_app.app_context():
        token = enroll_kiosk(db.session, "H001")
    auth = {"Authorization": f"Bearer {token}"}

    def sync(n: int, **extra):
        return hq_client.post("/api/v1/sync", headers=auth,
                              json={"device_id": store.device_id, "events": store.outbox(n), **extra})

    for bad in (-1, 1 << 62, "5", 5.0, True, [5]):
        answer = sync(2, last_seq=bad)
        assert answer.status_code == 400 and answer.get_json()["error"] == "malformed_batch", bad
        assert "last_seq" in answer.get_json()["message"]
    assert sync(1).status_code == 200                       # a kiosk from before last_seq
    assert sync(3, last_seq=5).get_json()["acked_seq"] == 3
    assert sync(3, last_seq=4).status_code == 200           # an older answer coming late does not lower it
    with hq_app.app_context():
        assert db.session.execute(db.select(Kiosk.high_seq, Kiosk.last_seq)).one() == (3, 5)
    page = _staff_client(hq_app, hq_client).get("/dashboard").get_data(as_text=True)
    kiosks = page.split('id="kiosks"', 1)[1]
    assert '<strong class="unreceived">未受信 2 件</strong>' in kiosks
