"""A kiosk's consent widens disclosure only from a shelter where the person has been (災対法 §86-15).

Every kiosk has a token, and every file carried from it holds the token: a copy must not let anyone turn
"waiting for staff" into an answer telling anyone where someone is.  A consent widening disclosure counts
as given in person only from a kiosk enrolled at a shelter where the person has a location event, from any
kiosk of it, whichever arrives first; otherwise it is kept for staff and counts as a self-report's does.
People reach HQ through the real sync API; inquiries through the real JSON API and staff pages."""
from __future__ import annotations

import re

import pytest

from evac.hlc import pack
from hq_dashboard.db import db
from hq_dashboard.models import Person

HANAKO = {"name": "髙橋 花子", "birth_date": "1950-04-01", "sex": "female",
          "address": "静岡県焼津市本町5-9-1"}
INQUIRER = {"name": "高橋 一郎", "address": "東京都港区1-1", "contact": "090-0000-0000"}
STAFF_WAIT = {"information_exists": None, "whereabouts": None, "injury_or_illness": None, "contact": None,
              "pending_review": True}


class Kiosk:
    """A kiosk enrolled at `shelter`, sending its events through /api/v1/sync."""

    def __init__(self, client, enroll, shelter: str, device: str):
        self.client, self.token, self.shelter, self.device = client, enroll(shelter), shelter, device
        self.seq = 0

    def send(self, *events: tuple[str, dict, dict], at_ms: int = 0) -> None:
        batch = []
        for etype, person, data in events:
            self.seq += 1
            batch.append({"kiosk_id": self.device, "seq": self.seq,
                          "hlc": pack(1_764_000_000_000 + at_ms + self.seq), "type": etype,
                          "shelter_id": self.shelter, "person": person, "data": data})
        resp = self.client.post("/api/v1/sync", json={"device_id": self.device, "events": batch},
                                headers={"Authorization": f"Bearer {self.token}"})
        assert resp.status_code == 200, resp.get_json()


def checkin(person: dict) -> tuple[str, dict, dict]:
    return ("checkin", person, {"stay_type": "in_shelter"})


def consent(person: dict, what: str = "public", never: bool = False) -> tuple[str, dict, dict]:
    return ("consent", person, {"consent": what, "never_disclose": never})


def ask(client, sought: dict, relationship: str = "other"):
    body = {"inquirer": INQUIRER, "relationship": relationship, "reason": "安否確認",
            "sought": {"name": sought["name"], "birth_date": sought["birth_date"]}}
    resp = client.post("/api/v1/safety/inquiries", json=body, environ_base={"REMOTE_ADDR": "10.0.0.7"})
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def unanswered(answer: dict) -> bool:
    return {k: answer[k] for k in STAFF_WAIT} == STAFF_WAIT and answer["status"] == "pending_review"


def told_where(answer: dict, shelter: str) -> bool:
    return (answer["status"] == "answered" and answer["information_exists"] is True
            and answer["whereabouts"]["shelter_id"] == shelter)


def consent_source(hq_app, person: dict) -> str:
    with hq_app.app_context():
        return db.session.query(Person).filter_by(birth_date=person["birth_date"]).one().consent_source


def test_a_kiosk_at_another_shelter_cannot_open_someone_checked_in_elsewhere(hq_app, hq_client, enroll):
    Kiosk(hq_client, enroll, "H031", "dev-a").send(checkin(HANAKO))
    Kiosk(hq_client, enroll, "H002", "dev-elsewhere").send(consent(HANAKO, "public"))
    assert unanswered(ask(hq_client, HANAKO)), "a copied token of another shelter's kiosk opened her"
    # Kept for staff, who see where it came from.
    assert consent_source(hq_app, HANAKO) == "away"
    from hq_dashboard.staff import add_staff
    with hq_app.app_context():
        add_staff(db.session, "reviewer1", "correct horse battery", "lead")
    page = hq_client.get("/staff/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert hq_client.post("/staff/login", data={"csrf_token": token, "username": "reviewer1",
                                                "password": "correct horse battery"}).status_code == 302
    queue = hq_client.get("/staff/inquiries").get_data(as_text=True)
    assert 'data-testid="away-consent"' in queue and 'data-testid="self-consent"' not in queue


def test_a_second_kiosk_of_the_shelter_where_she_checked_in_gives_her_consent(hq_app, hq_client, enroll):
    Kiosk(hq_client, enroll, "H031", "dev-a").send(checkin(HANAKO))
    Kiosk(hq_client, enroll, "H002", "dev-elsewhere").send(consent(HANAKO, "public"))
    assert unanswered(ask(hq_client, HANAKO))
    # Then she says the same at the other kiosk of her shelter (not the one that checked her in).
    Kiosk(hq_client, enroll, "H031", "dev-b").send(consent(HANAKO, "public"), at_ms=60_000)
    assert told_where(ask(hq_client, HANAKO), "H031")
    assert consent_source(hq_app, HANAKO) == "kiosk"


def test_a_consent_arriving_before_the_check_in_from_the_other_kiosk_counts_once_it_arrives(
        hq_app, hq_client, enroll):
    first, second = Kiosk(hq_client, enroll, "H031", "dev-a"), Kiosk(hq_client, enroll, "H031", "dev-b")
    # dev-b's consent was given after dev-a checked her in, but dev-a's batch comes late (its network).
    second.send(consent(HANAKO, "public"), at_ms=60_000)
    assert unanswered(ask(hq_client, HANAKO))   # HQ knows of no shelter of hers yet
    first.send(checkin(HANAKO))
    assert told_where(ask(hq_client, HANAKO), "H031")
    assert consent_source(hq_app, HANAKO) == "kiosk"


@pytest.mark.parametrize("where", ["H031", "H002"])
def test_never_disclose_still_wins_over_any_kiosks_consent(hq_app, hq_client, enroll, where):
    Kiosk(hq_client, enroll, "H031", "dev-a").send(checkin(HANAKO), consent(HANAKO, "none", never=True))
    # Later, a public consent from a kiosk of her shelter, or of another.
    Kiosk(hq_client, enroll, where, "dev-b").send(consent(HANAKO, "public"), at_ms=60_000)
    hidden = ask(hq_client, HANAKO)
    unknown = ask(hq_client, {**HANAKO, "name": "髙橋 誰"})
    strip = lambda a: {k: v for k, v in a.items() if k not in ("inquiry_id", "access_key")}  # noqa: E731
    assert strip(hidden) == strip(unknown) and unanswered(hidden)
    # The consent from another shelter's kiosk is kept, unchecked (her own, in person, stands before it).
    with hq_app.app_context():
        her = db.session.query(Person).filter_by(birth_date=HANAKO["birth_date"]).one()
        assert (her.consent, her.consent_source, her.never_disclose) == (
            ("public", "kiosk", True) if where == "H031" else ("none", "kiosk", True))
        assert her.consent_elsewhere == (where == "H002")


def test_a_kiosk_moved_to_her_shelter_speaks_for_it_from_then_on(hq_app, hq_client, enroll):
    """What counts is where the kiosk was enrolled when HQ received the consent: a move (enrollment.move_kiosk)
    neither opens what it sent before from elsewhere nor closes what it sent where she was."""
    from hq_dashboard.enrollment import move_kiosk
    Kiosk(hq_client, enroll, "H031", "dev-a").send(checkin(HANAKO))
    moved = Kiosk(hq_client, enroll, "H002", "dev-moved")
    moved.send(consent(HANAKO, "public"))
    with hq_app.app_context():
        move_kiosk(db.session, moved.token.partition(".")[0], "H031")
    Kiosk(hq_client, enroll, "H031", "dev-c").send(("stay_type", HANAKO, {"stay_type": "in_car"}), at_ms=30_000)
    assert unanswered(ask(hq_client, HANAKO)), "sent from H002, it stays unchecked"
    moved.send(consent(HANAKO, "public"), at_ms=60_000)
    assert told_where(ask(hq_client, HANAKO), "H031")


def test_a_check_in_dated_years_back_from_a_copied_token_does_not_make_its_consent_count(
        hq_app, hq_client, enroll):
    """Review of the first rule (any location record at the kiosk's shelter): a copied token sent a check-in
    at its own shelter dated long before her real one, then its consent, and she was told about at once."""
    Kiosk(hq_client, enroll, "H031", "dev-real").send(checkin(HANAKO))
    copied = Kiosk(hq_client, enroll, "H002", "dev-copied")
    copied.send(checkin(HANAKO), at_ms=-10 * 86_400_000)      # ten days before: she stays at H031
    copied.send(consent(HANAKO, "public"), at_ms=60_000)
    assert unanswered(ask(hq_client, HANAKO)) and consent_source(hq_app, HANAKO) == "away"


def test_the_kiosk_that_checked_her_in_speaks_for_her_wherever_it_is_enrolled(hq_app, hq_client, enroll):
    """A kiosk enrolled at H002 standing at H031 (the dashboard's "checks in elsewhere"), or moved before it
    synced: its consent right after its own check-in is in person (the review: it was kept for staff)."""
    standing = Kiosk(hq_client, enroll, "H002", "dev-standing")
    standing.shelter = "H031"
    standing.send(checkin(HANAKO), consent(HANAKO, "public"))
    assert told_where(ask(hq_client, HANAKO), "H031") and consent_source(hq_app, HANAKO) == "kiosk"
