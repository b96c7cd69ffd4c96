"""災対法 §86-15: protection through a household is not lost by a later change of household.  A child who fled
with a protected mother and is checked in again with a grandmother (a new household), or whose mother
re-registers alone, stays protected: inquiries and a relative's release answer as about nobody, the PFIF
export leaves him out, and the kiosks' protection digests still cover him.  HQ keeps every household a person
was ever in (person_households, migration 0030).  Real kiosks (their /api/checkin and sync over real HTTP),
real HQ app and database (SQLite and PostgreSQL)."""
from __future__ import annotations

import functools

from sqlalchemy import select

from evac.hlc import pack
from hq_dashboard.db import db
from hq_dashboard.models import Person, PersonHousehold
from tests.test_safety_household_protection import same_as_unknown, unknown_answer
from tests.test_safety_review_fixes import ask, check, decide, export, log_in
from tests.test_sync_hq_answers import serve  # noqa: F401  (fixture: HQ over real HTTP in a thread)

ADDRESS = "焼津市小川5-5"
MOTHER = {"name": "小林 真理", "name_kana": "コバヤシ マリ", "birth_date": "1987-03-03", "sex": "female",
          "address": ADDRESS}
CHILD = {"name": "小林 優太", "name_kana": "コバヤシ ユウタ", "birth_date": "2016-06-16", "sex": "male",
         "address": ADDRESS}
GRANDMOTHER = {"name": "小林 トメ", "birth_date": "1950-01-10", "sex": "female", "address": ADDRESS}
SISTER = {"name": "佐野 恵", "birth_date": "1990-09-09", "sex": "female", "address": "焼津市大井川9-9"}


class Site:
    """A kiosk of its own shelter: its check-in API, its store, and its link to HQ."""

    def __init__(self, tmp_path, hq, token, shelter):
        from kiosk import create_app
        from kiosk.store import KioskStore
        from kiosk.sync import HQClient
        db_path = tmp_path / f"kiosk-{shelter}.sqlite3"
        self.shelter = shelter
        self.api = create_app({"KIOSK_DB": str(db_path), "SHELTER_ID": shelter, "TESTING": True}).test_client()
        self.store, self.link = KioskStore(db_path), HQClient(hq.url, token)

    def check_in(self, *persons):
        answer = self.api.post("/api/checkin", json={"persons": list(persons)})
        assert answer.status_code == 201, answer.get_json()

    def sync(self):
        from kiosk.sync import sync_once
        sync_once(self.store, self.link)

    def consent(self, who, consent):
        self.store.set_consent(self.shelter, who["name"], who["birth_date"], who["address"], consent)

    def protects(self, who) -> bool:
        return self.store.is_protected(who["name"], who["birth_date"], who["address"], who.get("name_kana", ""))


def household_of(app, who) -> str:
    with app.app_context():
        found = db.session.execute(select(Person.household_id).where(
            Person.name == who["name"], Person.birth_date == who["birth_date"])).scalar_one()
        db.session.remove()
    return found


def send(client, token, device, shelter, *events, first_seq=1):
    """A kiosk's batch through /api/v1/sync: (ms after t0, type, person, data, household id) each."""
    t0 = 1_764_000_000_000
    batch = [{"kiosk_id": device, "seq": seq, "hlc": pack(t0 + at), "type": etype, "shelter_id": shelter,
              "person": person, "data": data, **({"household_id": household} if household else {})}
             for seq, (at, etype, person, data, household) in enumerate(events, first_seq)]
    answer = client.post("/api/v1/sync", json={"device_id": device, "events": batch},
                         headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.get_json()


def protected_digests(client, token) -> set[str]:
    return set(client.get("/api/v1/kiosk/config", headers={"Authorization": f"Bearer {token}"}).get_json()["protected"])


def assert_child_protected(hq_app, hq_client, there, token, digests_before):
    unknown = unknown_answer(hq_client)
    released = 0
    for i, relationship in enumerate(("other", "relative", "household_family")):
        asked = ask(hq_client, CHILD["name"], CHILD["birth_date"], relationship, addr=f"10.7.1.{i + 1}").get_json()
        assert same_as_unknown(asked, unknown), relationship
        if asked["status"] == "pending_review":   # a relative confirmed by staff: still told nothing of him
            assert decide(hq_client, asked["inquiry_id"]).status_code == 302
            told = check(hq_client, asked)
            assert told["status"] == "released", told
            assert told["information_exists"] is not True and told.get("whereabouts") is None, relationship
            released += 1
    assert released   # a family member's inquiry goes to staff and is released
    doc, _ = export(hq_app)
    assert CHILD["name"].encode() not in doc and "優太".encode() not in doc
    # Every kiosk's digests still cover him, and the kiosk that checked him in last hears it at its next sync.
    assert digests_before <= protected_digests(hq_client, token)
    there.sync()
    assert there.protects(CHILD)


def test_a_protected_mothers_child_checked_in_again_with_his_grandmother_stays_protected(
        hq_app, hq_client, enroll, serve, tmp_path):
    hq = serve(hq_app)
    log_in(hq_app, hq_client)
    first_token, second_token = enroll("H031"), enroll("H001")
    first, second = Site(tmp_path, hq, first_token, "H031"), Site(tmp_path, hq, second_token, "H001")
    try:
        first.sync()
        first.check_in(MOTHER, CHILD)             # one household
        first.consent(CHILD, {"consent": "public"})
        first.sync()
        before = ask(hq_client, CHILD["name"], CHILD["birth_date"], "other", addr="10.7.0.1").get_json()
        assert before["status"] == "answered" and before["whereabouts"]["shelter_id"] == "H031"
        first.consent(MOTHER, {"consent": "none", "never_disclose": True})
        first.sync()
        digests = protected_digests(hq_client, first_token)
        unknown = unknown_answer(hq_client)
        assert same_as_unknown(ask(hq_client, CHILD["name"], CHILD["birth_date"], "other",
                                   addr="10.7.0.2").get_json(), unknown)
        with_mother = household_of(hq_app, CHILD)
        # The grandmother brings him to another shelter: a new two-person household.
        second.sync()
        second.check_in(GRANDMOTHER, CHILD)
        second.sync()
        assert household_of(hq_app, CHILD) not in ("", with_mother)   # HQ's record of him has the new household
        assert_child_protected(hq_app, hq_client, second, second_token, digests)
        # The grandmother was never in the protected household, but is in one with the child protection reaches:
        # her whereabouts are his, so protection reaches her too (the households of every record it reaches).
        assert second.protects(GRANDMOTHER)
    finally:
        first.store.close()
        second.store.close()


def test_a_protected_mother_who_re_registers_without_her_child_still_protects_him(hq_app, hq_client, enroll, serve,
                                                                           tmp_path):
    hq = serve(hq_app)
    log_in(hq_app, hq_client)
    first_token, second_token = enroll("H031"), enroll("H001")
    first, second = Site(tmp_path, hq, first_token, "H031"), Site(tmp_path, hq, second_token, "H001")
    try:
        first.sync()
        first.check_in(MOTHER, CHILD)
        first.consent(CHILD, {"consent": "public"})
        first.consent(MOTHER, {"consent": "none", "never_disclose": True})
        first.sync()
        digests = protected_digests(hq_client, first_token)
        with_child = household_of(hq_app, MOTHER)
        # She re-registers without him at another shelter, with her sister (a kiosk gives a household id
        # only to people checking in together): her record's household is a new one.
        second.sync()
        second.check_in(MOTHER, SISTER)
        second.sync()
        assert household_of(hq_app, MOTHER) not in ("", with_child)
        assert household_of(hq_app, CHILD) == with_child
        assert_child_protected(hq_app, hq_client, first, first_token, digests)
    finally:
        first.store.close()
        second.store.close()


def test_an_existing_database_keeps_the_child_of_a_protected_mother_protected_after_0030(hq_db_url):
    """0030 fills person_households from what HQ holds: the households the stored records name besides each
    person's household now (only persons seen in more than one get rows).  The child, whose record moved to
    his grandmother's household before the upgrade, is still protected through his mother's."""
    import json

    from flask_migrate import downgrade, upgrade

    from hq_dashboard import MIGRATIONS_DIR, create_app, safety
    app = create_app({"SQLALCHEMY_DATABASE_URI": hq_db_url, "TESTING": True})
    with app.app_context():
        upgrade(directory=MIGRATIONS_DIR, revision="0029_inquiry_sex")
        with db.engine.begin() as conn:
            for pid, who, household, never in ((1, MOTHER, "hh-mother", True), (2, CHILD, "hh-grandmother", False),
                                               (3, GRANDMOTHER, "hh-grandmother", False),
                                               (4, SISTER, "hh-sister", False)):
                conn.execute(db.text(
                    "INSERT INTO persons (id, name, name_kana, birth_date, sex, address, household_id, info_order,"
                    " kana_order, address_order, household_order, state, loc_order, needs, needs_order, status,"
                    " status_note, status_order, consent, family_code, consent_order, never_disclose, contact,"
                    " contact_order, consent_source, identity_corrected) VALUES (:id, :name, :kana, :born, :sex,"
                    " :address, :household, '', '', '', '', 'unknown', '', '', '', '', '', '', 'public', '', '',"
                    " :never, '', '', 'kiosk', false)"),
                    {"id": pid, "name": who["name"], "kana": who.get("name_kana", ""), "born": who["birth_date"],
                     "sex": who["sex"], "address": who["address"], "household": household, "never": never})
            # The log: mother and child checked in together, then the child with his grandmother; a record of
            # a person no longer held (merged away) and a body that is not JSON name households too.
            for seq, pid, household in ((1, 1, "hh-mother"), (2, 2, "hh-mother"), (3, 2, "hh-grandmother"),
                                        (4, 3, "hh-grandmother"), (5, 99, "hh-gone"), (6, 4, None)):
                body = json.dumps({"type": "checkin", **({"household_id": household} if household else {})})
                conn.execute(db.text("INSERT INTO events (device_id, seq, hlc, type, shelter_id, person_id, body)"
                                     " VALUES ('dev-1', :seq, :seq, 'checkin', 'H031', :pid, :body)"),
                             {"seq": seq, "pid": pid, "body": body})
            conn.execute(db.text("INSERT INTO events (device_id, seq, hlc, type, shelter_id, person_id, body)"
                                 " VALUES ('dev-1', 7, 7, 'checkin', 'H031', 4, '{\"household_id\": broken')"))
        upgrade(directory=MIGRATIONS_DIR, revision="0030_person_households")
        with db.engine.connect() as conn:
            held = sorted(tuple(r) for r in conn.execute(db.text("SELECT person_id, household_id FROM person_households")))
        upgrade(directory=MIGRATIONS_DIR)   # today's models read persons (0034 added a column)
        protected = safety.protected_identities(db.session)
        reached = {p.name for p in db.session.execute(select(Person)).scalars() if safety.is_protected(p, protected)}
        db.session.remove()
        downgrade(directory=MIGRATIONS_DIR, revision="0029_inquiry_sex")
        db.engine.dispose()
    assert held == [(2, "hh-grandmother"), (2, "hh-mother")]
    # (the grandmother through the child's household with her: the households of every record protection reaches)
    assert reached == {MOTHER["name"], CHILD["name"], GRANDMOTHER["name"]}


def test_two_records_made_one_by_a_correction_keep_the_households_of_both(hq_app, hq_client, enroll):
    """The child recorded with his grandmother at one shelter, and (earlier, under a misspelt name) with his
    protected mother and then with her and an aunt at another: staff correct the name, HQ makes the two
    records one, and the record HQ keeps (his grandmother's, the household he is in now) is protected
    through his mother's household, which only the merged-away record's former households held."""
    misspelt = {**CHILD, "name": "小林 裕太", "name_kana": ""}

    sync = functools.partial(send, hq_client)
    # The grandmother's kiosk is heard first (his record there is HQ's first), though its check-in is later.
    sync(enroll("H001"), "dev-g", "H001",
         (3_600_000, "checkin", GRANDMOTHER, {"stay_type": "in_shelter"}, "hh-grandmother"),
         (3_600_000, "checkin", CHILD, {"stay_type": "in_shelter"}, "hh-grandmother"),
         (3_600_001, "consent", CHILD, {"consent": "public"}, "hh-grandmother"))
    mother_kiosk = enroll("H031")
    sync(mother_kiosk, "dev-m", "H031",
         (1_000, "checkin", MOTHER, {"stay_type": "in_shelter"}, "hh-mother"),
         (1_000, "checkin", misspelt, {"stay_type": "in_shelter"}, "hh-mother"),
         (2_000, "consent", MOTHER, {"consent": "none", "never_disclose": True}, "hh-mother"))
    sync(mother_kiosk, "dev-m", "H031", (3_000, "checkin", misspelt, {"stay_type": "in_shelter"}, "hh-aunt"),
         first_seq=4)
    # Staff's correction comes in a later batch: the misspelt record is one HQ already holds.
    sync(mother_kiosk, "dev-m", "H031",
         (7_200_000, "correction", misspelt, {"person": {k: v for k, v in CHILD.items() if k != "name_kana"}}, ""),
         first_seq=5)
    with hq_app.app_context():
        children = db.session.execute(select(Person).where(Person.birth_date == CHILD["birth_date"])).scalars().all()
        assert [(c.name, c.household_id) for c in children] == [(CHILD["name"], "hh-grandmother")]
        homes = set(db.session.execute(select(PersonHousehold.household_id)
                                       .where(PersonHousehold.person_id == children[0].id)).scalars())
        orphans = db.session.execute(select(PersonHousehold).where(
            PersonHousehold.person_id.not_in(select(Person.id)))).scalars().all()
        db.session.remove()
    assert homes == {"hh-grandmother", "hh-mother", "hh-aunt"} and orphans == []
    unknown = unknown_answer(hq_client)
    asked = ask(hq_client, CHILD["name"], CHILD["birth_date"], "other", addr="10.7.2.1").get_json()
    assert same_as_unknown(asked, unknown)


def test_two_records_one_record_names_as_one_person_keep_the_households_of_both(hq_app, hq_client, enroll):
    """A pre-registration QR's member checked in with his protected mother, and a card's record of him
    checked in later with his grandmother: a record naming both (the QR's id and the card's identity) makes
    them one, without a correction.  The record HQ keeps is protected through his mother's household."""
    by_qr = {**CHILD, "name": "小林 ゆうた", "name_kana": "", "prereg_id": "P-0123456789"}
    mother_kiosk, grandmother_kiosk = enroll("H031"), enroll("H001")
    send(hq_client, mother_kiosk, "dev-m", "H031",
         (1_000, "checkin", MOTHER, {"stay_type": "in_shelter"}, "hh-mother"),
         (1_000, "checkin", by_qr, {"stay_type": "in_shelter"}, "hh-mother"),
         (2_000, "consent", MOTHER, {"consent": "none", "never_disclose": True}, "hh-mother"))
    send(hq_client, grandmother_kiosk, "dev-g", "H001",
         (3_600_000, "checkin", GRANDMOTHER, {"stay_type": "in_shelter"}, "hh-grandmother"),
         (3_600_000, "checkin", CHILD, {"stay_type": "in_shelter"}, "hh-grandmother"),
         (3_600_001, "consent", CHILD, {"consent": "public"}, "hh-grandmother"))
    send(hq_client, grandmother_kiosk, "dev-g", "H001",
         (3_700_000, "needs", {**CHILD, "prereg_id": by_qr["prereg_id"]}, {"needs": ["allergy"]}, ""), first_seq=4)
    with hq_app.app_context():
        children = db.session.execute(select(Person).where(Person.birth_date == CHILD["birth_date"])).scalars().all()
        assert [(c.name, c.household_id) for c in children] == [(CHILD["name"], "hh-grandmother")]
        db.session.remove()
    unknown = unknown_answer(hq_client)
    asked = ask(hq_client, CHILD["name"], CHILD["birth_date"], "other", addr="10.7.3.1").get_json()
    assert same_as_unknown(asked, unknown)


def test_the_former_households_of_protected_people_are_found_by_their_own_index(hq_app):
    """The kiosks' digests read, at every sync, the members of protected households through
    person_households too: by ix_person_households_household_id, not a scan of the table."""
    from tests.test_migrations import query_plan
    plan = query_plan(hq_app, select(PersonHousehold.person_id).where(
        PersonHousehold.household_id.in_(["hh-0123456789abcdef"])))
    assert "ix_person_households_household_id" in plan, plan


def test_staff_are_not_shown_a_protected_child_in_his_grandmothers_household(hq_app, hq_client, enroll):
    """The queue shows a matched record's household so staff can check "living together" on the phone: not the
    child who fled with a protected mother, now checked in with his grandmother (災対法 §86-15)."""
    token = enroll("H031")
    send(hq_client, token, "dev-a", "H031",
         (0, "checkin", MOTHER, {"stay_type": "in_shelter"}, "hh-mother"),
         (0, "checkin", CHILD, {"stay_type": "in_shelter"}, "hh-mother"),
         (1, "consent", MOTHER, {"consent": "none", "never_disclose": True}, ""),
         (2, "checkin", GRANDMOTHER, {"stay_type": "in_shelter"}, "hh-grandmother"),
         (2, "checkin", CHILD, {"stay_type": "in_shelter"}, "hh-grandmother"))
    assert household_of(hq_app, CHILD) == "hh-grandmother"
    log_in(hq_app, hq_client)
    asked = ask(hq_client, GRANDMOTHER["name"], GRANDMOTHER["birth_date"], "household_family",
                address=ADDRESS, addr="10.7.2.1").get_json()
    queue = hq_client.get("/staff/inquiries").get_data(as_text=True)
    mine = queue.split(f'id="inquiry-{asked["inquiry_id"]}"', 1)[1].split("</fieldset>", 1)[0]
    # Protection reaches her too (a household with the child it reaches): held as for a protected person, no
    # record shown to check "living together" against, and never the child.
    assert 'data-testid="matched-record"' not in mine
    assert CHILD["name"] not in mine and CHILD["birth_date"] not in mine


def test_a_childs_inquiry_back_with_staff_settles_when_his_mother_is_protected_in_a_later_batch(
        hq_app, hq_client, enroll):
    """Her batch names only her (her birth date): the inquiry about her child, back with staff since he was
    checked in, must be looked at again too, or the note asking staff to confirm the relationship stays on
    the queue for a stalker's inquiry (災対法 §86-15)."""
    from hq_dashboard import notify
    from tests.test_safety_review_fixes import at_hq
    token = enroll("H031")
    log_in(hq_app, hq_client)
    asked = ask(hq_client, CHILD["name"], CHILD["birth_date"], "household_family", address=ADDRESS,
                addr="10.7.3.1").get_json()
    assert decide(hq_client, asked["inquiry_id"]).status_code == 302
    answered = check(hq_client, asked)
    send(hq_client, token, "dev-a", "H031",
         (0, "checkin", GRANDMOTHER, {"stay_type": "in_shelter"}, "hh-family"),
         (0, "checkin", CHILD, {"stay_type": "in_shelter"}, "hh-family"))
    assert notify.drain(hq_app) and at_hq(hq_app, asked) == "pending_review"
    send(hq_client, token, "dev-a", "H031",
         (1, "checkin", MOTHER, {"stay_type": "in_shelter"}, "hh-family"),
         (2, "consent", MOTHER, {"consent": "none", "never_disclose": True}, ""), first_seq=3)
    assert notify.drain(hq_app)
    assert at_hq(hq_app, asked) == "released" and check(hq_client, asked) == answered
