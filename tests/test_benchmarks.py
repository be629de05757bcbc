"""The benchmark scripts still run (tiny sizes; the figures themselves live in the README)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

pytestmark = pytest.mark.slow  # each runs a benchmark script in its own process

ROOT = Path(__file__).parents[1]


def run(*args: str) -> str:
    done = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:  # the script's own traceback, not subprocess's, in the report
        pytest.fail(f"{' '.join(args)} exited {done.returncode}:\n{done.stderr[-4000:]}")
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
def test_scale_benchmark_runs(postgres_server: str) -> None:
    # The benchmark makes (and drops) its own database on the server it is given.
    out = run(
        "benchmarks/scale.py", "--database-url", postgres_server, "--subscribers", "60",
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


def test_topics_queueing_worker_runs() -> None:
    worker = ["--worker", "2 topics + models", ""]  # "": a SQLite file of its own
    out = run("benchmarks/topics_queueing.py", "--readers", "40", *worker)
    result = json.loads(out.split("RESULT ", 1)[1].splitlines()[0])
    assert (result["readers"], result["considered"]) == (40, 40)
    assert result["queued"] > 0


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


def load_ranking_benchmark() -> ModuleType:
    """benchmarks/ is a folder of scripts, not a package: the script loaded as a module."""
    name = "benchmarks_ranking"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks/ranking.py")
        assert spec is not None
        assert spec.loader is not None
        sys.modules[name] = importlib.util.module_from_spec(spec)  # its dataclasses look here
        spec.loader.exec_module(sys.modules[name])
    return sys.modules[name]


def test_csfcube_is_found_beside_the_checkout_or_a_worktree(tmp_path: Path) -> None:
    """../shared/data/csfcube_dev from /work/main, and from a worktree /work/wt/NAME."""
    ranking = load_ranking_benchmark()
    main, worktree = tmp_path / "main", tmp_path / "wt" / "qbe"
    assert ranking.find_csfcube(main) is None
    assert ranking.find_csfcube(worktree) is None
    data = tmp_path / "shared/data/csfcube_dev"
    data.mkdir(parents=True)
    assert ranking.find_csfcube(main) is None  # a folder without the papers is not the set
    (data / "papers.jsonl").write_text("")
    assert ranking.find_csfcube(main) == data
    assert ranking.find_csfcube(worktree) == data


# A made-up set in CSFCube's layout (papers.jsonl, gold-{facet}.json), so the smoke tests run
# the CSFCube code paths without ../shared (CC BY-NC data, which users and CI do not have):
# three query papers, one per facet, each with related candidates graded 1-3 and others 0.
FAKE_TOPICS = {
    "background": ("graph neural networks", "message passing over molecular graphs"),
    "method": ("speech recognition", "transformer acoustic models for spoken audio"),
    "result": ("robot reinforcement learning", "policies for robotic grasping learnt by reward"),
}


@pytest.fixture(scope="module")
def csfcube_like(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("csfcube_like")
    papers: list[dict[str, str]] = []
    for number, (facet, (topic, detail)) in enumerate(FAKE_TOPICS.items()):
        query = f"{number}00"
        papers.append(
            {"id": query, "title": f"A study of {topic}", "abstract": f"We study {detail}."}
        )
        cands, grades = [], []
        for i in range(14):
            related = i < 5
            other = list(FAKE_TOPICS.values())[(number + 1 + i % 2) % 3]
            about = (topic, detail) if related else other
            cands.append(f"{number}{i + 1:02d}")
            grades.append(3 - i % 3 if related else 0)
            papers.append({
                "id": cands[-1], "title": f"{about[0].capitalize()}, part {i}",
                "abstract": f"This paper is about {about[1]}; variant {i}.",
            })  # fmt: skip
        gold = {query: {"cands": cands, "relevance_adju": grades}}
        (folder / f"gold-{facet}.json").write_text(json.dumps(gold))
    (folder / "papers.jsonl").write_text("".join(json.dumps(p) + "\n" for p in papers))
    return folder


@pytest.fixture(scope="module")
def vectors(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One embedding cache for the ranking benchmarks' smoke tests: they share papers."""
    return str(tmp_path_factory.mktemp("vectors") / "vectors.npz")


def test_ranking_benchmark_runs_small(tmp_path: Path, vectors: str, csfcube_like: Path) -> None:
    """`--small --fit`: every code path (the dev set, a set in CSFCube's layout, the fit with
    its cross-validation), then again without CSFCube, which it says it skips."""
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("sklearn")
    cache = vectors
    out = run("benchmarks/ranking.py", "--small", "--fit", "--csfcube", str(csfcube_like),
              "--embedding-cache", cache)  # fmt: skip
    assert "### Development set: 3 interests x 40 papers" in out
    assert "text channel, hybrid: nDCG@10 leave-one-interest-out" in out
    assert 'TEXT["hybrid"] = Logistic(' in out
    for system in ("tfidf", "lexical", "semantic", "hybrid"):
        assert f"| {system} | 0." in out or f"| {system} | 1." in out
    assert "### CSFCube half: 3 query-facet pairs" in out
    assert "liked channel, hybrid: NDCG%20 / MAP leave-one-query-out" in out
    missing = tmp_path / "no-csfcube"
    out = run("benchmarks/ranking.py", "--small", "--csfcube", str(missing),
              "--embedding-cache", cache)  # fmt: skip
    assert f"CSFCube half not found (no papers.jsonl in {missing})" in out
    assert "### CSFCube half" not in out
    assert "| hybrid | " in out


def test_robustness_benchmark_runs_small(vectors: str, csfcube_like: Path) -> None:
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("sklearn")
    out = run("benchmarks/robustness.py", "--small", "--csfcube", str(csfcube_like),
              "--embedding-cache", vectors)  # fmt: skip
    assert "### Threshold sweep, leave-one-interest-out on the dev pool" in out
    assert "### Short interests on the dev pool" in out
    for variant in ("day", "sample", "pool", "no z"):
        assert f"| {variant} | 0." in out or f"| {variant} | 1." in out
    assert "### Stability against the dev pool at tau 0.6" in out
    assert "broad: dev + CSFCube: mean abs dP / flips" in out
