"""Who did what: every record the kiosk writes for a logged-in staff member is attributed to them, in
the same transaction and kiosk-locally (the records HQ receives are unchanged); the lead's page and a
person's page show it.  Real kiosk database files and the Flask test client throughout."""
from __future__ import annotations

import dataclasses
import json
import re
import sqlite3

import pytest

from evac.events import CHECKIN, InvalidEvent, canonical_json, parse_event
from evac.identity import person_key
from kiosk import staff_store
from kiosk.store import CLI, TABLET, KioskStore, acting_as, acting_staff
from tests.conftest import run_evac
from tests.staff_helpers import HANAKO, ICHIRO, SHELTER, TARO, app, db, logged_in, post  # noqa: F401 (fixtures)


def key(p) -> str:
    return person_key(p.name, p.birth_date, p.address)


@pytest.fixture
def store(db, app):
    s = KioskStore(db)
    yield s
    s.close()


def attribution(store: KioskStore, since: int = 0) -> list[tuple[int, str, str, str | None]]:
    """(seq, type, person name, staff) of every record after `since`, staff None when not attributed."""
    return [(seq, body["type"], (body.get("person") or {}).get("name"), staff) for seq, body, staff in (
        (s, json.loads(b), st) for s, b, st in store.db.execute(
            "SELECT e.seq, e.body, s.staff FROM events e LEFT JOIN event_staff s ON s.seq = e.seq"
            " WHERE e.seq > ? ORDER BY e.seq", (since,)))]


def staff_of(store: KioskStore, since: int) -> set[str | None]:
    return {staff for *_, staff in attribution(store, since)}


def draft(p, kind=CHECKIN):
    return {"type": kind, "shelter_id": SHELTER, "person": p.to_wire(), "household_id": "",
            "data": {"stay_type": "in_shelter"}}


# -- the write: one transaction with the records ----------------------------------

def test_a_failed_append_writes_neither_records_nor_attribution(store):
    with acting_as("sato"):
        store.append([draft(TARO)])
        bad = {**draft(HANAKO), "data": {"stay_type": "on the moon"}}
        with pytest.raises(InvalidEvent):
            store.append([draft(ICHIRO), bad])   # the first one was written in the transaction, then undone
    assert attribution(store) == [(1, "checkin", TARO.name, "sato")]
    assert store.db.execute("SELECT seq FROM event_person").fetchall() == [(1,)]


def test_an_attribution_the_disk_refuses_takes_the_record_with_it(store):
    """The attribution row fails (as a full disk would fail it): the record is not written either."""
    store.db.execute("CREATE TRIGGER refuse BEFORE INSERT ON event_staff BEGIN SELECT RAISE(ABORT, 'no room'); END")
    with acting_as("sato"), pytest.raises(sqlite3.IntegrityError, match="no room"):
        store.check_in(SHELTER, [TARO])
    assert store.last_seq == 0 and store.find(TARO.name, TARO.birth_date, TARO.address) is None
    store.db.execute("DROP TRIGGER refuse")
    store.check_in(SHELTER, [TARO])   # the screen's: no attribution row, so nothing to refuse
    assert attribution(store) == [(1, "checkin", TARO.name, None)]


def test_the_records_hq_receives_are_unchanged_by_attribution(store):
    with acting_as("tanaka"):
        (ev,) = store.check_in(SHELTER, [TARO])
    body = store.db.execute("SELECT body FROM events WHERE seq = ?", (ev.seq,)).fetchone()[0]
    assert "tanaka" not in body and body == canonical_json(parse_event(json.loads(body)).to_wire())
    assert store.outbox(10) == [json.loads(body)]


# -- each staff action, by the one who did it -------------------------------------------

CARD = {"name": TARO.name, "name_kana": TARO.name_kana, "birth_date": TARO.birth_date, "sex": "male",
        "address": TARO.address, "stay_type": "in_shelter", "needs": ["dialysis"], "contact_phone": "",
        "household_members": "", "home_damage": "unknown", "consent": "none", "family_code": ""}


def test_each_tablet_action_is_attributed_to_the_staff_member_who_did_it(app, store):
    sato, tanaka = logged_in(app, "sato"), logged_in(app, "tanaka")
    url = f"/staff/person/{key(TARO)}"

    def did(client, path, data, page=url, *, expect=302) -> set:
        seq = store.last_seq
        resp = post(client, path, data, page)
        assert resp.status_code == expect, resp.text
        assert store.last_seq > seq, f"{path} wrote nothing"
        return staff_of(store, seq)

    assert did(sato, "/staff/register", CARD, "/staff/register") == {"sato"}, "a paper 避難者カード"
    assert did(tanaka, url + "/never-disclose", {"never_disclose": "y"}) == {"tanaka"}, "never-disclose (DV)"
    assert did(sato, url + "/add-member", {"member-name": HANAKO.name, "member-birth_date": HANAKO.birth_date,
                                           "member-sex": "female"}) == {"sato"}
    row = staff_store.person(store, key(TARO))
    fixed = {**CARD, "name": "焼津 太朗", "needs": ["dialysis"], "consent": row.profile.consent,
             "drawn_from": row.version}
    assert did(tanaka, url, fixed) == {"tanaka"}, "an identity corrected"
    url = f"/staff/person/{person_key('焼津 太朗', TARO.birth_date, TARO.address)}"
    assert did(sato, url + "/checkout", {"confirm": "yes"}, url) == {"sato"}
    assert did(tanaka, url + "/checkin", {"stay_type": "in_car"}, url) == {"tanaka"}, "checked in again"
    assert did(sato, url + "/transfer", {"to_shelter": "H002"}, url) == {"sato"}
    assert did(tanaka, "/staff/shelter-status", {"status": "full"}, "/staff/summary") == {"tanaka"}
    assert store.db.execute("SELECT DISTINCT via FROM event_staff").fetchall() == [(TABLET,)]
    # Every record written so far was one of theirs: none left out, none by the wrong name.
    assert None not in staff_of(store, 0)


def test_the_screens_records_are_not_attributed_even_after_a_staff_request(app, store):
    """The evacuee screen's check-in (its JSON API), on the same thread right after a staff request:
    the staff member's name does not carry over to it."""
    sato = logged_in(app, "sato")
    assert post(sato, "/staff/register", CARD, "/staff/register").status_code == 302
    seq = store.last_seq
    resp = app.test_client().post("/api/checkin", json={"persons": [ICHIRO.to_wire()]})
    assert resp.status_code == 201
    assert staff_of(store, seq) == {None}
    assert acting_staff.get() is None
    # Nor does a staff page that only reads, or a log-in, leave a name behind.
    sato.get("/staff/")
    seq = store.last_seq
    store.check_in(SHELTER, [HANAKO])
    assert staff_of(store, seq) == {None}


def test_the_command_line_says_who_typed_it_in(db, store):
    done = run_evac("kiosk", "checkin", "--db", str(db), "--shelter", SHELTER, "--name", TARO.name,
                    "--birth", TARO.birth_date, "--sex", "male", "--address", TARO.address, "--by", "山田 花")
    assert done.returncode == 0, done.stderr
    done = run_evac("kiosk", "checkout", "--db", str(db), "--name", TARO.name, "--birth", TARO.birth_date,
                    "--address", TARO.address)
    assert done.returncode == 0, done.stderr
    assert store.db.execute("SELECT seq, staff, via FROM event_staff ORDER BY seq").fetchall() == [
        (1, "山田 花", CLI), (2, "", CLI)]


# -- new_device renumbers the log: the attribution follows -----------------------------

def test_attribution_survives_new_device(db, store):
    with acting_as("sato"):
        store.check_in(SHELTER, [TARO])
    store.check_in(SHELTER, [HANAKO])           # the screen
    with acting_as("tanaka"):
        store.transfer(TARO.name, TARO.birth_date, TARO.address, "H002")
    before = [(t, n, s) for _, t, n, s in attribution(store)]
    # A log that does not start at 1 (new_device's case: numbers HQ already holds): move it up by 100.
    for table, column in (("events", "seq"), ("event_staff", "seq"), ("event_person", "seq"), ("roster", "last_seq")):
        store.db.execute(f"UPDATE {table} SET {column} = {column} + 100")
    device = store.new_device()
    after = attribution(store)
    assert [seq for seq, *_ in after] == [1, 2, 3]
    assert [(t, n, s) for _, t, n, s in after] == before
    assert all(json.loads(b)["kiosk_id"] == device for (b,) in store.db.execute("SELECT body FROM events"))
    assert [r.staff for r in store.person_records(key(TARO))] == ["tanaka", "sato"]


def test_a_database_from_before_learns_whom_its_records_are_about_and_says_who_is_unknown(db, store, app):
    store.check_in(SHELTER, [TARO])
    row = staff_store.person(store, key(TARO))
    staff_store.correct(store, SHELTER, row, dataclasses.replace(TARO, birth_date="1950-01-03"),
                        stay_type="in_shelter", needs=[], contact_phone="", home_damage="unknown",
                        household_members=None, consent="none", family_code="")
    written = store.last_seq
    for table in ("event_staff", "event_person"):
        store.db.execute(f"DROP TABLE {table}")
    store.close()
    old = KioskStore(db)   # opened as after the upgrade
    try:
        assert old.staff_recorded_from() == written + 1
        new_key = person_key(TARO.name, "1950-01-03", TARO.address)
        history = old.person_records(new_key)
        assert [r.seq for r in history] == list(range(written, 0, -1)), "under the old identity too"
        assert not any(r.recorded or r.self_service for r in history)
        with acting_as("sato"):
            old.set_stay_type(TARO.name, "1950-01-03", TARO.address, "in_car")
        page = logged_in(app, "tanaka").get(f"/staff/person/{new_key}").text
        assert page.count("記録なし（この端末が書いた人を記録する前の記録）") == written
        assert re.search(rf'<tr id="hist-{written + 1}">.*<td class="by">sato</td>', page)
        who = logged_in(app, "tanaka").get("/staff/who").text
        assert f"最初の{written}件の記録は、書いた人が記録されていません" in who
    finally:
        old.close()


# -- the lead's page ---------------------------------------------------------------

def test_only_the_lead_sees_who_did_what(app, store):
    sato = logged_in(app, "sato")
    resp = sato.get("/staff/who")
    assert resp.status_code == 403
    assert "誰が何をしたかを見られるのは避難所責任者だけです。当番の避難所責任者に頼んでください。" in resp.text
    assert 'id="who-link"' not in sato.get("/staff/summary").text
    lead = logged_in(app, "tanaka")
    summary = lead.get("/staff/summary").text
    assert re.search(r'<a href="/staff/who" id="who-link">', summary)
    assert lead.get("/staff/who").status_code == 200


def rows_of(page: str) -> list[tuple[int, str, str]]:
    """(seq, written by, about) of each row of the who-did-what table."""
    return [(int(seq), by, re.sub(r"<[^>]+>", "", about)) for seq, by, about in re.findall(
        r'<tr id="rec-(\d+)"><td>[^<]*</td><td class="by">([^<]*)</td><td>[^<]*</td>\s*<td>(.*?)</td>', page)]


def test_who_did_what_newest_first_filtered_by_staff_and_the_screen(app, store):
    with acting_as("sato"):
        store.check_in(SHELTER, [TARO])
    store.check_in(SHELTER, [HANAKO])
    with acting_as("tanaka"):
        store.check_in(SHELTER, [ICHIRO])
        staff_store.set_shelter_status(store, SHELTER, "full")
    lead = logged_in(app, "tanaka")
    page = lead.get("/staff/who").text
    assert rows_of(page) == [(4, "tanaka", "—"), (3, "tanaka", ICHIRO.name), (1, "sato", TARO.name)]
    assert f'<a href="/staff/person/{key(ICHIRO)}">{ICHIRO.name}</a>' in page
    assert "満員" in page, "the status set, in the tablet's words"
    assert re.search(r'<tr id="rec-1"><td>\d{4}-\d\d-\d\d \d\d:\d\d JST</td>', page), "the time in JST"
    assert rows_of(lead.get("/staff/who?staff=sato").text) == [(1, "sato", TARO.name)]
    assert [s for s, *_ in rows_of(lead.get("/staff/who?staff=tanaka").text)] == [4, 3]
    nobody = lead.get("/staff/who?staff=nobody").text
    assert rows_of(nobody) == [] and '<option value="nobody" selected>' in nobody
    assert rows_of(lead.get("/staff/who?by=screen").text) == [(2, "受付画面（避難者本人）", HANAKO.name)]
    options = re.findall(r'<option value="([^"]+)"', page)
    assert options == ["sato", "tanaka"]


def test_who_did_what_is_a_page_at_a_time(app, store):
    people = [TARO.__class__(f"焼津 {i}郎", "1980-01-01", "male", f"焼津市本町{i}") for i in range(60)]
    with acting_as("sato"):
        store.check_in(SHELTER, people[:30])
    store.check_in(SHELTER, people[30:35])      # the screen's, in between
    with acting_as("sato"):
        store.check_in(SHELTER, people[35:])
    lead = logged_in(app, "tanaka")
    first = lead.get("/staff/who?staff=sato").text
    assert [s for s, *_ in rows_of(first)] == list(range(60, 35, -1)) + list(range(30, 5, -1))
    older = re.search(r'<a href="([^"]+)" id="who-older">', first).group(1).replace("&amp;", "&")
    assert "staff=sato" in older and "before=6" in older
    second = lead.get(older).text
    assert [s for s, *_ in rows_of(second)] == [5, 4, 3, 2, 1]
    assert 'id="who-older"' not in second and 'id="who-newest"' in second
    assert lead.get("/staff/who?before=x").status_code == 200, "a bad page number is the first page"
    assert lead.get("/staff/who?before=99999999999999999999999").status_code == 200, "beyond SQLite's integers too"


def test_the_queries_use_their_indexes(store):
    """Tens of thousands of records: the lead's filter and a person's page read an index, not the log."""
    def plan(sql, args):
        return " ".join(r[-1] for r in store.db.execute("EXPLAIN QUERY PLAN " + sql, args))
    assert "event_staff_by_name" in plan(
        "SELECT seq, staff, via FROM event_staff WHERE staff = ? AND seq < ? ORDER BY seq DESC LIMIT ?", ("x", 9, 50))
    assert "event_person_by_key" in plan(
        "SELECT p.seq, s.staff, s.via FROM event_person p LEFT JOIN event_staff s ON s.seq = p.seq"
        " WHERE p.person_key IN (?, ?) ORDER BY p.seq DESC LIMIT ?", ("a", "b", 20))
    assert "SCAN" not in plan("SELECT seq, body FROM written_events WHERE seq IN (?, ?)", (1, 2))


# -- a person's page ---------------------------------------------------------------

def test_a_persons_page_shows_their_records_and_who_wrote_each(app, store):
    sato, tanaka = logged_in(app, "sato"), logged_in(app, "tanaka")
    assert post(sato, "/staff/register", CARD, "/staff/register").status_code == 302
    url = f"/staff/person/{key(TARO)}"
    assert post(tanaka, url + "/never-disclose", {"never_disclose": "y"}, url).status_code == 302
    assert post(sato, url + "/checkout", {"confirm": "yes"}, url).status_code == 302
    assert app.test_client().post("/api/checkin", json={"persons": [TARO.to_wire()]}).status_code == 201
    store.check_in(SHELTER, [ICHIRO])   # someone else: not on Taro's page
    page = sato.get(url).text            # a staff member (not only the lead) sees it
    history = re.search(r'<section id="history">(.*?)</section>', page, re.S).group(1)
    rows = re.findall(r'<tr id="hist-(\d+)"><td>[^<]*</td><td>([^<]*)</td><td>([^<]*)</td><td class="by">([^<]*)</td>',
                      history)
    by = [(what, who) for _seq, what, _detail, who in rows]
    assert by[:2] == [("受付（入所）", "受付画面（避難者本人）"), ("退所", "sato")]
    assert ("家族からの問い合わせへの同意", "tanaka") in by
    never = next(detail for _s, what, detail, who in rows if who == "tanaka")
    assert "非開示" in never, "the protection set, and by whom"
    assert by[-1] == ("受付（入所）", "sato") and ICHIRO.name not in history
    assert [int(s) for s, *_ in rows] == sorted((int(s) for s, *_ in rows), reverse=True)


def test_a_withdrawn_record_keeps_its_writer_and_says_who_withdrew_it(app, store):
    with acting_as("sato"):
        (ev,) = store.check_in(SHELTER, [TARO])
    store.note_refusal(ev.seq, "event 1 of the batch: a rule HQ has")
    lead = logged_in(app, "tanaka")
    form = lead.get("/staff/summary")
    assert 'id="withdraw-form"' in form.text
    assert post(lead, f"/staff/sync/withdraw/{ev.seq}", {"reason": "a rule HQ has", "confirm": "y"},
                "/staff/summary").status_code == 302
    assert json.loads(store.db.execute("SELECT body FROM events").fetchone()[0])["type"] == "withdrawn"
    page = lead.get("/staff/who").text
    row = re.search(rf'<tr id="rec-{ev.seq}">.*?</tr>', page, re.S).group(0)
    assert '<td class="by">sato</td>' in row and "受付（入所）" in row, "the original, by whoever wrote it"
    assert "（tanakaが取り下げ。本部にはありません）" in row
