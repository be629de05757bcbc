"""What `newsletter status` shows, read from the database in a few aggregate queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from newsletter.db.models import OutboxRow, PaperRow, SubscriberRow
from newsletter.db.outbox import State, counts_by_state
from newsletter.domain import Status


@dataclass(frozen=True, slots=True)
class DayStatus:
    day: date
    papers: int  # papers first seen that day (UTC)
    last_fetched: datetime | None  # when the newest of them arrived
    digests: int  # outbox rows for that digest day (any state)
    last_queued: datetime | None


@dataclass(frozen=True, slots=True)
class Failure:
    at: datetime
    email: str
    state: str
    reply: str


@dataclass(frozen=True, slots=True)
class ServiceStatus:
    days: list[DayStatus]
    outbox: dict[str, int]
    oldest_waiting: datetime | None
    suppressed: int
    unsubscribed: int
    failures: list[Failure]


def service_status(session: Session, *, since: date) -> ServiceStatus:
    first_seen_day = func.date(PaperRow.first_seen_at)
    fetched: dict[date, tuple[int, datetime | None]] = {}
    for day, count, last in session.execute(
        select(first_seen_day, func.count(), func.max(PaperRow.first_seen_at)).group_by(
            first_seen_day
        )
    ):
        if _as_date(day) >= since:
            fetched[_as_date(day)] = (int(count), last)
    queued: dict[date, tuple[int, datetime | None]] = {
        day: (int(count), last)
        for day, count, last in session.execute(
            select(OutboxRow.digest_date, func.count(), func.max(OutboxRow.created_at))
            .where(OutboxRow.digest_date >= since)
            .group_by(OutboxRow.digest_date)
        )
    }
    none: tuple[int, datetime | None] = (0, None)
    return ServiceStatus(
        days=[
            DayStatus(
                day=day,
                papers=fetched.get(day, none)[0],
                last_fetched=fetched.get(day, none)[1],
                digests=queued.get(day, none)[0],
                last_queued=queued.get(day, none)[1],
            )
            for day in sorted(set(fetched) | set(queued), reverse=True)
        ],
        outbox=counts_by_state(session),
        oldest_waiting=session.scalar(
            select(func.min(OutboxRow.created_at)).where(
                OutboxRow.state.in_((State.QUEUED, State.DEFERRED))
            )
        ),
        suppressed=_count(session, Status.BOUNCED),
        unsubscribed=_count(session, Status.UNSUBSCRIBED),
        failures=[
            Failure(at=row.updated_at, email=email, state=row.state, reply=row.last_reply or "")
            for row, email in session.execute(
                select(OutboxRow, SubscriberRow.email)
                .join(SubscriberRow, SubscriberRow.id == OutboxRow.subscriber_id)
                .where(OutboxRow.state.in_((State.FAILED, State.BOUNCED, State.DEFERRED)))
                .order_by(OutboxRow.updated_at.desc())
                .limit(10)
            )
        ],
    )


def _count(session: Session, status: Status) -> int:
    query = select(func.count()).select_from(SubscriberRow).where(SubscriberRow.status == status)
    return int(session.scalar(query) or 0)


def _as_date(value: object) -> date:
    # SQLite's date() returns text, PostgreSQL's a date.
    return value if isinstance(value, date) else date.fromisoformat(str(value))
