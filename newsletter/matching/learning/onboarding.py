"""The papers worth rating first: near the inclusion threshold, and unlike one another.

A rating teaches most where the model is unsure whether the paper belongs in the digest
(uncertainty sampling), and ten ratings of ten near-identical papers teach little more than
one; so papers are picked greedily by closeness to the threshold minus `diversity` times
their largest cosine similarity to a paper already picked. Deterministic: ties go to the
earlier paper.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from newsletter.matching.learning.model import Vectors

DIVERSITY = 1.0  # similarity to a picked paper weighs as much as full uncertainty


def informative_papers(
    logits: NDArray[np.floating],
    vectors: Vectors,
    *,
    threshold_logit: float,
    count: int = 10,
    diversity: float = DIVERSITY,
) -> list[int]:
    """Indices (into `logits`/`vectors`) of up to `count` papers for the reader to rate."""
    if len(logits) != len(vectors):
        raise ValueError("one logit per paper vector")
    uncertainty = 1.0 / (1.0 + np.abs(np.asarray(logits, np.float64) - threshold_logit))
    closest = np.full(len(logits), -np.inf)
    picked: list[int] = []
    available = np.ones(len(logits), bool)
    for _ in range(min(count, len(logits))):
        value = uncertainty - diversity * np.clip(closest, 0, None)
        value[~available] = -np.inf
        pick = int(np.argmax(value))
        picked.append(pick)
        available[pick] = False
        closest = np.maximum(closest, vectors @ vectors[pick])
    return picked
