"""More of `evac hq …`'s refusals, in Japanese first, then English ("日本語 / English", one line), with no
traceback and nothing written: staff accounts, pre-registration keys, EVAC_ settings, a database of another
release, and the files `evac hq import` refuses (whose words live in the shared core, evac.opendata and
evac.geodata, and stay English for other callers)."""
from __future__ import annotations

import os
import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT, evac_cmd, run_evac
from tests.old_hq import old_hq_database
from tests.test_hq_cli_japanese import hq_db, said_in_both  # noqa: F401  (hq_db: fixture)
from tests.test_hq_secret_key_upgrade import evac_in, kept_ic_token_key

PASSWORD = "correct horse battery"
# (a layer written without a coordinate system is what the refusals below are about)
NO_CRS = pytest.mark.filterwarnings("ignore:'crs' was not provided")


def staff(db: Path) -> list:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT username, role, disabled_at IS NULL FROM staff_users ORDER BY username").fetchall()
    finally:
        conn.close()


@pytest.fixture
def with_staff(hq_db) -> Path:  # noqa: F811
    done = run_evac("hq", "add-staff", "--db", str(hq_db), "--username", "boss", "--role", "lead",
                    input=PASSWORD + "\n")
    assert done.returncode == 0, done.stderr
    return hq_db


def test_a_too_short_password_is_said_in_japanese_and_no_account_is_made(with_staff):
    before = staff(with_staff)
    said_in_both(run_evac("hq", "add-staff", "--db", str(with_staff), "--username", "sato", input="short\n"),
                 "パスワードは 10 文字以上にしてください", "the password must be at least 10 characters")
    said_in_both(run_evac("hq", "set-password", "--db", str(with_staff), "--username", "boss", input="short\n"),
                 "パスワードは 10 文字以上にしてください", "the password must be at least 10 characters")
    assert staff(with_staff) == before


@pytest.mark.parametrize("name, ja, en", [
    ("x" * 65, "職員名は1〜64文字です", "a staff name is 1 to 64 characters"),
    ("boss", "'boss' という職員はすでにいます", "there is already a staff member called 'boss'"),
    ("職員123456789018", "職員名に個人番号（マイナンバー）を入れてはいけません",
     "a staff name must not hold an Individual Number"),
])
def test_a_staff_name_hq_cannot_take_is_said_in_japanese(with_staff, name, ja, en):
    before = staff(with_staff)
    said_in_both(run_evac("hq", "add-staff", "--db", str(with_staff), "--username", name, input=PASSWORD + "\n"),
                 ja, en)
    assert staff(with_staff) == before


@pytest.mark.parametrize("command", [("disable-staff", "--username", "tanaka"),
                                     ("enable-staff", "--username", "tanaka"), ("set-role", "tanaka", "desk")])
def test_an_unknown_staff_member_is_said_in_japanese_with_hqs_staff(with_staff, command):
    before = staff(with_staff)
    said_in_both(run_evac("hq", command[0], "--db", str(with_staff), *command[1:]),
                 "'tanaka' という職員はいません（本部の職員: boss）", "there is no staff member called 'tanaka' "
                 "(HQ's staff: boss)")
    assert staff(with_staff) == before


def test_an_unknown_staff_member_of_an_hq_with_none_says_how_to_add_one(hq_db):  # noqa: F811
    said_in_both(run_evac("hq", "set-password", "--db", str(hq_db), "--username", "tanaka", input=PASSWORD + "\n"),
                 "'tanaka' という職員はいません（本部にはまだ職員がいません。evac hq add-staff で追加してください）",
                 "there is no staff member called 'tanaka' (HQ has no staff yet: add-staff)")
    assert staff(hq_db) == []


def test_a_bad_role_is_said_in_japanese(with_staff):
    before = staff(with_staff)
    said_in_both(run_evac("hq", "set-role", "--db", str(with_staff), "boss", "chief"),
                 "「chief」はHQ職員の役割ではありません", "'chief' is not an HQ staff role")
    said_in_both(run_evac("hq", "add-staff", "--db", str(with_staff), "--username", "sato", "--role", "chief",
                          input=PASSWORD + "\n"), "「chief」はHQ職員の役割ではありません", "'chief' is not an HQ staff role")
    assert staff(with_staff) == before


def prereg_keys(db: Path) -> list:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT kid, active, retired_at, private_raw FROM prereg_keys ORDER BY kid").fetchall()
    finally:
        conn.close()


def test_retire_prereg_key_refusals_are_said_in_japanese(hq_db):  # noqa: F811
    said_in_both(run_evac("hq", "retire-prereg-key", "--db", str(hq_db), "deadbeef"),
                 "事前登録の鍵 'deadbeef' はありません（鍵: まだありません）",
                 "no pre-registration key 'deadbeef' (keys: none yet)")
    kid = run_evac("hq", "rotate-prereg-key", "--db", str(hq_db)).stdout.strip()
    before = prereg_keys(hq_db)
    said_in_both(run_evac("hq", "retire-prereg-key", "--db", str(hq_db), "deadbeef"),
                 f"事前登録の鍵 'deadbeef' はありません（鍵: {kid}）", f"no pre-registration key 'deadbeef' (keys: {kid})")
    said_in_both(run_evac("hq", "retire-prereg-key", "--db", str(hq_db), kid),
                 f"{kid} は今、新しい QR に署名している鍵です。先に新しい鍵を作ってから（evac hq rotate-prereg-key",
                 f"{kid} signs new QRs: make a new key first (evac hq rotate-prereg-key")
    assert prereg_keys(hq_db) == before


@pytest.mark.parametrize("name, value, ja, en", [
    ("EVAC_TRUSTED_PROXIES", "one", "EVAC_TRUSTED_PROXIES は本部の前にあるリバースプロキシの数で、0 以上の整数です",
     "TRUSTED_PROXIES (EVAC_TRUSTED_PROXIES) is the number of reverse proxies"),
    ("EVAC_STAFF_TRUSTED_NETWORKS", "10.20.0.0/33", "EVAC_STAFF_TRUSTED_NETWORKS は本部自身のネットワークを",
     "STAFF_TRUSTED_NETWORKS (EVAC_STAFF_TRUSTED_NETWORKS) lists HQ's own networks"),
    ("EVAC_STAFF_IDLE_MINUTES", "0", "EVAC_STAFF_IDLE_MINUTES は 0 より大きく 1440 以下の数です",
     "STAFF_IDLE_MINUTES (EVAC_STAFF_IDLE_MINUTES) must be a number above 0 and at most 1440"),
    ("EVAC_STAFF_SESSION_HOURS", "999", "EVAC_STAFF_SESSION_HOURS は 0 より大きく 168 以下の数です",
     "STAFF_SESSION_HOURS (EVAC_STAFF_SESSION_HOURS) must be a number above 0 and at most 168"),
    ("EVAC_PUBLIC_URL", "anpi.city.yaizu.example", "EVAC_PUBLIC_URL は家族が開く本部のアドレスです",
     "PUBLIC_URL (EVAC_PUBLIC_URL) is HQ's address as families reach it"),
    ("EVAC_HAZARD_MIN_DEPTH_M", "deep", "EVAC_HAZARD_MIN_DEPTH_M は、避難所に印を付けるハザード区域の深さ",
     "HAZARD_MIN_DEPTH_M (EVAC_HAZARD_MIN_DEPTH_M) is how deep"),
    ("EVAC_CARRIED_WAIT_SECONDS", "long", "EVAC_CARRIED_WAIT_SECONDS は、持ち込まれた記録ファイルが",
     "CARRIED_WAIT_SECONDS (EVAC_CARRIED_WAIT_SECONDS) is how long a carried file waits"),
    ("EVAC_SQLITE_BUSY_TIMEOUT_SECONDS", "0", "EVAC_SQLITE_BUSY_TIMEOUT_SECONDS は、別の処理が本部の SQLite",
     "SQLITE_BUSY_TIMEOUT_SECONDS (EVAC_SQLITE_BUSY_TIMEOUT_SECONDS) is how long a write waits"),
    ("EVAC_SAFETY_WAITING_PER_CLIENT", "0", "EVAC_SAFETY_WAITING_PER_CLIENT は、一つの接続元から職員の確認を待てる",
     "SAFETY_WAITING_PER_CLIENT (EVAC_SAFETY_WAITING_PER_CLIENT) is how many inquiries"),
])
def test_a_bad_setting_is_said_in_japanese_and_leaves_no_database(tmp_path, name, value, ja, en):
    db = tmp_path / "hq.sqlite3"
    result = subprocess.run(evac_cmd("hq", "init", "--db", str(db)), capture_output=True, text=True, cwd=ROOT,
                            timeout=120, env={**os.environ, name: value})
    said_in_both(result, ja, en)
    assert list(tmp_path.iterdir()) == []


def at_revision(db: Path, revision: str) -> None:
    conn = sqlite3.connect(db)
    try:
        conn.execute("UPDATE alembic_version SET version_num = ?", (revision,))
        conn.commit()
    finally:
        conn.close()


@pytest.mark.parametrize("command", [("enroll-kiosk", "--shelter", "H001"), ("init",)])
def test_a_database_of_a_newer_release_is_said_in_japanese_and_left_as_it_is(hq_db, command):  # noqa: F811
    """Alembic only said it "can't locate revision" (init), and other commands called it an older release."""
    at_revision(hq_db, "0999_from_the_future")
    before = hq_db.read_bytes()
    line = said_in_both(run_evac("hq", command[0], "--db", str(hq_db), *command[1:]),
                        "本部のデータベースは 0999_from_the_future で、このリリース", "HQ's database is at "
                        "0999_from_the_future, from a newer release than this one")
    assert "新しいリリースで実行してください" in line and "run the newer release" in line and "older" not in line
    assert hq_db.read_bytes() == before


def test_a_database_of_an_older_release_is_said_in_japanese_and_not_upgraded(tmp_path):
    db = tmp_path / "hq.sqlite3"
    old_hq_database(db, "0022_kiosk_last_seq")
    before = db.read_bytes()
    said_in_both(run_evac("hq", "enroll-kiosk", "--db", str(db), "--shelter", "H001"),
                 "本部のデータベースは古いリリースのスキーマ 0022_kiosk_last_seq です",
                 "HQ's database is at 0022_kiosk_last_seq, from an older release")
    assert db.read_bytes() == before


def test_rows_pointing_at_nothing_after_an_upgrade_are_said_in_japanese(tmp_path):
    db = tmp_path / "hq.sqlite3"
    old_hq_database(db, "0009_map")
    conn = sqlite3.connect(db)
    conn.execute("UPDATE kiosks SET shelter_id = 'H999'")
    conn.commit()
    conn.close()
    said_in_both(run_evac("hq", "init", "--db", str(db)),
                 "本部のデータベースを更新しましたが、1 行が存在しない行を指しています: kiosks 表の行 1（指す先の shelters "
                 "表の行がありません）", "HQ's database was upgraded, but 1 row(s) point at rows that are not there: "
                 "kiosks row 1 (its shelters row is missing)")


def test_an_old_secret_key_not_found_is_said_in_japanese_and_no_new_key_is_kept(tmp_path):
    db = tmp_path / "srv" / "var" / "hq.sqlite3"
    db.parent.mkdir(parents=True)
    old_hq_database(db, "0009_map")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    said_in_both(evac_in(elsewhere, "hq", "init", "--db", str(db)),
                 "本部のデータベースには、古い秘密鍵で作った登録済みの端末 1 台と IC カードの紐付け 0 件があります",
                 "HQ's database has 1 enrolled kiosk(s) and 0 IC card link(s) made with its old secret key")
    assert not db.with_name("hq.sqlite3.secret-key").exists() and kept_ic_token_key(db) is None


@pytest.mark.parametrize("name, data, ja, en", [
    ("sites.csv", "NO,名称\n1,どこか\n".encode(), "sites.csv: 対応していない形式のファイルです",
     "sites.csv: unknown file format"),
    ("sites.csv", b"\x89PNG\r\n\x1a\n\xff\xfe\x81\xff", "sites.csv: UTF-8 か Shift_JIS のテキストファイルではありません",
     "sites.csv: not a text file in UTF-8 or Shift_JIS"),
    ("sites.csv", b"", "sites.csv: ファイルが空です", "sites.csv: the file is empty"),
])
def test_a_site_list_hq_cannot_read_is_said_in_japanese_and_nothing_is_imported(tmp_path, hq_db, name, data, ja,
                                                                                en):  # noqa: F811
    path = tmp_path / name
    path.write_bytes(data)
    before = hq_db.read_bytes()
    said_in_both(run_evac("hq", "import", str(path), "--db", str(hq_db)),
                 f"取り込みを中止しました。何も変更していません。{ja}", f"import refused, nothing was changed: {en}")
    assert hq_db.read_bytes() == before


def test_a_missing_column_is_named_in_japanese(tmp_path, hq_db):  # noqa: F811
    """The nearest format's missing columns, each in 「」: a column's own name may hold 、."""
    from evac.shelters import EMERGENCY_SPACE_HAZARD_COLUMNS
    header = ["全国地方公共団体コード", "ID", "名称", "緯度", *EMERGENCY_SPACE_HAZARD_COLUMNS]   # no 経度
    path = tmp_path / "sites.csv"
    path.write_text(",".join(header) + "\n" + ",".join(["222127", "1", "どこか", "34.8"] + [""] * 8) + "\n")
    before = hq_db.read_bytes()
    line = said_in_both(run_evac("hq", "import", str(path), "--db", str(hq_db)),
                        "いちばん近いのは「自治体標準オープンデータセット 指定緊急避難場所一覧」ですが、列「経度」がありません",
                        "Nearest is 自治体標準オープンデータセット 指定緊急避難場所一覧, which also needs the column(s) 経度.")
    assert "「災害種別_崖崩れ、土石流及び地滑り」" in line.partition(" / ")[0]
    assert hq_db.read_bytes() == before


def test_a_cut_site_list_is_said_in_japanese(tmp_path, hq_db):  # noqa: F811
    path = tmp_path / "sites.csv"
    path.write_text("NO,名称,名称_カナ,住所,緯度,経度,電話番号,区分\n1,ビル,びる,焼津市,34.8,138.3,054,津波\n2,ビル2\n")
    before = hq_db.read_bytes()
    said_in_both(run_evac("hq", "import", str(path), "--db", str(hq_db)),
                 "sites.csv: 3 行目の項目は 2 個で、見出し行は 8 個です", "sites.csv: line 3 has 2 fields, the header has 8")
    assert hq_db.read_bytes() == before


@NO_CRS
def test_a_layer_with_no_coordinate_system_is_said_in_japanese_and_nothing_is_imported(tmp_path, hq_db):  # noqa: F811
    """evac.geodata's refusal: a shapefile without its .prj, in metres of a plane zone, not lon/lat."""
    import geopandas as gpd
    import shapely
    path = tmp_path / "tsunami.shp"
    gpd.GeoDataFrame({"depth": ["1m"]}, geometry=[shapely.box(40000, -110000, 40100, -109900)]).to_file(path)
    assert not path.with_suffix(".prj").exists()
    before = hq_db.read_bytes()
    said_in_both(run_evac("hq", "import", str(path), "--db", str(hq_db), "--hazard", "tsunami", "--credit", "test"),
                 "取り込みを中止しました。何も変更していません。tsunami.shp: 座標系（.prj ファイル）がなく、座標も経度・緯度"
                 "ではありません", "import refused, nothing was changed: tsunami.shp: no coordinate system given")
    assert hq_db.read_bytes() == before


@NO_CRS
def test_the_shared_core_keeps_its_english_for_other_callers(tmp_path):
    """evac.opendata and evac.geodata: str() is the English as before; the Japanese rides along in .ja."""
    from evac.geodata import read_frame
    from evac.opendata import ImportFormatError, read_site_file
    path = tmp_path / "sites.csv"
    path.write_bytes(b"")
    with pytest.raises(ImportFormatError) as refused:
        read_site_file(path)
    assert str(refused.value) == "sites.csv: the file is empty" and refused.value.ja == "sites.csv: ファイルが空です"
    import geopandas as gpd
    import shapely
    layer = tmp_path / "zone.shp"
    gpd.GeoDataFrame({"a": [1]}, geometry=[shapely.box(40000, -110000, 40100, -109900)]).to_file(layer)
    with pytest.raises(ValueError) as refused:
        read_frame(layer)
    assert str(refused.value) == ("zone.shp: no coordinate system given (a .prj file) and the coordinates are not "
                                  "longitude/latitude")
    assert refused.value.ja == "zone.shp: 座標系（.prj ファイル）がなく、座標も経度・緯度ではありません"
