"""The sender's side of the outbox: claiming due rows under a lease, recording each
outcome, and giving rows back when a run stops or its worker died.

Each outcome is written only while the claim still holds the row (newsletter.db.outbox has
the states and why a row is claimed in its own transaction), so a worker whose lease was
taken over cannot undo another worker's claim.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Table, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from newsletter.db.models import OutboxRow, SentPaperRow, SubscriberRow
from newsletter.db.outbox import ClaimedDigest, State
from newsletter.domain import Status


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
        rows = session.execute(
            select(OutboxRow, SubscriberRow)
            .join(SubscriberRow, SubscriberRow.id == OutboxRow.subscriber_id)
            .where(OutboxRow.id.in_(ids))
            .order_by(OutboxRow.next_attempt_at, OutboxRow.id)
        ).all()
        return [ClaimedDigest.of(row, subscriber) for row, subscriber in rows]


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


def renew(
    sessions: sessionmaker[Session], digest: ClaimedDigest, *, now: datetime, lease: timedelta
) -> Status | None:
    """Just before a message goes out: extend this claim's lease and read the subscriber's
    status now. None when the claim was lost (its lease ran out and another sender took
    the row: it must not be sent from here); otherwise the current status."""
    with _engine(sessions).begin() as connection:
        held = connection.execute(
            update(OutboxRow).where(_held(digest)).values(lease_expires_at=now + lease)
        ).rowcount
        if not held:
            return None
        status = connection.scalar(
            select(SubscriberRow.status).where(SubscriberRow.id == digest.subscriber_id)
        )
        # A deleted subscriber is mailed no more than one who left.
        return Status(status) if status is not None else Status.UNSUBSCRIBED


def record_sent(
    sessions: sessionmaker[Session], digest: ClaimedDigest, *, reply: str, now: datetime
) -> None:
    """The mail was accepted: the row is sent and its papers count as received."""
    with _engine(sessions).begin() as connection:
        held = _finish(
            connection,
            digest,
            state=State.SENT,
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
            state=State.DEFERRED,
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
                .values(status=Status.BOUNCED, suppressed_reason=reply[:500], suppressed_at=now)
            )


def release(sessions: sessionmaker[Session], digests: Sequence[ClaimedDigest]) -> None:
    """Return claimed but unsent rows to the queue as they were (a paused or stopped run)."""
    with _engine(sessions).begin() as connection:
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
