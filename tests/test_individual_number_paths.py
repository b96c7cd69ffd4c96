"""番号法 §20, from a review that typed valid Individual Numbers into every path with real processes: what
got past the detector or around it, and now does not.

1. Marks that show nothing between the digits (a phone's keycap digits, combining marks, Hangul and
   Braille blanks), more separators (~ | ' * + #) and longer runs of them.
2. A contact's phone exemption: only what can be a phone number (no longer every number beginning with 0).
3. The paths the detector was never asked about: a staff name (HQ and kiosk), `--by` on the kiosk's command
   line, a PFIF record's id, and HQ's refusal message repeating what a kiosk sent (kept at HQ and on the kiosk).
Real `evac` processes, real SQLite files, HQ's real sync API."""
from __future__ import annotations

import sqlite3

import pytest

from evac.individual_number import contains_individual_number, without_individual_numbers
from hq_dashboard.db import db
from hq_dashboard.models import Kiosk
from tests.conftest import run_evac
from tests.test_hq_sync_api import post
from tests.test_pfif_individual_number import document, person
from tests.wire import KioskStream, person as someone

NUMBER = "987654321093"   # a valid check digit (not anyone's)


def dump(path) -> str:
    with sqlite3.connect(path) as conn:
        return "\n".join(conn.iterdump())


@pytest.mark.parametrize("text", [
    "佐藤" + "\u034f".join(NUMBER),                       # combining grapheme joiner
    "".join(d + "\ufe0f\u20e3" for d in NUMBER),          # keycap digits, as a phone's emoji keyboard types them
    "".join(d + "\u0332" for d in NUMBER),                # combining underline
    "".join(d + "\ufe00" for d in NUMBER),                # variation selector
    "\u3164".join(NUMBER), "\u115f".join(NUMBER), "\u2800".join(NUMBER),   # Hangul fillers, Braille blank
    "9876~5432~1093", "9876|5432|1093", "9876'5432'1093", "9876*5432*1093", "9876＊5432＊1093",
    "9876+5432+1093", "9876#5432#1093", "9876・・・・5432・・・・1093", "9876 - - - - 5432 - - - - 1093",
])
def test_what_shows_nothing_or_separates_between_the_digits_hides_no_number(text):
    assert contains_individual_number(text) and contains_individual_number(text, phones=True)


def test_a_contact_takes_for_a_phone_only_what_can_be_one():
    assert contains_individual_number("マイナンバー 012345678903", phones=True)   # a tenth of numbers begin with 0
    assert contains_individual_number("0812-3456-7896", phones=True)   # twelve digits from 0: no phone dialled in Japan
    for phone in ("+62 812-3456-7896", "+63 917 123 4566", "81-90-1234-5673", "090-1234-5678"):
        assert not contains_individual_number(phone, phones=True), phone


def test_a_message_repeating_a_number_has_its_digits_starred_out():
    assert without_individual_numbers("unknown shelter id(s): H9876-5432-1093") == "unknown shelter id(s): H****-****-****"
    assert without_individual_numbers("unknown shelter id(s): H999") == "unknown shelter id(s): H999"


def test_a_kiosk_refuses_a_name_with_keycap_digits_and_a_number_as_its_by(tmp_path):
    kiosk = tmp_path / "kiosk.sqlite3"
    keycaps = "".join(d + "\ufe0f\u20e3" for d in NUMBER)
    typed = run_evac("kiosk", "checkin", "--new", "--db", str(kiosk), "--shelter", "H001", "--name", f"山田 {keycaps}",
                     "--birth", "1970-01-01", "--sex", "female", "--address", "焼津市本町1-1")
    assert typed.returncode != 0 and "Traceback" not in typed.stderr
    by = run_evac("kiosk", "checkin", "--new", "--db", str(kiosk), "--shelter", "H001", "--name", "山田 花子",
                  "--birth", "1970-01-01", "--sex", "female", "--address", "焼津市本町1-1", "--by", f"staff{NUMBER}")
    assert by.returncode != 0 and "Traceback" not in by.stderr
    assert "--by must not hold an Individual Number" in by.stderr and NUMBER not in by.stderr
    if kiosk.exists():
        assert "5432" not in dump(kiosk) and "山田 花子" not in dump(kiosk)


def test_a_staff_name_may_not_be_a_number(hq_initialised_sqlite, tmp_path):
    hq = tmp_path / "hq.sqlite3"
    hq_initialised_sqlite(hq)
    added = run_evac("hq", "add-staff", "--db", str(hq), "--username", f"u{NUMBER}", input="correct horse battery\n")
    assert added.returncode != 0 and "Individual Number" in added.stdout + added.stderr
    assert "Traceback" not in added.stderr and "5432" not in dump(hq)
    kiosk = tmp_path / "kiosk.sqlite3"
    run_evac("kiosk", "checkin", "--new", "--db", str(kiosk), "--shelter", "H001", "--name", "山田 花子",
             "--birth", "1970-01-01", "--sex", "female", "--address", "焼津市本町1-1")
    staff = run_evac("kiosk", "add-staff", "--db", str(kiosk), "--name", f"s{NUMBER}", "--role", "staff", input="correct horse battery\n")
    assert staff.returncode != 0 and "Individual Number" in staff.stdout + staff.stderr
    assert "Traceback" not in staff.stderr and "5432" not in dump(kiosk)


def test_a_pfif_record_whose_id_is_a_number_is_left_out_without_repeating_it(hq_initialised_sqlite, tmp_path):
    hq = tmp_path / "hq.sqlite3"
    hq_initialised_sqlite(hq)
    feed = tmp_path / "feed.xml"
    feed.write_text(document(person("p1"), person(NUMBER)), encoding="utf-8")
    done = run_evac("hq", "import-pfif", "--db", str(hq), str(feed))
    assert done.returncode == 0, done.stderr
    assert "added 1, updated 0, skipped 1" in done.stdout and "person_record_id" in done.stdout
    assert "5432" not in done.stdout + done.stderr and "5432" not in dump(hq)


def test_hqs_refusal_repeating_a_kiosks_id_keeps_no_number(hq_app, hq_client, enroll):
    token = enroll("H001")
    k = KioskStream("kiosk-a", "H9876-5432-1093")
    k.checkin(someone())
    refused = post(hq_client, token, "kiosk-a", k.events)
    assert refused.status_code == 422
    message = refused.get_json()["message"]
    assert "H****-****-****" in message and "5432" not in refused.get_data(as_text=True)
    with hq_app.app_context():
        kept = db.session.query(Kiosk.refused_message).filter(Kiosk.refused_message.isnot(None)).all()
        db.session.remove()
    assert all("5432" not in (m or "") for (m,) in kept)
