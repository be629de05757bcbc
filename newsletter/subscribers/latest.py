"""The latest day's papers seen through one topic: what its digest would hold (with or
without the topic's model), and the papers most worth rating next.

The rating page shows ~10 of the latest papers chosen by `informative_papers` (near the
inclusion threshold, unlike one another) under the topic's current model, and after each
rating says what changed: how many of the day's papers would now pass the threshold, and the
best few. Papers the reader already judged (votes, library) and papers the profile's hard
rules refuse (an excluded word, a filter category) are never offered. Without an embedder
the choice falls back to the global ranking's uncertainty alone (no vectors to spread by).
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np
from sqlalchemy.orm import Session, sessionmaker

from newsletter.db.embeddings import DbEmbeddingCache
from newsletter.db.papers import digest_candidates, latest_day
from newsletter.domain import InterestProfile, Match, Paper
from newsletter.matching.learning.apply import apply_models, readable
from newsletter.matching.learning.onboarding import informative_papers
from newsletter.matching.learning.prior import probability_logits
from newsletter.matching.ranker import Ranker, Weights
from newsletter.matching.semantic import Embedder, EmbeddingCache, Vectors, paper_vectors

RATE_COUNT = 10
SHOWN_TOP = 3
_ALL = 100_000  # "every paper over the threshold": more than a day ever holds


@dataclass(frozen=True)
class Outlook:
    """What the topic's digest would hold from `day`'s papers: `included` over the
    threshold, the best ones first (the mail shows at most the per-digest maximum)."""

    day: date
    included: list[Match]

    @property
    def top(self) -> list[Paper]:
        return [match.paper for match in self.included[:SHOWN_TOP]]


@dataclass
class LatestDay:
    """The latest day's papers and a ranker over them, shared by the requests of that day
    (`LatestDays`): indexing a day costs far more than ranking one profile against it. The
    ranker's caches are not thread-safe, so each use holds the lock."""

    day: date
    papers: list[Paper]
    ranker: Ranker
    embedder: Embedder | None
    cache: EmbeddingCache
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def build(
        cls, day: date, papers: list[Paper], *, embedder: Embedder | None, cache: EmbeddingCache
    ) -> LatestDay:
        ranker = Ranker(papers, embedder=embedder, cache=cache, profile_cache=cache)
        return cls(day, papers, ranker, embedder, cache)

    def outlook(self, profile: InterestProfile, model: bytes | None) -> Outlook:
        """The day's papers over the threshold for the profile (and its model, if any)."""
        models = None if model is None else (lambda _key: model)
        with self._lock:
            ((_, matches),) = self.ranker.rank_many(
                [(None, profile)], limit=_ALL, explain_matches=False, models=models
            )
        return Outlook(self.day, matches)

    def to_rate(
        self,
        profile: InterestProfile,
        model: bytes | None,
        *,
        judged: Collection[str],
        count: int = RATE_COUNT,
    ) -> list[Paper]:
        """Up to `count` papers to rate: informative under the current model, not judged."""
        with self._lock:
            probabilities, allowed = self.ranker.probabilities([profile])
            vectors = self._vectors()
        if vectors is not None:
            found = readable(model, vectors.shape[1]) if model is not None else None
            if found is not None:
                apply_models(probabilities, [found], vectors)
        logits = probability_logits(probabilities[0])
        open_ = [
            i for i, paper in enumerate(self.papers) if allowed[0, i] and paper.id not in judged
        ]
        if not open_:
            return []
        spread = vectors[open_] if vectors is not None else np.eye(len(open_), dtype=np.float32)
        threshold = float(probability_logits(np.array([Weights().min_score]))[0])
        picks = informative_papers(logits[open_], spread, threshold_logit=threshold, count=count)
        return [self.papers[open_[i]] for i in picks]

    def _vectors(self) -> Vectors | None:
        if self.embedder is None:
            return None
        return paper_vectors(self.papers, embedder=self.embedder, cache=self.cache)


@dataclass
class LatestDays:
    """The latest day, ranked once per day's set of papers and kept for the next request.
    Its vectors are read from the database and new ones kept in memory only (`ReadThrough`):
    a shared ranker must not write through a request's transaction, and a write of its own
    would wait on a request that holds SQLite's write lock."""

    sessions: sessionmaker[Session]
    embedder: Embedder | None
    _current: tuple[tuple[date, tuple[str, ...]], LatestDay] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, session: Session) -> LatestDay | None:
        """The latest day with papers, None before the first fetch."""
        day = latest_day(session)
        if day is None:
            return None
        papers = digest_candidates(session, first=day, last=day)
        if not papers:
            return None
        key = (day, tuple(p.id for p in papers))
        with self._lock:
            if self._current is None or self._current[0] != key:
                cache = ReadThrough(DbEmbeddingCache(self.sessions))
                built = LatestDay.build(day, papers, embedder=self.embedder, cache=cache)
                self._current = (key, built)
            return self._current[1]


class ReadThrough:
    """Vectors from `stored`; new ones kept here, not written back."""

    def __init__(self, stored: EmbeddingCache) -> None:
        self._stored = stored
        self._memory: dict[tuple[str, str], Vectors] = {}

    def get_many(self, model: str, keys: Sequence[str]) -> dict[str, Vectors]:
        found = {k: self._memory[(model, k)] for k in keys if (model, k) in self._memory}
        missing = [k for k in keys if k not in found]
        return {**found, **(self._stored.get_many(model, missing) if missing else {})}

    def put_many(self, model: str, vectors: dict[str, Vectors]) -> None:
        self._memory.update({(model, k): v for k, v in vectors.items()})
