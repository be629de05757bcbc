"""The relevance model: a few per-(profile, paper) features and the global logistic weights
that turn them into a calibrated P(relevant). Pure; every constant here is global.

Two channels, each a small logistic regression over features of the day's papers:
- text (the profile's description and keywords): `z_sem`, `log_sem`, `log_lex`, `kw_title`;
- liked (the profile's liked papers, best liked paper per paper): `z_sem`, `log_sem`, `log_lex`;
and P(relevant) = 1 - (1 - P_text)(1 - P_liked) (either may make a paper relevant).

- sem: text: mean cosine over the profile's facets (whole text, description, each keyword)
  to the paper's vector (mean of its windows); liked: the mean of that cosine and the
  sentence-level alignment (`semantic.alignment`) of the two papers;
- z_sem: sem as a z-score among the day's papers for this profile (how far a paper stands out
  for *this* profile: cosine scales differ between a one-word and a long interest). Against a
  fixed background sample, or left out, it measured no better (benchmarks/robustness.py,
  RANKING.md section 9): without it one-word interests lose precision;
- log_sem = ln(max(sem, 0.01)), log_lex = ln(lex + 0.01), lex the TF-IDF cosine;
- kw_title: one of the profile's keywords (a phrase as a whole) is in the paper's title.

The weights were fitted by `benchmarks/ranking.py --fit`: text on the development set
(relevant = grade >= 1), liked on the CSFCube half (relevant = grade >= 2 for the facet); the
same script reports the leave-one-interest-out / leave-one-query-out figures of every fit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

Matrix = NDArray[np.floating]

TEXT_FEATURES = ("z_sem", "log_sem", "log_lex", "kw_title")
LIKED_FEATURES = ("z_sem", "log_sem", "log_lex")
SEM_FLOOR = 0.01
LEX_FLOOR = 0.01


@dataclass(frozen=True)
class Logistic:
    """logit = intercept + sum(weight x feature); features absent from `weights` count 0."""

    intercept: float
    weights: tuple[tuple[str, float], ...]

    def logit(self, features: Mapping[str, Matrix]) -> Matrix:
        total: Matrix | None = None
        for name, weight in self.weights:
            term = weight * features[name]
            total = term if total is None else total + term
        assert total is not None
        return total + self.intercept


def zscore(values: Matrix) -> Matrix:
    """Row-wise z-score among the day's papers (a constant row scores 0)."""
    mean = values.mean(axis=1, keepdims=True)
    std = values.std(axis=1, keepdims=True)
    return np.asarray((values - mean) / np.where(std > 1e-9, std, 1.0), values.dtype)


def features(sem: Matrix | None, lex: Matrix, kw_title: Matrix | None = None) -> dict[str, Matrix]:
    """The model's inputs from raw similarities (profiles x papers)."""
    out = {"log_lex": np.log(lex + LEX_FLOOR)}
    if sem is not None:
        out["z_sem"] = zscore(sem)
        out["log_sem"] = np.log(np.maximum(sem, SEM_FLOOR))
    out["kw_title"] = np.zeros_like(lex) if kw_title is None else kw_title.astype(lex.dtype)
    return out


def sigmoid(x: Matrix) -> Matrix:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -40, 40)))


# Fitted weights (benchmarks/ranking.py --fit prints them; pasted here). "hybrid" is what
# the service runs; "semantic" and "lexical" are its parts, fitted the same way, used when
# there is no embedder (lexical) and by the benchmark to compare.
TEXT: dict[str, Logistic] = {
    "hybrid": Logistic(
        6.122, (("z_sem", 0.463), ("log_sem", 2.0), ("log_lex", 1.806), ("kw_title", 1.323))
    ),
    "semantic": Logistic(0.087, (("z_sem", 1.279), ("log_sem", 2.226))),
    "lexical": Logistic(6.209, (("log_lex", 2.703), ("kw_title", 1.523))),
}
LIKED: dict[str, Logistic] = {
    "hybrid": Logistic(1.775, (("z_sem", 0.58), ("log_sem", 3.333), ("log_lex", 0.819))),
    "semantic": Logistic(0.037, (("z_sem", 0.773), ("log_sem", 3.681))),
    "lexical": Logistic(2.661, (("log_lex", 2.078),)),
}

# P(relevant) a paper needs to enter a digest (a sweep on the development set, see README).
THRESHOLD = 0.6
