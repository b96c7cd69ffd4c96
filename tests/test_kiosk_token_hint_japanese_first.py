"""A token used with a second kiosk database: the sync's hint on what to do is said Japanese first, as the
refusal before it (kiosk staff read the console in Japanese; it was in English only)."""
from __future__ import annotations

from tests.test_cli_errors import token_used_with_a_second_database


def test_the_hint_after_a_token_of_another_kiosk_database_is_japanese_first(hq_server, tmp_path):
    result = token_used_with_a_second_database(hq_server, tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    hint = next(line for line in result.stderr.splitlines() if "enroll this kiosk again at HQ" in line)
    ja, slash, en = hint.removeprefix("evac: ").partition(" / ")
    assert slash, hint
    assert "トークンは一つの端末データベースにしか使えません" in ja and "evac hq enroll-kiosk" in ja, hint
    assert "新しい端末データベース" in ja, hint
    assert en.startswith("a token works with one kiosk database only") and "new kiosk database" in en, hint
