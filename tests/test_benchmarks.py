"""The benchmark scripts still run (tiny sizes; the figures themselves live in the README)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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
