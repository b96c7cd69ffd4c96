"""The command line refuses mistakes with one line that says what to do: no traceback, no data lost,
no database quietly made where a typo pointed."""
from __future__ import annotations

from tests.conftest import run_evac


def refused(result, *words: str, code: int = 2) -> str:
    assert result.returncode == code, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    for word in words:
        assert word in result.stderr, result.stderr
    return result.stderr


# --- evac demo --var ------------------------------------------------------------------------

def test_demo_never_empties_a_folder_it_did_not_make(tmp_path):
    real = tmp_path / "var"
    real.mkdir()
    (real / "hq.sqlite3").write_bytes(b"a real HQ's database")
    result = run_evac("demo", "--var", str(real), "--port", "5800", "--duration", "1")
    refused(result, f"--var {real} holds files the demo did not make", "new or empty folder")
    assert (real / "hq.sqlite3").read_bytes() == b"a real HQ's database"


def test_demo_refuses_a_file_as_its_folder(tmp_path):
    file = tmp_path / "notes.txt"
    file.write_text("keep me")
    refused(run_evac("demo", "--var", str(file), "--port", "5800", "--duration", "1"), "is a file, not a folder")
    assert file.read_text() == "keep me"


def test_evac_alone_shows_what_it_can_do():
    result = run_evac()
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "kiosk" in result.stderr and "a shelter kiosk" in result.stderr and "the HQ service" in result.stderr
