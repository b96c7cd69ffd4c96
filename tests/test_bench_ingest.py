"""The ingest benchmark runs end to end (small) on both databases and reports what it measured.
Its timings are reported by `evac bench ingest`, never asserted."""
import json

import pytest

from tests.conftest import run_evac


# The figures are rounded to milliseconds, and 3,000 events take a few tens of them: ratios computed
# back from the rounded seconds may differ by a few per cent.
CLOSE = {"rel": 0.06, "abs": 0.002}


def test_the_ingest_benchmark_reports_merge_raw_and_the_database_share(hq_db_url):
    done = run_evac("bench", "ingest", "--events", "3000", "--batch", "200", "--db", hq_db_url,
                    "--json", "--breakdown", timeout=180)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["events"] == 3000
    assert result["database"] == hq_db_url.split(":")[0]
    assert result["ratio"] == pytest.approx(result["raw_seconds"] / result["seconds"], **CLOSE)
    # The replay is the merge's own writes again without its Python: it ran, and it is a share of the merge.
    assert result["replay_seconds"] > 0
    assert result["database_share"] == pytest.approx(result["replay_seconds"] / result["seconds"], **CLOSE)
    assert result["ratio_without_python"] == pytest.approx(result["raw_seconds"] / result["replay_seconds"],
                                                           **CLOSE)
    # Validation and identity keys measured on their own: the ratio with storage and them but no merge.
    assert result["validation_seconds"] > 0
    assert result["ratio_floor"] == pytest.approx(
        result["raw_seconds"] / (result["replay_seconds"] + result["validation_seconds"]), **CLOSE)


def test_the_ingest_benchmark_refuses_a_database_that_is_not_empty(hq_app, hq_db_url):
    done = run_evac("bench", "ingest", "--events", "100", "--db", hq_db_url, "--json")
    assert done.returncode != 0
    assert "needs an empty database" in done.stderr
