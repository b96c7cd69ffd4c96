"""The last lines `evac kiosk …` said in English only, as the shelter's staff read the kiosk's terminal: Japanese
first, then the English ("日本語 / English"; `evac: ` before both in a refusal or a note on stderr).  The
staff-account commands, `withdraw`'s listing of the record HQ refuses, and what `carry` says of a damaged
database.  What scripts or tests read in English stays, whole, in the English half.  The real `evac` on a
real SQLite file."""
from __future__ import annotations

import sqlite3

from evac.events import Person
from evac.identity import person_key
from kiosk import staff_store
from kiosk.store import HQ_OUTDATED, KioskStore
from tests.conftest import run_evac
from tests.refusal_words import JAPANESE

PASSWORD = "correct horse battery"
HANAKO = Person("焼津 花子", "1990-01-01", "female", "焼津市本町1")
WRONG = Person("間違 名前", "1970-01-01", "female", "焼津市本町1-1")
RIGHT = Person("正しい 名前", "1970-01-01", "female", "焼津市本町1-1")


def japanese_first(text: str, english: str, names: tuple[str, ...] = ()) -> str:
    """The line saying `english`, whole, in its English half after a Japanese one; the Japanese half returned.
    `names`: evacuees' names, which the English half says as written."""
    line = next((line for line in text.splitlines() if english in line), None)
    assert line is not None, text
    ja, slash, en = line.removeprefix("evac: ").partition(" / ")
    assert slash and JAPANESE.search(ja) and english in en, line
    for name in names:
        en = en.replace(name, "")
    assert not JAPANESE.search(en), line
    return ja


def every_line_japanese_first(text: str, names: tuple[str, ...] = ()) -> None:
    lines = text.splitlines()
    assert lines, text
    for line in lines:
        japanese_first(line, line.partition(" / ")[2], names)


# -- the staff accounts -------------------------------------------------------------------------

def test_the_staff_account_commands_say_what_they_did_japanese_first(tmp_path):
    db = ("--db", str(tmp_path / "kiosk.sqlite3"))
    added = run_evac("kiosk", "add-staff", *db, "--name", "tanaka", "--role", "lead", input=PASSWORD + "\n")
    assert added.returncode == 0, added.stderr
    ja = japanese_first(added.stdout, "staff account added: tanaka (lead)")
    assert "tanaka" in ja and "責任者" in ja and "追加しました" in ja, ja
    every_line_japanese_first(added.stdout)   # with the new database it made

    disabled = run_evac("kiosk", "disable-staff", *db, "--name", "tanaka")
    assert disabled.returncode == 0, disabled.stderr
    ja = japanese_first(disabled.stdout, "staff account disabled: tanaka (logged out everywhere; its records stay "
                                         "under its name; `evac kiosk enable-staff` lets it log in again)")
    for words in ("無効にしました", "ログアウト", "名前", "evac kiosk enable-staff"):
        assert words in ja, ja

    enabled = run_evac("kiosk", "enable-staff", *db, "--name", "tanaka")
    assert enabled.returncode == 0, enabled.stderr
    ja = japanese_first(enabled.stdout, "staff account enabled: tanaka (lead) can log in again")
    assert "tanaka" in ja and "ログインできます" in ja, ja

    changed = run_evac("kiosk", "set-password", *db, "--name", "tanaka", input="another long password\n")
    assert changed.returncode == 0, changed.stderr
    ja = japanese_first(changed.stdout, "password changed: tanaka (logged out everywhere; log in with the new "
                                        "password)")
    assert "パスワードを変更しました" in ja and "新しいパスワードでログイン" in ja, ja


# -- withdraw: the record HQ refuses, listed --------------------------------------------------------

def test_withdraw_lists_the_refused_record_and_how_to_withdraw_it_japanese_first(tmp_path):
    db = tmp_path / "kiosk.sqlite3"
    store = KioskStore(db)
    store.check_in("H031", [HANAKO])
    store.note_refusal(1, "event 1 of the batch: unknown shelter id(s): Z999", code="unknown_shelter")
    store.close()
    shown = run_evac("kiosk", "withdraw", "--db", str(db))
    assert shown.returncode == 0 and not shown.stderr, shown.stderr
    every_line_japanese_first(shown.stdout, (HANAKO.name,))
    ja = japanese_first(shown.stdout, f"HQ refuses record 1 (checkin, {HANAKO.name}, at H031): event 1 of the batch: "
                                      "unknown shelter id(s): Z999", (HANAKO.name,))
    assert "記録 1 番" in ja and "受け付けません" in ja and "本部が知らない避難所" in ja, ja
    ja = japanese_first(shown.stdout, f"To send the other records without it: evac kiosk withdraw --db {db} --seq 1 "
                                      "--reason WHY --by YOUR-NAME  (the record stays on this kiosk; HQ sees only "
                                      "the reason)")
    assert f"evac kiosk withdraw --db {db} --seq 1 --reason" in ja and "この端末に残ります" in ja, ja


def test_a_record_hqs_older_software_refuses_is_said_not_to_be_withdrawn_japanese_first_and_once(tmp_path):
    db = tmp_path / "kiosk.sqlite3"
    store = KioskStore(db)
    store.check_in("H001", [WRONG])
    row = staff_store.person(store, person_key(WRONG.name, WRONG.birth_date, WRONG.address))
    staff_store.correct(store, "H001", row, RIGHT, stay_type="in_shelter", needs=[], contact_phone="",
                        home_damage="unknown", household_members=None, consent="none", family_code="")
    seq = store.last_seq
    # As an older HQ words it (tests/test_sync_hq_outdated.py has it said by a real one).
    store.note_refusal(seq, "event 1 of the batch: unknown event type 'correction'", code="invalid_event")
    assert store.refusal().code == HQ_OUTDATED
    store.close()
    older = ("HQ's software is older than this kiosk's: it does not know this kind of record. Ask HQ to update its "
             "software. Do NOT withdraw this record: the records stay queued on this kiosk and are sent once HQ is "
             "updated.")

    shown = run_evac("kiosk", "withdraw", "--db", str(db))
    assert shown.returncode == 0 and not shown.stderr, shown.stderr
    every_line_japanese_first(shown.stdout, (WRONG.name,))
    ja = japanese_first(shown.stdout, f"HQ refuses record {seq} (correction, {WRONG.name}, at H001): event 1 of the "
                                      "batch: unknown event type 'correction'", (WRONG.name,))
    assert f"記録 {seq} 番" in ja and "受け付けません" in ja, ja
    ja = japanese_first(shown.stdout, older)
    assert "本部のソフトウェアがこの端末より古く" in ja and "更新を依頼してください" in ja, ja
    # Said once, and of the record above it (not "below", as the tablet's panel has it).
    assert shown.stdout.count("取り下げないでください") == 1 and "この端末に残" in ja, shown.stdout
    assert "（下に" not in shown.stdout and "--seq" not in shown.stdout, shown.stdout

    tried = run_evac("kiosk", "withdraw", "--db", str(db), "--seq", str(seq), "--reason", "x")
    assert tried.returncode == 2 and not tried.stdout, tried.stdout
    first = tried.stderr.splitlines()[0]
    assert first.startswith("evac: "), tried.stderr
    ja = japanese_first(first, f"record {seq} is not withdrawn")
    assert ja == f"記録 {seq} 番は取り下げませんでした", ja
    every_line_japanese_first(tried.stderr, (WRONG.name,))
    assert tried.stderr.count("取り下げないでください") == 1 and older in tried.stderr, tried.stderr


# -- carry: a damaged database ----------------------------------------------------------------------

def _three_hundred_records(db) -> list[int]:
    """A kiosk database of 300 check-ins; the pages holding its records, in order."""
    store = KioskStore(db)
    store.append([{"type": "checkin", "shelter_id": "H031", "household_id": "", "data": {"stay_type": "in_shelter"},
                   "person": Person(f"焼津 {i}郎", "1950-01-02", "male", f"焼津市本町{i}").to_wire()}
                  for i in range(300)])
    store.close()
    with sqlite3.connect(db) as conn:
        leaves = [r[0] for r in conn.execute(
            "SELECT pageno FROM dbstat WHERE name = 'events' AND pagetype = 'leaf' ORDER BY pageno")]
    conn.close()
    return leaves


def _overwrite(db, page: int) -> None:
    with open(db, "r+b") as f:
        f.seek((page - 1) * 4096)
        f.write(bytes(range(256)) * 16)


def test_carrying_what_a_damaged_database_still_holds_is_said_japanese_first(tmp_path):
    db = tmp_path / "kiosk.sqlite3"
    leaves = _three_hundred_records(db)
    _overwrite(db, leaves[len(leaves) // 2])
    out = tmp_path / "records.json"
    done = run_evac("kiosk", "carry", "--db", str(db), "--out", str(out))
    assert done.returncode == 0, done.stderr
    (line,) = [line for line in done.stderr.splitlines() if "is damaged" in line]
    assert line.startswith("evac: "), line
    ja = japanese_first(line, f"the kiosk database at {db} is damaged: records 1 to ")
    en = line.partition(" / ")[2]
    assert "give HQ the damaged file too" in en and en.endswith(". Keep the damaged file."), line
    for words in (f"端末のデータベース（{db}）が壊れています", "記録 1〜", "失われました", "本部に渡してください",
                  "消さずに残してください"):
        assert words in ja, ja


def test_a_damaged_database_whose_first_record_is_lost_is_said_japanese_first(tmp_path):
    db = tmp_path / "kiosk.sqlite3"
    leaves = _three_hundred_records(db)
    _overwrite(db, leaves[0])
    out = tmp_path / "records.json"
    done = run_evac("kiosk", "carry", "--db", str(db), "--out", str(out))
    assert done.returncode == 2 and not out.exists(), done.stderr
    (line,) = done.stderr.splitlines()
    assert line.startswith("evac: "), line
    ja = japanese_first(line, f"the kiosk database at {db} is damaged and no record from the first on can be read "
                              "from it (")
    assert "Keep the file, do not delete it: give it to HQ" in line and "(`evac hq enroll-kiosk`)" in line, line
    for words in (f"端末のデータベース（{db}）が壊れて", "消さずに", "本部に渡して", "-wal", "evac hq enroll-kiosk"):
        assert words in ja, ja
