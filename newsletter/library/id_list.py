"""A plain list: one arXiv id, arXiv URL (abs or pdf, with or without version), DOI or
doi.org URL per line. Blank lines and ``#`` comments (whole lines, or after a space) are
ignored. The entries have no title: the caller looks them up (`LibraryEntry.needs_lookup`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from newsletter.library import ids
from newsletter.library.model import LibraryEntry, LibraryProblem

_COMMENT = re.compile(r"(?:^|\s)#.*$")
_SNIFF_LINES = 1_000


def _content(line: str) -> str:
    return _COMMENT.sub("", line).strip().strip("<>,;").strip()


def looks_like_id_list(text: str) -> bool:
    """At least half of the first (up to 1,000) non-comment lines are ids."""
    good = bad = 0
    for line in text.split("\n"):
        content = _content(line)
        if not content:
            continue
        if _entry(content, 0) is None:
            bad += 1
        else:
            good += 1
        if good + bad >= _SNIFF_LINES:
            break
    return good > 0 and good >= bad


def read_id_list(text: str, *, limit: int) -> Iterator[LibraryEntry | LibraryProblem]:
    for number, line in enumerate(text.split("\n"), 1):
        content = _content(line)
        if not content:
            continue
        entry = _entry(content, number)
        if entry is None:
            shown = content if len(content) <= 80 else content[:77] + "..."
            yield LibraryProblem(number, f"not an arXiv id, arXiv URL or DOI: {shown!r}; skipped")
        else:
            yield entry


def _entry(content: str, line: int) -> LibraryEntry | None:
    url = ids.clean_url(content) if content.lower().startswith("http") else None
    arxiv_id = ids.arxiv_id(content)
    doi = ids.normalise_doi(content)
    if arxiv_id is None and doi is None:
        return None
    return LibraryEntry(title="", line=line, arxiv_id=arxiv_id, doi=doi, url=url)
