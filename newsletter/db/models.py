"""SQLAlchemy 2 models. Every change here comes with an Alembic migration (tests check)."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every engine (SQLite would hand back naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass an aware one")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_token_key() -> str:
    return secrets.token_hex(8)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime, list[str]: JSON}


PAPER_ID_LENGTH = 255  # normalize.MAX_PAPER_ID: DOIs and URLs from files can be long


class PaperRow(Base):
    __tablename__ = "papers"

    id: Mapped[str] = mapped_column(String(PAPER_ID_LENGTH), primary_key=True)
    version: Mapped[int | None] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)
    abstract: Mapped[str] = mapped_column(Text)
    authors: Mapped[list[str]] = mapped_column(JSON, default=list)
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    primary_category: Mapped[str | None] = mapped_column(String(32))
    announce_type: Mapped[str | None] = mapped_column(String(16))
    published_at: Mapped[datetime | None]
    updated_at: Mapped[datetime | None]
    announced_on: Mapped[date | None] = mapped_column(Date, index=True)
    abs_url: Mapped[str | None] = mapped_column(String(512))
    pdf_url: Mapped[str | None] = mapped_column(String(512))
    comment: Mapped[str | None] = mapped_column(Text)
    doi: Mapped[str | None] = mapped_column(String(256))
    journal_ref: Mapped[str | None] = mapped_column(Text)
    sources: Mapped[list[str]] = mapped_column(JSON, default=list)
    hf_upvotes: Mapped[int | None] = mapped_column(Integer)
    hf_ai_summary: Mapped[str | None] = mapped_column(Text)
    hf_ai_keywords: Mapped[list[str] | None] = mapped_column(JSON)
    hf_github_repo: Mapped[str | None] = mapped_column(String(512))
    hf_github_stars: Mapped[int | None] = mapped_column(Integer)
    hf_project_page: Mapped[str | None] = mapped_column(String(512))
    hf_daily_date: Mapped[date | None] = mapped_column(Date, index=True)
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_changed_at: Mapped[datetime] = mapped_column(default=utcnow)


class SubscriberRow(Base):
    __tablename__ = "subscribers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Stored lower-cased by the code that adds subscribers, so uniqueness is case-blind.
    email: Mapped[str] = mapped_column(String(320), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    confirmed_at: Mapped[datetime | None]
    # When mail last became due to start (confirmation or resume): digests of days whose
    # send time came before it are not caught up. None: since `confirmed_at`.
    active_since: Mapped[datetime | None]
    unsubscribed_at: Mapped[datetime | None]
    # Part of every signed link: a deleted subscriber's links never work for whoever gets
    # the same id later, and replacing the key revokes every link already mailed.
    token_key: Mapped[str] = mapped_column(String(32), default=new_token_key)
    timezone: Mapped[str | None] = mapped_column(String(64))  # None: the service's default
    send_hour: Mapped[int] = mapped_column(Integer, default=7)  # local time
    frequency: Mapped[str] = mapped_column(String(8), default="daily")  # or "weekly"
    send_weekday: Mapped[int] = mapped_column(Integer, default=0)  # weekly: 0 = Monday
    suppressed_reason: Mapped[str | None] = mapped_column(Text)  # why mail stopped (bounce)
    # When it bounced: long enough ago, the address may subscribe again (double opt-in).
    suppressed_at: Mapped[datetime | None]
    # When the last confirmation (or "manage your subscription") mail went out: at most one
    # per address per cooldown, however often the form is submitted.
    confirmation_sent_at: Mapped[datetime | None]

    # The first topic (position 0): the one profile of the callers that know one (the
    # subscribe form, CSV import and export, queueing until digests have topic sections).
    profile: Mapped[InterestProfileRow | None] = relationship(
        primaryjoin="and_(SubscriberRow.id == InterestProfileRow.subscriber_id, "
        "InterestProfileRow.position == 0)",
        cascade="all, delete-orphan",
        uselist=False,
        overlaps="topics,subscriber",
    )
    # Every topic, in the reader's order (see newsletter.db.topics).
    topics: Mapped[list[InterestProfileRow]] = relationship(
        back_populates="subscriber",
        cascade="all, delete-orphan",
        order_by="InterestProfileRow.position",
        overlaps="profile",
        passive_deletes=True,
    )


DEFAULT_TOPIC_NAME = "My interests"  # the first topic's name until the reader renames it


class InterestProfileRow(Base):
    """One topic of a reader: a named, full profile. A reader keeps one or more, ordered by
    `position` (0, 1, 2…, no gaps: position 0 is the first topic, `SubscriberRow.profile`)."""

    __tablename__ = "interest_profiles"
    __table_args__ = (
        UniqueConstraint("subscriber_id", "name", name="uq_interest_profiles_subscriber_name"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(
        String(80), default=DEFAULT_TOPIC_NAME, server_default=DEFAULT_TOPIC_NAME
    )
    position: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    description: Mapped[str] = mapped_column(Text, default="")
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    negative_keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    category_mode: Mapped[str] = mapped_column(String(8), default="boost")
    authors: Mapped[list[str]] = mapped_column(JSON, default=list)
    seed_papers: Mapped[list[str]] = mapped_column(JSON, default=list)
    disliked_papers: Mapped[list[str]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    subscriber: Mapped[SubscriberRow] = relationship(back_populates="topics", overlaps="profile")


Index("ix_papers_first_seen_at", PaperRow.first_seen_at)


class PaperEmbeddingRow(Base):
    """Cached paper vectors: computed once per paper text and model, not per subscriber."""

    __tablename__ = "paper_embeddings"

    model: Mapped[str] = mapped_column(String(200), primary_key=True)
    # "<paper id>:<hash of the embedded text>", so a new version is embedded again.
    key: Mapped[str] = mapped_column(String(PAPER_ID_LENGTH + 45), primary_key=True)
    dimensions: Mapped[int] = mapped_column(Integer)
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class OutboxRow(Base):
    """One digest for one subscriber and day: the durable unit of delivery.

    Holds what to render (paper ids, scores, why lines, highlights) rather than the rendered
    mail, so 100k rows stay small; the Message-ID is fixed at enqueue time so a retry after an
    ambiguous outcome repeats it and receivers can drop the duplicate.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("subscriber_id", "digest_date", name="uq_outbox_subscriber_day"),
        Index("ix_outbox_due", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"))
    digest_date: Mapped[date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    lease_expires_at: Mapped[datetime | None]
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    content: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    last_reply: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


class SentPaperRow(Base):
    """A paper a subscriber has received (recorded when the server accepted the mail)."""

    __tablename__ = "sent_papers"

    subscriber_id: Mapped[int] = mapped_column(
        ForeignKey("subscribers.id", ondelete="CASCADE"), primary_key=True
    )
    paper_id: Mapped[str] = mapped_column(String(PAPER_ID_LENGTH), primary_key=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id", ondelete="CASCADE"), index=True)
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)


class BounceEventRow(Base):
    """A bounce, delay, complaint or auto-reply report, kept before anything acts on it."""

    __tablename__ = "bounce_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Hash of the report and recipient: ingesting the same mailbox twice records nothing new.
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    recipient: Mapped[str] = mapped_column(String(320), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str | None] = mapped_column(String(16))
    diagnostic: Mapped[str] = mapped_column(Text, default="")
    message_id: Mapped[str | None] = mapped_column(String(255))
    reported_at: Mapped[datetime | None]
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    action: Mapped[str] = mapped_column(String(32), default="recorded")  # what it led to
    # How the report proved it is about mail we sent to `recipient`: "verp" (a signed return
    # path) or "message-id" (one we recorded for that address). None: unverified, no effect.
    verified_by: Mapped[str | None] = mapped_column(String(16))
    # The Message-ID of our mail the report is about, when known: soft bounces count once
    # per mail, however many reports repeat one.
    sent_message_id: Mapped[str | None] = mapped_column(String(255))


class SentMailRow(Base):
    """A one-off mail (confirmation, welcome, manage link, preview) the relay accepted.

    Digests keep their Message-ID in the outbox; these have no outbox row, so this is how a
    bounce report quoting the Message-ID is matched to the address the mail went to.
    """

    __tablename__ = "sent_mail"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    recipient: Mapped[str] = mapped_column(String(320), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)


class FetchRunRow(Base):
    """One fetch of one source (command line or scheduler), kept for `newsletter status`:
    what came in, or why nothing did."""

    __tablename__ = "fetch_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(200))  # "arxiv", "hf", "file:papers.jsonl"
    fetched_at: Mapped[datetime] = mapped_column(index=True)
    new: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)  # None: stored; else why nothing was


class LibraryEntryRow(Base):
    """A paper of the reader's library, imported into one topic: a liked example kept with
    its own text, whether or not the paper is in the papers table. A bare id (a line of an
    id list) whose paper is not stored has no title yet: it counts once the paper arrives."""

    __tablename__ = "library_entries"
    __table_args__ = (UniqueConstraint("topic_id", "key", name="uq_library_entries_topic_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    topic_id: Mapped[int] = mapped_column(ForeignKey("interest_profiles.id", ondelete="CASCADE"))
    # The paper's id as `papers.id` writes it (arXiv id, "doi:…", "local:…" of the title).
    key: Mapped[str] = mapped_column(String(PAPER_ID_LENGTH))
    title: Mapped[str] = mapped_column(Text, default="")
    abstract: Mapped[str] = mapped_column(Text, default="")
    authors: Mapped[list[str]] = mapped_column(JSON, default=list)
    year: Mapped[int | None] = mapped_column(Integer)
    arxiv_id: Mapped[str | None] = mapped_column(String(64))
    doi: Mapped[str | None] = mapped_column(String(PAPER_ID_LENGTH))
    url: Mapped[str | None] = mapped_column(Text)
    added_at: Mapped[datetime] = mapped_column(default=utcnow)


class VoteRow(Base):
    """A reader's judgement of one paper for one topic: "more / less like this" from a
    digest, "relevant / not relevant" on the rating page, or a vote from the web or API.
    One per (topic, paper): voting again replaces it. The paper's text is kept with it, so
    the example outlives the paper row (sample papers are removed, for one)."""

    __tablename__ = "votes"
    __table_args__ = (UniqueConstraint("topic_id", "paper_id", name="uq_votes_topic_paper"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    topic_id: Mapped[int] = mapped_column(ForeignKey("interest_profiles.id", ondelete="CASCADE"))
    paper_id: Mapped[str] = mapped_column(String(PAPER_ID_LENGTH))
    liked: Mapped[bool] = mapped_column(Boolean)
    source: Mapped[str] = mapped_column(String(16))  # "digest", "rating" or "web"
    title: Mapped[str] = mapped_column(Text, default="")
    abstract: Mapped[str] = mapped_column(Text, default="")
    voted_at: Mapped[datetime] = mapped_column(default=utcnow)


class TopicModelRow(Base):
    """A topic's fitted model (`matching.learning.ReaderModel.to_bytes`), refitted only when
    its examples change: `examples_changed_at` later than `fitted_at` (or no model while
    there are examples) marks a topic whose refit is still owed."""

    __tablename__ = "topic_models"

    topic_id: Mapped[int] = mapped_column(
        ForeignKey("interest_profiles.id", ondelete="CASCADE"), primary_key=True
    )
    model: Mapped[bytes | None] = mapped_column(LargeBinary)
    fitted_at: Mapped[datetime | None]
    examples_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    examples: Mapped[int] = mapped_column(Integer, default=0)  # how many it was fitted on
