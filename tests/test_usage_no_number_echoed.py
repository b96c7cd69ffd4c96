"""番号法 §20: argparse's refusals of any `evac` command do not repeat a typed value that holds an Individual
Number (a command or choice typed as the number, a bad value of an `evac hq` option); the option is still named.
The real `evac` command."""
from __future__ import annotations

import pytest

from tests.conftest import run_evac

NUMBER = "1234-5678-9018"   # a valid check digit


@pytest.mark.parametrize("args", [
    ("kiosk", NUMBER),                                          # a command that is no command
    ("hq", "serve", "--port", NUMBER),                          # an evac type's refusal
    ("hq", "enroll-kiosk", "--shelter", "H031", "--db", "x", NUMBER),   # an argument argparse does not know
    ("kiosk", "checkin", "--db", "k", "--shelter", "H031", "--name", "a", "--birth", "1990-01-01",
     "--sex", NUMBER),                                          # an invalid choice
])
def test_no_refusal_repeats_the_number(args):
    done = run_evac(*args)
    assert done.returncode == 2, done.stderr
    digits = NUMBER.replace("-", "")
    assert digits not in done.stderr.replace("-", ""), done.stderr
    assert "****" in done.stderr or "(a number that looks like an Individual Number is not shown)" in done.stderr
    assert "エラー" in done.stderr or "error" in done.stderr, done.stderr
