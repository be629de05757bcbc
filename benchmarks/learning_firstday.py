"""The first digest of benchmarks/learning.py: a library instead of a written interest, the
papers to rate first, and how long one refit takes.

Library: a reader imports papers they keep. Simulated with min(30, R // 2) of the reader's
R relevant papers (titles and abstracts from the pool, drawn with the seed), taken out of the
evaluated pool; these sets have fewer than 60 relevant papers per reader, so no reader here
reaches 30 entries (the sizes are printed). The first digest (0 votes) is scored on the rest
of the pool for: the written interest alone; the library as the profile's liked papers
(today's ranker); the library as liked papers and in the reader's model; and the written
interest plus the library in both.

Ratings: from 60 papers drawn with the seed ("recent papers"), the reader rates 10 chosen by
`informative_papers` (near the threshold, diverse), or the 10 best by the prior (a digest),
or 10 at random; the model learns from the 10 ratings; all are scored on the pool without
those 60 papers, from the written interest.
"""

from __future__ import annotations

import os
import time
from collections import defaultdict
from typing import TYPE_CHECKING

import numpy as np
from learning_setup import drawn
from learning_sim import Scores, Setup, evaluate, fit_on, stable_seed

from newsletter.domain import InterestProfile
from newsletter.matching.learning.model import Examples, LearningSettings, fit_reader
from newsletter.matching.learning.onboarding import informative_papers

if TYPE_CHECKING:
    from learning import Context

LIBRARY = 30
CANDIDATES = 60
RATINGS = 10
VARIANTS = (
    "written interest",
    "library as liked papers (today's ranker)",
    "library as liked papers + model",
    "interest + library, liked papers + model",
)


def library_setups(ctx: Context, variant: str, seed: int) -> list[tuple[Setup, int]]:
    made = []
    for set_name, readers in ctx.readers.items():
        for reader in readers:
            count = sum(reader.relevant(p.id) for p in reader.pool) // 2
            if count < 1:
                continue
            library = drawn(reader, seed, "library", min(LIBRARY, count), best=False)
            seeds = tuple(p.id for p in library)
            profile = {
                VARIANTS[0]: reader.interest,
                VARIANTS[1]: InterestProfile(seed_papers=seeds),
                VARIANTS[2]: InterestProfile(seed_papers=seeds),
                VARIANTS[3]: InterestProfile(
                    description=reader.interest.description, seed_papers=seeds
                ),
            }[variant]
            setup = ctx.builder.setup(
                reader, "library", seed, profile=profile, liked=library,
                examples=variant in VARIANTS[2:], cal=ctx.calibration_for(reader),
                centre=ctx.centres[set_name],
            )  # fmt: skip
            made.append((setup, len(library)))
    return made


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
    for variant in VARIANTS:
        for seed in ctx.seeds:
            for setup, size in library_setups(ctx, variant, seed):
                set_name = setup.reader.set_name
                if variant == VARIANTS[0]:
                    sizes[set_name].append(size)
                model = fit_on(setup, [], [], settings)
                table[(set_name, variant)].append(
                    evaluate(setup, model, [], today=False)["learned"]
                )
    for set_name, found in sizes.items():
        lines.append(
            f"{set_name}: libraries of {min(found)}-{max(found)} papers "
            f"(mean {np.mean(found):.1f}) over {len(found) // len(ctx.seeds)} readers"
        )
    lines += ["", "| set: start | nDCG@10 | included precision | included per reader |"]
    lines.append("|---|--:|--:|--:|")
    for (set_name, variant), scores in table.items():
        lines.append(_line(f"{set_name}: {variant}", scores))
    lines += ["", rating_report(ctx, settings)]
    return "\n".join(lines)


def rating_report(ctx: Context, settings: LearningSettings) -> str:
    table: dict[tuple[str, str], list[Scores]] = defaultdict(list)
    for set_name, readers in ctx.readers.items():
        for reader in readers:
            for seed in ctx.seeds:
                rng = np.random.default_rng(stable_seed(seed, reader.reader_id, "recent"))
                recent = rng.choice(len(reader.pool), size=CANDIDATES, replace=False)
                held = [reader.pool[i] for i in sorted(recent)]
                setup = ctx.builder.setup(
                    reader, "interest", seed, profile=reader.interest, liked=held,
                    examples=False, cal=ctx.calibration_for(reader), centre=ctx.centres[set_name],
                )  # fmt: skip
                vectors = np.vstack([ctx.builder.vectors[p.id] for p in held])
                scores_all = ctx.builder.interest_scores(reader)
                prior = setup.calibration.logits(scores_all[np.sort(recent)])
                picks = {
                    "informative": informative_papers(
                        prior, vectors, threshold_logit=setup.threshold
                    ),
                    "best by prior": list(np.lexsort((np.arange(len(held)), -prior))[:RATINGS]),
                    "random": list(rng.choice(len(held), size=RATINGS, replace=False)),
                }
                table[(set_name, "no ratings")].append(
                    evaluate(setup, fit_on(setup, [], [], settings), [], today=False)["off"]
                )
                for name, chosen in picks.items():
                    rows = np.array(chosen)
                    liked = np.array([reader.relevant(held[i].id) for i in rows])
                    model = fit_reader(
                        Examples(vectors[rows], liked, prior[rows]),
                        centre=setup.centre,
                        settings=settings,
                    )
                    scores = evaluate(setup, model, [], today=False)
                    table[(set_name, f"10 ratings: {name}")].append(scores["learned"])
    lines = ["**10 ratings to begin (written interest)**", ""]
    lines += ["| set: papers rated | nDCG@10 | included precision | included per reader |"]
    lines.append("|---|--:|--:|--:|")
    for (set_name, label), scores in table.items():
        lines.append(_line(f"{set_name}: {label}", scores))
    return "\n".join(lines)


def refit_timing_report(ctx: Context, settings: LearningSettings, *, fits: int = 30) -> str:
    """Wall and CPU milliseconds per refit; CPU time is what a loaded machine cannot inflate."""
    vectors = np.vstack(list(ctx.builder.vectors.values())).astype(np.float32)
    rng = np.random.default_rng(0)
    centre = vectors.mean(axis=0)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    lines = [f"**Refitting one reader** ({fits} fits; load average {load})", ""]
    lines += [
        "| labelled | unlabelled | median ms | slowest ms | median CPU ms | model bytes |",
        "|--:|--:|--:|--:|--:|--:|",
    ]
    for count, unlabelled in ((10, 0), (30, 0), (100, 0), (300, 0), (300, 100), (300, 200)):
        size = count + unlabelled
        rows = rng.choice(len(vectors), size=size, replace=len(vectors) < size)
        examples = Examples(
            vectors[rows[:count]], rng.uniform(size=count) < 0.3, rng.normal(-1, 1.5, count)
        )
        extra = vectors[rows[count:]]
        walls, cpus = [], []
        for _ in range(fits):
            wall, cpu = time.perf_counter(), time.process_time()
            model = fit_reader(
                examples, centre=centre, unlabelled=extra,
                unlabelled_prior_logits=rng.normal(-2, 1.5, len(extra)), settings=settings,
            )  # fmt: skip
            walls.append(1000 * (time.perf_counter() - wall))
            cpus.append(1000 * (time.process_time() - cpu))
        lines.append(
            f"| {count} | {unlabelled} | {np.median(walls):.1f} | {max(walls):.1f} "
            f"| {np.median(cpus):.1f} | {len(model.to_bytes()):,} |"
        )
    return "\n".join(lines)
