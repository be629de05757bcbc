"""Importing a reader's library file into one of their topics, and saying what happened.

Shared by `newsletter subscribers library`, the preferences page's upload and the JSON API
(the subscribe page reads the file at once and stores it later, with the pending
subscription: `read_upload` and `store_entries`). The rules:
- The whole file is read before anything is stored; a file that cannot be read at all
  (`LibraryError`: too large, binary, no format we know) stores nothing.
- Every entry that cannot be read is reported with its line, and the rest are imported.
- An entry for a paper the topic already holds is a duplicate: counted, not stored twice.
- A bare id (a line of an id list) takes the text of the stored paper with that id; without
  one it is kept as an id only, and the report says so (it counts once the paper is
  fetched).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from newsletter.db.examples import LibraryAdded, add_library
from newsletter.library import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_ENTRIES,
    LibraryImport,
    LibraryProblem,
    read_library,
)

MAX_LISTED_IDS = 10  # id-only entries named in the report; the rest counted


@dataclass(frozen=True)
class ImportReport:
    """What one import did, for the admin's terminal, the page and the API alike."""

    source: str  # the file's name as shown
    format: str  # its format's label
    read: int  # distinct papers read from the file
    added: int
    duplicates: int  # in the file twice, or already in the topic
    problems: list[LibraryProblem] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)
    id_only: list[str] = field(default_factory=list)
    refused: int = 0  # over the topic's limit
    truncated: bool = False

    def summary(self) -> str:
        """One line: `papers.bib (BibTeX): 28 imported, 2 duplicates, 1 problem`."""
        parts = [f"{self.added} imported", _count(self.duplicates, "duplicate")]
        parts.append(_count(len(self.problems), "problem"))
        if self.refused:
            parts.append(f"{self.refused} over the limit of the topic's library")
        return f"{self.source} ({self.format}): {', '.join(parts)}"

    def notes(self) -> list[str]:
        """The lines after the summary: bare ids resolved or kept as ids only."""
        notes = []
        if self.resolved:
            notes.append(
                f"{_count(len(self.resolved), 'bare id')} found among the stored papers: "
                "imported with their title and abstract"
            )
        if self.id_only:
            shown = ", ".join(self.id_only[:MAX_LISTED_IDS])
            more = len(self.id_only) - MAX_LISTED_IDS
            shown += f" and {more} more" if more > 0 else ""
            notes.append(
                f"{_count(len(self.id_only), 'bare id')} not among the stored papers, kept as "
                f"ids only ({shown}): each counts as an example once that paper is fetched"
            )
        return notes

    def as_json(self) -> dict[str, object]:
        return {
            "source": self.source,
            "format": self.format,
            "read": self.read,
            "imported": self.added,
            "duplicates": self.duplicates,
            "problems": [{"line": p.line, "reason": p.reason} for p in self.problems],
            "resolved": self.resolved,
            "id_only": self.id_only,
            "refused": self.refused,
            "truncated": self.truncated,
            "summary": self.summary(),
            "notes": self.notes(),
        }


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def read_upload(
    data: bytes,
    *,
    filename: str | None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_entries: int = DEFAULT_MAX_ENTRIES,
) -> LibraryImport:
    """The file read (raises `LibraryError` for one that cannot be read at all)."""
    return read_library(data, filename=filename, max_bytes=max_bytes, max_entries=max_entries)


def store_entries(
    session: Session,
    topic_id: int,
    library: LibraryImport,
    *,
    source: str,
    now: datetime,
) -> ImportReport:
    """The read entries stored in the topic's library; the report of both steps."""
    added = add_library(session, topic_id, library.entries, now=now)
    return _report(library, added, source=source)


def import_library(
    session: Session,
    topic_id: int,
    data: bytes,
    *,
    filename: str,
    now: datetime,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_entries: int = DEFAULT_MAX_ENTRIES,
) -> ImportReport:
    """Read `data` and store it in the topic (raises `LibraryError` when unreadable)."""
    library = read_upload(data, filename=filename, max_bytes=max_bytes, max_entries=max_entries)
    return store_entries(session, topic_id, library, source=filename, now=now)


def _report(library: LibraryImport, added: LibraryAdded, *, source: str) -> ImportReport:
    return ImportReport(
        source=source,
        format=library.format.label,
        read=len(library.entries),
        added=added.added,
        duplicates=library.duplicates + added.duplicates,
        problems=list(library.problems),
        resolved=added.resolved,
        id_only=added.id_only,
        refused=added.refused,
        truncated=library.truncated,
    )
