"""One paper as a digest shows it: the title and a fair excerpt of the abstract with the
matched words highlighted, a short author line, and the links to the paper and its code.

newsletter.mail.render builds these Items once per excerpt length and hands them to the
templates; everything here is escaped or checked (URLs) before a template sees it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from newsletter.domain import Highlight, Match, Paper
from newsletter.normalize import is_arxiv_id, paper_page

AUTHORS_SHOWN = 4

# A sentence ends at . ! or ? before a space, unless it is a common abbreviation.
_SENTENCE_END = re.compile(
    r"[.!?](?<!\be\.g\.)(?<!\bi\.e\.)(?<!\bal\.)(?<!\bvs\.)(?<!\bcf\.)(?<!\bFig\.)(?=\s)"
)
_MARK_OPEN = Markup('<mark class="hl">')
_MARK_CLOSE = Markup("</mark>")


@dataclass(frozen=True, slots=True)
class PaperLinks:
    """A paper's feedback links, built by the caller (rendering re-exports this type)."""

    more_like_this: str
    less_like_this: str


@dataclass(frozen=True, slots=True)
class Item:
    """One paper as the templates show it; text is escaped and marked up here, once."""

    number: int
    title: Markup
    url: str | None
    authors: str
    categories: str
    upvotes: int | None
    excerpt: Markup
    why: tuple[str, ...]
    links: tuple[tuple[str, str], ...]  # (label, URL)
    feedback: PaperLinks | None
    plain_title: str  # the same text, unmarked, for the plain-text part
    plain_excerpt: str


def build_items(
    matches: Sequence[Match], *, feedback: Mapping[str, PaperLinks], excerpt_chars: int
) -> list[Item]:
    """The matches as numbered Items; `feedback` holds each paper's links by paper id."""
    return [
        _item(match, number=number, feedback=feedback.get(match.paper.id), limit=excerpt_chars)
        for number, match in enumerate(matches, 1)
    ]


def _item(match: Match, *, number: int, feedback: PaperLinks | None, limit: int) -> Item:
    paper = match.paper
    abstract_end = excerpt_end(paper.abstract, limit=limit)
    excerpt = highlighted(paper.abstract, match.highlights, field="abstract", end=abstract_end)
    plain_excerpt = paper.abstract
    if abstract_end < len(paper.abstract):
        plain_excerpt = paper.abstract[:abstract_end].rstrip(",;: ")
        plain_excerpt += _ellipsis(paper.abstract[:abstract_end])
        excerpt += _ellipsis(paper.abstract[:abstract_end])
    upvotes = paper.hf.upvotes if paper.hf is not None else None
    return Item(
        number=number,
        title=highlighted(paper.title, match.highlights, field="title", end=len(paper.title)),
        url=_safe_url(paper.abs_url) or _safe_url(paper_page(paper.id)),
        authors=author_line(paper.authors),
        categories=" · ".join(paper.categories),
        upvotes=upvotes,
        excerpt=excerpt,
        why=match.why,
        links=_paper_links(paper),
        feedback=feedback,
        plain_title=paper.title,
        plain_excerpt=plain_excerpt,
    )


def _paper_links(paper: Paper) -> tuple[tuple[str, str], ...]:
    hf = paper.hf
    candidates = [
        ("PDF", _safe_url(paper.pdf_url) or _id_url(paper, "https://arxiv.org/pdf/")),
        ("Hugging Face", _id_url(paper, "https://huggingface.co/papers/") if hf else None),
        ("Code", _safe_url(hf.github_repo) if hf is not None else None),
        ("Project page", _safe_url(hf.project_page) if hf is not None else None),
    ]
    return tuple((label, url) for label, url in candidates if url)


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


def excerpt_end(text: str, *, limit: int) -> int:
    """Where a fair excerpt of at most `limit` characters ends: after the last whole sentence
    when that keeps most of the limit, else at the last word boundary."""
    if len(text) <= limit:
        return len(text)
    sentence_ends = [m.end() for m in _SENTENCE_END.finditer(text, 0, limit)]
    if sentence_ends and sentence_ends[-1] >= limit * 0.6:
        return sentence_ends[-1]
    space = text.rfind(" ", 0, limit + 1)
    return space if space > limit // 2 else limit


def _ellipsis(kept: str) -> str:
    # A no-break space: the text part's wrapping must not leave "…" alone on a line.
    return "\u00a0…" if kept.endswith((".", "!", "?")) else "…"


def highlighted(text: str, highlights: Sequence[Highlight], *, field: str, end: int) -> Markup:
    """`text[:end]` escaped, with the highlighted spans of `field` wrapped in <mark>.

    Spans may overlap, be unsorted, or lie beyond the text (it changed since matching):
    they are clamped, merged, and dropped when empty."""
    marked: list[str] = []
    position = 0
    for start, stop in merged_spans(highlights, field=field, length=end):
        marked += [escape(text[position:start]), _MARK_OPEN, escape(text[start:stop]), _MARK_CLOSE]
        position = stop
    marked.append(escape(text[position:end].rstrip(",;: ") if end < len(text) else text[position:]))
    return Markup("").join(marked)


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
