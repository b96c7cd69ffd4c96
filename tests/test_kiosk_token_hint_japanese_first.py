"""A token used with a second kiosk database: the sync's hint on what to do is said Japanese first, as the
refusal before it (kiosk staff read the console in Japanese; it was in English only)."""
from __future__ import annotations

from tests.conftest import run_evac
from tests.test_cli_errors import kiosk_db


def test_the_hint_after_a_token_of_another_kiosk_database_is_japanese_first(hq_server, tmp_path):
    hq = hq_server()
    token = run_evac("hq", "enroll-kiosk", "--db", hq.db_url, "--shelter", "H001").stdout.strip()
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    assert run_evac("kiosk", "sync", "--db", kiosk_db(first), "--hq", hq.url, "--token", token).returncode == 0
    result = run_evac("kiosk", "sync", "--db", kiosk_db(second), "--hq", hq.url, "--token", token)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    hint = next(line for line in result.stderr.splitlines() if "enroll this kiosk again at HQ" in line)
    ja, slash, en = hint.removeprefix("evac: ").partition(" / ")
    assert slash, hint
    assert "トークンは一つの端末データベースにしか使えません" in ja and "evac hq enroll-kiosk" in ja, hint
    assert "新しい端末データベース" in ja, hint
    assert en.startswith("a token works with one kiosk database only") and "new kiosk database" in en, hint
