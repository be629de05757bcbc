"""Fetch runs: every fetch of a source, with its counts or the reason it stored nothing.

Recorded by pipeline.fetch.ingest for the command line and the scheduler alike; a successful
run is written in the same transaction as its papers, a failed one in its own (nothing else
is written then). `newsletter status` reads them back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from newsletter.db.models import FetchRunRow
from newsletter.domain import IngestCounts

MAX_ERROR_CHARS = 2000  # an error quoting a whole response body is cut, not stored whole


@dataclass(frozen=True, slots=True)
class FetchRun:
    source: str
    at: datetime
    counts: IngestCounts
    error: str | None  # None: the papers were stored


def record_fetch(
    session: Session,
    *,
    source: str,
    at: datetime,
    counts: IngestCounts | None = None,
    error: str | None = None,
) -> None:
    counts = counts or IngestCounts()
    session.add(
        FetchRunRow(
            source=source[:200],
            fetched_at=at,
            new=counts.new,
            updated=counts.updated,
            unchanged=counts.unchanged,
            skipped=counts.skipped,
            error=None if error is None else error[:MAX_ERROR_CHARS],
        )
    )


def _run(row: FetchRunRow) -> FetchRun:
    counts = IngestCounts(row.new, row.updated, row.unchanged, row.skipped)
    return FetchRun(source=row.source, at=row.fetched_at, counts=counts, error=row.error)


def latest_per_source(session: Session) -> list[FetchRun]:
    """The last run of every source, by source name."""
    last = (
        select(FetchRunRow.source, func.max(FetchRunRow.id).label("id"))
        .group_by(FetchRunRow.source)
        .subquery()
    )
    query = select(FetchRunRow).join(last, FetchRunRow.id == last.c.id).order_by(FetchRunRow.source)
    return [_run(row) for row in session.scalars(query)]


def failed_since(session: Session, since: datetime, *, limit: int = 10) -> list[FetchRun]:
    """Failed runs from `since` on, newest first."""
    query = (
        select(FetchRunRow)
        .where(FetchRunRow.error.is_not(None), FetchRunRow.fetched_at >= since)
        .order_by(FetchRunRow.fetched_at.desc(), FetchRunRow.id.desc())
        .limit(limit)
    )
    return [_run(row) for row in session.scalars(query)]
