"""Local files: JSON Lines of papers, or a saved arXiv listing, API or Hugging Face response."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from newsletter.domain import Paper, ParseResult, Source
from newsletter.normalize import (
    InvalidArxivId,
    abs_url,
    clean_name,
    collapse_whitespace,
    content_id,
    pdf_url,
    split_arxiv_id,
    storable,
)
from newsletter.sources import SourceError, validation_reason
from newsletter.sources.arxiv_api import parse_api_response
from newsletter.sources.arxiv_listing import parse_listing
from newsletter.sources.huggingface import parse_daily_papers

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
    paper_id = content_id(title)
    if row.id:
        try:
            paper_id, version = split_arxiv_id(row.id)
        except InvalidArxivId as exc:
            return str(exc)
    from_arxiv = not paper_id.startswith("local:")
    return Paper(
        id=paper_id,
        version=version,
        title=title,
        abstract=collapse_whitespace(row.abstract),
        sources=(Source.JSON_LINES,),
        authors=tuple(clean_name(name) for name in row.authors if name.strip()),
        categories=tuple(row.categories),
        primary_category=row.categories[0] if row.categories else None,
        abs_url=abs_url(paper_id) if from_arxiv else None,
        pdf_url=pdf_url(paper_id) if from_arxiv else None,
    )


def parse_file_bytes(data: bytes, *, what: str) -> ParseResult:
    """Recognise the format by content, not by file name."""
    head = data.lstrip()[:2048]
    if not head:
        raise SourceError(f"{what}: empty file")
    if head.startswith(b"<"):
        if _LISTING_MARKS.search(data[:16384]):
            return parse_listing(data, what=what)
        return parse_api_response(data, what=what)
    try:
        document = json.loads(data)
    except ValueError:
        # Not one JSON document: JSON Lines, where each bad line is skipped on its own.
        return parse_json_lines(data, what=what)
    if isinstance(document, dict) and "title" in document and "paper" not in document:
        return parse_json_lines(data, what=what)  # a JSON Lines file with a single line
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
            result.papers = [p for p in result.papers if p.announced_on in (None, day)]
        return result
