"""What a topic learns from: its library (papers the reader imported), its votes (digest
links, the rating page, the web) and the model fitted on them.

The rules, and why:
- **Examples keep their text.** A library entry is stored with its title and abstract
  whether or not the paper is in the papers table, and a vote keeps the text of the paper
  voted on: an example must outlive the paper row (the sample day is removed, old papers may
  be pruned) and a reader's BibTeX is mostly papers this service never fetched. A bare id
  (from a list of ids) takes the stored paper's text when there is one, else it is kept as
  an id only and counts once that paper is stored (`examples_of` looks again every refit).
- **One judgement per paper.** A topic holds one library entry per paper key and one vote per
  paper: voting again replaces the vote (the latest click is what the reader means), and a
  vote outranks a library entry for the same paper. Concurrent clicks are one upsert each.
- **Refit only on change.** Every change stamps `examples_changed_at` on the topic's model
  row; a model fitted before that stamp is owed a refit (`owed_refits`). The web and the
  command line refit at once after a change, so the daily digest never refits anyone.
- **Reset forgets votes, not words.** `reset_votes` removes the votes and the model and takes
  the voted papers out of the written profile's liked/disliked lists (where digest votes
  also land); the description, keywords and the rest stay, and so does the library, which
  the reader removes on its own (`remove_library`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from newsletter.db.models import (
    InterestProfileRow,
    LibraryEntryRow,
    TopicModelRow,
    VoteRow,
)
from newsletter.db.papers import papers_by_id
from newsletter.domain import Paper
from newsletter.library import LibraryEntry

MAX_LIBRARY = 2_000  # entries per topic: a whole reference manager, and a bounded refit


class VoteSource(StrEnum):
    DIGEST = "digest"  # "more / less like this" in a digest
    RATING = "rating"  # the rating page ("relevant / not relevant")
    WEB = "web"  # the JSON API


LIBRARY = "library"  # an example's source when it came from the reader's library


@dataclass(frozen=True, slots=True)
class Example:
    """One labelled paper of a topic, with the text the model reads."""

    paper: Paper
    liked: bool
    source: str  # LIBRARY or a VoteSource
    at: datetime


@dataclass(frozen=True, slots=True)
class LibraryAdded:
    added: int
    duplicates: int  # already in the topic's library (or twice in the file)
    resolved: list[str]  # bare ids whose text came from a stored paper
    id_only: list[str]  # bare ids with no stored paper: kept, used once the paper arrives
    refused: int = 0  # over MAX_LIBRARY


def _insert(session: Session) -> Any:
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def add_library(
    session: Session, topic_id: int, entries: Sequence[LibraryEntry], *, now: datetime
) -> LibraryAdded:
    """Store the entries in the topic's library; an entry already there (by key) is a
    duplicate, except that an id-only one takes the new entry's text."""
    keys = [entry.key for entry in entries]
    stored = dict(
        session.execute(
            select(LibraryEntryRow.key, LibraryEntryRow.title).where(
                LibraryEntryRow.topic_id == topic_id, LibraryEntryRow.key.in_(keys)
            )
        ).all()
    )
    room = max(MAX_LIBRARY - library_count(session, topic_id), 0)
    lookups = [e.key for e in entries if e.needs_lookup or not e.abstract]
    papers = papers_by_id(session, lookups) if lookups else {}
    fresh: list[dict[str, Any]] = []
    resolved: list[str] = []
    id_only: list[str] = []
    duplicates = refused = 0
    seen: set[str] = set()
    for entry in entries:
        key = entry.key
        if key in seen:
            duplicates += 1
            continue
        seen.add(key)
        values = _entry_values(entry, papers.get(key))
        if entry.needs_lookup:
            (resolved if values["title"] else id_only).append(key)
        if key in stored:
            duplicates += 1
            if not stored[key] and values["title"]:  # an id alone, now with its text
                session.execute(
                    update(LibraryEntryRow)
                    .where(LibraryEntryRow.topic_id == topic_id, LibraryEntryRow.key == key)
                    .values(**{k: v for k, v in values.items() if k != "key"})
                )
            continue
        if len(fresh) >= room:
            refused += 1
            continue
        fresh.append({**values, "topic_id": topic_id, "added_at": now})
    if fresh:  # a concurrent import of the same file adds each entry once
        session.execute(_insert(session)(LibraryEntryRow).on_conflict_do_nothing(), fresh)
    if fresh or resolved:
        examples_changed(session, topic_id, now=now)
    return LibraryAdded(len(fresh), duplicates, resolved, id_only, refused)


def _entry_values(entry: LibraryEntry, paper: Paper | None) -> dict[str, Any]:
    title, abstract, authors = entry.title, entry.abstract, list(entry.authors)
    if paper is not None:  # the stored paper fills what the entry lacks
        title = title or paper.title
        abstract = abstract or paper.abstract
        authors = authors or list(paper.authors)
    return {
        "key": entry.key,
        "title": title,
        "abstract": abstract,
        "authors": authors,
        "year": entry.year,
        "arxiv_id": entry.arxiv_id,
        "doi": entry.doi,
        "url": entry.url,
    }


def library_count(session: Session, topic_id: int) -> int:
    query = select(func.count()).where(LibraryEntryRow.topic_id == topic_id)
    return session.scalar(query) or 0


def library_of(session: Session, topic_id: int) -> list[LibraryEntryRow]:
    """The topic's library, the latest imports first."""
    return list(
        session.scalars(
            select(LibraryEntryRow)
            .where(LibraryEntryRow.topic_id == topic_id)
            .order_by(LibraryEntryRow.added_at.desc(), LibraryEntryRow.id.desc())
        )
    )


def remove_library(
    session: Session, topic_id: int, *, keys: Sequence[str] | None = None, now: datetime
) -> int:
    """Remove the named entries (all of them when `keys` is None); how many went."""
    query = delete(LibraryEntryRow).where(LibraryEntryRow.topic_id == topic_id)
    if keys is not None:
        query = query.where(LibraryEntryRow.key.in_(list(keys)))
    removed = len(session.scalars(query.returning(LibraryEntryRow.id)).all())
    if removed:
        examples_changed(session, topic_id, now=now)
    return removed


def record_vote(
    session: Session,
    topic_id: int,
    *,
    paper_id: str,
    liked: bool,
    source: VoteSource,
    now: datetime,
    paper: Paper | None = None,
) -> None:
    """The reader's latest judgement of the paper for the topic (replacing an earlier one)."""
    values = {
        "liked": liked,
        "source": source.value,
        "voted_at": now,
        "title": paper.title if paper else "",
        "abstract": paper.abstract if paper else "",
    }
    statement = _insert(session)(VoteRow).values(topic_id=topic_id, paper_id=paper_id, **values)
    if paper is None:  # keep the text an earlier vote stored
        values = {k: v for k, v in values.items() if k not in ("title", "abstract")}
    session.execute(
        statement.on_conflict_do_update(index_elements=["topic_id", "paper_id"], set_=values)
    )
    examples_changed(session, topic_id, now=now)


def votes_of(session: Session, topic_id: int) -> list[VoteRow]:
    """The topic's votes, latest first."""
    return list(
        session.scalars(
            select(VoteRow)
            .where(VoteRow.topic_id == topic_id)
            .order_by(VoteRow.voted_at.desc(), VoteRow.id.desc())
        )
    )


def reset_votes(session: Session, topic: InterestProfileRow, *, now: datetime) -> int:
    """Forget the topic's votes and model (see the module's rules); how many votes went."""
    voted = set(
        session.scalars(
            delete(VoteRow).where(VoteRow.topic_id == topic.id).returning(VoteRow.paper_id)
        ).all()
    )
    # New lists, not in-place edits: JSON columns only notice assignment.
    topic.seed_papers = [p for p in topic.seed_papers or [] if p not in voted]
    topic.disliked_papers = [p for p in topic.disliked_papers or [] if p not in voted]
    session.execute(delete(TopicModelRow).where(TopicModelRow.topic_id == topic.id))
    if library_count(session, topic.id):
        examples_changed(session, topic.id, now=now)
    return len(voted)


def examples_of(session: Session, topic_id: int, *, limit: int | None = None) -> list[Example]:
    """The topic's usable examples: votes first (latest first), then library entries with a
    text (latest first); a vote decides over a library entry for the same paper. An example
    without a text takes the stored paper's when the paper has arrived, else it is left out.
    At most `limit` (votes are kept before the library)."""
    votes = votes_of(session, topic_id)
    voted = {vote.paper_id for vote in votes}
    library = [row for row in library_of(session, topic_id) if row.key not in voted]
    # Without a text of their own (a vote on a paper not stored, a bare id): the stored
    # paper's, when it has arrived since.
    missing = [v.paper_id for v in votes if not v.title] + [r.key for r in library if not r.title]
    stored = papers_by_id(session, missing) if missing else {}
    found: dict[str, Example] = {}
    for vote in votes:
        paper = (
            Paper(vote.paper_id, vote.title, vote.abstract, ())
            if vote.title
            else stored.get(vote.paper_id)
        )
        if paper is not None:
            found[vote.paper_id] = Example(paper, vote.liked, vote.source, vote.voted_at)
    for row in library:
        paper = _library_paper(row, stored.get(row.key))
        if paper is not None:
            found[row.key] = Example(paper, True, LIBRARY, row.added_at)
    examples = list(found.values())
    return examples if limit is None else examples[:limit]


def _library_paper(row: LibraryEntryRow, stored: Paper | None) -> Paper | None:
    if row.title:
        return Paper(row.key, row.title, row.abstract, (), authors=tuple(row.authors or ()))
    return stored


def examples_changed(session: Session, topic_id: int, *, now: datetime) -> None:
    """Stamp the topic's examples as changed (its model is now owed a refit)."""
    statement = _insert(session)(TopicModelRow).values(
        topic_id=topic_id, examples_changed_at=now, examples=0
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["topic_id"], set_={"examples_changed_at": now}
        )
    )


def store_model(
    session: Session,
    topic_id: int,
    *,
    model: bytes | None,
    examples: int,
    fitted_at: datetime,
) -> None:
    """The model fitted at `fitted_at` on that many examples (None: no model could be)."""
    values = {"model": model, "examples": examples, "fitted_at": fitted_at}
    statement = _insert(session)(TopicModelRow).values(
        topic_id=topic_id, examples_changed_at=fitted_at, **values
    )
    session.execute(statement.on_conflict_do_update(index_elements=["topic_id"], set_=values))


def topic_model(session: Session, topic_id: int) -> TopicModelRow | None:
    return session.get(TopicModelRow, topic_id)


def models_for(session: Session, topic_ids: Sequence[int]) -> dict[int, bytes]:
    """The fitted models of the topics that have one (queueing reads a chunk at a time)."""
    rows = session.execute(
        select(TopicModelRow.topic_id, TopicModelRow.model).where(
            TopicModelRow.topic_id.in_(list(topic_ids)), TopicModelRow.model.is_not(None)
        )
    )
    return {topic_id: model for topic_id, model in rows if model is not None}


def owed_refits(session: Session, *, limit: int = 1000) -> list[int]:
    """Topics whose examples changed after their model was fitted (a refit failed, or
    examples came in without an embedder): the only topics a batch refit needs to touch."""
    return list(
        session.scalars(
            select(TopicModelRow.topic_id)
            .where(
                or_(
                    TopicModelRow.fitted_at.is_(None),
                    TopicModelRow.examples_changed_at > TopicModelRow.fitted_at,
                )
            )
            .order_by(TopicModelRow.topic_id)
            .limit(limit)
        )
    )


def model_bytes(session: Session, topic_id: int) -> bytes | None:
    """The topic's fitted model as stored now (read past the session's identity map: a
    refit in this transaction wrote it with a plain UPDATE)."""
    return session.scalar(select(TopicModelRow.model).where(TopicModelRow.topic_id == topic_id))


def vote_count(session: Session, topic_id: int, *, source: VoteSource | None = None) -> int:
    query = select(func.count()).where(VoteRow.topic_id == topic_id)
    if source is not None:
        query = query.where(VoteRow.source == source.value)
    return session.scalar(query) or 0


def judged_ids(session: Session, topic_id: int) -> set[str]:
    """Papers the topic already has a judgement of (a vote, or its library)."""
    voted = session.scalars(select(VoteRow.paper_id).where(VoteRow.topic_id == topic_id))
    known = session.scalars(select(LibraryEntryRow.key).where(LibraryEntryRow.topic_id == topic_id))
    return {*voted, *known}
