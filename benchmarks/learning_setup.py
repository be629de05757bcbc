"""Readers made ready for simulation: priors from today's ranker, calibrated, per start.

The prior is today's `Ranker` (hybrid, no threshold: `Weights(min_score=-1e9)`) scoring the
reader's profile, mapped to a logit by a `Calibration` fitted on the development set's
written interests (relevant = grade >= 1). For a development-set reader the calibration is
fitted on the other eleven interests; CSFCube readers use the fit on all twelve. A new
global ranker with calibrated probabilities replaces `ranker_scores` + `Calibration` by
`probability_logits` of its output, and nothing else changes.

Starts:
- "interest": the one-line written interest (development set: the interest's description;
  CSFCube: the query paper's title);
- "liked": liked papers as the profile's liked papers (development set: 3 papers of the
  reader's highest grade drawn from the pool with the seed and left out of the evaluated pool,
  only where at least 3 relevant papers remain; CSFCube: the query paper, as the collection
  defines its task) and, with `liked_as_examples`, also as the model's liked examples;
- "library": papers the reader keeps (drawn from their relevant ones), see benchmarks/learning.py.
A liked example's prior logit is computed without it among the liked papers (leave-self-out);
where nothing else is left (a single liked paper, no written interest) it is the base rate's
logit (the share of relevant pairs in the calibration data), since an empty profile's score of
0 says nothing about relevance.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from learning_sets import Reader
from learning_sim import Setup, ranker_scores, stable_seed

from newsletter.domain import InterestProfile, Paper
from newsletter.matching.learning.model import Examples, Vectors
from newsletter.matching.learning.prior import Calibration
from newsletter.matching.ranker import Ranker, Weights
from newsletter.matching.semantic import Embedder, EmbeddingCache

OPEN = Weights(min_score=-1e9)  # rank every paper; the threshold is applied to the logits
MIN_SCORE = Weights().min_score  # today's matching threshold (0.4)
LIKED_START = 3


@dataclass
class Builder:
    embedder: Embedder
    cache: EmbeddingCache
    vectors: dict[str, Vectors]  # by paper id
    base_logit: float = 0.0  # the prior of a paper with no evidence either way
    _rankers: dict[tuple[tuple[str, ...], tuple[str, ...]], Ranker] = field(default_factory=dict)

    def ranker(self, papers: Sequence[Paper], known: Sequence[Paper] = ()) -> Ranker:
        key = (tuple(p.id for p in papers), tuple(p.id for p in known))
        if key not in self._rankers:
            self._rankers[key] = Ranker(
                papers,
                embedder=self.embedder,
                cache=self.cache,
                profile_cache=self.cache,
                weights=OPEN,
                known_papers=known,
            )
        return self._rankers[key]

    def interest_scores(self, reader: Reader) -> np.ndarray:
        ranker = self.ranker(reader.pool)
        return ranker_scores(ranker, reader.interest, [p.id for p in reader.pool])

    def liked_examples(
        self, reader: Reader, profile: InterestProfile, liked: Sequence[Paper], cal: Calibration
    ) -> Examples:
        """The liked papers as examples; each one's prior scored with the others only."""
        pool = {p.id for p in reader.pool}
        outside = [p for p in liked if p.id not in pool]
        ranker = self.ranker([*reader.pool, *outside])
        priors = []
        for paper in liked:
            others = tuple(p.id for p in liked if p.id != paper.id)
            without = InterestProfile(description=profile.description, seed_papers=others)
            if without == InterestProfile():  # nothing left to judge by: no evidence either way
                priors.append(self.base_logit)
            else:
                priors.append(float(cal.logits(ranker_scores(ranker, without, [paper.id]))[0]))
        return Examples(
            np.vstack([self.vectors[p.id] for p in liked]).astype(np.float32),
            np.ones(len(liked), bool),
            np.array(priors),
        )

    def setup(
        self,
        reader: Reader,
        start: str,
        seed: int,
        *,
        profile: InterestProfile,
        liked: Sequence[Paper],
        examples: bool,
        cal: Calibration,
        centre: Vectors,
    ) -> Setup:
        """`liked` papers in the pool leave the evaluated pool; `examples`: they train the model
        too (else they act through the prior's liked-paper similarity alone)."""
        taken = {p.id for p in liked}
        papers = [p for p in reader.pool if p.id not in taken]
        outside = [p for p in liked if p.id not in {q.id for q in reader.pool}]
        ranker = self.ranker(reader.pool, outside)
        prior = cal.logits(ranker_scores(ranker, profile, [p.id for p in papers]))
        dims = len(centre)
        chosen = (
            self.liked_examples(reader, profile, liked, cal)
            if examples and liked
            else Examples.none(dims)
        )
        return Setup(
            reader=reader,
            start=start,
            seed=seed,
            papers=papers,
            vectors=np.vstack([self.vectors[p.id] for p in papers]).astype(np.float32),
            prior=prior,
            relevant=np.array([reader.relevant(p.id) for p in papers]),
            grades=reader.grades,
            liked=chosen,
            profile=profile,
            ranker=ranker,
            calibration=cal,
            threshold=cal.threshold_logit(MIN_SCORE),
            centre=centre,
        )


def drawn(reader: Reader, seed: int, purpose: str, count: int, *, best: bool) -> list[Paper]:
    """`count` of the reader's relevant papers (of their highest grade with `best`), drawn
    with the seed; sorted by id so the draw alone decides."""
    relevant = [p for p in reader.pool if reader.relevant(p.id)]
    if best:
        top = max(reader.grades[p.id] for p in relevant)
        relevant = [p for p in relevant if reader.grades[p.id] == top]
    rng = np.random.default_rng(stable_seed(seed, reader.reader_id, purpose))
    picks = rng.choice(len(relevant), size=min(count, len(relevant)), replace=False)
    return sorted((relevant[i] for i in picks), key=lambda p: p.id)


def liked_start(reader: Reader, seed: int) -> list[Paper] | None:
    """The liked papers a "liked" start begins from, or None where the set does not allow it."""
    if not reader.liked_in_pool:
        return list(reader.liked)
    relevant = sum(reader.relevant(p.id) for p in reader.pool)
    if relevant - LIKED_START < 3:  # keep at least 3 relevant papers to find
        return None
    return drawn(reader, seed, "liked", LIKED_START, best=True)


def base_logit(readers: list[Reader]) -> float:
    rate = np.mean([r.relevant(p.id) for r in readers for p in r.pool])
    return float(np.log(rate / (1 - rate)))


def fit_calibrations(
    readers: list[Reader], scores: dict[str, np.ndarray]
) -> tuple[Calibration, dict[str, Calibration]]:
    """The fit on all development readers, and per reader the fit on the others."""

    def fit(chosen: list[Reader]) -> Calibration:
        xs = np.concatenate([scores[r.reader_id] for r in chosen])
        ys = np.concatenate([[r.relevant(p.id) for p in r.pool] for r in chosen])
        return Calibration.fit(xs.tolist(), ys.tolist())

    everyone = fit(readers)
    return everyone, {r.reader_id: fit([o for o in readers if o is not r]) for r in readers}
