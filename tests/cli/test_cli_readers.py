"""`newsletter subscribers topics|library` and `subscribers add --topic`, end to end on real
SQLite with the real library exports of tests/data/library."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import Result

from newsletter.db import subscriber_rows
from newsletter.db.examples import library_of, topic_model
from newsletter.db.papers import store_papers
from newsletter.db.topics import topics_of
from newsletter.library import read_library
from tests.conftest import DATA
from tests.support import cli_support
from tests.support.cli_support import error_line, sessions_for
from tests.support.factories import arxiv_paper

LIBRARY = DATA / "library"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "NEWSLETTER_DATABASE_URL": f"sqlite:///{tmp_path / 'readers.db'}",
        "NEWSLETTER_EMBEDDING_MODEL": "",  # the model is owed, not fitted: no weights loaded
        "NEWSLETTER_LOG_LEVEL": "WARNING",
        "COLUMNS": "250",
    }


def invoke(env: dict[str, str], *args: str) -> Result:
    return cli_support.invoke(env, "subscribers", *args)


def ok(env: dict[str, str], *args: str) -> Result:
    return cli_support.ok(env, "subscribers", *args)


def topic_names(env: dict[str, str], email: str = "ada@example.org") -> list[str]:
    with sessions_for(env)() as session:
        row = subscriber_rows.find(session, email)
        assert row is not None
        return [t.name for t in topics_of(session, row.id)]


def library_keys(env: dict[str, str], position: int = 0) -> list[str]:
    with sessions_for(env)() as session:
        row = subscriber_rows.find(session, "ada@example.org")
        assert row is not None
        topic = topics_of(session, row.id)[position]
        return sorted(entry.key for entry in library_of(session, topic.id))


def test_add_with_a_topic_names_the_first_one_and_adds_others(env: dict[str, str]) -> None:
    added = ok(env, "add", "ada@example.org", "--interests", "LLM agents", "--topic", "Agents")
    assert "added ada@example.org, topic 'Agents'" in added.stdout
    ok(env, "add", "ada@example.org", "--interests", "robot learning", "--topic", "Robots")
    ok(env, "add", "ada@example.org", "--interests", "tool-using agents", "--topic", "agents")
    assert topic_names(env) == ["Agents", "Robots"]
    with sessions_for(env)() as session:
        row = subscriber_rows.find(session, "ada@example.org")
        assert row is not None
        first, second = topics_of(session, row.id)
        assert first.description == "tool-using agents"  # the topic of that name, any case
        assert second.description == "robot learning"
    listed = json.loads(ok(env, "topics", "ada@example.org", "--format", "json").stdout)
    assert [(t["name"], t["position"], t["library"]) for t in listed] == [
        ("Agents", 0, 0),
        ("Robots", 1, 0),
    ]
    table = ok(env, "topics", "ada@example.org").stdout
    assert "1. Agents: tool-using agents" in table
    assert "2. Robots: robot learning" in table


def test_a_bibtex_library_is_imported_with_every_problem_and_its_line(
    env: dict[str, str],
) -> None:
    ok(env, "add", "ada@example.org", "--interests", "LLM agents")
    path = LIBRARY / "zotero_quirks.bib"
    read = read_library(path.read_bytes(), filename=path.name)
    result = invoke(env, "library", "ada@example.org", str(path))
    assert result.exit_code == 1, result.output  # some entries were unreadable
    lines = result.stdout.splitlines()
    assert lines[0] == (
        f"zotero_quirks.bib (BibTeX): {len(read.entries)} imported, {read.duplicates} duplicate"
        f"{'' if read.duplicates == 1 else 's'}, {len(read.problems)} problem"
        f"{'' if len(read.problems) == 1 else 's'}"
    )
    for problem in read.problems:
        assert f"line {problem.line}: {problem.reason}" in lines
    assert "nothing learned yet: learning from examples needs semantic matching" in result.stdout
    assert library_keys(env) == sorted(entry.key for entry in read.entries)
    again = invoke(env, "library", "ada@example.org", str(path))
    assert f"0 imported, {len(read.entries) + read.duplicates} duplicates" in again.stdout
    with sessions_for(env)() as session:
        row = subscriber_rows.find(session, "ada@example.org")
        assert row is not None
        assert row.profile is not None
        stored = topic_model(session, row.profile.id)
        assert stored is not None
        assert stored.model is None


def test_bare_ids_are_resolved_or_kept_as_ids_and_the_report_says_so(
    env: dict[str, str],
) -> None:
    ok(env, "add", "ada@example.org", "--interests", "transformers")
    with sessions_for(env).begin() as session:
        store_papers(session, [arxiv_paper("1810.04805", title="BERT")], now=datetime.now(UTC))
    result = invoke(env, "library", "ada@example.org", str(LIBRARY / "papers.txt"))
    assert result.exit_code == 1  # the list has a title and a malformed id
    assert "1 bare id found among the stored papers" in result.stdout
    assert "not among the stored papers, kept as ids only (" in result.stdout
    assert "each counts as an example once that paper is fetched" in result.stdout
    assert "1810.04805" in library_keys(env)


def test_into_a_named_topic(env: dict[str, str]) -> None:
    ok(env, "add", "ada@example.org", "--interests", "LLM agents")
    ok(env, "add", "ada@example.org", "--interests", "robots", "--topic", "Robots")
    result = ok(
        env,
        "library",
        "ada@example.org",
        str(LIBRARY / "bibtexparser_writer.bib"),
        "--topic",
        "robots",
    )
    assert result.stdout.startswith("bibtexparser_writer.bib (BibTeX): 3 imported, 0 dupl")
    assert library_keys(env, 0) == []
    assert library_keys(env, 1) != []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nobody@example.org", "FILE"], "error: no subscriber nobody@example.org"),
        (["ada@example.org", "FILE", "--topic", "Chess"], "has no topic 'Chess'"),
        (["ada@example.org", "MISSING"], "cannot read"),
        (["ada@example.org", "PDF"], "this is a PDF document, not a library export"),
    ],
)
def test_nothing_is_imported_when_it_cannot_be(
    env: dict[str, str], tmp_path: Path, args: list[str], message: str
) -> None:
    ok(env, "add", "ada@example.org", "--interests", "LLM agents")
    pdf = tmp_path / "paper.pdf"
    pdf.write_bytes(b"%PDF-1.7\n" + bytes(range(256)))
    paths = {"FILE": str(LIBRARY / "zotero_quirks.bib"), "MISSING": str(tmp_path / "no.bib"),
             "PDF": str(pdf)}  # fmt: skip
    result = invoke(env, "library", *[paths.get(a, a) for a in args])
    assert result.exit_code == 2, result.output
    assert message in error_line(result)
    assert library_keys(env) == []
