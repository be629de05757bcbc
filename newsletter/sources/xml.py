"""Safe, forgiving XML parsing that tells which entries a syntax error landed in.

lxml's recovering parser keeps going past a broken fragment, so one bad entry does not
cost the whole feed; the parser's error log (with line numbers) then marks the entries
whose lines hold an error, and the caller skips exactly those. Entities are not
resolved and nothing is fetched from the network (no XXE, no billion laughs).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass

from lxml import etree

from newsletter.safe_xml import forgiving_parser
from newsletter.sources import SourceError

ATOM = "http://www.w3.org/2005/Atom"
ARXIV = "http://arxiv.org/schemas/atom"
DC = "http://purl.org/dc/elements/1.1/"
OPENSEARCH = "http://a9.com/-/spec/opensearch/1.1/"


@dataclass(frozen=True)
class Entry:
    element: etree._Element
    line: int
    syntax_error: str | None


SyntaxErrors = list[tuple[int, str]]
_OPENED_AT = re.compile(r"\bline (\d+)\b")


def parse_document(data: bytes, *, what: str) -> tuple[etree._Element, SyntaxErrors]:
    """The root element and the parser's complaints as (line, message)."""
    if not data.strip():
        raise SourceError(f"{what}: empty response")
    parser = forgiving_parser()
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise SourceError(f"{what}: not XML ({exc})") from exc
    if root is None:
        raise SourceError(f"{what}: not XML")
    if root.getroottree().docinfo.internalDTD is not None:
        # No feed we read declares a DTD; one that does is hostile (entity expansion
        # stops libxml2 mid-document, which would silently drop the rest of the feed).
        raise SourceError(f"{what}: XML with a document type declaration refused")
    errors = [
        (_blamed_line(error.line, error.message), error.message.strip())
        for error in parser.error_log
    ]
    return root, errors


def _blamed_line(line: int, message: str) -> int:
    """The line to blame for a syntax error.

    An unclosed tag is only noticed where its parent ends, often at the end of the feed;
    libxml2 then names the line of the opening tag ("tag mismatch: category line 143 and
    entry"), which is the entry that is actually broken.
    """
    opened = _OPENED_AT.search(message)
    return int(opened.group(1)) if opened else line


def entries(root: etree._Element, errors: SyntaxErrors, *, tag: str) -> Iterator[Entry]:
    """Each `tag` element, marked with the first syntax error that lies within its lines."""
    elements = list(root.iter(tag))
    starts: list[int] = [_line(element) for element in elements]
    for index, element in enumerate(elements):
        start = starts[index]
        end = starts[index + 1] if index + 1 < len(starts) else sys.maxsize
        inside = [f"line {line}: {message}" for line, message in errors if start <= line < end]
        yield Entry(element=element, line=start, syntax_error=inside[0] if inside else None)


def _line(element: etree._Element) -> int:
    line = element.sourceline
    return line if isinstance(line, int) else 0


def text_of(element: etree._Element, path: str, namespaces: dict[str, str]) -> str | None:
    """The text of the first match of `path`, or None when absent (``'0'`` is a value)."""
    found = element.find(path, namespaces)
    if found is None:
        return None
    return "".join(str(part) for part in found.itertext())


def texts_of(element: etree._Element, path: str, namespaces: dict[str, str]) -> list[str]:
    return [
        "".join(str(part) for part in found.itertext())
        for found in element.findall(path, namespaces)
    ]
