"""A kiosk whose SD card or disk turns against it: its database file deleted or replaced while it runs,
the WAL deleted to free space, a full disk, a read-only card, a damaged or empty file.  The kiosk
loses nothing it confirmed and tells staff, in Japanese on the tablet, what is wrong and what to do.

Real SQLite files, a real `evac kiosk serve` process where the failure needs one, real read-only
and full filesystems (tmpfs mounts, unmounted afterwards).
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from evac.events import Person
from kiosk import disk_failure
from kiosk.staff_store import add_staff
from kiosk.store import KioskStore
from tests.conftest import ROOT, Server, evac_cmd, free_port, run_evac
from tests.staff_helpers import PASSWORD, make_app
from tests.test_kiosk_serve import HANAKO, PERSON, SHELTER, Browser, _events

TARO = Person("焼津 太郎", "1950-01-02", "male", "焼津市本町1-1")


def serve(db: Path, log: Path) -> Server:
    port = free_port()
    server = Server(evac_cmd("kiosk", "serve", "--db", str(db), "--shelter", SHELTER, "--port", str(port)),
                    f"http://127.0.0.1:{port}", log, "/api/status")
    server.db = db
    return server


@pytest.fixture
def kiosk(tmp_path):
    db = tmp_path / "kiosk.sqlite3"
    store = KioskStore(db)
    add_staff(store, "sato", "staff", PASSWORD)
    store.close()
    server = serve(db, tmp_path / "kiosk.log")
    yield server
    server.stop()


@pytest.fixture
def card(tmp_path):
    """A small filesystem of its own (a 1 MB tmpfs), as a shelter kiosk's SD card: filled up or turned
    read-only for real.  Unmounted after the test."""
    mnt = tmp_path / "card"
    mnt.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)], capture_output=True)
    if done.returncode != 0:
        pytest.skip("this machine does not let the tests mount a filesystem")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=True)


def fill(folder: Path) -> Path:
    """Write a file until the disk is full; returns it (delete it to make room again)."""
    filler = folder / "photos.bin"
    with open(filler, "wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 4096)
        except OSError:
            pass
    assert shutil.disk_usage(folder).free == 0
    return filler


def new_kiosk(db: Path, *people: Person) -> None:
    store = KioskStore(db)
    for person in people:
        store.check_in(SHELTER, [person])
    store.close()


def rescued(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("kiosk.sqlite3.rescued-*") if not p.name.endswith(("-wal", "-shm")))


# -- 1. the database file deleted or replaced under a running kiosk -----------------------------

def test_a_database_file_deleted_under_a_running_kiosk_is_refused_and_its_records_copied_out(kiosk):
    assert Browser(kiosk.url).request("/api/checkin", json_body={"persons": [PERSON]})[0] == 201
    kiosk.db.unlink()   # someone freeing space on the card

    status, body = Browser(kiosk.url).request("/api/checkin", json_body={"persons": [HANAKO]})
    answer = json.loads(body)
    assert status == 503 and answer["message"].startswith("受付機のデータベースファイル（kiosk.sqlite3、-wal、-shm）が動作中に削除")
    assert "再起動しないでください" in answer["message"]
    assert not kiosk.db.exists(), "no new, empty kiosk was made by the request"

    # The running kiosk copied what it still holds beside the file: every confirmed record.
    (copy,) = rescued(kiosk.db.parent)
    assert [json.loads(b)["person"]["name"] for b in _events(copy)] == ["焼津 太郎"]
    with sqlite3.connect(copy) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)

    # The tablet says it in Japanese, with where the copy is, instead of "wrong password".
    tablet = Browser(kiosk.url)
    status, page = tablet.request("/staff/login")
    assert status == 503
    assert "動作中に削除または置き換えられました。受付機を再起動しないでください。" in page
    assert str(copy) in page
    # The evacuee's screen is a page saying to go to the staff desk, not the script's JSON.
    status, page = Browser(kiosk.url).request("/?lang=ja")
    assert status == 503 and "この受付機はいま受付ができません。係員にお声がけください。" in page
    assert page.lstrip().startswith("<!doctype html>")
    # Still refused, and copied once only.
    assert Browser(kiosk.url).request("/api/checkin", json_body={"persons": [HANAKO]})[0] == 503
    assert rescued(kiosk.db.parent) == [copy] and not kiosk.db.exists()


def test_a_database_file_replaced_under_a_running_kiosk_is_refused_not_mixed_with_the_old_wal(tmp_path):
    db = tmp_path / "kiosk.sqlite3"
    app = make_app(db)
    client = app.test_client()
    assert client.post("/api/checkin", json={"persons": [PERSON]}).status_code == 201
    other = KioskStore(tmp_path / "other.sqlite3")
    other.close()
    os.replace(tmp_path / "other.sqlite3", db)   # a copy put back over it

    resp = client.post("/api/checkin", json={"persons": [HANAKO]})
    assert resp.status_code == 503 and "置き換えられたため" in resp.json["message"]
    page = app.test_client().get("/staff/login")
    assert page.status_code == 503 and "受付機を再起動しないでください" in page.text
    (copy,) = rescued(tmp_path)
    assert [json.loads(b)["person"]["name"] for b in _events(copy)] == ["焼津 太郎"]
    with sqlite3.connect(copy) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


# -- 2. the WAL deleted to free space ------------------------------------------------------------

def test_a_wal_deleted_under_a_running_kiosk_is_refused_and_nothing_is_lost(kiosk):
    assert Browser(kiosk.url).request("/api/checkin", json_body={"persons": [PERSON]})[0] == 201
    Path(f"{kiosk.db}-wal").unlink()   # freeing space while the kiosk runs
    Path(f"{kiosk.db}-shm").unlink()
    status, body = Browser(kiosk.url).request("/api/checkin", json_body={"persons": [HANAKO]})
    assert status == 503 and "再起動しないでください" in json.loads(body)["message"]
    status, page = Browser(kiosk.url).request("/staff/login")
    assert status == 503 and "kiosk.sqlite3-wal" in page and "受付機を再起動しないでください" in page
    (copy,) = rescued(kiosk.db.parent)
    assert [json.loads(b)["person"]["name"] for b in _events(copy)] == ["焼津 太郎"]
    kiosk.stop()
    assert [json.loads(b)["person"]["name"] for b in _events(kiosk.db)] == ["焼津 太郎"]


def test_confirmed_checkins_are_in_the_database_file_itself_not_only_in_its_wal(kiosk):
    """A power cut (SIGKILL: no clean close), then someone deletes -wal and -shm to free space: every
    check-in the kiosk confirmed is still in kiosk.sqlite3."""
    people = [{**PERSON, "name": f"焼津 {n}郎"} for n in "一二三四五"]
    for person in people:
        assert Browser(kiosk.url).request("/api/checkin", json_body={"persons": [person]})[0] == 201
    kiosk.proc.send_signal(signal.SIGKILL)
    kiosk.proc.wait()
    assert Path(f"{kiosk.db}-wal").exists(), "the WAL is there to be deleted"
    Path(f"{kiosk.db}-wal").unlink()
    Path(f"{kiosk.db}-shm").unlink()
    assert [json.loads(b)["person"]["name"] for b in _events(kiosk.db)] == [p["name"] for p in people]
    with sqlite3.connect(kiosk.db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


# -- 4. a kiosk restarted on a full disk -------------------------------------------------------

def test_a_kiosk_restarted_on_a_full_disk_says_the_disk_is_full_and_what_to_delete(card, tmp_path):
    db = card / "kiosk.sqlite3"
    new_kiosk(db, TARO)
    photos = fill(card)
    for args in (("serve", "--port", str(free_port())),
                 ("checkin", "--name", "焼津 花子", "--birth", "1980-02-02", "--sex", "female")):
        done = run_evac("kiosk", args[0], "--db", str(db), "--shelter", SHELTER, *args[1:])
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
        assert "the disk holding it is full" in done.stderr, done.stderr
        assert "never delete kiosk.sqlite3, kiosk.sqlite3-wal or kiosk.sqlite3-shm" in done.stderr
        assert "deleting photos, videos, logs or downloads" in done.stderr and "start again" in done.stderr
    photos.unlink()   # room made as told: the kiosk starts, with its records
    server = serve(db, tmp_path / "kiosk.log")
    try:
        assert Browser(server.url).request("/api/checkin", json_body={"persons": [HANAKO]})[0] == 201
    finally:
        server.stop()
    assert [json.loads(b)["person"]["name"] for b in _events(db)] == ["焼津 太郎", "焼津 花子"]


# -- 5. a card that turned read-only ------------------------------------------------------------

def read_only(folder: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)


def leave_as_a_power_cut_does(db: Path, *names: str, shm: bool = True) -> None:
    """Check people in from another process that then dies without closing: -wal and -shm stay,
    the records only in the WAL (no checkpoint), as after a power cut."""
    script = ("import os, sys\n"
              "from evac.events import Person\n"
              "from kiosk.store import KioskStore\n"
              "store = KioskStore(sys.argv[1])\n"
              "store._checkpoint = lambda: None\n"
              "for name in sys.argv[2:]:\n"
              "    store.check_in('H001', [Person(name, '1950-01-02', 'male', '焼津市本町1-1')])\n"
              "os._exit(0)\n")
    subprocess.run([sys.executable, "-c", script, str(db), *names], check=True, cwd=ROOT)
    assert Path(f"{db}-wal").stat().st_size > 0
    if not shm:
        Path(f"{db}-shm").unlink()


def carried(out: Path) -> list[str]:
    return [e["person"]["name"] for e in json.loads(out.read_bytes())["events"] if e.get("person")]


@pytest.mark.parametrize("left", ["closed", "power cut", "power cut, -shm deleted"])
def test_records_on_a_card_that_turned_read_only_can_still_be_carried_to_hq(card, tmp_path, left):
    db = card / "kiosk.sqlite3"
    new_kiosk(db, TARO)
    if left != "closed":
        leave_as_a_power_cut_does(db, "焼津 花子", "焼津 次郎", shm="deleted" not in left)
    before = sorted(p.name for p in card.iterdir())
    read_only(card)
    # Starting the kiosk or typing a paper form in says what happened and what to do.
    done = run_evac("kiosk", "checkin", "--db", str(db), "--shelter", SHELTER, "--name", "焼津 三郎",
                    "--birth", "1960-01-01", "--sex", "male")
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert "its disk has become read-only" in done.stderr and "evac kiosk carry" in done.stderr
    assert "kiosk.sqlite3 together with kiosk.sqlite3-wal and kiosk.sqlite3-shm" in done.stderr

    out = tmp_path / "records.json"
    done = run_evac("kiosk", "carry", "--db", str(db), "--out", str(out))
    assert done.returncode == 0, done.stderr
    expected = ["焼津 太郎"] + (["焼津 花子", "焼津 次郎"] if left != "closed" else [])
    assert carried(out) == expected
    assert sorted(p.name for p in card.iterdir()) == before, "nothing was made on the card"
    # A kiosk still running when its card turns read-only names it so (API, tablet): SQLite's real refusal.
    conn = sqlite3.connect(db, timeout=0)
    with pytest.raises(sqlite3.Error) as caught:
        conn.execute("INSERT INTO staff_calls(called_at, language, reason) VALUES ('now', 'ja', 'no_id')")
    conn.close()
    assert disk_failure.cause(caught.value, str(db)) == disk_failure.READ_ONLY
    assert "evac kiosk carry" in disk_failure.explain(caught.value, str(db))


def as_operator(*args: str) -> subprocess.CompletedProcess:
    """An `evac` command as a shelter's operator runs it: file permissions apply (as root, with the
    capabilities that override them dropped)."""
    prefix = []
    if os.geteuid() == 0:
        if not shutil.which("setpriv"):
            pytest.skip("setpriv (util-linux) is needed to run a command as root without its override")
        prefix = ["setpriv", "--inh-caps=-all", "--ambient-caps=-all", "--bounding-set=-all", "--"]
    return subprocess.run([*prefix, *evac_cmd(*args)], capture_output=True, text=True, cwd=ROOT, timeout=120)


def test_a_read_only_file_carried_then_made_writable_again_takes_check_ins(tmp_path):
    # `chmod 444` (a copy from a write-protected card, say): carry reads it without making a -wal and
    # -shm beside it, which SQLite makes read-only like the file and which then stopped the kiosk after
    # the file's permission was put right.  Left over from before, they are named.
    db = tmp_path / "kiosk.sqlite3"
    new_kiosk(db, TARO)
    db.chmod(0o444)
    done = as_operator("kiosk", "carry", "--db", str(db), "--out", str(tmp_path / "records.json"))
    assert done.returncode == 0, done.stderr
    assert carried(tmp_path / "records.json") == ["焼津 太郎"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kiosk.sqlite3", "records.json"]
    refused = as_operator("kiosk", "checkin", "--db", str(db), "--shelter", SHELTER, "--name", "焼津 三郎",
                          "--birth", "1960-01-01", "--sex", "male")
    assert refused.returncode == 2 and "the file is read-only (check its permissions" in refused.stderr
    db.chmod(0o644)
    done = as_operator("kiosk", "checkin", "--db", str(db), "--shelter", SHELTER, "--name", "焼津 三郎",
                       "--birth", "1960-01-01", "--sex", "male")
    assert done.returncode == 0, done.stderr
    # Read-only companions left by an older release's carry: named, with what to do.
    holder = sqlite3.connect(db)              # a connection in WAL mode keeps -wal and -shm there
    holder.execute("SELECT count(*) FROM events").fetchone()
    try:
        for companion in (Path(f"{db}-wal"), Path(f"{db}-shm")):
            companion.chmod(0o444)
        refused = as_operator("kiosk", "checkin", "--db", str(db), "--shelter", SHELTER, "--name", "焼津 四郎",
                              "--birth", "1961-01-01", "--sex", "male")
        assert refused.returncode == 2 and "Traceback" not in refused.stderr, refused.stderr
        assert f"{db}-wal and {db}-shm beside it are read-only" in refused.stderr
        assert "never delete them" in refused.stderr
    finally:
        holder.close()
    assert [json.loads(e)["person"]["name"] for e in _events(db)] == ["焼津 太郎", "焼津 三郎"]


# -- 6. a damaged database ----------------------------------------------------------------------

def overwrite_pages(db: Path) -> None:
    """Pages past the first overwritten with junk, as a failing card returns them."""
    size = db.stat().st_size
    with open(db, "r+b") as f:
        f.seek(2 * 4096)
        f.write(bytes(range(256)) * ((size - 2 * 4096) // 256))


def cut_short(db: Path) -> None:
    with open(db, "r+b") as f:
        f.truncate(db.stat().st_size // 2)


@pytest.mark.parametrize("damage", [overwrite_pages, cut_short])
def test_a_damaged_database_is_said_to_be_damaged_with_what_to_do(tmp_path, damage):
    db = tmp_path / "kiosk.sqlite3"
    new_kiosk(db, TARO)
    damage(db)
    kept = db.read_bytes()
    for args in (("serve", "--shelter", SHELTER, "--port", str(free_port())),
                 ("checkin", "--shelter", SHELTER, "--name", "焼津 花子", "--birth", "1980-02-02", "--sex", "female")):
        done = run_evac("kiosk", args[0], "--db", str(db), *args[1:])
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
        assert f"the kiosk database at {db} is damaged" in done.stderr, done.stderr
        assert "Keep the file, do not delete it" in done.stderr and "evac kiosk carry" in done.stderr
        assert "start the kiosk on a new database" in done.stderr and "enrolled again at HQ" in done.stderr
    assert db.read_bytes() == kept, "the damaged file is left as it was, for HQ"
    # The running kiosk names it the same way (the tablet's and the API's message: damaged, not a full disk).
    conn = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)
    with pytest.raises(sqlite3.DatabaseError) as caught:
        conn.execute("SELECT count(*) FROM roster").fetchall()
    conn.close()
    assert disk_failure.cause(caught.value) == disk_failure.DAMAGED


def test_what_can_still_be_read_of_a_damaged_database_is_carried_in_order(tmp_path):
    db = tmp_path / "kiosk.sqlite3"
    store = KioskStore(db)
    store.append([{"type": "checkin", "shelter_id": SHELTER, "household_id": "", "data": {"stay_type": "in_shelter"},
                   "person": Person(f"焼津 {i}郎", "1950-01-02", "male", f"焼津市本町{i}").to_wire()}
                  for i in range(300)])
    store.close()
    with sqlite3.connect(db) as conn:   # one page of the records in the middle overwritten
        leaves = [r[0] for r in conn.execute(
            "SELECT pageno FROM dbstat WHERE name = 'events' AND pagetype = 'leaf' ORDER BY pageno")]
    conn.close()
    with open(db, "r+b") as f:
        f.seek((leaves[len(leaves) // 2] - 1) * 4096)
        f.write(bytes(range(256)) * 16)
    out = tmp_path / "records.json"
    done = run_evac("kiosk", "carry", "--db", str(db), "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert f"the kiosk database at {db} is damaged: records 1 to " in done.stderr
    assert "give HQ the damaged file too" in done.stderr
    seqs = [e["seq"] for e in json.loads(out.read_bytes())["events"]]
    assert 0 < len(seqs) < 300 and seqs == list(range(1, len(seqs) + 1)), "in order, as HQ takes them"


# -- 7. a mistyped --db, an emptied file ---------------------------------------------------------

PAPER_FORM = ("--shelter", SHELTER, "--name", "焼津 花子", "--birth", "1980-02-02", "--sex", "female")


def test_a_paper_form_typed_into_a_mistyped_db_is_said_so(tmp_path):
    """`evac kiosk checkin` on a new --db makes the kiosk database (the interface scripts and paper-form
    entry use), and says so on stderr, so that a mistyped --db is noticed; checkout refuses one."""
    new_kiosk(tmp_path / "kiosk.sqlite3", TARO)
    typo = tmp_path / "kiosk-typo.sqlite3"
    done = run_evac("kiosk", "checkout", "--db", str(typo), "--name", "焼津 太郎", "--birth", "1950-01-02")
    assert done.returncode == 2 and done.stdout == "", done.stdout
    assert f"no kiosk database at {typo} (check --db" in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kiosk.sqlite3"]
    done = run_evac("kiosk", "checkin", "--db", str(typo), *PAPER_FORM)
    assert done.returncode == 0, done.stderr
    assert "checked in: 焼津 花子" in done.stdout
    assert f"there was no kiosk database at {typo}; a new kiosk database was made at {typo}" in done.stderr
    assert "check --db" in done.stderr
    # Asked for with --new: said on stdout, as the command's result.
    other = tmp_path / "first-forms.sqlite3"
    done = run_evac("kiosk", "checkin", "--new", "--db", str(other), *PAPER_FORM)
    assert done.returncode == 0 and f"a new kiosk database was made at {other}" in done.stdout, done.stderr
    assert "note:" not in done.stderr


def test_an_empty_kiosk_database_beside_a_wal_is_refused_not_made_a_new_kiosk(tmp_path):
    db = tmp_path / "kiosk.sqlite3"
    db.write_bytes(b"")   # as a power cut on a failing card leaves it
    Path(f"{db}-wal").write_bytes(b"\0" * 100)   # what may still hold its records
    for args in (("checkin", *PAPER_FORM), ("checkin", "--new", *PAPER_FORM),
                 ("serve", "--shelter", SHELTER, "--port", str(free_port())),
                 ("checkout", "--name", "焼津 太郎", "--birth", "1950-01-02")):
        done = run_evac("kiosk", args[0], "--db", str(db), *args[1:])
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
        assert f"the kiosk database at {db} is empty (0 bytes)" in done.stderr
        assert "Keep it and any kiosk.sqlite3-wal and kiosk.sqlite3-shm beside it" in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kiosk.sqlite3", "kiosk.sqlite3-wal"]
    assert db.stat().st_size == 0


def test_an_empty_file_alone_is_a_new_kiosk_database_and_said_so(tmp_path):
    """A lone empty file (a temporary file made for the database) becomes the kiosk's database: a
    command that only reads refuses it, the ones that make a database say they made one."""
    db = tmp_path / "kiosk.sqlite3"
    db.write_bytes(b"")
    done = run_evac("kiosk", "checkout", "--db", str(db), "--name", "焼津 太郎", "--birth", "1950-01-02")
    assert done.returncode == 2 and f"the kiosk database at {db} is empty (0 bytes)" in done.stderr
    done = run_evac("kiosk", "checkin", "--db", str(db), *PAPER_FORM)
    assert done.returncode == 0, done.stderr
    assert "checked in: 焼津 花子" in done.stdout and "a new kiosk database was made" in done.stderr
    done = run_evac("kiosk", "checkout", "--db", str(db), "--name", "焼津 花子", "--birth", "1980-02-02")
    assert done.returncode == 0, done.stderr
