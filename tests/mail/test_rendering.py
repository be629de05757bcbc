"""Email rendering: subjects, escaping, highlights, links, the size budget, the text part."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date

import jinja2
import lxml.html
import pytest

from newsletter.domain import Highlight, HuggingFaceExtras, Match, Paper
from newsletter.mail import render as rendering
from newsletter.mail.render import (
    MAX_HTML_BYTES,
    DigestLinks,
    Masthead,
    PaperLinks,
    RenderedEmail,
    render_confirmation,
    render_digest,
    render_quiet_day,
    render_welcome,
)
from tests.support.factories import arxiv_paper, hf_paper

DAY = date(2025, 11, 28)
SITE = "https://digest.example.org"
MASTHEAD = Masthead(
    list_name="Paper digest", postal_address="Example Lab, 1 Way, Cambridge", site_url=SITE
)
TAG = re.compile(r"<[a-zA-Z/!][^>]*>")
# Sentences of a realistic length, so excerpts have boundaries to cut at.
SENTENCE = "We study how large language models plan multi-step tool use in agents. "


def match(
    paper: Paper,
    *,
    why: tuple[str, ...] = ('mentions "agents"',),
    highlights: tuple[Highlight, ...] = (),
) -> Match:
    return Match(paper=paper, score=0.9, why=why, highlights=highlights)


def digest_links(matches: Sequence[Match]) -> DigestLinks:
    token = "tok_" + "x" * 60  # signed tokens are long; the size budget must count them
    return DigestLinks(
        view_in_browser=f"{SITE}/digest/2025-11-28/{token}",
        preferences=f"{SITE}/preferences/{token}",
        unsubscribe=f"{SITE}/unsubscribe/{token}",
        papers={
            m.paper.id: PaperLinks(
                more_like_this=f"{SITE}/feedback/{m.paper.id}/more/{token}",
                less_like_this=f"{SITE}/feedback/{m.paper.id}/less/{token}",
            )
            for m in matches
        },
    )


def digest(matches: Sequence[Match], **changes: object) -> RenderedEmail:
    arguments: dict[str, object] = {
        "matches": matches,
        "day": DAY,
        "recipient": "ada@example.org",
        "links": digest_links(matches),
        "masthead": MASTHEAD,
    }
    arguments.update(changes)
    return render_digest(**arguments)  # type: ignore[arg-type]


def hrefs(html: str, xpath: str = "//a") -> list[str]:
    return [a.get("href", "") for a in lxml.html.fromstring(html).xpath(xpath)]


def papers(count: int, *, abstract: str = SENTENCE * 3, authors: int = 3) -> list[Match]:
    return [
        match(
            (hf_paper if number % 2 else arxiv_paper)(
                f"2511.{10000 + number}",
                title=f"Paper {number}: planning with tools in language agents",
                abstract=abstract,
                authors=tuple(f"Author Number{k}" for k in range(authors)),
            )
        )
        for number in range(count)
    ]


def test_subject_counts_papers_and_names_the_day() -> None:
    assert digest(papers(5)).subject == "5 new papers on your interests — 28 Nov"
    assert digest(papers(1)).subject == "1 new paper on your interests — 28 Nov"
    assert rendering.digest_subject(2, date(2026, 3, 1)) == "2 new papers on your interests — 1 Mar"


def test_a_digest_needs_matches() -> None:
    with pytest.raises(ValueError, match="quiet-day"):
        digest([])


def test_paper_text_is_escaped_everywhere() -> None:
    evil = "<script>alert(1)</script>"
    paper = hf_paper(
        title=f"Title {evil} & more",
        abstract=f'Abstract {evil} <img src="x" onerror="alert(2)">.',
        authors=(f"Mallory {evil}",),
        hf=HuggingFaceExtras(github_repo="javascript:alert(3)", project_page=" JavaScript:x"),
    )
    html = digest([match(paper, why=(f"mentions {evil}",))]).html
    assert "<script" not in html.lower()
    assert "<img" not in html.lower()
    assert "&lt;script&gt;" in html
    assert "javascript:" not in html.lower()
    tree = lxml.html.fromstring(html)
    assert not tree.xpath("//script | //img | //*[@onerror]")
    assert f"Title {evil} & more" in tree.xpath("string(//h2)")


def test_highlights_wrap_exactly_the_spans() -> None:
    paper = arxiv_paper(title="Agents that plan", abstract="alpha beta gamma delta <b>")
    spans = (
        Highlight("title", 0, 6),
        Highlight("abstract", 11, 16),  # gamma, overlapping the next one
        Highlight("abstract", 6, 10),  # beta, out of order
        Highlight("abstract", 13, 22),  # "mma delta": merged with gamma
        Highlight("abstract", 23, 26),  # "<b>": escaped inside the mark
        Highlight("abstract", 90, 120),  # beyond the text: dropped
        Highlight("abstract", 25, 400),  # partly beyond: clamped
    )
    html = digest([match(paper, highlights=spans)]).html
    tree = lxml.html.fromstring(html)
    assert [m.text_content() for m in tree.xpath("//h2//mark")] == ["Agents"]
    marks = tree.xpath("//p[contains(@class, 'abstract')]//mark")
    assert [m.text_content() for m in marks] == ["beta", "gamma delta", "<b>"]
    assert tree.xpath("string(//p[contains(@class, 'abstract')])") == "alpha beta gamma delta <b>"
    assert all("background-color" in m.get("style", "") for m in marks)
    assert '<mark class="hl" style="' in html
    assert "&lt;b&gt;</mark>" in html


def test_long_abstracts_become_excerpts_cut_at_a_boundary() -> None:
    abstract = SENTENCE * 30
    cut_span = Highlight("abstract", 880, 1100)  # crosses the cut: clamped
    late_span = Highlight("abstract", 1500, 1510)  # past the cut: gone
    html = digest([match(arxiv_paper(abstract=abstract), highlights=(cut_span, late_span))]).html
    excerpt = lxml.html.fromstring(html).xpath("string(//p[contains(@class, 'abstract')])")
    assert excerpt.endswith("…")
    assert 600 <= len(excerpt) <= rendering.EXCERPT_STEPS[0] + 2
    assert excerpt[:-1].rstrip().endswith("agents.")  # a whole sentence
    assert rendering.excerpt_end("one two three four", limit=10) == 7  # "one two"


def test_every_link_is_present() -> None:
    paper = hf_paper(
        "2511.00001",
        hf=HuggingFaceExtras(
            upvotes=42, github_repo="https://github.com/ex/repo", project_page="https://ex.org/p"
        ),
    )
    plain = arxiv_paper("2511.00002", abs_url=None, pdf_url=None)
    matches = [match(paper), match(plain)]
    rendered = digest(matches)
    links = digest_links(matches)
    found = hrefs(rendered.html)
    for url in (
        "https://arxiv.org/abs/2511.00001",
        "https://arxiv.org/pdf/2511.00001",
        "https://huggingface.co/papers/2511.00001",
        "https://github.com/ex/repo",
        "https://ex.org/p",
        "https://arxiv.org/abs/2511.00002",  # built from the id when the source had none
        "https://arxiv.org/pdf/2511.00002",
        links.papers["2511.00001"].more_like_this,
        links.papers["2511.00002"].less_like_this,
        links.view_in_browser,
        links.preferences,
    ):
        assert url in found
    assert "https://huggingface.co/papers/2511.00002" not in found  # not on Hugging Face
    assert links.unsubscribe in hrefs(rendered.html, "//td[contains(@class, 'topbar')]//a")
    assert links.unsubscribe in hrefs(rendered.html, "//td[contains(@class, 'footer')]//a")
    # Early enough to survive Gmail's clipping: before the first paper.
    assert rendered.html.index(links.unsubscribe) < rendered.html.index('class="paper"')
    assert "42 upvotes" in rendered.html


def test_papers_without_feedback_links_or_arxiv_id() -> None:
    local = arxiv_paper("local:abc123", abs_url=None, pdf_url=None, title="A local paper")
    links = DigestLinks(view_in_browser=SITE, preferences=SITE, unsubscribe=SITE, papers={})
    html = digest([match(local)], links=links).html
    assert "More like this" not in html
    assert "arxiv.org" not in html
    assert lxml.html.fromstring(html).xpath("string(//h2)") == "A local paper"


def test_authors_are_cut_after_four() -> None:
    assert rendering.author_line(["A", "B", "C", "D"]) == "A, B, C, D"
    assert rendering.author_line([f"N{k}" for k in range(50)]) == "N0, N1, N2, N3 et al."


def test_footer_says_why_and_who_sends() -> None:
    html = digest(papers(1)).html
    footer = " ".join(
        lxml.html.fromstring(html).xpath("string(//td[contains(@class, 'footer')])").split()
    )
    assert f"You receive this because ada@example.org subscribed to Paper digest at {SITE}" in (
        footer
    )
    assert "Example Lab, 1 Way, Cambridge" in footer
    no_address = Masthead(list_name="Paper digest", postal_address="", site_url=SITE)
    assert "Example Lab" not in digest(papers(1), masthead=no_address).html


def test_html_is_email_client_safe() -> None:
    matches = papers(3)
    html = digest(matches).html
    lowered = html.lower()
    for forbidden in ("<link", "@import", "<img", " src=", "url(", "<script"):
        assert forbidden not in lowered
    tree = lxml.html.fromstring(html)
    assert tree.get("lang") == "en"
    assert tree.xpath("//meta[@name='color-scheme']/@content") == ["light dark"]
    assert tree.xpath("//meta[@name='supported-color-schemes']")
    assert "@media (prefers-color-scheme: dark)" in html
    assert "@media (max-width:" in html
    # Inlined: the styles that matter live on the elements themselves.
    assert all(td.get("style") for td in tree.xpath("//td[contains(@class, 'paper')]"))
    assert "max-width:600px" in tree.xpath("//table[contains(@class, 'container')]/@style")[0]
    preheader = tree.xpath("string(//div[contains(@class, 'preheader')])")
    assert matches[0].paper.title in preheader
    assert "display:none" in tree.xpath("//div[contains(@class, 'preheader')]/@style")[0]


def test_html_fits_the_budget_at_the_maximum_digest() -> None:
    matches = papers(100, abstract=(SENTENCE * 40)[:2000], authors=50)
    rendered = digest(matches)
    size = len(rendered.html.encode())
    assert size <= MAX_HTML_BYTES
    tree = lxml.html.fromstring(rendered.html)
    shown = tree.xpath("//td[contains(@class, 'paper')]")
    assert 25 <= len(shown) < 100  # dropped from the end, after excerpts were shortened
    numbers = [p.xpath("string(.//span[contains(@class, 'num')])") for p in shown]
    assert numbers == [str(n) for n in range(1, len(shown) + 1)]
    more = tree.xpath("//td[contains(@class, 'more')]//a")[0]
    assert more.get("href") == digest_links(matches).view_in_browser
    assert more.text_content().startswith(f"{100 - len(shown)} more matched")
    # The text part shows the same papers as the HTML part.
    assert f"{100 - len(shown)} more matched" in rendered.text
    assert f"{len(shown) + 1}. Paper" not in rendered.text


def test_budget_shortens_excerpts_before_dropping_papers() -> None:
    matches = papers(10, abstract=SENTENCE * 30)
    full = digest(matches)
    budget = len(full.html.encode()) * 85 // 100
    trimmed = digest(matches, max_html_bytes=budget)
    assert len(trimmed.html.encode()) <= budget
    assert "more matched" not in trimmed.html
    excerpts = lxml.html.fromstring(trimmed.html).xpath("//p[contains(@class, 'abstract')]")
    assert len(excerpts) == 10
    assert all(len(e.text_content()) <= rendering.EXCERPT_STEPS[-2] + 2 for e in excerpts)
    assert trimmed.text == full.text  # the text part has no size limit
    with pytest.raises(ValueError, match="one paper"):
        digest(matches, max_html_bytes=2_000)


def test_short_digest_keeps_whole_abstracts() -> None:
    matches = papers(10)
    html = digest(matches).html
    texts = lxml.html.fromstring(html).xpath("//p[contains(@class, 'abstract')]")
    assert [t.text_content() for t in texts] == [(SENTENCE * 3)] * 10


def test_text_part_is_readable() -> None:
    matches = papers(4, abstract=SENTENCE * 30, authors=6)
    rendered = digest(matches)
    text = rendered.text
    assert not TAG.search(text)
    long_lines = [line for line in text.splitlines() if len(line) > 78 and "http" not in line]
    assert long_lines == []
    flat = " ".join(text.split())
    for m in matches:
        assert m.paper.title in flat
        assert m.paper.abs_url is not None
        assert m.paper.abs_url in text.splitlines()  # the URL on a line of its own
    links = digest_links(matches)
    assert f"Unsubscribe: {links.unsubscribe}" in text
    assert links.papers[matches[0].paper.id].more_like_this in text
    assert 'Why: mentions "agents"' in text
    assert "Author Number0, Author Number1, Author Number2, Author Number3 et al." in text
    assert "You receive this because ada@example.org subscribed to Paper digest" in flat
    assert "…" in text


def test_templates_reject_missing_variables() -> None:
    environment = rendering._environment()
    with pytest.raises(jinja2.UndefinedError):
        environment.get_template("digest.html").render(subject="x")
    with pytest.raises(jinja2.UndefinedError):
        environment.get_template("digest.txt").render()


def test_quiet_day_note() -> None:
    links = digest_links([])
    rendered = render_quiet_day(
        day=DAY, recipient="ada@example.org", links=links, masthead=MASTHEAD
    )
    assert rendered.subject == "No new papers on your interests today — 28 Nov"
    assert "No new papers matched your interests today" in rendered.html
    assert {links.unsubscribe, links.preferences} <= set(hrefs(rendered.html))
    assert links.unsubscribe in rendered.text
    assert links.preferences in rendered.text


def test_confirmation_mail() -> None:
    url = f"{SITE}/confirm/tok"
    rendered = render_confirmation(recipient="ada@example.org", confirm_url=url, masthead=MASTHEAD)
    assert rendered.subject == "Confirm your subscription to Paper digest"
    assert url in hrefs(rendered.html)
    assert url in rendered.text.splitlines()
    assert "unsubscribe" not in rendered.html.lower()  # not subscribed yet
    assert "someone asked to subscribe ada@example.org" in " ".join(rendered.text.split())


def test_welcome_mail() -> None:
    rendered = render_welcome(
        recipient="ada@example.org",
        preferences_url=f"{SITE}/p/tok",
        unsubscribe_url=f"{SITE}/u/tok",
        masthead=MASTHEAD,
    )
    assert rendered.subject == "Welcome to Paper digest"
    assert {f"{SITE}/p/tok", f"{SITE}/u/tok"} <= set(hrefs(rendered.html))
    assert f"Unsubscribe: {SITE}/u/tok" in rendered.text
    assert not TAG.search(rendered.text)
