"""The kiosk's HQ token kept off the command line (--token-file, EVAC_KIOSK_TOKEN), and the background
sync telling the operator's console when HQ refuses it, when HQ cannot be reached and when it works
again: once per change, not once per retry.  Real HQ processes, real HTTP, real SQLite."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from evac.events import Person
from kiosk.store import KioskStore
from kiosk.sync import BackgroundSync, HQClient
from tests.conftest import Server, evac_cmd, free_port, run_evac
from tests.staff_helpers import wait_for
from tests.test_cli_errors import A_TOKEN, refused
from tests.test_sync_http import checkin, enroll, occupancy

WHO = Person("鍵 一", "1970-01-01", "female", "焼津市本町1-1")


class CountingClient(HQClient):
    """The real client, counting the requests it makes: so a test knows several rounds ran."""
    calls = 0

    def request(self, *args, **kwargs):
        self.calls += 1
        return super().request(*args, **kwargs)


def test_the_console_hears_each_change_of_the_sync_once(hq_server, tmp_path):
    hq = hq_server()
    token = enroll(hq.db_url, "H001")
    port = hq.url.rsplit(":", 1)[1]
    hq.stop()                                     # HQ down when the kiosk starts
    store = KioskStore(tmp_path / "kiosk.sqlite3")
    store.check_in("H001", [WHO])
    store.close()
    said: list[str] = []
    client = CountingClient(hq.url, token)
    syncer = BackgroundSync(str(tmp_path / "kiosk.sqlite3"), client, interval=0.05, max_backoff=0.2, say=said.append)
    syncer.start()
    back = None
    try:
        wait_for(lambda: client.calls >= 5, "five sync rounds against an HQ that is down")
        assert said == [f"本部との同期に失敗しました: 本部に接続できません。未送信の記録 1 件はこの受付機に残っていて、本部に接続"
                        f"できたときに送られます（失われていません） / sync with HQ failed: HQ cannot be reached at "
                        f"{hq.url} ([Errno 111] Connection refused); 1 event(s) stay queued on this kiosk"], \
            "said once, not once per retry, Japanese first"

        back = Server(evac_cmd("hq", "serve", "--db", hq.db_url, "--port", port), hq.url,
                      tmp_path / "hq-again.log", "/api/v1/shelters")
        wait_for(lambda: len(said) == 2, "the console told that sync works again")
        assert said[1] == (f"本部 {hq.url} との同期は再び動いています: 本部はこの受付機の記録を 1 番まで受け取っています（送信待ち "
                           f"0 件） / sync with HQ at {hq.url} works again: HQ holds this kiosk's records up to 1, 0 "
                           "waiting to be sent")
        assert occupancy(hq.url) == {"H001": 1}

        # HQ gives the kiosk a new token (the old one was seen): HQ refuses the old one from now on.
        assert run_evac("hq", "rekey-kiosk", "--db", hq.db_url, token.split(".")[0]).returncode == 0
        wait_for(lambda: len(said) == 3, "the console told of HQ's refusal")
        # What to do in Japanese (staff read it), then the English with HQ's words.
        assert said[2].startswith("本部との同期に失敗しました: 本部がこの端末の記録を受け付けません: 本部がこの端末のトークンを"
                                  "受け付けません") and " / sync with HQ failed: HQ refuses this kiosk's records: " in said[2]
        assert "wrong" in said[2]
        calls = client.calls
        wait_for(lambda: client.calls >= calls + 4, "four more refused rounds")
        assert len(said) == 3, said
    finally:
        syncer.stop()
        syncer.join(10)
        if back is not None:
            back.stop()


def serve(tmp_path, hq_url: str, *args: str) -> Server:
    """`evac kiosk serve` with this test's environment (monkeypatch.setenv for EVAC_KIOSK_TOKEN)."""
    port = free_port()
    return Server(evac_cmd("kiosk", "serve", "--db", str(tmp_path / "k.sqlite3"), "--shelter", "H001",
                           "--hq", hq_url, "--port", str(port), *args),
                  f"http://127.0.0.1:{port}", tmp_path / f"kiosk-{port}.log", "/api/status")


def cmdline(server: Server) -> str:
    return Path(f"/proc/{server.proc.pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()


def test_kiosk_serve_with_a_wrong_token_in_the_environment_says_so_on_its_console(hq_server, tmp_path, monkeypatch):
    hq = hq_server()
    kiosk_id = enroll(hq.db_url, "H001").split(".")[0]
    wrong = f"{kiosk_id}." + "w" * 43
    monkeypatch.setenv("EVAC_KIOSK_TOKEN", wrong)
    kiosk = serve(tmp_path, hq.url)
    try:
        assert wrong not in cmdline(kiosk), "the token is not on the command line for ps to show"
        wait_for(lambda: "HQ refuses this kiosk's records" in kiosk.log_path.read_text(), "the refusal on the console")
    finally:
        kiosk.stop()
    log = kiosk.log_path.read_text()
    line = next(x for x in log.splitlines() if "HQ refuses" in x)
    assert line.startswith("evac: [") and "本部との同期に失敗しました: 本部がこの端末の記録を受け付けません: " in line
    assert f" / sync with HQ failed: HQ refuses this kiosk's records: the token for kiosk {kiosk_id} is wrong" in line
    assert "a --token on the command line" not in log


def test_a_token_file_only_its_owner_reads_syncs_and_the_note_warns_of_a_token_on_the_command_line(hq_server, tmp_path):
    hq = hq_server()
    token = enroll(hq.db_url, "H001")
    db = tmp_path / "k.sqlite3"
    checkin(db, "鍵 二")
    path = tmp_path / "kiosk.token"
    path.write_text(token + "\n")
    path.chmod(0o644)
    sync = ("kiosk", "sync", "--db", str(db), "--hq", hq.url)
    said = refused(run_evac(*sync, "--token-file", str(path)), f"the token file {path} can be read by anyone",
                   f"chmod 600 {path}")
    assert token not in said
    path.chmod(0o600)
    done = run_evac(*sync, "--token-file", str(path))
    assert done.returncode == 0, done.stderr
    assert occupancy(hq.url) == {"H001": 1}

    kiosk = serve(tmp_path, hq.url, "--token-file", str(path))
    try:
        wait_for(lambda: "works: HQ holds" in kiosk.log_path.read_text(), "the first sync on the console")
        assert token not in cmdline(kiosk)
    finally:
        kiosk.stop()
    kiosk = serve(tmp_path, hq.url, "--token", token)   # still works, with a note
    kiosk.stop()
    assert "a --token on the command line can be seen by anyone on this machine (ps)" in kiosk.log_path.read_text()


@pytest.mark.parametrize("make, words", [
    (lambda p: None, "does not exist"),
    (lambda p: p.write_text("  \n"), "is empty"),
    (lambda p: p.write_text("K1.abc\nK2.def\n"), "must hold the token alone"),
    (lambda p: p.mkdir(), "is a folder"),
])
def test_a_token_file_that_cannot_be_used_is_refused_in_words(tmp_path, make, words):
    path = tmp_path / "kiosk.token"
    make(path)
    if path.is_file():
        path.chmod(0o600)
    for args in (("sync", "--db", str(tmp_path / "k.sqlite3"), "--hq", "http://127.0.0.1:5801"),
                 ("serve", "--db", str(tmp_path / "k.sqlite3"), "--shelter", "H001", "--hq", "http://127.0.0.1:5801")):
        refused(run_evac("kiosk", *args, "--token-file", str(path)), words)
    assert not (tmp_path / "k.sqlite3").exists()


def test_the_token_is_given_one_way_and_sync_without_one_says_how(tmp_path):
    path = tmp_path / "kiosk.token"
    path.write_text("K1.abc")
    path.chmod(0o600)
    sync = ("kiosk", "sync", "--db", str(tmp_path / "k.sqlite3"), "--hq", "http://127.0.0.1:5801")
    refused(run_evac(*sync, "--token", "K1.abc", "--token-file", str(path)), "give the token one way")
    refused(run_evac(*sync), "sync needs this kiosk's token from HQ: --token-file PATH, or EVAC_KIOSK_TOKEN")


def test_carry_takes_the_token_from_the_environment(tmp_path, monkeypatch):
    db = tmp_path / "k.sqlite3"
    checkin(db, "鍵 三")
    out = tmp_path / "records.json"
    monkeypatch.setenv("EVAC_KIOSK_TOKEN", A_TOKEN)
    result = run_evac("kiosk", "carry", "--db", str(db), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert json.loads(out.read_bytes())["token"] == A_TOKEN
    assert "--token TOKEN" not in result.stdout   # no request to bring the token separately


def _full_width(text: str) -> str:
    """As a Japanese input method types it: Ｋ１２… (U+FF01-FF5E for ASCII's ! to ~)."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def test_a_token_saved_by_notepad_or_typed_full_width_syncs(hq_server, tmp_path, monkeypatch):
    """Windows Notepad starts a UTF-8 file with a byte-order mark, and a Japanese input method types
    full-width letters: both went into the Authorization header as they were, and the kiosk said "HQ cannot
    be reached (ordinal not in range(256))" for ever."""
    hq = hq_server()
    token = enroll(hq.db_url, "H001")
    db = tmp_path / "k.sqlite3"
    checkin(db, "鍵 四")
    path = tmp_path / "kiosk.token"
    path.write_bytes(b"\xef\xbb\xbf" + token.encode() + b"\r\n")
    path.chmod(0o600)
    sync = ("kiosk", "sync", "--db", str(db), "--hq", hq.url)
    done = run_evac(*sync, "--token-file", str(path))
    assert done.returncode == 0, done.stderr
    assert occupancy(hq.url) == {"H001": 1}
    checkin(db, "鍵 五")
    done = run_evac(*sync, "--token", "\u3000" + _full_width(token) + " ")
    assert done.returncode == 0, done.stderr
    checkin(db, "鍵 六")
    monkeypatch.setenv("EVAC_KIOSK_TOKEN", "\ufeff" + _full_width(token))
    done = run_evac(*sync)
    assert done.returncode == 0, done.stderr
    assert occupancy(hq.url) == {"H001": 3}


@pytest.mark.parametrize("token, why", [
    (A_TOKEN.replace("x", "ー", 1), "it holds 'ー' (U+30FC)"),
    (A_TOKEN[:-5], "its secret after the dot is 38 characters long, not 43"),
    ("K12." + "x" * 43, "'K12' is not a kiosk id"),
    ("x" * 52, "it has no dot"),
])
@pytest.mark.parametrize("command", ["sync", "serve", "carry"])
def test_what_is_not_a_token_is_refused_naming_where_it_came_from(tmp_path, monkeypatch, token, why, command):
    db = tmp_path / "k.sqlite3"
    checkin(db, "鍵 七")
    before = db.read_bytes()
    args = {"sync": ("sync", "--db", str(db), "--hq", "http://127.0.0.1:5801"),
            "serve": ("serve", "--db", str(db), "--shelter", "H001", "--hq", "http://127.0.0.1:5801",
                      "--port", str(free_port())),
            "carry": ("carry", "--db", str(db), "--out", str(tmp_path / "records.json"))}[command]
    path = tmp_path / "kiosk.token"
    path.write_text(token + "\n")
    path.chmod(0o600)
    said = refused(run_evac("kiosk", *args, "--token-file", str(path)),
                   f"the token from --token-file {path} is not a kiosk token as `evac hq enroll-kiosk` prints it", why)
    refused(run_evac("kiosk", *args, "--token", token), "the token from --token is not a kiosk token", why)
    monkeypatch.setenv("EVAC_KIOSK_TOKEN", token)
    refused(run_evac("kiosk", *args), "the token from EVAC_KIOSK_TOKEN is not a kiosk token", why)
    assert "x" * 30 not in said, "the secret is not shown"
    assert not (tmp_path / "records.json").exists()
    assert db.read_bytes() == before


def test_every_token_hq_makes_is_of_the_form_the_kiosk_takes(hq_app):
    """The kiosk checks a token's form (kiosk.cli.TOKEN_RE) before it asks HQ: HQ's tokens must keep it."""
    from hq_dashboard.db import db
    from hq_dashboard.enrollment import enroll_kiosk, rekey_kiosk
    from kiosk.cli import TOKEN_RE
    with hq_app.app_context():
        for _ in range(20):
            token = enroll_kiosk(db.session, "H001")
            assert TOKEN_RE.match(token), token
            assert TOKEN_RE.match(rekey_kiosk(db.session, token.split(".")[0]))
