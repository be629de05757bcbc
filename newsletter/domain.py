"""Domain types shared by sources, storage and (later) matching and rendering. Pure: no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum


class AnnounceType(StrEnum):
    """How a paper appears in a daily arXiv listing."""

    NEW = "new"
    CROSS = "cross"
    REPLACE = "replace"
    REPLACE_CROSS = "replace-cross"


class Source(StrEnum):
    """Where a paper's record came from; a saved response read from a file keeps its kind."""

    ARXIV_LISTING = "arxiv-listing"
    ARXIV_API = "arxiv-api"
    HUGGING_FACE = "huggingface"
    JSON_LINES = "jsonl"
    # The bundled recorded day a new dev instance loads when it cannot fetch (see
    # pipeline/sample.py): dated the day it is loaded, and shown as sample data everywhere.
    SAMPLE = "sample"


# Where the sample papers come from, as the pages and the mails name it.
SAMPLE_ORIGIN = "a recorded arXiv cs.AI listing of 20 August 2025"


@dataclass(frozen=True, slots=True)
class HuggingFaceExtras:
    """What Hugging Face's daily papers add to arXiv metadata; every field is optional."""

    upvotes: int | None = None
    ai_summary: str | None = None
    ai_keywords: tuple[str, ...] = ()
    github_repo: str | None = None
    github_stars: int | None = None
    project_page: str | None = None
    daily_date: date | None = None


@dataclass(frozen=True, slots=True)
class Paper:
    """One paper as a source reports it, already normalised (see `normalize`).

    `id` is the arXiv id without version (``2508.13167``, ``cond-mat/0603029``) or,
    for papers without one, a stable id derived from the content (``local:…``).
    """

    id: str
    title: str
    abstract: str
    sources: tuple[Source, ...]
    version: int | None = None
    authors: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    primary_category: str | None = None
    announce_type: AnnounceType | None = None
    published_at: datetime | None = None
    updated_at: datetime | None = None
    announced_on: date | None = None
    abs_url: str | None = None
    pdf_url: str | None = None
    comment: str | None = None
    doi: str | None = None
    journal_ref: str | None = None
    hf: HuggingFaceExtras | None = None


def is_sample(paper: Paper) -> bool:
    """A paper of the bundled sample day (see Source.SAMPLE), not a real announcement."""
    return Source.SAMPLE in paper.sources


def paper_json(paper: Paper) -> dict[str, object]:
    """A paper as the command line and the JSON API show it."""
    return {
        "id": paper.id,
        "version": paper.version,
        "title": paper.title,
        "abstract": paper.abstract,
        "authors": list(paper.authors),
        "categories": list(paper.categories),
        "announce_type": paper.announce_type,
        "announced_on": paper.announced_on.isoformat() if paper.announced_on else None,
        "abs_url": paper.abs_url,
        "pdf_url": paper.pdf_url,
        "sources": list(paper.sources),
        "hf_upvotes": paper.hf.upvotes if paper.hf else None,
    }


@dataclass(frozen=True, slots=True)
class SkippedItem:
    """An item a parser could not use, with the reason logged and reported."""

    where: str
    reason: str


@dataclass(slots=True)
class ParseResult:
    papers: list[Paper] = field(default_factory=list)
    skipped: list[SkippedItem] = field(default_factory=list)

    def add(self, outcome: Paper | str, *, where: str) -> None:
        """Keep a parsed paper, or record why the item at `where` was skipped."""
        if isinstance(outcome, Paper):
            self.papers.append(outcome)
        else:
            self.skipped.append(SkippedItem(where=where, reason=outcome))

    def extend(self, other: ParseResult) -> None:
        self.papers.extend(other.papers)
        self.skipped.extend(other.skipped)


@dataclass(frozen=True, slots=True)
class IngestCounts:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0


class CategoryMode(StrEnum):
    """Whether a profile's arXiv categories restrict the digest or only rank matches higher."""

    FILTER = "filter"
    BOOST = "boost"


@dataclass(frozen=True, slots=True)
class InterestProfile:
    """What one subscriber wants to read; validated by `matching.profile.build_profile`.

    Keywords may be multi-word phrases ("mixture of experts"); `exclude` terms are hard
    exclusions; `seed_papers` are arXiv ids whose text acts as positive examples, and
    `disliked_papers` as negative ones.
    """

    description: str = ""
    keywords: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    category_mode: CategoryMode = CategoryMode.BOOST
    authors: tuple[str, ...] = ()
    seed_papers: tuple[str, ...] = ()
    disliked_papers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Highlight:
    field: str  # "title" or "abstract"
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Match:
    paper: Paper
    score: float
    why: tuple[str, ...]
    highlights: tuple[Highlight, ...]


@dataclass(frozen=True, slots=True)
class TopicTag:
    """The topic of a reader's that a digest paper was chosen for (a heading in a mail of
    several topics, and the topic a "more / less like this" vote on it teaches)."""

    id: int
    name: str


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
class Schedule:
    """When the digest goes out: local hour in `timezone` (None: the service's default)."""

    timezone: str | None = None
    send_hour: int = 7
    frequency: Frequency = Frequency.DAILY
    send_weekday: int = 0  # weekly digests: 0 = Monday


class BounceKind(StrEnum):
    HARD = "hard"  # the address leads nowhere: suppress it
    SOFT = "soft"  # failed, but may pass later: count it
    DELAYED = "delayed"  # still being retried by some MTA
    AUTO_REPLY = "auto_reply"  # out of office and the like: not a bounce
    COMPLAINT = "complaint"  # the recipient marked the mail as spam (ARF)
    UNKNOWN = "unknown"  # looks like a failure, but the report does not say what kind


@dataclass(frozen=True, slots=True)
class BounceEvent:
    recipient: str  # lower-cased address, without the "rfc822;" type
    kind: BounceKind
    status: str | None  # RFC 3463 enhanced code, e.g. "5.1.1"
    diagnostic: str  # Diagnostic-Code text or a short reason, <= MAX_DIAGNOSTIC_CHARS
    message_id: str | None  # "<...>" of the original message, when the report names it
    received_at: datetime | None  # the report's Date, timezone-aware


@dataclass(frozen=True, slots=True)
class ReturnedMail:
    """One message from the bounce mailbox, read: what it reports, and the addresses it was
    delivered to (Delivered-To, X-Original-To, To...), where a VERP return path shows which
    mail of ours it answers. Nothing here is trusted until it is verified."""

    raw: bytes
    events: tuple[BounceEvent, ...]
    envelope: tuple[str, ...] = ()
