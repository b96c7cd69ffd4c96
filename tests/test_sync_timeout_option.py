"""`evac kiosk sync --timeout S`: how long the round waits for each step of HQ's answer.  A satellite or
congested mobile link may need longer than the default 15 s; a kiosk on HQ's own network can give up
sooner.  Real parts: a real socket server that holds each request a while, then closes without an answer;
the real command.  A time of no length, or longer than ten minutes (a kiosk would seem hung; the system's
timers overflow), is refused."""
from __future__ import annotations

import socket
import time

import pytest

from kiosk.store import KioskStore
from tests.conftest import run_evac
from tests.test_sync_failure_words_ja import kiosk_with
from tests.test_sync_unreachable_words import listeners  # noqa: F401  (fixture)

TOKEN = "KAAAAAAAA." + "t" * 43
HELD = 3.0   # how long the server below holds each request before it closes


def _holds_then_closes(conn: socket.socket) -> None:
    try:
        conn.recv(65536)
        time.sleep(HELD)
    finally:
        conn.close()


def _sync(db: str, url: str, *timeout: str):
    return run_evac("kiosk", "sync", "--db", db, "--hq", url, "--token", TOKEN, *timeout)


def test_a_short_timeout_gives_up_on_an_answer_slower_than_it(tmp_path, listeners):  # noqa: F811
    url = f"http://127.0.0.1:{listeners(_holds_then_closes).port}"
    db = kiosk_with(tmp_path)
    done = _sync(db, url, "--timeout", "0.5")
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert "本部に接続できません（時間内に応答がありません）" in done.stderr and "no answer in time" in done.stderr
    assert KioskStore(db).pending() == 1


@pytest.mark.parametrize("typed, ja, en", [
    ("0", "0 秒より長くしてください（いまは 0）", "must be more than 0 seconds, not 0"),
    ("-5", "0 秒より長くしてください（いまは -5）", "must be more than 0 seconds, not -5"),
    ("inf", "600 秒（10 分）までにしてください（いまは inf）", "must be at most 600 seconds (10 minutes), not inf"),
    ("3e9", "600 秒（10 分）までにしてください", "must be at most 600 seconds"),
    ("nan", "0 秒より長くしてください", "must be more than 0 seconds"),
    ("十五", "は秒数ではありません", "is not a number of seconds"),
])
def test_a_timeout_that_is_no_time_is_refused_before_anything_is_sent(tmp_path, listeners, typed, ja, en):  # noqa: F811
    asked = []
    url = f"http://127.0.0.1:{listeners(lambda conn: (asked.append(1), conn.close())).port}"
    db = kiosk_with(tmp_path)
    done = _sync(db, url, "--timeout", typed)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert "--timeout" in done.stderr and ja in done.stderr and en in done.stderr
    assert asked == [] and KioskStore(db).pending() == 1


def test_the_help_says_the_default_and_what_it_bounds():
    done = run_evac("kiosk", "sync", "--help")
    assert done.returncode == 0
    words = " ".join(done.stdout.split())
    assert "--timeout S" in words and "(default 15, at most 600)" in words
    assert "each request ends after at most 4 times that" in words
