"""A reader's digest, assembled from pieces compiled once (newsletter.mail.layout).

Per reader only their own values are made: the subject, numbers, the title and excerpt cut
at their highlights, reasons and signed links. Joined with the compiled pieces they give,
byte for byte, what rendering digest.html and digest.txt for that reader gives
(tests/mail/test_digest_assembly.py compares the two on a recorded day). The HTML must stay
under the size budget: excerpts are shortened, then papers dropped from the end (the least
relevant); each try is a join, not a render.

A digest is a list of rows after the masthead, each a kind of part, its piece and its
values; what goes between two parts depends on their kinds. A row is a paper or, in a mail
of several topics, a topic's heading (`section`) before the topic's first paper: a part
compiled like the others, its name the reader's value. A mail of one topic (or of papers
with no topic) has no heading, so it is what it was before topics. Papers are numbered
through the whole mail; a heading whose papers were all dropped to fit goes with them.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from newsletter.domain import SAMPLE_ORIGIN, Match, Paper, is_sample
from newsletter.mail.items import EXCERPT_STEPS, PaperLinks, ellipsis, excerpt_end, marked
from newsletter.mail.layout import Compiler, Frame, PaperPieces
from newsletter.mail.pieces import Piece, fill_into
from newsletter.mail.templates import (
    MAX_HTML_BYTES,
    Masthead,
    RenderedEmail,
    long_date,
    short_date,
)

PREHEADER_TITLES = 3
PREHEADER_CHARS = 140
PAPERS_KEPT = 4096  # compiled papers kept per masthead: days of papers, a few MB


@dataclass(frozen=True, slots=True)
class DigestLinks:
    view_in_browser: str
    preferences: str
    unsubscribe: str
    papers: Mapping[str, PaperLinks]  # by paper id; a missing id -> no feedback links


Row = tuple[str, Piece, Mapping[str, Any]]  # the part's kind, its piece, its values


def render_digest(
    *,
    matches: Sequence[Match],
    day: date,
    recipient: str,
    links: DigestLinks,
    masthead: Masthead,
    max_html_bytes: int = MAX_HTML_BYTES,
    topics: Sequence[str | None] = (),
) -> RenderedEmail:
    """The day's digest; `topics`: the name of each match's topic, in the same order (the
    matches of a topic together), headings when there are several. Raises ValueError
    without matches (send `render_quiet_day`) or when not even one paper fits in
    `max_html_bytes`."""
    if not matches:
        raise ValueError("a digest needs at least one match; render the quiet-day note instead")
    # A digest of the bundled sample day says so (see pipeline/sample.py).
    sample = SAMPLE_ORIGIN if any(is_sample(m.paper) for m in matches) else None
    return layout(masthead, sample).render(
        matches,
        day=day,
        recipient=recipient,
        links=links,
        max_html_bytes=max_html_bytes,
        headings=topic_headings(topics, len(matches)),
    )


def topic_headings(topics: Sequence[str | None], count: int) -> list[str | None]:
    """The heading before each of `count` matches: a topic's name before its first match,
    None elsewhere, and none at all unless the matches span several topics."""
    names = list(topics[:count]) + [None] * (count - len(topics))
    if len(set(names)) < 2:
        return [None] * count
    return [
        name if index == 0 or name != names[index - 1] else None for index, name in enumerate(names)
    ]


@functools.lru_cache(maxsize=8)
def layout(masthead: Masthead, sample_origin: str | None = None) -> DigestLayout:
    return DigestLayout(masthead, sample_origin)


def digest_subject(count: int, day: date) -> str:
    return f"{digest_headline(count)} — {short_date(day)}"


def digest_headline(count: int) -> str:
    noun = "paper" if count == 1 else "papers"
    return f"{count} new {noun} on your interests"


class DigestLayout:
    """The compiled digest for one masthead, and the papers compiled so far."""

    def __init__(self, masthead: Masthead, sample_origin: str | None = None) -> None:
        self._compiler = Compiler(masthead, sample_origin)
        self._html, self._text = self._compiler.frames()
        self._papers: dict[Paper, PaperPieces] = {}
        self._lock = threading.Lock()  # the web app renders from worker threads

    def render(
        self,
        matches: Sequence[Match],
        *,
        day: date,
        recipient: str,
        links: DigestLinks,
        max_html_bytes: int,
        headings: Sequence[str | None] = (),
    ) -> RenderedEmail:
        count = len(matches)
        sections = list(headings) or [None] * count
        pieces = self._pieces([m.paper for m in matches])
        reader = {
            "subject": digest_subject(count, day),
            "recipient": recipient,
            "view_url": links.view_in_browser,
            "preferences_url": links.preferences,
            "unsubscribe_url": links.unsubscribe,
            "headline": digest_headline(count),
            "day_label": long_date(day),
        }
        values = [
            _paper_values(number, match, links.papers.get(match.paper.id))
            for number, match in enumerate(matches, 1)
        ]
        shapes = [(bool(m.why), links.papers.get(m.paper.id) is not None) for m in matches]

        def html_for(shown: int, limit: int) -> str:
            rows: list[Row] = []
            for index in range(shown):
                paper = values[index]
                if limit != EXCERPT_STEPS[0]:
                    paper = {**paper, "excerpt": _excerpt(matches[index], limit)}
                _heading(rows, self._html, sections[index])
                rows.append(("paper", pieces[index].html[shapes[index]], paper))
            return _join(self._html, reader, rows, matches[:shown], hidden=count - shown)

        html, shown = fit(matches, render=html_for, max_bytes=max_html_bytes)
        # The text part shows the same papers, with full-length excerpts: it has no size limit.
        rows: list[Row] = []
        for index in range(shown):
            _heading(rows, self._text, sections[index])
            rows.append(("paper", pieces[index].text[shapes[index]], values[index]))
        text = _join(self._text, reader, rows, matches[:shown], hidden=count - shown)
        return RenderedEmail(subject=reader["subject"], html=html, text=text.strip() + "\n")

    def _pieces(self, papers: list[Paper]) -> list[PaperPieces]:
        with self._lock:
            found = {paper: self._papers[paper] for paper in papers if paper in self._papers}
        missing = [paper for paper in dict.fromkeys(papers) if paper not in found]
        if missing:
            compiled = dict(zip(missing, self._compiler.papers(missing), strict=True))
            found.update(compiled)
            with self._lock:
                if len(self._papers) + len(compiled) > PAPERS_KEPT:
                    self._papers.clear()
                self._papers.update(compiled)
        return [found[paper] for paper in papers]


def _join(
    frame: Frame,
    reader: dict[str, Any],
    rows: Sequence[Row],
    shown: Sequence[Match],
    *,
    hidden: int,
) -> str:
    values = {**reader, "preheader": _preheader(shown), "hidden": hidden}
    between = frame.between
    out: list[str] = []
    fill_into(out, frame.start, values)
    fill_into(out, frame.masthead, values)
    kind = "masthead"
    for following, part, part_values in rows:
        fill_into(out, between[kind, following], values)
        fill_into(out, part, part_values)
        kind = following
    if hidden:
        fill_into(out, between[kind, "more"], values)
        fill_into(out, frame.more, values)
        kind = "more"
    fill_into(out, between[kind, "end"], values)
    return "".join(out)


def _heading(rows: list[Row], frame: Frame, name: str | None) -> None:
    if name is not None:
        rows.append(("section", frame.section, {"section": name}))


def _paper_values(number: int, match: Match, feedback: PaperLinks | None) -> dict[str, Any]:
    paper = match.paper
    return {
        "number": number,
        "title": marked(paper.title, match.highlights, field="title", end=len(paper.title)),
        "excerpt": _excerpt(match, EXCERPT_STEPS[0]),
        "why": match.why,
        "more": feedback.more_like_this if feedback else "",
        "less": feedback.less_like_this if feedback else "",
    }


def _excerpt(match: Match, limit: int) -> list[str]:
    abstract = match.paper.abstract
    end = excerpt_end(abstract, limit=limit)
    segments = marked(abstract, match.highlights, field="abstract", end=end)
    if end < len(abstract):
        segments[-1] += ellipsis(abstract[:end])
    return segments


def _preheader(matches: Sequence[Match]) -> str:
    """The inbox preview: the first titles, which say more than any greeting."""
    titles = " · ".join(m.paper.title for m in matches[:PREHEADER_TITLES])
    return titles if len(titles) <= PREHEADER_CHARS else titles[: PREHEADER_CHARS - 1] + "…"


def fit(
    matches: Sequence[Match], *, render: Callable[[int, int], str], max_bytes: int
) -> tuple[str, int]:
    """The HTML and how many papers it shows: excerpts shortened first, then papers
    dropped from the end (the least relevant) until the UTF-8 size fits."""
    count = len(matches)
    html = render(count, EXCERPT_STEPS[0])
    size = first = len(html.encode())
    if size <= max_bytes:
        return html, count
    longest = _excerpt_chars(matches, limit=EXCERPT_STEPS[0])
    for limit in EXCERPT_STEPS[1:]:
        # Each character cut saves about a byte: skip the lengths that cannot fit.
        size = first - longest + _excerpt_chars(matches, limit=limit)
        if size > max_bytes * 1.1:
            continue
        html = render(count, limit)
        size = len(html.encode())
        if size <= max_bytes:
            return html, count
    keep = count
    while keep > 1:
        # Size grows about linearly with the papers shown: jump close, then step down.
        keep = max(1, min(keep - 1, int(keep * max_bytes / size)))
        html = render(keep, EXCERPT_STEPS[-1])
        size = len(html.encode())
        if size <= max_bytes:
            return html, keep
    raise ValueError(f"a digest with one paper takes {size} bytes, over {max_bytes}")


def _excerpt_chars(matches: Sequence[Match], *, limit: int) -> int:
    return sum(excerpt_end(match.paper.abstract, limit=limit) for match in matches)
