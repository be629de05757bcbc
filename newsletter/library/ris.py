"""RIS (.ris) as Zotero, Mendeley, EndNote, publishers and `rispy` write it.

Records are found here, line by line, so that each keeps the line of its ``TY`` tag and a
broken record costs only itself: a record may lack its ``ER`` (the next ``TY`` or the end of
the file closes it), text between records (rispy's ``1.`` headers, export banners) is
ignored, and a value's continuation lines are joined to it. Each record's tag lines are
then read by `rispy`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import rispy  # type: ignore[import-untyped]  # rispy ships no type hints

from newsletter.library.model import LibraryEntry, LibraryProblem, make_entry
from newsletter.library.text import find_year, flip_name, strip_rich_text

TAG = re.compile(r"([A-Z][A-Z0-9])[ \t]{1,2}-(?:[ \t](.*)|[ \t]*)$")


def looks_like_ris(text: str) -> bool:
    """A ``TY  - `` line among the first non-blank lines."""
    seen = 0
    for line in text.split("\n", 400)[:400]:
        if not line.strip():
            continue
        match = TAG.match(line)
        if match is not None and match.group(1) == "TY":
            return True
        seen += 1
        if seen >= 50:
            break
    return False


def read_ris(text: str, *, limit: int) -> Iterator[LibraryEntry | LibraryProblem]:
    for start, lines in _records(text):
        yield _entry(start, lines)


def _records(text: str) -> Iterator[tuple[int, list[str]]]:
    """(line of ``TY``, the record's tag lines with continuations joined)."""
    start = 0
    tags: list[list[str]] = []  # [tag, value parts...]
    for number, line in enumerate(text.split("\n"), 1):
        match = TAG.match(line)
        if match is None:
            if start and tags and line.strip():
                tags[-1].append(line.strip())  # a continuation line
            continue
        tag = match.group(1)
        if tag == "TY":
            if start:
                yield start, _joined(tags)
            start, tags = number, []
        if not start:
            continue  # a tag outside any record
        if tag == "ER":
            yield start, _joined(tags)
            start, tags = 0, []
            continue
        tags.append([tag, (match.group(2) or "").strip()])
    if start:
        yield start, _joined(tags)


def _joined(tags: list[list[str]]) -> list[str]:
    return [f"{tag}  - {' '.join(part for part in parts if part)}" for tag, *parts in tags]


def _entry(line: int, lines: list[str]) -> LibraryEntry | LibraryProblem:
    record: dict[str, Any] = rispy.loads("\n".join([*lines, "ER  - "]), skip_unknown_tags=True)[0]
    authors = _strings(record.get("authors")) or _strings(record.get("first_authors"))
    return make_entry(
        line=line,
        what="this RIS record",
        no_title="no TI or T1 line",
        title=strip_rich_text(_first(record, "title", "primary_title")),
        abstract=strip_rich_text(_first(record, "abstract", "notes_abstract")),
        authors=tuple(flip_name(name) for name in authors),
        year=find_year(_first(record, "year", "publication_year", "date")),
        doi=_first(record, "doi") or None,
        url=next(iter(_strings(record.get("urls"))), None),
        id_texts=(
            *_strings(record.get("urls")),
            *_strings(record.get("notes")),
            _first(record, "note", "accession_number"),
        ),
    )


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str) and item.strip()]
    return []


def _first(record: dict[str, Any], *names: str) -> str:
    for name in names:
        for value in _strings(record.get(name)):
            if value.strip():
                return value
    return ""
