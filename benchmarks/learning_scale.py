"""Matching with per-reader models at scale: N synthetic readers x 1,000 papers, against today.

The setting of benchmarks/matching_scale.py (same papers, same lazily generated profiles,
`limit=10`, chunks of 2,000, the hashing stand-in embedder, each run in a fresh process;
`--explain` explains every match, as the digest stage does), through the public API only:

- hybrid: `Ranker.rank_many(profiles, ...)` as the digest stage calls it today;
- hybrid + models: the same call with `models=` giving every reader a model as the stored
  bytes a database column would hold (`ReaderModel.to_bytes`, format 2 with its example
  notes); inside, each chunk decodes its models and applies them in one (readers x 384) @
  (384 x papers) product before the threshold and the limit.

Every reader has a model (the worst case): 64 distinct models, each fitted by
`fit_for_profile` from one generated profile, 10 liked and 20 disliked papers and 100 recent
ones drawn from the papers, cycled over the readers.

"ranking s" leaves out generating the synthetic profiles; "CPU s" is the process's CPU time for
the whole `rank_many` (all threads), which a machine shared with other work inflates far less
than wall time.

    .venv/bin/python benchmarks/learning_scale.py [--profiles 100000] [--chunk-size 2000]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from typing import Any

import numpy as np
from matching_scale import (
    LIMIT,
    RESULT_MARK,
    HashingEmbedder,
    ProfileGenerator,
    bench_papers,
    in_subprocess,
    peak_rss_mb,
)

from newsletter.domain import Paper
from newsletter.matching.learning.examples import fit_for_profile
from newsletter.matching.ranker import Ranker
from newsletter.matching.semantic import Embedder, MemoryEmbeddingCache

MODELS = 64
LIKED, DISLIKED, RECENT = 10, 20, 100


def reader_models(
    papers: list[Paper], embedder: Embedder, cache: MemoryEmbeddingCache, *, seed: int
) -> list[bytes]:
    rng = random.Random(seed)
    generator = ProfileGenerator(papers, seed=seed + 2)
    blobs = []
    for _, profile in generator.profiles(MODELS):
        chosen = rng.sample(papers, LIKED + DISLIKED + RECENT)
        model = fit_for_profile(
            profile, chosen[:LIKED], chosen[LIKED : LIKED + DISLIKED],
            embedder=embedder, cache=cache, background=chosen[LIKED + DISLIKED :],
        )  # fmt: skip
        blobs.append(model.to_bytes())
    return blobs


def run_configuration(
    mode: str, count: int, *, chunk_size: int, seed: int, explain: bool = False
) -> dict[str, Any]:
    started = time.perf_counter()
    papers = bench_papers(seed=seed)
    embedder, cache = HashingEmbedder(), MemoryEmbeddingCache()
    ranker = Ranker(papers, embedder=embedder, cache=cache)
    blobs = reader_models(papers, embedder, cache, seed=seed) if mode != "hybrid" else []
    models = (lambda key: blobs[key % len(blobs)]) if blobs else None
    generator = ProfileGenerator(papers, seed=seed + 1)
    build_seconds = time.perf_counter() - started
    matches = 0
    started, cpu = time.perf_counter(), time.process_time()
    for _, found in ranker.rank_many(
        generator.profiles(count), limit=LIMIT, chunk_size=chunk_size, explain_matches=explain,
        models=models,
    ):  # fmt: skip
        matches += len(found)
    seconds = time.perf_counter() - started
    size = float(np.mean([len(b) for b in blobs])) if blobs else 0.0
    return {
        "mode": mode, "profiles": count, "seconds": seconds, "build_seconds": build_seconds,
        "cpu_seconds": time.process_time() - cpu, "model_bytes": size,
        "generation_seconds": generator.seconds, "matches": matches, "peak_rss_mb": peak_rss_mb(),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", type=int, default=100_000)
    parser.add_argument("--chunk-size", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=1, help="alternate the two modes N times")
    parser.add_argument("--explain", action="store_true", help="explain every match too")
    parser.add_argument("--worker", nargs=2, metavar=("MODE", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        result = run_configuration(
            args.worker[0],
            int(args.worker[1]),
            chunk_size=args.chunk_size,
            seed=args.seed,
            explain=args.explain,
        )
        print(RESULT_MARK + json.dumps(result), flush=True)
        return
    results: list[dict[str, Any]] = []
    common = ["--chunk-size", str(args.chunk_size), "--seed", str(args.seed)]
    common += ["--explain"] if args.explain else []
    for _ in range(args.rounds):  # alternated, so a busy moment hits both modes alike
        for mode in ("hybrid", "hybrid+models"):
            print(f"{mode} x {args.profiles:,} ...", file=sys.stderr, flush=True)
            results.append(
                in_subprocess(["--worker", mode, str(args.profiles), *common], script=__file__)
            )
    explained = ", every match explained" if args.explain else ""
    print(f"\n{args.profiles:,} readers x 1,000 papers, limit {LIMIT}, chunk {args.chunk_size}"
          f"{explained}\n")  # fmt: skip
    print("| mode | seconds | ranking s | CPU s | matches/reader | peak RSS MB | model bytes |")
    print("|---|--:|--:|--:|--:|--:|--:|")
    for r in results:
        ranking = r["seconds"] - r["generation_seconds"]
        print(
            f"| {r['mode']} | {r['seconds']:.1f} | {ranking:.1f} | {r['cpu_seconds']:.1f} "
            f"| {r['matches'] / r['profiles']:.2f} | {r['peak_rss_mb']:.0f} "
            f"| {r['model_bytes']:,.0f} |"
        )
    for what, key in (("wall seconds", "seconds"), ("CPU seconds", "cpu_seconds")):
        base = np.median([r[key] for r in results if r["mode"] == "hybrid"])
        learned = np.median([r[key] for r in results if r["mode"] != "hybrid"])
        print(f"\nhybrid + models / hybrid, {what} (medians): {learned / base:.2f}x")


if __name__ == "__main__":
    main()
