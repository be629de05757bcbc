"""The outbox: one durable row per (subscriber, digest day), moved through its states here.

queued -> sending -> sent | deferred (-> sending again) | failed | bounced | cancelled.
A row is marked `sending` (with a lease) in its own committed transaction before the mail
goes out, and its outcome is committed right after the server's reply: a crash leaves at
most the in-flight rows in `sending`, and those are retried with the same Message-ID.

Here: the states, queueing and reading rows; newsletter.db.outbox_claims claims rows for the
sender and records their outcomes.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Table, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from newsletter.db.models import OutboxRow, SentPaperRow, SubscriberRow
from newsletter.domain import Highlight, Match, Paper, TopicTag


class State(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DEFERRED = "deferred"
    FAILED = "failed"
    BOUNCED = "bounced"
    CANCELLED = "cancelled"  # the subscriber left or paused before it went out
    SKIPPED = "skipped"  # nothing matched that day: no mail, but the day is decided


@dataclass(frozen=True, slots=True)
class NewDigest:
    subscriber_id: int
    digest_date: date
    message_id: str
    matches: Sequence[Match]
    state: State = State.QUEUED
    # The topic each match was chosen for, in the same order (empty: none recorded).
    topics: Sequence[TopicTag | None] = ()


@dataclass(frozen=True, slots=True)
class ClaimedDigest:
    outbox_id: int
    subscriber_id: int
    email: str
    token_key: str
    subscriber_status: str
    digest_date: date
    message_id: str
    content: list[dict[str, Any]]
    attempts: int
    created_at: datetime

    @classmethod
    def of(cls, row: OutboxRow, subscriber: SubscriberRow) -> ClaimedDigest:
        """The digest an outbox row holds for its subscriber."""
        return cls(
            outbox_id=row.id,
            subscriber_id=subscriber.id,
            email=subscriber.email,
            token_key=subscriber.token_key,
            subscriber_status=subscriber.status,
            digest_date=row.digest_date,
            message_id=row.message_id,
            content=row.content,
            attempts=row.attempts,
            created_at=row.created_at,
        )

    @property
    def paper_ids(self) -> list[str]:
        return [item["id"] for item in self.content]


def encode_matches(
    matches: Sequence[Match], topics: Sequence[TopicTag | None] = ()
) -> list[dict[str, Any]]:
    """What the outbox keeps of a match: enough to render the mail again, nothing more.
    Highlights by field, each a flat list of (start, end) pairs: {"title": [0, 6],
    "abstract": [11, 16, 30, 35]} (no list per span to build, store and read back). The
    topic it was chosen for as "topic" (id) and "topic_name" (the name at queueing: the
    mail's heading stays what it was if the reader renames the topic later)."""
    items = [
        {
            "id": m.paper.id,
            "score": round(m.score, 4),
            "why": list(m.why),
            "highlights": _flat_spans(m.highlights),
        }
        for m in matches
    ]
    for item, topic in zip(items, topics, strict=False):
        if topic is not None:
            item["topic"], item["topic_name"] = topic.id, topic.name
    return items


def _flat_spans(highlights: Sequence[Highlight]) -> dict[str, list[int]]:
    flat: dict[str, list[int]] = {}
    for span in highlights:
        flat.setdefault(span.field, []).extend((span.start, span.end))
    return flat


def decode_matches(
    content: Sequence[Mapping[str, Any]], papers: Mapping[str, Paper]
) -> list[Match]:
    """Matches back from the outbox; a paper deleted since is left out."""
    return [
        Match(
            paper=papers[item["id"]],
            score=float(item["score"]),
            why=tuple(item["why"]),
            highlights=_spans(item["highlights"]),
        )
        for item in content
        if item["id"] in papers
    ]


def decode_topics(
    content: Sequence[Mapping[str, Any]], papers: Mapping[str, Paper]
) -> list[TopicTag | None]:
    """The topic of each match `decode_matches` gives, in its order (None: queued without
    one, before topics, or by a caller that names none)."""
    return [
        TopicTag(int(item["topic"]), str(item.get("topic_name", "")))
        if isinstance(item.get("topic"), int)
        else None
        for item in content
        if item["id"] in papers
    ]


def _spans(stored: dict[str, list[int]] | list[list[Any]]) -> tuple[Highlight, ...]:
    if isinstance(stored, list):  # queued before the flat form: [[field, start, end], …]
        return tuple(_highlight(f, s, e) for f, s, e in stored)
    spans: list[Highlight] = []
    for field, flat in stored.items():
        spans += map(_highlight, itertools.repeat(field), flat[0::2], flat[1::2])
    return tuple(spans)


# The same spans come back for many readers of a paper: one immutable Highlight each.
_highlight = functools.lru_cache(maxsize=65536)(Highlight)


def insert_ignoring_conflicts(
    session: Session, table: Table, rows: list[dict[str, Any]], *, conflict_on: list[str]
) -> int:
    """INSERT that skips rows already there (by the unique `conflict_on` columns), so that
    enqueueing twice is harmless; any other constraint violation still raises. One
    statement run for all rows (executemany): a multi-row VALUES would be compiled anew
    for every chunk, which cost more than the rows."""
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    builder = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = builder(table).on_conflict_do_nothing(index_elements=conflict_on)
    # Without preserve_rowcount, SQLAlchemy on psycopg reports an INSERT's rowcount as -1.
    result = session.execute(statement, rows, execution_options={"preserve_rowcount": True})
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def enqueue(session: Session, digests: Iterable[NewDigest], *, now: datetime) -> int:
    """Queue digests; those already queued for the same subscriber and day are left alone."""
    rows = [
        {
            "subscriber_id": d.subscriber_id,
            "digest_date": d.digest_date,
            "state": d.state.value,
            "attempts": 0,
            "next_attempt_at": now,
            "message_id": d.message_id,
            "content": encode_matches(d.matches, d.topics),
            "created_at": now,
            "updated_at": now,
        }
        for d in digests
    ]
    table = OutboxRow.__table__
    assert isinstance(table, Table)
    return insert_ignoring_conflicts(
        session, table, rows, conflict_on=["subscriber_id", "digest_date"]
    )


def counts_by_state(session: Session) -> dict[str, int]:
    rows = session.execute(select(OutboxRow.state, func.count()).group_by(OutboxRow.state)).all()
    return {str(state): int(count) for state, count in rows}


def sent_paper_ids(
    session: Session, *, subscriber_ids: Sequence[int], paper_ids: Sequence[str]
) -> dict[int, set[str]]:
    """Of `paper_ids`, those each subscriber has already received."""
    found: dict[int, set[str]] = {}
    if not subscriber_ids or not paper_ids:
        return found
    for start in range(0, len(subscriber_ids), 500):
        rows = session.execute(
            select(SentPaperRow.subscriber_id, SentPaperRow.paper_id).where(
                SentPaperRow.subscriber_id.in_(subscriber_ids[start : start + 500]),
                SentPaperRow.paper_id.in_(paper_ids),
            )
        )
        for subscriber_id, paper_id in rows:
            found.setdefault(subscriber_id, set()).add(paper_id)
    return found


def subscriber_digest(
    session: Session, *, subscriber: SubscriberRow, day: date
) -> ClaimedDigest | None:
    """The subscriber's digest for `day`, to show it again ("view in browser")."""
    row = session.scalar(
        select(OutboxRow).where(
            OutboxRow.subscriber_id == subscriber.id, OutboxRow.digest_date == day
        )
    )
    return None if row is None else ClaimedDigest.of(row, subscriber)


def subscriber_digests(
    session: Session, *, subscriber: SubscriberRow, limit: int
) -> list[ClaimedDigest]:
    """Digests sent or queued for the subscriber (not cancelled or empty), newest first."""
    rows = session.scalars(
        select(OutboxRow)
        .where(
            OutboxRow.subscriber_id == subscriber.id,
            OutboxRow.state.not_in((State.CANCELLED, State.SKIPPED)),
        )
        .order_by(OutboxRow.digest_date.desc(), OutboxRow.id.desc())
        .limit(limit)
    )
    return [ClaimedDigest.of(row, subscriber) for row in rows]


@dataclass(frozen=True, slots=True)
class DueMail:
    email: str
    digest_date: date
    papers: int
    state: str
    attempts: int


def due_now(session: Session, *, now: datetime, limit: int) -> tuple[int, list[DueMail]]:
    """How many digests a send would take now, and the first `limit` of them (read only)."""
    due = (OutboxRow.state.in_((State.QUEUED, State.DEFERRED))) & (OutboxRow.next_attempt_at <= now)
    total = session.scalar(select(func.count()).select_from(OutboxRow).where(due)) or 0
    rows = session.execute(
        select(OutboxRow, SubscriberRow.email)
        .join(SubscriberRow, SubscriberRow.id == OutboxRow.subscriber_id)
        .where(due)
        .order_by(OutboxRow.next_attempt_at, OutboxRow.id)
        .limit(limit)
    )
    return int(total), [
        DueMail(email, row.digest_date, len(row.content), row.state, row.attempts)
        for row, email in rows
    ]
