"""Why a paper was pushed up for a reader: the liked examples that contributed most.

The fitted weights are an exact sum over the examples, `w = sum_i pull_i * (x_i - centre)`
(see `model`), so a paper's learned score splits exactly into one share per example:
`pull_i * (x_i - centre) . (x - centre)`. The shares of liked examples that raise the paper,
largest first, are what "why am I getting this?" lists: the reader's own papers, by title.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from newsletter.matching.learning.model import ReaderModel, Vectors


def contributions(
    model: ReaderModel, example_vectors: Vectors, paper_vector: Vectors
) -> NDArray[np.float32]:
    """Each labelled example's share of the paper's learned logit (they sum to w . (x - c))."""
    if len(example_vectors) != len(model.pulls):
        raise ValueError(
            f"{len(example_vectors)} example vectors for a model fitted on {len(model.pulls)}: "
            "pass the examples in the order they were fitted"
        )
    if len(example_vectors) == 0:
        return np.zeros(0, np.float32)
    similarity = (example_vectors - model.centre) @ (paper_vector - model.centre)
    return np.asarray(model.pulls * similarity, np.float32)


def pushed_up_by(
    model: ReaderModel, example_vectors: Vectors, paper_vector: Vectors, *, limit: int = 3
) -> list[tuple[int, float]]:
    """(example index, share of the logit) of the liked examples that raised the paper most."""
    shares = contributions(model, example_vectors, paper_vector)
    liked = np.flatnonzero((model.pulls > 0) & (shares > 0))
    order = liked[np.lexsort((liked, -shares[liked]))]
    return [(int(i), float(shares[i])) for i in order[:limit]]
