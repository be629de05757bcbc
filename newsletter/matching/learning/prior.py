"""The prior: the global ranker's score as a probability, and probabilities as logits.

A reader's model needs the global ranker's belief as a logit. A ranker that already gives a
calibrated P(relevant) plugs in through `probability_logits`; one that gives a raw score is
mapped by a `Calibration`, a logistic fit of relevance on score over labelled pairs. The
mapping is monotone, so the prior's order (and its included set under the matching
threshold) is exactly the ranker's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.special import expit

PENALTY = 1e-4  # faint: keeps the fit finite when scores separate the classes
PROBABILITY_FLOOR = 1e-6  # logits stay finite: a "never" from the ranker can still be learned


def probability_logits(probabilities: NDArray[np.floating]) -> NDArray[np.float64]:
    p = np.clip(np.asarray(probabilities, np.float64), PROBABILITY_FLOOR, 1 - PROBABILITY_FLOOR)
    return np.asarray(np.log(p) - np.log1p(-p), np.float64)


@dataclass(frozen=True)
class Calibration:
    """P(relevant) = sigmoid(slope * score + intercept)."""

    slope: float
    intercept: float

    def logits(self, scores: NDArray[np.floating]) -> NDArray[np.float64]:
        return np.asarray(self.slope * np.asarray(scores, np.float64) + self.intercept)

    def threshold_logit(self, score: float) -> float:
        return self.slope * score + self.intercept

    @classmethod
    def fit(cls, scores: Sequence[float], relevant: Sequence[bool]) -> Calibration:
        """A logistic fit of relevance on score."""
        x = np.asarray(scores, np.float64)
        if len(x) != len(relevant) or len(x) < 2:
            raise ValueError("a calibration needs two or more (score, relevant) pairs")
        y = np.asarray(relevant, np.float64)
        features = np.column_stack([x, np.ones_like(x)])
        theta = np.zeros(2)
        for _ in range(100):  # Newton's method on two parameters: a handful of steps
            p = expit(features @ theta)
            gradient = features.T @ (p - y) + PENALTY * theta
            hessian = (features * (p * (1 - p))[:, None]).T @ features + PENALTY * np.eye(2)
            step = np.linalg.solve(hessian, gradient)
            theta -= step
            if np.abs(step).max() < 1e-10:
                break
        return cls(float(theta[0]), float(theta[1]))
