"""Every sync failure the operator reads (the console of `evac kiosk sync` and `evac kiosk serve`,
/api/status's sync_error) says it in Japanese first, as the shelter's staff read it, then in English:
HQ failing for now (503), a link too slow for the batch, a web page or another server where HQ should
answer, a kiosk database restored from a backup, HQ refusing the token.  Each failure made for real: a
real HQ process, a real HTTP server, a listener that never answers; the real `evac kiosk sync`."""
from __future__ import annotations

import json
import re
import socket
import urllib.request

from evac.events import Person
from kiosk.store import KioskStore
from kiosk.sync import MIN_BATCH
from tests.conftest import run_evac
from tests.staff_helpers import wait_for
from tests.test_kiosk_token_and_sync_console import serve as kiosk_serve
from tests.test_sync_hq_answers import _answering, _restored_kiosk, serve  # noqa: F401  (fixture)
from tests.test_sync_http import enroll

JAPANESE = re.compile(r"[ぁ-んァ-ン一-龥]")


def kiosk_with(tmp_path, people: int = 1) -> str:
    db = tmp_path / "k.sqlite3"
    store = KioskStore(db)
    store.check_in("H001", [Person(f"和文 {i}", "1970-01-01", "female", f"焼津市本町{i}") for i in range(people)])
    store.close()
    return str(db)


def said(db: str, hq_url: str, token: str = "KAAAAAAAA." + "t" * 43, *more: str) -> tuple[str, str]:
    """`evac kiosk sync`'s failure: (the Japanese, the English), checking the Japanese comes first."""
    done = run_evac("kiosk", "sync", "--db", db, "--hq", hq_url, "--token", token, *more)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    line = next(x for x in done.stderr.splitlines() if x.startswith("evac: 同期できませんでした: "))
    ja, en = japanese_first(line.removeprefix("evac: 同期できませんでした: "))
    assert en.startswith("sync failed: "), line
    return ja, en.removeprefix("sync failed: ")


def japanese_first(text: str) -> tuple[str, str]:
    ja, slash, en = text.partition(" / ")
    assert slash and JAPANESE.match(ja), f"not Japanese first: {text}"
    assert not JAPANESE.search(en.split("(", 1)[0]), f"the English part is not English: {en}"
    return ja, en


def test_hq_answering_503_is_said_in_japanese_first(serve, tmp_path):  # noqa: F811
    server = serve(_answering("503 Service Unavailable", "text/html", b"<html>maintenance</html>"))
    ja, en = said(kiosk_with(tmp_path), server.url)
    assert "本部は応答しましたが、いま記録を受け取れません" in ja and "自動で送られます" in ja
    assert "未送信の記録 1 件" in ja and "失われていません" in ja
    assert en.startswith(f"HQ at {server.url} answered but cannot take records now (HTTP 503); the kiosk tries "
                         "again by itself") and en.endswith("; 1 event(s) stay queued on this kiosk")


def test_a_web_page_where_hq_should_answer_is_said_in_japanese_first(serve, tmp_path):  # noqa: F811
    server = serve(_answering("200 OK", "text/html", b"<html>Wi-Fi login: accept the terms</html>"))
    ja, en = said(kiosk_with(tmp_path), server.url)
    assert f"本部のアドレス {server.url} で、本部ではなくウェブページが応答しました" in ja and "ログインしてください" in ja
    assert "失われていません" in ja
    assert en.startswith(f"the server at {server.url} is not HQ (") and "a web page answered" in en
    assert "log in" in en and "the records stay queued" in en


def test_another_server_where_hq_should_answer_is_said_in_japanese_first(serve, tmp_path):  # noqa: F811
    server = serve(_answering("404 NOT FOUND", "text/html", b"<html>Not Found</html>"))
    ja, en = said(kiosk_with(tmp_path), server.url)
    assert f"本部のアドレス {server.url} のサーバーは本部ではありません" in ja and "本部のアドレスを確認してください" in ja
    assert "失われていません" in ja
    assert en.startswith(f"the server at {server.url} is not HQ (") and "check the HQ address" in en


def test_a_kiosk_database_restored_from_a_backup_is_said_in_japanese_first(hq_server, tmp_path):
    hq = hq_server()
    db, token = _restored_kiosk(hq, tmp_path)
    ja, en = said(str(db), hq.url, token)
    assert "バックアップから戻しましたか" in ja and f"evac kiosk new-device --db {db}" in ja
    assert en.startswith("this kiosk's database is older than what HQ holds from it (restored from a backup?)")
    assert f"evac kiosk new-device --db {db}" in en


def test_a_link_too_slow_for_the_batch_is_said_in_japanese_first(tmp_path):
    # Something takes the connection and never answers: the batch is not through within the timeout.
    silent = socket.create_server(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{silent.getsockname()[1]}"
    try:
        ja, en = said(kiosk_with(tmp_path, MIN_BATCH + 1), url, "KAAAAAAAA." + "t" * 43, "--timeout", "2")
    finally:
        silent.close()
    assert "本部との通信が遅すぎます" in ja and "小さく分けて送っています" in ja
    assert f"未送信の記録 {MIN_BATCH + 1} 件" in ja and "失われていません" in ja
    assert en == (f"the connection to HQ at {url} is too slow (timed out); sending smaller batches; "
                  f"{MIN_BATCH + 1} event(s) stay queued on this kiosk")


def status(kiosk) -> dict:
    with urllib.request.urlopen(kiosk.url + "/api/status", timeout=10) as resp:
        return json.loads(resp.read())


def test_a_wrong_token_is_said_in_japanese_first_on_the_console_and_in_api_status(hq_server, tmp_path,
                                                                                  monkeypatch):
    hq = hq_server()
    kiosk_id = enroll(hq.db_url, "H001").split(".")[0]
    wrong = f"{kiosk_id}." + "w" * 43
    ja, en = said(kiosk_with(tmp_path), hq.url, wrong)
    assert ja.startswith("本部がこの端末の記録を受け付けません: 本部がこの端末のトークンを受け付けません")
    assert "失われず" in ja
    assert en.startswith(f"HQ refuses this kiosk's records: the token for kiosk {kiosk_id} is wrong")
    assert "Nothing is lost" in en

    monkeypatch.setenv("EVAC_KIOSK_TOKEN", wrong)
    kiosk = kiosk_serve(tmp_path, hq.url)
    try:
        wait_for(lambda: status(kiosk)["sync_error"] is not None, "a refused sync round")
        words = status(kiosk)["sync_error"]
    finally:
        kiosk.stop()
    ja, en = japanese_first(words)
    assert ja.startswith("本部がこの端末の記録を受け付けません: 本部がこの端末のトークンを受け付けません")
    assert en.startswith(f"HQ refuses this kiosk's records: the token for kiosk {kiosk_id} is wrong")
    line = next(x for x in kiosk.log_path.read_text().splitlines() if "HQ refuses" in x)
    assert line.count("本部がこの端末の記録を受け付けません") == 1, line   # said once, not twice
