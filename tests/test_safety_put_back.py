"""An inquiry staff released with "no information" goes back to them when a record it names appears,
whether or not it asked for e-mail news and whether or not HQ sends e-mail: staff judge that record, and the
family reads its real answer once they release again.  Until then the family still reads "no information"
(being reviewed would tell a stalker that the protected person he asked about was just recorded)."""
from __future__ import annotations

import json
import threading
import time
import urllib.request

import pytest
from sqlalchemy import create_engine, event, text, update

from evac.hlc import pack
from hq_dashboard import create_app, notify, safety
from hq_dashboard.db import db
from hq_dashboard.models import AuditEntry, Inquiry
from tests.test_safety_review_fixes import Kiosk, ask, at_hq, check, decide, log_in

TARO = {"name": "焼津 太郎", "birth_date": "1950-03-03", "sex": "male", "address": "焼津市本町1-1"}
OTHER = {"name": "大井川 健", "birth_date": "1975-03-03", "sex": "male", "address": "焼津市小川2"}


def test_a_no_information_answer_goes_back_to_staff_when_the_person_checks_in(hq_app, hq_client, enroll):
    assert not hq_app.config.get("SMTP_HOST"), "no e-mail at this HQ"
    log_in(hq_app, hq_client)
    asked = ask(hq_client, TARO["name"], TARO["birth_date"], "household_family", address=TARO["address"]).get_json()
    assert decide(hq_client, asked["inquiry_id"]).status_code == 302
    assert check(hq_client, asked)["information_exists"] is False

    kiosk = Kiosk(hq_client, enroll("H031"), "dev-a")
    kiosk.send(("checkin", OTHER, {"stay_type": "in_shelter"}))     # someone else: it stays answered
    released_before = check(hq_client, asked)
    assert released_before["status"] == "released" and at_hq(hq_app, asked) == "released"
    kiosk.send(("checkin", TARO, {"stay_type": "in_shelter"}))
    assert at_hq(hq_app, asked) == "pending_review"
    # The family still reads the answer staff released until they release again: "being reviewed" would
    # tell a stalker that a record of the protected person he asked about has appeared (災対法 §86-15).
    assert check(hq_client, asked) == released_before
    with hq_app.app_context():
        assert db.session.query(AuditEntry).filter_by(inquiry_id=asked["inquiry_id"], action="back_to_review").count() == 1
    queue = hq_client.get("/staff/inquiries").get_data(as_text=True)
    assert f'id="inquiry-{asked["inquiry_id"]}"' in queue

    # Released again against the record now: the family reads where he is.
    assert decide(hq_client, asked["inquiry_id"]).status_code == 302
    released = check(hq_client, asked)
    assert released["information_exists"] is True and released["whereabouts"]["state"] == "in_shelter"
    kiosk.send(("status", TARO, {"status": "safe"}))                 # a later record of his: nothing to put back
    assert at_hq(hq_app, asked) == "released"


def test_a_correction_to_the_birth_date_asked_puts_it_back_too(hq_app, hq_client, enroll):
    """The batch's people are found by each record's birth date, a correction's new one included."""
    log_in(hq_app, hq_client)
    kiosk = Kiosk(hq_client, enroll("H031"), "dev-a")
    typo = {**TARO, "birth_date": "1950-03-08"}
    kiosk.send(("checkin", typo, {"stay_type": "in_shelter"}))
    asked = ask(hq_client, TARO["name"], TARO["birth_date"], "household_family", address=TARO["address"]).get_json()
    assert decide(hq_client, asked["inquiry_id"]).status_code == 302
    assert check(hq_client, asked)["information_exists"] is False
    kiosk.send(("correction", typo, {"person": TARO}))
    assert at_hq(hq_app, asked) == "pending_review"


# --- after the kiosk's sync, not in it (review: the put-back made kiosks wait, and could fail their batch) ---

def sync(app, token, device, seq, *people):
    """One kiosk batch through the real sync API, without waiting for what HQ does after answering."""
    batch = [{"kiosk_id": device, "seq": seq + i, "hlc": pack(1_764_000_000_000 + seq + i), "type": "checkin",
              "shelter_id": "H031", "person": p, "data": {"stay_type": "in_shelter"}} for i, p in enumerate(people)]
    return app.test_client().post("/api/v1/sync", json={"device_id": device, "events": batch},
                                  headers={"Authorization": f"Bearer {token}"})


def went_back(asked) -> int:
    return db.session.query(AuditEntry).filter_by(inquiry_id=asked["inquiry_id"], action="back_to_review").count()


def released_nobody(hq_client, person, addr="10.0.0.1"):
    asked = ask(hq_client, person["name"], person["birth_date"], "household_family", address=person["address"],
                addr=addr).get_json()
    assert decide(hq_client, asked["inquiry_id"]).status_code == 302
    assert check(hq_client, asked)["information_exists"] is False
    return asked


def test_a_kiosks_sync_does_not_wait_for_inquiries_to_go_back(hq_app, hq_client, hq_db_url, enroll):
    """Another transaction holds the inquiries against writing (PostgreSQL's SHARE lock): the kiosk's batch is
    still taken and answered; the inquiry goes back once the lock is gone.  (SQLite has no such lock that
    would let the kiosk's own batch be written.)"""
    if not hq_db_url.startswith("postgresql"):
        pytest.skip("only PostgreSQL can hold the inquiries table against writes while a batch is written")
    log_in(hq_app, hq_client)
    asked = released_nobody(hq_client, TARO)
    token, answered = enroll("H031"), {}
    holder = create_engine(hq_db_url)
    try:
        with holder.connect() as conn:
            conn.execute(text("LOCK TABLE inquiries IN SHARE MODE"))
            kiosk = threading.Thread(target=lambda: answered.update(sync=sync(hq_app, token, "dev-a", 1, TARO)))
            kiosk.start()
            # Not a time limit on HQ: a guard, so that a sync that waits for the lock fails this test instead
            # of waiting for ever (the lock is let go just below).
            kiosk.join(120)
            waited = kiosk.is_alive()
            conn.rollback()
        kiosk.join()
    finally:
        holder.dispose()
    assert not waited, "the kiosk's sync waited for the inquiries to be put back"
    assert answered["sync"].status_code == 200 and answered["sync"].get_json()["applied"] == 1
    assert notify.drain(hq_app)
    assert at_hq(hq_app, asked) == "pending_review"


def test_a_put_back_that_fails_never_fails_the_kiosks_batch_and_is_done_with_a_later_one(
        hq_app, hq_client, enroll, caplog):
    log_in(hq_app, hq_client)
    asked = released_nobody(hq_client, TARO)
    # A fault in the put-back (here the inquiries cannot be read at all) must not reach the kiosk: its batch
    # is HQ's already.
    with hq_app.app_context():
        db.session.execute(text("ALTER TABLE inquiries RENAME TO inquiries_away"))
        db.session.commit()
    token = enroll("H031")
    try:
        sent = sync(hq_app, token, "dev-a", 1, TARO)
        assert sent.status_code == 200 and sent.get_json()["applied"] == 1
        assert notify.drain(hq_app) is False, "the put-back failed and waits to be tried again"
        assert "were not all put back to staff" in caplog.text
    finally:
        with hq_app.app_context():
            db.session.execute(text("ALTER TABLE inquiries_away RENAME TO inquiries"))
            db.session.commit()
    assert at_hq(hq_app, asked) == "released"
    # The next batch (someone born on another day) tries again, with the birth date that failed.
    assert sync(hq_app, token, "dev-a", 2, OTHER).status_code == 200
    assert notify.drain(hq_app)
    assert at_hq(hq_app, asked) == "pending_review"
    with hq_app.app_context():
        assert went_back(asked) == 1


def test_one_unreadable_inquiry_does_not_keep_the_others_from_going_back(hq_app, hq_client, enroll, caplog):
    log_in(hq_app, hq_client)
    asked = released_nobody(hq_client, TARO)
    damaged = released_nobody(hq_client, {**TARO, "name": "焼津 次郎"}, addr="10.0.0.2")
    unsure = released_nobody(hq_client, {**TARO, "name": "焼津 三郎"}, addr="10.0.0.3")
    with hq_app.app_context():
        db.session.execute(update(Inquiry).where(Inquiry.id == damaged["inquiry_id"]).values(answer="{broken"))
        # A release's audit entry that cannot be read: taken as judged against no record (staff look again).
        db.session.execute(update(AuditEntry).where(AuditEntry.inquiry_id == unsure["inquiry_id"],
                                                    AuditEntry.action == "released").values(detail="{broken"))
        db.session.commit()
    caplog.set_level("ERROR", logger="hq_dashboard.safety")
    token = enroll("H031")
    assert sync(hq_app, token, "dev-a", 1, TARO, {**TARO, "name": "焼津 次郎"}, {**TARO, "name": "焼津 三郎"}
                ).status_code == 200
    assert notify.drain(hq_app)
    assert at_hq(hq_app, asked) == "pending_review" and at_hq(hq_app, unsure) == "pending_review"
    assert at_hq(hq_app, damaged) == "released"
    assert f"inquiries {damaged['inquiry_id']} cannot be read" in caplog.text
    assert f"release of inquiry {unsure['inquiry_id']} cannot be read" in caplog.text


def test_an_inquiry_goes_back_only_from_the_release_the_pass_read(hq_app, hq_client, enroll):
    """Two passes at the same moment (two syncs, two HQ processes) both find it due: the one writing second
    finds it gone back already and writes nothing; nor does a pass that read it before staff released it
    again put the new release back."""
    log_in(hq_app, hq_client)
    asked = released_nobody(hq_client, TARO)
    with hq_app.app_context():
        row = db.session.get(Inquiry, asked["inquiry_id"])
        read_then = (row.id, row.reviewed_at, None)
        db.session.rollback()
    Kiosk(hq_client, enroll("H031"), "dev-a").send(("checkin", TARO, {"stay_type": "in_shelter"}))
    assert at_hq(hq_app, asked) == "pending_review"
    with hq_app.app_context():
        assert safety.back_to_review(db.session, [read_then]) == 0
    assert decide(hq_client, asked["inquiry_id"]).status_code == 302
    with hq_app.app_context():
        assert safety.back_to_review(db.session, [read_then]) == 0
        assert went_back(asked) == 1
    assert at_hq(hq_app, asked) == "released"


def test_simultaneous_syncs_to_two_hq_processes_put_an_inquiry_back_once(hq_app, hq_client, hq_db_url, enroll):
    log_in(hq_app, hq_client)
    asked = released_nobody(hq_client, TARO)
    second = create_app({"SQLALCHEMY_DATABASE_URI": hq_db_url, "TESTING": True})
    a, b = enroll("H031"), enroll("H031")
    start = threading.Barrier(2)
    answers = {}

    def kiosk(app, token, device):
        start.wait()
        answers[device] = sync(app, token, device, 1, {**TARO, "address": f"焼津市本町1-1 ({device})"}).status_code

    kiosks = [threading.Thread(target=kiosk, args=(hq_app, a, "dev-a")),
              threading.Thread(target=kiosk, args=(second, b, "dev-b"))]
    for t in kiosks:
        t.start()
    for t in kiosks:
        t.join()
    assert answers == {"dev-a": 200, "dev-b": 200}
    assert notify.drain(hq_app) and notify.drain(second)
    assert at_hq(hq_app, asked) == "pending_review"
    with hq_app.app_context():
        assert went_back(asked) == 1
    with second.app_context():
        db.engine.dispose()


# --- cheap: the records of a birth date are read once, however many inquiries ask about people born then ---

class Reads:
    """The statements that read the records of one birth date (what an inquiry is decided on)."""

    def __init__(self, app):
        self.by_birth_date = 0
        with app.app_context():
            self.engine = db.engine
        event.listen(self.engine, "before_cursor_execute", self._count)

    def _count(self, _conn, _cursor, statement, *_):
        if "FROM persons" in statement and "persons.birth_date =" in statement:
            self.by_birth_date += 1

    def stop(self):
        event.remove(self.engine, "before_cursor_execute", self._count)


def many_on_one_day(hq_app, hq_client, count):
    given = ["一郎", "二郎", "三郎", "四郎", "五郎", "六郎", "七郎", "八郎"][:count]
    people = [{**TARO, "name": f"焼津 {n}", "address": f"焼津市本町{i}-1"} for i, n in enumerate(given, start=2)]
    return people, [released_nobody(hq_client, p, addr=f"10.0.1.{i}") for i, p in enumerate(people)]


def test_putting_back_many_inquiries_about_people_born_one_day_reads_that_days_records_once(
        hq_app, hq_client, enroll):
    log_in(hq_app, hq_client)
    people, asked = many_on_one_day(hq_app, hq_client, 8)
    kiosk = Kiosk(hq_client, enroll("H031"), "dev-a")
    kiosk.send(("checkin", OTHER, {"stay_type": "in_shelter"}))     # the process's first pass looks at all
    reads = Reads(hq_app)
    try:
        kiosk.send(*[("checkin", p, {"stay_type": "in_shelter"}) for p in people])
    finally:
        reads.stop()
    assert [at_hq(hq_app, a) for a in asked] == ["pending_review"] * len(asked)
    assert reads.by_birth_date == 1


def test_the_staff_queue_reads_a_birth_dates_records_once_and_says_what_it_said_inquiry_by_inquiry(
        hq_app, hq_client, enroll):
    log_in(hq_app, hq_client)
    kiosk = Kiosk(hq_client, enroll("H031"), "dev-a")
    protected = {**TARO, "name": "焼津 静", "name_kana": "ヤイヅ シズカ", "sex": "female",
                 "address": "焼津市大住3"}
    # Protection reaches her other record by the reading they share (evac.disclosure.protected_forms).
    reached = {**protected, "name": "八木 静香", "address": "焼津市八楠4"}
    kana_only = {**TARO, "name": "ヤイヅ ハナ", "sex": "female", "address": "焼津市本町1-1"}
    kiosk.send(("checkin", TARO, {"stay_type": "in_shelter"}),
               ("checkin", {**TARO, "address": "焼津市小川5"}, {"stay_type": "in_shelter"}),
               ("checkin", {**TARO, "name": "斉藤 一", "address": "焼津市中港5"}, {"stay_type": "in_shelter"}),
               ("checkin", protected, {"stay_type": "in_shelter"}), ("checkin", reached, {"stay_type": "in_shelter"}),
               ("checkin", kana_only, {"stay_type": "in_shelter"}),
               ("consent", protected, {"consent": "none", "never_disclose": True}))
    asked = [(TARO["name"], ""), (TARO["name"], TARO["address"]), ("斎藤 一", ""), (protected["name"], ""),
             (reached["name"], ""), ("やいづ たろう", ""), ("焼津 花", "焼津市本町1-1"),
             ("焼津 花子", "")]
    waiting = [ask(hq_client, n, TARO["birth_date"], "household_family", address=addr, addr=f"10.0.2.{i}").get_json()
               for i, (n, addr) in enumerate(asked)]
    with hq_app.app_context():
        rows = safety.pending(db.session)
        assert {r.id for r in rows} >= {a["inquiry_id"] for a in waiting}

        def answers():
            return [(safety.for_review(db.session, r), safety.asks_about_protected(db.session, safety.inquiry_of(r)),
                     [p.id for p in safety.several_matching(db.session, safety.inquiry_of(r))],
                     safety.inquiry_and_person(db.session, r)) for r in rows]
        alone = answers()
        with safety.one_reading(db.session):
            together = answers()
        db.session.rollback()
    assert together == alone
    assert [bool(r[1]) for r in alone] == [False, False, False, True, True, False, False, False], "protected: hers"
    assert [len(r[0]) for r in alone] == [2, 0, 1, 0, 0, 3, 1, 0], "the records offered to choose from"
    reads = Reads(hq_app)
    try:
        page = hq_client.get("/staff/inquiries").get_data(as_text=True)
    finally:
        reads.stop()
    assert all(f'id="inquiry-{a["inquiry_id"]}"' in page for a in waiting)
    assert reads.by_birth_date == 1


def test_a_carried_file_whose_put_back_fails_is_still_applied_and_said_without_a_traceback(
        hq_app, hq_client, tmp_path):
    from tests.conftest import run_evac
    from tests.test_sync_http import checkin, enroll
    log_in(hq_app, hq_client)
    asked = released_nobody(hq_client, TARO)
    url = hq_app.config["SQLALCHEMY_DATABASE_URI"]
    token = enroll(url, "H031")
    kiosk, stick = tmp_path / "kiosk.sqlite3", tmp_path / "records.json"
    checkin(kiosk, TARO["name"], TARO["birth_date"], shelter="H031", address=TARO["address"])
    assert run_evac("kiosk", "carry", "--db", str(kiosk), "--out", str(stick), "--token", token).returncode == 0
    with hq_app.app_context():   # the put-back cannot read the inquiries at all
        db.session.execute(text("ALTER TABLE inquiries RENAME TO inquiries_away"))
        db.session.commit()
        db.session.remove()
    try:
        imported = run_evac("hq", "import-records", "--db", url, str(stick))
    finally:
        with hq_app.app_context():
            db.session.execute(text("ALTER TABLE inquiries_away RENAME TO inquiries"))
            db.session.commit()
            db.session.remove()
    assert imported.returncode == 0 and "1 new at HQ" in imported.stdout, imported.stderr
    assert "Traceback" not in imported.stderr and "were not all put back to staff" in imported.stderr
    assert at_hq(hq_app, asked) == "released"


def test_a_put_back_a_stopped_hq_left_undone_is_done_at_its_next_start(hq_app, hq_client, enroll, hq_server):
    """The worker holds what it has still to do in memory: HQ stopped just after a kiosk's batch. The next
    `evac hq serve` looks at every inquiry when it starts, not only after the next kiosk batch."""
    from hq_dashboard.merge import apply_batch
    from hq_dashboard.models import Kiosk as KioskRow
    log_in(hq_app, hq_client)
    asked = released_nobody(hq_client, TARO)
    enroll("H031")
    with hq_app.app_context():   # the batch is HQ's; the put-back never ran
        kiosk_id = db.session.query(KioskRow.id).filter_by(shelter_id="H031").scalar()
        with db.engine.begin() as conn:
            apply_batch(conn, kiosk_id, "dev-a", [{"kiosk_id": "dev-a", "seq": 1, "hlc": pack(1_764_000_000_000),
                                                   "type": "checkin", "shelter_id": "H031", "person": TARO,
                                                   "data": {"stay_type": "in_shelter"}}])
        db.session.remove()
    assert at_hq(hq_app, asked) == "released"
    served = hq_server(hq_app.config["SQLALCHEMY_DATABASE_URI"])
    deadline = time.monotonic() + 60   # only to end a failing run
    url = f"{served.url}/api/v1/safety/inquiries/{asked['inquiry_id']}?key={asked['access_key']}"
    while True:
        status = at_hq(hq_app, asked)
        if status == "pending_review" or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert status == "pending_review"
    with urllib.request.urlopen(url, timeout=10) as answer:   # the family's page reads as it did
        assert json.load(answer) == check(hq_client, asked) and check(hq_client, asked)["status"] == "released"


# --- what the inquirer sees while it waits again (災対法 §86-15) ---

def test_an_inquiry_gone_back_to_staff_tells_its_inquirer_nothing_about_a_protected_person(hq_app, hq_client, enroll):
    """A stalker asks about two women the city has no record of, and a third inquirer about someone it never
    records; staff answer all three "no information".  One woman checks in protected: nothing for staff to
    judge, her inquiry stays as released.  The other checks in (unprotected): hers goes back to staff, who
    cannot confirm the stalker.  Neither the answer pages, nor the cap on waiting inquiries, nor staff's
    refusal may tell either woman from someone unknown (災対法 §86-15)."""
    hq_app.config.update(SAFETY_WAITING_PER_CLIENT=2)
    hanako = {"name": "焼津 花子", "birth_date": "1980-03-03", "sex": "female", "address": "焼津市本町2-2"}
    yuki = {**hanako, "name": "焼津 雪子", "address": "焼津市本町3-3"}
    kiosk = Kiosk(hq_client, enroll("H031"), "dev-a")
    log_in(hq_app, hq_client)
    stalker, other = "10.7.0.1", "10.7.0.2"
    at_arrival = released_nobody(hq_client, hanako, addr=stalker)
    later = released_nobody(hq_client, yuki, addr=stalker)
    nobody = released_nobody(hq_client, {**hanako, "name": "焼津 月子"}, addr=other)
    answered = {a["inquiry_id"]: check(hq_client, a) for a in (at_arrival, later, nobody)}

    family = hq_app.test_client()   # staff's pages carry their flashed messages

    def page(a):
        return (family.get(f"/safety/check?id={a['inquiry_id']}&key={a['access_key']}&lang=ja")
                .get_data(as_text=True).replace(a["inquiry_id"], "REF").replace(a["access_key"], "KEY"))

    def reads_as_nobody():
        for a in (at_arrival, later, nobody):
            assert check(hq_client, a) == answered[a["inquiry_id"]]
        assert page(at_arrival) == page(later) == page(nobody)

    kiosk.send(("checkin", hanako, {"stay_type": "in_shelter"}),
               ("consent", hanako, {"consent": "none", "never_disclose": True}),   # protected as she arrives
               ("checkin", yuki, {"stay_type": "in_shelter"}))
    assert notify.drain(hq_app)
    assert [at_hq(hq_app, a) for a in (at_arrival, later, nobody)] == ["released", "pending_review", "released"]
    reads_as_nobody()
    # The cap (2) counts nothing gone back to staff: each address may send two more, not a third.
    public = hq_app.test_client()   # staff logged in are not held back by the cap
    for addr in (stalker, other):
        assert ask(public, "焼津 一郎", "1990-01-01", addr=addr).status_code == 201
        assert ask(public, "焼津 二郎", "1990-01-01", addr=addr).status_code == 201
        assert ask(public, "焼津 三郎", "1990-01-01", addr=addr).status_code == 429
    # Staff cannot confirm the stalker: the answer released before stands ("refused" would tell).
    queue = hq_client.get("/staff/inquiries").get_data(as_text=True)
    assert 'data-testid="keep-no-information"' in queue.split(f'id="inquiry-{later["inquiry_id"]}"', 1)[1]
    assert decide(hq_client, later["inquiry_id"], "reject", "折り返し電話がつながらない").status_code == 302
    assert f'{later["inquiry_id"]}: 「情報なし」の回答のままにしました' in hq_client.get("/staff/inquiries").get_data(as_text=True)
    assert at_hq(hq_app, later) == "released"
    reads_as_nobody()
    kiosk.send(("status", yuki, {"status": "safe"}))
    assert notify.drain(hq_app)
    assert at_hq(hq_app, later) == "released"    # judged against what is there: not back again
    reads_as_nobody()
    with hq_app.app_context():
        assert went_back(later) == 1 and went_back(at_arrival) == 0


def test_an_inquiry_back_with_staff_settles_back_quietly_once_its_record_is_protected(hq_app, hq_client, enroll):
    """She checks in unprotected (her inquiry goes back to staff), then is protected in a later batch: the
    inquiry leaves staff's queue on its own, its "no information" standing again; left there, the note asking
    staff to confirm the relationship would have them call the stalker back (災対法 §86-15)."""
    ryoko = {"name": "佐藤 良子", "birth_date": "1985-05-05", "sex": "female", "address": "焼津市本町4-4"}
    kiosk = Kiosk(hq_client, enroll("H031"), "dev-a")
    log_in(hq_app, hq_client)
    asked = released_nobody(hq_client, ryoko)
    answered = check(hq_client, asked)
    kiosk.send(("checkin", ryoko, {"stay_type": "in_shelter"}))
    assert notify.drain(hq_app) and at_hq(hq_app, asked) == "pending_review"
    kiosk.send(("consent", ryoko, {"consent": "none", "never_disclose": True}))
    assert notify.drain(hq_app)
    assert at_hq(hq_app, asked) == "released" and check(hq_client, asked) == answered
    assert f'id="inquiry-{asked["inquiry_id"]}"' not in hq_client.get("/staff/inquiries").get_data(as_text=True)
    kiosk.send(("status", ryoko, {"status": "safe"}))     # judged against what is there: not back again
    assert notify.drain(hq_app) and at_hq(hq_app, asked) == "released"
    with hq_app.app_context():
        assert went_back(asked) == 1
        settled = db.session.query(AuditEntry).filter_by(inquiry_id=asked["inquiry_id"], actor="system",
                                                         action="released").count()
    assert settled == 1
