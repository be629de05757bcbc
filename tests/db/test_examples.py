"""What a topic learns from: its library (real exports from tests/data/library), its votes
and its model row, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from newsletter.db.examples import (
    LIBRARY,
    VoteSource,
    add_library,
    examples_of,
    library_of,
    model_bytes,
    models_for,
    owed_refits,
    record_vote,
    remove_library,
    reset_votes,
    store_model,
    topic_model,
    votes_of,
)
from newsletter.db.models import LibraryEntryRow, TopicModelRow, VoteRow
from newsletter.db.papers import store_papers
from newsletter.db.subscriber_rows import find
from newsletter.db.subscriptions import record_feedback
from newsletter.db.topics import add_topic, delete_topic, first_topic
from newsletter.domain import InterestProfile
from newsletter.library import read_library
from newsletter.subscribers.library_import import import_library
from tests.conftest import DATA
from tests.support.factories import arxiv_paper
from tests.support.web_support import (
    Database,
    subscriber,
)

NOW = datetime(2025, 8, 21, 9, tzinfo=UTC)


def first_topic_id(database: Database) -> int:
    with database.sessions.begin() as session:
        row = find(session, "ada@example.org")
        assert row is not None
        return first_topic(session, row).id


def count(database: Database, model: type) -> int:
    with database.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_a_bibtex_library_is_stored_with_its_text_and_a_second_import_adds_nothing(
    database: Database,
) -> None:
    subscriber(database.sessions)
    topic = first_topic_id(database)
    data = (DATA / "library" / "zotero_quirks.bib").read_bytes()
    with database.sessions.begin() as session:
        report = import_library(session, topic, data, filename="zotero_quirks.bib", now=NOW)
    read = read_library(data, filename="zotero_quirks.bib")
    assert report.added == len(read.entries) > 0
    assert [(p.line, p.reason) for p in report.problems] == [
        (p.line, p.reason) for p in read.problems
    ]
    assert report.duplicates == read.duplicates
    with database.sessions.begin() as session:
        again = import_library(session, topic, data, filename="zotero_quirks.bib", now=NOW)
        stored = library_of(session, topic)
    assert again.added == 0
    assert again.duplicates == len(read.entries) + read.duplicates
    by_key = {entry.key: entry for entry in stored}
    assert set(by_key) == {entry.key for entry in read.entries}
    for entry in read.entries:
        assert by_key[entry.key].title == entry.title
        assert by_key[entry.key].abstract == entry.abstract


def test_bare_ids_take_a_stored_papers_text_or_wait_for_it(database: Database) -> None:
    subscriber(database.sessions)
    topic = first_topic_id(database)
    with database.sessions.begin() as session:
        store_papers(session, [arxiv_paper("1810.04805", title="BERT")], now=NOW)
        report = import_library(
            session, topic, b"1810.04805\n2401.04088\n", filename="ids.txt", now=NOW
        )
    assert (report.added, report.resolved, report.id_only) == (2, ["1810.04805"], ["2401.04088"])
    assert "kept as ids only (2401.04088)" in " ".join(report.notes())
    with database.sessions() as session:
        usable = {e.paper.id: e.paper.title for e in examples_of(session, topic)}
    assert usable == {"1810.04805": "BERT"}  # an id alone has no text to learn from
    with database.sessions.begin() as session:  # the paper is fetched later: it counts now
        store_papers(session, [arxiv_paper("2401.04088", title="Mixtral of Experts")], now=NOW)
    with database.sessions() as session:
        usable = {e.paper.id: e.paper.title for e in examples_of(session, topic)}
    assert usable == {"1810.04805": "BERT", "2401.04088": "Mixtral of Experts"}


def test_an_id_only_entry_takes_the_text_of_a_later_import(database: Database) -> None:
    subscriber(database.sessions)
    topic = first_topic_id(database)
    bib = b"@misc{m, title={Mixtral of Experts}, eprint={2401.04088}, archivePrefix={arXiv}}"
    with database.sessions.begin() as session:
        add_library(session, topic, read_library(b"2401.04088\n").entries, now=NOW)
        report = import_library(session, topic, bib, filename="m.bib", now=NOW)
        (entry,) = library_of(session, topic)
    assert (report.added, report.duplicates) == (0, 1)
    assert (entry.key, entry.title) == ("2401.04088", "Mixtral of Experts")


def test_votes_replace_each_other_and_outrank_the_library(database: Database) -> None:
    subscriber(database.sessions)
    topic = first_topic_id(database)
    paper = arxiv_paper("1810.04805", title="BERT", abstract="Deep bidirectional transformers.")
    with database.sessions.begin() as session:
        add_library(session, topic, read_library(b"@misc{b, title={BERT}, eprint={1810.04805}}")
                    .entries, now=NOW)  # fmt: skip
        for liked, source in ((True, VoteSource.DIGEST), (False, VoteSource.RATING)):
            record_vote(
                session, topic, paper_id=paper.id, liked=liked, source=source, now=NOW,
                paper=paper,
            )  # fmt: skip
    with database.sessions() as session:
        (vote,) = votes_of(session, topic)
        (example,) = examples_of(session, topic)
    assert (vote.liked, vote.source, vote.title) == (False, "rating", "BERT")
    assert (example.liked, example.source, example.paper.abstract) == (
        False, "rating", "Deep bidirectional transformers.",
    )  # fmt: skip


def test_every_change_owes_a_refit_until_a_model_is_stored(database: Database) -> None:
    subscriber(database.sessions)
    topic = first_topic_id(database)
    with database.sessions.begin() as session:
        assert owed_refits(session) == []
        record_vote(
            session, topic, paper_id="2508.13167", liked=True, source=VoteSource.WEB, now=NOW
        )
        assert owed_refits(session) == [topic]
        store_model(session, topic, model=b"model", examples=1, fitted_at=NOW)
        assert owed_refits(session) == []
        assert models_for(session, [topic]) == {topic: b"model"}
        later = NOW + timedelta(minutes=1)
        remove_library(session, topic, now=later)  # nothing there: nothing changed
        assert owed_refits(session) == []
        record_vote(
            session, topic, paper_id="2508.13171", liked=False, source=VoteSource.WEB, now=later
        )
        assert owed_refits(session) == [topic]
        assert model_bytes(session, topic) == b"model"


def test_reset_forgets_votes_and_the_model_but_not_the_written_profile(
    database: Database,
) -> None:
    subscriber(database.sessions, profile=InterestProfile(keywords=("agents",),
               seed_papers=("2401.00001",)))  # fmt: skip
    topic = first_topic_id(database)
    with database.sessions.begin() as session:
        row = find(session, "ada@example.org")
        assert row is not None
        record_feedback(row, paper_id="2508.13167", more=True)  # a digest's "more like this"
        record_vote(
            session, topic, paper_id="2508.13167", liked=True, source=VoteSource.DIGEST, now=NOW
        )
        add_library(session, topic, read_library(b"@misc{b, title={BERT}}").entries, now=NOW)
        store_model(session, topic, model=b"model", examples=2, fitted_at=NOW)
        assert reset_votes(session, row.profile, now=NOW) == 1  # type: ignore[arg-type]
    with database.sessions() as session:
        row = find(session, "ada@example.org")
        assert row is not None
        assert row.profile is not None
        assert row.profile.keywords == ["agents"]
        assert row.profile.seed_papers == ["2401.00001"]  # typed; the voted one went
        assert votes_of(session, topic) == []
        assert [e.source for e in examples_of(session, topic)] == [LIBRARY]
        stored = topic_model(session, topic)
        assert stored is not None
        assert stored.model is None


def test_deleting_a_topic_deletes_its_library_votes_and_model(database: Database) -> None:
    subscriber(database.sessions)
    with database.sessions.begin() as session:
        row = find(session, "ada@example.org")
        assert row is not None
        topic = add_topic(session, row, name="Robots", profile=InterestProfile(keywords=("x",)))
        add_library(session, topic.id, read_library(b"@misc{b, title={BERT}}").entries, now=NOW)
        record_vote(session, topic.id, paper_id="p1", liked=True, source=VoteSource.WEB, now=NOW)
        store_model(session, topic.id, model=b"m", examples=1, fitted_at=NOW)
    assert [count(database, m) for m in (LibraryEntryRow, VoteRow, TopicModelRow)] == [1, 1, 1]
    with database.sessions.begin() as session:
        row = find(session, "ada@example.org")
        assert row is not None
        delete_topic(session, row.topics[1])
    assert [count(database, m) for m in (LibraryEntryRow, VoteRow, TopicModelRow)] == [0, 0, 0]
