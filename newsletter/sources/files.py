"""Local files: JSON Lines of papers, or a saved arXiv listing, API or Hugging Face response.

A JSON Lines item needs a title and an abstract. Its `id` may be any stable identifier (see
normalize.paper_id: arXiv ids stay bare, others are namespaced); a line whose id cannot be
used is skipped with the reason, like any other bad line. Its day is `announced`, else `date`,
else `published` (a day or an ISO 8601 time); an item without one takes the day of
`fetch --date`, or else the day it is first stored (db.papers.store_papers): papers from a
file always belong to a day, so `digest` finds them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from newsletter.domain import Paper, ParseResult, Source
from newsletter.normalize import (
    InvalidPaperId,
    clean_name,
    collapse_whitespace,
    content_id,
    is_arxiv_id,
    paper_id,
    paper_page,
    parse_day,
    pdf_url,
    storable,
)
from newsletter.sources import SourceError, validation_reason

# The listing is RSS, or Atom whose entries have OAI ids and announce types; else the API.
_LISTING_MARKS = re.compile(rb"<rss[\s>]|oai:arXiv\.org:|announce_type")


class JsonLinesPaper(BaseModel):
    """One line of a papers file: `title` and `abstract` required, the rest optional."""

    model_config = ConfigDict(extra="ignore")

    title: str
    abstract: str
    id: str | None = None
    authors: list[str] = []
    categories: list[str] = []
    announced: str | None = None
    date: str | None = None
    published: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, data: Any) -> Any:
        # A "\u0000" in a line would make PostgreSQL refuse the whole fetch's transaction.
        return storable(data)

    @field_validator("title", "abstract")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value


def parse_json_lines(data: bytes, *, what: str) -> ParseResult:
    result = ParseResult()
    for number, line in enumerate(data.decode("utf-8", errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        result.add(_line_paper_or_reason(line), where=f"{what}, line {number}")
    return result


def _line_paper_or_reason(line: str) -> Paper | str:
    try:
        row = JsonLinesPaper.model_validate_json(line)
    except ValidationError as exc:
        return validation_reason(exc)
    title = collapse_whitespace(row.title)
    version = None
    stored_id = content_id(title)
    if row.id:
        try:
            stored_id, version = paper_id(row.id)
        except InvalidPaperId as exc:
            return f"id: {exc}"
    day: tuple[date, datetime | None] | None = None
    for name in ("announced", "date", "published"):
        if (value := getattr(row, name)) is not None:
            try:
                day = parse_day(value)
            except ValueError:
                return f"{name}: not a day or an ISO 8601 time: {value[:40]!r}"
            break
    return Paper(
        id=stored_id,
        version=version,
        title=title,
        abstract=collapse_whitespace(row.abstract),
        sources=(Source.JSON_LINES,),
        authors=tuple(clean_name(name) for name in row.authors if name.strip()),
        categories=tuple(row.categories),
        primary_category=row.categories[0] if row.categories else None,
        published_at=day[1] if day else None,
        announced_on=day[0] if day else None,
        abs_url=paper_page(stored_id),
        pdf_url=pdf_url(stored_id) if is_arxiv_id(stored_id) else None,
        doi=stored_id.removeprefix("doi:") if stored_id.startswith("doi:") else None,
    )


def parse_file_bytes(data: bytes, *, what: str) -> ParseResult:
    """Recognise the format by content, not by file name. The XML and Hugging Face parsers
    are imported only for their formats (lxml and friends cost `rank` a JSON Lines file
    does not need)."""
    head = data.lstrip()[:2048]
    if not head:
        raise SourceError(f"{what}: empty file")
    if head.startswith(b"<"):
        if _LISTING_MARKS.search(data[:16384]):
            from newsletter.sources.arxiv_listing import parse_listing

            return parse_listing(data, what=what)
        from newsletter.sources.arxiv_api import parse_api_response

        return parse_api_response(data, what=what)
    try:
        document = json.loads(data)
    except ValueError:
        # Not one JSON document: JSON Lines, where each bad line is skipped on its own.
        return parse_json_lines(data, what=what)
    if isinstance(document, dict) and "title" in document and "paper" not in document:
        return parse_json_lines(data, what=what)  # a JSON Lines file with a single line
    from newsletter.sources.huggingface import parse_daily_papers

    return parse_daily_papers(document, what=what)


@dataclass
class FileSource:
    path: Path
    max_bytes: int
    name: str = "file"

    def fetch(self, *, day: date | None) -> ParseResult:
        try:
            size = self.path.stat().st_size
            if size > self.max_bytes:
                raise SourceError(f"{self.path}: {size} bytes refused (limit {self.max_bytes})")
            data = self.path.read_bytes()
        except OSError as exc:
            raise SourceError(f"{self.path}: {exc.strerror or exc}") from exc
        result = parse_file_bytes(data, what=str(self.path))
        if day is not None:
            result.papers = [
                replace(p, announced_on=day) if undated(p) else p
                for p in result.papers
                if p.announced_on in (None, day)
            ]
        return result


def undated(paper: Paper) -> bool:
    """A JSON Lines item that named no day: it takes the fetch's (see the module docstring).
    Saved arXiv and Hugging Face responses keep their own dates, or none, as before."""
    return paper.announced_on is None and paper.sources == (Source.JSON_LINES,)
