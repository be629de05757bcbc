"""Readers' models inside the ranker: the global P(relevant) of a chunk of readers turned into
each reader's own, and the examples named when a model moved a paper up.

- The prior is the ranker's final probability (its rules for authors and categories
  included) as a logit (`prior.probability_logits`); a reader's model replaces it by
  `a * prior + w . x + offset` for every paper at once (`batch.ReaderBatch`: one dense
  product per chunk, over the readers that have a model). The threshold and the limit then
  apply to the result, so a model decides what enters the digest, not only its order.
- A model that cannot be read (damaged bytes, a newer format, another embedding's size) is
  logged and ignored: that reader gets the global ranking, and nobody's digest fails.
- Explaining reads the model's example notes (only for the few papers explained) and the
  examples' vectors from the embedding cache by their keys; an example whose vector is gone
  counts as the centre (no share), so the line names only what can be shown exactly.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from newsletter.domain import Paper
from newsletter.matching.learning.batch import ReaderBatch
from newsletter.matching.learning.explain import pushed_up_by
from newsletter.matching.learning.model import ModelFormatError, ReaderModel, Vectors
from newsletter.matching.learning.prior import probability_logits
from newsletter.matching.semantic import EmbeddingCache, cache_key

log = logging.getLogger(__name__)
ModelInput = ReaderModel | bytes | None
NAMED_EXAMPLES = 2  # titles in one "why" line


@dataclass(eq=False)
class Learned:
    """A reader's model as given (its notes are decoded only to explain, once per reader)
    and the global probabilities it replaced."""

    item: ReaderModel | bytes
    global_scores: NDArray[np.float32]
    _explaining: tuple[ReaderModel, Vectors] | None = field(default=None, init=False)

    def explaining(self, cache: EmbeddingCache, embedder: str) -> tuple[ReaderModel, Vectors]:
        """The model with its notes, and its examples' vectors in fitted order (an example
        whose vector the cache no longer has stands at the centre: no share)."""
        if self._explaining is None:
            if isinstance(self.item, ReaderModel):
                model = self.item
            else:
                try:
                    model = ReaderModel.from_bytes(self.item)
                except ModelFormatError as error:  # notes damaged, numbers fine: not explained
                    log.warning("a reader's model cannot explain itself: %s", error)
                    model = ReaderModel.from_bytes(self.item, notes=False)
            keys = [note.key for note in model.examples]
            found = cache.get_many(embedder, keys) if keys else {}
            rows = [found.get(key, model.centre) for key in keys]
            vectors = np.vstack(rows).astype(np.float32) if rows else model.centre[:0]
            self._explaining = (model, vectors)
        return self._explaining


def readable(item: ModelInput, dimensions: int) -> ReaderModel | None:
    """The model to score with (example notes left undecoded), or None when there is none or
    it cannot be used (logged)."""
    if item is None:
        return None
    try:
        model = ReaderModel.from_bytes(item, notes=False) if isinstance(item, bytes) else item
    except ModelFormatError as error:
        log.warning("a reader's model was ignored: %s", error)
        return None
    if model.dimensions != dimensions:
        log.warning(
            "a reader's model of %d dimensions was ignored (the papers have %d)",
            model.dimensions,
            dimensions,
        )
        return None
    return model


def apply_models(
    probabilities: NDArray[np.float32], models: list[ReaderModel | None], vectors: Vectors
) -> None:
    """Rows (readers) with a model get its probabilities, in place, rounded like the ranker's."""
    rows = [row for row, model in enumerate(models) if model is not None]
    if not rows:
        return
    batch = ReaderBatch.stack([models[row] for row in rows], vectors.shape[1])
    prior = probability_logits(probabilities[rows]).astype(np.float32)
    logits = batch.logits(vectors, prior)
    probabilities[rows] = np.round(1.0 / (1.0 + np.exp(-np.clip(logits, -40, 40))), 6)


def pushed_up_titles(
    learned: Learned, cache: EmbeddingCache, embedder: str, paper: Paper, vector: Vectors
) -> tuple[str, ...]:
    """Titles of the liked examples whose share raised `paper` (with its vector) most; the
    paper itself, when it is one of the examples, is not named as its own reason."""
    model, vectors = learned.explaining(cache, embedder)
    if not model.examples:
        return ()
    shares = pushed_up_by(model, vectors, vector, limit=NAMED_EXAMPLES + 1)
    own = cache_key(paper)
    named = [model.examples[i] for i, _ in shares if model.examples[i].key != own]
    return tuple(note.title for note in named[:NAMED_EXAMPLES] if note.title)
