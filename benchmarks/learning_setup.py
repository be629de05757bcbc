"""Readers made ready for simulation: the global ranker's calibrated probability as the prior.

The prior is the `Ranker` as the service runs it (hybrid, global weights): P(relevant) for the
reader's profile from `Ranker.probabilities`, as a logit (`prior.probability_logits`); the
matching threshold is P >= `matching.model.THRESHOLD`. One ranker per reader's pool, whose
papers are the pool and the reader's liked papers from outside it (the CSFCube query paper),
so every example can be scored as the service scores a library paper.

Starts:
- "interest": the one-line written interest (development set: the interest's description;
  CSFCube: the query paper's title);
- "liked": liked papers (development set: 3 papers of the reader's highest grade drawn from
  the pool with the seed and left out of the evaluated pool, only where at least 3 relevant
  papers remain; CSFCube: the query paper, as the collection defines its task) as the
  profile's liked papers, and as the model's liked examples where a system learns;
- "library": papers the reader keeps (drawn from their relevant ones), see
  learning_firstday.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from learning_sets import Reader
from learning_sim import THRESHOLD_LOGIT, Setup, stable_seed

from newsletter.domain import InterestProfile, Paper
from newsletter.matching.ranker import Ranker
from newsletter.matching.semantic import Embedder, EmbeddingCache, Vectors

LIKED_START = 3


@dataclass
class Builder:
    embedder: Embedder
    cache: EmbeddingCache
    vectors: dict[str, Vectors]  # by paper id
    _rankers: dict[str, Ranker] = field(default_factory=dict)

    def ranker(self, reader: Reader) -> Ranker:
        if reader.reader_id not in self._rankers:
            inside = {p.id for p in reader.pool}
            outside = [p for p in reader.liked if p.id not in inside]
            self._rankers[reader.reader_id] = Ranker(
                [*reader.pool, *outside],
                embedder=self.embedder,
                cache=self.cache,
                profile_cache=self.cache,
            )
        return self._rankers[reader.reader_id]

    def setup(
        self, reader: Reader, start: str, seed: int, *, profile: InterestProfile,
        liked: Sequence[Paper] = (), held: Sequence[Paper] = (),
    ) -> Setup:  # fmt: skip
        """`liked` (the start's liked papers) and `held` (papers set aside) leave the
        evaluated pool."""
        taken = {p.id for p in [*liked, *held]}
        papers = [p for p in reader.pool if p.id not in taken]
        ranker = self.ranker(reader)
        return Setup(
            reader=reader,
            start=start,
            seed=seed,
            papers=papers,
            vectors=np.vstack([self.vectors[p.id] for p in papers]).astype(np.float32),
            relevant=np.array([reader.relevant(p.id) for p in papers]),
            grades=reader.grades,
            liked=list(liked),
            profile=profile,
            ranker=ranker,
            embedder=self.embedder,
            cache=self.cache,
            threshold=THRESHOLD_LOGIT,
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


def base_rate(readers: list[Reader]) -> float:
    return float(np.mean([r.relevant(p.id) for r in readers for p in r.pool]))
