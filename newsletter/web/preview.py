"""What a profile would have received from the latest day's papers: the subscribe page's
preview and "send me a preview now". Ranks, never stores."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy.orm import Session, sessionmaker

from newsletter.db.embeddings import DbEmbeddingCache
from newsletter.db.papers import digest_candidates, latest_day, papers_by_id
from newsletter.domain import InterestProfile, Match, Paper
from newsletter.matching.ranker import Ranker
from newsletter.matching.semantic import Embedder


@dataclass(frozen=True, slots=True)
class Preview:
    day: date | None  # None: no papers stored yet
    matches: list[Match]


@dataclass
class Previewer:
    sessions: sessionmaker[Session]
    embedder: Embedder | None
    limit: int
    # One ranker for the latest day, rebuilt when a new day arrives: indexing the day's
    # papers costs far more than ranking one profile against them.
    _ranker: tuple[date, int, Ranker] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def preview(self, profile: InterestProfile) -> Preview:
        with self.sessions() as session:
            day = latest_day(session)
            if day is None:
                return Preview(day=None, matches=[])
            papers = digest_candidates(session, first=day, last=day)
            examples = [*profile.seed_papers, *profile.disliked_papers]
            known = list(papers_by_id(session, examples).values()) if examples else []
        with self._lock:  # the ranker's caches are not thread-safe
            ranker = self._ranker_for(day, papers, known)
            return Preview(day=day, matches=ranker.rank(profile, limit=self.limit))

    def _ranker_for(self, day: date, papers: list[Paper], known: list[Paper]) -> Ranker:
        cache = DbEmbeddingCache(self.sessions)
        if known:  # example papers from other days: a ranker just for this profile
            return Ranker(papers, embedder=self.embedder, cache=cache, known_papers=known)
        if self._ranker is None or self._ranker[:2] != (day, len(papers)):
            self._ranker = (day, len(papers), Ranker(papers, embedder=self.embedder, cache=cache))
        return self._ranker[2]
