"""What a profile would have received from the latest day's papers: the subscribe page's
preview, and "send me a digest now", which ranks every topic of the reader with its model and
merges them as the daily digest does (a paper once, under its best topic). Ranks, never
stores."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy.orm import Session, sessionmaker

from newsletter.db.embeddings import DbEmbeddingCache
from newsletter.db.papers import digest_candidates, latest_day, papers_by_id
from newsletter.domain import InterestProfile, Match, Paper, TopicTag
from newsletter.matching.ranker import Ranker
from newsletter.matching.semantic import Embedder
from newsletter.matching.topics import merge_topics


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
        day, chosen = self.preview_topics([(None, profile)], {})
        return Preview(day=day, matches=[match for _, match in chosen])

    def preview_topics(
        self,
        topics: Sequence[tuple[TopicTag | None, InterestProfile]],
        models: Mapping[int, bytes],
    ) -> tuple[date | None, list[tuple[TopicTag | None, Match]]]:
        """The latest day (None: no papers yet) and the (topic, match) pairs of a digest from
        it: each topic ranked with its model (`models` by topic id), then merged."""
        with self.sessions() as session:
            day = latest_day(session)
            if day is None:
                return None, []
            papers = digest_candidates(session, first=day, last=day)
            examples = [
                paper_id
                for _, profile in topics
                for paper_id in (*profile.seed_papers, *profile.disliked_papers)
            ]
            known = list(papers_by_id(session, examples).values()) if examples else []
        with self._lock:  # the ranker's caches are not thread-safe
            ranker = self._ranker_for(day, papers, known)
            ranked = [
                (tag, ranker.rank(profile, limit=self.limit, model=_model(tag, models)))
                for tag, profile in topics
            ]
        return day, merge_topics(ranked, limit=self.limit)

    def _ranker_for(self, day: date, papers: list[Paper], known: list[Paper]) -> Ranker:
        cache = DbEmbeddingCache(self.sessions)
        if known:  # example papers from other days: a ranker just for this profile
            return Ranker(papers, embedder=self.embedder, cache=cache, known_papers=known)
        if self._ranker is None or self._ranker[:2] != (day, len(papers)):
            self._ranker = (day, len(papers), Ranker(papers, embedder=self.embedder, cache=cache))
        return self._ranker[2]


def _model(tag: TopicTag | None, models: Mapping[int, bytes]) -> bytes | None:
    return None if tag is None else models.get(tag.id)
