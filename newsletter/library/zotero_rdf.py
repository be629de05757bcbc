"""Zotero RDF (RDF/XML with Zotero's z:, bib:, dc:, dcterms:, foaf: and prism: terms).

An item is an element with a ``z:itemType`` child (attachments and notes are skipped);
journals, collections and memos are not items. Zotero quirks handled: a journal article's
DOI sits on its journal (``dcterms:isPartOf``, nested or a separate ``bib:Journal`` node
referenced by ``rdf:resource``) as ``<dc:identifier>DOI 10…</dc:identifier>``; the URL is
``dc:identifier/dcterms:URI/rdf:value``; Extra is ``dc:description``.

Parsing is safe and forgiving: no DTD (a document that declares one is refused, which rules
out entity expansion), no network, and lxml's recovering parser keeps going past a broken
item; the parser's error lines mark the items to report, the others are read.
"""

from __future__ import annotations

import bisect
import re
from collections import defaultdict
from collections.abc import Iterator

from lxml import etree

from newsletter.library.model import LibraryEntry, LibraryError, LibraryProblem, make_entry
from newsletter.library.text import find_year, strip_rich_text
from newsletter.safe_xml import forgiving_parser

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
Z = "http://www.zotero.org/namespaces/export#"
DC = "http://purl.org/dc/elements/1.1/"
DCTERMS = "http://purl.org/dc/terms/"
BIB = "http://purl.org/net/biblio#"
FOAF = "http://xmlns.com/foaf/0.1/"
PRISM = "http://prismstandard.org/namespaces/1.2/basic/"
_ABOUT = f"{{{RDF}}}about"
_RESOURCE = f"{{{RDF}}}resource"
_NOT_PAPERS = frozenset({"attachment", "note", "annotation"})
_OPENED_AT = re.compile(r"\bline (\d+)\b")


def read_zotero_rdf(data: bytes, *, limit: int) -> Iterator[LibraryEntry | LibraryProblem]:
    root, errors = _parse(data)
    nodes: dict[str, list[etree._Element]] = defaultdict(list)  # rdf:about -> non-items
    items: list[etree._Element] = []
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        kind = element.find(f"{{{Z}}}itemType")
        if kind is not None:
            if _text(kind) not in _NOT_PAPERS:
                items.append(element)
        elif element.getparent() is root and element.get(_ABOUT):
            nodes[element.get(_ABOUT, "")].append(element)
    index = _Nodes(nodes)
    starts = [_line(item) for item in items]
    error_lines = sorted(errors)
    for position, item in enumerate(items):
        start = starts[position]
        end = starts[position + 1] - 1 if position + 1 < len(items) else None
        error = _first_error(error_lines, errors, start, end)
        if error is not None:
            yield LibraryProblem(
                start, f"this item is not well-formed XML ({error}) and was skipped"
            )
            continue
        yield _entry(item, start, index)


def _parse(data: bytes) -> tuple[etree._Element, dict[int, str]]:
    parser = forgiving_parser()
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise LibraryError(f"this XML file could not be read ({exc})") from exc
    if root is None:
        raise LibraryError("this XML file could not be read")
    if root.getroottree().docinfo.internalDTD is not None:
        raise LibraryError("XML that declares a document type (DTD) is refused")
    if root.tag != f"{{{RDF}}}RDF":
        raise LibraryError(
            "this XML file is not a Zotero RDF export (its root element is not rdf:RDF)"
        )
    errors: dict[int, str] = {}
    for error in parser.error_log:
        opened = _OPENED_AT.search(error.message)  # an unclosed tag: blame where it opened
        line = int(opened.group(1)) if opened else error.line
        errors.setdefault(line, " ".join(error.message.split()))
    return root, errors


def _first_error(
    lines: list[int], errors: dict[int, str], start: int, end: int | None
) -> str | None:
    """The first error on a line from `start` to `end` (`lines`: the error lines, sorted)."""
    position = bisect.bisect_left(lines, start)
    if position == len(lines) or (end is not None and lines[position] > end):
        return None
    return errors[lines[position]]


class _Nodes:
    """Top-level non-item nodes by ``rdf:about``, for ``rdf:resource`` references.

    Zotero writes a journal node per item, right after it, even when several share one URI
    (``urn:issn:…``): a reference means the first such node after the item.
    """

    def __init__(self, nodes: dict[str, list[etree._Element]]) -> None:
        self.nodes = nodes  # each list in document order
        self.lines = {about: [_line(node) for node in found] for about, found in nodes.items()}

    def referenced(self, item: etree._Element, resource: str | None) -> list[etree._Element]:
        if not resource or resource not in self.nodes:
            return []
        found = self.nodes[resource]
        position = bisect.bisect_right(self.lines[resource], _line(item))
        return found[position : position + 1] or found[-1:]


def _entry(item: etree._Element, line: int, nodes: _Nodes) -> LibraryEntry | LibraryProblem:
    identifiers = [_text(node) for node in item.findall(f"{{{DC}}}identifier")]
    uris = [
        _text(node) for node in item.iterfind(f"{{{DC}}}identifier/{{{DCTERMS}}}URI/{{{RDF}}}value")
    ]
    about = item.get(_ABOUT, "")
    return make_entry(
        line=line,
        what="this item",
        no_title="no dc:title",
        title=strip_rich_text(_child_text(item, DC, "title")),
        abstract=strip_rich_text(_child_text(item, DCTERMS, "abstract")),
        authors=_authors(item),
        year=find_year(_child_text(item, DC, "date")),
        doi=_doi(item, identifiers, about, nodes),
        url=next((uri for uri in uris if uri), None)
        or (about if about.startswith("http") else None),
        id_texts=(
            about,
            *uris,
            *identifiers,
            _child_text(item, DC, "description"),
            _child_text(item, PRISM, "number"),
        ),
    )


def _line(element: etree._Element) -> int:
    line = element.sourceline  # lxml-stubs types it oddly
    return line if isinstance(line, int) else 0


def _text(element: etree._Element) -> str:
    return "".join(part for part in element.itertext() if isinstance(part, str))


def _child_text(element: etree._Element, namespace: str, name: str) -> str:
    child = element.find(f"{{{namespace}}}{name}")
    return _text(child) if child is not None else ""


def _authors(item: etree._Element) -> tuple[str, ...]:
    names: list[str] = []
    for person in item.iterfind(f"{{{BIB}}}authors/{{{RDF}}}Seq/{{{RDF}}}li/{{{FOAF}}}Person"):
        given = _child_text(person, FOAF, "givenName") or _child_text(person, FOAF, "givenname")
        family = _child_text(person, FOAF, "surname") or _child_text(person, FOAF, "name")
        names.append(f"{given.strip()} {family.strip()}".strip())
    return tuple(names)


def _doi(item: etree._Element, identifiers: list[str], about: str, nodes: _Nodes) -> str | None:
    candidates = [text.strip()[4:] for text in identifiers if text.strip().startswith("DOI ")]
    if "doi.org/" in about:
        candidates.insert(0, about)
    for part_of in item.findall(f"{{{DCTERMS}}}isPartOf"):
        containers = list(part_of) or nodes.referenced(item, part_of.get(_RESOURCE))
        for container in containers:
            for identifier in container.findall(f"{{{DC}}}identifier"):
                text = _text(identifier).strip()
                if text.startswith("DOI "):
                    candidates.append(text[4:])
    return next((candidate for candidate in candidates if candidate.strip()), None)
