"""The prior: the global ranker's calibrated P(relevant) as a logit, and what stands in for it
where the profile gives the ranker nothing to judge by.

The ranker's probability is calibrated (`matching.model`), so it enters a reader's model as
its logit, unchanged: the prior's order (and its included set under the matching threshold)
is exactly the ranker's. A profile with no words, no known liked papers and no categories
(say, a reader who only imported a library) gets P = 0 from the ranker, a "never" that says
nothing about relevance; there the prior is the base rate, `NO_EVIDENCE_PROBABILITY` (papers
of a followed author keep their higher probability).
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
from numpy.typing import NDArray

from newsletter.domain import InterestProfile

PROBABILITY_FLOOR = 1e-6  # logits stay finite: a "never" from the ranker can still be learned
# The share of relevant (interest, paper) pairs on the development set (grade >= 1):
# benchmarks/learning.py prints it.
NO_EVIDENCE_PROBABILITY = 0.079


def probability_logits(probabilities: NDArray[np.floating]) -> NDArray[np.float64]:
    p = np.clip(np.asarray(probabilities, np.float64), PROBABILITY_FLOOR, 1 - PROBABILITY_FLOOR)
    return np.asarray(np.log(p) - np.log1p(-p), np.float64)


def uninformed(profile: InterestProfile, known: Collection[str]) -> bool:
    """Nothing the ranker could judge a paper by: no words, no categories, and none of the
    liked papers among `known` (the ids the ranker can read)."""
    return not (
        profile.description.strip()
        or profile.keywords
        or profile.categories
        or any(i in known for i in profile.seed_papers)
    )


def with_no_evidence(probabilities: NDArray[np.float32]) -> NDArray[np.float32]:
    """An uninformed profile's probabilities as a prior: at least the base rate."""
    return np.maximum(probabilities, np.float32(NO_EVIDENCE_PROBABILITY))
