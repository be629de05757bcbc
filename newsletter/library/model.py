"""What reading a library gives: entries, problems with their lines, and the one error type."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from newsletter.library import ids
from newsletter.library.text import clean
from newsletter.normalize import content_id

DEFAULT_MAX_BYTES = 5_000_000
DEFAULT_MAX_ENTRIES = 2_000
MAX_TITLE = 1_000
MAX_ABSTRACT = 10_000
MAX_AUTHORS = 100
MAX_NAME = 200


class LibraryError(ValueError):
    """The file as a whole cannot be read: too large, empty, binary, or in no format we read.

    The only exception `read_library` raises; its message can be shown to the reader as is.
    """


class LibraryFormat(StrEnum):
    BIBTEX = "bibtex"
    RIS = "ris"
    ZOTERO_CSV = "zotero-csv"
    ZOTERO_RDF = "zotero-rdf"
    CSL_JSON = "csl-json"
    ZOTERO_JSON = "zotero-json"
    ID_LIST = "id-list"

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    LibraryFormat.BIBTEX: "BibTeX",
    LibraryFormat.RIS: "RIS",
    LibraryFormat.ZOTERO_CSV: "Zotero CSV",
    LibraryFormat.ZOTERO_RDF: "Zotero RDF",
    LibraryFormat.CSL_JSON: "CSL JSON",
    LibraryFormat.ZOTERO_JSON: "Zotero JSON",
    LibraryFormat.ID_LIST: "a list of arXiv ids, arXiv URLs and DOIs",
}


@dataclass(frozen=True, slots=True)
class LibraryEntry:
    """One paper of the reader's library, cleaned: plain one-line text, no LaTeX.

    `title` is empty only for a bare id from a list (`needs_lookup`): the caller finds the
    paper's text by `arxiv_id` or `doi`, or keeps the id alone. `line` is the 1-based line of
    the file where the entry starts.
    """

    title: str
    line: int
    abstract: str = ""
    authors: tuple[str, ...] = ()
    year: int | None = None
    arxiv_id: str | None = None
    doi: str | None = None
    url: str | None = None

    @property
    def needs_lookup(self) -> bool:
        return not self.title

    @property
    def key(self) -> str:
        """What makes two entries the same paper: the arXiv id (as `Paper.id` writes it),
        else ``doi:`` and the DOI, else `content_id` of the title (``local:…``)."""
        if self.arxiv_id:
            return self.arxiv_id
        if self.doi:
            return f"doi:{self.doi}"
        return content_id(self.title)


@dataclass(frozen=True, slots=True)
class LibraryProblem:
    """An entry that could not be imported, and why, in words a reader can act on."""

    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass(frozen=True, slots=True)
class LibraryImport:
    """The readable entries (duplicates within the file merged) and the unreadable ones.

    `duplicates` counts entries merged into an earlier one for the same paper. `truncated`
    says the file held more than `max_entries` entries: the first ones were read, and the
    last problem names the line where reading stopped.
    """

    format: LibraryFormat
    entries: list[LibraryEntry] = field(default_factory=list)
    problems: list[LibraryProblem] = field(default_factory=list)
    duplicates: int = 0
    truncated: bool = False


def make_entry(
    *,
    line: int,
    what: str,
    title: str,
    no_title: str = "",
    abstract: str = "",
    authors: tuple[str, ...] | list[str] = (),
    year: int | None = None,
    arxiv_id: str | None = None,
    doi: str | None = None,
    url: str | None = None,
    id_texts: tuple[str | None, ...] = (),
) -> LibraryEntry | LibraryProblem:
    """An entry from already decoded fields, or a problem when it has no title.

    `what` names the entry in a problem (``entry `smith2020` ``) and `no_title` says where a
    title was looked for; `id_texts` are free-text fields (notes, Zotero's Extra) searched
    for an arXiv id or DOI the fields lack.
    """
    title = clean(title, limit=MAX_TITLE)
    if not title:
        where = f" ({no_title})" if no_title else ""
        return LibraryProblem(line, f"{what} has no title{where}; skipped")
    if doi is not None:
        doi = ids.normalise_doi(doi) or ids.find_doi(doi)
    url = ids.clean_url(url)
    if arxiv_id is None:
        arxiv_id = ids.find_arxiv_id(doi, url, *id_texts)
    if doi is None:
        doi = ids.find_doi(*id_texts)
    names = (clean(name, limit=MAX_NAME) for name in authors)
    return LibraryEntry(
        title=title,
        line=line,
        abstract=clean(abstract, limit=MAX_ABSTRACT),
        authors=tuple(name for name in names if name)[:MAX_AUTHORS],
        year=year,
        arxiv_id=arxiv_id,
        doi=doi,
        url=url,
    )
