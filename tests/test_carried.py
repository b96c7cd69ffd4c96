"""Records carried to HQ by hand while the network is down: the kiosk writes what HQ has not acknowledged
to a file, HQ applies it as a sync (same token, same batches, same idempotency), and nothing counts twice
when the network comes back."""
from __future__ import annotations

import json
import os
import re

import pytest

from evac.carried import FORMAT, CarriedFileError, carried_file, read_carried_file
from evac.events import Person
from hq_dashboard.carried import CarriedRefused, apply_carried
from hq_dashboard.db import db
from kiosk.store import KioskStore
from tests.conftest import run_evac
from tests.staff_helpers import logged_in, make_app
from tests.test_hq_sync_api import counts, occupancy as hq_occupancy
from tests.test_sync_http import checkin, enroll, occupancy

FAMILY = [Person("津田 一郎", "1950-01-01", "male", "焼津市本町1-1"),
          Person("津田 花子", "1952-02-02", "female", "焼津市本町1-1")]


# -- the file --------------------------------------------------------------------------------------

def test_a_carried_file_says_what_it_is_and_reads_back():
    events = [{"kiosk_id": "k-1", "seq": 1, "hlc": 5, "type": "checkin"}]
    data = carried_file("k-1", events, "K1.secret")
    envelope = json.loads(data)
    assert envelope["format"] == FORMAT and envelope["version"] == 1
    back = read_carried_file(data)
    assert (back.device_id, back.token, back.events) == ("k-1", "K1.secret", events)
    assert read_carried_file(carried_file("k-1", events)).token is None


@pytest.mark.parametrize("data, words", [
    (b"\xff\xfe binary", "does not start with the format mark"),
    (b'{"format":"yaizu-evac-carried-records","version":1,"x":"\xff"}', "not UTF-8 text"),
    (b'{"format": "yaizu-evac-carried-records", "version": 1, "events": [', "cut short"),
    (b'{"type": "FeatureCollection", "format": "yaizu-evac-carried-records"}', "does not start with the format"),
    (b'["format", "yaizu-evac-carried-records"]', "does not start with the format mark"),
    (b'{"format": "yaizu-evac-carried-records", "version": 2}', "update HQ's software"),
    (b'{"format": "yaizu-evac-carried-records", "version": 1, "events": []}', "which kiosk database"),
    (b'{"format": "yaizu-evac-carried-records", "version": 1, "device_id": "k", "events": {}}', "not a list"),
    (b'{"format": "yaizu-evac-carried-records", "version": 1, "device_id": "k", "token": 5, "events": []}',
     "token is not text"),
    # damaged or made to hurt: nested beyond reason, a number of thousands of digits
    (b'{"format":"yaizu-evac-carried-records","version":1,"x":' + b"[" * 100000 + b"]" * 100000 + b"}", "damaged"),
    (b'{"format":"yaizu-evac-carried-records","version":1,"n":' + b"9" * 5000 + b"}", "damaged"),
    # objects by the million in a few MB (parsed, they would take many times the file's size)
    (b'{"format":"yaizu-evac-carried-records","version":1,"device_id":"k","events":['
     + b",".join([b"{}"] * 1_000_000) + b"]}", "damaged"),
    (b'{"format":"yaizu-evac-carried-records","version":1,"device_id":"k","events":[],"x":['
     + b",".join([b"[]"] * 1_000_000) + b"]}", "damaged"),
    (b'{"type": "FeatureCollection", "features": []}', "does not start with the format mark"),
])
def test_what_is_not_a_kiosks_file_is_refused_in_words(data, words):
    with pytest.raises(CarriedFileError, match=re.escape(words)):
        read_carried_file(data)


def test_the_densest_records_a_kiosk_writes_are_read():
    """The bound on objects per byte leaves room for a kiosk's densest records (status changes, short ids)."""
    events = [{"kiosk_id": "k", "seq": i, "hlc": 1, "type": "shelter_status", "shelter_id": "H1",
               "data": {"status": "open"}} for i in range(1, 200_001)]
    assert len(read_carried_file(carried_file("k", events)).events) == 200_000


# -- HQ applies it (SQLite and PostgreSQL) ---------------------------------------------------------

def _kiosk_with(tmp_path, persons, name="kiosk.sqlite3") -> KioskStore:
    store = KioskStore(tmp_path / name)
    store.check_in("H001", persons)
    return store


def test_hq_applies_a_carried_file_once_however_often_it_comes(hq_app, hq_client, enroll, tmp_path):
    token = enroll("H001")
    store = _kiosk_with(tmp_path, FAMILY)
    data = carried_file(store.device_id, store.events_after(0), token)
    with hq_app.app_context():
        first = apply_carried(db.session, data)
        again = apply_carried(db.session, data)
    assert (first.records, first.applied, first.duplicates, first.acked_seq) == (2, 2, 0, 2)
    assert (again.applied, again.duplicates) == (0, 2)
    assert first.kiosk_id == token.split(".")[0] and first.shelter_id == "H001"
    assert hq_occupancy(hq_client) == {"H001": 2} and counts(hq_app) == (2, 2)
    # A later file that overlaps the first (the kiosk did not hear HQ's acknowledgement) adds only what is new.
    store.check_in("H001", [Person("津田 三郎", "1980-03-03", "male", "焼津市本町1-1")])
    with hq_app.app_context():
        later = apply_carried(db.session, carried_file(store.device_id, store.events_after(0), token))
    assert (later.applied, later.duplicates, later.acked_seq) == (1, 2, 3)
    assert hq_occupancy(hq_client) == {"H001": 3}


def test_a_carried_file_goes_in_batches_and_a_bad_record_stops_it_where_it_is(hq_app, hq_client, enroll, tmp_path):
    token = enroll("H001")
    store = KioskStore(tmp_path / "big.sqlite3")
    for i in range(1100):
        store.check_in("H001", [Person(f"大勢 {i}", "1970-01-01", "female", f"焼津市本町{i}")])
    events = store.events_after(0)
    bad = json.loads(json.dumps(events))
    bad[1049]["person"]["birth_date"] = "1970-13-01"       # record 1050: a date no month has
    with hq_app.app_context():
        with pytest.raises(CarriedRefused) as refused:
            apply_carried(db.session, carried_file(store.device_id, bad, token))
    assert refused.value.applied == 1049
    assert "HQ refuses record 1050 of the kiosk: event 50 of the batch" in str(refused.value)
    assert "the 1049 new record(s) before it are applied; applying the file again is safe" in str(refused.value)
    assert hq_occupancy(hq_client) == {"H001": 1049}        # everything before the refused record
    with hq_app.app_context():
        fixed = apply_carried(db.session, carried_file(store.device_id, events, token))
    assert (fixed.applied, fixed.duplicates, fixed.acked_seq) == (51, 1049, 1100)
    assert hq_occupancy(hq_client) == {"H001": 1100}


def test_hq_refuses_a_file_it_cannot_trust_and_applies_nothing(hq_app, hq_client, enroll, tmp_path):
    token = enroll("H001")
    store = _kiosk_with(tmp_path, FAMILY)
    events = store.events_after(0)
    with hq_app.app_context():
        for data, given, words in [
            (carried_file(store.device_id, events), None, "holds no kiosk token"),
            (carried_file(store.device_id, events, token.split(".")[0] + ".wrong"), None, "is wrong"),
            (carried_file(store.device_id, events, "K0000.x"), None, "no kiosk is enrolled under this token"),
            (b"PK\x03\x04 a zip", None, "not a kiosk's records"),
        ]:
            with pytest.raises(CarriedRefused, match=re.escape(words)) as refused:
                apply_carried(db.session, data, given)
            assert "nothing was applied" in str(refused.value)
        apply_carried(db.session, carried_file(store.device_id, events, token))
        # A record changed after HQ has it: a kiosk's events never change, so the file is refused.
        changed = json.loads(json.dumps(events))
        changed[1]["person"]["name"] = "津田 華子"
        with pytest.raises(CarriedRefused, match="differs from the event 2 HQ already holds"):
            apply_carried(db.session, carried_file(store.device_id, changed, token))
        # Another kiosk's token (of the same shelter) on this kiosk's file: one token, one kiosk database.
        with pytest.raises(CarriedRefused, match="already enrolled under another token .this token belongs to "
                                                 "another kiosk: use the token of the kiosk that wrote the file"):
            apply_carried(db.session, carried_file(store.device_id, events, enroll("H001")))
    assert hq_occupancy(hq_client) == {"H001": 2} and counts(hq_app) == (2, 2)


def test_a_token_of_another_kiosk_is_not_bound_to_the_file_and_the_files_own_token_comes_first(
        hq_app, hq_client, enroll, tmp_path):
    # Several kiosks may be enrolled; a token typed at HQ that belongs to a kiosk at another shelter would
    # bind that kiosk to this database for good and lock the real kiosk out when the network returns.
    from hq_dashboard.models import Kiosk
    mine, other = enroll("H001"), enroll("H002")
    store = _kiosk_with(tmp_path, FAMILY)
    with hq_app.app_context():
        with pytest.raises(CarriedRefused, match="enrolled at H002 and never heard from, but the file's check-ins "
                                                 "are at H001: use the token of the kiosk that wrote the file"):
            apply_carried(db.session, carried_file(store.device_id, store.events_after(0)), other)
        assert db.session.get(Kiosk, other.split(".")[0]).device_id is None
        # A file with its own token: that one is used, whatever is typed.
        result = apply_carried(db.session, carried_file(store.device_id, store.events_after(0), mine), other)
        assert result.kiosk_id == mine.split(".")[0] and result.applied == 2
        # A carried file says nothing of the kiosk's network: the dashboard's silence alert stays.
        assert db.session.get(Kiosk, result.kiosk_id).last_sync_at is None


def test_a_record_withdrawn_after_hq_took_it_from_a_file_does_not_stop_the_sync(hq_app, hq_client, enroll, tmp_path):
    # HQ refused record 3 over the network once; HQ was fixed and took it from a carried file; the lead,
    # who could not know, withdrew it on the tablet.  The placeholder is a duplicate, HQ keeps the record.
    from evac.events import withdrawal
    from tests.test_hq_sync_api import post
    token = enroll("H001")
    store = _kiosk_with(tmp_path, FAMILY)
    store.check_in("H001", [Person("津田 三郎", "1980-03-03", "male", "焼津市本町1-1")])
    events = store.events_after(0)
    with hq_app.app_context():
        apply_carried(db.session, carried_file(store.device_id, events, token))
    placeholder = withdrawal(events[2], "H001", "HQ refused it")
    answer = post(hq_client, token, store.device_id, events[:2] + [placeholder])
    assert answer.status_code == 200 and answer.get_json()["acked_seq"] == 3, answer.get_json()
    assert hq_occupancy(hq_client) == {"H001": 3}
    changed = json.loads(json.dumps(events[2]))
    changed["person"]["name"] = "津田 四郎"          # anything else that differs is still refused
    assert post(hq_client, token, store.device_id, events[:2] + [changed]).status_code == 409


def test_a_file_carried_before_a_withdrawal_is_taken_as_what_hq_already_holds(hq_app, hq_client, enroll, tmp_path):
    # The file left the shelter holding record 3; over the network HQ then refused record 3, the lead
    # withdrew it and the rest arrived.  The file arriving last is a duplicate, not a conflict whose
    # advice (a restored database: new-device) would have sent the whole stream twice.
    from evac.events import withdrawal
    from tests.test_hq_sync_api import post
    token = enroll("H001")
    store = _kiosk_with(tmp_path, FAMILY)
    store.check_in("H001", [Person("津田 三郎", "1980-03-03", "male", "焼津市本町1-1")])
    events = store.events_after(0)
    carried = carried_file(store.device_id, events, token)
    answer = post(hq_client, token, store.device_id, events[:2] + [withdrawal(events[2], "H001", "HQ refused it")])
    assert answer.status_code == 200 and answer.get_json()["acked_seq"] == 3, answer.get_json()
    with hq_app.app_context():
        result = apply_carried(db.session, carried)
    assert (result.applied, result.duplicates) == (0, 3), result
    assert hq_occupancy(hq_client) == {"H001": 2}, "the withdrawn record stays withdrawn"


def test_a_kiosk_moved_to_another_shelter_is_moved_at_hq(hq_initialised_sqlite, tmp_path):
    import sqlite3
    hq_db = tmp_path / "hq.sqlite3"
    hq_initialised_sqlite(hq_db)
    token = run_evac("hq", "enroll-kiosk", "--db", str(hq_db), "--shelter", "H001").stdout.strip()
    kiosk_id = token.split(".")[0]
    moved = run_evac("hq", "move-kiosk", "--db", str(hq_db), kiosk_id, "--shelter", "H002")
    assert moved.returncode == 0, moved.stderr
    assert f"kiosk {kiosk_id} now belongs to H002 (was H001)" in moved.stdout
    with sqlite3.connect(hq_db) as conn:
        assert conn.execute("SELECT shelter_id FROM kiosks WHERE id = ?", (kiosk_id,)).fetchone() == ("H002",)
    for args, words in [((kiosk_id, "--shelter", "Z999"), "no shelter with id 'Z999'"),
                        (("KNOPE", "--shelter", "H002"), "no kiosk 'KNOPE' is enrolled at HQ")]:
        refused = run_evac("hq", "move-kiosk", "--db", str(hq_db), *args)
        assert refused.returncode == 2 and words in refused.stderr and "Traceback" not in refused.stderr


def test_a_file_from_a_kiosk_that_ran_without_hq_takes_a_token_given_at_hq(hq_app, hq_client, enroll, tmp_path):
    store = _kiosk_with(tmp_path, FAMILY)
    data = carried_file(store.device_id, store.events_after(0))
    with hq_app.app_context():
        result = apply_carried(db.session, data, enroll("H001"))
    assert result.applied == 2 and hq_occupancy(hq_client) == {"H001": 2}


# -- by hand, end to end: the kiosk's command, the stick, HQ's command, then the network ---------------

@pytest.mark.slow
def test_records_carried_by_hand_then_synced_count_once(hq_server, tmp_path):
    hq = hq_server()
    token = enroll(hq.db_url, "H001")
    kiosk = tmp_path / "kiosk.sqlite3"
    for name in ("津田 一郎", "津田 花子"):
        checkin(kiosk, name)
    stick = tmp_path / "usb" / "records.json"
    stick.parent.mkdir()
    wrote = run_evac("kiosk", "carry", "--db", str(kiosk), "--out", str(stick), "--token", token)
    assert wrote.returncode == 0, wrote.stderr
    assert f"wrote 2 record(s), 1 to 2, to {stick}. Carry it to HQ: evac hq import-records --db URL records.json (" \
        in wrote.stdout, wrote.stdout
    assert wrote.stdout.startswith(f"2 件（1〜2 番）の記録を {stick} に書き出しました。"), wrote.stdout
    assert "personal data" in wrote.stdout and os.stat(stick).st_mode & 0o077 == 0   # for this user only
    applied = run_evac("hq", "import-records", "--db", hq.db_url, str(stick))
    assert applied.returncode == 0, applied.stderr
    assert applied.stdout.strip().endswith("2 record(s) in the file, 2 new at HQ, 0 HQ already held; "
                                            "HQ now holds up to record 2 of this kiosk")
    assert occupancy(hq.url) == {"H001": 2}      # the running HQ counts them at once
    # The network comes back: the kiosk sends what it never heard acknowledged, and one more.
    checkin(kiosk, "津田 三郎")
    synced = run_evac("kiosk", "sync", "--db", str(kiosk), "--hq", hq.url, "--token", token)
    assert synced.returncode == 0, synced.stderr
    assert occupancy(hq.url) == {"H001": 3}
    nothing = run_evac("kiosk", "carry", "--db", str(kiosk), "--out", str(stick))
    assert nothing.returncode == 0 and "there is nothing to carry" in nothing.stdout
    assert nothing.stdout.startswith("本部はこの端末の記録をすべて受け取っています（最後の同期の時点で）。運ぶものはありません")


def test_the_commands_say_what_is_wrong_in_one_line(hq_initialised_sqlite, tmp_path):
    kiosk = tmp_path / "kiosk.sqlite3"
    checkin(kiosk, "津田 一郎")
    folder = run_evac("kiosk", "carry", "--db", str(kiosk), "--out", str(tmp_path))
    assert folder.returncode == 2 and f"{tmp_path} is a folder" in folder.stderr
    missing = run_evac("kiosk", "carry", "--db", str(kiosk), "--out", str(tmp_path / "no" / "such.json"))
    assert missing.returncode == 2 and "nothing was written" in missing.stderr
    hq_db = tmp_path / "hq.sqlite3"
    hq_initialised_sqlite(hq_db)
    for path, words in [(tmp_path / "absent.json", "cannot read"), (kiosk, "not a kiosk's records")]:
        refused = run_evac("hq", "import-records", "--db", str(hq_db), str(path))
        assert refused.returncode == 2 and words in refused.stderr and "Traceback" not in refused.stderr


# -- on the staff tablet: the lead saves the file ------------------------------------------------

def test_the_lead_saves_the_records_hq_lacks_staff_are_told_to_ask(tmp_path):
    db_path = tmp_path / "kiosk.sqlite3"
    store = _kiosk_with(tmp_path, FAMILY)
    app = make_app(db_path, HQ_TOKEN="K1234.secret", HQ_URL="http://127.0.0.1:9", START_SYNC=False)
    lead = logged_in(app, "tanaka")
    page = lead.get("/staff/summary").text
    assert 'id="carry-download"' in page and "本部に届ける記録 2 件を保存" in page
    answer = lead.get("/staff/carry")
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    assert answer.headers["Content-Disposition"] == 'attachment; filename="records-H001-1-2.json"'
    carried = read_carried_file(answer.data)
    assert (carried.device_id, carried.token, [e["seq"] for e in carried.events]) == (store.device_id, "K1234.secret",
                                                                                     [1, 2])
    staff = logged_in(app, "sato")
    assert 'id="carry-ask-lead"' in staff.get("/staff/summary").text
    refused = staff.get("/staff/carry")
    assert refused.status_code == 403 and "避難所責任者だけ" in refused.text and b"K1234" not in refused.data
    store.set_acked(2)
    assert 'id="carry"' not in lead.get("/staff/summary").text
    done = lead.get("/staff/carry", follow_redirects=True)
    assert "届ける記録はありません" in done.text


# -- at HQ, in the browser: staff upload the file ---------------------------------------------------

def _staff_client(hq_app, hq_client):
    from hq_dashboard.staff import add_staff
    with hq_app.app_context():
        add_staff(db.session, "hq-records", "correct horse battery")
    hq_app.config["WTF_CSRF_ENABLED"] = True
    assert hq_client.post("/staff/login", data={"csrf_token": _csrf(hq_client, "/staff/login"), "username": "hq-records",
                                                "password": "correct horse battery"}).status_code == 302
    return hq_client


def _csrf(client, path: str) -> str:
    return re.search(r'name="csrf_token"[^>]* value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


def _upload(client, data: bytes, token: str = "", csrf: bool = True):
    import io
    form = {"file": (io.BytesIO(data), "records.json"), "token": token}
    if csrf:
        form["csrf_token"] = _csrf(client, "/staff/carried")
    return client.post("/staff/carried", data=form, content_type="multipart/form-data")


def test_hq_staff_apply_a_carried_file_in_the_browser(hq_app, hq_client, enroll):
    from tests.wire import KioskStream, person
    assert hq_app.test_client().get("/staff/carried").status_code == 302      # staff only
    token = enroll("H001")
    # Days of a big shelter's records: larger than any other request HQ takes (4 MB).
    k = KioskStream("kiosk-far")
    for i in range(20000):
        k.checkin(person(f"遠方 {i}", address=f"焼津市本町{i}"))
    data = carried_file("kiosk-far", k.events, token)
    assert len(data) > hq_app.config["MAX_CONTENT_LENGTH"]
    client = _staff_client(hq_app, hq_client)
    assert 'href="/staff/carried"' in client.get("/dashboard").get_data(as_text=True)   # found from the dashboard
    refused = _upload(client, data, csrf=False)
    assert refused.status_code == 422 and hq_occupancy(client) == {}        # a form from elsewhere: nothing
    page = _upload(client, data)
    text = page.get_data(as_text=True)
    assert page.status_code == 200, text
    result = re.search(r'id="carried-result"[^>]*>(.*?)</div>', text, re.S).group(1)
    assert f"端末 {token.split('.')[0]}（H001 に登録）: ファイルの記録 20000 件のうち、新しい記録 20000 件" in result
    assert hq_occupancy(client) == {"H001": 20000}
    again = _upload(client, data).get_data(as_text=True)
    assert "新しい記録 0 件を取り込みました（20000 件は取り込み済み）" in again
    bad = _upload(client, b"not a file from a kiosk")
    assert bad.status_code == 422
    assert ("取り込めませんでした / Not applied: 本部が読める端末の記録ファイルではありません（the file is not a kiosk&#39;s "
            "records" in bad.get_data(as_text=True))
    other = KioskStream("kiosk-other")
    other.checkin(person("他所 一"))
    tokenless = _upload(client, carried_file("kiosk-other", other.events))
    assert tokenless.status_code == 422 and "ファイルに端末のトークンが入っていません" in tokenless.get_data(as_text=True)
    assert hq_occupancy(client) == {"H001": 20000}


def _refusal(page) -> str:
    assert page.status_code == 422, page.get_data(as_text=True)
    return re.search(r'id="carried-error">(.*?)</p>', page.get_data(as_text=True), re.S).group(1)


def test_why_part_of_a_file_is_refused_is_said_in_the_pages_language(hq_app, hq_client, enroll):
    # HQ staff read Japanese: the reason follows the Japanese lead-in in Japanese, built from the refusal's
    # code and details (the merge and the command line keep their English).
    from tests.wire import KioskStream, person
    token = enroll("H001")
    k = KioskStream("kiosk-part")
    k.checkin(person("焼津 一", address="焼津市本町1"))
    k.checkin(person("焼津 二", address="焼津市本町2"))
    k.checkin(person("焼津 三", address="焼津市本町3"), shelter_id="Z999")     # a shelter HQ does not know
    client = _staff_client(hq_app, hq_client)
    said = _refusal(_upload(client, carried_file("kiosk-part", k.events, token)))
    assert said == ("取り込めませんでした / Not applied: 本部は端末の記録 3 番を受け付けません。本部が知らない避難所（Z999）が"
                    "書かれています。本部の避難所一覧は最新ですか。その前の新しい記録 2 件は取り込みました。"
                    "同じファイルをもう一度取り込んでも二重には数えません。")
    assert hq_occupancy(client) == {"H001": 2}        # the records before it went in
    # A record changed after HQ holds it: the record's number is in the sentence, nothing more applied.
    changed = json.loads(json.dumps(k.events[:2]))
    changed[1]["person"]["name"] = "焼津 弐"
    said = _refusal(_upload(client, carried_file("kiosk-part", changed, token)))
    assert "本部はファイルの 1〜2 件目の記録を受け付けません。記録 2 番が、本部にあるこの端末の記録 2 番と違います。" in said
    assert "このファイルからは何も取り込んでいません。" in said and not re.search(r"[A-Za-z]{4,}", said.split(":", 1)[1]
                                                                             .replace("evac kiosk new-device", ""))
    # A wrong token: the kiosk it names, in Japanese.
    kiosk_id = token.split(".")[0]
    said = _refusal(_upload(client, carried_file("kiosk-part", k.events, kiosk_id + ".wrong")))
    assert f"端末 {kiosk_id} のトークンが違います。確かめてもう一度入力してください。何も取り込んでいません。" in said
    # A record HQ cannot take: named by its number, HQ's reason without the batch's numbering.
    bad = KioskStream("kiosk-bad")
    bad.checkin(person("焼津 四", address="焼津市本町4"))
    bad.checkin(person("焼津 五", birth="1970-13-01", address="焼津市本町5"))
    said = _refusal(_upload(client, carried_file("kiosk-bad", bad.events, enroll("H001"))))
    assert "本部は端末の記録 2 番を受け付けません。この記録は本部で受け付けられない内容です（" in said
    assert "birth date is not a date in the form YYYY-MM-DD" in said and "1970-13-01" not in said and "of the batch" not in said and "その前の新しい記録 1 件は取り込みました。" in said
    # The page in English when English is chosen.
    client.get("/staff/carried?lang=en")
    said = _refusal(_upload(client, carried_file("kiosk-part", k.events, token)))
    assert said == ("取り込めませんでした / Not applied: HQ refuses record 3 of the kiosk. It names a shelter HQ does not "
                    "know (Z999): is HQ&#39;s shelter list up to date? Nothing of the file was applied. Applying the "
                    "file again is safe.")
    assert hq_occupancy(client) == {"H001": 3}


def test_a_refusal_with_no_sentence_of_its_own_keeps_hqs_english(hq_app):
    from hq_dashboard.carried_pages import refusal
    with hq_app.test_request_context("/staff/carried"):
        assert refusal(CarriedRefused("HQ refuses records 1–5 of the file: something new; nothing of the file was "
                                      "applied", code="some_future_code", first=1, last=5)) == (
            "HQ refuses records 1–5 of the file: something new; nothing of the file was applied")
        assert refusal(CarriedRefused("the file holds no kiosk token", code="no_token")).startswith(
            "ファイルに端末のトークンが入っていません")


def test_a_staff_form_sent_without_its_token_is_refused_in_words(hq_app, hq_client):
    client = _staff_client(hq_app, hq_client)
    said = _refusal(_upload(client, b"{}", csrf=False))
    assert "何も保存されていません" in said and "CSRF" not in said


def test_a_file_sent_while_another_is_applied_waits_its_turn_then_is_told(hq_app, hq_client, enroll):
    """One file at a time (each takes hundreds of MB while read): one sent meanwhile waits, and past
    CARRIED_WAIT_SECONDS is told to send it again, with nothing of it applied."""
    from hq_dashboard import carried_pages
    from tests.wire import KioskStream, person
    token = enroll("H001")
    k = KioskStream("kiosk-busy")
    k.checkin(person("順番 待子"))
    data = carried_file("kiosk-busy", k.events, token)
    client = _staff_client(hq_app, hq_client)
    hq_app.config["CARRIED_WAIT_SECONDS"] = 0.2
    assert carried_pages._ONE_FILE.acquire(timeout=5)   # another desk's file being applied
    try:
        busy = _upload(client, data)
    finally:
        carried_pages._ONE_FILE.release()
    assert busy.status_code == 503 and "別のファイルを取り込んでいます" in busy.get_data(as_text=True)
    assert hq_occupancy(client) == {}
    assert _upload(client, data).status_code == 200 and hq_occupancy(client) == {"H001": 1}
