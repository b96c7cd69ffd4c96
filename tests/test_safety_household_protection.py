"""災対法 §86-15: protection (never disclose) covers the protected person's household, the family who fled
with them.  An inquiry about a child of a protected mother is answered as about someone unknown, whatever
the child's consent; the PFIF export leaves the child out (withdrawing what it published); the IC lookup
answers as for a card nobody linked; after its next sync, no kiosk shows the child behind the household's
QR any more than the mother (HQ's protection digests).  Decided at the moment of answering: a member
protected later also protects those registered before.  Real HQ app and database (SQLite and
PostgreSQL), real sync batches."""
from __future__ import annotations

from evac import pfif
from evac.hlc import pack
from tests.test_safety_review_fixes import ask, export
from tests.test_sync_hq_answers import serve  # noqa: F401  (fixture: HQ over real HTTP in a thread)

HOUSEHOLD = "hh-0123456789abcdef"
MOTHER = {"name": "保護 母子", "name_kana": "ホゴ ボシ", "birth_date": "1988-08-08", "sex": "female",
          "address": "焼津市保護町1-1"}
CHILD = {"name": "保護 子太郎", "birth_date": "2015-05-05", "sex": "male", "address": "焼津市保護町1-1"}
NEIGHBOUR = {"name": "隣人 次郎", "birth_date": "2015-05-05", "sex": "male", "address": "焼津市保護町1-2"}
CARD = "ic:" + "ab" * 16


class Kiosk:
    def __init__(self, client, token, device="dev-h", shelter="H031"):
        self.client, self.token, self.device, self.shelter, self.seq = client, token, device, shelter, 0

    def send(self, *events):
        batch = []
        for etype, person, data, household in events:
            self.seq += 1
            batch.append({"kiosk_id": self.device, "seq": self.seq, "hlc": pack(1_764_000_000_000 + self.seq),
                          "type": etype, "shelter_id": self.shelter, "person": person, "data": data,
                          **({"household_id": household} if household else {})})
        answer = self.client.post("/api/v1/sync", json={"device_id": self.device, "events": batch},
                                  headers={"Authorization": f"Bearer {self.token}"})
        assert answer.status_code == 200, answer.get_json()


def unknown_answer(client):
    """What any inquirer is told about someone the city does not know."""
    return ask(client, "居ない 人", "2015-05-05", "other", addr="10.9.9.9").get_json()


def same_as_unknown(answer: dict, unknown: dict) -> bool:
    drop = ("inquiry_id", "access_key")
    return {k: v for k, v in answer.items() if k not in drop} == {k: v for k, v in unknown.items() if k not in drop}


def test_a_protected_mothers_child_is_not_told_exported_or_looked_up_even_when_protected_later(
        hq_app, hq_client, enroll):
    kiosk = Kiosk(hq_client, enroll("H031"))
    # The child (and a neighbour's child born the same day) registered first, consenting to public disclosure.
    kiosk.send(("checkin", CHILD, {"stay_type": "in_shelter"}, HOUSEHOLD),
               ("consent", CHILD, {"consent": "public"}, HOUSEHOLD),
               ("ic_link", CHILD, {"token": CARD}, HOUSEHOLD),
               ("checkin", NEIGHBOUR, {"stay_type": "in_shelter"}, "hh-fedcba9876543210"),
               ("consent", NEIGHBOUR, {"consent": "public"}, "hh-fedcba9876543210"))
    before = ask(hq_client, CHILD["name"], CHILD["birth_date"], "other", addr="10.1.0.1").get_json()
    assert before["status"] == "answered" and before["whereabouts"]["shelter_id"] == "H031"
    doc, published = export(hq_app)
    assert published == 2 and "子太郎".encode() in doc
    elsewhere = {"Authorization": f"Bearer {enroll('H001')}"}
    assert hq_client.get(f"/api/v1/ic/{CARD}", headers=elsewhere).status_code == 200
    # The mother arrives later, same household; the lead sets never-disclose on her.
    kiosk.send(("checkin", MOTHER, {"stay_type": "in_shelter"}, HOUSEHOLD),
               ("consent", MOTHER, {"consent": "none", "never_disclose": True}, HOUSEHOLD))
    unknown = unknown_answer(hq_client)
    # A stranger asking about the child: answered exactly as about someone unknown, consent or not.
    for relationship in ("other", "relative", "household_family"):
        asked = ask(hq_client, CHILD["name"], CHILD["birth_date"], relationship, addr="10.1.0.2")
        assert same_as_unknown(asked.get_json(), unknown), relationship
        assert asked.get_json()["information_exists"] is not True
    # The neighbour's child (another household) is still told.
    neighbour = ask(hq_client, NEIGHBOUR["name"], NEIGHBOUR["birth_date"], "other", addr="10.1.0.3").get_json()
    assert neighbour["status"] == "answered" and neighbour["whereabouts"]["shelter_id"] == "H031"
    # The PFIF export leaves the child out and withdraws what it published of them.
    doc, published = export(hq_app)
    records = pfif.read(doc)
    assert published == 1 and [r.full_name for r in records if not r.expiry_date] == [NEIGHBOUR["name"]]
    assert "子太郎".encode() not in doc and "母子".encode() not in doc
    assert any(r.expiry_date and r.full_name == "" for r in records)       # the child's earlier record withdrawn
    # The child's IC card, tapped at another shelter, answers as a card nobody linked.
    nobody = hq_client.get("/api/v1/ic/ic:" + "01" * 16, headers=elsewhere)
    tapped = hq_client.get(f"/api/v1/ic/{CARD}", headers=elsewhere)
    assert (tapped.status_code, tapped.get_json()) == (nobody.status_code, nobody.get_json()) and nobody.status_code == 404


def test_a_household_without_a_protected_member_is_answered_as_before(hq_app, hq_client, enroll):
    kiosk = Kiosk(hq_client, enroll("H031"))
    kiosk.send(("checkin", MOTHER, {"stay_type": "in_shelter"}, HOUSEHOLD),
               ("consent", MOTHER, {"consent": "public"}, HOUSEHOLD),
               ("checkin", CHILD, {"stay_type": "in_shelter"}, HOUSEHOLD),
               ("consent", CHILD, {"consent": "public"}, HOUSEHOLD))
    for who in (MOTHER, CHILD):
        answer = ask(hq_client, who["name"], who["birth_date"], "other", addr="10.2.0.1").get_json()
        assert answer["status"] == "answered" and answer["whereabouts"]["shelter_id"] == "H031"
    assert export(hq_app)[1] == 2


# -- the kiosks' protection digests (api._protected) reach the household too ------------------------------

HOME = {"address": "焼津市保護町1-1", "consent": "public", "members": [
    {"name": MOTHER["name"], "name_kana": MOTHER["name_kana"], "birth_date": MOTHER["birth_date"], "sex": "female"},
    {"name": CHILD["name"], "birth_date": CHILD["birth_date"], "sex": "male"}]}
EVERYONE = {"stay_type": "in_shelter", "disclosure": "none"}


def test_after_its_next_sync_a_kiosk_never_shows_the_household_of_someone_protected(hq_app, hq_client, enroll, serve,
                                                                                     tmp_path):
    # Real HTTP between the kiosk's sync and HQ; the household's QR issued by HQ, scanned at the evacuee screen.
    from kiosk import create_app
    from kiosk.store import KioskStore
    from kiosk.sync import HQClient, sync_once
    hq = serve(hq_app)
    registered = hq_client.post("/api/v1/prereg", json=HOME)
    assert registered.status_code == 201, registered.get_json()
    qr = registered.get_json()["qr"]
    db = tmp_path / "kiosk.sqlite3"
    screen = create_app({"KIOSK_DB": str(db), "SHELTER_ID": "H031", "TESTING": True}).test_client()
    store, link = KioskStore(db), HQClient(hq.url, enroll("H031"))
    try:
        sync_once(store, link)   # HQ's QR keys
        shown = screen.post("/screen/qr?lang=en", json={"qr": qr}).get_json()
        assert screen.post("/screen/checkin?lang=en", json={"token": shown["token"], "present": [0, 1],
                                                            "needs": [[], []], **EVERYONE}).status_code == 201
        sync_once(store, link)
        # The lead protects the mother at this kiosk, which then hears HQ's protected households.
        store.set_consent("H031", MOTHER["name"], MOTHER["birth_date"], HOME["address"],
                          {"consent": "none", "never_disclose": True})
        version = store.config_version()
        sync_once(store, link)
        assert store.config_version() != version   # HQ's answer said its configuration changed: fetched at once
        # Whoever holds the household's QR sees neither of them here, and can check neither in nor out.
        before = store.last_seq
        shown = screen.post("/screen/qr?lang=en", json={"qr": qr}).get_json()
        assert [(p["name"], p["here"]) for p in shown["persons"]] == [(MOTHER["name"], False), (CHILD["name"], False)]
        left = screen.post("/screen/leave?lang=en", json={"token": shown["token"], "present": [1]})
        assert left.status_code == 422
        assert left.get_json()["errors"] == {"present": "This cannot be done here. Please ask staff."}
        again = screen.post("/screen/checkin?lang=en", json={"token": shown["token"], "present": [1], "needs": [[]],
                                                             **EVERYONE})
        # answered as for someone unknown (a refusal told the QR's holder that they are protected), and held
        # back for a lead: nothing written
        assert again.status_code == 201, again.get_json()
        assert [c["who"] for c in store.open_staff_calls(with_who=True) if c["reason"] == "held_protected"] == \
            [[f"{CHILD['name']} {CHILD['birth_date']}"]]
        assert store.last_seq == before
    finally:
        store.close()


def test_the_kiosk_configuration_changes_when_someone_joins_a_protected_household(hq_app, hq_client, enroll):
    # The mother was protected first; her child checks in later at another kiosk.  The digests every kiosk
    # holds must then cover the child, and the version change is what makes kiosks fetch them.
    token = enroll("H031")
    config = lambda: hq_client.get("/api/v1/kiosk/config", headers={"Authorization": f"Bearer {token}"}).get_json()
    Kiosk(hq_client, token).send(("checkin", MOTHER, {"stay_type": "in_shelter"}, HOUSEHOLD),
                                 ("consent", MOTHER, {"consent": "none", "never_disclose": True}, HOUSEHOLD))
    # (the child's shelter opened first: a shelter opening changes the version too)
    Kiosk(hq_client, enroll("H001"), device="dev-o", shelter="H001").send(
        ("shelter_status", None, {"status": "open"}, None))
    mother_only = config()
    Kiosk(hq_client, enroll("H001"), device="dev-a", shelter="H001").send(
        ("checkin", CHILD, {"stay_type": "in_shelter"}, HOUSEHOLD))
    with_child = config()
    assert with_child["config_version"] != mother_only["config_version"]
    assert set(mother_only["protected"]) < set(with_child["protected"])
    # The neighbour's child, born the same day in another household, changes nothing.
    Kiosk(hq_client, enroll("H001"), device="dev-b", shelter="H001").send(
        ("checkin", NEIGHBOUR, {"stay_type": "in_shelter"}, "hh-fedcba9876543210"))
    assert config()["config_version"] == with_child["config_version"]
