"""The digest templates compiled into pieces, rendered and CSS-inlined once, filled per reader.

digest.html (and digest.txt) is a frame (base.html) around parts: the masthead, one part per
paper, a topic's heading before its first paper in a mail of several topics, maybe a "more"
row. To compile, the whole digest is rendered once with probe values
(newsletter.mail.pieces) and each part between two markers, then CSS-inlined as a whole, so
every part gets exactly the styles it gets in a real digest, and cut at the markers. What
lies between the parts (line ends, the text part's rules) is read from the same render.

A paper's part depends on the paper alone once its reader's values are holes: each paper is
compiled once in its four shapes (with or without reasons, with or without feedback links)
and kept while it is in use; the frame, masthead, heading and "more" row once per masthead
(a heading's topic name is a reader's value).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from jinja2 import ChoiceLoader, DictLoader, Environment
from markupsafe import Markup

from newsletter.domain import Paper, Source
from newsletter.mail import templates
from newsletter.mail.items import (
    EXCERPT_STEPS,
    PaperLinks,
    author_line,
    paper_links,
    plain_excerpt,
)
from newsletter.mail.pieces import Piece, Probe

Shape = tuple[bool, bool]  # (has reasons, has feedback links)
SHAPES: tuple[Shape, ...] = ((True, True), (True, False), (False, True), (False, False))
PARTS = {"masthead": "digest_masthead", "paper": "digest_paper", "more": "digest_more",
         "section": "digest_section"}  # fmt: skip
# How digest.html marks a highlighted span (its CSS class is "hl").
MARK_OPEN, MARK_CLOSE = '<mark class="hl">', "</mark>"
READER_VALUES = ("subject", "preheader", "recipient", "view_url", "preferences_url",
                 "unsubscribe_url", "headline", "day_label", "hidden")  # fmt: skip


@dataclass(frozen=True, slots=True)
class Frame:
    """One part of the mail (HTML or text) around its papers: `start`, the masthead, the rows
    (papers and topics' headings, `section`), maybe the "more" row; `between[(kind, next
    kind)]` goes between two parts ("end": the rest of the document after the last part)."""

    start: Piece
    masthead: Piece
    more: Piece
    section: Piece
    between: dict[tuple[str, str], Piece]


@dataclass(frozen=True, slots=True)
class PaperPieces:
    html: dict[Shape, Piece]
    text: dict[Shape, Piece]


@dataclass(frozen=True, slots=True)
class ProbeItem:
    """What the digest templates read of a paper (`item.…`), the reader's part as probes."""

    key: str  # names this item's part among the markers
    number: str
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
    section: str | None = None  # the topic's heading before this paper, if any


class Compiler:
    """`sample_origin`: the bundled sample day's source when the digest shows it (the
    masthead says so; see pipeline/sample.py), else None."""

    def __init__(self, masthead: templates.Masthead, sample_origin: str | None = None) -> None:
        self.masthead = masthead
        self.sample_origin = sample_origin
        self.probe = Probe()
        base = templates.environment()
        stubs = {f"{name}.{suffix}": f'{{{{ _part("{kind}", item) }}}}'
                 for kind, name in PARTS.items() for suffix in ("html", "txt")}  # fmt: skip
        # New caches: templates compiled in an overlay use the overlay's filters and globals.
        assert base.loader is not None
        self._skeleton = base.overlay(loader=ChoiceLoader([DictLoader(stubs), base.loader]))
        self._skeleton.globals = {**base.globals, "_part": self._stub}
        self._parts: Environment = base.overlay(cache_size=100)
        for overlay in (self._skeleton, self._parts):
            overlay.filters = {**base.filters, "wrap": self.probe.wrap_filter(templates.wrap),
                               "wordwrap": _no_reader_values}  # fmt: skip

    def frames(self) -> tuple[Frame, Frame]:
        """The HTML and text frames, read from digests of two sample papers with and without
        a "more" row and topics' headings (which shows what goes between each two kinds of
        part)."""
        sample = Paper(
            "local:probe", title="Probe", abstract="Probe.", sources=(Source.JSON_LINES,)
        )
        items = [self._item(sample, SHAPES[0], key) for key in ("0", "1")]
        return self._frame(items, html=True), self._frame(items, html=False)

    def papers(self, papers: Sequence[Paper]) -> list[PaperPieces]:
        """Each paper in all its shapes, in one render (and one CSS inlining) for them all."""
        items = [self._item(p, shape, f"{n}:{s}") for n, p in enumerate(papers)
                 for s, shape in enumerate(SHAPES)]  # fmt: skip
        html = dict(self._parts_of(items, html=True))
        text = dict(self._parts_of(items, html=False))
        return [
            PaperPieces(
                html={shape: html[("paper", f"{n}:{s}")] for s, shape in enumerate(SHAPES)},
                text={shape: text[("paper", f"{n}:{s}")] for s, shape in enumerate(SHAPES)},
            )
            for n in range(len(papers))
        ]

    def _frame(self, plain: list[ProbeItem], *, html: bool) -> Frame:
        between: dict[tuple[str, str], Piece] = {}
        pieces: dict[str, Piece] = {}
        headed = [replace(item, section=self.probe.slot("section")) for item in plain]
        for more, items in itertools.product((True, False), (plain, headed)):
            parts, gaps = self._cut(items, html=html, more=more)
            kinds = [kind for (kind, _), _ in parts]
            for index, following in enumerate([*kinds[1:], "end"]):
                pair = (kinds[index], following)
                if between.setdefault(pair, gaps[index + 1]) != gaps[index + 1]:
                    raise ValueError(f"digest templates: {pair} parts are not always apart alike")
            pieces.update({kind: piece for (kind, _), piece in parts})
            start = gaps[0]
        return Frame(
            start=start,
            masthead=pieces["masthead"],
            more=pieces["more"],
            section=pieces["section"],
            between=between,
        )

    def _parts_of(
        self, items: list[ProbeItem], *, html: bool
    ) -> list[tuple[tuple[str, str], Piece]]:
        parts, _ = self._cut(items, html=html)
        return parts

    def _cut(
        self, items: list[ProbeItem], *, html: bool, more: bool = True
    ) -> tuple[list[tuple[tuple[str, str], Piece]], list[Piece]]:
        """The probe render cut into its parts (by kind and key) and what lies between."""
        document, order = self._document(items, html=html, more=more)
        parts: list[tuple[tuple[str, str], Piece]] = []
        between: list[Piece] = []
        position = 0
        for kind, key in order:
            begin, end = self._markers(kind, key, html=html)
            start = document.index(begin, position)
            stop = document.index(end, start)
            between.append(self._parse(document[position:start], html=html))
            parts.append(((kind, key), self._parse(document[start + len(begin) : stop], html=html)))
            position = stop + len(end)
        between.append(self._parse(document[position:], html=html))
        return parts, between

    def _document(
        self, items: list[ProbeItem], *, html: bool, more: bool
    ) -> tuple[str, list[tuple[str, str]]]:
        """The digest with each part rendered between its markers, CSS inlined for HTML."""
        suffix = "html" if html else "txt"
        context = self._context(items, more=more)
        skeleton = self._skeleton.get_template(f"digest.{suffix}").render(context)
        by_key = {item.key: item for item in items}
        tokens = self.probe.split(skeleton)
        order: list[tuple[str, str]] = []
        for index in range(1, len(tokens), 2):
            if not tokens[index].startswith("part "):  # a reader's value: stays a probe
                tokens[index] = self.probe.slot(tokens[index])
                continue
            _, kind, key = tokens[index].split(" ", 2)
            order.append((kind, key))
            part = self._parts.get_template(f"{PARTS[kind]}.{suffix}")
            rendered = part.render({**context, "item": by_key.get(key)})
            begin, end = self._markers(kind, key, html=html)
            tokens[index] = begin + rendered + end
        document = "".join(tokens)
        return (templates.inliner().inline(document) if html else document), order

    def _context(self, items: list[ProbeItem], *, more: bool) -> dict[str, Any]:
        values: dict[str, Any] = {name: self.probe.slot(name) for name in READER_VALUES}
        total = len(items) + more
        return {
            **values,
            "masthead": self.masthead,
            "sample_origin": self.sample_origin,
            "items": items,
            "total": total,
        }

    def _stub(self, kind: str, item: object) -> Markup:
        key = item.key if isinstance(item, ProbeItem) else ""
        return Markup(self.probe.slot(f"part {kind} {key}"))  # noqa: S704 (our own marker)

    def _markers(self, kind: str, key: str, *, html: bool) -> tuple[str, str]:
        begin, end = self.probe.slot(f"[{kind} {key}"), self.probe.slot(f"]{kind} {key}")
        # Comments stay where they are when the HTML is parsed, even between table rows.
        return (f"<!--{begin}-->", f"<!--{end}-->") if html else (begin, end)

    def _parse(self, text: str, *, html: bool) -> Piece:
        return self.probe.parse(text, html=html, wrap=templates.wrap)

    def _item(self, paper: Paper, shape: Shape, key: str) -> ProbeItem:
        slot = self.probe.slot
        why, feedback = shape
        page, others = paper_links(paper)
        return ProbeItem(
            key=key,
            number=slot("number"),
            title=self._marked("title"),
            url=page,
            authors=author_line(paper.authors),
            categories=" · ".join(paper.categories),
            upvotes=paper.hf.upvotes if paper.hf is not None else None,
            excerpt=self._marked("excerpt"),
            why=(slot("why#0"), slot("why#1")) if why else (),
            links=others,
            feedback=PaperLinks(slot("more"), slot("less")) if feedback else None,
            plain_title=paper.title,
            plain_excerpt=plain_excerpt(paper.abstract, limit=EXCERPT_STEPS[0]),
        )

    def _marked(self, name: str) -> Markup:
        slot = self.probe.slot
        markup = f"{slot(name)}{MARK_OPEN}{slot(name + '~')}{MARK_CLOSE}{slot(name + '$')}"
        return Markup(markup)  # noqa: S704 (our own markers and tags, no outside text)


def _no_reader_values(text: str, *args: Any, **kwargs: Any) -> str:
    if "\ufdd0" in text:
        raise ValueError("digest templates: wrap a reader's values with `wrap`, not `wordwrap`")
    wordwrap = templates.environment().filters["wordwrap"]
    return str(wordwrap(templates.environment(), text, *args, **kwargs))
