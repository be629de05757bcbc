"""The bundled sample day: loaded by a new dev instance whose first fetch fails, marked as
sample data wherever it shows, and replaced by the first real papers."""

from __future__ import annotations

import logging
import secrets
import socket
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from sqlalchemy.orm import Session, sessionmaker

from newsletter.config import Settings
from newsletter.db import migrations
from newsletter.db.engine import make_engine, session_factory
from newsletter.db.papers import count_papers, list_papers, remove_sample_papers, store_papers
from newsletter.domain import Match, Source, is_sample
from newsletter.mail.render import DigestLinks, Masthead, render_digest
from newsletter.pipeline import scheduler
from newsletter.pipeline.fetch import ingest
from newsletter.pipeline.sample import load_sample_day, sample_papers
from newsletter.sources.files import FileSource
from tests.conftest import DATA
from tests.support.factories import arxiv_paper

NOW = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)
RECORDED = DATA / "arxiv_listing_atom_cs.AI_2025-08-20.xml"


@pytest.fixture
def nowhere() -> Iterator[str]:
    """A loopback URL that refuses every connection, as a machine without network would."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))  # bound, never listening
        yield f"http://127.0.0.1:{closed.getsockname()[1]}"


def offline(settings: Settings, nowhere: str, **changes: object) -> Settings:
    return settings.model_copy(
        update={
            "arxiv_listing_url": f"{nowhere}/atom",
            "arxiv_api_url": f"{nowhere}/api/query",
            "hf_api_url": f"{nowhere}/api/daily_papers",
            **changes,
        }
    )


def run_first_fetch(settings: Settings, sessions: sessionmaker[Session]) -> None:
    scheduler._runtime = scheduler.Runtime(settings, sessions, clock=lambda: NOW)
    try:
        scheduler.first_fetch_job()
    finally:
        scheduler._runtime = None


def test_the_sample_is_the_recorded_day_dated_today_and_marked() -> None:
    today = date(2026, 12, 2)
    papers = sample_papers(today)
    recorded = FileSource(RECORDED, max_bytes=10_000_000).fetch(day=None).papers
    assert [p.id for p in papers] == [p.id for p in recorded]  # the package's copy is whole
    assert len(papers) == 86
    assert {p.announced_on for p in papers} == {today}
    assert all(map(is_sample, papers))
    assert not any(map(is_sample, recorded))


def test_an_offline_dev_instance_loads_the_sample_day_and_says_so_once(
    settings: Settings,
    sessions: sessionmaker[Session],
    nowhere: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="newsletter")
    run_first_fetch(offline(settings, nowhere), sessions)
    with sessions() as session:
        stored = list_papers(session, limit=1000)
    assert len(stored) == 86
    assert all(is_sample(p) and p.announced_on == NOW.date() for p in stored)
    said = [r.getMessage() for r in caplog.records if "sample papers" in r.getMessage()]
    assert len(said) == 1
    assert said[0].startswith("the first fetch failed (arxiv, hf) and no papers are stored")
    assert (
        "loaded 86 sample papers from a recorded arXiv cs.AI listing of 20 August 2025" in (said[0])
    )
    # One attempt per source: the newcomer is not kept waiting through the backoff.
    assert not [r for r in caplog.records if "retrying" in r.getMessage()]

    caplog.clear()
    run_first_fetch(offline(settings, nowhere), sessions)  # papers are there now
    assert not [r for r in caplog.records if "sample papers" in r.getMessage()]
    with sessions() as session:
        assert count_papers(session) == 86


def test_production_never_loads_the_sample(
    settings: Settings, sessions: sessionmaker[Session], nowhere: str
) -> None:
    production = offline(
        settings,
        nowhere,
        env="production",
        secret_key=secrets.token_urlsafe(32),
        base_url="https://digest.example.org",
        smtp_host="smtp.example.org",
        http_retries=0,
    )
    run_first_fetch(production, sessions)
    with sessions() as session:
        assert count_papers(session) == 0  # the empty site is the truth there


def test_the_first_real_papers_replace_the_sample_day(
    settings: Settings, sessions: sessionmaker[Session], nowhere: str
) -> None:
    run_first_fetch(offline(settings, nowhere), sessions)
    real = FileSource(DATA / "hf_daily_papers.json", max_bytes=10_000_000, name="hf")
    outcome = ingest(real, sessions=sessions, day=None, now=NOW)
    with sessions() as session:
        stored = list_papers(session, limit=1000)
    assert outcome.counts.new == len(stored) > 0
    assert not any(map(is_sample, stored))


def test_a_digest_of_sample_papers_says_so_in_both_parts() -> None:
    papers = sample_papers(NOW.date())[:2]
    links = DigestLinks("https://x/view", "https://x/prefs", "https://x/unsub", {})
    masthead = Masthead("Paper digest", "", "https://x")

    def render(marked: bool) -> tuple[str, str]:
        chosen = papers if marked else [replace(p, sources=(Source.ARXIV_LISTING,)) for p in papers]
        matches = [Match(paper=p, score=0.9, why=(), highlights=()) for p in chosen]
        mail = render_digest(
            matches=matches, day=NOW.date(), recipient="a@b.org", links=links, masthead=masthead
        )
        return mail.html, mail.text

    html, text = render(marked=True)
    assert "Sample data:" in html
    assert "20 August 2025" in " ".join(text.split())
    html, text = render(marked=False)
    assert "Sample data" not in html + text


@pytest.mark.postgres
def test_the_sample_day_is_found_and_replaced_on_postgresql(postgres_url: str) -> None:
    engine = make_engine(postgres_url)
    migrations.upgrade(engine)
    sessions = session_factory(engine)
    try:
        load_sample_day(sessions, today=NOW.date(), now=NOW)
        with sessions.begin() as session:
            store_papers(session, [arxiv_paper("2512.00001")], now=NOW)
            assert remove_sample_papers(session) == 86
        with sessions() as session:
            assert [p.id for p in list_papers(session)] == ["2512.00001"]
    finally:
        engine.dispose()
