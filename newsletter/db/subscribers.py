"""Subscribers as the admin manages them: add or update one, unsubscribe, and (below) list,
export, bulk import and erase.

The row mapping lives in newsletter.db.subscriber_rows, the subscriber's own changes in
newsletter.db.subscriptions and the daily "who is due" queries in newsletter.db.due; the
callers import each from where it lives.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields, replace
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session, selectinload

from newsletter.db.models import InterestProfileRow, SubscriberRow, new_token_key
from newsletter.db.subscriber_rows import find, to_profile, to_schedule, write_profile
from newsletter.db.subscriptions import delete_subscriber, update_preferences
from newsletter.domain import InterestProfile, Schedule, Status


def add_or_update(
    session: Session, *, email: str, profile: InterestProfile, confirmed: bool, now: datetime
) -> tuple[SubscriberRow, bool]:
    """(subscriber, created). An existing address gets the new profile; `confirmed` makes a
    pending one active (the admin vouches for the address), else a new one waits as pending.
    A paused, unsubscribed or bounced subscriber keeps their status (see `reactivate`)."""
    row = find(session, email)
    created = row is None
    if row is None:
        row = SubscriberRow(email=email, status=Status.PENDING, created_at=now)
        row.profile = InterestProfileRow()
        session.add(row)
    if row.profile is None:
        row.profile = InterestProfileRow()
    write_profile(row.profile, profile)
    if confirmed and row.status == Status.PENDING:
        row.status = Status.ACTIVE
        row.confirmed_at = row.active_since = now
    session.flush()
    return row, created


def unsubscribe(session: Session, *, subscriber: SubscriberRow, now: datetime) -> bool:
    """Stop all mail to the subscriber; False when already unsubscribed (idempotent)."""
    if subscriber.status == Status.UNSUBSCRIBED:
        return False
    subscriber.status = Status.UNSUBSCRIBED
    subscriber.unsubscribed_at = now
    return True


# --- Admin (the command line): listing, export, bulk import and erasure. ---

SUPPRESSED = frozenset({Status.UNSUBSCRIBED, Status.BOUNCED})


def reactivate(row: SubscriberRow) -> bool:
    """An unsubscribed or bounced address back to a new pending subscription (the admin said
    so explicitly); False when it was not suppressed. It is confirmed again from scratch, so
    no digest of the days it was suppressed is caught up."""
    if Status(row.status) not in SUPPRESSED:
        return False
    row.status = Status.PENDING
    row.unsubscribed_at = row.suppressed_reason = None
    row.confirmed_at = row.active_since = None
    return True


_Parts = TypeVar("_Parts", InterestProfile, Schedule)


def iter_subscribers(
    session: Session, *, status: Status | None = None, limit: int | None = None, chunk: int = 1000
) -> Iterator[SubscriberRow]:
    """Subscribers with their profiles, by id, read in chunks (an export of 100k rows
    never holds them all); `limit` stops early."""
    last_id, left = 0, limit
    while left is None or left > 0:
        query = (
            select(SubscriberRow)
            .options(selectinload(SubscriberRow.profile))
            .where(SubscriberRow.id > last_id)
            .order_by(SubscriberRow.id)
            .limit(chunk if left is None else min(chunk, left))
        )
        if status is not None:
            query = query.where(SubscriberRow.status == status.value)
        rows = session.scalars(query).all()
        if not rows:
            return
        yield from rows
        last_id = rows[-1].id
        left = None if left is None else left - len(rows)
        session.expunge_all()


def count_subscribers(session: Session, *, status: Status | None = None) -> int:
    query = select(func.count()).select_from(SubscriberRow)
    if status is not None:
        query = query.where(SubscriberRow.status == status.value)
    return session.scalar(query) or 0


@dataclass(frozen=True, slots=True)
class Entry:
    """A subscriber as the admin gives it (one import row, or `subscribers add`), checked.

    `given` names the InterestProfile and Schedule fields the admin stated: an update
    changes only those, so an import file without a seed_papers column keeps the papers a
    subscriber liked from their digests. `status` None: pending, or active when confirmed.
    """

    email: str
    profile: InterestProfile
    schedule: Schedule
    given: frozenset[str]
    status: Status | None = None
    created_at: datetime | None = None
    confirmed_at: datetime | None = None
    unsubscribed_at: datetime | None = None


class Outcome(StrEnum):
    ADDED = "added"
    UPDATED = "updated"
    EXISTS = "exists"  # already there, left alone (no `update`)
    SUPPRESSED = "suppressed"  # unsubscribed or bounced: an import never re-activates it


def import_entries(
    session: Session, entries: Sequence[Entry], *, update: bool, confirmed: bool, now: datetime
) -> list[Outcome]:
    """Write a batch of entries (distinct addresses): one query finds the existing ones,
    new ones go in as two multi-row INSERTs. The caller owns the transaction."""
    existing = {
        row.email: row
        for row in session.scalars(
            select(SubscriberRow)
            .options(selectinload(SubscriberRow.profile))
            .where(SubscriberRow.email.in_([e.email for e in entries]))
        )
    }
    outcomes = [
        _apply(existing[e.email], e, update=update, confirmed=confirmed, now=now)
        if e.email in existing
        else Outcome.ADDED
        for e in entries
    ]
    fresh = [e for e in entries if e.email not in existing]
    _insert_new(session, fresh, confirmed=confirmed, now=now)
    session.flush()
    session.expunge_all()
    return outcomes


def _next_status(current: Status | None, wanted: Status | None, *, confirmed: bool) -> Status:
    if wanted in SUPPRESSED or wanted in (Status.ACTIVE, Status.PAUSED):
        return wanted
    if wanted is Status.PENDING:  # said so explicitly: `confirmed` does not override it
        return current or Status.PENDING
    if confirmed and current in (None, Status.PENDING):
        return Status.ACTIVE
    return current or Status.PENDING


def _apply(
    row: SubscriberRow, entry: Entry, *, update: bool, confirmed: bool, now: datetime
) -> Outcome:
    current = Status(row.status)
    if current in SUPPRESSED:
        return Outcome.EXISTS if entry.status in SUPPRESSED else Outcome.SUPPRESSED
    if not update:
        return Outcome.EXISTS
    update_preferences(
        row,
        profile=_merge(to_profile(row.profile), entry.profile, entry.given),
        schedule=_merge(to_schedule(row), entry.schedule, entry.given),
    )
    status = _next_status(current, entry.status, confirmed=confirmed)
    if status != current:
        row.status = status.value
        if status in (Status.ACTIVE, Status.PAUSED) and current is Status.PENDING:
            row.confirmed_at = entry.confirmed_at or now
        elif status is Status.UNSUBSCRIBED:
            row.unsubscribed_at = entry.unsubscribed_at or now
        elif status is Status.BOUNCED:
            row.suppressed_reason = "marked bounced by an import"
    return Outcome.UPDATED


def _merge(current: _Parts, stated: _Parts, given: frozenset[str]) -> _Parts:
    changes: dict[str, Any] = {f.name: getattr(stated, f.name) for f in fields(stated)}
    return replace(current, **{name: value for name, value in changes.items() if name in given})


def _insert_new(
    session: Session, entries: Sequence[Entry], *, confirmed: bool, now: datetime
) -> None:
    if not entries:
        return
    people = []
    for e in entries:
        status = _next_status(None, e.status, confirmed=confirmed)
        mailed = status in (Status.ACTIVE, Status.PAUSED)
        people.append(
            {
                "email": e.email,
                "status": status.value,
                "created_at": e.created_at or now,
                "confirmed_at": e.confirmed_at or (now if mailed else None),
                "unsubscribed_at": e.unsubscribed_at
                or (now if status is Status.UNSUBSCRIBED else None),
                "suppressed_reason": "imported as bounced" if status is Status.BOUNCED else None,
                "token_key": new_token_key(),
                "timezone": e.schedule.timezone,
                "send_hour": e.schedule.send_hour,
                "frequency": e.schedule.frequency.value,
                "send_weekday": e.schedule.send_weekday,
            }
        )
    inserted = session.execute(
        insert(SubscriberRow).returning(SubscriberRow.email, SubscriberRow.id), people
    )
    ids = dict(inserted.all())  # not dict(inserted): a Result has .keys(), the column names
    session.execute(
        insert(InterestProfileRow),
        [_profile_values(e.profile) | {"subscriber_id": ids[e.email]} for e in entries],
    )


def _profile_values(profile: InterestProfile) -> dict[str, object]:
    # subscriber_rows.write_profile as column values, for a multi-row INSERT (no ORM object
    # per row); keep the two in step.
    return {
        "description": profile.description,
        "keywords": list(profile.keywords),
        "negative_keywords": list(profile.exclude),
        "categories": list(profile.categories),
        "category_mode": profile.category_mode.value,
        "authors": list(profile.authors),
        "seed_papers": list(profile.seed_papers),
        "disliked_papers": list(profile.disliked_papers),
    }


# The admin's name for the one erasure the web's "delete everything" uses too.
erase = delete_subscriber
