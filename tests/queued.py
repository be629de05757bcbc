"""Subscribers with digests already in the outbox, for the sender's tests and benchmarks."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.orm import Session, sessionmaker

from newsletter.db import outbox, subscribers
from newsletter.db.papers import store_papers
from newsletter.domain import InterestProfile, Paper
from newsletter.matching.ranker import Match


def queue_digests(
    sessions: sessionmaker[Session],
    addresses: list[str],
    *,
    papers: list[Paper],
    day: date,
    now: datetime,
) -> None:
    """Active subscribers with one queued digest each, listing `papers`."""
    matches = [Match(paper=p, score=0.9, why=("retrieval",), highlights=()) for p in papers]
    with sessions.begin() as session:
        store_papers(session, papers, now=now)
        digests = []
        for address in addresses:
            row, _ = subscribers.add_or_update(
                session,
                email=address,
                profile=InterestProfile("retrieval"),
                confirmed=True,
                now=now,
            )
            digests.append(
                outbox.NewDigest(
                    subscriber_id=row.id,
                    digest_date=day,
                    message_id=f"<{address.replace('@', '.')}.{day}@example.org>",
                    matches=matches,
                )
            )
        outbox.enqueue(session, digests, now=now)
