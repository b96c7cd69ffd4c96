"""`evac kiosk carry` tells the shelter's lead, Japanese first, what it wrote and the whole command HQ runs on
the file: with `--db` (HQ is rarely served on the default database) and, when the kiosk had no token to put in
the file, `--token`.  The real `evac` on a real kiosk database."""
from __future__ import annotations

from tests.conftest import run_evac
from tests.test_kiosk_cli_refusals_leave_no_file import checkin


def test_carry_without_a_token_names_the_whole_command_in_both_languages(tmp_path, monkeypatch):
    monkeypatch.delenv("EVAC_KIOSK_TOKEN", raising=False)
    db, out = tmp_path / "kiosk.sqlite3", tmp_path / "records.json"
    assert checkin(db).returncode == 0
    wrote = run_evac("kiosk", "carry", "--db", str(db), "--out", str(out))
    assert wrote.returncode == 0, wrote.stderr
    ja, en = wrote.stdout.strip().split("\n")
    command = "evac hq import-records --db URL records.json --token TOKEN"
    assert ja == (f"1 件（1〜1 番）の記録を {out} に書き出しました。本部へ運び、本部で {command} を実行してください"
                  "（URL は本部を起動したときの --db、TOKEN はファイルに入っていないこの端末の本部のトークン）。"
                  "避難者の個人情報です。紙の名簿と同じように保管し、本部が取り込んだら消してください。")
    assert en == (f"wrote 1 record(s), 1 to 1, to {out}. Carry it to HQ: {command} (URL: the --db HQ is served "
                  "with; TOKEN: this kiosk's token from HQ, the file holds none). It holds evacuees' personal data: "
                  "keep it as the paper roster is kept, and delete it once HQ has it.")
