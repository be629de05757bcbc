"""Subscribers and their interest profiles mapped to rows and back: the Status, Schedule
and InterestProfile a row stores, and finding a subscriber's row. newsletter.db.subscribers
re-exports these names, the way most callers import them."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.db.models import InterestProfileRow, SubscriberRow
from newsletter.domain import CategoryMode, Frequency, InterestProfile, Schedule


def to_schedule(row: SubscriberRow) -> Schedule:
    return Schedule(
        timezone=row.timezone,
        send_hour=row.send_hour,
        frequency=Frequency(row.frequency),
        send_weekday=row.send_weekday,
    )


class ProfileColumns(Protocol):
    """An interest profile's columns: a row object, or a row of a select that names them."""

    description: str
    keywords: list[str]
    negative_keywords: list[str]
    categories: list[str]
    category_mode: str
    authors: list[str]
    seed_papers: list[str]
    disliked_papers: list[str]


PROFILE_COLUMNS = (
    InterestProfileRow.description,
    InterestProfileRow.keywords,
    InterestProfileRow.negative_keywords,
    InterestProfileRow.categories,
    InterestProfileRow.category_mode,
    InterestProfileRow.authors,
    InterestProfileRow.seed_papers,
    InterestProfileRow.disliked_papers,
)


def to_profile(row: ProfileColumns | None) -> InterestProfile:
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


def write_profile(row: InterestProfileRow, profile: InterestProfile) -> None:
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


def write_schedule(row: SubscriberRow, schedule: Schedule) -> None:
    row.timezone = schedule.timezone
    row.send_hour = schedule.send_hour
    row.frequency = schedule.frequency.value
    row.send_weekday = schedule.send_weekday
