"""What `evac kiosk checkin|checkout|transfer|withdraw|new-device` say when they did it, as staff typing paper
forms after a power failure read it: Japanese first, then the English ("日本語 / English"), as their refusals
and HQ's commands say theirs.  The real `evac` command on a real SQLite file."""
from __future__ import annotations

from tests.conftest import run_evac
from tests.refusal_words import JAPANESE

WHO = ["--name", "焼津 花子", "--birth", "1990-01-01", "--address", "焼津市本町1"]


def japanese_first(done) -> tuple[str, str]:
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    (line,) = done.stdout.splitlines()
    ja, slash, en = line.partition(" / ")
    assert slash and JAPANESE.match(ja), line
    assert not JAPANESE.search(en.replace("焼津 花子", "")), line
    return ja, en


def test_check_in_out_and_transfer_say_what_they_recorded_japanese_first(tmp_path):
    db = str(tmp_path / "kiosk.sqlite3")
    made = run_evac("kiosk", "checkin", "--db", db, "--shelter", "H031", "--sex", "female", *WHO)
    ja, en = japanese_first(made)
    assert ja == "受付しました: 焼津 花子（H031、記録 1 番。この端末に保存しました）"
    assert en == "checked in: 焼津 花子 at H031 (event 1, saved on this kiosk)"
    ja, en = japanese_first(run_evac("kiosk", "transfer", "--db", db, "--to", "H002", *WHO))
    assert ja == "移動を記録しました: 焼津 花子（H031 から H002 へ、記録 2 番）"
    assert en == "transfer: 焼津 花子 from H031 to H002 (event 2)"
    assert run_evac("kiosk", "checkin", "--db", db, "--shelter", "H031", "--sex", "female", *WHO).returncode == 0
    ja, en = japanese_first(run_evac("kiosk", "checkout", "--db", db, *WHO))
    assert ja == "退所を記録しました: 焼津 花子（H031 から、記録 4 番）"
    assert en == "checked out: 焼津 花子 from H031 (event 4)"


def test_a_new_device_says_what_to_do_next_japanese_first(tmp_path):
    db = str(tmp_path / "kiosk.sqlite3")
    assert run_evac("kiosk", "checkin", "--db", db, "--shelter", "H031", "--sex", "female", *WHO).returncode == 0
    ja, en = japanese_first(run_evac("kiosk", "new-device", "--db", db))
    assert "記録 1 件をすべて本部へ送り直します" in ja and "evac hq enroll-kiosk" in ja
    assert en.startswith("this kiosk database is now ") and "its 1 event(s) will all be sent again" in en


def test_a_sync_hq_took_says_so_japanese_first(tmp_path, hq_server):
    from tests.test_sync_http import enroll
    hq = hq_server()
    db = str(tmp_path / "kiosk.sqlite3")
    assert run_evac("kiosk", "checkin", "--db", db, "--shelter", "H031", "--sex", "female", *WHO).returncode == 0
    ja, en = japanese_first(run_evac("kiosk", "sync", "--db", db, "--hq", hq.url, "--token", enroll(hq.db_url, "H031")))
    assert ja == "同期しました: 本部はこの端末の記録をすべて受け取っています（1 番まで。今回 1 件を送信）"
    assert en == "synced: HQ holds every event of this kiosk (up to 1; 1 sent now)"
