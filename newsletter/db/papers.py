"""Reading and writing papers; the only place that maps `Paper` to rows and back."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import date, datetime

from sqlalchemy import Text, cast, delete, func, or_, select
from sqlalchemy.orm import Session

from newsletter.db.models import PaperRow
from newsletter.domain import AnnounceType, HuggingFaceExtras, IngestCounts, Paper, Source
from newsletter.sources.dedupe import dedupe, merge

# Keeps `IN (...)` lists well under SQLite's and PostgreSQL's parameter limits.
_LOOKUP_CHUNK = 500


def to_paper(row: PaperRow) -> Paper:
    has_hf = Source.HUGGING_FACE.value in row.sources
    return Paper(
        id=row.id,
        version=row.version,
        title=row.title,
        abstract=row.abstract,
        sources=tuple(Source(s) for s in row.sources),
        authors=tuple(row.authors),
        categories=tuple(row.categories),
        primary_category=row.primary_category,
        announce_type=AnnounceType(row.announce_type) if row.announce_type else None,
        published_at=row.published_at,
        updated_at=row.updated_at,
        announced_on=row.announced_on,
        abs_url=row.abs_url,
        pdf_url=row.pdf_url,
        comment=row.comment,
        doi=row.doi,
        journal_ref=row.journal_ref,
        hf=HuggingFaceExtras(
            upvotes=row.hf_upvotes,
            ai_summary=row.hf_ai_summary,
            ai_keywords=tuple(row.hf_ai_keywords or ()),
            github_repo=row.hf_github_repo,
            github_stars=row.hf_github_stars,
            project_page=row.hf_project_page,
            daily_date=row.hf_daily_date,
        )
        if has_hf
        else None,
    )


def _write(row: PaperRow, paper: Paper) -> None:
    row.version = paper.version
    row.title = paper.title
    row.abstract = paper.abstract
    row.sources = [s.value for s in paper.sources]
    row.authors = list(paper.authors)
    row.categories = list(paper.categories)
    row.primary_category = paper.primary_category
    row.announce_type = paper.announce_type.value if paper.announce_type else None
    row.published_at = paper.published_at
    row.updated_at = paper.updated_at
    row.announced_on = paper.announced_on
    row.abs_url = paper.abs_url
    row.pdf_url = paper.pdf_url
    row.comment = paper.comment
    row.doi = paper.doi
    row.journal_ref = paper.journal_ref
    hf = paper.hf or HuggingFaceExtras()
    row.hf_upvotes = hf.upvotes
    row.hf_ai_summary = hf.ai_summary
    row.hf_ai_keywords = list(hf.ai_keywords) if paper.hf else None
    row.hf_github_repo = hf.github_repo
    row.hf_github_stars = hf.github_stars
    row.hf_project_page = hf.project_page
    row.hf_daily_date = hf.daily_date


def store_papers(
    session: Session, papers: Iterable[Paper], *, now: datetime, undated_on: date | None = None
) -> IngestCounts:
    """Insert new papers and merge known ones; the caller commits or rolls back.

    A JSON Lines paper that names no day is announced on `undated_on` (the service's today)
    the first time it is stored, and keeps that day when the file is read again."""
    incoming = dedupe(papers)
    known = _rows_by_id(session, [paper.id for paper in incoming])
    new = updated = unchanged = 0
    for paper in incoming:
        row = known.get(paper.id)
        if row is None:
            row = PaperRow(id=paper.id, first_seen_at=now, last_changed_at=now)
            _write(row, _dated(paper, undated_on))
            session.add(row)
            new += 1
            continue
        stored = to_paper(row)
        merged = _dated(merge(stored, paper), undated_on)
        if merged == stored:
            unchanged += 1
            continue
        _write(row, merged)
        row.last_changed_at = now
        updated += 1
    session.flush()
    return IngestCounts(new=new, updated=updated, unchanged=unchanged)


def _dated(paper: Paper, day: date | None) -> Paper:
    # Only papers from JSON Lines alone: a saved arXiv or Hugging Face response keeps its own
    # dates (or none), and a paper seen on arXiv is announced when arXiv says.
    if day is None or paper.announced_on is not None or paper.sources != (Source.JSON_LINES,):
        return paper
    return replace(paper, announced_on=day)


def _rows_by_id(session: Session, ids: Sequence[str]) -> dict[str, PaperRow]:
    rows: dict[str, PaperRow] = {}
    for start in range(0, len(ids), _LOOKUP_CHUNK):
        chunk = ids[start : start + _LOOKUP_CHUNK]
        for row in session.scalars(select(PaperRow).where(PaperRow.id.in_(chunk))):
            rows[row.id] = row
    return rows


def list_papers(session: Session, *, day: date | None = None, limit: int = 500) -> list[Paper]:
    """Papers announced (on arXiv) or featured (on Hugging Face) on `day`; newest first."""
    query = select(PaperRow)
    if day is not None:
        query = query.where(or_(PaperRow.announced_on == day, PaperRow.hf_daily_date == day))
    query = query.order_by(PaperRow.first_seen_at.desc(), PaperRow.id).limit(limit)
    return [to_paper(row) for row in session.scalars(query)]


def count_papers(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(PaperRow)) or 0


def remove_sample_papers(session: Session) -> int:
    """Delete the bundled sample day's papers (real ones have arrived); how many."""
    # `sources` is a JSON list: its text holds the quoted value on SQLite and PostgreSQL.
    marked = cast(PaperRow.sources, Text).like(f'%"{Source.SAMPLE.value}"%')
    result = session.execute(delete(PaperRow).where(marked))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def digest_candidates(session: Session, *, first: date, last: date) -> list[Paper]:
    """Papers new on arXiv or featured on Hugging Face between `first` and `last`.

    A listing's replacements are old papers with a new version: they are not news (an HF
    feature of an old paper is, so those stay).
    """
    replaced = (AnnounceType.REPLACE.value, AnnounceType.REPLACE_CROSS.value)
    announced = PaperRow.announced_on.between(first, last) & (
        PaperRow.announce_type.is_(None) | PaperRow.announce_type.not_in(replaced)
    )
    query = (
        select(PaperRow)
        .where(or_(announced, PaperRow.hf_daily_date.between(first, last)))
        .order_by(PaperRow.id)
    )
    return [to_paper(row) for row in session.scalars(query)]


def papers_by_id(session: Session, ids: Sequence[str]) -> dict[str, Paper]:
    return {paper_id: to_paper(row) for paper_id, row in _rows_by_id(session, ids).items()}


def latest_day(session: Session) -> date | None:
    """The most recent day with papers announced or featured (the subscribe page's preview)."""
    announced = session.scalar(select(func.max(PaperRow.announced_on)))
    featured = session.scalar(select(func.max(PaperRow.hf_daily_date)))
    days = [day for day in (announced, featured) if day is not None]
    return max(days) if days else None
