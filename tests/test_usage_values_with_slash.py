"""A value typed on evac's command line may hold " / " itself (a pasted "女性 / female", an address with a space
and a slash): argparse's refusal of it is still said whole in Japanese, then in English, with the value
intact in each.  A command left out names the commands there are.  Real `evac` processes."""
from __future__ import annotations

import pytest

from evac.cli import build_parser
from tests.conftest import run_evac

SEXES = "'female', 'male', 'other'"
REFUSED_VALUES = {
    "a choice argparse has not": (
        ("kiosk", "checkin", "--db", "k.sqlite3", "--shelter", "H031", "--name", "焼津 花子", "--birth", "1990-01-01",
         "--sex", "女性 / female"),
        "'女性 / female'",
        f"evac kiosk checkin: エラー: --sex に '女性 / female' は指定できません（選べるのは {SEXES}） / error: "
        f"argument --sex: invalid choice: '女性 / female' (choose from {SEXES})"),
    "a number argparse cannot read": (
        ("kiosk", "withdraw", "--db", "k.sqlite3", "--seq", "三 / 3"),
        "'三 / 3'",
        "evac kiosk withdraw: エラー: --seq の値 '三 / 3' が読めません / error: argument --seq: invalid int value: "
        "'三 / 3'"),
    "an HQ address our type refuses": (
        ("kiosk", "sync", "--db", "k.sqlite3", "--hq", "10.0.0.2 / 5000"),
        "'10.0.0.2 / 5000'",
        "evac kiosk sync: エラー: --hq: http:// か https:// で始まるアドレスにしてください（例 http://10.0.0.2:5000。"
        "いまは '10.0.0.2 / 5000'） / error: argument --hq: must start with http:// or https:// (e.g. "
        "http://10.0.0.2:5000), not '10.0.0.2 / 5000'"),
    "a port in wide digits": (
        ("kiosk", "serve", "--db", "k.sqlite3", "--shelter", "H031", "--port", "５０００ / x"),
        "'５０００ / x'",
        "evac kiosk serve: エラー: --port: '５０００ / x' はポート番号ではありません / error: argument --port: "
        "'５０００ / x' is not a port number"),
    "a port in Japanese": (
        ("kiosk", "serve", "--db", "k.sqlite3", "--shelter", "H031", "--port", "焼津 / x"),
        "'焼津 / x'",
        "evac kiosk serve: エラー: --port: '焼津 / x' はポート番号ではありません / error: argument --port: "
        "'焼津 / x' is not a port number"),
    "a port with an apostrophe": (   # (Python writes it in double quotes)
        ("kiosk", "serve", "--db", "k.sqlite3", "--shelter", "H031", "--port", "焼津's / x"),
        '"焼津\'s / x"',
        "evac kiosk serve: エラー: --port: \"焼津's / x\" はポート番号ではありません / error: argument --port: "
        "\"焼津's / x\" is not a port number"),
    "a day that is no date": (
        ("hq", "forget-inquiries", "--db", "hq.sqlite3", "--before", "令和 / 8"),
        "'令和 / 8'",
        "evac hq forget-inquiries: エラー: --before: '令和 / 8' は日付ではありません。YYYY-MM-DD の形で書いてください（例 "
        "2026-12-31） / error: argument --before: '令和 / 8' is not a date: write it as YYYY-MM-DD, e.g. 2026-12-31"),
}


@pytest.mark.parametrize("case", REFUSED_VALUES)
def test_a_refused_value_holding_a_slash_is_said_whole_in_both_languages(case):
    args, value, said = REFUSED_VALUES[case]
    done = run_evac(*args)
    assert done.returncode == 2 and done.stdout == "", done
    last = done.stderr.splitlines()[-1]
    assert last == said, done.stderr
    ja, en = last.split(" / error: ")
    assert ja.count(value) == 1 and en.count(value) == 1, last


def commands_of(area: str) -> str:
    parser = build_parser(area)
    (area_parser,) = (action.choices[area] for action in parser._subparsers._group_actions)
    (commands,) = (action.choices for action in area_parser._subparsers._group_actions)
    return ", ".join(commands)


def test_a_command_left_out_is_asked_for_with_the_commands_there_are():
    done = run_evac("card")
    assert done.returncode == 2 and done.stdout == "", done
    assert done.stderr.splitlines()[-1] == (
        "evac card: エラー: コマンドを指定してください（あるのは read, emulate。それぞれの説明は evac card --help） / "
        "error: choose a command: read, emulate (evac card --help says what each does)"), done.stderr


@pytest.mark.parametrize("area", ["hq", "kiosk", "bench"])
def test_every_area_asks_for_its_command(area):
    names = commands_of(area)
    assert names.startswith({"hq": "serve, init, ", "kiosk": "checkin, checkout, ", "bench": "ingest, "}[area])
    done = run_evac(area)
    assert done.returncode == 2 and done.stdout == "", done
    assert done.stderr.splitlines()[-1] == (
        f"evac {area}: エラー: コマンドを指定してください（あるのは {names}。それぞれの説明は evac {area} --help） / "
        f"error: choose a command: {names} (evac {area} --help says what each does)"), done.stderr
    assert "command" not in done.stderr.replace("choose a command", ""), done.stderr


def test_evac_alone_shows_its_areas():
    done = run_evac()
    assert done.returncode == 2 and done.stdout == "", done
    assert done.stderr.startswith("usage: evac [-h] {hq,kiosk,card,bench,demo} ..."), done.stderr
    assert "required" not in done.stderr and "area" not in done.stderr.split("\n")[0], done.stderr
