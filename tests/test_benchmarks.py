"""The benchmark scripts still run (tiny sizes; the figures themselves live in the README)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

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


def test_cli_startup_benchmark_runs() -> None:
    out = run("benchmarks/cli_startup.py", "--papers", "20", "--runs", "1", "--no-semantic")
    assert "20 papers; semantic off" in out
    assert "newsletter --help" in out
    assert "rank again, vectors cached" in out


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
def test_scale_benchmark_runs(postgres_url: str) -> None:
    out = run(
        "benchmarks/scale.py", "--database-url", postgres_url, "--subscribers", "60",
        "--workers", "1", "--connections", "2",
    )  # fmt: skip
    assert "1 worker(s): " in out
    assert "msg/s" in out


def test_learning_benchmark_runs(tmp_path: Path) -> None:
    out = run(
        "benchmarks/learning.py", "--quick", "--sets", "dev", "--seeds", "0",
        "--embedder", "hashing", "--cache", str(tmp_path),
    )  # fmt: skip
    assert "| dev | interest | 2 | 20 |" in out
    assert "dev: written interest" in out
    assert "10 ratings: informative" in out
    assert "| fit_reader: 300 examples, 100 unlabelled |" in out  # the refit timing
    assert "| fit_for_profile: 30 liked, 100 recent, builds its ranker |" in out


def test_learning_scale_worker_runs() -> None:
    out = run(
        "benchmarks/learning_scale.py", "--worker", "hybrid+models", "300", "--chunk-size", "100"
    )
    result = json.loads(out.split("RESULT ", 1)[1].splitlines()[0])
    assert result["profiles"] == 300
    assert result["matches"] > 0


@pytest.mark.parametrize(
    "database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_load_benchmark_runs(database: str, request: pytest.FixtureRequest) -> None:
    server = (
        ["--database-url", request.getfixturevalue("postgres_url")] if database != "sqlite" else []
    )
    out = run(
        "benchmarks/load.py", "--subscribers", "20", "--requests", "40", "--concurrency", "4",
        *server,
    )  # fmt: skip
    result = json.loads(out.split("RESULT ", 1)[1].splitlines()[0])
    assert result["requests"] == 40
    assert result["invariants"] == {"no_5xx": True, "no_lost_writes": True}
    assert sum(result["acknowledged"].values()) > 10
    assert result["outbox"].get("sent", 0) > 0
