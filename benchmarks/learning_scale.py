"""Matching with per-reader models at scale: N synthetic readers x 1,000 papers, against today.

The setting of benchmarks/matching_scale.py (same papers, same lazily generated profiles,
`limit=10`, chunks of 2,000, the hashing stand-in embedder, each run in a fresh process):

- hybrid: today's `Ranker.rank_many` (BM25F fused with embedding similarity, threshold 0.4);
- hybrid + models: the same ranker, and in each chunk every reader's model applied on top:
  the chunk's models decoded from their stored bytes (`ReaderBatch.stack`, as they would
  come from a database column), the ranker's scores mapped to prior logits (a fixed
  calibration), one (readers x 384) @ (384 x papers) product, and the threshold applied to
  the result (`P >= P(score 0.4)`), in place of today's threshold on the score.

Every reader has a model (the worst case): 64 distinct models, each fitted on 30 examples
drawn from the papers, cycled over the readers. The per-chunk step is hooked into the
ranker's private `_score` here only to time it where the new ranker will run it.

"ranking s" leaves out generating the synthetic profiles; "CPU s" is the process's CPU time for
the whole `rank_many` (all threads), which a machine shared with other work inflates far less
than wall time.

    .venv/bin/python benchmarks/learning_scale.py [--profiles 100000] [--chunk-size 2000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from matching_scale import (
    LIMIT,
    RESULT_MARK,
    HashingEmbedder,
    ProfileGenerator,
    bench_papers,
    peak_rss_mb,
)

from newsletter.domain import InterestProfile
from newsletter.matching.learning.batch import ReaderBatch
from newsletter.matching.learning.model import Examples, fit_reader
from newsletter.matching.learning.prior import Calibration
from newsletter.matching.ranker import Ranker, Weights

CALIBRATION = Calibration(slope=15.5, intercept=-7.4)  # about the development set's fit
MODELS = 64
EXAMPLES = 30


class LearnedRanker(Ranker):
    """Today's ranker with each chunk's reader models applied to its scores (timing only)."""

    blobs: list[bytes]
    scored: int = 0

    def _score(self, profiles: list[InterestProfile], queries: list[dict[str, float]]) -> Any:
        scores, allowed, similarity = super()._score(profiles, queries)
        assert self._vectors is not None
        first = self.scored
        self.scored += len(profiles)
        batch = ReaderBatch.stack(
            [self.blobs[(first + row) % len(self.blobs)] for row in range(len(profiles))],
            self._vectors.shape[1],
        )
        prior = scores * np.float32(CALIBRATION.slope) + np.float32(CALIBRATION.intercept)
        logits = batch.logits(self._vectors, prior)
        allowed &= logits >= np.float32(CALIBRATION.threshold_logit(Weights().min_score))
        return logits, allowed, similarity


def reader_models(vectors: np.ndarray, *, seed: int) -> list[bytes]:
    rng = np.random.default_rng(seed)
    centre = vectors.mean(axis=0)
    blobs = []
    for _ in range(MODELS):
        rows = rng.choice(len(vectors), size=EXAMPLES, replace=False)
        examples = Examples(
            vectors[rows], rng.uniform(size=EXAMPLES) < 0.4, rng.normal(-2, 2, size=EXAMPLES)
        )
        blobs.append(fit_reader(examples, centre=centre).to_bytes())
    return blobs


def run_configuration(mode: str, count: int, *, chunk_size: int, seed: int) -> dict[str, Any]:
    started = time.perf_counter()
    papers = bench_papers(seed=seed)
    embedder = HashingEmbedder()
    if mode == "hybrid":
        ranker: Ranker = Ranker(papers, embedder=embedder)
    else:
        learned = LearnedRanker(papers, embedder=embedder, weights=Weights(min_score=-1e9))
        assert learned._vectors is not None
        learned.blobs = reader_models(learned._vectors, seed=seed)
        ranker = learned
    generator = ProfileGenerator(papers, seed=seed + 1)
    build_seconds = time.perf_counter() - started
    matches = 0
    started, cpu = time.perf_counter(), time.process_time()
    for _, found in ranker.rank_many(
        generator.profiles(count), limit=LIMIT, chunk_size=chunk_size, explain_matches=False
    ):
        matches += len(found)
    seconds = time.perf_counter() - started
    return {
        "mode": mode, "profiles": count, "seconds": seconds, "build_seconds": build_seconds,
        "cpu_seconds": time.process_time() - cpu,
        "generation_seconds": generator.seconds, "matches": matches, "peak_rss_mb": peak_rss_mb(),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", type=int, default=100_000)
    parser.add_argument("--chunk-size", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=1, help="alternate the two modes N times")
    parser.add_argument("--worker", nargs=2, metavar=("MODE", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        result = run_configuration(
            args.worker[0], int(args.worker[1]), chunk_size=args.chunk_size, seed=args.seed
        )
        print(RESULT_MARK + json.dumps(result), flush=True)
        return
    results: list[dict[str, Any]] = []
    common = ["--chunk-size", str(args.chunk_size), "--seed", str(args.seed)]
    for _ in range(args.rounds):  # alternated, so a busy moment hits both modes alike
        for mode in ("hybrid", "hybrid+models"):
            print(f"{mode} x {args.profiles:,} ...", file=sys.stderr, flush=True)
            results.append(run_worker(["--worker", mode, str(args.profiles), *common]))
    print(f"\n{args.profiles:,} readers x 1,000 papers, limit {LIMIT}, chunk {args.chunk_size}\n")
    print("| mode | seconds | ranking s | CPU s | matches/reader | peak RSS MB |")
    print("|---|--:|--:|--:|--:|--:|")
    for r in results:
        ranking = r["seconds"] - r["generation_seconds"]
        print(
            f"| {r['mode']} | {r['seconds']:.1f} | {ranking:.1f} | {r['cpu_seconds']:.1f} "
            f"| {r['matches'] / r['profiles']:.2f} | {r['peak_rss_mb']:.0f} |"
        )
    for what, key in (("wall seconds", "seconds"), ("CPU seconds", "cpu_seconds")):
        base = np.median([r[key] for r in results if r["mode"] == "hybrid"])
        learned = np.median([r[key] for r in results if r["mode"] != "hybrid"])
        print(f"\nhybrid + models / hybrid, {what} (medians): {learned / base:.2f}x")


def run_worker(arguments: list[str]) -> dict[str, Any]:
    """This script in a fresh interpreter (its own peak memory); its RESULT line, parsed."""
    command = [sys.executable, str(Path(__file__).resolve()), *arguments]
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=True)
    for line in reversed(done.stdout.splitlines()):
        if line.startswith(RESULT_MARK):
            result: dict[str, Any] = json.loads(line.removeprefix(RESULT_MARK))
            return result
    raise RuntimeError(f"no result from {' '.join(arguments)}")


if __name__ == "__main__":
    main()
