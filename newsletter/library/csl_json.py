"""CSL JSON (Zotero's "CSL JSON" export, Better CSL JSON, citeproc tools) and Zotero's own
item JSON (the web API's ``data`` objects, Better BibTeX's JSON export with its ``items``).

The list is walked item by item so that each keeps its line and a syntax error costs only
its item: after one, reading resumes at the next line that opens an object at the same
indentation as the broken item (pretty-printed exports put one item per such line). A
minified file cannot be resumed: its remaining items are reported as one problem.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_right
from collections.abc import Iterator

from newsletter.library.model import (
    LibraryEntry,
    LibraryError,
    LibraryFormat,
    LibraryProblem,
    make_entry,
)
from newsletter.library.text import find_year, strip_rich_text

_DECODER = json.JSONDecoder()
_SPACE = re.compile(r"[ \t\n\r]*")
_OBJECT_LINE = re.compile(r"^([ \t]*)\{", re.MULTILINE)
_NOT_PAPERS = frozenset({"attachment", "note", "annotation"})


def _skip(text: str, position: int) -> int:
    """The offset of the first non-space character from `position` on."""
    match = _SPACE.match(text, position)
    return match.end() if match else position


class _Broken:
    def __init__(self, reason: str) -> None:
        self.reason = reason


Record = LibraryEntry | LibraryProblem


def read_json(text: str, *, limit: int) -> tuple[LibraryFormat, list[Record]]:
    lines = _Lines(text)
    records: list[Record] = []
    zotero = False
    for offset, value in _items(text):
        line = lines.at(offset)
        if isinstance(value, _Broken):
            records.append(LibraryProblem(line, value.reason))
        elif not isinstance(value, dict):
            records.append(LibraryProblem(line, "this item is not a JSON object; skipped"))
        else:
            data = value.get("data")  # the Zotero web API wraps an item's fields
            item: dict[str, object] = data if isinstance(data, dict) else value
            zotero = zotero or "itemType" in item
            record = _zotero_entry(item, line) if "itemType" in item else _csl_entry(item, line)
            if record is not None:
                records.append(record)
        if len(records) > limit:
            break
    return (LibraryFormat.ZOTERO_JSON if zotero else LibraryFormat.CSL_JSON), records


class _Lines:
    def __init__(self, text: str) -> None:
        self.starts = [0, *(match.end() for match in re.finditer("\n", text))]

    def at(self, offset: int) -> int:
        return bisect_right(self.starts, offset)


def _items(text: str) -> Iterator[tuple[int, object]]:
    """(offset, item or _Broken) for the items of the top-level list, of an ``items`` list
    in a top-level object, or of a lone item."""
    start = _skip(text, 0)
    if text.startswith("[", start):
        yield from _elements(text, start)
        return
    if not text.startswith("{", start):
        raise LibraryError("this JSON file is not a list of items")
    items = _items_member(text, start)
    if items is not None:
        yield from _elements(text, items)
        return
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise LibraryError(f"this JSON file could not be read ({exc})") from exc
    if isinstance(value, dict) and ("title" in value or "type" in value or "itemType" in value):
        yield start, value
        return
    raise LibraryError(
        "this JSON file is not a list of CSL JSON or Zotero items "
        '(expected a list, or an object with an "items" list)'
    )


def _items_member(text: str, start: int) -> int | None:
    """The offset of the ``[`` of a top-level object's ``items`` member, if it has one."""
    position = _skip(text, start + 1)
    try:
        while text.startswith('"', position):
            key, position = _DECODER.raw_decode(text, position)
            position = _skip(text, position)
            if not text.startswith(":", position):
                return None
            position = _skip(text, position + 1)
            if key == "items" and text.startswith("[", position):
                return position
            _, position = _DECODER.raw_decode(text, position)
            position = _skip(text, position)
            if not text.startswith(",", position):
                return None
            position = _skip(text, position + 1)
    except (ValueError, RecursionError):
        return None
    return None


def _elements(text: str, start: int) -> Iterator[tuple[int, object]]:
    """The elements of the list opening at `start`, resuming after a broken one."""
    position = _skip(text, start + 1)
    if text.startswith("]", position):
        return
    while position < len(text):
        element = position
        try:
            value, position = _DECODER.raw_decode(text, position)
        except json.JSONDecodeError as exc:
            failed_at = max(exc.pos, element + 1)
            message = exc.msg.removesuffix(" at")
            reason = f"this item is not valid JSON ({message} on line {exc.lineno}); skipped"
        except RecursionError:
            failed_at, reason = element + 1, "this item is nested too deeply; skipped"
        else:
            yield element, value
            position = _skip(text, position)
            if text.startswith(",", position):
                position = _skip(text, position + 1)
                if text.startswith("]", position):
                    return  # a trailing comma
                continue
            if text.startswith("]", position) or position >= len(text):
                return
            continue  # a comma missing between two items: the next one is still read
        resumed = _resume(text, element, failed_at)
        if resumed is None:
            yield (
                element,
                _Broken(
                    reason.replace("; skipped", "")
                    + "; this and the items after it could not be read"
                ),
            )
            return
        yield element, _Broken(reason)
        position = resumed


def _resume(text: str, element: int, failed_at: int) -> int | None:
    """The next line after a syntax error that opens an object indented like the broken
    element, or None (a minified file, or none left)."""
    line_start = text.rfind("\n", 0, element) + 1
    indent = text[line_start:element]
    if indent.strip():
        return None  # the element does not start its line
    search_from = text.rfind("\n", 0, failed_at) + 1
    if search_from <= element:
        search_from = text.find("\n", element) + 1
        if search_from == 0:
            return None
    for match in _OBJECT_LINE.finditer(text, search_from):
        if match.group(1) == indent:
            return match.end() - 1
    return None


def _string(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return ""


def _csl_entry(item: dict[str, object], line: int) -> Record:
    people = item.get("author")
    authors: list[str] = []
    for person in people if isinstance(people, list) else []:
        if not isinstance(person, dict):
            continue
        literal = _string(person.get("literal"))
        parts = (
            person.get("given"),
            person.get("dropping-particle"),
            person.get("non-dropping-particle"),
            person.get("family"),
            person.get("suffix"),
        )
        authors.append(literal or " ".join(_string(part) for part in parts if _string(part)))
    return make_entry(
        line=line,
        what="this item",
        title=strip_rich_text(_string(item.get("title"))),
        abstract=strip_rich_text(_string(item.get("abstract"))),
        authors=tuple(authors),
        year=_csl_year(item.get("issued")),
        doi=_string(item.get("DOI")) or None,
        url=_string(item.get("URL")) or None,
        id_texts=tuple(
            _string(item.get(name))
            for name in ("number", "archive_id", "note", "container-title", "id", "URL")
        ),
    )


def _csl_year(issued: object) -> int | None:
    if isinstance(issued, dict):
        parts = issued.get("date-parts")
        if isinstance(parts, list) and parts and isinstance(parts[0], list) and parts[0]:
            return find_year(_string(parts[0][0]))
        return find_year(_string(issued.get("raw")) or _string(issued.get("literal")))
    return find_year(_string(issued))


def _zotero_entry(item: dict[str, object], line: int) -> Record | None:
    if _string(item.get("itemType")) in _NOT_PAPERS:
        return None
    creators = item.get("creators")
    authors: list[str] = []
    for creator in creators if isinstance(creators, list) else []:
        if not isinstance(creator, dict) or creator.get("creatorType", "author") != "author":
            continue
        name = _string(creator.get("name"))
        first, last = _string(creator.get("firstName")), _string(creator.get("lastName"))
        authors.append(name or f"{first} {last}".strip())
    return make_entry(
        line=line,
        what="this item",
        title=strip_rich_text(_string(item.get("title"))),
        abstract=strip_rich_text(_string(item.get("abstractNote"))),
        authors=tuple(authors),
        year=find_year(_string(item.get("date"))),
        doi=_string(item.get("DOI")) or None,
        url=_string(item.get("url")) or None,
        id_texts=tuple(_string(item.get(name)) for name in ("archiveID", "extra", "number", "url")),
    )
