"""`evac hq import-records` says each refusal Japanese first, then English (as its other refusals do): every
code it can meet has words of its own in hq_dashboard/carried_pages.py, the Japanese the command line says.
A retired kiosk's file (`evac hq retire-kiosk`, then its records carried by hand) through the real commands;
every code HQ's token check, its merge and the carried file's own checks can give, as the command words it."""
from __future__ import annotations

import re

import pytest

from hq_dashboard.carried import CarriedRefused
from hq_dashboard.carried_pages import refusal
from tests.conftest import ROOT, run_evac
from tests.test_sync_http import checkin

JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


def _codes() -> set[str]:
    """The refusal codes apply_carried passes on or raises itself, read from their sources."""
    source = {name: (ROOT / "hq_dashboard" / name).read_text() for name in ("enrollment.py", "merge.py", "carried.py")}
    codes = set(re.findall(r'AuthError\("(\w+)"', source["enrollment.py"]))
    codes |= set(re.findall(r'BatchRejected\(\d+, "(\w+)"', source["merge.py"]))
    codes |= set(re.findall(r'code="(\w+)"', source["carried.py"]))
    assert {"kiosk_retired", "wrong_token", "invalid_event", "no_token", "unreadable_file"} <= codes, codes
    return codes


def test_a_retired_kiosks_file_is_refused_japanese_first(hq_app, hq_db_url, enroll, tmp_path):
    token = enroll("H001")
    kiosk_id = token.split(".")[0]
    assert run_evac("hq", "retire-kiosk", "--db", hq_db_url, kiosk_id).returncode == 0
    kiosk = tmp_path / "kiosk.sqlite3"
    checkin(kiosk, "退役 三")
    stick = tmp_path / "records.json"
    carried = run_evac("kiosk", "carry", "--db", str(kiosk), "--out", str(stick), "--token", token)
    assert carried.returncode == 0, carried.stderr
    refused = run_evac("hq", "import-records", "--db", hq_db_url, str(stick))
    assert refused.returncode == 2 and "Traceback" not in refused.stderr, refused.stderr
    (line,) = refused.stderr.splitlines()
    japanese, sep, english = line.removeprefix("evac: ").partition(" / ")
    assert sep and JAPANESE.search(japanese) and japanese.startswith(f"{stick}: "), line
    assert kiosk_id in japanese and "evac hq enroll-kiosk" in japanese, line
    assert "何も取り込んでいません" in japanese, line
    assert english.startswith(f"{stick}: HQ retired kiosk {kiosk_id}") and "nothing was applied" in english, line


@pytest.mark.parametrize("code", sorted(_codes()))
def test_every_refusal_import_records_can_meet_has_japanese_words(hq_app, code):
    place = {"first": 1, "last": 5} if code in ("malformed_batch", "batch_too_large") else {"seq": 3}
    details = {"reason": "HQ's own words", "kiosk": "K12345678", "enrolled_at": "H001", "shelters": ["H002"],
               "acked_seq": 2, **(place if code not in ("no_token", "unreadable_file") and code not in
                                   ("unauthenticated", "unknown_kiosk", "wrong_token", "kiosk_retired",
                                    "other_shelters_token") else {})}
    exc = CarriedRefused(f"HQ's English for {code}", code=code, **details)
    with hq_app.test_request_context("/?lang=ja"):   # as `evac hq import-records` asks (hq_dashboard.cli)
        said = refusal(exc)
    assert said != exc.message and JAPANESE.search(said), (code, said)
    with hq_app.test_request_context("/?lang=en"):
        assert refusal(exc) != exc.message, code
