"""番号法 §20: a record from another finder whose text (name, note, author) holds an Individual Number is
left out of HQ's import, nothing of it kept, and the import's summary says how many and why without
repeating the number.  Real `evac hq import-pfif` process and SQLite file."""
from __future__ import annotations

import sqlite3

from evac import pfif
from tests.conftest import run_evac

NUMBER = "1234 5678 9018"                                     # a valid check digit (not anyone's)
ARABIC = "".join(chr(0x660 + int(d)) for d in "123456789018")


def person(pid: str, full_name: str = "大井川 太郎", author: str = "家族", text: str = "無事です",
           source_date: str = "2026-11-25T02:00:00Z") -> str:
    return f"""  <pfif:person>
    <pfif:person_record_id>shizuoka.example.org/{pid}</pfif:person_record_id>
    <pfif:source_date>{source_date}</pfif:source_date>
    <pfif:full_name>{full_name}</pfif:full_name>
    <pfif:note>
      <pfif:note_record_id>shizuoka.example.org/n-{pid}</pfif:note_record_id>
      <pfif:author_name>{author}</pfif:author_name>
      <pfif:source_date>{source_date}</pfif:source_date>
      <pfif:text>{text}</pfif:text>
    </pfif:note>
  </pfif:person>
"""


def document(*persons: str) -> str:
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<pfif:pfif xmlns:pfif="http://zesty.ca/pfif/1.4">\n'
            + "".join(persons) + "</pfif:pfif>\n")


def test_the_records_holding_the_number_are_left_out_and_the_summary_says_why(hq_initialised_sqlite, tmp_path):
    db_file = tmp_path / "hq.sqlite3"
    hq_initialised_sqlite(db_file)
    feed = tmp_path / "feed.xml"
    feed.write_text(document(person("p1"),                                        # clean: kept
                             person("p2", full_name=f"外部 太郎 {NUMBER}"),
                             person("p3", text=f"母のマイナンバーは {ARABIC} です"),
                             person("p4", author=f"家族 〒425-0000 {NUMBER}"),
                             person("p5", source_date="2026-11-25T01:00:00Z")), encoding="utf-8")
    done = run_evac("hq", "import-pfif", "--db", str(db_file), str(feed))
    assert done.returncode == 0, done.stderr
    assert "added 2, updated 0, skipped 3" in done.stdout
    assert "shizuoka.example.org/p2: left out, full_name seem(s) to hold an Individual Number" in done.stdout
    assert "shizuoka.example.org/p3: left out, note 1 text seem(s)" in done.stdout
    assert "shizuoka.example.org/p4: left out, note 1 author_name seem(s)" in done.stdout
    assert "9018" not in done.stdout + done.stderr and ARABIC[-4:] not in done.stdout + done.stderr
    # A newer version of a kept record that now holds the number: the earlier copy stays as it was.
    feed.write_text(document(person("p5", text=f"番号 {NUMBER}", source_date="2026-11-25T03:00:00Z")),
                    encoding="utf-8")
    again = run_evac("hq", "import-pfif", "--db", str(db_file), str(feed))
    assert "added 0, updated 0, skipped 1" in again.stdout and "p5: left out, note 1 text" in again.stdout
    with sqlite3.connect(db_file) as conn:
        rows = dict(conn.execute("SELECT person_record_id, notes FROM pfif_records").fetchall())
        dump = "\n".join(conn.iterdump())
    assert sorted(rows) == ["shizuoka.example.org/p1", "shizuoka.example.org/p5"]
    assert "無事です" in rows["shizuoka.example.org/p5"]
    assert "9018" not in dump and ARABIC[-4:] not in dump


def test_dates_are_not_taken_for_the_number_and_record_ids_are_checked():
    # Dates are machine fields.  A record id is kept as HQ's key: one a finder made of twelve digits that are a
    # valid Individual Number cannot be told from one (番号法 §20: a review found it stored), so it is left out.
    record = pfif.PersonRecord(person_record_id="finder.example.org/123456789012", source_date="2026-11-25T09:30:00Z",
                               full_name="大井川 太郎", date_of_birth="1980-05-05")
    record.notes = [pfif.Note("finder.example.org/n-123456789012", record.person_record_id, "家族",
                              "2026-11-25T09:30:00Z", "2026/11/26 00:00 無事を確認")]
    assert pfif.individual_number_fields(record) == []
    record.notes[0].note_record_id = "finder.example.org/123456789018"
    assert pfif.individual_number_fields(record) == ["note 1 note_record_id"]
    record.notes[0].note_record_id = "finder.example.org/n-1"
    record.notes[0].last_known_location = f"焼津市 {NUMBER}"
    record.given_name = ARABIC
    assert pfif.individual_number_fields(record) == ["given_name", "note 1 last_known_location"]
