"""`evac kiosk checkin` that made a new kiosk database says so Japanese first, then in English, whole in both:
the city's operator typing paper forms must notice a mistyped --db (the records would be in a stray file that
nobody serves or syncs).  The real `evac` on real SQLite files."""
from __future__ import annotations

from tests.test_kiosk_checkin_at_another_shelter import checkin


def test_no_database_there_is_said_japanese_first(tmp_path):
    db = tmp_path / "typo.sqlite3"
    done = checkin(db)
    assert done.returncode == 0, done.stderr
    ja = (f"evac: 注意: {db} に端末のデータベースはありませんでした。端末のデータベースを {db} に新しく作りました。この端末は "
          f"--db {db} で起動・同期してください（既存の端末のデータベースのつもりなら --db を確かめてください。この記録は"
          "新しいファイルに入っています）")
    en = (f"note: there was no kiosk database at {db}; a new kiosk database was made at {db}: serve and sync the "
          f"kiosk with --db {db} (if you meant an existing kiosk's database, check --db: these records are in the "
          "new file)")
    assert done.stderr.strip().endswith(f"{ja} / {en}"), done.stderr


def test_an_empty_file_is_said_japanese_first(tmp_path):
    db = tmp_path / "kiosk.sqlite3"
    db.touch()
    done = checkin(db)
    assert done.returncode == 0, done.stderr
    assert f"evac: 注意: {db} は空のファイルで、まだ端末のデータベースではありませんでした。" in done.stderr, done.stderr
    assert "本部に連絡してください） / note: the file at" in done.stderr, done.stderr


def test_a_new_database_meant_is_said_on_stdout_in_both(tmp_path):
    db = tmp_path / "new.sqlite3"
    done = checkin(db, "--new")
    assert done.returncode == 0, done.stderr
    assert (f"端末のデータベースを {db} に新しく作りました。この端末は --db {db} で起動・同期してください / a new kiosk "
            f"database was made at {db}: serve and sync the kiosk with --db {db}") in done.stdout, done.stdout
