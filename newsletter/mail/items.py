"""One paper as a digest shows it: the title and a fair excerpt of the abstract with the
matched words highlighted, a short author line, and the links to the paper and its code.

newsletter.mail.layout renders what a paper shows to everyone once; `marked` splits a
reader's title and excerpt at their highlights for newsletter.mail.digest, which escapes
them. Source-supplied URLs are checked here before any template sees them.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from newsletter.domain import Highlight, Paper
from newsletter.normalize import is_arxiv_id, paper_page

AUTHORS_SHOWN = 4
# Excerpt lengths tried, longest first, before papers are dropped to fit the HTML budget; the
# text part always shows the longest.
EXCERPT_STEPS = (900, 600, 400, 250)

# A sentence ends at . ! or ? before a space, unless it is a common abbreviation.
_SENTENCE_END = re.compile(
    r"[.!?](?<!\be\.g\.)(?<!\bi\.e\.)(?<!\bal\.)(?<!\bvs\.)(?<!\bcf\.)(?<!\bFig\.)(?=\s)"
)


@dataclass(frozen=True, slots=True)
class PaperLinks:
    """A paper's feedback links, built by the caller (rendering re-exports this type)."""

    more_like_this: str
    less_like_this: str


def paper_links(paper: Paper) -> tuple[str | None, tuple[tuple[str, str], ...]]:
    """The paper's page (None: it has none), and its other links as (label, URL)."""
    hf = paper.hf
    candidates = [
        ("PDF", _safe_url(paper.pdf_url) or _id_url(paper, "https://arxiv.org/pdf/")),
        ("Hugging Face", _id_url(paper, "https://huggingface.co/papers/") if hf else None),
        ("Code", _safe_url(hf.github_repo) if hf is not None else None),
        ("Project page", _safe_url(hf.project_page) if hf is not None else None),
    ]
    page = _safe_url(paper.abs_url) or _safe_url(paper_page(paper.id))
    return page, tuple((label, url) for label, url in candidates if url)


def _id_url(paper: Paper, prefix: str) -> str | None:
    # Papers without an arXiv id (doi:…, url:…, local:…) have no page on arXiv or Hugging Face.
    return prefix + paper.id if is_arxiv_id(paper.id) else None


def _safe_url(url: str | None) -> str | None:
    """Source-supplied URLs only when http(s): escaping does not stop a javascript: href."""
    if url and url.strip().lower().startswith(("https://", "http://")):
        return url.strip()
    return None


def author_line(authors: Sequence[str]) -> str:
    if len(authors) <= AUTHORS_SHOWN:
        return ", ".join(authors)
    return ", ".join(authors[:AUTHORS_SHOWN]) + " et al."


@functools.lru_cache(maxsize=16384)
def excerpt_end(text: str, *, limit: int) -> int:
    """Where a fair excerpt of at most `limit` characters ends: after the last whole sentence
    when that keeps most of the limit, else at the last word boundary. Cached: a paper is
    cut the same way for every reader."""
    if len(text) <= limit:
        return len(text)
    sentence_ends = [m.end() for m in _SENTENCE_END.finditer(text, 0, limit)]
    if sentence_ends and sentence_ends[-1] >= limit * 0.6:
        return sentence_ends[-1]
    space = text.rfind(" ", 0, limit + 1)
    return space if space > limit // 2 else limit


def plain_excerpt(text: str, *, limit: int) -> str:
    """The excerpt as the text part shows it: cut, trailing punctuation dropped, an ellipsis."""
    end = excerpt_end(text, limit=limit)
    if end == len(text):
        return text
    return text[:end].rstrip(",;: ") + ellipsis(text[:end])


def ellipsis(kept: str) -> str:
    # A no-break space: the text part's wrapping must not leave "…" alone on a line.
    return "\u00a0…" if kept.endswith((".", "!", "?")) else "…"


def marked(text: str, highlights: Sequence[Highlight], *, field: str, end: int) -> list[str]:
    """`text[:end]` as segments [plain, marked, plain, …, plain], the marked ones being the
    highlighted spans of `field` (a cut excerpt also loses its trailing punctuation).

    Spans may overlap, be unsorted, or lie beyond the text (it changed since matching):
    they are clamped, merged, and dropped when empty."""
    segments: list[str] = []
    position = 0
    for start, stop in merged_spans(highlights, field=field, length=end):
        segments += [text[position:start], text[start:stop]]
        position = stop
    segments.append(text[position:end].rstrip(",;: ") if end < len(text) else text[position:])
    return segments


def merged_spans(
    highlights: Sequence[Highlight], *, field: str, length: int
) -> list[tuple[int, int]]:
    spans = sorted((max(h.start, 0), min(h.end, length)) for h in highlights if h.field == field)
    merged: list[tuple[int, int]] = []
    for start, stop in spans:
        if start >= stop:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(stop, merged[-1][1]))
        else:
            merged.append((start, stop))
    return merged
