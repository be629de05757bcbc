"""Many readers' models applied at once: one dense product per chunk of readers.

The ranker already scores a chunk of readers against the day's papers; with models, the
chunk's logits are `scale * prior + W @ X.T + offset` — a (readers x 384) by (384 x papers)
product, the same size as the embedding similarity the hybrid ranker computes. Readers
without a model get a zero row (their prior unchanged), so a chunk can mix both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from newsletter.matching.learning.model import ReaderModel, Vectors


@dataclass(frozen=True)
class ReaderBatch:
    """The models of a chunk of readers, stacked."""

    weights: Vectors  # readers x dimensions
    offsets: NDArray[np.float32]  # c - w . centre, per reader
    prior_scales: NDArray[np.float32]

    @classmethod
    def stack(cls, models: Sequence[ReaderModel | bytes | None], dimensions: int) -> ReaderBatch:
        """From fitted models or their stored bytes; None for a reader without one."""
        weights = np.zeros((len(models), dimensions), np.float32)
        offsets = np.zeros(len(models), np.float32)
        scales = np.ones(len(models), np.float32)
        for row, item in enumerate(models):
            if item is None:
                continue
            model = ReaderModel.from_bytes(item) if isinstance(item, bytes) else item
            if model.dimensions != dimensions:
                raise ValueError(f"a model of {model.dimensions} dimensions, not {dimensions}")
            weights[row], offsets[row], scales[row] = model.weights, model.offset, model.prior_scale
        return cls(weights, offsets, scales)

    def logits(self, paper_vectors: Vectors, prior_logits: NDArray[np.float32]) -> Vectors:
        """Readers x papers: each reader's logit for each paper (prior_logits: same shape)."""
        learned = self.weights @ paper_vectors.T
        learned += self.offsets[:, None]
        learned += self.prior_scales[:, None] * prior_logits
        return learned


def included(logits: Vectors, threshold_logit: float, limit: int) -> list[NDArray[np.int64]]:
    """Per reader, the papers at or over the threshold, best first, at most `limit`; ties in
    column order so the choice is deterministic."""
    picks: list[NDArray[np.int64]] = []
    for row in logits:
        candidates = np.flatnonzero(row >= threshold_logit)
        if len(candidates) > limit:
            kth = np.partition(-row[candidates], limit - 1)[limit - 1]
            candidates = candidates[-row[candidates] <= kth]
        order = np.lexsort((candidates, -row[candidates]))
        picks.append(candidates[order[:limit]])
    return picks
