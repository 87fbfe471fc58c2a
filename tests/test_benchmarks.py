"""The benchmark suite runs end to end on a tiny input (its numbers are not asserted: they are for people)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest

from madoguchi.paths import PROJECT_ROOT
from tests.conftest import SMALL_CORPUS

pytestmark = pytest.mark.slow


def test_suite_runs_on_a_tiny_input_and_writes_json(tmp_path):
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "benchmarks" / "run.py"), "--backends", "tfidf-linear",
         "--http-backends", "", "--served", "", "--batch-rows", "300", "--texts", "40",
         "--corpus", str(SMALL_CORPUS), "--out", str(out)],
        capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(out.read_text(encoding="utf-8"))
    entry = result["backends"]["tfidf-linear"]
    assert entry["in_process"]["all"]["n"] == 40 and entry["in_process"]["all"]["p50_ms"] > 0
    assert entry["batch"]["rows"] == 300 and entry["batch"]["texts_per_s_in_command"] > 0
    assert "| tfidf-linear |" in proc.stdout


def test_repeated_wrk_runs_are_summarised_by_their_medians():
    spec = importlib.util.spec_from_file_location("bench_run", PROJECT_ROOT / "benchmarks" / "run.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    runs = [{"connections": 16, "requests_per_s": rps, "p50_ms": p50, "p99_ms": p99, "non_2xx": bad}
            for rps, p50, p99, bad in [(1000, 12.0, 30.0, 0), (1400, 9.0, 18.0, 2), (1200, 10.0, 21.0, 0)]]
    summary = bench.median_run(runs)
    assert (summary["requests_per_s"], summary["p50_ms"], summary["p99_ms"]) == (1200, 10.0, 21.0)
    assert summary["non_2xx"] == 2 and summary["runs"] == runs
