"""A topic's library: the papers a reader imported (newsletter.subscribers.library_import),
each a liked example kept with its own text; see newsletter.db.examples for the rules."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from newsletter.db.models import LibraryEntryRow
from newsletter.db.papers import papers_by_id
from newsletter.db.topic_models import dialect_insert, examples_changed
from newsletter.domain import Paper
from newsletter.library import LibraryEntry

MAX_LIBRARY = 2_000  # entries per topic: a whole reference manager, and a bounded refit


@dataclass(frozen=True, slots=True)
class LibraryAdded:
    added: int
    duplicates: int  # already in the topic's library (or twice in the file)
    resolved: list[str]  # bare ids whose text came from a stored paper
    id_only: list[str]  # bare ids with no stored paper: kept, used once the paper arrives
    refused: int = 0  # over MAX_LIBRARY


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
        session.execute(dialect_insert(session)(LibraryEntryRow).on_conflict_do_nothing(), fresh)
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
