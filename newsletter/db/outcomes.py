"""What happened to claimed mail, written for many messages in one transaction.

A committed transaction per message cost more than composing it. The sender hands over
outcomes in small groups instead (newsletter.delivery.sender bounds them by count and time,
which bounds what a crash can send twice); each row's outcome is still written only where
its claim holds it (`sending`, the claim's attempt number), so a sender whose lease was
taken over cannot overwrite the new claim. Leases are renewed for a whole batch at once, and
the subscriber's status is read without a write before each message.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, Table, bindparam, func, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from newsletter.db.models import OutboxRow, SentPaperRow, SubscriberRow
from newsletter.db.outbox import ClaimedDigest, State
from newsletter.domain import Status

_TIME = OutboxRow.__table__.c.updated_at.type
# Parameter names differ from the columns': SQLAlchemy reserves those for SET clauses.
_OUTCOME = (
    update(OutboxRow)
    .where(
        OutboxRow.id == bindparam("row"),
        OutboxRow.state == State.SENDING,
        OutboxRow.attempts == bindparam("claim"),
    )
    .values(
        state=bindparam("outcome"),
        lease_expires_at=None,
        updated_at=bindparam("at", type_=_TIME),
        last_reply=bindparam("reply"),
        sent_at=func.coalesce(bindparam("delivered", type_=_TIME), OutboxRow.sent_at),
        next_attempt_at=func.coalesce(bindparam("retry", type_=_TIME), OutboxRow.next_attempt_at),
    )
)
_SUPPRESS = (
    update(SubscriberRow)
    .where(SubscriberRow.id == bindparam("subscriber"))
    .values(
        status=Status.BOUNCED,
        suppressed_reason=bindparam("why"),
        suppressed_at=bindparam("at", type_=_TIME),
    )
)


@dataclass(frozen=True, slots=True)
class Outcome:
    digest: ClaimedDigest
    state: State  # sent, deferred, failed, bounced or cancelled
    reply: str
    at: datetime
    retry_at: datetime | None = None  # deferred: when to try again
    suppress: bool = False  # bounced: no more mail to this address


def engine_of(sessions: sessionmaker[Session]) -> Engine:
    # Outcomes are written on the hot path: Core on a connection costs a fraction of an ORM
    # session's bookkeeping.
    engine = sessions.kw["bind"]
    assert isinstance(engine, Engine)
    return engine


def record(sessions: sessionmaker[Session], outcomes: Sequence[Outcome]) -> set[int]:
    """Write `outcomes` in one transaction; the outbox ids whose claim still held them.
    A sent mail's papers count as received; a bounce suppresses its address."""
    if not outcomes:
        return set()
    with engine_of(sessions).begin() as connection:
        connection.execute(_OUTCOME, [_parameters(outcome) for outcome in outcomes])
        held = _written(connection, outcomes)
        sent = [o for o in outcomes if o.state is State.SENT and o.digest.outbox_id in held]
        _received(connection, sent)
        bounced = [o for o in outcomes if o.suppress and o.digest.outbox_id in held]
        if bounced:
            connection.execute(
                _SUPPRESS,
                [
                    {"subscriber": o.digest.subscriber_id, "why": o.reply[:500], "at": o.at}
                    for o in bounced
                ],
            )
    return held


def _parameters(outcome: Outcome) -> dict[str, object]:
    return {
        "row": outcome.digest.outbox_id,
        "claim": outcome.digest.attempts,
        "outcome": outcome.state.value,
        "at": outcome.at,
        "reply": outcome.reply,
        "delivered": outcome.at if outcome.state is State.SENT else None,
        "retry": outcome.retry_at,
    }


def _written(connection: Connection, outcomes: Sequence[Outcome]) -> set[int]:
    """The rows now in the state this group wrote, at the claim's attempt: this claim's.
    (Another claim would count another attempt; reclaiming only ever defers.)"""
    expected = {o.digest.outbox_id: (o.state.value, o.digest.attempts) for o in outcomes}
    rows = connection.execute(
        select(OutboxRow.id, OutboxRow.state, OutboxRow.attempts).where(
            OutboxRow.id.in_(list(expected))
        )
    )
    return {row_id for row_id, state, attempts in rows if expected[row_id] == (state, attempts)}


def _received(connection: Connection, sent: Sequence[Outcome]) -> None:
    rows = [
        {
            "subscriber_id": o.digest.subscriber_id,
            "paper_id": paper_id,
            "outbox_id": o.digest.outbox_id,
            "sent_at": o.at,
        }
        for o in sent
        for paper_id in o.digest.paper_ids
    ]
    if not rows:
        return
    table = SentPaperRow.__table__
    assert isinstance(table, Table)
    builder = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    connection.execute(builder(table).on_conflict_do_nothing(), rows)


def renew(
    sessions: sessionmaker[Session],
    digests: Sequence[ClaimedDigest],
    *,
    now: datetime,
    lease: timedelta,
) -> set[int]:
    """Extend the lease of every row these claims still hold, in one statement; their ids.
    A row missing from the answer was taken over (its lease ran out): it must not be sent."""
    if not digests:
        return set()
    claims = [(d.outbox_id, d.attempts) for d in digests]
    with engine_of(sessions).begin() as connection:
        held = connection.scalars(
            update(OutboxRow)
            .where(
                OutboxRow.state == State.SENDING,
                tuple_(OutboxRow.id, OutboxRow.attempts).in_(claims),
            )
            .values(lease_expires_at=now + lease)
            .returning(OutboxRow.id)
        )
        return set(held)


class StatusReader:
    """A subscriber's status right before their mail: one query per message, so on a DBAPI
    connection of its own in autocommit mode (each read sees the latest commit, and takes
    no write lock), without SQLAlchemy's per-statement work. The connection is closed, not
    returned to the pool, as its mode differs."""

    def __init__(self, engine: Engine) -> None:
        self._connection = engine.raw_connection()
        driver = self._connection.driver_connection
        if engine.dialect.name == "sqlite":
            driver.isolation_level = None  # type: ignore[union-attr]
        else:
            driver.autocommit = True  # type: ignore[union-attr]
        mark = "?" if engine.dialect.paramstyle == "qmark" else "%s"
        self._query = f"SELECT status FROM subscribers WHERE id = {mark}"  # noqa: S608 (no input)
        self._cursor = self._connection.cursor()

    def __enter__(self) -> StatusReader:
        return self

    def __exit__(self, *_: object) -> None:
        self._cursor.close()
        self._connection.detach()
        self._connection.close()

    def status(self, subscriber_id: int) -> Status:
        """A deleted subscriber is mailed no more than one who left."""
        self._cursor.execute(self._query, (subscriber_id,))
        row = self._cursor.fetchone()
        return Status(row[0]) if row is not None else Status.UNSUBSCRIBED
