"""What `evac kiosk checkin|checkout|transfer|sync` say to staff typing paper forms after a power failure
(acceptance audit F3): a refusal names the option to correct, is said in Japanese first and then in English
("日本語 / English", as HQ's commands say theirs), and says nothing was saved.  A birth date is read as the
kiosk's screen reads it (evac.dates): 1990/01/01, as paper forms have it, is taken; an ambiguous form is not.
The real `evac` command on real SQLite files."""
from __future__ import annotations

import socket

import pytest

from tests.conftest import run_evac
from tests.refusal_words import JAPANESE, kiosk, last_seq, said  # noqa: F401  (kiosk: the fixture)

FORM = {"--shelter": "H031", "--name": "焼津 花子", "--birth": "1990-01-01", "--sex": "female"}
A_TOKEN = "K0000000A." + "x" * 43


def run(command: str, db, **changes: str):
    keep = {"checkin": ("--shelter", "--name", "--birth", "--sex"), "checkout": ("--name", "--birth"),
            "transfer": ("--name", "--birth", "--to")}[command]
    form = {k: v for k, v in {**FORM, "--to": "H002", **changes}.items() if k in keep}
    return run_evac("kiosk", command, "--db", str(db), *[x for kv in form.items() for x in kv])


def japanese_then_english(done, *english: str, option: str) -> tuple[str, str]:
    """The refusal's one line, as (Japanese, English): each names `option` and says nothing was saved; the
    examples of a birth date (e.g. 平成2年1月1日) are the English half's only Japanese."""
    return said(done, *english, option=option, typed=(r"\(e\.g\..*",))


@pytest.mark.parametrize("command", ["checkin", "checkout", "transfer"])
@pytest.mark.parametrize("birth", ["yesterday", "01/01/1990", "90/01/01", "1990-W01-1", "1990-01"])
def test_a_birth_date_that_is_not_one_is_refused_naming_birth_in_japanese_then_english(kiosk, command, birth):
    """Ambiguous too: day and month first (01/02/1990), a two-digit year, an ISO week date."""
    done = run(command, kiosk, **{"--birth": birth})
    ja, en = japanese_then_english(done, "not a date", "year", option="--birth")
    assert "生年月日" in ja, done.stderr
    assert last_seq(kiosk) == 1


@pytest.mark.parametrize("birth", ["1990/01/01", "1990/1/1", "１９９０／０１／０１", "１９９０－０１－０１", "19900101",
                                   "1990年1月1日", "平成2年1月1日"])
def test_a_birth_date_as_paper_forms_have_it_is_taken_as_the_kiosks_screen_takes_it(kiosk, birth):
    done = run("checkin", kiosk, **{"--birth": birth})
    assert done.returncode == 0, done.stderr
    assert "checked in: 焼津 花子" in done.stdout
    # the same person as 1990-01-01: checked out by it
    done = run("checkout", kiosk, **{"--birth": "1990-01-01"})
    assert done.returncode == 0 and "checked out: 焼津 花子" in done.stdout, done.stderr


def test_checkout_reads_the_birth_date_as_checkin_does(kiosk):
    assert run("checkin", kiosk).returncode == 0
    done = run("checkout", kiosk, **{"--birth": "1990/01/01"})
    assert done.returncode == 0 and "checked out: 焼津 花子" in done.stdout, done.stderr


@pytest.mark.parametrize("birth, english", [("1990-02-30", "there is no such day"), ("1850-01-01", "before"),
                                            ("2999-01-01", "in the future")])
def test_a_birth_date_in_form_but_not_a_day_of_someone_alive_is_said_as_such(kiosk, birth, english):
    ja, en = japanese_then_english(run("checkin", kiosk, **{"--birth": birth}), english, option="--birth")
    assert "not a date" not in en
    assert last_seq(kiosk) == 1


@pytest.mark.parametrize("command", ["checkin", "checkout", "transfer"])
@pytest.mark.parametrize("name", ["", "   ", "\u3000", "・"])
def test_a_missing_name_is_refused_naming_name_in_japanese_then_english(kiosk, command, name):
    ja, en = japanese_then_english(run(command, kiosk, **{"--name": name}), "empty", option="--name")
    assert "名前" in ja, ja
    assert last_seq(kiosk) == 1


def test_an_unknown_shelter_is_said_in_japanese_then_english(kiosk, tmp_path):
    for db in (kiosk, tmp_path / "new.sqlite3"):
        ja, en = japanese_then_english(run("checkin", db, **{"--shelter": "H999"}), "unknown shelter id 'H999'",
                                       option="--shelter")
        assert "H999" in ja and "避難所" in ja
    assert last_seq(kiosk) == 1


def test_an_unknown_destination_is_said_in_japanese_then_english(kiosk):
    done = run("transfer", kiosk, **{"--name": "焼津 太郎", "--to": "H999"})
    japanese_then_english(done, "unknown shelter id 'H999'", option="--to")
    assert last_seq(kiosk) == 1


def test_serve_says_an_unknown_shelter_in_japanese_then_english(tmp_path):
    done = run_evac("kiosk", "serve", "--db", str(tmp_path / "kiosk.sqlite3"), "--shelter", "H999", "--port", "5807")
    said = done.stderr.splitlines()[-1]   # (after the tests' cheap password hashing warning)
    assert done.returncode == 2 and said.startswith("evac: "), done.stderr
    ja, _, en = said.removeprefix("evac: ").partition(" / ")
    assert "H999" in ja and JAPANESE.search(ja) and "unknown shelter id 'H999'" in en, done.stderr
    assert list(tmp_path.iterdir()) == []


def a_port_nothing_listens_on() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_sync_says_hq_cannot_be_reached_in_japanese_then_english_and_that_the_records_stay(kiosk):
    hq = f"http://127.0.0.1:{a_port_nothing_listens_on()}"
    done = run_evac("kiosk", "sync", "--db", str(kiosk), "--hq", hq, "--token", A_TOKEN)
    assert done.returncode == 1, done.stderr
    line = next(line for line in done.stderr.splitlines() if "cannot be reached" in line)
    ja, slash, en = line.removeprefix("evac: 同期できませんでした: ").partition(" / ")
    assert slash and ja.startswith("本部に接続できません"), done.stderr
    assert "1 件" in ja and "この受付機に残" in ja, done.stderr
    assert en.startswith(f"sync failed: HQ cannot be reached at {hq}"), done.stderr
    assert "1 event(s) stay queued on this kiosk" in en, done.stderr
