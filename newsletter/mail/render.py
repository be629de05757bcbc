"""The emails: a digest of matched papers, the quiet-day note and the transactional mails,
each rendered to a subject, an HTML part (CSS inlined, under Gmail's clipping limit) and a
plain-text part. Pure: reads templates, nothing else; the caller builds every link.
How each paper shows (excerpt, highlights, links) is newsletter.mail.items' part."""

from __future__ import annotations

import functools
import textwrap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import css_inline
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from newsletter.domain import SAMPLE_ORIGIN, Match, is_sample
from newsletter.mail.items import Item, PaperLinks, author_line, build_items, excerpt_end
from newsletter.resources import resource_dir

__all__ = [
    "EXCERPT_STEPS",
    "MAX_HTML_BYTES",
    "DigestLinks",
    "Masthead",
    "PaperLinks",
    "RenderedEmail",
    "author_line",
    "digest_headline",
    "digest_subject",
    "excerpt_end",
    "long_date",
    "render_confirmation",
    "render_digest",
    "render_manage_link",
    "render_quiet_day",
    "render_welcome",
    "short_date",
    "wrap",
]

MAX_HTML_BYTES = 100_000
# Excerpt lengths tried, longest first, before papers are dropped to fit the HTML budget.
EXCERPT_STEPS = (900, 600, 400, 250)
PREHEADER_TITLES = 3
PREHEADER_CHARS = 140

# Spelled here, not by strftime: the process locale must not change the mail.
_MONTHS = "January February March April May June July August September October November December"
_MONTH_NAMES = _MONTHS.split()
_WEEKDAY_NAMES = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split()  # noqa: SIM905


@dataclass(frozen=True, slots=True)
class DigestLinks:
    view_in_browser: str
    preferences: str
    unsubscribe: str
    papers: Mapping[str, PaperLinks]  # by paper id; a missing id -> no feedback links


@dataclass(frozen=True, slots=True)
class Masthead:
    list_name: str  # e.g. "Paper digest"
    postal_address: str  # organisation/postal line; "" -> omitted
    site_url: str  # base URL of the service


@dataclass(frozen=True, slots=True)
class RenderedEmail:
    subject: str
    html: str  # final, CSS inlined, under the byte budget (UTF-8)
    text: str  # plain-text alternative, wrapped ~72 columns, links as bare URLs
    kind: str = "digest"  # or the template: confirm, welcome, manage, quiet_day


@functools.cache
def _environment() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(resource_dir("templates") / "email"),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    environment.filters["wrap"] = wrap
    return environment


@functools.lru_cache(maxsize=8192)
def wrap(text: str, width: int = 72) -> str:
    """Lines of at most `width` characters, URLs and hyphenated words never broken.
    Cached: the same excerpt is wrapped for every subscriber who gets that paper."""
    return "\n".join(
        textwrap.fill(line, width, break_long_words=False, break_on_hyphens=False)
        for line in text.splitlines()
    )


@functools.cache
def _inliner() -> css_inline.CSSInliner:
    # The @media rules (dark mode, narrow screens) stay in a <style> block: they cannot be
    # inlined, and the clients that ignore them still get the inlined light layout.
    return css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False, minify_css=True)


def render_digest(
    *,
    matches: Sequence[Match],
    day: date,
    recipient: str,
    links: DigestLinks,
    masthead: Masthead,
    max_html_bytes: int = MAX_HTML_BYTES,
) -> RenderedEmail:
    """The day's digest. Raises ValueError without matches (send `render_quiet_day`) or
    when not even one paper fits in `max_html_bytes`."""
    if not matches:
        raise ValueError("a digest needs at least one match; render the quiet-day note instead")
    subject = digest_subject(len(matches), day)
    frame = _frame(subject=subject, recipient=recipient, masthead=masthead, links=links)
    context = {
        **frame,
        "headline": digest_headline(len(matches)),
        "day_label": long_date(day),
        "total": len(matches),
        # A digest of the bundled sample day says so (see pipeline/sample.py).
        "sample_origin": SAMPLE_ORIGIN if any(is_sample(m.paper) for m in matches) else None,
    }

    full = build_items(matches, feedback=links.papers, excerpt_chars=EXCERPT_STEPS[0])

    def html_for(count: int, limit: int) -> str:
        if limit == EXCERPT_STEPS[0]:
            items = full[:count]
        else:
            items = build_items(matches[:count], feedback=links.papers, excerpt_chars=limit)
        return _html("digest.html", preheader=_preheader(items), items=items, **context)

    html, shown = _fit(matches, render=html_for, max_bytes=max_html_bytes)
    # The text part shows the same papers, with full-length excerpts: it has no size limit.
    text = _text("digest.txt", items=full[:shown], **context)
    return RenderedEmail(subject=subject, html=html, text=text)


def render_quiet_day(
    *, day: date, recipient: str, links: DigestLinks, masthead: Masthead
) -> RenderedEmail:
    subject = f"No new papers on your interests today — {short_date(day)}"
    frame = _frame(subject=subject, recipient=recipient, masthead=masthead, links=links)
    preheader = "Nothing matched your interests today; see you at the next announcement."
    return _email("quiet_day", preheader=preheader, day_label=long_date(day), **frame)


def render_confirmation(*, recipient: str, confirm_url: str, masthead: Masthead) -> RenderedEmail:
    subject = f"Confirm your subscription to {masthead.list_name}"
    frame = _frame(subject=subject, recipient=recipient, masthead=masthead)
    preheader = "One click to start receiving your daily paper digest."
    return _email("confirm", preheader=preheader, confirm_url=confirm_url, **frame)


def render_welcome(
    *, recipient: str, preferences_url: str, unsubscribe_url: str, masthead: Masthead
) -> RenderedEmail:
    subject = f"Welcome to {masthead.list_name}"
    frame = _frame(subject=subject, recipient=recipient, masthead=masthead)
    frame.update(preferences_url=preferences_url, unsubscribe_url=unsubscribe_url)
    preheader = "You are subscribed. Tune your interests so the digest finds the right papers."
    return _email("welcome", preheader=preheader, **frame)


def render_manage_link(
    *, recipient: str, preferences_url: str, unsubscribe_url: str, masthead: Masthead
) -> RenderedEmail:
    """For a subscribe form sent for an address already subscribed: the way in, by mail,
    so the form itself reveals nothing about who subscribes."""
    subject = f"Your subscription to {masthead.list_name}"
    frame = _frame(subject=subject, recipient=recipient, masthead=masthead)
    frame.update(preferences_url=preferences_url, unsubscribe_url=unsubscribe_url)
    preheader = "You are already subscribed: change your interests or unsubscribe here."
    return _email("manage", preheader=preheader, **frame)


def digest_subject(count: int, day: date) -> str:
    return f"{digest_headline(count)} — {short_date(day)}"


def digest_headline(count: int) -> str:
    noun = "paper" if count == 1 else "papers"
    return f"{count} new {noun} on your interests"


def short_date(day: date) -> str:
    return f"{day.day} {_MONTH_NAMES[day.month - 1][:3]}"


def long_date(day: date) -> str:
    weekday = _WEEKDAY_NAMES[day.weekday()]
    return f"{weekday}, {day.day} {_MONTH_NAMES[day.month - 1]} {day.year}"


def _frame(
    *, subject: str, recipient: str, masthead: Masthead, links: DigestLinks | None = None
) -> dict[str, Any]:
    """What the base layout needs: who sends, to whom, the header links (None: not shown)."""
    return {
        "subject": subject,
        "recipient": recipient,
        "masthead": masthead,
        "view_url": links.view_in_browser if links else None,
        "preferences_url": links.preferences if links else None,
        "unsubscribe_url": links.unsubscribe if links else None,
    }


def _email(name: str, *, preheader: str, **context: Any) -> RenderedEmail:
    html = _html(f"{name}.html", preheader=preheader, **context)
    return RenderedEmail(
        subject=context["subject"], html=html, text=_text(f"{name}.txt", **context), kind=name
    )


def _html(name: str, **context: Any) -> str:
    return _inliner().inline(_environment().get_template(name).render(**context))


def _text(name: str, **context: Any) -> str:
    return _environment().get_template(name).render(**context).strip() + "\n"


def _fit(
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


def _preheader(items: Sequence[Item]) -> str:
    """The inbox preview: the first titles, which say more than any greeting."""
    titles = " · ".join(item.plain_title for item in items[:PREHEADER_TITLES])
    return titles if len(titles) <= PREHEADER_CHARS else titles[: PREHEADER_CHARS - 1] + "…"
