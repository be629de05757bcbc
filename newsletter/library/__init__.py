"""Importing a reader's library: the papers they already know, from the file their reference
manager exports, as liked examples.

Pure: bytes in, entries and problems out; no I/O, settings or database. The web upload and
the ``subscribers library`` command call `read_library`; both show `LibraryProblem`s (each
with its line) and a `LibraryError`'s message to the reader as they are.

    result = read_library(data, filename="papers.bib")
    for entry in result.entries:       # LibraryEntry: title, abstract, authors, year,
        ...                            # arxiv_id, doi, url, line; .key, .needs_lookup
    for problem in result.problems:    # LibraryProblem: line, reason
        ...
"""

from newsletter.library.model import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_ENTRIES,
    LibraryEntry,
    LibraryError,
    LibraryFormat,
    LibraryImport,
    LibraryProblem,
)
from newsletter.library.reader import merge_duplicates, read_library

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_ENTRIES",
    "LibraryEntry",
    "LibraryError",
    "LibraryFormat",
    "LibraryImport",
    "LibraryProblem",
    "merge_duplicates",
    "read_library",
]
