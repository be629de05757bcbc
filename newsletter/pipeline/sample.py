"""The bundled sample day: what a new development instance shows when it cannot fetch.

A newcomer who runs `make run` without network would otherwise see an empty site: no
preview, no digest, nothing to try. So in dev, when the database holds no papers and the
first fetch failed, the scheduler loads this recorded arXiv listing (package data: the
wheel carries it) and says so in one log line. Its papers are dated the day they are
loaded, so the subscribe preview, "preview now" and the day's digest use them like a
real day, and each carries `Source.SAMPLE`, so every page and mail that shows them says
they are sample data. The first fetch that brings real papers deletes them
(`db.papers.remove_sample_papers`). Never in production: there an empty site is the
truth, and the failed fetch is what the operator must see.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from importlib.resources import files

from sqlalchemy.orm import Session, sessionmaker

from newsletter.db.papers import count_papers, store_papers
from newsletter.domain import Paper, Source
from newsletter.sources.arxiv_listing import parse_listing

SAMPLE_FILE = "sample_arxiv_cs.AI_2025-08-20.xml"  # a copy of tests/data's recorded listing


def sample_papers(today: date) -> list[Paper]:
    """The recorded listing's papers, announced `today` and marked as sample data."""
    data = files("newsletter.pipeline").joinpath(SAMPLE_FILE).read_bytes()
    parsed = parse_listing(data, what="the bundled sample listing")
    return [
        replace(paper, announced_on=today, sources=(*paper.sources, Source.SAMPLE))
        for paper in parsed.papers
    ]


def load_sample_day(sessions: sessionmaker[Session], *, today: date, now: datetime) -> int:
    """Store the sample papers when the database holds none (another process may have
    fetched meanwhile); how many were stored."""
    with sessions.begin() as session:
        if count_papers(session):
            return 0
        return store_papers(session, sample_papers(today), now=now).new
