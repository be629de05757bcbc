"""`read_library`: which format a file is in, reading it within limits, merging duplicates."""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from pathlib import PurePath

from newsletter.library.bibtex import read_bibtex
from newsletter.library.csl_json import read_json
from newsletter.library.id_list import looks_like_id_list, read_id_list
from newsletter.library.model import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_ENTRIES,
    LibraryEntry,
    LibraryError,
    LibraryFormat,
    LibraryImport,
    LibraryProblem,
)
from newsletter.library.ris import TAG, looks_like_ris, read_ris
from newsletter.library.text import title_identity
from newsletter.library.zotero_csv import header, read_zotero_csv
from newsletter.library.zotero_rdf import read_zotero_rdf

Record = LibraryEntry | LibraryProblem

_BINARY = (  # signature -> what the file is, and what to do instead
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (or a Word or Excel file)"),
    (b"SQLite format 3\x00", "a database (Zotero's zotero.sqlite?)"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"\xd0\xcf\x11\xe0", "an old Word or Excel file"),
    (b"\x89PNG", "an image"),
    (b"\xff\xd8\xff", "an image"),
)
_EXPORT_HINT = (
    "export your library from Zotero, Mendeley or JabRef as BibTeX, RIS, CSV, Zotero RDF or "
    "CSL JSON, or list arXiv ids and DOIs one per line"
)
_EXTENSIONS = {
    ".bib": LibraryFormat.BIBTEX,
    ".bibtex": LibraryFormat.BIBTEX,
    ".ris": LibraryFormat.RIS,
    ".csv": LibraryFormat.ZOTERO_CSV,
    ".rdf": LibraryFormat.ZOTERO_RDF,
    ".xml": LibraryFormat.ZOTERO_RDF,
    ".json": LibraryFormat.CSL_JSON,
    ".txt": LibraryFormat.ID_LIST,
}
_TRIED = (
    "BibTeX, RIS, Zotero CSV, Zotero RDF, CSL JSON or Zotero JSON, "
    "and a list of arXiv ids, arXiv URLs and DOIs"
)
_XML = re.compile(r"\s*<(?:\?xml|!--|!DOCTYPE|[A-Za-z][\w.-]*(?::[A-Za-z][\w.-]*)?(?:\s|/?>))")
_JSON = re.compile(r"\s*(?:\[\s*[{\]\"\[]|\{\s*\")")
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>\n]*\?>")
_BIBTEX = re.compile(r"^[ \t]*@[ \t]*[A-Za-z]\w*[ \t]*[{(]", re.MULTILINE)


def read_library(
    data: bytes,
    *,
    filename: str | None = None,
    max_entries: int = DEFAULT_MAX_ENTRIES,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> LibraryImport:
    """Read a reader's library export: BibTeX, RIS, Zotero CSV, Zotero RDF, CSL JSON or
    Zotero JSON, or a plain list of arXiv ids, arXiv URLs and DOIs.

    The format is recognised by content; `filename`'s extension only breaks ties. Every
    entry that cannot be read is a `LibraryProblem` with its line, and the rest are read.
    Entries for the same paper (same arXiv id or DOI, or the same title without
    conflicting ids) are merged into the first, which gains the fields it lacked.

    Limits: a file over `max_bytes` is refused; of a file with more than `max_entries`
    entries (readable or not) the first `max_entries` are read, `truncated` is set and a
    last problem names the line where reading stopped.

    Raises `LibraryError` (and nothing else) for a file that cannot be read at all: too
    large, empty, binary, or in none of these formats.
    """
    if len(data) > max_bytes:
        raise LibraryError(
            f"the file is too large ({_size(len(data))}); files up to {_size(max_bytes)} "
            "can be imported: split the library, or export a collection of it"
        )
    text = _decode(data)
    if not text.strip():
        raise LibraryError("the file is empty")
    kind = _sniff(text, filename)
    if kind is LibraryFormat.ZOTERO_RDF:
        # The decoded text, as UTF-8 without its declaration (which may name the original
        # encoding): lines stay where they were.
        xml = _XML_DECLARATION.sub("", text, count=1).encode("utf-8")
        records: Iterable[Record] = read_zotero_rdf(xml, limit=max_entries)
    elif kind is LibraryFormat.CSL_JSON:
        kind, records = read_json(text, limit=max_entries)
    else:
        records = _READERS[kind](text, limit=max_entries)
    entries, problems, truncated = _take(records, max_entries)
    merged, duplicates = merge_duplicates(entries)
    return LibraryImport(
        format=kind,
        entries=merged,
        problems=problems,
        duplicates=duplicates,
        truncated=truncated,
    )


_READERS: dict[LibraryFormat, Callable[..., Iterator[Record]]] = {
    LibraryFormat.BIBTEX: read_bibtex,
    LibraryFormat.RIS: read_ris,
    LibraryFormat.ZOTERO_CSV: read_zotero_csv,
    LibraryFormat.ID_LIST: read_id_list,
}


def _size(count: int) -> str:
    if count >= 1_000_000:
        return f"{count / 1_000_000:.1f} MB".replace(".0 MB", " MB")
    if count >= 1_000:
        return f"{count / 1_000:.0f} kB"
    return f"{count} bytes"


def _decode(data: bytes) -> str:
    """Text with ``\\n`` line ends: UTF-8 (with or without BOM), UTF-16 with a BOM, else
    Windows-1252 / Latin-1 (older BibTeX files). Binary files are refused; a few NUL bytes
    in a text file are dropped."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise LibraryError("the file claims to be UTF-16 text but is not") from exc
    else:
        for signature, what in _BINARY:
            if data.startswith(signature):
                raise LibraryError(f"this is {what}, not a library export: {_EXPORT_HINT}")
        head = data[:65_536]
        if head.count(b"\x00") * 1_000 > len(head):  # random bytes: 4 in 1,000
            raise LibraryError(f"this is a binary file, not a library export: {_EXPORT_HINT}")
        data = data.replace(b"\x00", b"")  # a few stray NULs in a text file: dropped
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            try:
                text = data.decode("cp1252")
            except UnicodeDecodeError:
                text = data.decode("latin-1")
    return text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def _sniff(text: str, filename: str | None) -> LibraryFormat:
    checks: dict[LibraryFormat, Callable[[], bool]] = {
        LibraryFormat.ZOTERO_RDF: lambda: _XML.match(text) is not None,
        LibraryFormat.CSL_JSON: lambda: _JSON.match(text) is not None,
        LibraryFormat.ZOTERO_CSV: lambda: header(text) is not None,
        LibraryFormat.RIS: lambda: _ris_before_bibtex(text),
        LibraryFormat.BIBTEX: lambda: _BIBTEX.search(text) is not None,
        LibraryFormat.ID_LIST: lambda: looks_like_id_list(text),
    }
    hint = _EXTENSIONS.get(PurePath(filename).suffix.lower()) if filename else None
    if hint is not None and checks[hint]():
        return hint
    for kind, check in checks.items():
        if check():
            return kind
    named = f" (named {PurePath(filename).name[:100]!r})" if filename else ""
    raise LibraryError(f"not a library file we can read{named}; tried {_TRIED}")


def _ris_before_bibtex(text: str) -> bool:
    if not looks_like_ris(text):
        return False
    bibtex = _BIBTEX.search(text)
    if bibtex is None:
        return True
    for match in re.finditer(r"^TY[ \t]", text, re.MULTILINE):
        line_end = text.find("\n", match.start())
        line = text[match.start() : line_end if line_end >= 0 else len(text)]
        if TAG.match(line):
            return match.start() < bibtex.start()
    return False


def _take(
    records: Iterable[Record], limit: int
) -> tuple[list[LibraryEntry], list[LibraryProblem], bool]:
    entries: list[LibraryEntry] = []
    problems: list[LibraryProblem] = []
    for count, record in enumerate(records):
        if count == limit:
            problems.append(
                LibraryProblem(
                    record.line,
                    f"reading stopped here: a file may hold at most {limit:,} entries; "
                    "this one and those after it were not imported",
                )
            )
            return entries, problems, True
        if isinstance(record, LibraryEntry):
            entries.append(record)
        else:
            problems.append(record)
    return entries, problems, False


def merge_duplicates(entries: Iterable[LibraryEntry]) -> tuple[list[LibraryEntry], int]:
    """Entries for the same paper merged into the first (which keeps its line and gains
    the fields it lacks), and how many were merged away.

    Same paper: the same arXiv id, or the same DOI, or the same title (ignoring case,
    accents and punctuation) unless the two carry different arXiv ids or different DOIs.
    An entry that matches two earlier ones (a title like one, the arXiv id of another)
    joins them into one.
    """
    groups: list[LibraryEntry | None] = []
    parent: list[int] = []  # union-find over `groups`
    seen: dict[str, int] = {}
    count = 0

    def root(index: int) -> int:
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    for entry in entries:
        count += 1
        matches = sorted({root(seen[key]) for key in _identities(entry) if key in seen})
        targets = [index for index in matches if _compatible(_group(groups, index), entry)]
        if not targets:
            first = len(groups)
            groups.append(entry)
            parent.append(first)
        else:
            first = targets[0]
            groups[first] = _fill(_group(groups, first), entry)
            for other in targets[1:]:
                if _compatible(_group(groups, first), _group(groups, other)):
                    groups[first] = _fill(_group(groups, first), _group(groups, other))
                    groups[other] = None
                    parent[other] = first
        for key in _identities(_group(groups, first)):
            seen.setdefault(key, first)
    merged = [group for group in groups if group is not None]
    return merged, count - len(merged)


def _group(groups: list[LibraryEntry | None], index: int) -> LibraryEntry:
    group = groups[index]
    assert group is not None  # roots are never merged away
    return group


def _identities(entry: LibraryEntry) -> list[str]:
    found = []
    if entry.arxiv_id:
        found.append(f"arxiv:{entry.arxiv_id}")
    if entry.doi:
        found.append(f"doi:{entry.doi}")
    title = title_identity(entry.title)
    if title:
        found.append(f"title:{title}")
    return found


def _compatible(first: LibraryEntry, second: LibraryEntry) -> bool:
    if first.arxiv_id and second.arxiv_id:
        return first.arxiv_id == second.arxiv_id
    return not (first.doi and second.doi and first.doi != second.doi)


def _fill(first: LibraryEntry, second: LibraryEntry) -> LibraryEntry:
    return replace(
        first,
        title=first.title or second.title,
        abstract=first.abstract or second.abstract,
        authors=first.authors or second.authors,
        year=first.year or second.year,
        arxiv_id=first.arxiv_id or second.arxiv_id,
        doi=first.doi or second.doi,
        url=first.url or second.url,
    )
