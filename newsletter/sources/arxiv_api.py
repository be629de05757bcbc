"""arXiv API (``export.arxiv.org/api/query``): parser for both response formats, and lookups.

The 2025-26 backend moved namespace declarations, switched ids to https, dropped
``scheme`` on ``primary_category`` and reordered elements; reading by namespace and
element name (never by prefix or position) handles both.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from lxml import etree

from newsletter.domain import Paper, ParseResult, Source
from newsletter.normalize import (
    InvalidArxivId,
    abs_url,
    clean_name,
    collapse_whitespace,
    parse_timestamp,
    pdf_url,
    split_arxiv_id,
)
from newsletter.sources import SourceError
from newsletter.sources.http import Fetcher
from newsletter.sources.xml import ARXIV, ATOM, entries, parse_document, text_of, texts_of

NS = {"atom": ATOM, "arxiv": ARXIV}


def parse_api_response(data: bytes, *, what: str = "arXiv API response") -> ParseResult:
    root, errors = parse_document(data, what=what)
    if root.tag != f"{{{ATOM}}}feed":
        raise SourceError(f"{what}: not an Atom feed (root element {root.tag!r})")
    result = ParseResult()
    for entry in entries(root, errors, tag=f"{{{ATOM}}}entry"):
        raw_id = text_of(entry.element, "atom:id", NS) or ""
        if "/api/errors" in raw_id:
            message = collapse_whitespace(text_of(entry.element, "atom:summary", NS) or "")
            raise SourceError(f"{what}: arXiv API error: {message or raw_id}")
        where = f"{what}, entry at line {entry.line}" + (f" ({raw_id.strip()})" if raw_id else "")
        if entry.syntax_error:
            result.add(f"malformed XML ({entry.syntax_error})", where=where)
        else:
            result.add(_paper_or_reason(entry.element), where=where)
    return result


def _paper_or_reason(element: etree._Element) -> Paper | str:
    try:
        arxiv_id, version = split_arxiv_id(text_of(element, "atom:id", NS) or "")
    except InvalidArxivId as exc:
        return str(exc)
    title = collapse_whitespace(text_of(element, "atom:title", NS) or "")
    abstract = collapse_whitespace(text_of(element, "atom:summary", NS) or "")
    if not title:
        return "no title"
    if not abstract:
        return "no abstract"
    try:
        published = _timestamp(text_of(element, "atom:published", NS))
        updated = _timestamp(text_of(element, "atom:updated", NS))
    except ValueError as exc:
        return f"unreadable date ({exc})"
    primary = element.find("arxiv:primary_category", NS)
    categories = [c.get("term", "").strip() for c in element.findall("atom:category", NS)]
    primary_term = None if primary is None else primary.get("term")
    ordered = ([primary_term] if primary_term else []) + categories
    pdf = element.find("atom:link[@title='pdf']", NS)
    return Paper(
        id=arxiv_id,
        version=version,
        title=title,
        abstract=abstract,
        sources=(Source.ARXIV_API,),
        authors=tuple(clean_name(n) for n in texts_of(element, "atom:author/atom:name", NS)),
        categories=tuple(dict.fromkeys(c for c in ordered if c)),
        primary_category=primary_term,
        published_at=published,
        updated_at=updated,
        abs_url=abs_url(arxiv_id),
        pdf_url=pdf_url(arxiv_id) if pdf is not None or version else None,
        comment=_optional(text_of(element, "arxiv:comment", NS)),
        doi=_optional(text_of(element, "arxiv:doi", NS)),
        journal_ref=_optional(text_of(element, "arxiv:journal_ref", NS), decode=True),
    )


def _timestamp(text: str | None) -> datetime | None:
    return parse_timestamp(text) if text and text.strip() else None


def _optional(text: str | None, *, decode: bool = False) -> str | None:
    if not text or not text.strip():
        return None
    return clean_name(text) if decode else collapse_whitespace(text)


def lookup_ids(
    fetcher: Fetcher, *, api_url: str, ids: Sequence[str], batch_size: int
) -> ParseResult:
    """Full metadata for `ids`, `batch_size` per request (the fetcher keeps the pace)."""
    result = ParseResult()
    for start in range(0, len(ids), batch_size):
        batch = ids[start : start + batch_size]
        params: dict[str, str | int] = {
            "id_list": ",".join(batch),
            "start": 0,
            "max_results": len(batch),
        }
        body = fetcher.get(api_url, params=params)
        result.extend(parse_api_response(body, what=f"arXiv API ({len(batch)} ids)"))
    return result
