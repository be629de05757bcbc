"""The sender's side of the outbox: claiming due rows under a lease, recording one
outcome (newsletter.db.outcomes writes them in groups), and giving rows back when a run
stops or its worker died.

Each outcome is written only while the claim still holds the row (newsletter.db.outbox has
the states and why a row is claimed in its own transaction), so a worker whose lease was
taken over cannot undo another worker's claim.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from newsletter.db import outcomes
from newsletter.db.models import OutboxRow, SubscriberRow
from newsletter.db.outbox import ClaimedDigest, State


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
            OutboxRow.state.in_((State.QUEUED, State.DEFERRED)),
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
                    state=State.SENDING,
                    lease_expires_at=now + lease,
                    attempts=OutboxRow.attempts + 1,
                    updated_at=now,
                )
                .returning(OutboxRow.id)
            )
        )
        if not ids:
            return []
        # Columns, not ORM objects: a batch is read on the hot path.
        rows = session.execute(
            select(
                OutboxRow.id, OutboxRow.subscriber_id, SubscriberRow.email,
                SubscriberRow.token_key, SubscriberRow.status, OutboxRow.digest_date,
                OutboxRow.message_id, OutboxRow.content, OutboxRow.attempts, OutboxRow.created_at,
            )
            .join(SubscriberRow, SubscriberRow.id == OutboxRow.subscriber_id)
            .where(OutboxRow.id.in_(ids))
            .order_by(OutboxRow.next_attempt_at, OutboxRow.id)
        ).all()  # fmt: skip
        return [ClaimedDigest(*row) for row in rows]


def reclaim_expired(
    sessions: sessionmaker[Session], *, now: datetime, everything: bool = False
) -> int:
    """Put rows whose worker died mid-send back in the queue (the mail may have gone out:
    it is retried with the same Message-ID). `everything` reclaims unexpired leases too,
    for the single-worker SQLite mode where no other sender can hold them."""
    condition = OutboxRow.state == State.SENDING
    if not everything:
        condition = condition & (OutboxRow.lease_expires_at < now)
    with sessions.begin() as session:
        result = session.execute(
            update(OutboxRow)
            .where(condition)
            .values(
                state=State.DEFERRED,
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
        & (OutboxRow.state == State.SENDING)
        & (OutboxRow.attempts == digest.attempts)
    )


def record_sent(
    sessions: sessionmaker[Session], digest: ClaimedDigest, *, reply: str, now: datetime
) -> None:
    """The mail was accepted: the row is sent and its papers count as received."""
    outcomes.record(sessions, [outcomes.Outcome(digest, State.SENT, reply, now)])


def record_retry(
    sessions: sessionmaker[Session],
    digest: ClaimedDigest,
    *,
    reply: str,
    now: datetime,
    next_attempt_at: datetime,
) -> None:
    outcomes.record(
        sessions, [outcomes.Outcome(digest, State.DEFERRED, reply, now, retry_at=next_attempt_at)]
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
    outcomes.record(sessions, [outcomes.Outcome(digest, state, reply, now, suppress=suppress)])


def release(sessions: sessionmaker[Session], digests: Sequence[ClaimedDigest]) -> None:
    """Return claimed but unsent rows to the queue as they were (a paused or stopped run)."""
    with outcomes.engine_of(sessions).begin() as connection:
        for digest in digests:
            connection.execute(
                update(OutboxRow)
                .where(_held(digest))
                .values(
                    state=State.QUEUED,
                    lease_expires_at=None,
                    attempts=OutboxRow.attempts - 1,
                )
            )
