"""Who is due a digest: the send slots (time zone, hour) in use, the active subscribers
whose digest for a day is not decided yet, with every topic of theirs, and the example
papers their profiles name.

One `DueSubscriber` per reader, its topics in the reader's order: a chunk's subscribers are
one query and their topics a second (not one per reader, and not a join that would repeat
each reader's columns once per topic)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import ColumnElement, and_, exists, false, func, or_, select, true
from sqlalchemy.orm import Session

from newsletter.db.models import InterestProfileRow, OutboxRow, SubscriberRow
from newsletter.db.subscriber_rows import PROFILE_COLUMNS, to_profile
from newsletter.domain import Frequency, InterestProfile, Status, TopicTag


@dataclass(frozen=True, slots=True)
class DueTopic:
    tag: TopicTag
    profile: InterestProfile


@dataclass(frozen=True, slots=True)
class DueSubscriber:
    id: int
    email: str
    token_key: str
    frequency: Frequency
    # In the reader's order; empty for a reader without any (matched as an empty profile).
    topics: tuple[DueTopic, ...] = field(default=())

    @property
    def profile(self) -> InterestProfile:
        """The first topic's profile (an empty one when the reader has no topic)."""
        return self.topics[0].profile if self.topics else InterestProfile()


@dataclass(frozen=True, slots=True)
class DueSlot:
    """Subscribers with this time zone (None: the service's default) and send hour, whose
    send time on the day is `send_at`; only those confirmed by then are due."""

    timezone: str | None
    send_hour: int
    send_at: datetime


def _in_slots(slots: Sequence[DueSlot]) -> ColumnElement[bool]:
    return or_(
        false(),
        *(
            and_(
                SubscriberRow.timezone.is_(None)
                if slot.timezone is None
                else SubscriberRow.timezone == slot.timezone,
                SubscriberRow.send_hour == slot.send_hour,
                func.coalesce(SubscriberRow.active_since, SubscriberRow.confirmed_at)
                <= slot.send_at,
            )
            for slot in slots
        ),
    )


def send_slots(session: Session) -> list[tuple[str | None, int]]:
    """The distinct (time zone, send hour) pairs of active subscribers."""
    rows = session.execute(
        select(SubscriberRow.timezone, SubscriberRow.send_hour)
        .where(SubscriberRow.status == Status.ACTIVE)
        .distinct()
    )
    return [(timezone, int(hour)) for timezone, hour in rows]


def due_subscribers(
    session: Session,
    *,
    day: date,
    slots: Sequence[DueSlot] | None = None,
    chunk: int = 1000,
    part: tuple[int, int] | None = None,
) -> Iterator[DueSubscriber]:
    """Active subscribers whose digest for `day` is not decided yet (weekly ones on their
    weekday; only those in `slots` when given; only part k of n, by id, when `part` is
    (k, n)), by id in chunks so 100k subscribers never sit in memory at once. Read as
    columns: queueing reads every subscriber once a day."""
    last_id = 0
    in_slots = true() if slots is None else _in_slots(slots)
    in_part = true() if part is None else (SubscriberRow.id % part[1] == part[0])
    while True:
        rows = session.execute(
            select(
                SubscriberRow.id,
                SubscriberRow.email,
                SubscriberRow.token_key,
                SubscriberRow.frequency,
            )
            .where(
                SubscriberRow.id > last_id,
                SubscriberRow.status == Status.ACTIVE,
                or_(
                    SubscriberRow.frequency == Frequency.DAILY.value,
                    SubscriberRow.send_weekday == day.weekday(),
                ),
                in_slots,
                in_part,
                ~exists().where(
                    OutboxRow.subscriber_id == SubscriberRow.id, OutboxRow.digest_date == day
                ),
            )
            .order_by(SubscriberRow.id)
            .limit(chunk)
        ).all()
        if not rows:
            return
        topics = topics_of_many(session, [row.id for row in rows])
        for row in rows:
            yield DueSubscriber(
                id=row.id,
                email=row.email,
                token_key=row.token_key,
                frequency=Frequency(row.frequency),
                topics=tuple(topics.get(row.id, ())),
            )
        last_id = rows[-1].id


def topics_of_many(session: Session, subscriber_ids: Sequence[int]) -> dict[int, list[DueTopic]]:
    """Each subscriber's topics in their order, for a chunk of subscribers in one query."""
    found: dict[int, list[DueTopic]] = {}
    rows = session.execute(
        select(
            InterestProfileRow.id,
            InterestProfileRow.subscriber_id,
            InterestProfileRow.name,
            *PROFILE_COLUMNS,
        )
        .where(InterestProfileRow.subscriber_id.in_(list(subscriber_ids)))
        .order_by(
            InterestProfileRow.subscriber_id, InterestProfileRow.position, InterestProfileRow.id
        )
    )
    for row in rows:
        topic = DueTopic(TopicTag(row.id, row.name), to_profile(row))
        found.setdefault(row.subscriber_id, []).append(topic)
    return found


def example_paper_ids(session: Session) -> set[str]:
    """Every paper some active profile names as an example, to load them once."""
    ids: set[str] = set()
    rows = session.execute(
        select(InterestProfileRow.seed_papers, InterestProfileRow.disliked_papers)
        .join(SubscriberRow)
        .where(SubscriberRow.status == Status.ACTIVE)
    )
    for seeds, disliked in rows:
        ids.update(seeds or (), disliked or ())
    return ids
