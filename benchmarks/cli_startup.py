"""Command-line start-up: `newsletter --help`, and `rank` over N papers, first and again.

Each command runs as its own process, as a person types it, with wall-clock times over
--runs runs (mean and min). The first `rank` starts with an empty vector cache (it loads the
model and embeds every paper); the later ones find every vector in the cache file and load
no model. The papers are the recorded seed papers and arXiv listing, written as one JSON
Lines file of N papers.

    .venv/bin/python benchmarks/cli_startup.py [--papers 200] [--runs 10] [--no-semantic]

`python -X importtime -c "import newsletter.cli.app"` shows what `--help` imports.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from newsletter.sources.files import parse_file_bytes

DATA = Path(__file__).resolve().parents[1] / "tests/data"
NEWSLETTER = str(Path(sys.executable).with_name("newsletter"))


def papers_file(directory: Path, count: int) -> Path:
    papers = []
    for name in ("seed_papers.jsonl", "arxiv_listing_atom_cs.AI_2025-08-20.xml"):
        papers += parse_file_bytes((DATA / name).read_bytes(), what=name).papers
    if len(papers) < count:
        raise SystemExit(f"only {len(papers)} recorded papers")
    path = directory / "papers.jsonl"
    with path.open("w") as stream:
        for paper in papers[:count]:
            row = {
                "id": paper.id,
                "title": paper.title,
                "abstract": paper.abstract,
                "authors": list(paper.authors),
                "categories": list(paper.categories),
            }
            stream.write(json.dumps(row) + "\n")
    return path


def timed(args: list[str], env: dict[str, str], runs: int) -> list[float]:
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([NEWSLETTER, *args], env=env, check=True, capture_output=True)
        seconds.append(time.perf_counter() - start)
    return seconds


def report(label: str, seconds: list[float]) -> None:
    print(
        f"{label:<34} mean {statistics.mean(seconds):6.2f} s   min {min(seconds):6.2f} s   "
        f"({len(seconds)} runs)",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--papers", type=int, default=200)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--no-semantic", action="store_true", help="lexical ranking only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        env = {
            **os.environ,
            "NEWSLETTER_EMBEDDING_CACHE_FILE": str(directory / "vectors.sqlite3"),
            "NEWSLETTER_LOG_LEVEL": "WARNING",
            "HF_HUB_OFFLINE": "1",
        }
        if args.no_semantic:
            env["NEWSLETTER_EMBEDDING_MODEL"] = ""
        rank = ["rank", "--papers", str(papers_file(directory, args.papers)),
                "--interests", "language model agents that plan and use tools",
                "--keyword", "agents", "--format", "json"]  # fmt: skip
        print(f"{args.papers} papers; semantic {'off' if args.no_semantic else 'on'}")
        report("newsletter --help", timed(["--help"], env, args.runs))
        report("rank, empty vector cache", timed(rank, env, 1))
        report("rank again, vectors cached", timed(rank, env, args.runs))


if __name__ == "__main__":
    main()
