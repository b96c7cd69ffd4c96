"""A kiosk's consent tells only what its own shelter recorded (safety review, high).  A copy of a kiosk's
token (every carried file holds one) sent a check-in at its own shelter and then a family consent with its
own code: it counted as given in person, and an "other" inquiry with that code was told at once the injury
and the phone another shelter recorded, and later the shelter where the person really was."""
from __future__ import annotations

from evac import pfif
from evac.hlc import pack
from hq_dashboard import notify
from hq_dashboard.db import db
from tests.test_safety_review_fixes import ask

JIRO = {"name": "田中 次郎", "birth_date": "1990-09-09", "sex": "male", "address": "焼津市本町4-4"}


class Kiosk:
    """A kiosk sending its events through /api/v1/sync, dated from `day` days after the first kiosk's."""

    def __init__(self, client, token, device, shelter="H031", day=0):
        self.client, self.token, self.device, self.shelter, self.seq, self.day = client, token, device, shelter, 0, day

    def send(self, *events):
        batch = []
        for etype, person, data in events:
            self.seq += 1
            batch.append({"kiosk_id": self.device, "seq": self.seq,
                          "hlc": pack(1_764_000_000_000 + self.day * 86_400_000 + self.seq),
                          "type": etype, "shelter_id": self.shelter, "person": person, "data": data})
        resp = self.client.post("/api/v1/sync", json={"device_id": self.device, "events": batch},
                                headers={"Authorization": f"Bearer {self.token}"})
        assert resp.status_code == 200, resp.get_json()
        assert notify.drain(self.client.application)


def told(client, code="", relationship="other", addr="10.0.0.1"):
    return ask(client, JIRO["name"], JIRO["birth_date"], relationship, code=code, addr=addr).get_json()


def test_a_copied_tokens_check_in_and_consent_open_nothing_another_shelter_recorded(hq_app, hq_client, enroll):
    real = Kiosk(hq_client, enroll("H031"), "dev-a")
    copied = Kiosk(hq_client, enroll("H052"), "dev-k", "H052", day=1)
    later = Kiosk(hq_client, enroll("H039"), "dev-b", "H039", day=2)
    real.send(("checkin", JIRO, {"stay_type": "in_shelter"}), ("consent", JIRO, {"consent": "none"}),
              ("status", JIRO, {"status": "injured", "note": "骨折"}),
              ("details", JIRO, {"contact_phone": "054-123-4567"}))
    assert told(hq_client, "stalker99")["whereabouts"] is None
    copied.send(("checkin", JIRO, {"stay_type": "in_shelter"}),
                ("consent", JIRO, {"consent": "family", "family_code": "stalker99"}))
    answer = told(hq_client, "stalker99", addr="10.0.0.2")
    assert answer["injury_or_illness"] is None and answer["contact"] is None, answer
    # (where the copy itself said he is: nothing it did not write)
    assert answer["whereabouts"] is None or answer["whereabouts"]["shelter_id"] == "H052"
    # He turns up, for real, at another shelter: the copy's consent does not tell where.
    later.send(("checkin", JIRO, {"stay_type": "in_shelter"}))
    answer = told(hq_client, "stalker99", addr="10.0.0.3")
    assert answer["whereabouts"] is None and answer["injury_or_illness"] is None and answer["contact"] is None
    # His household family still learns it, as the law's tier allows, after staff confirm them.
    assert told(hq_client, relationship="household_family", addr="10.0.0.4")["status"] == "pending_review"


def test_a_consent_tells_what_its_shelter_recorded_and_again_after_a_move_once_given_there(
        hq_app, hq_client, enroll):
    a, b = Kiosk(hq_client, enroll("H031"), "dev-a"), Kiosk(hq_client, enroll("H039"), "dev-b", "H039", day=1)
    a.send(("checkin", JIRO, {"stay_type": "in_shelter"}), ("consent", JIRO, {"consent": "public"}),
           ("status", JIRO, {"status": "injured", "note": ""}))
    answer = told(hq_client)
    assert answer["status"] == "answered" and answer["whereabouts"]["shelter_id"] == "H031"
    assert answer["injury_or_illness"] == "injured"
    from hq_dashboard import pfif_exchange
    with hq_app.app_context():
        document, count = pfif_exchange.export(db.session, "yaizu.example.jp")
    assert count == 1 and "(injured)" in document.decode()

    b.send(("checkin", JIRO, {"stay_type": "in_shelter"}))   # moved on; said nothing about being found
    answer = told(hq_client, addr="10.0.0.2")
    assert answer["information_exists"] is True and answer["whereabouts"] is None, answer
    with hq_app.app_context():
        document, count = pfif_exchange.export(db.session, "yaizu.example.jp")
    assert count == 0 and [p.expiry_date for p in pfif.read(document)] != []   # withdrawn, not moved on

    b.send(("consent", JIRO, {"consent": "public"}))          # says it again where he is now
    answer = told(hq_client, addr="10.0.0.3")
    assert answer["whereabouts"]["shelter_id"] == "H039"
    assert answer["injury_or_illness"] is None   # the injury H031 recorded: not by H039's consent
    b.send(("status", JIRO, {"status": "ill", "note": ""}))
    assert told(hq_client, addr="10.0.0.4")["injury_or_illness"] == "ill"


def test_a_stranger_cannot_tell_that_another_shelter_recorded_a_status(hq_app, hq_client, enroll):
    """Consented (public) at H039, then checked in at H031: a stranger's answer, and her re-check, read the
    same before and after H031 records him in hospital (they said "injury: not reported" before, and
    nothing after).  Only what the consenting shelter recorded is told of his injury or illness."""
    consented = Kiosk(hq_client, enroll("H039"), "dev-b", "H039")
    now = Kiosk(hq_client, enroll("H031"), "dev-a", day=1)
    consented.send(("checkin", JIRO, {"stay_type": "in_shelter"}), ("consent", JIRO, {"consent": "public"}))
    now.send(("checkin", JIRO, {"stay_type": "in_shelter"}))
    first = told(hq_client, addr="10.0.1.1")
    assert first["status"] == "answered" and first["information_exists"] is True
    recheck = f"/api/v1/safety/inquiries/{first['inquiry_id']}?key={first['access_key']}"
    page = f"/safety/check?id={first['inquiry_id']}&key={first['access_key']}&lang=ja"
    before, before_page = hq_client.get(recheck).get_json(), hq_client.get(page).get_data(as_text=True)
    # (a relative, whose tier holds the injury, waits for staff alike before and after)
    relative = told(hq_client, relationship="relative", addr="10.0.1.4")

    now.send(("status", JIRO, {"status": "hospitalised", "note": "救急搬送"}))
    assert hq_client.get(recheck).get_json() == before
    assert hq_client.get(page).get_data(as_text=True) == before_page and "負傷・疾病" not in before_page
    drop = ("inquiry_id", "access_key")
    second = told(hq_client, addr="10.0.1.2")
    assert {k: v for k, v in second.items() if k not in drop} == {k: v for k, v in first.items() if k not in drop}
    relative_after = told(hq_client, relationship="relative", addr="10.0.1.5")
    assert {k: v for k, v in relative_after.items() if k not in drop} == \
        {k: v for k, v in relative.items() if k not in drop}
    # What the consenting shelter records is told, as before.
    back = Kiosk(hq_client, enroll("H039"), "dev-c", "H039", day=2)
    back.send(("checkin", JIRO, {"stay_type": "in_shelter"}), ("status", JIRO, {"status": "ill", "note": ""}))
    assert told(hq_client, addr="10.0.1.3")["injury_or_illness"] == "ill"
