"""The benchmark scripts still run (tiny sizes; the figures themselves live in the README)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # each runs a benchmark script in its own process

ROOT = Path(__file__).parents[1]


def run(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, *args], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return done.stdout


def test_ingest_benchmark_runs() -> None:
    out = run("benchmarks/ingest.py", "--entries", "200")
    assert "200 entries" in out
    assert "store (unchanged)" in out


def test_matching_scale_worker_runs() -> None:
    out = run("benchmarks/matching_scale.py", "--worker", "lexical", "500", "--chunk-size", "100")
    result = json.loads(out.split("RESULT ", 1)[1].splitlines()[0])
    assert result["profiles"] == 500
    assert result["matches"] > 0


def test_send_benchmark_runs() -> None:
    out = run("benchmarks/send.py", "--worker", "60", "--concurrency", "2")
    result = json.loads(out.split("RESULT ", 1)[1].splitlines()[0])
    assert result["sent"] == result["queued"] > 0
    assert result["raw_rate"] > 0
    assert result["ratio"] > 0


@pytest.mark.postgres
def test_scale_benchmark_runs(postgres_server: str) -> None:
    # The benchmark makes (and drops) its own database on the server it is given.
    out = run(
        "benchmarks/scale.py", "--database-url", postgres_server, "--subscribers", "60",
        "--workers", "1", "--connections", "2",
    )  # fmt: skip
    assert "1 worker(s): " in out
    assert "msg/s" in out
