"""Storing papers: new / updated / unchanged counts, merging, and all-or-nothing ingestion."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from newsletter.db.fetch_runs import failed_since, latest_per_source
from newsletter.db.papers import count_papers, list_papers, papers_by_id, store_papers
from newsletter.domain import AnnounceType, IngestCounts, ParseResult, Source
from newsletter.pipeline.fetch import EveryEntrySkipped, ingest
from newsletter.sources import SourceError
from newsletter.sources.files import FileSource
from tests.support.factories import arxiv_paper, hf_paper

NOW = datetime(2025, 8, 20, 6, 0, tzinfo=UTC)
LATER = datetime(2025, 8, 21, 6, 0, tzinfo=UTC)


def store(sessions: sessionmaker[Session], *papers: object, now: datetime = NOW) -> IngestCounts:
    with sessions.begin() as session:
        return store_papers(session, papers, now=now)  # type: ignore[arg-type]


def test_round_trip_preserves_every_field(any_sessions: sessionmaker[Session]) -> None:
    paper = arxiv_paper(published_at=datetime(2025, 8, 19, 17, 59, 30, 123456, tzinfo=UTC))
    merged_with_hf = store(any_sessions, paper, hf_paper())
    assert merged_with_hf == IngestCounts(new=1)
    with any_sessions() as session:
        (stored,) = list_papers(session)
    assert stored.published_at == paper.published_at
    assert stored.published_at is not None
    assert stored.published_at.tzinfo is not None
    assert stored.hf is not None
    assert stored.hf.ai_keywords == ("agents", "distillation")
    assert store(any_sessions, stored) == IngestCounts(unchanged=1)


def test_same_papers_twice_change_nothing(any_sessions: sessionmaker[Session]) -> None:
    papers = [arxiv_paper(f"2508.{n:05d}") for n in range(3)]
    assert store(any_sessions, *papers) == IngestCounts(new=3)
    assert store(any_sessions, *papers, now=LATER) == IngestCounts(unchanged=3)


def test_new_version_updates_the_paper(any_sessions: sessionmaker[Session]) -> None:
    store(any_sessions, arxiv_paper(version=1))
    v2 = arxiv_paper(version=2, announce_type=AnnounceType.REPLACE, announced_on=date(2025, 9, 2))
    assert store(any_sessions, v2, now=LATER) == IngestCounts(updated=1)
    with any_sessions() as session:
        assert count_papers(session) == 1
        (paper,) = list_papers(session, day=date(2025, 9, 2))
    assert (paper.version, paper.announce_type) == (2, AnnounceType.REPLACE)


def test_paper_on_arxiv_and_hugging_face_is_one_row(any_sessions: sessionmaker[Session]) -> None:
    assert store(any_sessions, arxiv_paper()) == IngestCounts(new=1)
    assert store(any_sessions, hf_paper(upvotes=7)) == IngestCounts(updated=1)
    assert store(any_sessions, hf_paper(upvotes=7)) == IngestCounts(unchanged=1)
    assert store(any_sessions, hf_paper(upvotes=9)) == IngestCounts(updated=1)
    with any_sessions() as session:
        (paper,) = list_papers(session)
    assert paper.hf is not None
    assert paper.hf.upvotes == 9
    assert paper.abstract == arxiv_paper().abstract


def test_lookups_are_chunked_for_large_batches(sessions: sessionmaker[Session]) -> None:
    papers = [arxiv_paper(f"2509.{n:05d}") for n in range(1_200)]
    assert store(sessions, *papers) == IngestCounts(new=1_200)
    assert store(sessions, *papers) == IngestCounts(unchanged=1_200)


class FailingSource:
    name = "failing"

    def fetch(self, *, day: date | None) -> ParseResult:
        raise SourceError("arXiv answered HTTP 503")


def test_failed_source_leaves_database_unchanged(sessions: sessionmaker[Session]) -> None:
    store(sessions, arxiv_paper())
    with pytest.raises(SourceError, match="503"):
        ingest(FailingSource(), sessions=sessions, day=None, now=LATER)
    with sessions() as session:
        assert [p.id for p in list_papers(session)] == ["2508.13167"]


def test_ingest_reports_skipped_items(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    lines = tmp_path / "papers.jsonl"
    lines.write_text('{"title": "A paper", "abstract": "About things."}\n{"title": 3}\n')
    outcome = ingest(FileSource(lines, 10_000), sessions=sessions, day=None, now=NOW)
    assert outcome.counts == IngestCounts(new=1, skipped=1)
    assert "line 2" in outcome.skipped[0].where


def test_ingest_logs_each_skipped_item(
    sessions: sessionmaker[Session], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    lines = tmp_path / "papers.jsonl"
    lines.write_text('{"title": "A paper", "abstract": "About things."}\n{"abstract": "x"}\n')
    with caplog.at_level("WARNING", logger="newsletter.pipeline.fetch"):
        ingest(FileSource(lines, 10_000), sessions=sessions, day=None, now=NOW)
    assert [r.getMessage() for r in caplog.records] == [
        f"skipped {lines}, line 2: title: Field required"
    ]


def test_undated_file_papers_are_announced_on_the_day_first_stored(
    any_sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    lines = tmp_path / "papers.jsonl"
    lines.write_text(
        '{"title": "Undated", "abstract": "About things."}\n'
        '{"title": "Dated", "abstract": "About things.", "date": "2026-11-30"}\n'
    )
    source = FileSource(lines, 10_000)
    first = ingest(source, sessions=any_sessions, day=None, now=NOW, undated_on=date(2026, 12, 1))
    assert first.counts == IngestCounts(new=2)
    again = ingest(source, sessions=any_sessions, day=None, now=LATER, undated_on=date(2026, 12, 2))
    assert again.counts == IngestCounts(unchanged=2)  # the first day stays
    with any_sessions() as session:
        days = {p.title: p.announced_on for p in list_papers(session)}
    assert days == {"Undated": date(2026, 12, 1), "Dated": date(2026, 11, 30)}


def test_undated_day_never_touches_arxiv_or_hugging_face_papers(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        store_papers(session, [hf_paper(), arxiv_paper("2508.00001", announced_on=None)], now=NOW,
                     undated_on=date(2026, 12, 1))  # fmt: skip
    with sessions() as session:
        assert {p.id: p.announced_on for p in list_papers(session)} == {
            "2508.13167": None, "2508.00001": None,
        }  # fmt: skip


def test_long_ids_fit(any_sessions: sessionmaker[Session]) -> None:
    long_id = "url:https://example.org/" + "p" * 220
    store(any_sessions, arxiv_paper(long_id, sources=(Source.JSON_LINES,)))
    with any_sessions() as session:
        assert papers_by_id(session, [long_id])[long_id].id == long_id


def test_a_source_whose_every_entry_is_broken_has_failed(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    lines = tmp_path / "cut.jsonl"
    lines.write_text('{"title": "A paper", "abstract": "About things."\n{"title": 3}\n')
    with pytest.raises(EveryEntrySkipped, match=r"every entry of file:cut.jsonl was skipped \(2\)"):
        ingest(FileSource(lines, 10_000, name="file:cut.jsonl"), sessions=sessions, day=None,
               now=NOW)  # fmt: skip
    with sessions() as session:
        assert count_papers(session) == 0
        (run,) = latest_per_source(session)
    assert (run.source, run.at, run.error) == (
        "file:cut.jsonl",
        NOW,
        "every entry of file:cut.jsonl was skipped (2): nothing was stored",
    )


def test_every_fetch_is_recorded(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    lines = tmp_path / "papers.jsonl"
    lines.write_text('{"title": "A paper", "abstract": "About things."}\n{"title": 3}\n')
    ingest(FileSource(lines, 10_000, name="file:papers.jsonl"), sessions=sessions, day=None,
           now=NOW)  # fmt: skip
    with pytest.raises(SourceError):
        ingest(FailingSource(), sessions=sessions, day=None, now=LATER)
    with sessions() as session:
        runs = {run.source: run for run in latest_per_source(session)}
        failed = failed_since(session, NOW)
    assert runs["file:papers.jsonl"].counts == IngestCounts(new=1, skipped=1)
    assert runs["file:papers.jsonl"].error is None
    assert [(run.source, run.error) for run in failed] == [
        (FailingSource.name, "arXiv answered HTTP 503")
    ]
