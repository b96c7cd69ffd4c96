"""The shelter on the staff tablet: headcount and needs, open/full/closed, the sync panel, and the
避難者名簿 as CSV and as a printable page."""
import csv
import io
import json
import re
import urllib.request

import pytest

from evac.disclosure import identity_forms, protection_digests
from evac.events import Person
from kiosk import staff_store
from kiosk.store import KioskStore
from tests.conftest import Server, evac_cmd, free_port, run_evac
from tests.staff_helpers import HANAKO, ICHIRO, SHELTER, TARO, errors, logged_in, make_app, post, snapshot, wait_for
from tests.staff_helpers import app, db  # noqa: F401 (fixtures)


@pytest.fixture
def store(db, app):
    s = KioskStore(db)
    s.check_in(SHELTER, [TARO, HANAKO])
    s.check_in(SHELTER, [ICHIRO], stay_type="in_car")
    s.set_needs(SHELTER, HANAKO.name, HANAKO.birth_date, HANAKO.address, ["infant"])
    s.set_needs(SHELTER, TARO.name, TARO.birth_date, TARO.address, ["dialysis", "pets"])
    s.set_needs(SHELTER, ICHIRO.name, ICHIRO.birth_date, ICHIRO.address, ["pets"])
    yield s
    s.close()


def cell(page: str, ident: str) -> str:
    return re.search(rf'id="{ident}">([^<]*)<', page).group(1)


def test_headcount_and_needs(app, store):
    store.check_in("H002", [Person("他所 さん", "1990-01-01", "other")])
    page = logged_in(app).get("/staff/summary").text
    assert "入所者 3人" in page
    assert (cell(page, "stay-in_shelter"), cell(page, "stay-at_home"), cell(page, "stay-in_car")) == ("2", "0", "1")
    assert (cell(page, "need-infant"), cell(page, "need-dialysis"), cell(page, "need-pets")) == ("1", "1", "2")
    assert cell(page, "need-elderly") == "0" and cell(page, "never-count") == "0"


def test_set_the_shelter_status(app, store):
    client = logged_in(app)
    assert cell(client.get("/staff/summary").text, "shelter-status") == "この端末では未設定"
    resp = post(client, "/staff/shelter-status", {"status": "full"}, "/staff/summary")
    assert resp.status_code == 302
    last = json.loads(store.db.execute("SELECT body FROM events ORDER BY seq DESC LIMIT 1").fetchone()[0])
    assert (last["type"], last["shelter_id"], last["data"]) == ("shelter_status", SHELTER, {"status": "full"})
    assert "person" not in last
    page = client.get("/staff/summary").text
    assert cell(page, "shelter-status") == "満員" and "避難所の状態を「満員」にしました" in page


def test_a_bad_shelter_status_saves_nothing(app, store, db):
    client = logged_in(app)
    before = snapshot(db)
    resp = post(client, "/staff/shelter-status", {"status": "exploded"}, "/staff/summary")
    assert resp.status_code == 422 and errors(resp.text, "status") == ["選択肢から選んでください。"]
    assert snapshot(db) == before


def test_sync_panel_without_hq(app, store):
    page = logged_in(app).get("/staff/summary").text
    assert cell(page, "sync-pending") == str(store.last_seq)
    assert cell(page, "sync-last") == "まだありません"
    assert cell(page, "sync-hq") == "この端末には設定されていません"
    assert cell(page, "sync-clock") == "まだ本部と比べていません" and 'id="clock-off"' not in page


def test_sync_panel_warns_of_a_clock_off_hq_and_of_records_dated_ahead(app, store):
    """A kiosk clock 10 minutes ahead of HQ's at the last sync, and records stamped 30 minutes ahead of
    that clock (it ran fast and was set back): staff are told both, and what to do.  The kiosk now keeps
    time by HQ's clock, so the records are 40 minutes ahead of the time it dates by."""
    import datetime as dt
    from evac.hlc import pack, wall_clock_ms, wall_ms
    store.note_clock_offset(dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=10))
    store.receive_hlc(pack(wall_clock_ms() + 30 * 60_000))
    assert store.clock_check()[0] in (599, 600, 601)
    page = logged_in(app).get("/staff/summary").text
    assert cell(page, "sync-clock") == "本部の時計より 10 分 進んでいます"
    assert "この端末の時計を合わせてください（本部より 10 分 進んでいます）" in cell(page, "clock-off")
    assert "この端末の記録は正しい時刻より 40 分 先の時刻になっています" in cell(page, "events-ahead")
    assert store.now_ms() < wall_clock_ms() - 9 * 60_000    # the kiosk keeps time by HQ's clock…
    # …but its records already dated ahead hold the next one after them: the tablet must not say that new
    # records are dated by HQ's clock, and says until when they are not.
    assert "本部の時刻で日時を付けます" not in page
    assert "その時刻を過ぎるまで、新しい記録もそれより後の時刻になります" in cell(page, "events-ahead")
    (checkin,) = store.check_in("H001", [TARO])
    assert wall_ms(checkin.hlc) > wall_clock_ms() + 29 * 60_000


def test_sync_panel_says_a_fast_clock_is_overridden_when_no_record_is_dated_ahead(app, store, monkeypatch):
    """The clock was set 20 minutes fast after the records were written: HQ's clock dates the next ones."""
    import datetime as dt
    import time
    real_ns = time.time_ns
    monkeypatch.setattr(time, "time_ns", lambda: real_ns() + 20 * 60 * 10**9)
    store.note_clock_offset(dt.datetime.now(dt.timezone.utc))   # HQ's right time (datetime is not patched)
    page = logged_in(app).get("/staff/summary").text
    assert "それまでの間、この端末は新しい記録に最後の同期で得た本部の時刻で日時を付けます" in cell(page, "clock-off")
    assert 'id="events-ahead"' not in page


def test_sync_panel_says_when_hq_is_unreachable(db, store):
    app = make_app(db, HQ_URL=f"http://127.0.0.1:{free_port()}", HQ_TOKEN="t", SYNC_INTERVAL=0.2)
    syncer = app.extensions["kiosk_sync"]
    try:
        wait_for(lambda: syncer.last_error is not None, "the first failed sync round")
        page = logged_in(app).get("/staff/summary").text
    finally:
        syncer.stop()
    assert cell(page, "sync-hq").startswith("接続できません: 本部に接続できません（")
    assert "記録は失われません" in cell(page, "sync-hq")
    assert cell(page, "sync-pending") == str(store.last_seq) != "0"
    # Why, in the page's language (a closed port: the system said "[Errno 111] Connection refused"),
    # on the tablet and on the kiosk's own /status page alike.
    said = "接続を拒否されました。本部のプログラムが止まっているか、アドレスのポート番号がちがいます"
    assert said in cell(page, "sync-hq") and "Errno" not in page
    status = app.test_client().get("/status").text
    assert said in status and "Errno" not in status


@pytest.mark.slow
def test_a_sync_run_by_hand_while_the_app_cannot_reach_hq_clears_the_unreachable_words(db, store, hq_server):
    """Review: after `evac kiosk sync` run by hand got everything to HQ, the tablet and /api/status still said
    "HQ cannot be reached, N records stay queued" beside 0 waiting, until the app's own next round."""
    hq = hq_server()
    token = run_evac("hq", "enroll-kiosk", "--db", hq.db_url, "--shelter", SHELTER).stdout.strip()
    app = make_app(db, HQ_URL=f"http://127.0.0.1:{free_port()}", HQ_TOKEN="t", SYNC_INTERVAL=0.2)
    syncer = app.extensions["kiosk_sync"]
    try:
        wait_for(lambda: syncer.last_error is not None, "the first failed sync round")
    finally:
        syncer.stop()   # (its next round would fail again: this test's app has no HQ at its address)
    syncer.join(10)
    assert app.test_client().get("/api/status").get_json()["hq_reachable"] is False
    by_hand = run_evac("kiosk", "sync", "--db", str(db), "--hq", hq.url, "--token", token)
    assert by_hand.returncode == 0, by_hand.stderr
    status = app.test_client().get("/api/status").get_json()
    page = logged_in(app).get("/staff/summary").text
    assert status["pending_events"] == 0 and status["sync_error"] is None and status["hq_reachable"] is True
    assert cell(page, "sync-hq") == "接続できます" and cell(page, "sync-pending") == "0"


@pytest.mark.slow
def test_sync_panel_after_a_sync_with_a_real_hq(db, store, hq_server):
    # What the tablet writes goes to HQ with everything else; HQ parses it with the same event model.
    row = staff_store.person(store, staff_store.person_key(TARO.name, TARO.birth_date, TARO.address))
    staff_store.correct(store, SHELTER, row, TARO, stay_type="in_shelter", needs=["dialysis"],
                        contact_phone="054-626-1111", home_damage="half", household_members=2,
                        consent="family", family_code="sakura7")
    staff_store.set_never_disclose(store, SHELTER, staff_store.person(store, row.key), True)
    staff_store.set_shelter_status(store, SHELTER, "full")
    hq = hq_server()
    token = run_evac("hq", "enroll-kiosk", "--db", hq.db_url, "--shelter", SHELTER).stdout.strip()
    app = make_app(db, HQ_URL=hq.url, HQ_TOKEN=token, SYNC_INTERVAL=0.2)
    syncer = app.extensions["kiosk_sync"]
    try:
        wait_for(lambda: KioskStore(db).last_sync_at() is not None and syncer.last_error is None, "a sync with HQ")
        page = logged_in(app).get("/staff/summary").text
    finally:
        syncer.stop()
    assert cell(page, "sync-hq") == "接続できます"
    assert cell(page, "sync-pending") == "0"
    assert cell(page, "sync-clock") == "本部と合っています"  # HQ's Date header, on the same machine
    assert 'id="enrolled-elsewhere"' not in page
    import sqlite3
    with sqlite3.connect(hq.db_url.removeprefix("sqlite:///")) as hq_db:
        types = dict(hq_db.execute("SELECT type, count(*) FROM events GROUP BY type").fetchall())
    assert types["consent"] == 2 and types["details"] == 1 and types["shelter_status"] == 1
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d JST", cell(page, "sync-last")), "the shelter's time, labelled"


@pytest.mark.slow
def test_a_kiosk_enrolled_at_another_shelter_says_so_and_goes_on_checking_in(db, store, hq_server, tmp_path):
    # A slip in `--shelter` (or a kiosk carried to another shelter): HQ counts people where the kiosk
    # says, so the tablet and the kiosk's start both name the two shelters; nobody is refused.
    hq = hq_server()
    token = run_evac("hq", "enroll-kiosk", "--db", hq.db_url, "--shelter", "H002").stdout.strip()
    app = make_app(db, HQ_URL=hq.url, HQ_TOKEN=token, SYNC_INTERVAL=0.2)
    syncer = app.extensions["kiosk_sync"]
    try:
        wait_for(lambda: KioskStore(db).enrolled_shelter() == "H002" and KioskStore(db).pending() == 0,
                 "a sync with HQ")
        page = logged_in(app).get("/staff/summary").text
    finally:
        syncer.stop()
    warning = re.search(r'id="enrolled-elsewhere">([^<]*)<', page).group(1)
    names = dict(store.db.execute("SELECT id, name FROM shelters WHERE id IN ('H001', 'H002')").fetchall())
    assert f"H002 {names['H002']}" in warning and f"H001 {names['H001']}" in warning
    assert "本部はこの端末が記録した避難所で人数を数えます" in warning
    shelters = {f["properties"]["id"]: f["properties"]["occupancy"]
                for f in json.loads(urllib.request.urlopen(hq.url + "/api/v1/shelters").read())["features"]}
    assert shelters["H001"] == 2 and shelters["H002"] == 0   # counted where they are (Ichiro is in his car)
    # And the kiosk's start says it in one line on the operator's terminal.
    port = free_port()
    kiosk = Server(evac_cmd("kiosk", "serve", "--db", str(db), "--shelter", SHELTER, "--port", str(port)),
                   f"http://127.0.0.1:{port}", tmp_path / "kiosk.log", "/api/status")
    kiosk.stop()
    assert ("warning: HQ enrolled this kiosk at H002, but --shelter is H001: HQ will count the people checked "
            "in here at H001 (if that is a slip, restart with --shelter H002)") in kiosk.log_path.read_text()


# -- the 避難者名簿 ------------------------------------------------------------------

def test_roster_csv_opens_in_excel_and_says_everything(app, store):
    row = staff_store.person(store, staff_store.person_key(TARO.name, TARO.birth_date, TARO.address))
    staff_store.correct(store, SHELTER, row, TARO, stay_type="in_shelter", needs=["dialysis", "pets"],
                        contact_phone="054-626-1111", home_damage="total", household_members=3,
                        consent="family", family_code="sakura7")
    staff_store.set_never_disclose(store, SHELTER, staff_store.person(store, row.key), True)
    store.check_in("H002", [Person("他所 さん", "1990-01-01", "other")])
    resp = logged_in(app, "tanaka").get("/staff/roster.csv")   # the lead's: never-disclose people marked
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert re.match(r'attachment; filename="roster-H001-\d{8}-\d{4}\.csv"', resp.headers["Content-Disposition"])
    assert resp.data.startswith(b"\xef\xbb\xbf"), "UTF-8 with BOM for Excel"
    rows = list(csv.reader(io.StringIO(resp.data.decode("utf-8-sig"))))
    assert rows[0] == ["氏名", "ふりがな", "生年月日", "性別", "住所", "世帯", "滞在場所", "要配慮", "連絡先電話番号",
                       "住家の被害", "世帯人数", "安否の問い合わせへの回答", "非開示"]
    assert len(rows) == 4 and resp.data.count(b"\r\n") == 4
    by_name = {r[0]: r for r in rows[1:]}
    assert set(by_name) == {TARO.name, HANAKO.name, ICHIRO.name}
    assert by_name[TARO.name] == [TARO.name, TARO.name_kana, "1950-01-02", "男", "焼津市本町1-1",
                                  by_name[HANAKO.name][5], "避難所内", "人工透析・ペット", "054-626-1111", "全壊", "3",
                                  "合言葉を伝えた家族", "非開示"]
    assert by_name[ICHIRO.name][6:8] == ["車中泊", "ペット"] and by_name[ICHIRO.name][12] == ""
    assert "sakura7" not in resp.data.decode(), "the family code is a secret and stays off paper"


# -- 災対法 §86-15: what leaves the tablet leaves protected people out, unless a lead takes it --------

def protect_taro(store):
    """TARO under never-disclose, with his contact phone on record; HANAKO is of his household."""
    row = staff_store.person(store, staff_store.person_key(TARO.name, TARO.birth_date, TARO.address))
    staff_store.correct(store, SHELTER, row, TARO, stay_type="in_shelter", needs=["dialysis", "pets"],
                        contact_phone="054-626-1111", home_damage="total", household_members=2,
                        consent="none", family_code="")
    staff_store.set_never_disclose(store, SHELTER, staff_store.person(store, row.key), True)


def csv_rows(resp) -> list[list[str]]:
    return list(csv.reader(io.StringIO(resp.data.decode("utf-8-sig"))))


def test_a_staff_members_roster_csv_leaves_out_protected_people_and_their_household_a_leads_keeps_them(app, store):
    protect_taro(store)
    resp = logged_in(app).get("/staff/roster.csv")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert re.match(r'attachment; filename="roster-H001-\d{8}-\d{4}-without-protected\.csv"',
                    resp.headers["Content-Disposition"]), "the file's name says protected people are not in it"
    rows = csv_rows(resp)
    assert rows[0][0] == "氏名" and [r[0] for r in rows[1:]] == [ICHIRO.name], "a plain CSV, header and rows"
    text = resp.data.decode("utf-8-sig")
    assert TARO.address not in text and "054-626-1111" not in text and rows[1][12] == ""
    # The lead's keeps them, marked never-disclose as before.
    resp = logged_in(app, "tanaka").get("/staff/roster.csv")
    assert "without-protected" not in resp.headers["Content-Disposition"]
    by_name = {r[0]: r for r in csv_rows(resp)[1:]}
    assert set(by_name) == {TARO.name, HANAKO.name, ICHIRO.name}
    assert by_name[TARO.name][8] == "054-626-1111" and by_name[TARO.name][12] == "非開示"
    # His household is marked too: whoever the lead hands the list to must keep them out of answers.
    assert by_name[HANAKO.name][12] == "非開示" and by_name[ICHIRO.name][12] == ""


def test_a_staff_members_print_leaves_out_protected_people_and_says_so(app, store):
    protect_taro(store)
    page = logged_in(app).get("/staff/roster/print").text
    table = page.split("<table", 1)[1]
    assert ICHIRO.name in table and TARO.name not in table and HANAKO.name not in table
    assert TARO.address not in page and "054-626-1111" not in page
    assert "保護対象（非開示）の方とその世帯の方は、この名簿に載っていません（責任者の出力には載ります）。" in page
    # How many only on the screen: on a posted list a number tells a stalker someone protected is here.
    assert re.search(r'<p class="noprint" id="left-out">[^<]*：2名</p>', page)
    assert "1人" in page, "the count of people on the list is of those on it"


def test_a_staff_members_print_says_so_when_nobody_is_protected_too(app, store):
    page = logged_in(app).get("/staff/roster/print").text
    assert all(p.name in page for p in (TARO, HANAKO, ICHIRO))
    assert "この名簿に載っていません" in page, "the same words on every staff print: they tell nobody anything"


def test_a_leads_print_keeps_protected_people_and_warns_against_posting_it(app, store):
    protect_taro(store)
    page = logged_in(app, "tanaka").get("/staff/roster/print").text
    assert all(p.name in page.split("<table", 1)[1] for p in (TARO, HANAKO, ICHIRO)) and "054-626-1111" in page
    assert "掲示したり、人に渡したりしないでください" in page and 'id="left-out"' not in page


def test_someone_hq_protects_is_left_out_of_a_staff_members_exports(app, store):
    """Never-disclose set at another shelter reaches this kiosk as HQ's digests (KioskStore.is_protected)."""
    key = bytes(range(32))
    store.apply_config({"shelters": [{"id": s, "name": n, "kind": k} for s, n, k in store.shelter_list()],
                        "ic_token_key": key.hex(),
                        "protected": sorted(protection_digests(key, identity_forms(ICHIRO.name, "",
                                                                                   ICHIRO.birth_date)))})
    client = logged_in(app)
    assert {r[0] for r in csv_rows(client.get("/staff/roster.csv"))[1:]} == {TARO.name, HANAKO.name}
    assert ICHIRO.name not in client.get("/staff/roster/print").text
    assert ICHIRO.name in logged_in(app, "tanaka").get("/staff/roster/print").text


def test_the_export_links_tell_staff_protected_people_are_left_out(app, store):
    nav = logged_in(app).get("/staff/").text
    assert ">名簿CSV（保護対象の方を除く）<" in nav and ">名簿を印刷（保護対象の方を除く）<" in nav
    lead_nav = logged_in(app, "tanaka").get("/staff/").text
    assert ">名簿CSV<" in lead_nav and "保護対象の方を除く" not in lead_nav


def test_roster_csv_in_english(app, store):
    client = logged_in(app)
    client.get("/staff/lang/en")
    rows = list(csv.reader(io.StringIO(client.get("/staff/roster.csv").data.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Name", "Name in kana", "Date of birth"]
    assert {r[6] for r in rows[1:]} == {"In the shelter", "In a car"}


def test_roster_csv_cells_are_never_formulas(app, store):
    store.check_in(SHELTER, [Person('=HYPERLINK("http://evil.example","x")', "1990-01-01", "other",
                                    "+81 焼津", "@カナ")])
    text = logged_in(app).get("/staff/roster.csv").data.decode("utf-8-sig")
    row = next(r for r in csv.reader(io.StringIO(text)) if "HYPERLINK" in r[0])
    assert row[0].startswith("'=") and row[1] == "'@カナ" and row[4] == "'+81 焼津"


def test_printable_roster(app, store):
    page = logged_in(app).get("/staff/roster/print").text
    assert "<h1>避難者名簿 — " in page and "3人" in page and "取扱注意" in page
    assert all(p.name in page for p in (TARO, HANAKO, ICHIRO))
    assert "staff/print.js" in page and "@media print" not in page  # the print style sheet is served by the app
    assert 'href="/static/staff/staff.css"' in page


def test_the_style_sheet_is_served_by_the_app(app):
    resp = app.test_client().get("/static/staff/staff.css")
    assert resp.status_code == 200 and b"@media print" in resp.data


def test_a_call_from_the_screen_shows_on_every_staff_page_until_someone_helps(app, store):
    """Someone at the screen pressed "I have nothing": the tablet says so until staff mark it helped."""
    screen = app.test_client()
    assert screen.post("/screen/call-staff?lang=vi", json={}).status_code == 201
    client = logged_in(app)
    roster = client.get("/staff/").text
    assert 'id="staff-call-banner"' in roster and "1 人が職員を待っています" in roster
    summary = client.get("/staff/summary").text
    (call_id,) = re.findall(r'id="answer-(\d+)"', summary)
    assert "画面の言語: ベトナム語 (Tiếng Việt)" in summary, "the language's name, not its code"
    assert client.post(f"/staff/calls/{call_id}/answered").status_code == 400   # no CSRF token: nothing done
    assert store.open_staff_calls()
    resp = post(client, f"/staff/calls/{call_id}/answered", {}, "/staff/summary")
    assert resp.status_code == 302 and store.open_staff_calls() == []
    assert 'id="staff-call-banner"' not in client.get("/staff/").text


def test_times_people_read_follow_the_kiosks_clock_as_corrected_by_hqs(app, store):
    """The machine's clock 10 minutes ahead of HQ's (set wrong while the kiosk runs): the check-in's
    confirmation, when its record was written, and when HQ last answered are read by the time the kiosk
    dates its records by (HQ's), not the machine's; they disagreed by days in the review."""
    import datetime as dt
    store.note_clock_offset(dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=10))
    wall = dt.datetime.now(dt.timezone.utc)
    answer = app.test_client().post("/api/checkin", json={"persons": [{
        "name": "時計 正子", "birth_date": "1970-01-01", "sex": "female", "address": "焼津市本町1"}]})
    assert answer.status_code == 201, answer.get_json()
    confirmed = dt.datetime.fromisoformat(answer.get_json()["confirmed_at"])
    seq = answer.get_json()["seq"][0]
    (written,) = store.db.execute("SELECT written_at FROM events WHERE seq = ?", (seq,)).fetchone()
    store.set_acked(seq)
    for what, at in (("confirmed", confirmed), ("written", dt.datetime.fromisoformat(written)),
                     ("last sync", dt.datetime.fromisoformat(store.last_sync_at()))):
        assert wall - dt.timedelta(minutes=11) < at < wall - dt.timedelta(minutes=9), what


def test_a_call_the_screen_raised_itself_says_why(app, store):
    store.call_staff("ja", "sent_to_staff")
    summary = logged_in(app).get("/staff/summary").text
    assert 'data-reason="sent_to_staff"' in summary and "受付画面ではできない手続きのため、職員に案内しました" in summary


def test_a_call_about_a_registration_changed_at_hq_says_whom_and_what_to_do(app, store):
    """Review: the new QR of a family that renamed 三郎 as 三朗 at HQ was refused, and the tablet's call said
    only that the screen could not do it: staff had to work out who and why."""
    store.call_staff("ja", "prereg_changed", who=["大井 三朗 1990-01-01（大井 三郎 1990-01-01）"])
    summary = logged_in(app).get("/staff/summary").text
    assert 'data-reason="prereg_changed"' in summary and "家族が市で登録を変更した可能性" in summary
    assert "大井 三朗 1990-01-01（大井 三郎 1990-01-01）" in summary
