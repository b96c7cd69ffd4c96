"""`evac hq …` refusals are read by the city's HQ IT staff, who read Japanese: each says what is wrong and
what to do in Japanese first, then in English ("日本語 / English", one line), with no traceback, and writes
nothing.  The kiosk's refusals built from the same words (evac.dbfiles) stay as the kiosk says them."""
from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, evac_cmd, run_evac
from tests.test_cli_errors import TARO
from tests.test_hq_busy_database import HOLD


def said_in_both(result, ja: str, en: str, code: int = 2) -> str:
    """The refusal's line holds the Japanese, then the English."""
    assert result.returncode == code, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    line = next((line for line in result.stderr.splitlines() if ja in line), None)
    assert line is not None, result.stderr
    japanese, _, english = line.partition(" / ")
    assert ja in japanese and en in english, line
    return line


@pytest.fixture
def hq_db(tmp_path, hq_initialised_sqlite) -> Path:
    """A database `evac hq init` made, with its secret key: a copy of one made once per run (an init of its
    own, migrating and seeding, was a second of CPU in each of these tests; init has tests of its own)."""
    return hq_initialised_sqlite(tmp_path / "hq.sqlite3")


def kiosks(db: Path) -> list:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT id, shelter_id, retired_at FROM kiosks ORDER BY id").fetchall()
    finally:
        conn.close()


@pytest.mark.parametrize("command", [("enroll-kiosk", "--shelter", "H001"), ("list-staff",),
                                     ("forget-preregistrations",), ("import-records", str(ROOT / "README.md"))])
def test_a_database_that_is_not_there_is_said_in_japanese_and_not_made(tmp_path, command):
    typo = tmp_path / "hq-typo.sqlite3"
    line = said_in_both(run_evac("hq", command[0], "--db", str(typo), *command[1:]),
                        f"{typo} に本部のデータベースがありません。--db を確かめてください", f"no HQ database at {typo}")
    assert "`evac hq serve` または `evac hq init`" in line, line
    assert list(tmp_path.iterdir()) == []


def test_an_unknown_shelter_or_kiosk_is_said_in_japanese_and_nothing_is_enrolled(hq_db):
    said_in_both(run_evac("hq", "enroll-kiosk", "--db", str(hq_db), "--shelter", "Z999"),
                 "避難所ID 'Z999' は本部にありません。--shelter を確かめてください", "no shelter with id 'Z999' at HQ")
    said_in_both(run_evac("hq", "move-kiosk", "--db", str(hq_db), "KNOPE", "--shelter", "H002"),
                 "端末 'KNOPE' は本部に登録されていません", "no kiosk 'KNOPE' is enrolled at HQ")
    assert kiosks(hq_db) == []
    token = run_evac("hq", "enroll-kiosk", "--db", str(hq_db), "--shelter", "H001").stdout.strip()
    kiosk_id = token.split(".")[0]
    assert run_evac("hq", "retire-kiosk", "--db", str(hq_db), kiosk_id).returncode == 0
    [(_, _, retired_at)] = kiosks(hq_db)
    said_in_both(run_evac("hq", "move-kiosk", "--db", str(hq_db), kiosk_id, "--shelter", "H002"),
                 f"端末 {kiosk_id} は登録を取り消されています。`evac hq enroll-kiosk --shelter H002` で登録し直して",
                 f"kiosk {kiosk_id} was retired: enroll the kiosk again")
    assert kiosks(hq_db) == [(kiosk_id, "H001", retired_at)], "the retired kiosk stays where it was"


@pytest.mark.parametrize("url, ja, en", [
    ("not a url ://", "--db 'not a url ://' はデータベースの URL でもファイルのパスでもありません",
     "--db 'not a url ://' is neither a database URL nor a file path"),
    ("foo://x", "'foo' というデータベースのドライバはありません", "no database driver called 'foo'"),
    ("postgresql+psycopg://evac:hunter22@127.0.0.1:5849/evac",
     "本部のデータベース（postgresql+psycopg://evac:***@127.0.0.1:5849/evac）を開けません。--db の接続先",
     "cannot open the HQ database at postgresql+psycopg://evac:***@127.0.0.1:5849/evac"),
])
def test_a_database_url_hq_cannot_use_is_said_in_japanese(tmp_path, url, ja, en):
    result = subprocess.run(evac_cmd("hq", "enroll-kiosk", "--db", url, "--shelter", "H001"), capture_output=True,
                            text=True, cwd=tmp_path, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
    said_in_both(result, ja, en)
    assert len(result.stderr.strip().splitlines()) == 1 and "hunter22" not in result.stderr, result.stderr
    # Nothing is left behind: not even the secret key HQ on PostgreSQL keeps in ./var, made for a database
    # it then could not reach (the next start, on the right database, makes its own).
    assert list(tmp_path.iterdir()) == [], "no file made for a --db HQ cannot use"


def test_hq_given_a_file_that_is_no_database_or_a_kiosks_says_so_in_japanese(tmp_path, hq_db):
    text = tmp_path / "notes.txt"
    text.write_text("not a database\n")
    said_in_both(run_evac("hq", "enroll-kiosk", "--db", str(text), "--shelter", "H001"),
                 f"本部のデータベース（{text}）を開けません。SQLite のデータベースファイルではありません",
                 f"cannot open the HQ database at {text}: this file is not a SQLite database")
    assert text.read_text() == "not a database\n"
    kiosk = tmp_path / "kiosk.sqlite3"
    done = run_evac("kiosk", "checkin", "--new", "--db", str(kiosk), "--shelter", "H001", *TARO, "--sex", "male")
    assert done.returncode == 0, done.stderr
    before = kiosk.read_bytes()
    said_in_both(run_evac("hq", "enroll-kiosk", "--db", str(kiosk), "--shelter", "H001"),
                 f"{kiosk} は端末のデータベースで、本部のデータベースではありません。--db を確かめてください",
                 f"{kiosk} is a kiosk's database, not HQ's")
    assert kiosk.read_bytes() == before


def test_the_kiosks_own_refusals_from_the_same_words_are_said_in_japanese_then_english_too(tmp_path):
    """evac.dbfiles is shared: the kiosk's commands say its refusals as HQ's do ("日本語 / English", in one
    line); checkout was to save a record, so it says none was."""
    text = tmp_path / "notes.txt"
    text.write_text("not a database\n")
    result = run_evac("kiosk", "checkout", "--db", str(text), *TARO)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip() == (f"evac: 端末のデータベース（{text}）を開けません。SQLite のデータベースファイルでは"
                                     "ありません（--db が正しいファイルか確かめてください）。何も保存していません / "
                                     f"cannot open the kiosk database at {text}: this file is not a SQLite "
                                     "database (check --db: is it the right file?); nothing was saved")
    typo = tmp_path / "nodir" / "kiosk.sqlite3"
    result = run_evac("kiosk", "checkout", "--db", str(typo), *TARO)
    assert result.stderr.strip() == (f"evac: {typo} に端末のデータベースがありません。--db を確かめてください（新しく作るのは "
                                     "`evac kiosk serve` または `evac kiosk checkin` です）。何も保存していません / "
                                     f"no kiosk database at {typo} (check --db; `evac kiosk serve` or "
                                     "`evac kiosk checkin` makes a new one); nothing was saved")


@pytest.mark.parametrize("day, ja, en", [
    ("2026-13-01", "'2026-13-01' は日付ではありません。YYYY-MM-DD の形で書いてください", "'2026-13-01' is not a date"),
    ("2999-01-01", "2999-01-01 は明日より後の日付です", "2999-01-01 is after tomorrow"),
])
def test_a_bad_day_for_forget_inquiries_is_said_in_japanese_and_erases_nothing(tmp_path, day, ja, en):
    db = tmp_path / "hq.sqlite3"
    said_in_both(run_evac("hq", "forget-inquiries", "--db", str(db), "--before", day), ja, en)
    assert not db.exists()


def test_a_bad_proxy_count_is_said_in_japanese_and_hq_makes_no_database(tmp_path):
    db = tmp_path / "hq.sqlite3"
    said_in_both(run_evac("hq", "serve", "--db", str(db), "--trusted-proxies", "one"),
                 "'one' はプロキシの数ではありません", "'one' is not a number of proxies")
    assert list(tmp_path.iterdir()) == []


def test_a_bad_area_per_person_is_said_in_japanese_and_leaves_no_database(tmp_path):
    db = tmp_path / "hq.sqlite3"
    result = subprocess.run(evac_cmd("hq", "init", "--db", str(db)), capture_output=True, text=True, cwd=ROOT,
                            timeout=120, env={**os.environ, "EVAC_AREA_PER_PERSON_M2": "abc"})
    said_in_both(result, "EVAC_AREA_PER_PERSON_M2 は避難者1人あたりの床面積", "EVAC_AREA_PER_PERSON_M2 must be")
    assert list(tmp_path.iterdir()) == []


def test_a_busy_port_is_said_in_japanese_and_the_new_database_is_not_kept(tmp_path):
    db = tmp_path / "hq.sqlite3"
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        line = said_in_both(run_evac("hq", "serve", "--db", str(db), "--port", str(port)),
                            f"127.0.0.1 のポート {port} は別のプログラム（別の本部か端末？）が使っています",
                            f"port {port} on 127.0.0.1 is in use by another program", code=1)
    assert f"新しいデータベース {db} は残していません" in line and f"the new database {db} was not kept" in line
    assert list(tmp_path.iterdir()) == []


def test_a_busy_database_is_said_in_japanese_and_nothing_is_enrolled(hq_db):
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(hq_db)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        result = subprocess.run(evac_cmd("hq", "enroll-kiosk", "--db", str(hq_db), "--shelter", "H001"),
                                capture_output=True, text=True, cwd=ROOT, timeout=120,
                                env={**os.environ, "EVAC_SQLITE_BUSY_TIMEOUT_SECONDS": "1"})
    finally:
        holder.communicate("\n", timeout=30)
    said_in_both(result, "本部のデータベースは別の処理が書き込み中です。何も変更していません。もう一度実行してください",
                 "HQ's database is busy (another process is writing); nothing was changed; try again", code=1)
    assert result.stdout == "" and kiosks(hq_db) == []


def test_import_refusals_are_said_in_japanese_and_change_nothing(tmp_path, hq_db):
    before = hq_db.read_bytes()
    said_in_both(run_evac("hq", "import", str(tmp_path), "--db", str(hq_db)),
                 f"{tmp_path} はフォルダです。ファイルを1つ指定してください", f"{tmp_path} is a folder: give one file")
    sheet = tmp_path / "sites.xlsx"
    sheet.write_bytes(b"PK\x03\x04")
    said_in_both(run_evac("hq", "import", str(sheet), "--db", str(hq_db)),
                 "取り込みを中止しました。何も変更していません。sites.xlsx: .xlsx は取り込めない種類です",
                 "import refused, nothing was changed: sites.xlsx: unknown file type .xlsx")
    assert hq_db.read_bytes() == before


def test_a_file_that_is_no_kiosks_records_is_said_in_japanese_as_hqs_page_says_it(tmp_path, hq_db):
    junk = tmp_path / "records.json"
    junk.write_text("not a kiosk's records\n")
    said_in_both(run_evac("hq", "import-records", "--db", str(hq_db), str(junk)),
                 f"{junk}: 本部が読める端末の記録ファイルではありません", f"{junk}: the file is not a kiosk's records")
    assert kiosks(hq_db) == []


def test_a_household_hq_never_registered_is_said_in_japanese(hq_db):
    said_in_both(run_evac("hq", "revoke-prereg", "--db", str(hq_db), "HNOPE"),
                 "事前登録の世帯 'HNOPE' はありません。登録番号を確かめてください", "no pre-registered household 'HNOPE'")
