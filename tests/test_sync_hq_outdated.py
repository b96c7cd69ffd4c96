"""A kiosk newer than HQ: HQ's older software refuses a record whose type it does not know (a staff
`correction` at an HQ from before corrections).  The record must not be withdrawn: withdrawn, HQ (once
updated) never learns the corrected name, and the kiosk's later check-out makes a second person.  Kept,
the same kiosk database syncs correctly once HQ is updated.

The older HQ is real: HQ's code as of the commit before `correction` (git archive of this repository),
run as its own process on its own (older) database schema, which the current HQ then upgrades."""
from __future__ import annotations

import html
import io
import os
import re
import sqlite3
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from evac.events import CHECKIN, CORRECTION, Person
from evac.identity import person_key
from kiosk import staff_store
from kiosk.staff import hq_refusals
from kiosk.store import HQ_OUTDATED, KioskError, KioskStore
from kiosk.sync import HQClient, SyncError, console_text, sync_once
from tests.conftest import ROOT, Server, free_port, run_evac
from tests.staff_helpers import csrf, logged_in, make_app, wait_for
from tests.test_sync_http import occupancy
from tests.test_sync_refusal_words import JA, sync_cell
from tests.wire import KioskStream, person

# The last commit before the `correction` event type (0c755f0 added it): an HQ that does not know it.
BEFORE_CORRECTIONS = "2bb3a9c980b299396656fd16793346c8a6e46ad8"

WRONG = Person("間違 名前", "1970-01-01", "female", "焼津市本町1-1")
RIGHT = Person("正しい 名前", "1970-01-01", "female", "焼津市本町1-1")
OTHER = Person("前田 一郎", "1960-01-01", "male", "焼津市本町2-2")
AFTER = Person("後藤 二郎", "1980-02-02", "male", "焼津市本町3-3")


@pytest.fixture(scope="module")
def older_hq_code(tmp_path_factory) -> Path:
    """HQ's code (and what its CLI imports) as of BEFORE_CORRECTIONS, unpacked from this repository."""
    archived = subprocess.run(["git", "-C", str(ROOT), "archive", BEFORE_CORRECTIONS, "evac", "hq_dashboard",
                               "kiosk", "bench", "data"], capture_output=True)
    if archived.returncode != 0:   # not a git checkout, or a shallow one without that commit
        pytest.skip(f"the older HQ's code is not in this checkout's history: {archived.stderr.decode()[:200]}")
    where = tmp_path_factory.mktemp("older-hq")
    with tarfile.open(fileobj=io.BytesIO(archived.stdout)) as tar:
        tar.extractall(where, filter="data")
    return where


class OlderHQ:
    """`evac hq serve` of the older code, on a free port; its own CLI enrolls kiosks."""

    def __init__(self, code: Path, db_url: str, log: Path):
        self.code, self.db_url = code, db_url
        # -P: the older code first on the path, not the current one (the working directory or an editable install).
        self.env = {**os.environ, "PYTHONPATH": str(code), "PYTHONUNBUFFERED": "1"}
        self.token = self.evac("hq", "enroll-kiosk", "--db", db_url, "--shelter", "H001").stdout.strip()
        port = free_port()
        self.server = Server([sys.executable, "-P", "-m", "evac.cli", "hq", "serve", "--db", db_url, "--port",
                              str(port)], f"http://127.0.0.1:{port}", log, "/api/v1/shelters", cwd=code, env=self.env)
        self.url = self.server.url

    def evac(self, *args: str) -> subprocess.CompletedProcess:
        done = subprocess.run([sys.executable, "-P", "-m", "evac.cli", *args], cwd=self.code, env=self.env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done

    def stop(self) -> None:
        self.server.stop()


@pytest.fixture
def older_hq(older_hq_code, tmp_path):
    hq = OlderHQ(older_hq_code, f"sqlite:///{tmp_path / 'hq.sqlite3'}", tmp_path / "older-hq.log")
    yield hq
    hq.stop()


def _checked_in_at_hq(db_url: str) -> list[str]:
    with sqlite3.connect(db_url.removeprefix("sqlite:///")) as conn:
        return sorted(r[0] for r in conn.execute("SELECT name FROM persons WHERE state = 'checked_in'"))


def test_a_correction_an_older_hq_does_not_know_waits_for_hqs_update_and_is_never_withdrawn(older_hq, hq_server,
                                                                                             tmp_path):
    db = tmp_path / "kiosk.sqlite3"
    store = KioskStore(db)
    client = HQClient(older_hq.url, older_hq.token)
    store.check_in("H001", [OTHER, WRONG])
    # Staff correct the misspelt name on the tablet: a `correction` record, then a check-in after it.
    row = staff_store.person(store, person_key(WRONG.name, WRONG.birth_date, WRONG.address))
    staff_store.correct(store, "H001", row, RIGHT, stay_type="in_shelter", needs=[], contact_phone="",
                        home_damage="unknown", household_members=None, consent="none", family_code="")
    (correction,) = [e for e in store.outbox(100) if e["type"] == CORRECTION]
    store.check_in("H001", [AFTER])

    with pytest.raises(SyncError) as refused:
        sync_once(store, client)
    exc = refused.value
    # The older HQ's own words: a 422 invalid_event naming the record; the kiosk knows the type as its own.
    assert exc.kind == SyncError.REFUSED and "unknown event type 'correction'" in exc.detail
    assert exc.code == HQ_OUTDATED and store.refusal().code == HQ_OUTDATED
    assert store.refusal().seq == correction["seq"]
    assert "HQ's software is older than this kiosk's" in str(exc) and "Do NOT withdraw" in str(exc)
    assert console_text(exc).startswith("本部がこの端末の記録を受け付けません: " + JA.gettext(hq_refusals.ADVICE[HQ_OUTDATED]))
    assert "取り下げないでください" in console_text(exc)
    # The records before the correction reached HQ on their own; the correction and the rest wait.
    assert store.acked_seq == correction["seq"] - 1 and occupancy(older_hq.url) == {"H001": 2}

    # Nobody can withdraw it: not the store, not the command line, not the lead on the tablet.
    with pytest.raises(KioskError, match="must not be withdrawn: HQ's software is older"):
        store.withdraw(correction["seq"], "HQ refuses it", "tanaka", "H001")
    synced = run_evac("kiosk", "sync", "--db", str(db), "--hq", older_hq.url, "--token", older_hq.token)
    assert synced.returncode == 1 and "Traceback" not in synced.stderr
    line = next(x for x in synced.stderr.splitlines() if x.startswith("evac: 同期できませんでした: "))
    assert line.startswith("evac: 同期できませんでした: 本部がこの端末の記録を受け付けません: 本部のソフトウェアがこの端末より古く")
    assert "取り下げないでください" in line and "Ask HQ to update its software. Do NOT withdraw" in line
    shown = run_evac("kiosk", "withdraw", "--db", str(db))
    assert shown.returncode == 0 and f"HQ refuses record {correction['seq']} (correction" in shown.stdout
    assert "取り下げないでください" in shown.stdout and "Do NOT withdraw this record" in shown.stdout
    assert "--seq" not in shown.stdout                              # no instruction to withdraw it
    tried = run_evac("kiosk", "withdraw", "--db", str(db), "--seq", str(correction["seq"]), "--reason", "x")
    assert tried.returncode == 2 and "is not withdrawn" in tried.stderr and "取り下げないでください" in tried.stderr

    store.close()
    tablet = make_app(db, HQ_URL=older_hq.url, HQ_TOKEN=older_hq.token, SYNC_INTERVAL=0.2)
    syncer = tablet.extensions["kiosk_sync"]
    try:
        wait_for(lambda: syncer.failure is not None, "a refused sync round")
        assert syncer.failure.code == HQ_OUTDATED
        lead = logged_in(tablet, "tanaka")
        page = lead.get("/staff/summary").text
        cell = sync_cell(page)
        assert cell.startswith("本部がこの端末の記録を受け付けません: 本部のソフトウェアがこの端末より古く"), cell
        assert "取り下げないでください" in cell and "unknown event type 'correction'" in cell
        panel = html.unescape(page.split('id="refused"', 1)[1].split("</div>", 1)[0])
        assert 'id="refused-hq-outdated"' in panel and "この記録は取り下げないでください" in panel
        assert 'id="withdraw-form"' not in panel and "取り下げるまで" not in panel
        reason = panel.split('id="refused-reason">', 1)[1].split("</dd>", 1)[0]
        assert reason.startswith("本部のソフトウェアがこの端末より古く、この種類の記録を知りません。取り下げないでください。")
        answer = lead.post(f"/staff/sync/withdraw/{correction['seq']}",
                           data={"csrf_token": csrf(lead, "/staff/summary"), "reason": "本部が受け付けない",
                                 "confirm": "y"})
        assert answer.status_code == 422
        assert f"記録 {correction['seq']} は取り下げないでください" in html.unescape(answer.text)
        # In English too.
        lead.set_cookie("lang", "en")
        page = lead.get("/staff/summary").text
        assert "Do not withdraw this record: HQ&#39;s software is older than this kiosk&#39;s" in page
    finally:
        syncer.stop()
        syncer.join(10)
    store = KioskStore(db)
    assert store.withdrawn() == [] and store.pending() == 2

    # HQ is updated: the current HQ on the same database (its schema upgraded).  The queue goes through.
    older_hq.stop()
    hq = hq_server(older_hq.db_url)
    client = HQClient(hq.url, older_hq.token)
    report = sync_once(store, client)
    assert report.pending == 0 and store.refusal() is None
    assert _checked_in_at_hq(hq.db_url) == sorted([OTHER.name, RIGHT.name, AFTER.name])
    # She leaves later: one person checked out, not a second one made; occupancy right.
    store.check_out(RIGHT.name, RIGHT.birth_date, RIGHT.address)
    sync_once(store, client)
    assert occupancy(hq.url) == {"H001": 2}
    assert _checked_in_at_hq(hq.db_url) == sorted([OTHER.name, AFTER.name])
    with sqlite3.connect(hq.db_url.removeprefix("sqlite:///")) as conn:
        names = sorted(r[0] for r in conn.execute("SELECT name FROM persons"))
    assert names == sorted([OTHER.name, RIGHT.name, AFTER.name]), "the wrong name is nobody; no second person"


def test_a_refusal_noted_by_the_kiosk_version_before_is_known_as_hq_outdated(tmp_path):
    """A kiosk updated while an older HQ's refusal was noted (as invalid_event): still not withdrawable;
    a record HQ refuses by a stricter rule still is."""
    store = KioskStore(tmp_path / "k.sqlite3")
    store.check_in("H001", [OTHER, WRONG])
    row = staff_store.person(store, person_key(WRONG.name, WRONG.birth_date, WRONG.address))
    staff_store.correct(store, "H001", row, RIGHT, stay_type="in_shelter", needs=[], contact_phone="",
                        home_damage="unknown", household_members=None, consent="none", family_code="")
    seq = store.last_seq
    store.note_refusal(seq, "event 1 of the batch: unknown event type 'correction'", code="invalid_event")
    assert store.refusal().code == HQ_OUTDATED
    with pytest.raises(KioskError, match="must not be withdrawn"):
        store.withdraw(seq, "r", "tanaka", "H001")
    store.note_refusal(seq, "event 1 of the batch: the corrected person's name is too long", code="invalid_event")
    assert store.refusal().code == "invalid_event"
    store.withdraw(seq, "a rule HQ has", "tanaka", "H001")
    assert store.withdrawn()[0].seq == seq


def test_hq_says_an_unknown_type_as_such_and_its_dashboard_does_not_advise_withdrawing(hq_app, hq_client, enroll):
    """The current HQ, met by a kiosk newer than itself: its refusal says the type is unknown
    (`unknown_type`), and the dashboard asks for HQ's update, not the record's withdrawal."""
    from hq_dashboard.staff import add_staff
    from hq_dashboard.db import db
    token = enroll("H001")
    kiosk_id = token.split(".")[0]
    k = KioskStream("kiosk-newer")
    k.checkin(person("前田 一郎"))
    k.add("a_type_of_tomorrow", person("前田 一郎"), {})
    answer = hq_client.post("/api/v1/sync", json={"device_id": "kiosk-newer", "events": k.events},
                            headers={"Authorization": f"Bearer {token}"})
    body = answer.get_json()
    assert answer.status_code == 422 and body["error"] == "invalid_event" and body["index"] == 1
    assert body["unknown_type"] is True and "unknown event type" in body["message"]
    # A record HQ refuses by a rule (not its type) is no such thing.
    k2 = KioskStream("kiosk-other", start_ms=1_764_000_100_000)
    k2.add(CHECKIN, person("前田 二郎", birth="2999-01-01"), {"stay_type": "in_shelter"})
    other = hq_client.post("/api/v1/sync", json={"device_id": "kiosk-other", "events": k2.events},
                           headers={"Authorization": f"Bearer {enroll('H002')}"}).get_json()
    assert other["error"] == "invalid_event" and "unknown_type" not in other

    with hq_app.app_context():
        add_staff(db.session, "hq-watch", "correct horse battery")
    page = hq_client.get("/staff/login").get_data(as_text=True)
    login = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert hq_client.post("/staff/login", data={"csrf_token": login, "username": "hq-watch",
                                                "password": "correct horse battery"}).status_code == 302
    page = html.unescape(hq_client.get("/dashboard").get_data(as_text=True))
    alert = page.split(f"端末 {kiosk_id}（二区コミュニティ防災センター H001）の記録 2 番を本部が受け付けていません", 1)[1].split("</li>", 1)[0]
    assert "本部のソフトウェアが端末より古く" in alert and "取り下げるよう避難所に求めないでください" in alert
    assert "取り下げると、残りが届きます" not in alert
    # The other kiosk's refusal keeps the usual advice.
    assert "取り下げると、残りが届きます" in page.split("（三区コミュニティ防災センター H002）の記録 1 番を本部が受け付けていません", 1)[1].split("</li>", 1)[0]
