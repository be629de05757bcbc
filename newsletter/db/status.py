"""What `newsletter status` shows, read from the database in a few aggregate queries.

Every row of the day table is one *digest day*, the day `digest --date` and `papers list
--date` name: the papers announced or featured that day (what its digest draws from, so
replacements of old papers are not counted), and the digests for that day by state. (It once
mixed the day papers were first fetched with the digest day, so a day whose digest had been
sent could read "digests queued 0".) Fetches are listed apart: the last run of each source,
and the failed runs with their error.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from sqlalchemy import func, select, union_all
from sqlalchemy.orm import Session

from newsletter.db.fetch_runs import FetchRun, failed_since, latest_per_source
from newsletter.db.models import OutboxRow, PaperRow, SubscriberRow
from newsletter.db.outbox import State, counts_by_state
from newsletter.domain import AnnounceType, Status

WAITING = (State.QUEUED, State.DEFERRED, State.SENDING)
_REPLACED = (AnnounceType.REPLACE.value, AnnounceType.REPLACE_CROSS.value)


@dataclass(frozen=True, slots=True)
class DayStatus:
    day: date
    papers: int  # announced or featured that day (the day's digest candidates)
    last_fetched: datetime | None  # when the newest of them first arrived
    digests: int  # mails for that day in any state (days where nothing matched excluded)
    sent: int
    waiting: int  # queued, deferred or being sent
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
    last_fetches: list[FetchRun]  # the last run of each source
    failed_fetches: list[FetchRun]  # since the first day shown, newest first


def service_status(session: Session, *, since: date) -> ServiceStatus:
    papers = _papers_by_day(session, since)
    digests = _digests_by_day(session, since)
    days = []
    for day in sorted(set(papers) | set(digests), reverse=True):
        count, last_fetched = papers.get(day, (0, None))
        total, sent, waiting, last_queued = digests.get(day, (0, 0, 0, None))
        days.append(DayStatus(day, count, last_fetched, total, sent, waiting, last_queued))
    return ServiceStatus(
        days=days,
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
        last_fetches=latest_per_source(session),
        failed_fetches=failed_since(session, datetime.combine(since, time.min, tzinfo=UTC)),
    )


def _papers_by_day(session: Session, since: date) -> dict[date, tuple[int, datetime | None]]:
    announced = select(
        PaperRow.announced_on.label("day"), PaperRow.id, PaperRow.first_seen_at
    ).where(
        PaperRow.announced_on >= since,
        PaperRow.announce_type.is_(None) | PaperRow.announce_type.not_in(_REPLACED),
    )
    featured = select(
        PaperRow.hf_daily_date.label("day"), PaperRow.id, PaperRow.first_seen_at
    ).where(PaperRow.hf_daily_date >= since)
    both = union_all(announced, featured).subquery()
    rows = session.execute(
        select(both.c.day, func.count(both.c.id.distinct()), func.max(both.c.first_seen_at))
        .group_by(both.c.day)
    )  # fmt: skip
    return {_as_date(day): (int(count), _aware(last)) for day, count, last in rows}


def _digests_by_day(
    session: Session, since: date
) -> dict[date, tuple[int, int, int, datetime | None]]:
    rows = session.execute(
        select(
            OutboxRow.digest_date,
            func.count().filter(OutboxRow.state != State.SKIPPED),
            func.count().filter(OutboxRow.state == State.SENT),
            func.count().filter(OutboxRow.state.in_(WAITING)),
            func.max(OutboxRow.created_at),
        )
        .where(OutboxRow.digest_date >= since)
        .group_by(OutboxRow.digest_date)
    )
    return {
        day: (int(total), int(sent), int(waiting), last) for day, total, sent, waiting, last in rows
    }


def _count(session: Session, status: Status) -> int:
    query = select(func.count()).select_from(SubscriberRow).where(SubscriberRow.status == status)
    return int(session.scalar(query) or 0)


def _as_date(value: object) -> date:
    # A day read through a UNION comes back as text on SQLite, as a date on PostgreSQL.
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _aware(value: object) -> datetime | None:
    # Through a UNION the column type (and its UTC conversion) is lost on SQLite.
    if value is None:
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
