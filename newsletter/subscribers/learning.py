"""Refitting a topic's model when its examples change, in the caller's transaction.

A vote from a digest, a rating, a library import or a reset changes a topic's examples
(newsletter.db.examples); the web route or the command that made the change calls
`Learner.refit` right after it, in the same transaction, so the stored model always matches
the stored examples and the next digest reads a fresh model without fitting anyone. Refits
happen in the request's worker thread (routes are plain `def`s), never on the event loop.

What a refit reads, and why:
- **Examples**: the topic's votes and library (`examples_of`), at most `max_examples`
  (votes first): the solver's time grows with the cube of its rows.
- **Background**: up to `max_background` papers of the latest `background_days` days, the
  pool the model's centre and weak negatives come from (`fit_for_profile`).
- **Vectors** through the request's own session (`SessionEmbeddingCache`): a second
  connection writing while the request holds SQLite's write lock would wait on itself.

Without an embedder (semantic matching off or not installed) there is nothing to fit on: the
examples are stored, the topic stays owed a refit (`owed_refits`), and the reader's digest
is the global ranking of their written profile.

`refit_owed` is the scheduler's catch-up before each dispatch: it refits only the topics
owed a refit (a refit that failed, examples stored while no embedder or no papers were
there), each in its own transaction, so a topic that cannot be fitted never holds up the
others, and refitting never becomes daily work for every reader.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from newsletter.db.embeddings import SessionEmbeddingCache
from newsletter.db.examples import examples_of, owed_refits, store_model, topic_model
from newsletter.db.models import InterestProfileRow, PaperRow
from newsletter.db.papers import digest_candidates, latest_day, to_paper
from newsletter.db.subscriber_rows import to_profile
from newsletter.domain import Paper
from newsletter.matching.learning.examples import fit_for_profile
from newsletter.matching.semantic import Embedder
from newsletter.subscribers.latest import LatestDay, LatestDays

log = logging.getLogger(__name__)
NO_EMBEDDER = (
    "learning from examples needs semantic matching (the 'semantic' extra and "
    "NEWSLETTER_EMBEDDING_MODEL): your examples are kept and will be learned from once it is on"
)
NO_PAPERS = "no papers are stored yet: your examples are kept and learned from after a fetch"


@dataclass(frozen=True, slots=True)
class Refit:
    """What a refit did: `fitted` a model on `examples` examples, or not, and why not."""

    fitted: bool
    examples: int
    reason: str = ""


@dataclass(frozen=True)
class Learner:
    """Refits topics' models; `days` (the web app's) shares the latest day's ranking between
    requests (the rating page's picks and "what changed")."""

    embedder: Embedder | None
    days: LatestDays | None = None
    background_days: int = 3
    max_background: int = 100
    max_examples: int = 300

    @classmethod
    def for_web(cls, sessions: sessionmaker[Session], embedder: Embedder | None) -> Learner:
        return cls(embedder, LatestDays(sessions, embedder))

    def latest(self, session: Session) -> LatestDay | None:
        """The latest day's papers, ranked (None before the first fetch)."""
        if self.days is None:
            day = latest_day(session)
            papers = digest_candidates(session, first=day, last=day) if day else []
            if day is None or not papers:
                return None
            cache = SessionEmbeddingCache(session, store=False)
            return LatestDay.build(day, papers, embedder=self.embedder, cache=cache)
        return self.days.get(session)

    def refit(self, session: Session, topic: InterestProfileRow, *, now: datetime) -> Refit:
        """Fit the topic's model on its current examples and store it (with no examples:
        no model, the global ranking)."""
        session.flush()  # the change that called for the refit is what it reads
        examples = examples_of(session, topic.id, limit=self.max_examples)
        if not examples:
            store_model(session, topic.id, model=None, examples=0, fitted_at=now)
            return Refit(False, 0)
        if self.embedder is None:
            return Refit(False, len(examples), NO_EMBEDDER)
        background = background_papers(
            session, days=self.background_days, limit=self.max_background
        )
        if not background:
            return Refit(False, len(examples), NO_PAPERS)
        model = fit_for_profile(
            to_profile(topic),
            [e.paper for e in examples if e.liked],
            [e.paper for e in examples if not e.liked],
            embedder=self.embedder,
            cache=SessionEmbeddingCache(session),
            background=background,
        )
        store_model(
            session, topic.id, model=model.to_bytes(), examples=len(examples), fitted_at=now
        )
        return Refit(True, len(examples))

    def refit_if_learning(
        self, session: Session, topic: InterestProfileRow, *, now: datetime
    ) -> Refit | None:
        """Refit a topic that has learned (or was given examples) before: its profile or
        its examples changed. None for a topic that never had examples."""
        if topic_model(session, topic.id) is None:
            return None
        return self.refit(session, topic, now=now)


def background_papers(session: Session, *, days: int, limit: int) -> list[Paper]:
    """Up to `limit` papers of the latest `days` days with papers, newest ids first."""
    last = latest_day(session)
    if last is None:
        return []
    return recent_papers(session, first=last - timedelta(days=days - 1), last=last, limit=limit)


def recent_papers(session: Session, *, first: date, last: date, limit: int) -> list[Paper]:
    query = (
        select(PaperRow)
        .where(
            or_(
                PaperRow.announced_on.between(first, last),
                PaperRow.hf_daily_date.between(first, last),
            )
        )
        .order_by(PaperRow.id.desc())
        .limit(limit)
    )
    return [to_paper(row) for row in session.scalars(query)]


@dataclass(frozen=True, slots=True)
class RefitPass:
    fitted: int = 0  # topics given a fresh model (or none, having no examples left)
    left: int = 0  # still owed: nothing to fit on yet, or the refit failed (logged)


def refit_owed(
    sessions: sessionmaker[Session], learner: Learner, *, now: datetime, limit: int = 500
) -> RefitPass:
    """Refit up to `limit` topics owed a refit, each in its own transaction. Without an
    embedder nothing can be fitted: the pass then reads nothing but the owed list."""
    with sessions() as session:
        owed = owed_refits(session, limit=limit)
    if not owed or learner.embedder is None:
        return RefitPass(left=len(owed))
    fitted = left = 0
    for topic_id in owed:
        try:
            with sessions.begin() as session:
                topic = session.get(InterestProfileRow, topic_id)
                done = topic is None or learner.refit(session, topic, now=now).fitted
        except Exception:  # one topic's failure must not stop the others' refits or digests
            log.exception("refitting topic %d failed; it stays owed a refit", topic_id)
            done = False
        fitted, left = (fitted + 1, left) if done else (fitted, left + 1)
    return RefitPass(fitted=fitted, left=left)
