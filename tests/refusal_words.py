"""How the tests read a refusal of the `evac kiosk ...` commands: one line on stderr, exit status 2,
"evac: 日本語 / English", Japanese first, each half naming what to correct (shared by the kiosk CLI's
refusal tests)."""
from __future__ import annotations

import re

import pytest

from kiosk.store import KioskStore
from tests.conftest import run_evac

JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


def said(done, *english: str, option: str, saved_nothing: bool = True, typed: tuple[str, ...] = (),
         status: int = 2) -> tuple[str, str]:
    """The refusal's one line, as (Japanese, English): the Japanese half has Japanese in it, the English half
    none but what `typed` matches (regular expressions: what was typed, said as typed); both halves name
    `option`; both say nothing was saved unless `saved_nothing` is False; the English half holds each of
    `english`; the command exits with `status`."""
    assert done.returncode == status and "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("evac: "), done.stderr
    ja, slash, en = lines[0].removeprefix("evac: ").partition(" / ")
    assert slash and JAPANESE.search(ja), done.stderr
    assert not JAPANESE.search(re.sub("|".join(typed), "", en) if typed else en), done.stderr
    assert option in ja and option in en, done.stderr
    if saved_nothing:
        assert "何も保存していません" in ja and "nothing was saved" in en, done.stderr
    for word in english:
        assert word in en, done.stderr
    return ja, en


@pytest.fixture
def kiosk(tmp_path):
    """A kiosk database with one person checked in (event 1), for refusals to leave as it is."""
    db = tmp_path / "kiosk.sqlite3"
    done = run_evac("kiosk", "checkin", "--db", str(db), "--shelter", "H031", "--sex", "female",
                    "--name", "焼津 太郎", "--birth", "1990-01-01")
    assert done.returncode == 0, done.stderr
    return db


def last_seq(db) -> int:
    store = KioskStore(db)
    try:
        return store.last_seq
    finally:
        store.close()
