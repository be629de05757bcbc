"""A digest of several topics: a heading before each topic's papers (none for one topic),
papers numbered through the mail, and feedback links that name each paper's topic."""

from __future__ import annotations

from datetime import date
from urllib.parse import parse_qs, urlsplit

from newsletter.domain import Match
from newsletter.mail.digest import topic_headings
from newsletter.mail.links import Links, Recipient
from newsletter.mail.render import Masthead, render_digest
from newsletter.mail.tokens import Tokens
from tests.support.factories import arxiv_paper

DAY = date(2025, 8, 20)
LINKS = Links("https://d.example.org", Tokens("s" * 40, clock=lambda: 1.76e9))
MASTHEAD = Masthead("Paper digest", "", "https://d.example.org")


def test_headings_only_where_a_topic_begins_and_only_for_several_topics() -> None:
    assert topic_headings(["A", "A", "B"], 3) == ["A", None, "B"]
    assert topic_headings(["A", "A"], 2) == [None, None]
    assert topic_headings([], 2) == [None, None]
    assert topic_headings(["A", None], 2) == ["A", None]  # an untagged paper ends the section


def test_a_digest_of_two_topics_has_a_section_each_with_links_naming_the_topic() -> None:
    papers = [arxiv_paper(f"2508.0000{n}", title=f"Paper {n}") for n in range(3)]
    matches = [Match(p, 0.9, ("why",), ()) for p in papers]
    who = Recipient(7, "key0007")
    topics = {papers[0].id: 11, papers[1].id: 11, papers[2].id: 12}
    links = LINKS.digest(who, DAY, [p.id for p in papers], topics=topics)
    mail = render_digest(
        matches=matches, day=DAY, recipient="a@example.org", links=links, masthead=MASTHEAD,
        topics=["Graphs & <nets>", "Graphs & <nets>", "Proteins"],
    )  # fmt: skip
    html, text = mail.html, mail.text
    assert html.count('class="section-name"') == 2
    at = html.index  # titles as links (the preheader lists them first)
    assert at("Graphs &amp; &lt;nets&gt;") < at(">Paper 0<") < at(">Proteins<") < at(">Paper 2<")
    assert "## Graphs & <nets>" in text
    assert "\n3. Paper 2" in text  # numbered through the mail
    for paper, topic in topics.items():
        query = parse_qs(urlsplit(links.papers[paper].less_like_this).query)
        assert query == {"paper": [paper], "vote": ["less"], "topic": [str(topic)]}
    single = render_digest(
        matches=matches, day=DAY, recipient="a@example.org", links=links, masthead=MASTHEAD,
        topics=["Graphs"] * 3,
    )  # fmt: skip
    plain = render_digest(
        matches=matches, day=DAY, recipient="a@example.org", links=links, masthead=MASTHEAD
    )
    assert single == plain  # one topic: no heading, the mail of before topics
    assert 'class="section-name"' not in single.html


def test_links_without_topics_are_the_links_of_before() -> None:
    links = LINKS.digest(Recipient(7, "key0007"), DAY, ["2508.00001"])
    assert links.papers["2508.00001"].more_like_this.endswith("?paper=2508.00001&vote=more")
