"""A mail of several topics on the web: its "more / less like this" links teach the topic the
paper was chosen for, older links the first topic, and a topic that is not the reader's is a
clear 4xx that changes nothing; each topic has its own feed, listed on its page."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime
from urllib.parse import parse_qs, urlsplit

import lxml.html
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from newsletter.config import Settings
from newsletter.db.models import SubscriberRow, VoteRow
from newsletter.db.outbox import NewDigest, enqueue
from newsletter.db.papers import store_papers
from newsletter.db.subscriber_rows import to_profile
from newsletter.db.topic_models import owed_refits
from newsletter.db.topics import add_topic, topics_of
from newsletter.domain import InterestProfile, Match, Paper, TopicTag
from newsletter.mail.links import Recipient
from tests.support.factories import arxiv_paper
from tests.support.web_support import (
    DAY,
    RecordingMailer,
    csrf_for,
    csrf_of,
    link_path,
    links,
    snapshot,
    subscriber,
    web_client,
)

pytestmark = pytest.mark.anyio
ATOM = "{http://www.w3.org/2005/Atom}"
GNN = arxiv_paper(paper_id="2508.00001", title="Message passing on graphs")
PROTEIN = arxiv_paper(paper_id="2508.00002", title="Folding proteins with diffusion")
OLD = arxiv_paper(paper_id="2508.00003", title="Queued before topics")


def two_topics(sessions: sessionmaker[Session], email: str = "ada@example.org") -> tuple[
    Recipient, TopicTag, TopicTag
]:  # fmt: skip
    """A reader with topics "Graphs" (first) and "Proteins"."""
    who = subscriber(sessions, email, profile=InterestProfile(keywords=("graphs",)))
    with sessions.begin() as session:
        row = session.get(SubscriberRow, who.subscriber_id)
        assert row is not None
        first = topics_of(session, row.id)[0]
        first.name = "Graphs"
        second = add_topic(
            session, row, name="Proteins", profile=InterestProfile(keywords=("proteins",))
        )
        return who, TopicTag(first.id, "Graphs"), TopicTag(second.id, "Proteins")


def queue(
    sessions: sessionmaker[Session],
    who: Recipient,
    chosen: list[tuple[Paper, TopicTag | None]],
    day: date = DAY,
) -> None:
    with sessions.begin() as session:
        store_papers(session, [p for p, _ in chosen], now=datetime(2025, 8, 20, tzinfo=UTC))
        matches = [Match(paper=p, score=0.9, why=(), highlights=()) for p, _ in chosen]
        digest = NewDigest(
            who.subscriber_id, day, f"<{day}.{who.subscriber_id}@t>", matches,
            topics=[topic for _, topic in chosen],
        )  # fmt: skip
        enqueue(session, [digest], now=datetime(2025, 8, 20, 7, tzinfo=UTC))


def votes(sessions: sessionmaker[Session]) -> list[tuple[int, str, bool]]:
    with sessions() as session:
        rows = session.scalars(select(VoteRow).order_by(VoteRow.id))
        return [(v.topic_id, v.paper_id, v.liked) for v in rows]


def profiles(sessions: sessionmaker[Session], who: Recipient) -> list[InterestProfile]:
    with sessions() as session:
        return [to_profile(t) for t in topics_of(session, who.subscriber_id)]


async def test_a_mail_of_two_topics_has_a_section_each_and_votes_teach_that_topic(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    who, graphs, proteins = two_topics(sessions)
    queue(sessions, who, [(GNN, graphs), (PROTEIN, proteins)])
    async with web_client(settings, sessions) as web:
        view = await web.get(link_path(links(settings).view(who, DAY)))
        document = lxml.html.fromstring(view.text)
        assert document.xpath("//h2[@class='section-name']/text()") == ["Graphs", "Proteins"]
        less = document.xpath("//a[text()='Less like this']/@href")
        assert [parse_qs(urlsplit(u).query)["topic"] for u in less] == [
            [str(graphs.id)],
            [str(proteins.id)],
        ]
        page = await web.get(link_path(less[1]))
        assert "Your topic “Proteins” learns from this vote." in page.text
        action = lxml.html.fromstring(page.text).xpath("string(//form/@action)")
        assert f"topic={proteins.id}" in action
        assert (await web.post(action, data={"csrf_token": csrf_of(page)})).status_code == 200
    assert votes(sessions) == [(proteins.id, PROTEIN.id, False)]
    first, second = profiles(sessions, who)
    assert (first.disliked_papers, second.disliked_papers) == ((), (PROTEIN.id,))
    with sessions() as session:  # no embedder in this app: that topic alone is owed a refit
        assert owed_refits(session) == [proteins.id]


async def test_links_mailed_before_topics_teach_the_first_topic(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    who, graphs, _ = two_topics(sessions)
    queue(sessions, who, [(OLD, None)])
    base = link_path(links(settings).feedback(who))
    query = {"paper": OLD.id, "vote": "more"}
    async with web_client(settings, sessions) as web:
        page = await web.get(base, params=query)
        assert "learns from this vote" not in page.text
        done = await web.post(base, params=query, data={"csrf_token": csrf_of(page)})
    assert done.status_code == 200
    assert votes(sessions) == [(graphs.id, OLD.id, True)]
    assert profiles(sessions, who)[0].seed_papers == (OLD.id,)


async def test_a_topic_that_is_not_the_readers_is_refused_and_changes_nothing(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    who, graphs, _ = two_topics(sessions)
    _, theirs, _ = two_topics(sessions, "grace@example.org")
    queue(sessions, who, [(GNN, graphs)])
    base = link_path(links(settings).feedback(who))
    api = "/api" + base
    async with web_client(settings, sessions) as web:
        page = await web.get(base, params={"paper": GNN.id, "vote": "less"})
        token = csrf_of(page)
        before = snapshot(sessions)
        answers = {}
        for topic in (str(theirs.id), "999999", "abc", "-1", "1" * 40, "٣"):
            query = {"paper": GNN.id, "vote": "less", "topic": topic}
            shown = await web.get(base, params=query)
            posted = await web.post(base, params=query, data={"csrf_token": token})
            answers[topic] = (shown.status_code, posted.status_code)
        json_other = await web.post(api, json={"paper": GNN.id, "vote": "less", "topic": theirs.id})
        json_bad = await web.post(api, json={"paper": GNN.id, "vote": "less", "topic": "x"})
        assert snapshot(sessions) == before
    assert answers == {
        str(theirs.id): (404, 404), "999999": (404, 404), "abc": (400, 400),
        "-1": (400, 400), "1" * 40: (400, 400), "٣": (400, 400),
    }  # fmt: skip
    assert (json_other.status_code, json_bad.status_code) == (404, 422)
    assert "is not one of yours: nothing was recorded" in json_other.json()["detail"]


async def test_each_topic_has_its_own_feed_listed_on_its_page(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    who, graphs, proteins = two_topics(sessions)
    queue(sessions, who, [(OLD, None)], day=date(2025, 8, 19))
    queue(sessions, who, [(GNN, graphs), (PROTEIN, proteins)])
    _, theirs, _ = two_topics(sessions, "grace@example.org")
    feed = link_path(links(settings).feed(who))
    preferences = link_path(links(settings).preferences(who))
    async with web_client(settings, sessions) as web:
        everything = await web.get(feed)
        first = await web.get(feed, params={"topic": graphs.id})
        second = await web.get(feed, params={"topic": proteins.id})
        refused = [(await web.get(feed, params={"topic": t})).status_code for t in (theirs.id, "x")]
        topic_page = await web.get(f"{preferences}/topics/{proteins.id}")
        listed = lxml.html.fromstring(topic_page.text).xpath(
            "string(//a[@class='topic-feed']/@href)"
        )
        # A token carries the second it was signed: the listed link is checked by following it.
        followed = await web.get(link_path(listed))

    def titles(answer: object) -> list[str | None]:
        document = ET.fromstring(answer.content)  # type: ignore[attr-defined]
        return [e.findtext(f"{ATOM}title") for e in document.findall(f"{ATOM}entry")]

    assert titles(everything) == [GNN.title, PROTEIN.title, OLD.title]
    assert titles(first) == [GNN.title, OLD.title]  # queued before topics: the first topic's
    assert titles(second) == [PROTEIN.title]
    assert ET.fromstring(second.content).findtext(f"{ATOM}title") == "Paper digest: Proteins"
    assert refused == [404, 400]
    assert listed.startswith(f"{settings.base_url}/feed/")
    assert listed.endswith(f".xml?topic={proteins.id}")
    assert titles(followed) == [PROTEIN.title]  # the topic's feed (its self link is signed anew)
    assert ET.fromstring(followed.content).findtext(f"{ATOM}title") == "Paper digest: Proteins"


async def test_digest_now_has_every_topic_as_the_daily_digest_would(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    """ "Send me a digest now" ranks each topic (not only the first) and merges them: one
    section per topic, each paper's feedback link naming its topic."""
    who, graphs, proteins = two_topics(sessions)
    with sessions.begin() as session:
        store_papers(session, [GNN, PROTEIN], now=datetime(2025, 8, 20, tzinfo=UTC))
    mailer = RecordingMailer()
    path = link_path(links(settings).preferences(who))
    async with web_client(settings, sessions, mailer=mailer) as web:
        page = await web.get(path)
        answer = await web.post(
            f"{path}/preview", data={"csrf_token": csrf_for(page, f"{path}/preview")}
        )
    assert answer.headers["location"].endswith("?done=preview")
    ((to, rendered),) = mailer.sent
    assert to == "ada@example.org"
    document = lxml.html.fromstring(rendered.html)
    assert document.xpath("//h2[@class='section-name']/text()") == ["Graphs", "Proteins"]
    less = document.xpath("//a[text()='Less like this']/@href")
    assert [parse_qs(urlsplit(u).query)["topic"] for u in less] == [
        [str(graphs.id)],
        [str(proteins.id)],
    ]
    assert "## Graphs" in rendered.text
    assert "## Proteins" in rendered.text
