"""Simulated readers for benchmarks/learning.py: digests by day, votes by the labels, scores.

The protocol (global, the same for every reader):
- The reader's evaluated pool (their papers minus any liked or library papers) is shuffled
  with a seeded generator and cut into days of 30 papers (a last day under 20 joins the one
  before). Each day the reader's digest shows that day's 10 best papers by the global ranker
  (learning off), and the reader votes on each, top to bottom: "more like this" when the
  paper is relevant to them (`Reader.relevant`), else "less". Every system learns from these
  same votes, so all are scored on the same papers (a system's own digests would change
  which papers are left to rank, and a system that finds relevant papers early would be
  left with fewer to find).
- At a checkpoint (0, 5, 10, 20 votes) the papers not yet voted on are ranked by each system:
  - "off": the global ranker's probability for the start profile (no learning);
  - "votes": the ranker's own vote mechanism: a "more" vote adds the paper to the profile's
    liked papers, a "less" vote to its disliked papers;
  - "learned": the reader's model (`fit_for_profile`: the start's liked papers and the votes
    as examples) over the start profile's probability;
  - "both": the model fitted on the "votes" profile, over that profile's probability.
  The model's recent papers (`background`: its centre and weak negatives) are the days seen
  so far, today's included. Scores: nDCG@10 (gain 2^grade - 1) and the included set
  (papers over the matching threshold, best first, at most 10): its size and how many of
  them are relevant.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from learning_sets import Reader
from numpy.typing import NDArray
from ranking import ndcg_at

from newsletter.domain import InterestProfile, Paper
from newsletter.matching.learning.examples import fit_for_profile
from newsletter.matching.learning.model import LearningSettings, ReaderModel, Vectors
from newsletter.matching.learning.prior import probability_logits, uninformed, with_no_evidence
from newsletter.matching.model import THRESHOLD
from newsletter.matching.ranker import Ranker
from newsletter.matching.semantic import Embedder, EmbeddingCache

CHECKPOINTS = (0, 5, 10, 20)
DAY_SIZE = 30
SHORTEST_DAY = 20
DIGEST = 10
LIMIT = 10  # at most this many papers in an included set
SYSTEMS = ("off", "votes", "learned", "both")
THRESHOLD_LOGIT = float(probability_logits(np.array([THRESHOLD]))[0])
RULED_OUT = -30.0  # a paper the hard rules exclude: below everything


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
    relevant: NDArray[np.bool_]
    grades: dict[str, int]
    liked: list[Paper]  # the start's liked papers (examples of the learning systems)
    profile: InterestProfile
    ranker: Ranker
    embedder: Embedder
    cache: EmbeddingCache
    threshold: float  # the matching threshold, as a logit
    tie: NDArray[np.int64] = field(init=False)
    prior: NDArray[np.float64] = field(init=False)  # the start profile's logits

    def __post_init__(self) -> None:
        ids = np.array([p.id for p in self.papers], dtype=object)
        self.tie = np.argsort(np.argsort(ids, kind="stable"), kind="stable")
        self.prior = prior_logits(self.ranker, self.profile, [p.id for p in self.papers])

    def ids(self) -> list[str]:
        return [p.id for p in self.papers]


def prior_logits(
    ranker: Ranker, profile: InterestProfile, ids: Sequence[str]
) -> NDArray[np.float64]:
    """The ranker's P(relevant) for `profile` as logits, for the papers `ids` (the base rate
    for an uninformed profile, as the service's prior; ruled-out papers last)."""
    probabilities, allowed = ranker.probabilities([profile])
    row = probabilities[0]
    if uninformed(profile, {p.id for p in ranker.papers}):
        row = with_no_evidence(row)
    logits = probability_logits(row)
    logits[~allowed[0]] = RULED_OUT
    column = {p.id: i for i, p in enumerate(ranker.papers)}
    return np.asarray(logits[[column[i] for i in ids]], np.float64)


@dataclass
class Scores:
    ndcg: float
    included: int
    relevant_included: int


def score(setup: Setup, logits: NDArray[np.floating], voted: Sequence[int]) -> Scores:
    """nDCG@10 and the included set over the papers not voted on."""
    rest = np.setdiff1d(np.arange(len(setup.papers)), np.array(voted, np.int64))
    grades = {setup.papers[i].id: setup.grades.get(setup.papers[i].id, 0) for i in rest}
    values = np.asarray(logits, np.float64)[rest]
    positions = np.lexsort((setup.tie[rest], -values))
    top = positions[:LIMIT]
    chosen = rest[top[values[top] >= setup.threshold]]
    return Scores(
        ndcg=ndcg_at([setup.papers[i].id for i in rest[positions]], grades),
        included=len(chosen),
        relevant_included=int(setup.relevant[chosen].sum()),
    )


def days_of(count: int, rng: np.random.Generator) -> list[NDArray[np.int64]]:
    order = rng.permutation(count)
    days = [order[i : i + DAY_SIZE] for i in range(0, count, DAY_SIZE)]
    if len(days) > 1 and len(days[-1]) < SHORTEST_DAY:
        days[-2:] = [np.concatenate(days[-2:])]
    return days


def trajectory(setup: Setup) -> Iterator[tuple[list[int], list[int]]]:
    """(votes so far, papers seen so far) at each checkpoint: the global digest each day."""
    rng = np.random.default_rng(stable_seed(setup.seed, setup.reader.reader_id, setup.start))
    days = days_of(len(setup.papers), rng)
    voted: list[int] = []
    seen: list[int] = days[0].tolist()
    yield [], list(seen)
    for number, day in enumerate(days):
        if number:
            seen += day.tolist()
        for row in np.lexsort((setup.tie[day], -setup.prior[day]))[:DIGEST]:
            voted.append(int(day[row]))
            if len(voted) in CHECKPOINTS:
                yield list(voted), list(seen)
            if len(voted) == CHECKPOINTS[-1]:
                return


def voted_profile(setup: Setup, voted: list[int]) -> InterestProfile:
    """The start profile with the votes as liked / disliked papers (the ranker's mechanism)."""
    liked = tuple(setup.papers[i].id for i in voted if setup.relevant[i])
    disliked = tuple(setup.papers[i].id for i in voted if not setup.relevant[i])
    return replace(
        setup.profile,
        seed_papers=setup.profile.seed_papers + liked,
        disliked_papers=setup.profile.disliked_papers + disliked,
    )


def learned_model(
    setup: Setup,
    profile: InterestProfile,
    voted: list[int],
    seen: list[int],
    settings: LearningSettings,
) -> ReaderModel:
    """The reader's model through the service's API, on the benchmark's per-pool ranker."""
    return fit_for_profile(
        profile,
        [*setup.liked, *(setup.papers[i] for i in voted if setup.relevant[i])],
        [setup.papers[i] for i in voted if not setup.relevant[i]],
        embedder=setup.embedder,
        cache=setup.cache,
        background=[setup.papers[i] for i in seen],
        settings=settings,
        ranker=setup.ranker,
    )


def simulate(
    setup: Setup, settings: Sequence[LearningSettings]
) -> Iterator[tuple[int, str, Scores]]:
    """(votes, system, scores) at each checkpoint; "learned" and "both" once per setting,
    named "learned#i" / "both#i" when there are several."""
    for voted, seen in trajectory(setup):
        count = len(voted)
        yield count, "off", score(setup, setup.prior, voted)
        profile = voted_profile(setup, voted)
        with_votes = prior_logits(setup.ranker, profile, setup.ids())
        yield count, "votes", score(setup, with_votes, voted)
        for index, chosen in enumerate(settings):
            suffix = f"#{index}" if len(settings) > 1 else ""
            for system, start, prior in (
                ("learned", setup.profile, setup.prior),
                ("both", profile, with_votes),
            ):
                model = learned_model(setup, start, voted, seen, chosen)
                logits = model.logits(setup.vectors, prior)
                yield count, system + suffix, score(setup, logits, voted)
