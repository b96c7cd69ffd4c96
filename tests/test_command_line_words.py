"""A command line argparse refuses (an option missing, a value it cannot take, a typo in a command) is said
Japanese first, then in argparse's English, as every other refusal of evac's commands.  Real `evac`
processes; the rules themselves on argparse's own messages."""
from __future__ import annotations

import pytest

from evac.usage import in_both
from tests.conftest import run_evac

CASES = {
    "an option missing": (("kiosk", "checkin", "--db", "k.sqlite3", "--name", "焼津 花子", "--birth", "1990-01-01",
                           "--sex", "female"),
                          "evac kiosk checkin: エラー: 次の指定が要ります: --shelter / error: the following arguments "
                          "are required: --shelter"),
    "a choice it has not": (("kiosk", "checkin", "--db", "k.sqlite3", "--shelter", "H031", "--name", "焼津 花子",
                             "--birth", "1990-01-01", "--sex", "f"),
                            "evac kiosk checkin: エラー: --sex に 'f' は指定できません（選べるのは 'female', 'male', "
                            "'other'） / error: argument --sex: invalid choice: 'f'"),
    "a command mistyped": (("hq", "enrol-kiosk"), "evac hq: エラー: コマンド 'enrol-kiosk' はありません（あるのは 'serve', "),
    "an option it does not know": (("kiosk", "sync", "--db", "k.sqlite3", "--hq", "http://127.0.0.1:9", "--tokne",
                                    "x"),
                                   "evac: エラー: 知らない指定があります: --tokne x（使える指定は --help で見られます） / "
                                   "error: unrecognized arguments: --tokne x"),
    "a value left out": (("kiosk", "serve", "--db"), "evac kiosk serve: エラー: --db の後に値を書いてください / error: "
                                                     "argument --db: expected one argument"),
    "a port that is none": (("kiosk", "serve", "--db", "k.sqlite3", "--shelter", "H031", "--port", "80a"),
                            "evac kiosk serve: エラー: --port: '80a' はポート番号ではありません / error: argument "
                            "--port: '80a' is not a port number"),
    "an HQ address without http": (("kiosk", "sync", "--db", "k.sqlite3", "--hq", "10.0.0.2:5000"),
                                   "evac kiosk sync: エラー: --hq: http:// か https:// で始まるアドレスにしてください"),
    "a count below one": (("bench", "ingest", "--events", "0"),
                          "evac bench ingest: エラー: --events: 1 以上にしてください（いまは 0） / error: argument "
                          "--events: must be 1 or more, not 0"),
}


@pytest.mark.parametrize("case", CASES)
def test_a_refused_command_line_is_said_japanese_first(tmp_path, case):
    args, said = CASES[case]
    done = run_evac(*args)
    assert done.returncode == 2 and done.stdout == "", done
    last = done.stderr.splitlines()[-1]
    assert last.startswith(said), done.stderr
    assert done.stderr.startswith("usage: evac "), done.stderr   # (argparse's usage stays above it)


@pytest.mark.parametrize(("message", "ja"), [
    ("one of the arguments --a --b is required", "--a --b のどれかを指定してください"),
    ("ambiguous option: --ta could match --tablet-port, --tablet-host",
     "--ta は --tablet-port, --tablet-host のどれとも取れます。指定を最後まで書いてください"),
    ("argument --x: invalid int value: 'q'", "--x の値 'q' が読めません"),
    ("argument --x: not allowed with argument --y", "--x と --y は一緒に指定できません"),
    ("argument --x: expected 2 arguments", "--x の後に値を 2 個書いてください"),
])
def test_argparses_other_refusals_have_their_japanese(message, ja):
    assert in_both(message) == (ja, message)


def test_a_refusal_it_has_no_words_for_is_said_in_english_alone():
    assert in_both("something argparse may say one day") == (None, "something argparse may say one day")
    assert in_both("argument --x: something new") == (None, "argument --x: something new")


def test_an_argparse_types_own_two_languages_are_put_in_order():
    assert in_both("argument --before: 'x' は日付ではありません / 'x' is not a date") == \
        ("--before: 'x' は日付ではありません", "argument --before: 'x' is not a date")
