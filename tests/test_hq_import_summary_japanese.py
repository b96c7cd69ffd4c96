"""`evac hq import`'s summary as HQ's Japanese staff read it: each line in Japanese, then the same in English
(the counts, every reason a row is skipped for, the capacities HQ kept), run as a real process on a real HQ
database.  A value Python cannot convert is said by its column, not in Python's words."""
from __future__ import annotations

import csv
import io
import sqlite3

from evac.opendata import STANDARD_HEADER
from evac.shelters import default_data_dir
from tests.conftest import run_evac
from tests.test_hq_import import gsi_file, hq_db, initialised_hq_db  # noqa: F401  (fixtures: an HQ db copy)

SHELTER_CSV = default_data_dir() / "yaizu-city_opendata/避難所一覧/222127_hinannjo.csv"
PYTHONS_WORDS = ("could not convert", "invalid literal", "Exceeds the limit", "Traceback")


def write_csv(path, header, rows) -> None:
    out = io.StringIO()
    writer = csv.DictWriter(out, header, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")


def imported(path, db, *more: str) -> str:
    result = run_evac("hq", "import", str(path), "--db", str(db), "--quiet", *more)
    assert result.returncode == 0, result.stderr
    for words in PYTHONS_WORDS:
        assert words not in result.stdout + result.stderr, result.stdout
    return result.stdout


def said(stdout: str, start_ja: str, ja: str, start_en: str, en: str) -> None:
    """A summary line in Japanese (starting `start_ja`, holding `ja`), the next line the English."""
    lines = stdout.splitlines()
    at = next((i for i, line in enumerate(lines) if line.startswith(start_ja)), None)
    assert at is not None, f"no line starting {start_ja!r}:\n{stdout}"
    assert ja in lines[at], lines[at]
    assert at + 1 < len(lines) and lines[at + 1].startswith(start_en) and en in lines[at + 1], lines[at:at + 2]


def skipped(stdout: str, line: int, ja: str, en: str) -> None:
    said(stdout, f"  {line} 行目は取り込みませんでした: ", ja, f"  skipped line {line}: ", en)


def standard_row(**cells) -> dict:
    row = dict.fromkeys(STANDARD_HEADER, "")
    row.update({"全国地方公共団体コード": "222127", "ID": "1", "名称": "中港タワー", "緯度": "34.87512688",
                "経度": "138.3270609", "災害種別_津波": "1"})
    row.update(cells)
    return row


def test_every_reason_of_the_standard_list_and_the_kept_capacity_are_said_in_japanese_then_english(hq_db, tmp_path):
    first = tmp_path / "first.csv"
    write_csv(first, STANDARD_HEADER, [standard_row(想定収容人数="3")])
    imported(first, hq_db)
    path = tmp_path / "sites.csv"
    write_csv(path, STANDARD_HEADER, [
        standard_row(),                                                    # 2: E001, its capacity left empty
        standard_row(ID="2", 災害種別_津波="yes"),                          # 3
        standard_row(ID="3", 想定収容人数="たくさん"),                        # 4
        standard_row(ID="4", 想定収容人数="99999999999"),                    # 5
        standard_row(ID="5", 名称=""),                                     # 6
        standard_row(ID="X" * 17),                                         # 7
        standard_row(ID="6", 緯度="北緯34度"),                               # 8
        standard_row(ID="7", 経度="238.3"),                                 # 9
        standard_row(ID="8", 名称="長" * 201),                               # 10
        standard_row(ID="9", 名称_カナ="カ" * 201),                           # 11
        standard_row(ID="10", 所在地_連結表記="焼津市" + "1" * 300),            # 12
        standard_row(ID="11", 電話番号="054-" * 11),                          # 13
        standard_row(ID="1" * 5000),                                       # 14: more digits than int() reads
        standard_row(),                                                    # 15: E001 again
        standard_row(ID="H001", 名称="二区コミュニティ防災センター"),            # 16: a 指定避難所 at HQ
    ])
    out = imported(path, hq_db)
    said(out, "形式: ", "自治体標準オープンデータセット 指定緊急避難場所一覧", "format: ", "自治体標準オープンデータセット")
    said(out, "追加 0 件、", "更新 0 件、変更なし 1 件、取り込まなかった行 14 件", "added 0, ",
         "updated 0, unchanged 1, skipped 14")
    skipped(out, 3, "災害種別_津波は ○ か 1 か空欄にしてください（'yes' とあります）",
            "災害種別_津波 must be a flag (○ or 1) or empty, got 'yes'")
    skipped(out, 4, "想定収容人数は整数にしてください（'たくさん' とあります）", "想定収容人数 must be a whole number")
    skipped(out, 5, "想定収容人数 99999999999 は1か所の収容人数として多すぎます（最大 100,000 人）",
            "想定収容人数 99999999999 is more than any one site holds (at most 100,000)")
    skipped(out, 6, "名称が空です", "名称 (name) is empty")
    skipped(out, 7, f"ID '{'X' * 17}' が空か、16 文字を超えています", "the site id 'XXXX")
    skipped(out, 8, "緯度が数値ではありません: '北緯34度'", "緯度 (latitude) is not a number: '北緯34度'")
    skipped(out, 9, "経度が範囲（-180〜180）の外です: '238.3'", "経度 (longitude) out of range [-180, 180]: '238.3'")
    skipped(out, 10, "名称が 201 文字あります。本部が保存できるのは 200 文字までです",
            "名称 (name) is 201 characters long; HQ keeps at most 200")
    skipped(out, 11, "名称_カナが 201 文字あります", "名称_カナ (kana) is 201 characters long")
    skipped(out, 12, "住所が 303 文字あります", "住所 (address) is 303 characters long")
    skipped(out, 13, "電話番号が 44 文字あります", "電話番号 (phone) is 44 characters long")
    skipped(out, 14, "ID '11111", "the site id '11111")
    skipped(out, 15, "E001 がファイルに2回あります。最初の行を使いました",
            "site E001 appears twice in the file; the first row was kept")
    skipped(out, 16, "H001 は本部では指定避難所ですが、ファイルでは指定緊急避難場所です",
            "site H001 is a shelter at HQ, the file says emergency_space")
    said(out, "  ファイルに収容人数も面積もない 1 か所は、本部の収容人数を残しました（E001 3）", "",
         "  kept HQ's capacity of 1 site(s) the file gives no capacity or area for (E001 3)", "")
    assert len(max(out.splitlines(), key=len)) < 400     # a value 5,000 characters long is not echoed whole


def test_every_reason_of_the_citys_shelter_list_is_said_in_japanese_then_english(hq_db, tmp_path):
    rows = list(csv.DictReader(io.StringIO(SHELTER_CSV.read_text(encoding="utf-8-sig"), newline="")))[:8]
    rows[0]["NO"] = "0"                                                    # 2
    rows[1]["NO"] = "2" * 5000                                             # 3
    rows[2]["避難所面積平方メートル"] = "広い"                                  # 4
    rows[3]["避難所面積平方メートル"] = "-5"                                    # 5
    rows[4]["避難所面積平方メートル"] = "9999999"                               # 6
    rows[5]["開設される災害の種類（風水害）"] = "×"                              # 7
    rows[6]["緯度"] = "abc"                                                 # 8
    path = tmp_path / "shelters.csv"
    write_csv(path, list(rows[0]), rows)
    out = imported(path, hq_db)
    said(out, "形式: ", "焼津市 指定避難所一覧", "format: ", "焼津市 指定避難所一覧")
    said(out, "追加 0 件、", "取り込まなかった行 7 件", "added 0, ", "skipped 7")
    skipped(out, 2, "NO は 1 以上の整数にしてください（'0' とあります）", "NO must be a positive whole number, got '0'")
    skipped(out, 3, "NO '22222", "NO '22222")
    skipped(out, 4, "避難所面積平方メートルが数値ではありません: '広い'", "避難所面積平方メートル is not a number: '広い'")
    skipped(out, 5, "避難所面積平方メートルは 0 以上の数値にしてください: '-5'",
            "避難所面積平方メートル must be a non-negative number: '-5'")
    skipped(out, 6, "1か所の最大（100,000 人）を超えます。面積を確かめてください",
            "more than any one site (at most 100,000); check the area")
    skipped(out, 7, "開設される災害の種類（風水害）は ○ か空欄にしてください（'×' とあります）",
            "開設される災害の種類（風水害） must be '○' or empty, got '×'")
    skipped(out, 8, "緯度が数値ではありません: 'abc'", "緯度 (latitude) is not a number: 'abc'")


def test_the_national_lists_reasons_are_said_in_japanese_then_english(hq_db, tmp_path):
    with sqlite3.connect(hq_db) as conn:
        h031 = conn.execute("SELECT name, lat, lon FROM shelters WHERE id='H031'").fetchone()
    path = gsi_file(tmp_path / "gsi.csv", [(2, *h031), (3, "どこにもない広場", 34.85, 138.30)])
    out = imported(path, hq_db)
    said(out, "形式: ", "国土地理院 指定緊急避難場所データ", "format: ", "国土地理院 指定緊急避難場所データ")
    skipped(out, 2, f"{h031[0]} は本部に H031（指定避難所）として同じ場所にあります",
            f"{h031[0]} is at HQ as H031 (shelter), at the same place")
    skipped(out, 3, "本部に どこにもない広場 という避難所はありません。", "no site named どこにもない広場 at HQ")
    assert "--add-unmatched" in next(line for line in out.splitlines() if line.startswith("  3 行目"))


def test_a_hazard_layers_summary_is_said_in_japanese_then_english(hq_db, tmp_path):
    import json
    ring = [[138.30, 34.86], [138.31, 34.86], [138.31, 34.87], [138.30, 34.86]]
    path = tmp_path / "tsunami.geojson"
    area = {"type": "Feature", "properties": {"depth": "0.5m以上"}, "geometry": {"type": "Polygon", "coordinates": [ring]}}
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [area]}), encoding="utf-8")
    out = imported(path, hq_db, "--hazard", "tsunami", "--title", "津波浸水想定", "--credit", "出典：静岡県")
    said(out, "形式: ", "津波浸水想定（区域 1 件、津波）", "format: ", "津波浸水想定 (1 areas, for tsunami)")
    said(out, "追加 1 件、", "更新 0 件、変更なし 0 件、取り込まなかった行 0 件", "added 1, ", "skipped 0")
