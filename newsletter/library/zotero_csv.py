"""Zotero's CSV export (and other CSV files with a Title column).

Zotero writes a fixed header (``"Key","Item Type","Publication Year","Author","Title",…,
"Abstract Note",…,"DOI","Url",…,"Extra",…``), UTF-8 with a byte order mark, authors as
``Family, Given; Family, Given``, and an arXiv id, when it has one, in Extra
(``arXiv: 2401.12345``) or Number/Archive ID (``arXiv:2401.12345``). Column names are
matched without regard to case, so a spreadsheet's own export with the same columns reads
too; a comma, semicolon or tab may separate them.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from newsletter.library.model import LibraryEntry, LibraryProblem, make_entry
from newsletter.library.text import find_year, flip_name, strip_rich_text

_COLUMNS = {  # what we read -> the column names that hold it, best first
    "title": ("title",),
    "abstract": ("abstract note", "abstract"),
    "authors": ("author", "authors", "creator"),
    "year": ("publication year", "year", "date", "issued"),
    "doi": ("doi",),
    "url": ("url", "link"),
    "ids": ("extra", "archive id", "number", "arxiv id", "arxiv", "eprint", "note", "notes"),
    "type": ("item type",),
}
_SKIPPED_TYPES = frozenset({"attachment", "note", "annotation"})  # Zotero rows, not papers
_DELIMITERS = (",", ";", "\t")


def header(text: str) -> tuple[str, list[str]] | None:
    """The delimiter and column names when the first line is a CSV header with a Title
    column and at least one more."""
    first = text.split("\n", 1)[0]
    for delimiter in _DELIMITERS:
        try:
            names = next(csv.reader([first], delimiter=delimiter), [])
        except csv.Error:
            continue
        names = [name.strip().lower() for name in names]
        if "title" in names and len(names) >= 2:
            return delimiter, names
    return None


def read_zotero_csv(text: str, *, limit: int) -> Iterator[LibraryEntry | LibraryProblem]:
    found = header(text)
    if found is None:
        return
    delimiter, names = found
    index = {name: position for position, name in reversed(list(enumerate(names)))}
    columns = {
        what: [index[name] for name in candidates if name in index]
        for what, candidates in _COLUMNS.items()
    }
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows = iter(reader)
    next(rows, None)  # the header
    end = reader.line_num
    while True:
        start = end + 1
        try:
            row = next(rows, None)
        except csv.Error as exc:
            yield LibraryProblem(start, f"this CSV row could not be read ({exc})")
            if reader.line_num <= end:
                return  # no progress: stop rather than loop
            end = reader.line_num
            continue
        end = reader.line_num
        if row is None:
            return
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(names):
            yield LibraryProblem(
                start,
                f"this CSV row has {len(row)} columns where the header has {len(names)} "
                "(a stray quote?); it was skipped",
            )
            continue
        outcome = _entry(start, row, columns)
        if outcome is not None:
            yield outcome


def _entry(
    line: int, row: list[str], columns: dict[str, list[int]]
) -> LibraryEntry | LibraryProblem | None:
    def cell(what: str) -> str:
        return next((row[i] for i in columns[what] if row[i].strip()), "")

    if cell("type").strip() in _SKIPPED_TYPES:
        return None
    authors = [flip_name(name) for name in cell("authors").split(";") if name.strip()]
    return make_entry(
        line=line,
        what="this row",
        no_title="the Title column is empty",
        title=strip_rich_text(cell("title")),
        abstract=strip_rich_text(cell("abstract")),
        authors=tuple(authors),
        year=next((find_year(row[i]) for i in columns["year"] if find_year(row[i])), None),
        doi=cell("doi") or None,
        url=cell("url") or None,
        id_texts=tuple(row[i] for i in columns["ids"]),
    )
