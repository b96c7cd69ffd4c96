"""The inquiry load benchmark runs end to end (small): real HQ process, real HTTP, every answer 201.
Its timings are reported by `evac bench inquiries`, never asserted."""
import json

from tests.conftest import run_evac


def test_the_inquiry_benchmark_runs_and_reports():
    done = run_evac("bench", "inquiries", "--clients", "6", "--per-client", "3", "--persons", "60",
                    "--think-ms", "0", timeout=180)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["requests"] == 18 and result["errors"] == 0
    assert {"p50_ms", "p99_ms", "max_ms", "p50_ms_unknown", "p50_ms_protected"} <= set(result)
