"""Simulated readers for benchmarks/learning.py: digests by day, votes by the labels, scores.

The protocol (global, the same for every reader):
- The reader's evaluated pool (their papers minus any liked or library papers) is shuffled
  with a seeded generator and cut into days of 30 papers (a last day under 20 joins the one
  before). Each day the reader's digest shows that day's 10 best papers by the current model,
  whatever their score, and the reader votes on each, top to bottom: "more like this" when
  the paper is relevant to them (`Reader.relevant`), else "less". The model is refitted on
  the votes so far before each day and at each checkpoint (0, 5, 10, 20 votes).
- At a checkpoint the papers not yet voted on are ranked three ways: the prior alone
  ("learning off": the same reader, the same votes, no model), today's mechanism (a "more"
  vote adds the paper to the profile's liked papers, "less" to its disliked papers, ranked
  by today's `Ranker`), and the reader's model. Scores: nDCG@10 (gain 2^grade - 1) and the
  included set (papers over the matching threshold, best first, at most 10): its size and
  how many of them are relevant.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from learning_sets import Reader
from numpy.typing import NDArray
from ranking import ndcg_at

from newsletter.domain import InterestProfile, Paper
from newsletter.matching.learning.model import (
    Examples,
    LearningSettings,
    ReaderModel,
    Vectors,
    fit_reader,
)
from newsletter.matching.learning.prior import Calibration
from newsletter.matching.ranker import Ranker

CHECKPOINTS = (0, 5, 10, 20)
DAY_SIZE = 30
SHORTEST_DAY = 20
DIGEST = 10
LIMIT = 10  # at most this many papers in an included set
SYSTEMS = ("off", "today", "learned")


def stable_seed(*parts: object) -> int:
    return int.from_bytes(hashlib.sha256(repr(parts).encode()).digest()[:8], "little")


@dataclass
class Setup:
    """One reader from one start, ready to simulate: aligned arrays over the evaluated pool."""

    reader: Reader
    start: str
    seed: int
    papers: list[Paper]
    vectors: Vectors
    prior: NDArray[np.float64]  # calibrated logits of the start profile
    relevant: NDArray[np.bool_]
    grades: dict[str, int]
    liked: Examples  # the start's liked papers as examples (leave-self-out prior logits)
    profile: InterestProfile
    ranker: Ranker
    calibration: Calibration
    threshold: float  # the matching threshold, as a logit
    centre: Vectors
    tie: NDArray[np.int64] = field(init=False)

    def __post_init__(self) -> None:
        ids = np.array([p.id for p in self.papers], dtype=object)
        self.tie = np.argsort(np.argsort(ids, kind="stable"), kind="stable")

    def order(self, logits: NDArray[np.floating], rows: NDArray[np.int64]) -> NDArray[np.int64]:
        """`rows` best first; equal logits in paper-id order."""
        return rows[np.lexsort((self.tie[rows], -logits))]


def ranker_scores(
    ranker: Ranker, profile: InterestProfile, ids: Sequence[str]
) -> NDArray[np.float64]:
    """Today's ranker score for each id (every paper ranked: no threshold)."""
    ((_, matches),) = ranker.rank_many(
        [(None, profile)], limit=len(ranker.papers), explain_matches=False
    )
    found = {m.paper.id: m.score for m in matches}
    floor = min(found.values(), default=0.0) - 1.0  # excluded by a rule: below everything
    return np.array([found.get(i, floor) for i in ids], np.float64)


def days_of(count: int, rng: np.random.Generator) -> list[NDArray[np.int64]]:
    order = rng.permutation(count)
    days = [order[i : i + DAY_SIZE] for i in range(0, count, DAY_SIZE)]
    if len(days) > 1 and len(days[-1]) < SHORTEST_DAY:
        days[-2:] = [np.concatenate(days[-2:])]
    return days


@dataclass
class Scores:
    ndcg: float
    included: int
    relevant_included: int


def evaluate(
    setup: Setup, model: ReaderModel, voted: list[int], *, today: bool
) -> dict[str, Scores]:
    rest = np.setdiff1d(np.arange(len(setup.papers)), voted)
    grades = {setup.papers[i].id: setup.grades.get(setup.papers[i].id, 0) for i in rest}
    systems = {
        "off": setup.prior[rest],
        "learned": model.logits(setup.vectors[rest], setup.prior[rest]).astype(np.float64),
    }
    if today:
        liked = tuple(setup.papers[i].id for i in voted if setup.relevant[i])
        disliked = tuple(setup.papers[i].id for i in voted if not setup.relevant[i])
        profile = replace(
            setup.profile,
            seed_papers=setup.profile.seed_papers + liked,
            disliked_papers=setup.profile.disliked_papers + disliked,
        )
        ids = [setup.papers[i].id for i in rest]
        scores = ranker_scores(setup.ranker, profile, ids)
        systems["today"] = setup.calibration.logits(scores)
    result = {}
    for name, logits in systems.items():
        positions = np.lexsort((setup.tie[rest], -logits))
        top = positions[:LIMIT]
        chosen = rest[top[logits[top] >= setup.threshold]]
        result[name] = Scores(
            ndcg=ndcg_at([setup.papers[i].id for i in rest[positions]], grades),
            included=len(chosen),
            relevant_included=int(setup.relevant[chosen].sum()),
        )
    return result


def fit_on(
    setup: Setup, voted: list[int], delivered: list[int], settings: LearningSettings
) -> ReaderModel:
    rows = np.array(voted, np.int64)
    votes = Examples(setup.vectors[rows], setup.relevant[rows], setup.prior[rows])
    examples = Examples(
        np.vstack([setup.liked.vectors, votes.vectors]),
        np.concatenate([setup.liked.liked, votes.liked]),
        np.concatenate([setup.liked.prior_logits, votes.prior_logits]),
    )
    unlabelled = np.setdiff1d(np.array(delivered, np.int64), rows)
    return fit_reader(
        examples,
        centre=setup.centre,
        unlabelled=setup.vectors[unlabelled],
        unlabelled_prior_logits=setup.prior[unlabelled],
        settings=settings,
    )


def simulate(
    setup: Setup, settings: LearningSettings, *, today: bool
) -> dict[int, dict[str, Scores]]:
    """Scores at each checkpoint reached (every reader here reaches 20 votes)."""
    rng = np.random.default_rng(stable_seed(setup.seed, setup.reader.reader_id, setup.start))
    voted: list[int] = []
    delivered: list[int] = []
    results = {0: evaluate(setup, fit_on(setup, [], [], settings), [], today=today)}
    for day in days_of(len(setup.papers), rng):
        model = fit_on(setup, voted, delivered, settings)
        delivered += day.tolist()
        logits = model.logits(setup.vectors[day], setup.prior[day])
        for row in setup.order(logits, day)[:DIGEST]:
            voted.append(int(row))
            if len(voted) in CHECKPOINTS:
                model_now = fit_on(setup, voted, delivered, settings)
                results[len(voted)] = evaluate(setup, model_now, voted, today=today)
            if len(voted) == CHECKPOINTS[-1]:
                return results
    return results
