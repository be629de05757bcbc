"""What a topic learned: its examples (library, votes, ratings), its model, and for the
papers of the reader's latest digest "why am I getting this?": the reader's own liked papers
that pushed each one up under the topic's model (`learning.apply.pushed_up_titles`, exact
shares of the model's score, not a guess).

Shown by a page and by the JSON API alike (`learned`); both only read. Reset (votes,
ratings and the model go; the written interests and the library stay) and removing the
library are POSTs on the page and their own API calls.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from newsletter.db.examples import library_of, model_bytes, topic_model, votes_of
from newsletter.db.models import InterestProfileRow, LibraryEntryRow, SubscriberRow, VoteRow
from newsletter.db.outbox import subscriber_digests
from newsletter.db.papers import papers_by_id
from newsletter.matching.learning import apply as learned_model
from newsletter.matching.semantic import Embedder, EmbeddingCache, paper_vectors

MAX_LISTED = 500  # library entries and votes listed on the page (the counts say the rest)


@dataclass(frozen=True)
class Why:
    """A paper of the latest digest, why it was sent, and the examples that pushed it up."""

    paper_id: str
    title: str
    why: list[str]
    pushed_up_by: list[str]


@dataclass(frozen=True)
class Learned:
    library: list[LibraryEntryRow]
    library_total: int
    votes: list[VoteRow]
    votes_total: int
    fitted_at: datetime | None
    fitted_on: int  # examples the model was fitted on
    owed: bool  # examples changed since (no embedder, or no papers yet)
    digest_day: str | None
    why: list[Why] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "library": [_entry_json(e) for e in self.library],
            "library_total": self.library_total,
            "votes": [_vote_json(v) for v in self.votes],
            "votes_total": self.votes_total,
            "model": {
                "fitted_at": self.fitted_at.isoformat() if self.fitted_at else None,
                "examples": self.fitted_on,
                "refit_owed": self.owed,
            },
            "latest_digest": {
                "day": self.digest_day,
                "papers": [
                    {
                        "id": w.paper_id,
                        "title": w.title,
                        "why": w.why,
                        "pushed_up_by": w.pushed_up_by,
                    }
                    for w in self.why
                ],
            },
        }


def learned(
    session: Session,
    row: SubscriberRow,
    topic: InterestProfileRow,
    *,
    embedder: Embedder | None,
    cache: EmbeddingCache,
) -> Learned:
    library = library_of(session, topic.id)
    votes = votes_of(session, topic.id)
    stored = topic_model(session, topic.id)
    fitted = stored is not None and stored.model is not None and stored.fitted_at is not None
    owed = stored is not None and (
        stored.fitted_at is None or stored.examples_changed_at > stored.fitted_at
    )
    day, why = _latest_digest(session, row, topic, embedder=embedder, cache=cache)
    return Learned(
        library=library[:MAX_LISTED],
        library_total=len(library),
        votes=votes[:MAX_LISTED],
        votes_total=len(votes),
        fitted_at=stored.fitted_at if fitted and stored else None,
        fitted_on=stored.examples if fitted and stored else 0,
        owed=bool(owed) and bool(library or votes),
        digest_day=day,
        why=why,
    )


def _latest_digest(
    session: Session,
    row: SubscriberRow,
    topic: InterestProfileRow,
    *,
    embedder: Embedder | None,
    cache: EmbeddingCache,
) -> tuple[str | None, list[Why]]:
    """The latest digest's papers, each with the titles of the topic's liked examples that
    pushed it up most (none without a model or an embedder)."""
    digests = subscriber_digests(session, subscriber=row, limit=1)
    if not digests:
        return None, []
    (digest,) = digests
    items = [item for item in digest.content if isinstance(item.get("id"), str)]
    papers = papers_by_id(session, [item["id"] for item in items])
    model = model_bytes(session, topic.id)
    shown = [item for item in items if item["id"] in papers]
    pushed: list[list[str]] = [[] for _ in shown]
    if model is not None and embedder is not None and shown:
        vectors = paper_vectors(
            [papers[item["id"]] for item in shown], embedder=embedder, cache=cache
        )
        explained = learned_model.Learned(
            model, np.empty(0, dtype=np.float32)
        )  # decoded once, to explain
        pushed = [
            list(
                learned_model.pushed_up_titles(
                    explained, cache, embedder.name, papers[item["id"]], vector
                )
            )
            for item, vector in zip(shown, vectors, strict=True)
        ]
    why = [
        Why(item["id"], papers[item["id"]].title, list(item.get("why") or []), titles)
        for item, titles in zip(shown, pushed, strict=True)
    ]
    return digest.digest_date.isoformat(), why


def _entry_json(entry: LibraryEntryRow) -> dict[str, Any]:
    return {
        "key": entry.key,
        "title": entry.title,
        "authors": list(entry.authors or []),
        "year": entry.year,
        "arxiv_id": entry.arxiv_id,
        "doi": entry.doi,
        "url": entry.url,
        "id_only": not entry.title,
        "added_at": entry.added_at.isoformat(),
    }


def _vote_json(vote: VoteRow) -> dict[str, Any]:
    return {
        "paper": vote.paper_id,
        "title": vote.title,
        "liked": vote.liked,
        "source": vote.source,
        "at": vote.voted_at.isoformat(),
    }
