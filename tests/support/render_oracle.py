"""The digest as it was rendered before newsletter.mail.digest assembled it from pieces: the
whole Jinja2 document per recipient, CSS inlined per message. Kept only as the oracle of
tests/mail/test_digest_assembly.py, which requires the two to agree byte for byte."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from markupsafe import Markup, escape

from newsletter.domain import SAMPLE_ORIGIN, Highlight, Match, is_sample
from newsletter.mail import render as rendering
from newsletter.mail.items import (
    EXCERPT_STEPS,
    PaperLinks,
    author_line,
    excerpt_end,
    merged_spans,
    paper_links,
)
from newsletter.mail.render import DigestLinks, Masthead, RenderedEmail

_MARK_OPEN = Markup('<mark class="hl">')
_MARK_CLOSE = Markup("</mark>")


@dataclass(frozen=True, slots=True)
class Item:
    number: int
    title: Markup
    url: str | None
    authors: str
    categories: str
    upvotes: int | None
    excerpt: Markup
    why: tuple[str, ...]
    links: tuple[tuple[str, str], ...]
    feedback: PaperLinks | None
    plain_title: str
    plain_excerpt: str
    section: str | None = None


def render_digest(
    *,
    matches: Sequence[Match],
    day: date,
    recipient: str,
    links: DigestLinks,
    masthead: Masthead,
    max_html_bytes: int = rendering.MAX_HTML_BYTES,
    topics: Sequence[str | None] = (),
) -> RenderedEmail:
    subject = rendering.digest_subject(len(matches), day)
    context = {
        "subject": subject,
        "recipient": recipient,
        "masthead": masthead,
        "view_url": links.view_in_browser,
        "preferences_url": links.preferences,
        "unsubscribe_url": links.unsubscribe,
        "headline": rendering.digest_headline(len(matches)),
        "day_label": rendering.long_date(day),
        "total": len(matches),
        "sample_origin": SAMPLE_ORIGIN if any(is_sample(m.paper) for m in matches) else None,
    }
    sections = _sections(topics, len(matches))
    full = build_items(
        matches, feedback=links.papers, excerpt_chars=EXCERPT_STEPS[0], sections=sections
    )

    def html_for(count: int, limit: int) -> str:
        if limit == EXCERPT_STEPS[0]:
            items = full[:count]
        else:
            items = build_items(
                matches[:count], feedback=links.papers, excerpt_chars=limit, sections=sections
            )
        return _html("digest.html", preheader=_preheader(items), items=items, **context)

    html, shown = _fit(matches, render=html_for, max_bytes=max_html_bytes)
    text = _text("digest.txt", items=full[:shown], **context)
    return RenderedEmail(subject=subject, html=html, text=text)


def _sections(topics: Sequence[str | None], count: int) -> list[str | None]:
    """A heading where the topic changes, when the digest has more than one topic."""
    names = [topics[n] if n < len(topics) else None for n in range(count)]
    if len(set(names)) == 1:
        return [None] * count
    shown: list[str | None] = []
    for number, name in enumerate(names):
        shown.append(name if number == 0 or names[number - 1] != name else None)
    return shown


def build_items(
    matches: Sequence[Match],
    *,
    feedback: Mapping[str, PaperLinks],
    excerpt_chars: int,
    sections: Sequence[str | None] = (),
) -> list[Item]:
    return [
        replace(
            _item(match, number=number, feedback=feedback.get(match.paper.id), limit=excerpt_chars),
            section=sections[number - 1] if sections else None,
        )
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
    page, others = paper_links(paper)
    return Item(
        number=number,
        title=highlighted(paper.title, match.highlights, field="title", end=len(paper.title)),
        url=page,
        authors=author_line(paper.authors),
        categories=" · ".join(paper.categories),
        upvotes=upvotes,
        excerpt=excerpt,
        why=match.why,
        links=others,
        feedback=feedback,
        plain_title=paper.title,
        plain_excerpt=plain_excerpt,
    )


def _ellipsis(kept: str) -> str:
    return "\u00a0…" if kept.endswith((".", "!", "?")) else "…"


def highlighted(text: str, highlights: Sequence[Highlight], *, field: str, end: int) -> Markup:
    marked: list[str] = []
    position = 0
    for start, stop in merged_spans(highlights, field=field, length=end):
        marked += [escape(text[position:start]), _MARK_OPEN, escape(text[start:stop]), _MARK_CLOSE]
        position = stop
    marked.append(escape(text[position:end].rstrip(",;: ") if end < len(text) else text[position:]))
    return Markup("").join(marked)


def _html(name: str, **context: Any) -> str:
    environment = rendering._environment()
    return rendering._inliner().inline(environment.get_template(name).render(**context))


def _text(name: str, **context: Any) -> str:
    return rendering._environment().get_template(name).render(**context).strip() + "\n"


def _fit(
    matches: Sequence[Match], *, render: Callable[[int, int], str], max_bytes: int
) -> tuple[str, int]:
    count = len(matches)
    html = render(count, EXCERPT_STEPS[0])
    size = first = len(html.encode())
    if size <= max_bytes:
        return html, count
    longest = _excerpt_chars(matches, limit=EXCERPT_STEPS[0])
    for limit in EXCERPT_STEPS[1:]:
        size = first - longest + _excerpt_chars(matches, limit=limit)
        if size > max_bytes * 1.1:
            continue
        html = render(count, limit)
        size = len(html.encode())
        if size <= max_bytes:
            return html, count
    keep = count
    while keep > 1:
        keep = max(1, min(keep - 1, int(keep * max_bytes / size)))
        html = render(keep, EXCERPT_STEPS[-1])
        size = len(html.encode())
        if size <= max_bytes:
            return html, keep
    raise ValueError(f"a digest with one paper takes {size} bytes, over {max_bytes}")


def _excerpt_chars(matches: Sequence[Match], *, limit: int) -> int:
    return sum(excerpt_end(match.paper.abstract, limit=limit) for match in matches)


def _preheader(items: Sequence[Item]) -> str:
    titles = " · ".join(item.plain_title for item in items[:3])
    return titles if len(titles) <= 140 else titles[:139] + "…"
