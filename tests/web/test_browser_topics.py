"""A digest that learns its reader, in a real browser (issue 12's journey): subscribe, import
a BibTeX library, rate ten papers, add a second topic, get a digest with a section per
topic, vote "less like this" on a paper of the second topic, and see the next day's digest
change accordingly.

Headless Chromium against the app served on loopback with the packaged embedding model (so
every import, rating and vote refits the topic's model at once, as the service does), mail
through the scripted aiosmtpd server, the digests made by the real pipeline (queue_digests,
as the scheduler runs it, then the sender) from the recorded arXiv listing of 2025-08-20:
its first 60 papers as that day, the other 26 as the next. Screenshots stay in
var/test-artifacts/browser/ (named topics-…)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage

import lxml.html
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from newsletter.db.examples import library_count
from newsletter.db.models import TopicModelRow, VoteRow
from newsletter.db.papers import store_papers
from newsletter.db.topics import topics_of
from newsletter.delivery import wiring
from newsletter.domain import Paper
from newsletter.matching.embedding import DEFAULT_MODEL, load_embedder
from newsletter.pipeline.queueing import DigestOptions, DigestReport, queue_digests
from newsletter.sources.files import FileSource
from tests.support.smtp_server import ScriptedSmtpServer
from tests.support.web_support import subscriber_row, text_of
from tests.web.test_browser import (  # noqa: F401 (browser: a fixture)
    HAVE_PLAYWRIGHT,
    LISTING,
    WAIT_MS,
    Live,
    browser,
    off_thread,
    send,
    served,
    watch,
)

if HAVE_PLAYWRIGHT:
    from playwright.sync_api import Browser, Page, expect

DAY = date(2025, 8, 20)
NEXT_DAY = DAY + timedelta(days=1)
EMAIL = "grace@example.org"
FIRST, SECOND = "My interests", "Medical AI"
RATINGS = 10
RELEVANT = re.compile(r"agent|tool|plan", re.IGNORECASE)  # the reader's taste when rating
DUPLICATE = "2508.99001"  # the next day's paper with the same text as the one voted down
# A reference manager's export, with what real ones hold: a comment, braces that keep
# capitals, LaTeX accents and commands, an arXiv @misc with eprint, an entry without an
# abstract, quoted and braced values.
LIBRARY = r"""% Exported by a reference manager
@inproceedings{schick2023toolformer,
  title     = {{T}oolformer: Language Models Can Teach Themselves to Use Tools},
  author    = {Schick, Timo and Dwivedi-Yu, Jane and Dess{\`\i}, Roberto and Scialom, Thomas},
  booktitle = {Advances in Neural Information Processing Systems},
  year      = {2023},
  abstract  = {Language models teach themselves to call external tools through simple APIs,
               deciding which tool to call, when, with which arguments, and how to use the
               result, from a handful of demonstrations of each tool.}
}
@misc{yao2023react,
  title         = {{ReAct}: Synergizing Reasoning and Acting in Language Models},
  author        = {Yao, Shunyu and Zhao, Jeffrey and Yu, Dian and Cao, Yuan},
  year          = {2023},
  eprint        = {2210.03629},
  archivePrefix = {arXiv},
  primaryClass  = {cs.CL},
  abstract      = {Large language model agents interleave reasoning traces with actions
                   in an environment, planning, tracking and updating their plans while
                   gathering information from tools such as a search engine.}
}
@article{shinn2023reflexion,
  title   = "Reflexion: Language Agents with Verbal Reinforcement Learning",
  author  = "Shinn, Noah and Cassano, Federico and Gopinath, Ashwin",
  journal = "arXiv preprint",
  year    = 2023
}
@misc{wang2023voyager,
  title         = {Voyager: An Open-Ended Embodied Agent with Large Language Models},
  author        = {Wang, Guanzhi and Xie, Yuqi and Jiang, Yunfan and Anandkumar, Anima},
  eprint        = {2305.16291},
  archivePrefix = {arXiv},
  abstract      = {An embodied lifelong learning agent driven by a large language model
                   explores a game world, plans its own curriculum and writes a growing
                   library of skills as executable code, used as tools later on.}
}
@inproceedings{shen2023hugginggpt,
  title     = {{HuggingGPT}: Solving {AI} Tasks with {ChatGPT} and its Friends in {H}ugging {F}ace},
  author    = {Shen, Yongliang and Song, Kaitao and Tan, Xu and M{\"u}ller, J{\"o}rg},
  booktitle = {NeurIPS},
  year      = {2023},
  abstract  = {A language model acts as a controller agent that plans tasks, selects
               models as tools according to their descriptions, executes each subtask
               and summarizes the results.}
}
"""


@pytest.fixture
def learning_live(
    sqlite_url: str,
    sessions: sessionmaker[Session],
    smtp_server: ScriptedSmtpServer,
) -> Iterator[Live]:
    pytest.importorskip("sentence_transformers", reason="the 'semantic' extra is not installed")
    with served(sqlite_url, sessions, smtp_server, embedding_model=DEFAULT_MODEL) as running:
        yield running


def test_import_rate_two_topics_and_a_vote_that_changes_the_next_digest(
    browser: Browser,  # noqa: F811
    learning_live: Live,
) -> None:
    live = learning_live
    first_day, next_day = listing_days()
    with live.sessions.begin() as session:
        store_papers(session, first_day, now=datetime.now(UTC))
    context = browser.new_context(viewport={"width": 1000, "height": 900})
    context.set_default_timeout(WAIT_MS * 3)  # a refit per click, on a busy machine
    page = context.new_page()
    problems = watch(page)

    preferences = subscribe_and_confirm(page, live)
    import_library(page, live, preferences)
    rate_ten_papers(page, live, preferences)
    add_a_second_topic(page, live, preferences)
    sections, less_links = mailed_digest(live, DAY, number=3)
    assert list(sections) == [FIRST, SECOND]
    voted, less = pick_a_paper_of(sections[SECOND], less_links)

    with live.sessions.begin() as session:  # the next day's papers: one with the same text
        store_papers(session, [*next_day, duplicate_of(voted)], now=datetime.now(UTC))
    before = queue(live, NEXT_DAY, dry_run=True)
    assert DUPLICATE in [m.paper.id for m in before.sample[0][1]]  # ranked before the vote

    vote_less_like_this(page, live, less, voted)
    after, _ = mailed_digest(live, NEXT_DAY, number=4)
    # The vote taught the second topic: the paper like the one voted down is no longer
    # ranked (by that topic, nor by the first, which never wanted it).
    mailed = [paper_id for ids in after.values() for paper_id in ids]
    assert mailed, "the next day's digest is empty"
    assert DUPLICATE not in mailed
    context.close()
    assert problems == [], problems


def listing_days() -> tuple[list[Paper], list[Paper]]:
    papers = FileSource(LISTING, max_bytes=10_000_000).fetch(day=DAY).papers
    return papers[:60], [replace(p, announced_on=NEXT_DAY) for p in papers[60:]]


def duplicate_of(paper: Paper) -> Paper:
    return replace(
        paper,
        id=DUPLICATE,
        title=f"{paper.title} (extended version)",
        abs_url=f"https://arxiv.org/abs/{DUPLICATE}",
        pdf_url=None,
        announced_on=NEXT_DAY,
    )


def subscribe_and_confirm(page: Page, live: Live) -> str:
    """Subscribes with a one-line interest, confirms from the mail; the preferences link."""
    page.goto(f"{live.base}/")
    page.get_by_label("Email address").fill(EMAIL)
    page.get_by_label("Describe what you read").fill(
        "Large language model agents that plan and use tools"
    )
    page.get_by_label("Keywords").fill("agents")
    with page.expect_navigation():
        page.get_by_role("button", name="Subscribe", exact=True).click()
    expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()
    page.goto(live.link(live.mail(1), "confirm"))
    with page.expect_navigation():
        page.get_by_role("button", name="Confirm subscription").click()
    expect(page.get_by_role("heading", name="You are subscribed")).to_be_visible()
    return live.link(live.mail(2), "preferences")


def import_library(page: Page, live: Live, preferences: str) -> None:
    page.goto(preferences)
    bib = {"name": "my-papers.bib", "mimeType": "application/x-bibtex", "buffer": LIBRARY.encode()}
    page.get_by_label("Library file").set_input_files(bib)
    with page.expect_navigation():
        page.get_by_role("button", name="Import", exact=True).click()
    report = page.locator("#report")
    expect(report).to_contain_text("my-papers.bib (BibTeX): 5 imported, 0 duplicates, 0 problems")
    live.shoot(page, "topics-library-imported")
    with live.sessions() as session:
        (topic,) = topics_of(session, subscriber_row(live.sessions, EMAIL).id)
        assert library_count(session, topic.id) == 5
        model = session.get(TopicModelRow, topic.id)
        assert model is not None
        assert model.model is not None  # learned from the library


def rate_ten_papers(page: Page, live: Live, preferences: str) -> None:
    page.goto(preferences)
    page.get_by_role("link", name="Rate papers").first.click()
    expect(page.get_by_role("heading", name="Rate a few papers")).to_be_visible()
    for _ in range(RATINGS):
        paper = page.locator("ol.to-rate > li").first
        relevant = bool(RELEVANT.search(paper.locator("a").first.inner_text()))
        with page.expect_navigation():
            name = "Relevant" if relevant else "Not relevant"
            paper.get_by_role("button", name=name, exact=True).click()
        expect(page.locator("#changed")).to_contain_text("Noted:")
    expect(page.get_by_text(f"You have rated {RATINGS} papers for this topic.")).to_be_visible()
    live.shoot(page, "topics-rated")
    with live.sessions() as session:
        ratings = session.scalars(select(VoteRow).where(VoteRow.source == "rating")).all()
        assert len(ratings) == RATINGS


def add_a_second_topic(page: Page, live: Live, preferences: str) -> None:
    page.goto(preferences)
    page.get_by_label("Name of the new topic").fill(SECOND)
    page.get_by_label("What it is about").fill(
        "AI for medicine: clinical decision support, electronic health records, cardiac care"
        " and medical imaging"
    )
    page.get_by_label("Key terms, separated by commas").fill("clinical, medical, EHR")
    with page.expect_navigation():
        page.get_by_role("button", name="Add the topic").click()
    expect(page.get_by_role("heading", name=SECOND)).to_be_visible()
    expect(page.locator("a.topic-feed")).to_have_attribute("href", re.compile(r"\?topic=\d+$"))
    live.shoot(page, "topics-second-topic")


def queue(live: Live, day: date, *, dry_run: bool = False) -> DigestReport:
    options = DigestOptions(
        max_papers=6,
        quiet_day=False,
        new_message_id=wiring.mail_identity(live.settings).new_message_id,
        dry_run=dry_run,
    )
    return queue_digests(
        sessions=live.sessions,
        day=day,
        options=options,
        embedder=load_embedder(DEFAULT_MODEL),
        now=datetime.now(UTC),
    )


def mailed_digest(
    live: Live, day: date, *, number: int
) -> tuple[dict[str, list[str]], dict[str, str]]:
    """The day's digest queued and sent as the scheduler does: its sections (heading ->
    paper ids, in order) and each paper's "less like this" link."""
    assert queue(live, day).queued == 1
    sent = off_thread(lambda: asyncio.run(send(live)))
    assert (sent.attempted, sent.errors) == (1, 0), sent
    message = live.mail(number)
    return sections_of(message)


def sections_of(message: EmailMessage) -> tuple[dict[str, list[str]], dict[str, str]]:
    part = message.get_body(preferencelist=("html",))
    assert part is not None
    document = lxml.html.fromstring(str(part.get_content()))
    sections: dict[str, list[str]] = {}
    less: dict[str, str] = {}
    current = None
    for cell in document.xpath("//td[@class='section' or @class='paper']"):
        if cell.get("class") == "section":
            current = cell.text_content().strip()
            sections[current] = []
            continue
        link = cell.xpath(".//a[text()='Less like this']/@href")[0]
        paper_id = re.search(r"paper=([^&]+)", link).group(1)  # type: ignore[union-attr]
        sections.setdefault(current or "", []).append(paper_id)
        less[paper_id] = link
    for name in sections:  # the text part has the same sections
        assert not name or f"## {name}" in text_of(message)
    return sections, less


def pick_a_paper_of(paper_ids: list[str], less: dict[str, str]) -> tuple[Paper, str]:
    first_day, _ = listing_days()
    by_id = {p.id: p for p in first_day}
    # One the first topic would not claim for itself: no agents in its title.
    chosen = next(i for i in paper_ids if "agent" not in by_id[i].title.lower())
    return by_id[chosen], less[chosen]


def vote_less_like_this(page: Page, live: Live, link: str, paper: Paper) -> None:
    assert "&topic=" in link
    page.goto(link)  # the page sends its one-button form by itself (static/app.js)
    expect(page.get_by_role("heading", name="Thanks, noted")).to_be_visible()
    live.shoot(page, "topics-less-like-this")
    row = subscriber_row(live.sessions, EMAIL)
    with live.sessions() as session:
        second = topics_of(session, row.id)[1]
        vote = session.scalar(select(VoteRow).where(VoteRow.paper_id == paper.id))
        assert vote is not None
        assert (vote.topic_id, vote.liked, vote.source) == (second.id, False, "digest")
        assert second.disliked_papers == [paper.id]
        model = session.get(TopicModelRow, second.id)
        assert model is not None
        assert model.model is not None  # refitted on the vote
