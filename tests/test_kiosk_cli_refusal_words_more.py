"""Every other refusal of `evac kiosk checkin|checkout|transfer` (staff typing paper forms in after a power
failure) as tests/test_kiosk_cli_refusal_words.py has the first ones: one line, Japanese first and then
English ("日本語 / English"), naming the option to correct and saying nothing was saved.  Names the event
checks refuse (evac.events) are said so at the command line's edge; a --db that is no kiosk database is said
in Japanese too (evac.dbfiles' `.ja`, as HQ's commands say it).  The real `evac` command on real SQLite files."""
from __future__ import annotations

import contextlib
import subprocess

import pytest

from kiosk.staff_store import set_shelter_status
from kiosk.store import KioskStore
from tests import refusal_words
from tests.conftest import run_evac
from tests.refusal_words import kiosk, last_seq  # noqa: F401  (kiosk: the fixture)

NUMBER = "987654321093"   # a valid Individual Number check digit (not anyone's)
HANAKO = ("--name", "焼津 花子", "--birth", "1990-01-01")
TARO = ("--name", "焼津 太郎", "--birth", "1990-01-01")


def checkin(db, *more: str, who=HANAKO):
    return run_evac("kiosk", "checkin", "--db", str(db), "--shelter", "H031", "--sex", "female", *who, *more)


def said(done, *english: str, option: str, saved_nothing: bool = True) -> tuple[str, str]:
    """The refusal's one line (tests.refusal_words); what was typed, a name, is said as typed."""
    return refusal_words.said(done, *english, option=option, saved_nothing=saved_nothing,
                              typed=("マイナンバー", "番号法", "焼津 花子", "'あ'"))


def test_a_name_of_symbols_alone(kiosk):
    ja, _ = said(checkin(kiosk, who=("--name", "😀😀", "--birth", "1990-01-01")), "has no letters in it",
                 option="--name")
    assert "文字" in ja
    assert last_seq(kiosk) == 1


def test_a_kana_that_is_not_a_reading(kiosk):
    said(checkin(kiosk, "--kana", "12345"), "is not a reading", option="--kana")
    assert last_seq(kiosk) == 1


def test_a_family_code_of_symbols_alone(kiosk):
    said(checkin(kiosk, "--family-code", "★★★★"), "has no letters or digits in it", option="--family-code")
    assert last_seq(kiosk) == 1


def test_consent_for_the_family_without_a_code(kiosk):
    said(checkin(kiosk, "--consent", "family"), "consent for the family needs a family code", option="--family-code")
    assert last_seq(kiosk) == 1


def test_a_family_code_too_short(kiosk):
    said(checkin(kiosk, "--family-code", "ab"), "4 to 32", option="--family-code")
    assert last_seq(kiosk) == 1


def test_a_family_code_without_consent_for_the_family(kiosk):
    said(checkin(kiosk, "--consent", "public", "--family-code", "sakura"), "consent for the family",
         option="--family-code")
    assert last_seq(kiosk) == 1


@pytest.mark.parametrize("command", ["checkin", "checkout", "transfer"])
def test_a_name_too_long(kiosk, command):
    who = ("--name", "焼" * 101, "--birth", "1990-01-01")
    done = (checkin(kiosk, who=who) if command == "checkin" else
            run_evac("kiosk", command, "--db", str(kiosk), *who, *(["--to", "H002"] if command == "transfer" else [])))
    said(done, "is too long", option="--name")
    assert last_seq(kiosk) == 1


def test_a_name_with_a_control_character(kiosk):
    said(checkin(kiosk, who=("--name", "焼津\x07花子", "--birth", "1990-01-01")), "control characters", option="--name")
    assert last_seq(kiosk) == 1


def test_an_individual_number_in_the_address(kiosk):
    done = checkin(kiosk, "--address", f"焼津市本町1-1 {NUMBER}")
    said(done, "Individual Number", option="--address")
    assert NUMBER not in done.stderr and last_seq(kiosk) == 1


def test_a_kana_too_long(kiosk):
    said(checkin(kiosk, "--kana", "や" * 101), "is too long", option="--kana")
    assert last_seq(kiosk) == 1


def test_an_individual_number_in_by(kiosk):
    done = checkin(kiosk, "--by", f"係員 {NUMBER}")
    said(done, "--by must not hold an Individual Number", option="--by")
    assert NUMBER not in done.stderr and last_seq(kiosk) == 1


def test_a_closed_shelter(kiosk):
    store = KioskStore(kiosk)
    set_shelter_status(store, "H031", "closed")
    seq = store.last_seq
    store.close()
    ja, en = said(checkin(kiosk), "shelter H031 is closed", option="--even-if-closed")
    assert "H031" in ja and last_seq(kiosk) == seq


@pytest.mark.parametrize("command", ["checkout", "transfer"])
def test_someone_not_checked_in_here(kiosk, command):
    extra = ["--to", "H002"] if command == "transfer" else []
    ja, en = said(run_evac("kiosk", command, "--db", str(kiosk), *HANAKO, "--address", "焼津市本町1-1", *extra),
                  "is not checked in", option="--name")
    assert "焼津 花子" in ja and "--birth" in ja and "--birth" in en
    assert last_seq(kiosk) == 1


@pytest.mark.parametrize("command", ["checkout", "transfer"])
def test_someone_not_checked_in_without_an_address_is_asked_for_it(kiosk, command):
    extra = ["--to", "H002"] if command == "transfer" else []
    ja, _ = said(run_evac("kiosk", command, "--db", str(kiosk), *HANAKO, *extra), "is not checked in",
                 "give --address", option="--address")
    assert "住所" in ja and last_seq(kiosk) == 1


def test_a_transfer_to_the_shelter_they_are_in(kiosk):
    said(run_evac("kiosk", "transfer", "--db", str(kiosk), *TARO, "--to", "H031"), "already in", option="--to")
    assert last_seq(kiosk) == 1


def test_no_kiosk_database_there(tmp_path):
    typo = tmp_path / "nodir" / "kiosk.sqlite3"
    ja, _ = said(run_evac("kiosk", "checkout", "--db", str(typo), *TARO), f"no kiosk database at {typo}",
                 option="--db")
    assert str(typo) in ja and not typo.parent.exists()


def test_a_file_that_is_not_a_database(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("not a database\n")
    said(run_evac("kiosk", "transfer", "--db", str(text), *TARO, "--to", "H002"),
         f"cannot open the kiosk database at {text}: this file is not a SQLite database", option="--db")
    assert text.read_text() == "not a database\n"


def test_a_folder_for_a_database(tmp_path):
    said(checkin(tmp_path), f"{tmp_path} is a folder", option="--db")


def test_hqs_database_for_a_kiosks(hq_initialised_sqlite, tmp_path):
    hq = tmp_path / "hq.sqlite3"
    hq_initialised_sqlite(hq)
    before = hq.read_bytes()
    said(checkin(hq), "is HQ's database, not a kiosk's", option="--db")
    assert hq.read_bytes() == before


def test_a_database_file_refused_by_a_command_that_saves_nothing_is_said_in_japanese_too(tmp_path):
    """`evac kiosk sync` saves no record: its --db is refused in both languages, without "nothing was saved"."""
    typo = tmp_path / "kiosk.sqlite3"
    said(run_evac("kiosk", "sync", "--db", str(typo), "--hq", "http://127.0.0.1:9", "--token", "K0000000A." + "x" * 43),
         f"no kiosk database at {typo}", option="--db", saved_nothing=False)


def test_a_damaged_database(kiosk):
    size = kiosk.stat().st_size
    with open(kiosk, "r+b") as f:   # pages past the first two overwritten, as a failing card returns them
        f.seek(2 * 4096)
        f.write(bytes(range(256)) * ((size - 2 * 4096) // 256))
    kept = kiosk.read_bytes()
    ja, en = said(checkin(kiosk), "is damaged", "evac kiosk carry", option="--db")
    assert "壊れています" in ja and "evac kiosk carry" in ja
    assert kiosk.read_bytes() == kept


@pytest.fixture
def card(tmp_path):
    """A 1 MB filesystem of its own, as a kiosk's SD card, to fill up for real (as test_kiosk_disk_trouble)."""
    mnt = tmp_path / "card"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)], capture_output=True).returncode:
        pytest.skip("this machine does not let the tests mount a filesystem")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=True)


def test_a_full_disk(card):
    db = card / "kiosk.sqlite3"
    assert checkin(db, who=TARO).returncode == 0
    with open(card / "photos.bin", "wb", buffering=0) as f:
        with contextlib.suppress(OSError):
            while True:
                f.write(b"\0" * 4096)
    ja, en = said(checkin(db), "the disk holding it is full", option="kiosk.sqlite3-wal")
    assert "ディスクがいっぱい" in ja
    (card / "photos.bin").unlink()
    assert last_seq(db) == 1


# -- the kiosk's token from HQ (evac kiosk sync, serve, carry) ------------------------------------

def sync(db, *token: str):
    return run_evac("kiosk", "sync", "--db", str(db), "--hq", "http://127.0.0.1:9", *token)


def test_a_token_given_two_ways(kiosk, tmp_path):
    path = tmp_path / "token"
    path.write_text("K0000000A." + "x" * 43)
    path.chmod(0o600)
    said(sync(kiosk, "--token", "K0000000A." + "x" * 43, "--token-file", str(path)), "give the token one way",
         option="--token-file", saved_nothing=False)


def test_sync_without_a_token(kiosk):
    ja, _ = said(sync(kiosk), "sync needs this kiosk's token from HQ", option="--token-file", saved_nothing=False)
    assert "EVAC_KIOSK_TOKEN" in ja


@pytest.mark.parametrize("token, english, japanese", [
    ("K0000000A.あ" + "x" * 42, "which no token has", "U+3042"),
    ("K0000000A" + "x" * 43, "no dot", "「.」がありません"),
    ("X1." + "x" * 43, "is not a kiosk id", "端末ID"),
    ("K0000000A.abc", "3 characters long, not 43", "3 文字"),
    ("K0000000A." + "x" * 43 + ".x", "more than one dot", "「.」があります"),
])
def test_what_is_not_a_kiosk_token(kiosk, token, english, japanese):
    ja, _ = said(sync(kiosk, "--token", token), "is not a kiosk token as `evac hq enroll-kiosk` prints it", english,
                 option="--token", saved_nothing=False)
    assert japanese in ja


def _not_text(path):
    path.write_bytes(b"\xff\xfe\xfa")


@pytest.mark.parametrize("make, english", [
    (None, "does not exist"),
    (lambda p: p.mkdir(), "is a folder"),
    (_not_text, "is not text"),
    (lambda p: p.write_text("K0000000A." + "x" * 43) or p.chmod(0o644), "can be read by anyone on this machine"),
    (lambda p: p.write_text("\n"), "is empty"),
    (lambda p: p.write_text("K1.abc\nK2.def\n"), "must hold the token alone"),
])
def test_a_token_file_that_holds_no_token(kiosk, tmp_path, make, english):
    path = tmp_path / "token"
    if make:
        make(path)
        if path.is_file() and english != "can be read by anyone on this machine":
            path.chmod(0o600)
    ja, _ = said(sync(kiosk, "--token-file", str(path)), english, option=str(path), saved_nothing=False)
    assert "トークン" in ja or "フォルダ" in ja


# -- carrying records by hand, and staff accounts -----------------------------------------------

def test_carry_to_a_folder(kiosk, tmp_path):
    said(run_evac("kiosk", "carry", "--db", str(kiosk), "--out", str(tmp_path)), "is a folder", option="--out",
         saved_nothing=False)


def test_carry_onto_another_kiosks_file(kiosk, tmp_path):
    other = tmp_path / "other.sqlite3"
    assert checkin(other).returncode == 0
    stick = tmp_path / "records.json"
    assert run_evac("kiosk", "carry", "--db", str(other), "--out", str(stick)).returncode == 0
    held = stick.read_bytes()
    ja, _ = said(run_evac("kiosk", "carry", "--db", str(kiosk), "--out", str(stick)), "holds another kiosk's records",
                 option="--force", saved_nothing=False)
    assert "H031" in ja and stick.read_bytes() == held


def test_add_staff_without_a_password(kiosk):
    said(run_evac("kiosk", "add-staff", "--db", str(kiosk), "--name", "sato", "--role", "staff", input=""),
         "no password came on stdin", option="stdin")


def test_serve_with_hq_but_no_token(tmp_path):
    done = run_evac("kiosk", "serve", "--db", str(tmp_path / "kiosk.sqlite3"), "--shelter", "H031",
                    "--hq", "http://127.0.0.1:9", "--port", "5808")
    said(done, "--hq needs this kiosk's token from HQ", option="--token-file", saved_nothing=False)
    assert list(tmp_path.iterdir()) == []


def test_serve_with_a_token_but_no_hq(tmp_path):
    done = run_evac("kiosk", "serve", "--db", str(tmp_path / "kiosk.sqlite3"), "--shelter", "H031",
                    "--token", "K0000000A." + "x" * 43, "--port", "5808")
    said(done, "but no --hq", option="--hq", saved_nothing=False)
    assert list(tmp_path.iterdir()) == []


def test_withdraw_when_hq_refuses_nothing(kiosk):
    ja, _ = said(run_evac("kiosk", "withdraw", "--db", str(kiosk)), "HQ refuses no record of this kiosk", option="",
                 saved_nothing=False)
    assert "本部" in ja
