"""What `evac hq …` tells HQ's operators when it works (and what `evac hq serve` warns of) is said Japanese
first, then in English, the whole meaning in both: the city's IT staff read Japanese.  The token that
`evac hq rekey-kiosk` prints stays alone on stdout, as scripts read it; its words go to stderr.  A real
`evac`, a real `evac hq serve` on PostgreSQL (where the secret key's place is warned of)."""
from __future__ import annotations

import os
import re
import uuid

from tests.conftest import Server, evac_cmd, free_port, run_evac

PASSWORD = "correct horse battery"


def japanese_then_english(text: str, ja: str, en: str) -> None:
    """One line holds the Japanese, then " / ", then the English."""
    line = next((line for line in text.splitlines() if ja in line), None)
    assert line is not None, text
    japanese, _, english = line.partition(" / ")
    assert ja in japanese and en in english, line


def test_the_kiosk_commands_say_what_they_did_japanese_first(hq_initialised_sqlite, tmp_path):
    hq_db = tmp_path / "hq.sqlite3"
    hq_initialised_sqlite(hq_db)
    token = run_evac("hq", "enroll-kiosk", "--db", str(hq_db), "--shelter", "H001").stdout.strip()
    kiosk_id = token.split(".")[0]

    moved = run_evac("hq", "move-kiosk", "--db", str(hq_db), kiosk_id, "--shelter", "H002")
    assert moved.returncode == 0, moved.stderr
    japanese_then_english(moved.stdout, f"端末 {kiosk_id} は H002 の端末になりました（前は H001）",
                          f"kiosk {kiosk_id} now belongs to H002 (was H001); it hears so with its next configuration")

    rekeyed = run_evac("hq", "rekey-kiosk", "--db", str(hq_db), kiosk_id)
    assert rekeyed.returncode == 0, rekeyed.stderr
    # stdout: the token alone, one line, as before (a script writes it to the kiosk's token file)
    assert re.fullmatch(rf"{kiosk_id}\.[^\s.]+\n", rekeyed.stdout), rekeyed.stdout
    japanese_then_english(rekeyed.stderr, f"端末 {kiosk_id} の古いトークンは使えなくなりました",
                          f"kiosk {kiosk_id}'s old token no longer works")
    assert "起動し直して" in rekeyed.stderr and "restart the kiosk" in rekeyed.stderr

    retired = run_evac("hq", "retire-kiosk", "--db", str(hq_db), kiosk_id)
    assert retired.returncode == 0, retired.stderr
    japanese_then_english(retired.stdout, f"端末 {kiosk_id}（H002）の登録を終了しました",
                          f"kiosk {kiosk_id} (at H002) is retired: its token no longer works")

    added = run_evac("hq", "add-staff", "--db", str(hq_db), "--username", "sato", "--role", "lead",
                     input=PASSWORD + "\n")
    assert added.returncode == 0, added.stderr
    japanese_then_english(added.stdout, "職員 sato（lead）は /staff/login でログインできます",
                          "staff member sato (lead) can now log in at /staff/login")

    display = run_evac("hq", "add-display", "--db", str(hq_db), "--name", "hq-wall")
    assert display.returncode == 0, display.stderr
    assert len(display.stdout.splitlines()) == 1 and display.stdout.startswith("http"), display.stdout
    japanese_then_english(display.stderr, "壁面表示「hq-wall」のリンクです", "the link of wall display 'hq-wall'")


def test_serve_warns_of_the_secret_key_and_of_proxies_japanese_first(tmp_path, pg_base):
    from tests.postgres import create_database, drop_database
    name = f"evac_{uuid.uuid4().hex[:12]}"
    url = create_database(pg_base, name)
    env = {k: v for k, v in os.environ.items() if k != "EVAC_SECRET_KEY"}
    env["EVAC_VAR_DIR"] = str(tmp_path / "var")
    port = free_port()
    server = None
    try:
        server = Server(evac_cmd("hq", "serve", "--db", url, "--port", str(port), "--host", "0.0.0.0",
                                 "--trusted-proxies", "1"),
                        f"http://127.0.0.1:{port}", tmp_path / "hq.log", "/api/v1/shelters", env=env)
        log = server.log_path.read_text()
        japanese_then_english(log, f"本部の秘密鍵は {tmp_path / 'var'}/hq-secret-key にあります",
                              f"HQ keeps its secret key in {tmp_path / 'var'}/hq-secret-key")
        key_line = next(line for line in log.splitlines() if "秘密鍵" in line)
        for ja in ("EVAC_SECRET_KEY", "EVAC_VAR_DIR", "同じフォルダ", "ログイン", "フォーム"):
            assert ja in key_line.partition(" / ")[0], key_line
        japanese_then_english(log, "本部は 1 台のプロキシからの X-Forwarded-For を信じますが",
                              "HQ believes X-Forwarded-For from 1 proxy(ies), yet listens on 0.0.0.0")
        proxy_line = next(line for line in log.splitlines() if "X-Forwarded-For" in line)
        japanese = proxy_line.partition(" / ")[0]
        assert proxy_line.startswith("evac: 警告:"), proxy_line
        for ja in (f"ポート {port}", "どの送信元アドレスでも", "回数制限", "ログイン", "--host 127.0.0.1", "プロキシだけ"):
            assert ja in japanese, proxy_line
        assert "can claim any address" in proxy_line.partition(" / ")[2]
    finally:
        if server is not None:
            server.stop()
        drop_database(pg_base, name)
