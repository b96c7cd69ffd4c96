"""`evac hq forget-inquiries`: who asked about whom is erased from closed safety inquiries made before a
day, on HQ's database (SQLite and PostgreSQL), by a real `evac` process.  The audit keeps that an answer
was given, when, to which relationship and how far; an inquiry still waiting for staff is never touched.
`evac hq forget-preregistrations`: what a spent (expired or cancelled) pre-registration held goes."""
from __future__ import annotations

import datetime as dt
import json

from hq_dashboard.db import db
from hq_dashboard.models import AuditEntry, Inquiry, PreregHousehold
from tests.conftest import run_evac
from tests.test_prereg_flow import FAMILY
from tests.test_safety_review_fixes import INQUIRER, Kiosk, ask, check

ITO = {"name": "伊藤 翔", "birth_date": "1975-07-07", "sex": "male", "address": "焼津市西小川3"}


def _rows(app) -> dict[str, tuple[Inquiry, list[dict]]]:
    with app.app_context():
        rows = {r.id: (r, [json.loads(e.detail) for e in db.session.query(AuditEntry).filter_by(inquiry_id=r.id)])
                for r in db.session.query(Inquiry)}
        db.session.expunge_all()
        db.session.remove()
    return rows


def test_closed_inquiries_before_a_day_are_erased_and_waiting_ones_kept(hq_app, hq_client, hq_db_url, enroll):
    kiosk = Kiosk(hq_client, enroll("H031"), "dev-a")
    kiosk.send(("checkin", ITO, {"stay_type": "in_shelter"}), ("consent", ITO, {"consent": "public"}))
    old = ask(hq_client, ITO["name"], ITO["birth_date"], "other", address=ITO["address"]).get_json()
    waiting = ask(hq_client, "山本 花子", "1980-03-03", "household_family", addr="10.0.0.2").get_json()
    assert old["status"] == "answered" and waiting["status"] == "pending_review"
    with hq_app.app_context():
        db.session.query(Inquiry).update({Inquiry.created_at: dt.datetime(2026, 1, 5, tzinfo=dt.timezone.utc)})
        db.session.commit()
        db.session.remove()
    recent = ask(hq_client, ITO["name"], ITO["birth_date"], "other", address=ITO["address"], addr="10.0.0.3").get_json()
    # made on 2026-02-01 at 08:30 in Japan (the night before in UTC): not before that day, kept
    morning = ask(hq_client, ITO["name"], ITO["birth_date"], "other", address=ITO["address"], addr="10.0.0.4").get_json()
    with hq_app.app_context():
        db.session.get(Inquiry, morning["inquiry_id"]).created_at = dt.datetime(2026, 1, 31, 23, 30,
                                                                                tzinfo=dt.timezone.utc)
        db.session.commit()
        db.session.remove()

    done = run_evac("hq", "forget-inquiries", "--db", hq_db_url, "--before", "2026-02-01")
    assert done.returncode == 0, done.stderr
    assert "1 件から個人情報を消去しました" in done.stdout and "待っている 1 件はそのまま" in done.stdout
    rows = _rows(hq_app)
    erased, audit = rows[old["inquiry_id"]]
    everything = json.dumps([erased.inquirer_name, erased.inquirer_address, erased.inquirer_contact, erased.reason,
                             erased.sought_name, erased.sought_birth_date, erased.sought_address, erased.client,
                             erased.answer, audit], ensure_ascii=False)
    for personal in (INQUIRER["name"], ITO["name"], ITO["birth_date"], ITO["address"], "10.0.0.1", "H031"):
        assert personal not in everything, personal
    assert erased.status == "answered" and erased.relationship == "other" and erased.person_id is None
    assert {"shown", "erased_on"} <= set(audit[-1]) and audit[-1]["shown"]
    kept, _ = rows[waiting["inquiry_id"]]
    assert kept.sought_name == "山本 花子" and kept.inquirer_name == INQUIRER["name"]
    assert rows[recent["inquiry_id"]][0].sought_name == ITO["name"]   # made after the day: kept
    assert rows[morning["inquiry_id"]][0].sought_name == ITO["name"]
    # The inquirer can still read that there was information, and nothing more.
    again = check(hq_client, old)
    assert again["status"] == "answered" and again["information_exists"] is True and again["whereabouts"] is None
    # Run again: nothing more to erase.
    assert "0 件から" in run_evac("hq", "forget-inquiries", "--db", hq_db_url, "--before", "2026-02-01").stdout


def test_a_day_that_is_no_date_or_after_tomorrow_is_refused_and_nothing_erased(hq_app, hq_db_url):
    for bad, said in (("2026-13-01", "is not a date: write it as YYYY-MM-DD"), ("yesterday", "is not a date"),
                      ("2099-01-01", "is after tomorrow")):
        refused = run_evac("hq", "forget-inquiries", "--db", hq_db_url, "--before", bad)
        assert refused.returncode == 2 and said in refused.stderr and "Traceback" not in refused.stderr


def test_spent_preregistrations_are_erased_and_a_valid_one_kept(hq_app, hq_client, hq_db_url):
    ids = [hq_client.post("/api/v1/prereg", json={**FAMILY, "address": f"焼津市本町{i}"}).get_json()["household_id"]
           for i in range(3)]
    expired, cancelled, valid = ids
    assert run_evac("hq", "revoke-prereg", "--db", hq_db_url, cancelled).returncode == 0
    with hq_app.app_context():
        db.session.get(PreregHousehold, expired).expires_at = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
        db.session.commit()
        db.session.remove()
    done = run_evac("hq", "forget-preregistrations", "--db", hq_db_url)
    assert done.returncode == 0 and "2 件から登録内容を消去しました" in done.stdout, done.stderr
    with hq_app.app_context():
        payloads = {i: db.session.get(PreregHousehold, i).payload for i in ids}
        db.session.remove()
    assert payloads[expired] == payloads[cancelled] == "{}"
    assert "焼津 太郎" in payloads[valid] and FAMILY["family_code"] in payloads[valid]
    # The cancelled QR is still refused: its id stays on the kiosks' list.
    with hq_app.app_context():
        from hq_dashboard.prereg import revoked_ids
        assert cancelled in revoked_ids(db.session)
        db.session.remove()
    assert "0 件から" in run_evac("hq", "forget-preregistrations", "--db", hq_db_url).stdout
