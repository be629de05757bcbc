"""Parser for arXiv's daily listing feeds (``rss.arxiv.org``), Atom and RSS 2.0 flavours."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date, datetime
from email.utils import parsedate_to_datetime

from lxml import etree

from newsletter.domain import AnnounceType, Paper, ParseResult, Source
from newsletter.normalize import (
    InvalidArxivId,
    abs_url,
    clean_name,
    collapse_whitespace,
    pdf_url,
    split_arxiv_id,
    split_authors,
)
from newsletter.sources import SourceError
from newsletter.sources.xml import (
    ARXIV,
    ATOM,
    DC,
    Entry,
    entries,
    parse_document,
    text_of,
    texts_of,
)

log = logging.getLogger(__name__)

NS = {"atom": ATOM, "arxiv": ARXIV, "dc": DC}
_PREAMBLE = re.compile(
    r"^\s*arXiv:(?P<id>\S+)\s+Announce Type:\s*(?P<type>[\w-]+)\s*(?:Abstract:)?\s*", re.I
)


@dataclass(frozen=True)
class _RawItem:
    """The fields both flavours carry, as text, before validation."""

    guid: str | None
    link: str | None
    title: str | None
    description: str | None
    categories: list[str]
    announce_type: str | None
    creators: str | None
    announced: str | None
    doi: str | None
    journal_ref: str | None


def parse_listing(data: bytes, *, what: str = "arXiv listing") -> ParseResult:
    root, errors = parse_document(data, what=what)
    if root.tag == f"{{{ATOM}}}feed":
        feed_title = text_of(root, "atom:title", NS)
        items = [
            (entry, _atom_item(entry.element))
            for entry in entries(root, errors, tag=f"{{{ATOM}}}entry")
        ]
    elif root.tag == "rss":
        feed_title = text_of(root, "channel/title", NS)
        items = [(entry, _rss_item(entry.element)) for entry in entries(root, errors, tag="item")]
    else:
        raise SourceError(f"{what}: not an arXiv listing feed (root element {root.tag!r})")
    if feed_title is not None and feed_title.strip().lower().startswith("feed error"):
        raise SourceError(f"{what}: arXiv answered {feed_title.strip()!r} (unknown category?)")
    result = ParseResult()
    for entry, raw in items:
        where = f"{what}, entry at line {entry.line}" + (f" ({raw.guid})" if raw.guid else "")
        result.add(_paper_or_reason(entry, raw), where=where)
    return result


def _atom_item(element: etree._Element) -> _RawItem:
    link = element.find("atom:link[@rel='alternate']", NS)
    return _RawItem(
        guid=text_of(element, "atom:id", NS),
        link=None if link is None else link.get("href"),
        title=text_of(element, "atom:title", NS),
        description=text_of(element, "atom:summary", NS),
        categories=[c.get("term", "") for c in element.findall("atom:category", NS)],
        announce_type=text_of(element, "arxiv:announce_type", NS),
        creators=text_of(element, "dc:creator", NS),
        announced=text_of(element, "atom:published", NS),
        doi=text_of(element, "arxiv:DOI", NS) or text_of(element, "arxiv:doi", NS),
        journal_ref=text_of(element, "arxiv:journal_reference", NS),
    )


def _rss_item(element: etree._Element) -> _RawItem:
    return _RawItem(
        guid=text_of(element, "guid", NS),
        link=text_of(element, "link", NS),
        title=text_of(element, "title", NS),
        description=text_of(element, "description", NS),
        categories=texts_of(element, "category", NS),
        announce_type=text_of(element, "arxiv:announce_type", NS),
        creators=text_of(element, "dc:creator", NS),
        announced=text_of(element, "pubDate", NS),
        doi=text_of(element, "arxiv:DOI", NS),
        journal_ref=text_of(element, "arxiv:journal_reference", NS),
    )


def _paper_or_reason(entry: Entry, raw: _RawItem) -> Paper | str:
    if entry.syntax_error:
        return f"malformed XML ({entry.syntax_error})"
    preamble = _PREAMBLE.match(raw.description or "")
    try:
        arxiv_id, version = split_arxiv_id(
            raw.guid or (preamble.group("id") if preamble else None) or raw.link or ""
        )
    except InvalidArxivId as exc:
        return str(exc)
    title = collapse_whitespace(raw.title or "")
    abstract = collapse_whitespace((raw.description or "")[preamble.end() if preamble else 0 :])
    if not title:
        return "no title"
    if not abstract:
        return "no abstract"
    try:
        announced_on = _announce_date(raw.announced)
    except ValueError as exc:
        return f"unreadable date {raw.announced!r} ({exc})"
    announce_text = (raw.announce_type or (preamble.group("type") if preamble else "")).strip()
    announce_type = _announce_type(announce_text, arxiv_id)
    categories = tuple(dict.fromkeys(c.strip() for c in raw.categories if c.strip()))
    return Paper(
        id=arxiv_id,
        version=version,
        title=title,
        abstract=abstract,
        sources=(Source.ARXIV_LISTING,),
        authors=split_authors(raw.creators or ""),
        categories=categories,
        # The listing names the primary category first.
        primary_category=categories[0] if categories else None,
        announce_type=announce_type,
        announced_on=announced_on,
        abs_url=abs_url(arxiv_id),
        pdf_url=pdf_url(arxiv_id),
        doi=collapse_whitespace(raw.doi) if raw.doi else None,
        journal_ref=clean_name(raw.journal_ref) if raw.journal_ref else None,
    )


def _announce_date(text: str | None) -> date | None:
    if text is None or not text.strip():
        return None
    text = text.strip()
    # The listing's own offset (US Eastern) is the announcement day; UTC could shift it.
    if text[:4].isdigit():
        return datetime.fromisoformat(text).date()
    return parsedate_to_datetime(text).date()


def _announce_type(text: str, arxiv_id: str) -> AnnounceType | None:
    if not text:
        return None
    try:
        return AnnounceType(text.lower())
    except ValueError:
        # A type arXiv adds later must not cost the paper; it is stored without one.
        log.warning("unknown announce type %r for %s", text, arxiv_id)
        return None
