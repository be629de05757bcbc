"""Subscribers and their interest profiles: the only place that maps them to rows and back."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from sqlalchemy import ColumnElement, and_, exists, false, or_, select, true
from sqlalchemy.orm import Session, selectinload

from newsletter.db.models import InterestProfileRow, OutboxRow, SubscriberRow
from newsletter.domain import CategoryMode, InterestProfile


class Status(StrEnum):
    PENDING = "pending"  # waiting for the address to be confirmed: never mailed a digest
    ACTIVE = "active"
    PAUSED = "paused"
    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"  # the address does not exist: suppressed


class Frequency(StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"


@dataclass(frozen=True, slots=True)
class DueSubscriber:
    id: int
    email: str
    token_key: str
    frequency: Frequency
    profile: InterestProfile


@dataclass(frozen=True, slots=True)
class Schedule:
    """When the digest goes out: local hour in `timezone` (None: the service's default)."""

    timezone: str | None = None
    send_hour: int = 7
    frequency: Frequency = Frequency.DAILY
    send_weekday: int = 0  # weekly digests: 0 = Monday


def to_schedule(row: SubscriberRow) -> Schedule:
    return Schedule(
        timezone=row.timezone,
        send_hour=row.send_hour,
        frequency=Frequency(row.frequency),
        send_weekday=row.send_weekday,
    )


def to_profile(row: InterestProfileRow | None) -> InterestProfile:
    if row is None:
        return InterestProfile()
    return InterestProfile(
        description=row.description,
        keywords=tuple(row.keywords),
        exclude=tuple(row.negative_keywords),
        categories=tuple(row.categories),
        category_mode=CategoryMode(row.category_mode),
        authors=tuple(row.authors),
        seed_papers=tuple(row.seed_papers),
        disliked_papers=tuple(row.disliked_papers),
    )


def _write_profile(row: InterestProfileRow, profile: InterestProfile) -> None:
    row.description = profile.description
    row.keywords = list(profile.keywords)
    row.negative_keywords = list(profile.exclude)
    row.categories = list(profile.categories)
    row.category_mode = profile.category_mode.value
    row.authors = list(profile.authors)
    row.seed_papers = list(profile.seed_papers)
    row.disliked_papers = list(profile.disliked_papers)


def find(session: Session, email: str) -> SubscriberRow | None:
    return session.scalar(select(SubscriberRow).where(SubscriberRow.email == email))


def get(session: Session, subscriber_id: int) -> SubscriberRow | None:
    return session.get(SubscriberRow, subscriber_id)


def add_or_update(
    session: Session, *, email: str, profile: InterestProfile, confirmed: bool, now: datetime
) -> tuple[SubscriberRow, bool]:
    """(subscriber, created). An existing address gets the new profile; `confirmed` makes
    it active (the admin vouches for the address), else a new one waits as pending."""
    row = find(session, email)
    created = row is None
    if row is None:
        row = SubscriberRow(email=email, status=Status.PENDING.value, created_at=now)
        row.profile = InterestProfileRow()
        session.add(row)
    if row.profile is None:
        row.profile = InterestProfileRow()
    _write_profile(row.profile, profile)
    if confirmed and row.status != Status.ACTIVE.value:
        row.status = Status.ACTIVE.value
        row.confirmed_at = now
        row.unsubscribed_at = None
        row.suppressed_reason = None
    session.flush()
    return row, created


def unsubscribe(session: Session, *, subscriber: SubscriberRow, now: datetime) -> bool:
    """Stop all mail to the subscriber; False when already unsubscribed (idempotent)."""
    if subscriber.status == Status.UNSUBSCRIBED.value:
        return False
    subscriber.status = Status.UNSUBSCRIBED.value
    subscriber.unsubscribed_at = now
    return True


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
                SubscriberRow.confirmed_at <= slot.send_at,
            )
            for slot in slots
        ),
    )


def send_slots(session: Session) -> list[tuple[str | None, int]]:
    """The distinct (time zone, send hour) pairs of active subscribers."""
    rows = session.execute(
        select(SubscriberRow.timezone, SubscriberRow.send_hour)
        .where(SubscriberRow.status == Status.ACTIVE.value)
        .distinct()
    )
    return [(timezone, int(hour)) for timezone, hour in rows]


def due_subscribers(
    session: Session, *, day: date, slots: Sequence[DueSlot] | None = None, chunk: int = 1000
) -> Iterator[DueSubscriber]:
    """Active subscribers whose digest for `day` is not decided yet (weekly ones on their
    weekday; only those in `slots` when given), by id in chunks so 100k subscribers never
    sit in memory at once."""
    last_id = 0
    in_slots = true() if slots is None else _in_slots(slots)
    while True:
        rows = session.scalars(
            select(SubscriberRow)
            .options(selectinload(SubscriberRow.profile))
            .where(
                SubscriberRow.id > last_id,
                SubscriberRow.status == Status.ACTIVE.value,
                or_(
                    SubscriberRow.frequency == Frequency.DAILY.value,
                    SubscriberRow.send_weekday == day.weekday(),
                ),
                in_slots,
                ~exists().where(
                    OutboxRow.subscriber_id == SubscriberRow.id, OutboxRow.digest_date == day
                ),
            )
            .order_by(SubscriberRow.id)
            .limit(chunk)
        ).all()
        if not rows:
            return
        for row in rows:
            yield DueSubscriber(
                id=row.id,
                email=row.email,
                token_key=row.token_key,
                frequency=Frequency(row.frequency),
                profile=to_profile(row.profile),
            )
        last_id = rows[-1].id
        session.expunge_all()


def example_paper_ids(session: Session) -> set[str]:
    """Every paper some active profile names as an example, to load them once."""
    ids: set[str] = set()
    rows = session.execute(
        select(InterestProfileRow.seed_papers, InterestProfileRow.disliked_papers)
        .join(SubscriberRow)
        .where(SubscriberRow.status == Status.ACTIVE.value)
    )
    for seeds, disliked in rows:
        ids.update(seeds or (), disliked or ())
    return ids


def statuses(session: Session, ids: Sequence[int]) -> dict[int, str]:
    rows = session.execute(
        select(SubscriberRow.id, SubscriberRow.status).where(SubscriberRow.id.in_(ids))
    )
    return {int(subscriber_id): str(status) for subscriber_id, status in rows}


# --- Self-service (the web app): every change here is asked for by the subscriber. ---


def request_subscription(
    session: Session, *, email: str, profile: InterestProfile, schedule: Schedule, now: datetime
) -> SubscriberRow:
    """A subscribe form sent for `email`, which nobody has proven to own yet.

    A new address waits as pending; a pending or unsubscribed one takes the new profile and
    waits for confirmation again. An active, paused or bounced subscriber is left exactly
    as it is: an unauthenticated form must never change someone's subscription.
    """
    row = find(session, email)
    if row is None:
        row = SubscriberRow(email=email, status=Status.PENDING.value, created_at=now)
        row.profile = InterestProfileRow()
        session.add(row)
    elif row.status not in (Status.PENDING.value, Status.UNSUBSCRIBED.value):
        return row
    if row.profile is None:
        row.profile = InterestProfileRow()
    row.status = Status.PENDING.value
    _write_profile(row.profile, profile)
    _write_schedule(row, schedule)
    session.flush()
    return row


def claim_confirmation_mail(row: SubscriberRow, *, now: datetime, cooldown: timedelta) -> bool:
    """True (and the time recorded) when a confirmation mail may go out now."""
    last = row.confirmation_sent_at
    if last is not None and last <= now < last + cooldown:
        return False
    row.confirmation_sent_at = now
    return True


def confirm(row: SubscriberRow, *, now: datetime) -> bool:
    """Activate a pending subscriber; False when it was not pending (idempotent)."""
    if row.status != Status.PENDING.value:
        return False
    row.status = Status.ACTIVE.value
    row.confirmed_at = now
    row.unsubscribed_at = None
    return True


def update_preferences(row: SubscriberRow, *, profile: InterestProfile, schedule: Schedule) -> None:
    if row.profile is None:
        row.profile = InterestProfileRow()
    _write_profile(row.profile, profile)
    _write_schedule(row, schedule)


def set_paused(row: SubscriberRow, *, paused: bool) -> bool:
    """Pause an active subscriber or resume a paused one; False when nothing changed."""
    before, after = (Status.ACTIVE, Status.PAUSED) if paused else (Status.PAUSED, Status.ACTIVE)
    if row.status != before.value:
        return False
    row.status = after.value
    return True


def record_feedback(row: SubscriberRow, *, paper_id: str, more: bool) -> None:
    """A paper becomes a positive (`more`) or negative example, and leaves the other list."""
    if row.profile is None:
        row.profile = InterestProfileRow()
    profile = row.profile
    seeds = [p for p in profile.seed_papers or [] if p != paper_id]
    disliked = [p for p in profile.disliked_papers or [] if p != paper_id]
    (seeds if more else disliked).append(paper_id)
    # New lists, not in-place edits: JSON columns only notice assignment.
    profile.seed_papers, profile.disliked_papers = seeds, disliked


def delete_subscriber(session: Session, row: SubscriberRow) -> None:
    """Everything about the subscriber: the profile goes with the row (ORM cascade), the
    outbox and received papers with it in the database (ON DELETE CASCADE)."""
    session.delete(row)
    session.flush()


def _write_schedule(row: SubscriberRow, schedule: Schedule) -> None:
    row.timezone = schedule.timezone
    row.send_hour = schedule.send_hour
    row.frequency = schedule.frequency.value
    row.send_weekday = schedule.send_weekday
