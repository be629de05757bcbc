"""The outbox: one durable row per (subscriber, digest day), moved through its states here.

queued -> sending -> sent | deferred (-> sending again) | failed | bounced | cancelled.
A row is marked `sending` (with a lease) in its own committed transaction before the mail
goes out, and its outcome is committed right after the server's reply: a crash leaves at
most the in-flight rows in `sending`, and those are retried with the same Message-ID.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Engine, Table, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from newsletter.db.models import OutboxRow, SentPaperRow, SubscriberRow
from newsletter.domain import Paper
from newsletter.matching.explain import Highlight
from newsletter.matching.ranker import Match


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

    @property
    def paper_ids(self) -> list[str]:
        return [item["id"] for item in self.content]


def encode_matches(matches: Sequence[Match]) -> list[dict[str, Any]]:
    """What the outbox keeps of a match: enough to render the mail again, nothing more."""
    return [
        {
            "id": m.paper.id,
            "score": round(m.score, 4),
            "why": list(m.why),
            "highlights": [[h.field, h.start, h.end] for h in m.highlights],
        }
        for m in matches
    ]


def decode_matches(
    content: Sequence[Mapping[str, Any]], papers: Mapping[str, Paper]
) -> list[Match]:
    """Matches back from the outbox; a paper deleted since is left out."""
    return [
        Match(
            paper=papers[item["id"]],
            score=float(item["score"]),
            why=tuple(item["why"]),
            highlights=tuple(Highlight(f, s, e) for f, s, e in item["highlights"]),
        )
        for item in content
        if item["id"] in papers
    ]


def insert_ignoring_conflicts(
    session: Session, table: Table, rows: list[dict[str, Any]], *, conflict_on: list[str]
) -> int:
    """INSERT that skips rows already there (by the unique `conflict_on` columns), so that
    enqueueing twice is harmless; any other constraint violation still raises."""
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    builder = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # Without preserve_rowcount, SQLAlchemy on psycopg reports an INSERT's rowcount as -1.
    statement = builder(table).values(rows).on_conflict_do_nothing(index_elements=conflict_on)
    result = session.execute(statement, execution_options={"preserve_rowcount": True})
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
            "content": encode_matches(d.matches),
            "created_at": now,
            "updated_at": now,
        }
        for d in digests
    ]
    inserted = 0
    for start in range(0, len(rows), 500):
        table = OutboxRow.__table__
        assert isinstance(table, Table)
        inserted += insert_ignoring_conflicts(
            session, table, rows[start : start + 500], conflict_on=["subscriber_id", "digest_date"]
        )
    return inserted


def claim(
    sessions: sessionmaker[Session], *, now: datetime, limit: int, lease: timedelta
) -> list[ClaimedDigest]:
    """Mark up to `limit` due rows `sending` and return them, in one committed transaction.

    On PostgreSQL `FOR UPDATE SKIP LOCKED` lets any number of workers claim from the same
    queue without waiting on or taking each other's rows; SQLite ignores it (one writer).
    """
    due = (
        select(OutboxRow.id)
        .where(
            OutboxRow.state.in_((State.QUEUED.value, State.DEFERRED.value)),
            OutboxRow.next_attempt_at <= now,
        )
        .order_by(OutboxRow.next_attempt_at, OutboxRow.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    with sessions.begin() as session:
        ids = list(
            session.scalars(
                update(OutboxRow)
                .where(OutboxRow.id.in_(due.scalar_subquery()))
                .values(
                    state=State.SENDING.value,
                    lease_expires_at=now + lease,
                    attempts=OutboxRow.attempts + 1,
                    updated_at=now,
                )
                .returning(OutboxRow.id)
            )
        )
        if not ids:
            return []
        rows = session.execute(
            select(OutboxRow, SubscriberRow)
            .join(SubscriberRow, SubscriberRow.id == OutboxRow.subscriber_id)
            .where(OutboxRow.id.in_(ids))
            .order_by(OutboxRow.next_attempt_at, OutboxRow.id)
        ).all()
        return [
            ClaimedDigest(
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
            for row, subscriber in rows
        ]


def reclaim_expired(
    sessions: sessionmaker[Session], *, now: datetime, everything: bool = False
) -> int:
    """Put rows whose worker died mid-send back in the queue (the mail may have gone out:
    it is retried with the same Message-ID). `everything` reclaims unexpired leases too,
    for the single-worker SQLite mode where no other sender can hold them."""
    condition = OutboxRow.state == State.SENDING.value
    if not everything:
        condition = condition & (OutboxRow.lease_expires_at < now)
    with sessions.begin() as session:
        result = session.execute(
            update(OutboxRow)
            .where(condition)
            .values(
                state=State.DEFERRED.value,
                next_attempt_at=now,
                lease_expires_at=None,
                updated_at=now,
                last_reply="ambiguous: the sender stopped while this mail was in flight",
            )
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _held(digest: ClaimedDigest) -> Any:
    """The row is still this claim's: `sending`, and not claimed again since (each claim
    counts an attempt), so a worker whose lease was taken over cannot undo the new claim."""
    return (
        (OutboxRow.id == digest.outbox_id)
        & (OutboxRow.state == State.SENDING.value)
        & (OutboxRow.attempts == digest.attempts)
    )


def _engine(sessions: sessionmaker[Session]) -> Engine:
    # Outcomes are written once per message on the hot path: Core on a connection costs a
    # fraction of an ORM session's bookkeeping.
    engine = sessions.kw["bind"]
    assert isinstance(engine, Engine)
    return engine


def _finish(connection: Connection, digest: ClaimedDigest, **values: Any) -> bool:
    """Record an outcome, only if this claim still holds the row."""
    result = connection.execute(
        update(OutboxRow).where(_held(digest)).values(lease_expires_at=None, **values)
    )
    return bool(result.rowcount)


def record_sent(
    sessions: sessionmaker[Session], digest: ClaimedDigest, *, reply: str, now: datetime
) -> None:
    """The mail was accepted: the row is sent and its papers count as received."""
    with _engine(sessions).begin() as connection:
        held = _finish(
            connection,
            digest,
            state=State.SENT.value,
            sent_at=now,
            updated_at=now,
            last_reply=reply,
        )
        if not held or not digest.paper_ids:
            return
        table = SentPaperRow.__table__
        assert isinstance(table, Table)
        builder = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
        connection.execute(
            builder(table).on_conflict_do_nothing(),
            [
                {
                    "subscriber_id": digest.subscriber_id,
                    "paper_id": paper_id,
                    "outbox_id": digest.outbox_id,
                    "sent_at": now,
                }
                for paper_id in digest.paper_ids
            ],
        )


def record_retry(
    sessions: sessionmaker[Session],
    digest: ClaimedDigest,
    *,
    reply: str,
    now: datetime,
    next_attempt_at: datetime,
) -> None:
    with _engine(sessions).begin() as connection:
        _finish(
            connection,
            digest,
            state=State.DEFERRED.value,
            next_attempt_at=next_attempt_at,
            updated_at=now,
            last_reply=reply,
        )


def record_final(
    sessions: sessionmaker[Session],
    digest: ClaimedDigest,
    *,
    state: State,
    reply: str,
    now: datetime,
    suppress: bool = False,
) -> None:
    """failed / bounced / cancelled; a bounce also stops all mail to the address."""
    with _engine(sessions).begin() as connection:
        held = _finish(connection, digest, state=state.value, updated_at=now, last_reply=reply)
        if suppress and held:
            connection.execute(
                update(SubscriberRow)
                .where(SubscriberRow.id == digest.subscriber_id)
                .values(status="bounced", suppressed_reason=reply[:500])
            )


def release(sessions: sessionmaker[Session], digests: Sequence[ClaimedDigest]) -> None:
    """Return claimed but unsent rows to the queue as they were (a paused or stopped run)."""
    with _engine(sessions).begin() as connection:
        for digest in digests:
            connection.execute(
                update(OutboxRow)
                .where(_held(digest))
                .values(
                    state=State.QUEUED.value,
                    lease_expires_at=None,
                    attempts=OutboxRow.attempts - 1,
                )
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
    return None if row is None else _as_digest(row, subscriber)


def subscriber_digests(
    session: Session, *, subscriber: SubscriberRow, limit: int
) -> list[ClaimedDigest]:
    """Digests sent or queued for the subscriber (not cancelled or empty), newest first."""
    rows = session.scalars(
        select(OutboxRow)
        .where(
            OutboxRow.subscriber_id == subscriber.id,
            OutboxRow.state.not_in((State.CANCELLED.value, State.SKIPPED.value)),
        )
        .order_by(OutboxRow.digest_date.desc(), OutboxRow.id.desc())
        .limit(limit)
    )
    return [_as_digest(row, subscriber) for row in rows]


def _as_digest(row: OutboxRow, subscriber: SubscriberRow) -> ClaimedDigest:
    return ClaimedDigest(
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
