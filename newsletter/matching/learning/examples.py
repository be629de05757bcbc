"""A reader's model from their papers: what the service calls on each vote, rating or import.

`fit_for_profile(profile, liked, disliked, ...)` turns the reader's examples into the inputs of
`model.fit_reader` and fits:
- **Vectors** of every example through the embedding cache (a library paper that is in no
  day's pool is embedded once, by its title and abstract, under its own id).
- **Priors from the global ranker**: each example's prior logit is the ranker's calibrated
  P(relevant) for the reader's profile, scored among the recent papers, with that example
  itself taken out of the profile's liked and disliked papers (leave-self-out: a liked paper
  must not count as similar to itself, or the model learns nothing from it). Where nothing is
  left to judge by (an empty profile apart from that one paper) the prior is the base rate
  (`NO_EVIDENCE_PROBABILITY`), not the empty profile's "never".
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
from newsletter.matching.learning.prior import probability_logits
from newsletter.matching.ranker import Ranker, Weights
from newsletter.matching.semantic import Embedder, EmbeddingCache, cache_key, paper_vectors

MAX_UNLABELLED = 100  # weak negatives per fit: refit time grows with the cube of the rows
# P(relevant) of a paper with no evidence either way: the share of relevant (interest, paper)
# pairs on the development set (benchmarks/learning.py prints it).
NO_EVIDENCE_PROBABILITY = 0.2


def fit_for_profile(
    profile: InterestProfile,
    liked: Sequence[Paper],
    disliked: Sequence[Paper] = (),
    *,
    embedder: Embedder,
    cache: EmbeddingCache,
    background: Sequence[Paper],
    settings: LearningSettings | None = None,
    weights: Weights | None = None,
) -> ReaderModel:
    """The reader's model: liked examples (library entries, "more" votes, "relevant"
    ratings) and disliked ones ("less" votes, "not relevant" ratings), fitted in that order.

    Raises ValueError for a paper both liked and disliked, or for examples without any
    `background` paper to centre on. No examples: the neutral model (the global ranking)."""
    liked, disliked = _unique(liked), _unique(disliked)
    both = sorted({p.id for p in liked} & {p.id for p in disliked})
    if both:
        raise ValueError(f"papers both liked and disliked: {', '.join(both)}")
    examples = [*liked, *disliked]
    taken = {p.id for p in examples}
    recent = [p for p in _unique(background) if p.id not in taken]
    if not recent:
        raise ValueError("a reader's model needs recent papers (background) to centre on")
    if not examples:
        return ReaderModel.neutral(
            paper_vectors(recent[:1], embedder=embedder, cache=cache).shape[1]
        )
    ranker = Ranker(
        [*examples, *recent],
        embedder=embedder,
        cache=cache,
        profile_cache=cache,
        weights=weights or Weights(),
    )
    priors, recent_priors = _priors(ranker, profile, examples, len(recent))
    vectors = paper_vectors(examples, embedder=embedder, cache=cache)
    recent_vectors = paper_vectors(recent, embedder=embedder, cache=cache)
    sample = np.unique(np.linspace(0, len(recent) - 1, min(MAX_UNLABELLED, len(recent))).round())
    rows = sample.astype(np.intp)
    labels = np.array([True] * len(liked) + [False] * len(disliked))
    with threadpool_limits(limits=1):
        model = fit_reader(
            Examples(vectors, labels, priors),
            centre=np.asarray(recent_vectors.mean(axis=0), np.float32),
            unlabelled=recent_vectors[rows],
            unlabelled_prior_logits=recent_priors[rows],
            settings=settings,
        )
    notes = tuple(
        ExampleNote(cache_key(p), liked, p.title if liked else "")
        for p, liked in zip(examples, labels.tolist(), strict=True)
    )
    return replace(model, examples=notes)


def _priors(
    ranker: Ranker, profile: InterestProfile, examples: list[Paper], recent: int
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Prior logits of the examples (each without itself) and of the recent papers (the
    ranker's papers: the examples first, then the recent ones), in one scoring pass."""
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
    logits = probability_logits(probabilities)
    known = {p.id for p in ranker.papers}
    no_evidence = float(probability_logits(np.array([NO_EVIDENCE_PROBABILITY]))[0])
    priors = [
        no_evidence if _empty(v, known) else float(logits[rows[v], column])
        for column, v in enumerate(variants)
    ]
    return np.array(priors), logits[0, len(examples) :]


def _empty(profile: InterestProfile, known: set[str]) -> bool:
    """Nothing the ranker could judge a paper by."""
    return not (
        profile.description.strip()
        or profile.keywords
        or profile.categories
        or profile.authors
        or any(i in known for i in profile.seed_papers)
    )


def _unique(papers: Sequence[Paper]) -> list[Paper]:
    """The first paper of each id, in the order given."""
    first: dict[str, Paper] = {}
    for paper in papers:
        first.setdefault(paper.id, paper)
    return list(first.values())
