"""The first digest of benchmarks/learning.py: a library instead of a written interest, the
papers to rate first, and how long one refit takes.

Library: a reader imports papers they keep. Simulated with min(30, R // 2) of the reader's
R relevant papers (titles and abstracts from the pool, drawn with the seed), taken out of the
evaluated pool; these sets have fewer than 60 relevant papers per reader, so no reader here
reaches 30 entries (the sizes are printed). The first digest (0 votes) is scored on the rest
of the pool for: the written interest alone; the library as the profile's liked papers (the
ranker's liked-paper channel); the library in the reader's model alone (no profile: the
prior is the base rate); the library as liked papers and in the model; and the written
interest plus the library in both. The model's recent papers are the evaluated pool.

Ratings: from 60 papers drawn with the seed ("recent papers"), the reader rates 10 chosen by
`informative_papers` (near the threshold, diverse), or the 10 best by the prior (a digest),
or 10 at random; the model learns from the 10 ratings; all are scored on the pool without
those 60 papers, from the written interest.

Refit: `fit_reader` alone on random examples, and `fit_for_profile` end to end (a written
interest, 100 recent papers, liked papers from the development pool) as the service calls it
on a vote: building its own ranker, or given one it keeps. One BLAS thread throughout.
"""

from __future__ import annotations

import os
import time
from collections import defaultdict
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
from learning_setup import drawn
from learning_sim import Scores, Setup, learned_model, score, stable_seed
from threadpoolctl import threadpool_limits

from newsletter.domain import InterestProfile
from newsletter.matching.learning.examples import fit_for_profile
from newsletter.matching.learning.model import Examples, LearningSettings, fit_reader
from newsletter.matching.learning.onboarding import informative_papers
from newsletter.matching.ranker import Ranker

if TYPE_CHECKING:
    from learning import Context

LIBRARY = 30
CANDIDATES = 60
RATINGS = 10
VARIANTS = (
    "written interest",
    "library as liked papers",
    "library in the model",
    "library as liked papers + model",
    "interest + library, liked papers + model",
)


def _library_scores(ctx: Context, settings: LearningSettings, seed: int) -> list[tuple]:
    found = []
    for readers in ctx.readers.values():
        for reader in readers:
            count = sum(reader.relevant(p.id) for p in reader.pool) // 2
            if count < 1:
                continue
            library = drawn(reader, seed, "library", min(LIBRARY, count), best=False)
            seeds = tuple(p.id for p in library)
            described = replace(reader.interest, seed_papers=seeds)
            starts = (reader.interest, InterestProfile(seed_papers=seeds), InterestProfile(),
                      InterestProfile(seed_papers=seeds), described)  # fmt: skip
            for variant, profile in zip(VARIANTS, starts, strict=True):
                setup = ctx.builder.setup(reader, "library", seed, profile=profile, liked=library)
                logits = setup.prior
                if "model" in variant:
                    everyone = list(range(len(setup.papers)))
                    model = learned_model(setup, profile, [], everyone, settings)
                    logits = model.logits(setup.vectors, setup.prior)
                found.append((reader.set_name, variant, len(library), score(setup, logits, [])))
    return found


def _line(label: str, scores: list[Scores]) -> str:
    inc = sum(s.included for s in scores)
    rel = sum(s.relevant_included for s in scores)
    precision = f"{rel / inc:.3f}" if inc else "-"
    return (
        f"| {label} | {np.mean([s.ndcg for s in scores]):.3f} | {precision} "
        f"| {inc / len(scores):.1f} |"
    )


def first_digest_report(ctx: Context, settings: LearningSettings) -> str:
    lines = ["**First digest from a library (0 votes)**", ""]
    sizes: dict[str, list[int]] = defaultdict(list)
    table: dict[tuple[str, str], list[Scores]] = defaultdict(list)
    for seed in ctx.seeds:
        for set_name, variant, size, scores in _library_scores(ctx, settings, seed):
            if variant == VARIANTS[0]:
                sizes[set_name].append(size)
            table[(set_name, variant)].append(scores)
    for set_name, found in sizes.items():
        lines.append(
            f"{set_name}: libraries of {min(found)}-{max(found)} papers "
            f"(mean {np.mean(found):.1f}) over {len(found) // len(ctx.seeds)} readers"
        )
    lines += ["", "| set: start | nDCG@10 | included precision | included per reader |"]
    lines.append("|---|--:|--:|--:|")
    for (set_name, variant), scores in sorted(table.items(), key=lambda kv: kv[0][0]):
        lines.append(_line(f"{set_name}: {variant}", scores))
    lines += ["", rating_report(ctx, settings)]
    return "\n".join(lines)


def _rated(setup: Setup, recent: list, rows: list[int], settings: LearningSettings) -> Scores:
    liked = [recent[i] for i in rows if setup.reader.relevant(recent[i].id)]
    disliked = [recent[i] for i in rows if not setup.reader.relevant(recent[i].id)]
    model = fit_for_profile(
        setup.profile, liked, disliked, embedder=setup.embedder, cache=setup.cache,
        background=recent, settings=settings, ranker=setup.ranker,
    )  # fmt: skip
    return score(setup, model.logits(setup.vectors, setup.prior), [])


def rating_report(ctx: Context, settings: LearningSettings) -> str:
    from learning_sim import prior_logits

    table: dict[tuple[str, str], list[Scores]] = defaultdict(list)
    for set_name, readers in ctx.readers.items():
        for reader in readers:
            for seed in ctx.seeds:
                rng = np.random.default_rng(stable_seed(seed, reader.reader_id, "recent"))
                picked = rng.choice(len(reader.pool), size=CANDIDATES, replace=False)
                recent = [reader.pool[i] for i in sorted(picked)]
                setup = ctx.builder.setup(
                    reader, "interest", seed, profile=reader.interest, held=recent
                )
                vectors = np.vstack([ctx.builder.vectors[p.id] for p in recent])
                prior = prior_logits(setup.ranker, reader.interest, [p.id for p in recent])
                picks = {
                    "informative": informative_papers(
                        prior, vectors, threshold_logit=setup.threshold
                    ),
                    "best by prior": list(np.lexsort((np.arange(len(recent)), -prior))[:RATINGS]),
                    "random": list(rng.choice(len(recent), size=RATINGS, replace=False)),
                }
                table[(set_name, "no ratings")].append(score(setup, setup.prior, []))
                for name, rows in picks.items():
                    scores = _rated(setup, recent, [int(i) for i in rows], settings)
                    table[(set_name, f"10 ratings: {name}")].append(scores)
    lines = ["**10 ratings to begin (written interest)**", ""]
    lines += ["| set: papers rated | nDCG@10 | included precision | included per reader |"]
    lines.append("|---|--:|--:|--:|")
    for (set_name, label), scores in table.items():
        lines.append(_line(f"{set_name}: {label}", scores))
    return "\n".join(lines)


def _timed(action: object, repeats: int) -> tuple[float, float, float]:
    """Median wall ms, slowest wall ms, median CPU ms of `action()`."""
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        action()  # type: ignore[operator]
        walls.append(1000 * (time.perf_counter() - wall))
        cpus.append(1000 * (time.process_time() - cpu))
    return float(np.median(walls)), max(walls), float(np.median(cpus))


def refit_timing_report(ctx: Context, settings: LearningSettings, *, fits: int = 30) -> str:
    """Wall and CPU milliseconds per refit; CPU time is what a loaded machine cannot inflate."""
    vectors = np.vstack(list(ctx.builder.vectors.values())).astype(np.float32)
    rng = np.random.default_rng(0)
    centre = vectors.mean(axis=0)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    lines = [f"**Refitting one reader** ({fits} fits each; one BLAS thread; load {load})", ""]
    lines += ["| what | median ms | slowest ms | median CPU ms |", "|---|--:|--:|--:|"]
    for count, unlabelled in ((10, 0), (30, 0), (100, 0), (300, 0), (30, 100), (300, 100)):
        size = count + unlabelled
        rows = rng.choice(len(vectors), size=size, replace=len(vectors) < size)
        examples = Examples(
            vectors[rows[:count]], rng.uniform(size=count) < 0.3, rng.normal(-1, 1.5, count)
        )
        extra, extra_prior = vectors[rows[count:]], rng.normal(-2, 1.5, unlabelled)

        def fit(examples: Examples = examples, extra: np.ndarray = extra,
                extra_prior: np.ndarray = extra_prior) -> None:  # fmt: skip
            fit_reader(examples, centre=centre, unlabelled=extra,
                       unlabelled_prior_logits=extra_prior, settings=settings)  # fmt: skip

        with threadpool_limits(limits=1):
            wall, slowest, cpu = _timed(fit, fits)
        lines.append(f"| fit_reader: {count} examples, {unlabelled} unlabelled | {wall:.1f} "
                     f"| {slowest:.1f} | {cpu:.1f} |")  # fmt: skip
    lines += end_to_end(ctx, settings, fits=max(3, fits // 5))
    return "\n".join(lines)


def end_to_end(ctx: Context, settings: LearningSettings, *, fits: int) -> list[str]:
    """`fit_for_profile` on a development reader: written interest, 100 recent papers."""
    reader = next(iter(ctx.readers.values()))[0]
    pool = list(reader.pool)
    recent = pool[:100]
    lines = []
    for count in (10, 30):
        liked = pool[100 : 100 + count]
        papers = [*liked, *recent]
        kept = Ranker(papers, embedder=ctx.builder.embedder, cache=ctx.builder.cache,
                      profile_cache=ctx.builder.cache)  # fmt: skip
        for label, ranker in (("builds its ranker", None), ("given a kept ranker", kept)):

            def fit(ranker: Ranker | None = ranker, liked: list = liked) -> None:
                fit_for_profile(
                    reader.interest, liked, embedder=ctx.builder.embedder,
                    cache=ctx.builder.cache, background=recent, settings=settings, ranker=ranker,
                )  # fmt: skip

            wall, slowest, cpu = _timed(fit, fits)
            lines.append(f"| fit_for_profile: {count} liked, 100 recent, {label} | {wall:.1f} "
                         f"| {slowest:.1f} | {cpu:.1f} |")  # fmt: skip
    return lines
