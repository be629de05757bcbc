"""`newsletter rank`: the stable "what would my digest look like?" command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from newsletter.cli import papers as papers_command
from newsletter.cli.app import app
from newsletter.matching.embedding import DEFAULT_MODEL, load_embedder
from newsletter.matching.semantic import Embedder

LISTING = "arxiv_listing_atom_cs.AI_2025-08-20.xml"


@pytest.fixture
def env_overrides() -> dict[str, str | None]:
    return {
        # A database path that cannot be created: rank must not need one.
        "NEWSLETTER_DATABASE_URL": "sqlite:////proc/no-such-dir/db.sqlite",
        "NEWSLETTER_EMBEDDING_MODEL": None,  # the default: semantic ranking is on
    }


def rank(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(app, ["rank", *args], env=env)


def test_json_output_best_first(env: dict[str, str], data_dir: Path) -> None:
    result = rank(
        env,
        "--papers", str(data_dir / LISTING),
        "--interests", "LLMs for finance and financial analysis",
        "--keyword", "stock market",
        "--exclude", "agentic",
        "--limit", "5",
        "--format", "json",
        "--no-semantic",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert 1 <= len(rows) <= 5
    assert [r["score"] for r in rows] == sorted((r["score"] for r in rows), reverse=True)
    for row in rows:
        assert {"id", "title", "score", "why"} <= set(row)
        assert row["why"]
        assert "agentic" not in (row["title"]).lower()
    finance = {"2508.13429", "2508.13327", "2508.13915", "2508.13174"}
    assert rows[0]["id"] in finance
    assert {r["id"] for r in rows[:3]} <= finance


def test_jsonl_titles_come_back_collapsed(env: dict[str, str], tmp_path: Path) -> None:
    papers = tmp_path / "papers.jsonl"
    lines = [
        {"title": "Mixture of\n  Experts at scale", "abstract": "Sparse MoE layers."},
        {"title": "Coral reefs", "abstract": "Oceans and fish."},
        {"title": "Protein folding", "abstract": "Structures of proteins."},
    ]
    papers.write_text("".join(json.dumps(line) + "\n" for line in lines))
    result = rank(env, "--papers", str(papers), "--keyword", "mixture of experts", "--format",
                  "json", "--no-semantic")  # fmt: skip
    rows = json.loads(result.stdout)
    assert rows[0]["title"] == "Mixture of Experts at scale"
    assert rows[0]["id"].startswith("local:")


def test_semantic_by_default(
    env: dict[str, str], data_dir: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The command gets the session's copy of the model (already loaded, its vectors kept)
    # when it asks for the default one; what it asks for is recorded and checked.
    asked: list[str | None] = []

    def load(model: str | None) -> Embedder | None:
        asked.append(model)
        return embedder if model == embedder.name else load_embedder(model)

    monkeypatch.setattr(papers_command, "load_embedder", load)
    result = rank(
        env, "--papers", str(data_dir / LISTING), "--interests",
        "automating the work of electronics engineers on chips", "--format", "json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert any("close in meaning" in line for row in rows for line in row["why"])
    assert asked == [DEFAULT_MODEL]


def test_table_output(env: dict[str, str], data_dir: Path) -> None:
    result = rank(env, "--papers", str(data_dir / LISTING), "--category", "cs.AR",
                  "--no-semantic")  # fmt: skip
    assert result.exit_code == 0
    assert "EvoVerilog" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "the profile is empty"),
        (("--category", "cs CL"), "not arXiv categories"),
        (("--interests", "x" * 2001), "longer than 2000 characters"),
        (("--seed-paper", "my paper"), "not an arXiv id"),
    ],
)
def test_bad_profiles(
    env: dict[str, str], data_dir: Path, args: tuple[str, ...], message: str
) -> None:
    result = rank(env, "--papers", str(data_dir / LISTING), *args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_unreadable_papers_file(env: dict[str, str], tmp_path: Path) -> None:
    result = rank(env, "--papers", str(tmp_path / "missing.jsonl"), "--interests", "agents")
    assert result.exit_code == 2
    assert "No such file" in result.stderr


def test_seed_paper_not_in_file_is_reported(env: dict[str, str], data_dir: Path) -> None:
    result = rank(env, "--papers", str(data_dir / LISTING), "--interests", "agents",
                  "--seed-paper", "2401.00001", "--no-semantic")  # fmt: skip
    assert result.exit_code == 0
    assert "seed papers not in" in result.stderr
