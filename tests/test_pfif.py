"""PFIF 1.4: export of consented records, import from other finders, validation against the 1.4 rules."""
from __future__ import annotations

import pytest

from evac import pfif
from evac.hlc import pack
from hq_dashboard.db import db
from hq_dashboard.models import PfifRecord
from tests.conftest import run_evac

PUBLIC = {"name": "焼津 花子", "birth_date": "1950-04-01", "sex": "female", "address": "焼津市本町5-9-1"}
PRIVATE = {"name": "焼津 次郎", "birth_date": "1960-01-01", "sex": "male", "address": "焼津市小川1"}
HIDDEN = {"name": "焼津 三郎", "birth_date": "1970-01-01", "sex": "male", "address": "焼津市大住1"}

OTHER_FINDER = """<?xml version="1.0" encoding="UTF-8"?>
<pfif:pfif xmlns:pfif="http://zesty.ca/pfif/1.4">
  <pfif:person>
    <pfif:person_record_id>shizuoka.example.org/p1</pfif:person_record_id>
    <pfif:entry_date>2026-11-25T01:00:00Z</pfif:entry_date>
    <pfif:author_name>静岡県</pfif:author_name>
    <pfif:source_name>Shizuoka finder</pfif:source_name>
    <pfif:source_date>{source_date}</pfif:source_date>
    <pfif:full_name>大井川 太郎</pfif:full_name>
    <pfif:sex>male</pfif:sex>
    <pfif:date_of_birth>1980-05-05</pfif:date_of_birth>
    <pfif:home_city>藤枝市</pfif:home_city>
    <pfif:note>
      <pfif:note_record_id>shizuoka.example.org/n1</pfif:note_record_id>
      <pfif:person_record_id>shizuoka.example.org/p1</pfif:person_record_id>
      <pfif:author_name>家族</pfif:author_name>
      <pfif:source_date>{source_date}</pfif:source_date>
      <pfif:status>believed_alive</pfif:status>
      <pfif:last_known_location>藤枝市民体育館</pfif:last_known_location>
      <pfif:text>無事です</pfif:text>
    </pfif:note>
  </pfif:person>
</pfif:pfif>
"""


@pytest.fixture
def hq_with_people(hq_app, hq_client, enroll):
    token = enroll("H031")
    events = []
    for person, consent in ((PUBLIC, {"consent": "public"}), (PRIVATE, None),
                            (HIDDEN, {"consent": "public", "never_disclose": True})):
        events.append({"type": "checkin", "person": person, "data": {"stay_type": "in_shelter"}})
        if consent:
            events.append({"type": "consent", "person": person, "data": consent})
    for i, e in enumerate(events, start=1):
        e.update(kiosk_id="dev-pfif", seq=i, hlc=pack(1_764_000_000_000 + i), shelter_id="H031")
    assert hq_client.post("/api/v1/sync", json={"device_id": "dev-pfif", "events": events},
                          headers={"Authorization": f"Bearer {token}"}).status_code == 200
    return hq_app


def test_export_holds_only_public_consent_and_reads_back_as_valid_pfif(hq_with_people):
    from hq_dashboard import pfif_exchange
    with hq_with_people.app_context():
        document, count = pfif_exchange.export(db.session, "yaizu.example.jp")
    assert count == 1
    (person,) = [p for p in pfif.read(document) if not p.expiry_date]   # the rest are withdrawals, nameless
    assert person.full_name == PUBLIC["name"] and person.date_of_birth == "1950-04-01" and person.sex == "female"
    assert person.person_record_id.startswith("yaizu.example.jp/person.")
    (note,) = person.notes
    assert note.status == "believed_alive" and "焼津中学校" in note.last_known_location
    text = document.decode()
    for secret in ("本町5-9-1", PRIVATE["name"], HIDDEN["name"]):
        assert secret not in text


def test_export_and_import_through_the_cli(hq_initialised_sqlite, tmp_path):
    db_file = tmp_path / "hq.sqlite3"
    out = tmp_path / "yaizu.pfif.xml"
    hq_initialised_sqlite(db_file)
    done = run_evac("hq", "export-pfif", "--db", str(db_file), "--out", str(out))
    assert done.returncode == 0 and "exported 0 person record" in done.stderr
    assert pfif.read(out.read_bytes()) == []
    feed = tmp_path / "shizuoka.xml"
    feed.write_text(OTHER_FINDER.format(source_date="2026-11-25T02:00:00Z"), encoding="utf-8")
    first = run_evac("hq", "import-pfif", "--db", str(db_file), str(feed))
    assert first.returncode == 0 and "added 1, updated 0, skipped 0" in first.stdout
    again = run_evac("hq", "import-pfif", "--db", str(db_file), str(feed))
    assert "skipped 1" in again.stdout and "not newer" in again.stdout
    feed.write_text(OTHER_FINDER.format(source_date="2026-11-25T03:00:00Z"), encoding="utf-8")
    assert "updated 1" in run_evac("hq", "import-pfif", "--db", str(db_file), str(feed)).stdout


BAD = {
    "not XML": "<pfif:pfif",
    "wrong namespace": OTHER_FINDER.replace("http://zesty.ca/pfif/1.4", "http://zesty.ca/pfif/1.1"),
    "missing full_name": OTHER_FINDER.replace("<pfif:full_name>大井川 太郎</pfif:full_name>", ""),
    "bad date": OTHER_FINDER.replace("{source_date}</pfif:source_date>\n    <pfif:full_name>",
                                     "25/11/2026</pfif:source_date>\n    <pfif:full_name>"),
    "bad status": OTHER_FINDER.replace("believed_alive", "probably_fine"),
    "out of order": OTHER_FINDER.replace("<pfif:sex>male</pfif:sex>\n", "").replace(
        "<pfif:home_city>藤枝市</pfif:home_city>", "<pfif:home_city>藤枝市</pfif:home_city><pfif:sex>male</pfif:sex>"),
    "bad record id": OTHER_FINDER.replace("shizuoka.example.org/p1", "p1"),
    "entities": '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><pfif:pfif xmlns:pfif="http://zesty.ca/pfif/1.4"/>',
}
WHY = {"not XML": "not well-formed", "wrong namespace": "root element", "missing full_name": "<full_name> is required",
       "bad date": "UTC time", "bad status": "<status> must be", "out of order": "out of the order",
       "bad record id": "domain/id", "entities": "entities"}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_document_is_refused_with_the_reason_and_nothing_is_stored(hq_initialised_sqlite, case, tmp_path):
    db_file = tmp_path / "hq.sqlite3"
    hq_initialised_sqlite(db_file)
    feed = tmp_path / "bad.xml"
    feed.write_text(BAD[case].replace("{source_date}", "2026-11-25T02:00:00Z"), encoding="utf-8")
    done = run_evac("hq", "import-pfif", "--db", str(db_file), str(feed))
    assert done.returncode == 2 and "not valid PFIF 1.4" in done.stderr and WHY[case] in done.stderr, done.stderr
    from sqlalchemy import create_engine, func, select
    engine = create_engine(f"sqlite:///{db_file}")
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(PfifRecord)).scalar() == 0
    engine.dispose()


def test_a_missing_file_is_named():
    done = run_evac("hq", "import-pfif", "--db", "/tmp/never-there.sqlite3", "/nonexistent/feed.xml")
    assert done.returncode == 2 and "cannot read /nonexistent/feed.xml" in done.stderr


def test_one_protected_record_keeps_every_record_of_that_name_and_birth_date_out(hq_app, hq_client, enroll):
    """As for inquiries: the same person on record twice (a card's address at one kiosk, typed with no
    address and public consent at another) is protected by the protected record."""
    from hq_dashboard import pfif_exchange
    card = {"name": "匿名 希", "birth_date": "1990-02-02", "sex": "female", "address": "静岡県焼津市大住１番地"}
    typed = {**card, "name": "希 匿名", "address": ""}
    events = [("dev-a", "H031", "checkin", card, {"stay_type": "in_shelter"}),
              ("dev-a", "H031", "consent", card, {"consent": "none", "never_disclose": True}),
              ("dev-b", "H001", "checkin", typed, {"stay_type": "in_shelter"}),
              ("dev-b", "H001", "consent", typed, {"consent": "public"}),
              ("dev-b", "H001", "checkin", PUBLIC, {"stay_type": "in_shelter"}),
              ("dev-b", "H001", "consent", PUBLIC, {"consent": "public"})]
    tokens = {"dev-a": enroll("H031"), "dev-b": enroll("H001")}
    for device in tokens:
        batch = [{"kiosk_id": device, "seq": i, "hlc": pack(1_764_000_000_000 + i), "type": t, "shelter_id": s,
                  "person": p, "data": d}
                 for i, (_, s, t, p, d) in enumerate([e for e in events if e[0] == device], start=1)]
        assert hq_client.post("/api/v1/sync", json={"device_id": device, "events": batch},
                              headers={"Authorization": f"Bearer {tokens[device]}"}).status_code == 200
    with hq_app.app_context():
        document, count = pfif_exchange.export(db.session, "yaizu.example.jp")
    # The typed record with a public consent was never published: not even withdrawn (an expired record
    # would tell that the city holds one it does not show; tests/test_pfif_published.py).
    published = [p for p in pfif.read(document) if not p.expiry_date]
    assert count == 1 and [p.full_name for p in published] == [PUBLIC["name"]]
    assert [p for p in pfif.read(document) if p.expiry_date] == []
    assert "匿名" not in document.decode()


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32"])
def test_entities_are_refused_in_any_encoding(encoding):
    """A byte search for <!ENTITY misses a UTF-16 document's: the parser itself refuses them."""
    document = OTHER_FINDER.replace("{source_date}", "2026-11-25T02:00:00Z").replace(
        "<pfif:full_name>大井川 太郎</pfif:full_name>", "<pfif:full_name>&a;</pfif:full_name>")
    document = document.replace('<?xml version="1.0" encoding="UTF-8"?>', "")
    document = f'<?xml version="1.0" encoding="{encoding.upper()}"?><!DOCTYPE x [<!ENTITY a "AAAA">]>' + document
    with pytest.raises(pfif.InvalidPFIF) as refused:
        pfif.read(document.encode(encoding))
    # (expat reads no UTF-32: refused in words too, not with a traceback)
    why = "entities are not accepted" if encoding == "utf-16" else "not well-formed XML"
    assert why in str(refused.value.problems)


def test_a_document_in_shift_jis_is_refused_in_words_not_with_a_traceback(hq_initialised_sqlite, tmp_path):
    """expat reads no Shift_JIS: the import said ValueError with a traceback."""
    db_file = tmp_path / "hq.sqlite3"
    hq_initialised_sqlite(db_file)
    feed = tmp_path / "sjis.xml"
    feed.write_bytes(OTHER_FINDER.replace("{source_date}", "2026-11-25T02:00:00Z")
                     .replace('encoding="UTF-8"', 'encoding="Shift_JIS"').encode("shift_jis"))
    done = run_evac("hq", "import-pfif", "--db", str(db_file), str(feed))
    assert done.returncode == 2 and "not valid PFIF 1.4" in done.stderr and "save it as UTF-8" in done.stderr
    assert "Traceback" not in done.stderr
