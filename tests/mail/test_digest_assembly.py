"""Digests assembled from pieces compiled once are byte for byte the digests rendered whole.

The oracle (tests/support/render_oracle.py) renders digest.html and digest.txt for each
reader and CSS-inlines the HTML, as the service did before; the corpus is a recorded day for
twenty interests, at the usual budget and at budgets that cut excerpts and drop papers, plus
papers and reasons with markup, quotes, no-break spaces, CR and NUL in them."""

from __future__ import annotations

import textwrap

import css_inline
import pytest
from hypothesis import given
from hypothesis import strategies as st
from markupsafe import escape

from newsletter.mail import templates
from newsletter.mail.pieces import Probe, Slot, html_attr, html_text
from newsletter.mail.render import RenderedEmail, render_digest
from tests.support import render_oracle
from tests.support.digest_corpus import DAY, Case, cases

CASES = list(cases())


def rendered(render: object, case: Case) -> RenderedEmail | str:
    try:
        return render(  # type: ignore[operator,no-any-return]
            matches=case.matches,
            day=DAY,
            recipient=case.recipient,
            links=case.links,
            masthead=case.masthead,
            max_html_bytes=case.max_html_bytes,
            topics=case.topics,
        )
    except ValueError as exc:  # too large even with one paper: both must say so
        return str(exc)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_assembled_digest_is_the_whole_render(case: Case) -> None:
    expected = rendered(render_oracle.render_digest, case)
    assert rendered(render_digest, case) == expected
    assert rendered(render_digest, case) == expected  # again, from the compiled pieces


def test_the_corpus_reaches_every_branch() -> None:
    outputs = [rendered(render_digest, case) for case in CASES]
    emails = [o for o in outputs if isinstance(o, RenderedEmail)]
    assert any("more matched" in e.html for e in emails)  # papers dropped for the budget
    assert any(case.max_html_bytes == 100_000 and len(case.matches) > 50 for case in CASES)
    assert any(len(e.html.encode()) > 95_000 for e in emails)  # near the real clip limit
    assert any("&nbsp;…" in e.html for e in emails)  # excerpts cut at a sentence
    assert any('class="why"' not in e.html for e in emails)  # a digest without reasons
    assert all("@media (prefers-color-scheme: dark)" in e.html for e in emails)
    assert any("<mark" in e.html for e in emails)
    assert any('class="section-name"' in e.html for e in emails)  # topics' headings
    assert any("\n## " in e.text for e in emails)
    headed = [
        o for o, case in zip(outputs, CASES, strict=True)
        if case.topics and isinstance(o, RenderedEmail) and "more matched" in o.html
    ]  # fmt: skip
    assert headed  # a mail of several topics that had to drop papers


SAFE_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)


def _inlined(body: str) -> str:
    inliner = css_inline.CSSInliner(load_remote_stylesheets=False)
    document = inliner.inline(f"<html><head></head><body>{body}</body></html>")
    return document.split("<body>", 1)[1].rsplit("</body>", 1)[0]


@given(SAFE_TEXT)
def test_text_is_escaped_as_the_inliner_writes_it(value: str) -> None:
    assert f"<p>{html_text(value)}</p>" == _inlined(f"<p>{escape(value)}</p>")


@given(SAFE_TEXT)
def test_attributes_are_escaped_as_the_inliner_writes_them(value: str) -> None:
    assert f'<a href="{html_attr(value)}"></a>' == _inlined(f'<a href="{escape(value)}"></a>')


def test_a_slot_knows_whether_it_is_text_or_an_attribute() -> None:
    probe = Probe()
    html = templates.inliner().inline(
        f'<html><body><a title="x > y" href="{probe.slot("url")}">{probe.slot("text")}</a>'
        "</body></html>"
    )
    piece = probe.parse(html, html=True)
    slots = {part.name: part.escape for part in piece if isinstance(part, Slot)}
    assert slots == {"url": html_attr, "text": html_text}


def test_a_filter_that_changes_a_value_is_refused() -> None:
    probe = Probe()
    with pytest.raises(ValueError, match="changed in rendering"):
        probe.parse(probe.slot("name")[:-3] + "…", html=False)  # e.g. a truncate filter


def test_markers_of_another_compilation_are_text() -> None:
    mine, other = Probe(), Probe()
    piece = mine.parse(f"a{other.slot('x')}b", html=False)
    assert piece == (f"a{other.slot('x')}b",)


WORDS = st.lists(
    st.sampled_from(["a", "word", "x" * 80, "hyphen-ated", "https://example.org/" + "p" * 60,
                     " ", "  ", "\t", "\u00a0", "\u2028", "é"]),
    max_size=40,
).map("".join)  # fmt: skip


@given(WORDS, st.sampled_from([10, 40, 72]))
def test_wrapping_is_textwraps(text: str, width: int) -> None:
    expected = "\n".join(
        textwrap.fill(line, width, break_long_words=False, break_on_hyphens=False)
        for line in text.splitlines()
    )
    assert templates.wrap.__wrapped__(text, width) == expected
