"""A reader's topics: several named interest profiles, each a full profile with its own
examples (library, votes) and model.

Storage, and why: a topic is an `interest_profiles` row with a `name` and a `position`
(migration 0010), not a new table. Every existing profile thereby became its reader's first
topic without copying a row, and everything that reads "the" profile (the subscribe form,
CSV import and export, queueing until digests get one section per topic) keeps reading the
first topic through `SubscriberRow.profile`, the row at position 0. Library entries, votes
and the model hang off the topic's id (newsletter.db.examples).

The rules:
- A reader has 1 to `MAX_TOPICS` topics: the last one cannot be deleted (a subscription
  without interests would match nothing).
- Names are 1 to `MAX_NAME` characters of printable text, unique per reader regardless of
  case ("Robotics" and "robotics" would be indistinguishable in a digest).
- Positions are 0, 1, 2…, with no gaps: every change renumbers, so position 0 is always the
  first topic. Changes to one reader's topics take a lock on the subscriber row (PostgreSQL;
  SQLite serialises writers anyway), so two requests at once cannot pass the limit or
  leave two topics at one position.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.db.models import DEFAULT_TOPIC_NAME, InterestProfileRow, SubscriberRow
from newsletter.db.subscriber_rows import write_profile
from newsletter.domain import InterestProfile

MAX_TOPICS = 10
MAX_NAME = 80


class TopicError(ValueError):
    """A change the rules refuse; the message says why, in words a reader can act on."""


def clean_name(name: str) -> str:
    """The name as stored: spaces collapsed; TopicError when empty, too long or holding
    control characters."""
    cleaned = " ".join(name.split())
    if not cleaned:
        raise TopicError("a topic needs a name")
    if len(cleaned) > MAX_NAME:
        raise TopicError(f"a topic's name has at most {MAX_NAME} characters, not {len(cleaned)}")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn") for ch in cleaned):
        raise TopicError("a topic's name may hold only printable characters")
    return cleaned


def topics_of(session: Session, subscriber_id: int) -> list[InterestProfileRow]:
    """The reader's topics in their order."""
    return list(
        session.scalars(
            select(InterestProfileRow)
            .where(InterestProfileRow.subscriber_id == subscriber_id)
            .order_by(InterestProfileRow.position, InterestProfileRow.id)
        )
    )


def topic_of(session: Session, subscriber_id: int, topic_id: int) -> InterestProfileRow | None:
    """The topic, only when it belongs to the reader (a link names its own topics only)."""
    row = session.get(InterestProfileRow, topic_id)
    return row if row is not None and row.subscriber_id == subscriber_id else None


def first_topic(session: Session, subscriber: SubscriberRow) -> InterestProfileRow:
    """The reader's first topic, made (empty, "My interests") when they have none."""
    topics = topics_of(session, subscriber.id)
    if topics:
        return topics[0]
    row = InterestProfileRow(subscriber_id=subscriber.id, name=DEFAULT_TOPIC_NAME, position=0)
    session.add(row)
    session.flush()
    return row


def find_topic(session: Session, subscriber_id: int, name: str) -> InterestProfileRow | None:
    """The reader's topic of that name, regardless of case and spacing."""
    wanted = " ".join(name.split()).casefold()
    for row in topics_of(session, subscriber_id):
        if row.name.casefold() == wanted:
            return row
    return None


def add_topic(
    session: Session, subscriber: SubscriberRow, *, name: str, profile: InterestProfile
) -> InterestProfileRow:
    """A new topic after the others; TopicError past the limit or for a name in use."""
    _lock(session, subscriber.id)
    cleaned = clean_name(name)
    topics = topics_of(session, subscriber.id)
    if len(topics) >= MAX_TOPICS:
        raise TopicError(f"at most {MAX_TOPICS} topics: delete one to add another")
    _refuse_taken(topics, cleaned, keep=None)
    row = InterestProfileRow(subscriber_id=subscriber.id, name=cleaned, position=len(topics))
    write_profile(row, profile)
    session.add(row)
    session.flush()
    return row


def rename_topic(session: Session, topic: InterestProfileRow, name: str) -> None:
    _lock(session, topic.subscriber_id)
    cleaned = clean_name(name)
    _refuse_taken(topics_of(session, topic.subscriber_id), cleaned, keep=topic.id)
    topic.name = cleaned
    session.flush()


def delete_topic(session: Session, topic: InterestProfileRow) -> None:
    """Delete the topic with its library, votes and model (ON DELETE CASCADE); the others
    close ranks. TopicError for the reader's only topic."""
    _lock(session, topic.subscriber_id)
    topics = topics_of(session, topic.subscriber_id)
    if len(topics) <= 1:
        raise TopicError("this is your only topic: change it instead, or unsubscribe")
    session.delete(topic)
    session.flush()
    _renumber(session, [t for t in topics if t.id != topic.id])


def move_topic(session: Session, topic: InterestProfileRow, position: int) -> None:
    """Put the topic at `position` (clamped to the list); the others keep their order."""
    _lock(session, topic.subscriber_id)
    others = [t for t in topics_of(session, topic.subscriber_id) if t.id != topic.id]
    at = min(max(position, 0), len(others))
    _renumber(session, [*others[:at], topic, *others[at:]])


def reorder_topics(session: Session, subscriber_id: int, order: Sequence[int]) -> None:
    """The topics in the order of `order` (topic ids): TopicError unless it names each of
    the reader's topics exactly once."""
    _lock(session, subscriber_id)
    topics = {t.id: t for t in topics_of(session, subscriber_id)}
    if sorted(order) != sorted(topics) or len(set(order)) != len(order):
        raise TopicError("list each of your topics exactly once")
    _renumber(session, [topics[i] for i in order])


def _renumber(session: Session, ordered: Sequence[InterestProfileRow]) -> None:
    for index, row in enumerate(ordered):
        row.position = index
    session.flush()
    if ordered:  # SubscriberRow.profile (position 0) may now be another row
        subscriber = session.get(SubscriberRow, ordered[0].subscriber_id)
        if subscriber is not None:
            session.expire(subscriber, ["profile", "topics"])


def _refuse_taken(topics: Sequence[InterestProfileRow], name: str, *, keep: int | None) -> None:
    for row in topics:
        if row.id != keep and row.name.casefold() == name.casefold():
            raise TopicError(f"you already have a topic named {row.name!r}")


def _lock(session: Session, subscriber_id: int) -> None:
    session.execute(
        select(SubscriberRow.id).where(SubscriberRow.id == subscriber_id).with_for_update()
    )
