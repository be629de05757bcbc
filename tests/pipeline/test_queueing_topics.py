"""Queueing a reader's digest from all of their topics: every topic ranked with its own model,
a paper once under its best topic, the limit for the whole mail, the topic kept with each
queued paper; the catch-up refit of topics owed one before queueing."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from newsletter.db.due import due_subscribers
from newsletter.db.examples import VoteSource, record_vote
from newsletter.db.models import InterestProfileRow, SubscriberRow, TopicModelRow
from newsletter.db.papers import store_papers
from newsletter.db.topic_models import owed_refits, store_model
from newsletter.db.topics import add_topic
from newsletter.domain import InterestProfile, Paper
from newsletter.matching.learning.examples import fit_for_profile
from newsletter.matching.profile import build_profile
from newsletter.matching.ranker import Ranker
from newsletter.matching.semantic import Embedder, MemoryEmbeddingCache
from newsletter.pipeline import scheduler
from newsletter.pipeline.queueing import queue_digests
from newsletter.sources.files import parse_file_bytes
from newsletter.subscribers.learning import Learner, refit_owed
from tests.conftest import read_data
from tests.pipeline.test_queueing import (
    DAY,
    GNN,
    NO_MATCH,
    NOW,
    PROTEIN,
    gnn_papers,
    mark_sent,
    options,
    outbox_rows,
    paper_ids,
    run,
    store,
    subscribe,
    topic_paper,
)

LISTING = "arxiv_listing_atom_cs.AI_2025-08-20.xml"
AGENTS = InterestProfile(description="large language model agents")
CIRCUITS = ("2508.13156", "2508.13157", "2508.13161", "2508.13172")  # chip and circuit design


def with_topic(sessions: sessionmaker[Session], who: int, name: str, keyword: str) -> int:
    with sessions.begin() as session:
        row = session.get(SubscriberRow, who)
        assert row is not None
        profile = build_profile(keywords=[keyword])
        return add_topic(session, row, name=name, profile=profile).id


def topic_ids(sessions: sessionmaker[Session], who: int) -> list[int]:
    with sessions() as session:
        return list(
            session.scalars(
                select(InterestProfileRow.id)
                .where(InterestProfileRow.subscriber_id == who)
                .order_by(InterestProfileRow.position)
            )
        )


def protein_papers(n: int) -> list[Paper]:
    return [topic_paper(f"2508.3{i:04d}", PROTEIN) for i in range(n)]


def test_every_topic_has_its_papers_in_the_readers_order_and_a_paper_once(
    any_sessions: sessionmaker[Session],
) -> None:
    both = topic_paper("2508.40000", f"{GNN} for {PROTEIN}")
    store(any_sessions, [*gnn_papers(2), *protein_papers(2), both])
    who = subscribe(any_sessions, "two@example.com")
    proteins = with_topic(any_sessions, who, "Proteins", PROTEIN)
    first = topic_ids(any_sessions, who)[0]
    one = subscribe(any_sessions, "one@example.com")
    run(any_sessions, options(max_papers=10))
    rows = outbox_rows(any_sessions)
    content = rows[who].content
    ids = [item["id"] for item in content]
    assert sorted(ids) == sorted(["2508.10000", "2508.10001", "2508.30000", "2508.30001", both.id])
    tags = [(item["topic"], item["topic_name"]) for item in content]
    # Sections in the reader's order: the first topic's papers, then the second's.
    assert tags == sorted(tags, key=lambda tag: tag[0] != first)
    assert set(tags) == {(first, "My interests"), (proteins, "Proteins")}
    # A reader with one topic: today's digest, each paper tagged with that topic.
    assert paper_ids(rows[one]) == ["2508.10000", "2508.10001", both.id]
    assert {item["topic_name"] for item in rows[one].content} == {"My interests"}


def test_the_limit_is_the_whole_mails_and_every_topic_keeps_its_best(
    any_sessions: sessionmaker[Session],
) -> None:
    store(any_sessions, [*gnn_papers(6), *protein_papers(3)])
    who = subscribe(any_sessions, "two@example.com")
    proteins = with_topic(any_sessions, who, "Proteins", PROTEIN)
    run(any_sessions, options(max_papers=3))
    content = outbox_rows(any_sessions)[who].content
    assert len(content) == 3
    assert content[0]["id"] == "2508.10000"  # the first topic's best comes first
    assert next(i["id"] for i in content if i["topic"] == proteins) == "2508.30000"


def test_returning_readers_topics_skip_what_they_received(sessions: sessionmaker[Session]) -> None:
    gnn, proteins = gnn_papers(4), protein_papers(3)
    store(sessions, [*gnn, *proteins])
    who = subscribe(sessions, "two@example.com")
    with_topic(sessions, who, "Proteins", PROTEIN)
    mark_sent(sessions, who, [*gnn[:2], proteins[0]])
    run(sessions, options(max_papers=4))
    assert sorted(paper_ids(outbox_rows(sessions)[who])) == [
        "2508.10002", "2508.10003", "2508.30001", "2508.30002",
    ]  # fmt: skip


def test_a_reader_whose_topics_match_nothing_has_a_skipped_day(
    sessions: sessionmaker[Session],
) -> None:
    store(sessions, gnn_papers(2))
    who = subscribe(sessions, "none@example.com", NO_MATCH)
    with_topic(sessions, who, "Also nothing", "medieval manuscripts")
    report = run(sessions)
    assert outbox_rows(sessions)[who].state == "skipped"
    assert report.nothing_matched == 1


def test_due_subscribers_come_once_each_with_every_topic_in_order(
    any_sessions: sessionmaker[Session],
) -> None:
    store(any_sessions, gnn_papers(1))
    who = subscribe(any_sessions, "two@example.com")
    with_topic(any_sessions, who, "Proteins", PROTEIN)
    with_topic(any_sessions, who, "Zebrafish", "zebrafish")
    other = subscribe(any_sessions, "one@example.com")
    with any_sessions() as session:
        due = list(due_subscribers(session, day=DAY, chunk=1))
    assert [s.id for s in due] == [who, other]
    assert [t.tag.name for t in due[0].topics] == ["My interests", "Proteins", "Zebrafish"]
    assert due[0].profile.keywords == (GNN,)
    assert [t.tag.name for t in due[1].topics] == ["My interests"]


def listing() -> list[Paper]:
    return parse_file_bytes(read_data(LISTING), what=LISTING).papers


def test_each_topic_is_ranked_with_its_own_stored_model(
    sessions: sessionmaker[Session], embedder: Embedder, embedding_cache: MemoryEmbeddingCache
) -> None:
    papers = listing()
    with sessions.begin() as session:
        store_papers(session, papers, now=NOW)
    by_id = {p.id: p for p in papers}
    model = fit_for_profile(
        AGENTS,
        [by_id[i] for i in CIRCUITS],
        [],
        embedder=embedder,
        cache=embedding_cache,
        background=[p for p in papers if p.id not in CIRCUITS],
    ).to_bytes()
    plain = subscribe(sessions, "plain@example.com", NO_MATCH)
    plain_agents = with_topic(sessions, plain, "Agents", "agents")
    learned = subscribe(sessions, "learned@example.com", NO_MATCH)
    learned_agents = with_topic(sessions, learned, "Agents", "agents")
    with sessions.begin() as session:
        for topic in (plain_agents, learned_agents):
            row = session.get(InterestProfileRow, topic)
            assert row is not None
            row.keywords, row.description = [], AGENTS.description
        store_model(session, learned_agents, model=model, examples=4, fitted_at=NOW)
    queue_digests(sessions=sessions, day=DAY, options=options(max_papers=8), embedder=embedder,
                  now=NOW)  # fmt: skip
    rows = outbox_rows(sessions)
    ranker = Ranker(papers, embedder=embedder, cache=embedding_cache)
    ((_, without),) = ranker.rank_many([(0, AGENTS)], limit=8)
    ((_, with_model),) = ranker.rank_many([(0, AGENTS)], limit=8, models=lambda _: model)
    assert paper_ids(rows[plain]) == [m.paper.id for m in without]
    assert paper_ids(rows[learned]) == [m.paper.id for m in with_model]
    assert [m.paper.id for m in with_model] != [m.paper.id for m in without]
    assert {item["topic"] for item in rows[learned].content} == {learned_agents}


def owed_topic(sessions: sessionmaker[Session], papers: list[Paper]) -> int:
    """A topic with votes whose model was never fitted (examples stored without a refit)."""
    who = subscribe(sessions, "owed@example.com", "agents")
    topic = topic_ids(sessions, who)[0]
    with sessions.begin() as session:
        for paper in papers[:3]:
            record_vote(session, topic, paper_id=paper.id, liked=True, source=VoteSource.DIGEST,
                        now=NOW, paper=paper)  # fmt: skip
    return topic


def test_the_refit_pass_fits_only_the_topics_owed_one(
    sessions: sessionmaker[Session], embedder: Embedder
) -> None:
    papers = listing()
    with sessions.begin() as session:
        store_papers(session, papers, now=NOW)
    topic = owed_topic(sessions, papers)
    subscribe(sessions, "untouched@example.com")
    with sessions() as session:
        assert owed_refits(session) == [topic]
    assert refit_owed(sessions, Learner(None), now=NOW).left == 1  # nothing to fit on
    later = datetime(2025, 8, 20, 7, tzinfo=UTC)
    done = refit_owed(sessions, Learner(embedder), now=later)
    assert (done.fitted, done.left) == (1, 0)
    with sessions() as session:
        assert owed_refits(session) == []
        (stored,) = session.scalars(select(TopicModelRow)).all()
        assert (stored.topic_id, stored.examples, stored.model is not None) == (topic, 3, True)
        assert stored.fitted_at is not None
        assert stored.fitted_at.replace(tzinfo=UTC) == later
    assert refit_owed(sessions, Learner(embedder), now=later) == type(done)()  # nothing owed


def test_the_scheduler_refits_before_it_queues(
    sessions: sessionmaker[Session], embedder: Embedder
) -> None:
    papers = listing()
    with sessions.begin() as session:
        store_papers(session, papers, now=NOW)
    topic = owed_topic(sessions, papers)
    runtime = scheduler.Runtime(settings=None, sessions=sessions, clock=lambda: NOW)  # type: ignore[arg-type]
    runtime._embedder, runtime._embedder_loaded = embedder, True
    scheduler.refit_job(runtime)
    with sessions() as session:
        assert owed_refits(session) == []
        assert session.get(TopicModelRow, topic) is not None
