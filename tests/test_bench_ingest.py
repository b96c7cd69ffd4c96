"""The ingest benchmark runs end to end (small) on both databases and reports what it measured.
Its timings are reported by `evac bench ingest`, never asserted."""
import json

import pytest

from tests.conftest import run_evac


def test_the_ingest_benchmark_reports_merge_raw_and_the_database_share(hq_db_url):
    done = run_evac("bench", "ingest", "--events", "3000", "--batch", "200", "--db", hq_db_url,
                    "--json", "--breakdown", timeout=180)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["events"] == 3000
    assert result["database"] == hq_db_url.split(":")[0]
    assert result["ratio"] == pytest.approx(result["raw_seconds"] / result["seconds"], rel=0.02, abs=0.002)
    # The replay is the merge's own writes again without its Python: it ran, and it is a share of the merge.
    assert result["replay_seconds"] > 0
    assert result["database_share"] == pytest.approx(result["replay_seconds"] / result["seconds"], rel=0.02, abs=0.002)
    assert result["ratio_without_python"] == pytest.approx(result["raw_seconds"] / result["replay_seconds"],
                                                           rel=0.02, abs=0.002)
    # Validation and identity keys measured on their own: the ratio with storage and them but no merge.
    assert result["validation_seconds"] > 0
    assert result["ratio_floor"] == pytest.approx(
        result["raw_seconds"] / (result["replay_seconds"] + result["validation_seconds"]), rel=0.02, abs=0.002)


def test_the_ingest_benchmark_refuses_a_database_that_is_not_empty(hq_app, hq_db_url):
    done = run_evac("bench", "ingest", "--events", "100", "--db", hq_db_url, "--json")
    assert done.returncode != 0
    assert "needs an empty database" in done.stderr
