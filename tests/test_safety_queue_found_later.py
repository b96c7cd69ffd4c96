"""An inquiry that came before the person was recorded: once a kiosk records them, the staff queue shows the
record found now (one person matches, its address and household), as the tier it shows is of that record,
so staff can check a claimed 同居 (living together) against it before releasing; and nothing of it once
protection reaches the person.  Real sync batches, real JSON API, real queue (SQLite and PostgreSQL)."""
from __future__ import annotations

from evac.hlc import pack
from hq_dashboard import notify
from tests.test_safety_review_fixes import ask, check, decide, log_in

HOUSEHOLD = "hh-00112233445566aa"
AYA = {"name": "藤田 彩", "birth_date": "1990-10-10", "sex": "female", "address": "焼津市栄町8-8"}
SON = {"name": "藤田 陸", "birth_date": "2018-04-04", "sex": "male", "address": "焼津市栄町8-8"}


class Kiosk:
    """A kiosk sending its events, with their household, through /api/v1/sync."""

    def __init__(self, client, token, device="dev-q", shelter="H031"):
        self.client, self.token, self.device, self.shelter, self.seq = client, token, device, shelter, 0

    def send(self, *events):
        batch = []
        for etype, person, data in events:
            self.seq += 1
            batch.append({"kiosk_id": self.device, "seq": self.seq, "hlc": pack(1_764_000_000_000 + self.seq),
                          "type": etype, "shelter_id": self.shelter, "person": person, "data": data,
                          "household_id": HOUSEHOLD})
        resp = self.client.post("/api/v1/sync", json={"device_id": self.device, "events": batch},
                                headers={"Authorization": f"Bearer {self.token}"})
        assert resp.status_code == 200, resp.get_json()
        notify.drain(self.client.application)


def queued(client, inquiry_id: str) -> str:
    page = client.get("/staff/inquiries").get_data(as_text=True)
    return page.split(f'id="inquiry-{inquiry_id}"')[1].split("</fieldset>")[0]


def test_the_queue_shows_the_record_found_after_the_inquiry_came(hq_app, hq_client, enroll):
    log_in(hq_app, hq_client)
    asked = ask(hq_client, AYA["name"], AYA["birth_date"], "household_family").get_json()
    assert asked["status"] == "pending_review"
    mine = queued(hq_client, asked["inquiry_id"])
    assert "一致なし・複数・非開示" in mine and 'data-testid="matched-record"' not in mine

    kiosk = Kiosk(hq_client, enroll("H031"))
    kiosk.send(("checkin", AYA, {"stay_type": "in_shelter"}), ("details", AYA, {"contact_phone": "054-777-7777"}),
               ("consent", AYA, {"consent": "none"}), ("checkin", SON, {"stay_type": "in_shelter"}))
    mine = queued(hq_client, asked["inquiry_id"])
    # The tier is of the record found now ...
    tier = mine.split('data-testid="tier">')[1].split("</td>")[0]
    assert "居場所" in tier and "連絡先" in tier
    # ... and so are the match and the record staff check the relationship against.
    assert "一人に一致" in mine and "一致なし・複数・非開示" not in mine
    record = mine.split('data-testid="matched-record">')[1].split("</td>")[0]
    assert AYA["address"] in record and f'{SON["name"]} ({SON["birth_date"]})' in record
    assert decide(hq_client, asked["inquiry_id"]).status_code == 302
    released = check(hq_client, asked)
    assert released["contact"] == "054-777-7777" and released["whereabouts"]["shelter_id"] == "H031"


def test_a_record_found_later_and_protected_is_not_shown(hq_app, hq_client, enroll):
    log_in(hq_app, hq_client)
    asked = ask(hq_client, AYA["name"], AYA["birth_date"], "household_family").get_json()
    kiosk = Kiosk(hq_client, enroll("H031"))
    kiosk.send(("checkin", AYA, {"stay_type": "in_shelter"}), ("checkin", SON, {"stay_type": "in_shelter"}))
    assert 'data-testid="matched-record"' in queued(hq_client, asked["inquiry_id"])
    # The son is protected: his household (his mother) is too, and the queue shows nothing of either.
    kiosk.send(("consent", SON, {"consent": "none", "never_disclose": True}))
    mine = queued(hq_client, asked["inquiry_id"])
    assert 'data-testid="flagged"' in mine and "一人に一致" not in mine
    assert 'data-testid="matched-record"' not in mine and AYA["address"] not in mine and SON["name"] not in mine
    assert "「情報なし」と同じ回答" in mine
