"""Subscribers with digests already in the outbox, for the sender's tests and benchmarks."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import insert
from sqlalchemy.orm import Session, sessionmaker

from newsletter.db import outbox, subscribers
from newsletter.db.models import InterestProfileRow, SubscriberRow, new_token_key
from newsletter.db.papers import store_papers
from newsletter.domain import InterestProfile, Match, Paper
from tests.support.factories import arxiv_paper


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


def bulk_subscribers(
    sessions: sessionmaker[Session], count: int, *, description: str, now: datetime
) -> list[str]:
    """`count` active subscribers with the same interests, inserted in bulk; their emails."""
    emails = [f"reader{n}@example.org" for n in range(count)]
    with sessions.begin() as session:
        ids = session.scalars(
            insert(SubscriberRow).returning(SubscriberRow.id),
            [
                {
                    "email": email,
                    "status": "active",
                    "created_at": now,
                    "confirmed_at": now,
                    "token_key": new_token_key(),
                }
                for email in emails
            ],
        ).all()
        session.execute(
            insert(InterestProfileRow),
            [{"subscriber_id": i, "description": description} for i in ids],
        )
    return emails


TOPICS = (
    "Retrieval augmented generation for open-domain question answering",
    "Protein folding with diffusion models",
    "Dense retrieval with late interaction",
    "Robot grasping from demonstrations",
    "Galaxy morphology classification",
    "Graph neural networks for traffic forecasting",
)


def topic_papers(day: date, *, prefix: str = "2611.") -> list[Paper]:
    """Six papers on distinct topics (so term weights mean something), announced on `day`."""
    return [
        arxiv_paper(f"{prefix}{n:05d}", title=topic, abstract=f"We study {topic.lower()}.",
                    announced_on=day)
        for n, topic in enumerate(TOPICS)
    ]  # fmt: skip
