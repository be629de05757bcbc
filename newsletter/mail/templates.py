"""What every email is made from: the Jinja2 templates, the CSS inliner, the text wrapping,
dates spelled the same in any locale, and the rendered result. Pure: reads templates only."""

from __future__ import annotations

import functools
import re
import textwrap
from dataclasses import dataclass
from datetime import date

import css_inline
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from newsletter.resources import resource_dir

MAX_HTML_BYTES = 100_000  # Gmail clips HTML at about 102 kB

# Spelled here, not by strftime: the process locale must not change the mail.
_MONTHS = "January February March April May June July August September October November December"
_MONTH_NAMES = _MONTHS.split()
_WEEKDAY_NAMES = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split()  # noqa: SIM905
# What textwrap treats apart from single spaces between words: any other whitespace (it breaks
# at some, replaces some, drops words of others), runs of spaces, spaces at either end.
_PLAIN_LINE = re.compile(r"[^\S ]|  |^ | $")


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
def environment() -> Environment:
    loaded = Environment(
        loader=FileSystemLoader(resource_dir("templates") / "email"),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    loaded.filters["wrap"] = wrap
    return loaded


@functools.cache
def inliner() -> css_inline.CSSInliner:
    # The @media rules (dark mode, narrow screens) stay in a <style> block: they cannot be
    # inlined, and the clients that ignore them still get the inlined light layout.
    return css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False, minify_css=True)


@functools.lru_cache(maxsize=8192)
def wrap(text: str, width: int = 72) -> str:
    """Lines of at most `width` characters, URLs and hyphenated words never broken.
    Cached: the same excerpt is wrapped for every subscriber who gets that paper."""
    return "\n".join(_fill(line, width) for line in text.splitlines())


def _fill(line: str, width: int) -> str:
    """textwrap.fill without breaking words or at hyphens. Words apart by single spaces, the
    usual case (reasons, titles), are filled greedily here, as textwrap fills them, at a
    tenth of its cost (tests compare the two)."""
    if len(line) <= width and _PLAIN_LINE.search(line) is None:
        return line
    if _PLAIN_LINE.search(line) is not None:
        return textwrap.fill(line, width, break_long_words=False, break_on_hyphens=False)
    lines: list[str] = []
    current = ""
    for word in line.split(" "):
        if current and len(current) + 1 + len(word) <= width:
            current += " " + word
        else:
            if current:
                lines.append(current)
            current = word
    lines.append(current)
    return "\n".join(lines)


def short_date(day: date) -> str:
    return f"{day.day} {_MONTH_NAMES[day.month - 1][:3]}"


def long_date(day: date) -> str:
    weekday = _WEEKDAY_NAMES[day.weekday()]
    return f"{weekday}, {day.day} {_MONTH_NAMES[day.month - 1]} {day.year}"
