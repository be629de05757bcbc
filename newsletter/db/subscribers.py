"""Subscribers and their interest profiles: the only place that maps them to rows and back."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import exists, or_, select
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


def due_subscribers(session: Session, *, day: date, chunk: int = 1000) -> Iterator[DueSubscriber]:
    """Active subscribers whose digest for `day` is not decided yet (weekly ones on their
    weekday), by id in chunks so 100k subscribers never sit in memory at once."""
    last_id = 0
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
