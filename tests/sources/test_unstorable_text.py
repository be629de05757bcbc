"""Text no database can store (NUL, lone surrogates) is cleaned where sources are parsed, so
one odd line never aborts a whole fetch (PostgreSQL refuses NUL in text)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from newsletter.db import migrations
from newsletter.db.engine import make_engine, session_factory
from newsletter.db.papers import list_papers
from newsletter.pipeline.fetch import ingest
from newsletter.sources.files import FileSource
from tests.conftest import read_data

NOW = datetime(2025, 8, 20, tzinfo=UTC)


def test_storable_text_drops_nul_and_replaces_lone_surrogates() -> None:
    from newsletter.normalize import storable, storable_text

    assert storable_text("plain") == "plain"
    assert storable_text("a\x00b\ud800c\udfff") == "ab\ufffdc\ufffd"
    assert storable_text("\U0001f600") == "\U0001f600"  # a real pair, as one character
    assert storable({"k\x00": ["v\x00", 1, None]}) == {"k": ["v", 1, None]}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, sqlite_url: str) -> Iterator[sessionmaker[Session]]:
    url = sqlite_url if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    engine = make_engine(str(url))
    migrations.upgrade(engine)
    yield session_factory(engine)
    engine.dispose()


def test_a_json_lines_line_with_nul_does_not_abort_the_fetch(
    database: sessionmaker[Session], tmp_path: Path
) -> None:
    lines = [
        {"title": "Plain paper", "abstract": "Nothing odd."},
        {"title": "Odd\u0000 paper", "abstract": "A NUL\u0000 here", "authors": ["A\u0000 B"]},
        {"title": "Surrogate \ud800 paper", "abstract": "Lone \udc00 half."},
    ]
    # The parser refuses the lone surrogate: that line is reported as skipped, the rest stored.
    path = tmp_path / "papers.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines))  # escapes: \u0000, \ud800
    outcome = ingest(FileSource(path, max_bytes=10**6), sessions=database, day=None, now=NOW)
    assert (outcome.counts.new, outcome.counts.skipped) == (2, 1)
    assert "line 3" in outcome.skipped[0].where
    with database() as session:
        titles = sorted(p.title for p in list_papers(session, limit=10))
        authors = [p.authors for p in list_papers(session, limit=10) if p.title == "Odd paper"]
    assert titles == ["Odd paper", "Plain paper"]
    assert authors == [("A B",)]


def test_a_hugging_face_item_with_nul_is_stored_clean(
    database: sessionmaker[Session], tmp_path: Path
) -> None:
    items = json.loads(read_data("hf_daily_papers.json"))
    items[0]["paper"]["summary"] = "An abstract with a NUL\u0000."
    path = tmp_path / "hf.json"
    path.write_text(json.dumps(items))
    outcome = ingest(FileSource(path, max_bytes=10**6), sessions=database, day=None, now=NOW)
    assert outcome.counts.new == len(items)
    with database() as session:
        abstracts = [p.abstract for p in list_papers(session, limit=10)]
    assert "An abstract with a NUL." in abstracts
