"""`evac hq check-occupancy`: HQ's shelter counters recounted from where the persons are now (as the merge
counts them), after a crash, a restore or a hand edit; `--repair` sets them to the recount, in one transaction
under the merge's lock.  Real kiosk check-ins synced to a real `evac hq serve`, on SQLite and PostgreSQL."""
from __future__ import annotations

import subprocess

from sqlalchemy import create_engine, text

from evac.events import Person
from kiosk.store import KioskStore

from tests.conftest import ROOT, evac_cmd, run_evac
from tests.test_sync_http import checkin, enroll, get_json


def counters(hq_url: str) -> dict:
    """(in the shelter, at home, in a car) of every site with someone, as the live map reads them."""
    out = {}
    for f in get_json(f"{hq_url}/api/v1/shelters")["features"]:
        p = f["properties"]
        if p["occupancy"] or p["at_home"] or p["in_car"]:
            out[p["id"]] = (p["occupancy"], p["at_home"], p["in_car"])
    return out


def site_name(hq_url: str, sid: str) -> str:
    return next(f["properties"]["name"] for f in get_json(f"{hq_url}/api/v1/shelters")["features"]
                if f["properties"]["id"] == sid)


def sql(url: str, statement: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text(statement))
    finally:
        engine.dispose()


def stored(url: str) -> dict:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {r[0]: tuple(r[1:]) for r in conn.execute(text(
                "SELECT id, occupancy, at_home, in_car FROM shelters WHERE occupancy + at_home + in_car > 0"))}
    finally:
        engine.dispose()


def check(db_url: str, *more: str) -> subprocess.CompletedProcess:
    return run_evac("hq", "check-occupancy", "--db", db_url, *more)


def test_a_corrupted_count_is_found_repaired_and_then_agrees(hq_db_url, hq_server, tmp_path):
    hq = hq_server(hq_db_url)
    token = enroll(hq.db_url, "H001")
    kiosk = tmp_path / "kiosk.sqlite3"
    for name in ("津田 一郎", "津田 花子", "津田 三郎"):
        checkin(kiosk, name)
    in_car = run_evac("kiosk", "checkin", "--db", str(kiosk), "--shelter", "H001", "--name", "津田 四郎",
                      "--birth", "1970-01-01", "--sex", "male", "--address", "焼津市本町1-1", "--stay-type", "in_car")
    assert in_car.returncode == 0, in_car.stderr
    out = run_evac("kiosk", "checkout", "--db", str(kiosk), "--name", "津田 花子", "--birth", "1970-01-01",
                   "--address", "焼津市本町1-1")
    assert out.returncode == 0, out.stderr
    store = KioskStore(kiosk)   # a household checked in together: each member counts
    try:
        store.check_in("H001", [Person("大石 誠", "1980-05-05", "male", "焼津市本町2-2"),
                                Person("大石 陽菜", "2015-08-08", "female", "焼津市本町2-2")], household_id="HH-1")
    finally:
        store.close()
    synced = run_evac("kiosk", "sync", "--db", str(kiosk), "--hq", hq.url, "--token", token)
    assert synced.returncode == 0, synced.stderr
    assert counters(hq.url) == {"H001": (4, 0, 1)}

    agree = check(hq.db_url)
    assert agree.returncode == 0, agree.stderr
    assert agree.stdout.splitlines()[-1].startswith("すべての施設"), agree.stdout
    assert "agree" in agree.stdout and "Traceback" not in agree.stderr

    # A restore, a crash or a hand edit: H001's count no longer what its people say, and people at H002 nobody is at.
    sql(hq.db_url, "UPDATE shelters SET occupancy = 7 WHERE id = 'H001'")
    sql(hq.db_url, "UPDATE shelters SET at_home = 3 WHERE id = 'H002'")
    h001, h002 = site_name(hq.url, "H001"), site_name(hq.url, "H002")

    differ = check(hq.db_url)
    assert differ.returncode == 1, (differ.stdout, differ.stderr)
    lines = differ.stdout.splitlines()
    assert len(lines) == 3, differ.stdout   # one a site that differs, and the summary
    assert lines[0].startswith(f"H001 {h001}: ") and "避難所内 記録 7 人、数え直すと 4 人" in lines[0], lines[0]
    assert lines[0].index("記録") < lines[0].index(" / ") < lines[0].index("in the shelter: stored 7, recounted 4")
    assert lines[1].startswith(f"H002 {h002}: ") and "at home: stored 3, recounted 0" in lines[1], lines[1]
    assert "--repair" in lines[2] and "nothing was changed" in lines[2], lines[2]
    assert lines[2].index("何も変更していません") < lines[2].index(" / ")
    assert stored(hq.db_url) == {"H001": (7, 0, 1), "H002": (0, 3, 0)}, "a check alone changes nothing"

    repaired = check(hq.db_url, "--repair")
    assert repaired.returncode == 0, (repaired.stdout, repaired.stderr)
    lines = repaired.stdout.splitlines()
    assert lines[0].startswith(f"H001 {h001}: ") and lines[1].startswith(f"H002 {h002}: "), repaired.stdout
    assert "2 か所" in lines[-1] and "set 2 site(s)' counts to the recount" in lines[-1], lines[-1]
    assert stored(hq.db_url) == {"H001": (4, 0, 1)}
    assert counters(hq.url) == {"H001": (4, 0, 1)}, "the running HQ's live map shows the recount"

    again = check(hq.db_url)
    assert again.returncode == 0 and len(again.stdout.splitlines()) == 1, again.stdout
    assert "agree" in again.stdout

    # The kiosk goes on as before: the repaired counts move with the next records, as they should.
    checkin(kiosk, "津田 五郎")
    assert run_evac("kiosk", "sync", "--db", str(kiosk), "--hq", hq.url, "--token", token).returncode == 0
    assert counters(hq.url) == {"H001": (5, 0, 1)}
    assert check(hq.db_url).returncode == 0


def test_a_repair_waits_for_a_batch_being_merged_on_postgresql(pg_base, tmp_path):
    """A repair while a batch is being merged waits for the merge's lock, then counts what the batch left:
    had it read the persons before the batch committed, it would set a count the batch's own move then
    made wrong again."""
    import uuid

    from tests.postgres import create_database, drop_database
    name = f"evac_{uuid.uuid4().hex[:12]}"
    url = create_database(pg_base, name)
    try:
        assert run_evac("hq", "init", "--db", url).returncode == 0
        token = enroll(url, "H001")
        kiosk = tmp_path / "kiosk.sqlite3"
        for person in ("津田 一郎", "津田 花子"):
            checkin(kiosk, person)
        carried = tmp_path / "records.json"
        assert run_evac("kiosk", "carry", "--db", str(kiosk), "--out", str(carried), "--token", token).returncode == 0
        assert run_evac("hq", "import-records", "--db", url, str(carried)).returncode == 0
        sql(url, "UPDATE shelters SET occupancy = 9 WHERE id = 'H001'")
        engine = create_engine(url)
        try:
            with engine.connect() as batch:
                # A batch in its transaction, as the merge runs it: the lock, one person out, the counter moved.
                batch.execute(text("SELECT pg_advisory_xact_lock(862212)"))
                batch.execute(text("UPDATE persons SET state = 'checked_out' WHERE id = "
                                   "(SELECT min(id) FROM persons)"))
                batch.execute(text("UPDATE shelters SET occupancy = occupancy - 1 WHERE id = 'H001'"))
                repair = subprocess.Popen(evac_cmd("hq", "check-occupancy", "--db", url, "--repair"), cwd=ROOT,
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                with engine.connect() as watch:
                    for _ in range(6000):   # until the repair is seen waiting for the lock (never a fixed sleep)
                        waiting = watch.execute(text(
                            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")).scalar()
                        if waiting or repair.poll() is not None:
                            break
                        watch.execute(text("SELECT pg_sleep(0.01)"))
                        watch.rollback()
                assert repair.poll() is None, repair.communicate()
                batch.commit()
            stdout, stderr = repair.communicate(timeout=120)
            assert repair.returncode == 0, (stdout, stderr)
            assert "recounted 1" in stdout, stdout
        finally:
            engine.dispose()
        assert stored(url) == {"H001": (1, 0, 0)}
        assert check(url).returncode == 0
    finally:
        drop_database(pg_base, name)
