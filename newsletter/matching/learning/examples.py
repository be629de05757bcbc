"""A reader's model from their papers: what the service calls on each vote, rating or import.

`fit_for_profile(profile, liked, disliked, ...)` turns the reader's examples into the inputs of
`model.fit_reader` and fits:
- **Vectors** of every example through the embedding cache (a library paper that is in no
  day's pool is embedded once, by its title and abstract, under its own id).
- **Priors from the global ranker**: each example's prior logit is the ranker's calibrated
  P(relevant) for the reader's profile, scored among the recent papers, with that example
  itself taken out of the profile's liked and disliked papers (leave-self-out: a liked paper
  must not count as similar to itself, or the model learns nothing from it). Where nothing is
  left to judge by (an empty profile apart from that one paper, or a reader with only a
  library) the prior is the base rate (`prior.NO_EVIDENCE_PROBABILITY`), not the empty
  profile's "never"; the ranker does the same when it applies the model.
- **Centre and weak negatives** from `background`, the recent papers (e.g. the last days'
  pools): the centre is their mean vector; up to `MAX_UNLABELLED` of them (spread evenly over
  the list) enter as negatives of small weight with the full profile's prior.
- **Notes**: each example's cache key, and a liked one's title, so the model can say which of
  the reader's papers pushed a paper up (`apply.pushed_up_titles`).

The solver runs with one BLAS thread (`threadpoolctl`): its matrices are tens to a few
hundred rows, where more threads only add overhead, and the service refits while it serves.
Same inputs in the same order give the same model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
from numpy.typing import NDArray
from threadpoolctl import threadpool_limits

from newsletter.domain import InterestProfile, Paper
from newsletter.matching.learning.model import (
    Examples,
    LearningSettings,
    ReaderModel,
    fit_reader,
)
from newsletter.matching.learning.notes import ExampleNote
from newsletter.matching.learning.prior import probability_logits, uninformed, with_no_evidence
from newsletter.matching.ranker import Ranker, Weights
from newsletter.matching.semantic import Embedder, EmbeddingCache, cache_key, paper_vectors

MAX_UNLABELLED = 100  # weak negatives per fit: refit time grows with the cube of the rows


def fit_for_profile(
    profile: InterestProfile,
    liked: Sequence[Paper],
    disliked: Sequence[Paper] = (),
    *,
    embedder: Embedder,
    cache: EmbeddingCache,
    background: Sequence[Paper],
    settings: LearningSettings | None = None,
    ranker: Ranker | None = None,
) -> ReaderModel:
    """The reader's model: liked examples (library entries, "more" votes, "relevant"
    ratings) and disliked ones ("less" votes, "not relevant" ratings), fitted in that order.

    `ranker`: one the caller keeps (e.g. per day) whose papers include every example and
    background paper; else one is built over them (global `Weights`). Raises ValueError for
    a paper both liked and disliked, for no `background` paper to centre on, or for papers
    the given ranker lacks. No examples: the neutral model (the global ranking)."""
    liked, disliked = _unique(liked), _unique(disliked)
    both = sorted({p.id for p in liked} & {p.id for p in disliked})
    if both:
        raise ValueError(f"papers both liked and disliked: {', '.join(both)}")
    examples = [*liked, *disliked]
    taken = {p.id for p in examples}
    recent = [p for p in _unique(background) if p.id not in taken]
    if not recent:
        raise ValueError("a reader's model needs recent papers (background) to centre on")
    recent_vectors = paper_vectors(recent, embedder=embedder, cache=cache)
    if not examples:
        return ReaderModel.neutral(recent_vectors.shape[1])
    if ranker is None:
        ranker = Ranker([*examples, *recent], embedder=embedder, cache=cache,
                        profile_cache=cache, weights=Weights())  # fmt: skip
    priors, recent_priors = _priors(ranker, profile, examples, recent)
    rows = np.unique(np.linspace(0, len(recent) - 1, min(MAX_UNLABELLED, len(recent))).round())
    labels = np.array([True] * len(liked) + [False] * len(disliked))
    with threadpool_limits(limits=1):
        model = fit_reader(
            Examples(paper_vectors(examples, embedder=embedder, cache=cache), labels, priors),
            centre=np.asarray(recent_vectors.mean(axis=0), np.float32),
            unlabelled=recent_vectors[rows.astype(np.intp)],
            unlabelled_prior_logits=recent_priors[rows.astype(np.intp)],
            settings=settings,
        )
    notes = tuple(
        ExampleNote(cache_key(p), liked, p.title if liked else "")
        for p, liked in zip(examples, labels.tolist(), strict=True)
    )
    return replace(model, examples=notes)


def _priors(
    ranker: Ranker, profile: InterestProfile, examples: list[Paper], recent: list[Paper]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Prior logits of the examples (each without itself) and of the recent papers (with the
    whole profile), in one scoring pass."""
    column = {p.id: index for index, p in enumerate(ranker.papers)}
    lacking = [p.id for p in [*examples, *recent] if p.id not in column]
    if lacking:
        raise ValueError(f"the ranker lacks papers to score: {', '.join(lacking[:5])}")
    variants = [
        replace(
            profile,
            seed_papers=tuple(i for i in profile.seed_papers if i != paper.id),
            disliked_papers=tuple(i for i in profile.disliked_papers if i != paper.id),
        )
        for paper in examples
    ]
    rows = {v: row for row, v in enumerate(dict.fromkeys([profile, *variants]))}
    probabilities, _ = ranker.probabilities(list(rows))
    for variant, row in rows.items():
        if uninformed(variant, column):
            probabilities[row] = with_no_evidence(probabilities[row])
    logits = probability_logits(probabilities)
    priors = [logits[rows[v], column[p.id]] for v, p in zip(variants, examples, strict=True)]
    return np.array(priors), logits[0, [column[p.id] for p in recent]]


def _unique(papers: Sequence[Paper]) -> list[Paper]:
    """The first paper of each id, in the order given."""
    first: dict[str, Paper] = {}
    for paper in papers:
        first.setdefault(paper.id, paper)
    return list(first.values())
