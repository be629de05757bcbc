"""Hugging Face daily papers (``/api/daily_papers?date=YYYY-MM-DD``), paginated.

Items are validated with pydantic: every field newer than the 2024 shape is optional
and unknown fields are ignored, so a new field never breaks a fetch and a wrong type
skips only its own item.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from newsletter.domain import HuggingFaceExtras, Paper, ParseResult, Source
from newsletter.normalize import (
    InvalidArxivId,
    abs_url,
    clean_name,
    collapse_whitespace,
    pdf_url,
    split_arxiv_id,
    storable,
)
from newsletter.sources import SourceError, validation_reason
from newsletter.sources.http import Fetcher

log = logging.getLogger(__name__)

PAGE_SIZE = 100
MAX_PAGES = 20


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, data: Any) -> Any:
        # A "\u0000" would make PostgreSQL refuse the whole fetch's transaction.
        return storable(data)


class HfAuthor(_Lenient):
    name: str = ""  # a nameless author entry must not cost the paper


class HfPaper(_Lenient):
    id: str
    title: str | None = None
    summary: str | None = None
    authors: list[HfAuthor] = []
    publishedAt: datetime | None = None
    upvotes: int | None = None
    ai_summary: str | None = None
    ai_keywords: list[str] = []
    githubRepo: str | None = None
    githubStars: int | None = None
    projectPage: str | None = None


class HfDailyItem(_Lenient):
    paper: HfPaper
    title: str | None = None
    summary: str | None = None
    publishedAt: datetime | None = None


def parse_daily_papers(
    data: bytes | Any, *, day: date | None = None, what: str = "Hugging Face daily papers"
) -> ParseResult:
    """`data` is the response body, or an already decoded list or single item."""
    items = _decode(data, what=what) if isinstance(data, bytes) else data
    if isinstance(items, dict) and "paper" in items:
        items = [items]
    if not isinstance(items, list):
        raise SourceError(f"{what}: expected a JSON list of papers, got {type(items).__name__}")
    result = ParseResult()
    for index, raw in enumerate(items):
        result.add(_paper_or_reason(raw, day=day), where=f"{what}, item {index}")
    return result


def _decode(data: bytes, *, what: str) -> Any:
    if not data.strip():
        raise SourceError(f"{what}: empty response")
    try:
        return json.loads(data)
    except ValueError as exc:
        raise SourceError(f"{what}: not JSON ({exc})") from exc


def _paper_or_reason(raw: Any, *, day: date | None) -> Paper | str:
    try:
        item = HfDailyItem.model_validate(raw)
    except ValidationError as exc:
        return validation_reason(exc)
    paper = item.paper
    try:
        arxiv_id, version = split_arxiv_id(paper.id)
    except InvalidArxivId as exc:
        return str(exc)
    # The top-level title is the cleaned one; paper.title keeps arXiv's line breaks.
    title = collapse_whitespace(item.title or paper.title or "")
    abstract = collapse_whitespace(paper.summary or item.summary or "")
    if not title:
        return "no title"
    if not abstract:
        return "no abstract"
    published = paper.publishedAt or item.publishedAt
    return Paper(
        id=arxiv_id,
        version=version,
        title=title,
        abstract=abstract,
        sources=(Source.HUGGING_FACE,),
        authors=tuple(clean_name(a.name) for a in paper.authors if a.name.strip()),
        published_at=_as_utc(published),
        abs_url=abs_url(arxiv_id),
        pdf_url=pdf_url(arxiv_id),
        hf=HuggingFaceExtras(
            upvotes=paper.upvotes,
            ai_summary=collapse_whitespace(paper.ai_summary) if paper.ai_summary else None,
            ai_keywords=tuple(paper.ai_keywords),
            github_repo=paper.githubRepo or None,
            github_stars=paper.githubStars,
            project_page=paper.projectPage or None,
            daily_date=day,
        ),
    )


def _as_utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    # A timestamp without an offset is taken as UTC, not as this machine's local time.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@dataclass
class HuggingFaceSource:
    fetcher: Fetcher
    api_url: str
    today: Callable[[], date]
    name: str = "hf"

    def fetch(self, *, day: date | None) -> ParseResult:
        day = day or self.today()
        result = ParseResult()
        for page in range(MAX_PAGES):
            params: dict[str, str | int] = {"date": day.isoformat(), "p": page, "limit": PAGE_SIZE}
            items = _decode(self.fetcher.get(self.api_url, params=params), what="Hugging Face")
            result.extend(
                parse_daily_papers(items, day=day, what=f"Hugging Face {day} page {page}")
            )
            if not isinstance(items, list) or len(items) < PAGE_SIZE:
                break
        else:
            log.warning("Hugging Face %s: stopped after %d full pages", day, MAX_PAGES)
        return result
