"""`evac hq import-pfif`: why each record was not taken is said Japanese first, then English, each half whole
(the record, and why), as the command's summary line above it.  Every reason HQ gives: its own record, a
record its finder withdrew, one holding an Individual Number, one not newer than HQ's copy.  Real process."""
from __future__ import annotations

import re

from tests.conftest import run_evac
from tests.test_pfif_individual_number import NUMBER

JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
OWN = "yaizu.evac.example"   # (the command's default --domain)


def person(pid: str, full_name: str = "大井川 太郎", source_date: str = "2026-11-25T02:00:00Z",
           expiry: str = "") -> str:
    expiry = f"\n    <pfif:expiry_date>{expiry}</pfif:expiry_date>" if expiry else ""
    return f"""  <pfif:person>
    <pfif:person_record_id>{pid}</pfif:person_record_id>{expiry}
    <pfif:source_date>{source_date}</pfif:source_date>
    <pfif:full_name>{full_name}</pfif:full_name>
  </pfif:person>
"""


def document(*persons: str) -> str:
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<pfif:pfif xmlns:pfif="http://zesty.ca/pfif/1.4">\n'
            + "".join(persons) + "</pfif:pfif>\n")


def skipped(stdout: str) -> dict[str, tuple[str, str]]:
    """Each "skipped" line by its record: (Japanese, English)."""
    said = {}
    for line in stdout.splitlines():
        if line.startswith("  取り込まなかった記録 "):
            japanese, sep, english = line.removeprefix("  取り込まなかった記録 ").partition(" / skipped ")
            assert sep and JAPANESE.search(japanese) and not JAPANESE.search(english), line
            pid = japanese.partition(": ")[0]
            assert english.startswith(f"{pid}: "), line   # each half names the record
            said[pid] = (japanese, english)
    return said


def test_every_reason_a_record_is_skipped_is_said_japanese_first(hq_initialised_sqlite, tmp_path):
    db_file = tmp_path / "hq.sqlite3"
    hq_initialised_sqlite(db_file)
    feed = tmp_path / "feed.xml"
    feed.write_text(document(person(f"{OWN}/k1"),
                             person("shizuoka.example.org/gone", expiry="2026-01-01T00:00:00Z"),
                             person("shizuoka.example.org/mynumber", full_name=f"外部 太郎 {NUMBER}"),
                             person("shizuoka.example.org/kept")), encoding="utf-8")
    done = run_evac("hq", "import-pfif", "--db", str(db_file), str(feed))
    assert done.returncode == 0, done.stderr
    assert "added 1, updated 0, skipped 3" in done.stdout, done.stdout
    said = skipped(done.stdout)
    assert sorted(said) == sorted([f"{OWN}/k1", "shizuoka.example.org/gone", "shizuoka.example.org/mynumber"])
    assert "本部自身の記録" in said[f"{OWN}/k1"][0] and "our own record" in said[f"{OWN}/k1"][1]
    assert "取り下げ" in said["shizuoka.example.org/gone"][0]
    assert "withdrawn by its finder" in said["shizuoka.example.org/gone"][1]
    japanese, english = said["shizuoka.example.org/mynumber"]
    assert "マイナンバー" in japanese and "full_name" in japanese and "Individual Number" in english
    assert "9018" not in done.stdout + done.stderr

    again = run_evac("hq", "import-pfif", "--db", str(db_file), str(feed.with_name("feed.xml")))
    assert again.returncode == 0, again.stderr
    japanese, english = skipped(again.stdout)["shizuoka.example.org/kept"]
    assert "新しくない" in japanese and "2026-11-25" in japanese, japanese
    assert "not newer than the copy HQ holds" in english, english
