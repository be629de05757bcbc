"""`newsletter rank`: the stable "what would my digest look like?" command."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from newsletter.cli.app import app
from newsletter.matching import embedding
from newsletter.matching.embedding import DEFAULT_MODEL, load_embedder
from newsletter.matching.semantic import Embedder
from newsletter.normalize import content_id
from newsletter.sources.files import parse_file_bytes

LISTING = "arxiv_listing_atom_cs.AI_2025-08-20.xml"
FINANCE = {"2508.13429", "2508.13327", "2508.13915", "2508.13174"}  # the listing's finance papers


@pytest.fixture
def env_overrides(tmp_path: Path) -> dict[str, str | None]:
    return {
        # A database path that cannot be created: rank must not need one.
        "NEWSLETTER_DATABASE_URL": "sqlite:////proc/no-such-dir/db.sqlite",
        "NEWSLETTER_EMBEDDING_MODEL": None,  # the default: semantic ranking is on
        "NEWSLETTER_EMBEDDING_CACHE_FILE": str(tmp_path / "cache" / "vectors.sqlite3"),
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
    assert rows[0]["id"] in FINANCE
    assert {r["id"] for r in rows[:3]} <= FINANCE


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

    # The command imports it when it runs (a fast `--help`): patched where it is imported from.
    monkeypatch.setattr(embedding, "load_embedder", load)
    result = rank(
        env, "--papers", str(data_dir / LISTING), "--interests",
        "automating the work of electronics engineers on chips", "--format", "json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert any(line.startswith("close to your interest") for row in rows for line in row["why"])
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
        (("--seed-paper", "my paper"), "not an arXiv id, DOI"),
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


def test_an_unknown_seed_paper_is_an_error_naming_it(
    env: dict[str, str], data_dir: Path, tmp_path: Path
) -> None:
    """Not a warning any more: a ranking that silently lost its example would mislead, and
    `--known` now gives a way to supply the paper."""
    known = write_jsonl(tmp_path / "known.jsonl", [VERILOG_SEED])
    result = rank(env, "--papers", str(data_dir / LISTING), "--interests", "agents",
                  "--seed-paper", "2401.00001", "--seed-paper", "10.1145/3000001",
                  "--seed-paper", "doi:10.9999/absent", "--known", str(known),
                  "--no-semantic")  # fmt: skip
    assert result.exit_code == 2
    assert "2401.00001, doi:10.9999/absent" in result.stderr
    assert "--known" in result.stderr
    assert "10.1145/3000001," not in result.stderr  # found in the known file


VERILOG_SEED = {
    "id": "https://doi.org/10.1145/3000001",
    "title": "Large language models write Verilog for hardware design",
    "abstract": "We generate Verilog RTL code for digital circuits and hardware accelerators "
    "with language models, and check the circuits by simulation and formal verification.",
}


def write_jsonl(path: Path, rows: list[dict[str, str]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


@pytest.mark.parametrize(
    "seed",
    [
        "10.1145/3000001",
        "doi:10.1145/3000001",
        "https://doi.org/10.1145/3000001",
    ],
)
def test_seed_paper_from_a_known_file_by_any_id(
    env: dict[str, str], data_dir: Path, tmp_path: Path, seed: str
) -> None:
    """Query by example: the liked paper comes from --known, outside the ranked papers.
    (Lexical evidence alone rarely makes a liked-paper match likely: --min-score 0.)"""
    known = write_jsonl(tmp_path / "known.jsonl", [VERILOG_SEED])
    result = rank(env, "--papers", str(data_dir / LISTING), "--seed-paper", seed,
                  "--known", str(known), "--min-score", "0", "--format", "json",
                  "--no-semantic")  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert rows
    assert rows[0]["title"].startswith("EvoVerilog")
    assert rows[0]["why"][0].startswith('like a paper you liked: "Large language models write')
    assert all(r["id"] != "doi:10.1145/3000001" for r in rows)


def test_content_and_s2_ids_name_known_papers(
    env: dict[str, str], data_dir: Path, tmp_path: Path
) -> None:
    s2 = "649def34f8be52c8b66281af98ae884c09aef38b"
    untitled = {k: v for k, v in VERILOG_SEED.items() if k != "id"}
    other = {**VERILOG_SEED, "id": f"https://www.semanticscholar.org/paper/{s2}",
             "title": "Retrieval for financial reports",
             "abstract": "Stock market analysis of financial reports with retrieval."}  # fmt: skip
    known = write_jsonl(tmp_path / "known.jsonl", [untitled, other])
    local = content_id(untitled["title"])
    for seed, expected in ((local, {"2508.13156"}), (f"s2:{s2}", FINANCE)):
        result = rank(env, "--papers", str(data_dir / LISTING), "--seed-paper", seed,
                      "--known", str(known), "--min-score", "0", "--limit", "3",
                      "--format", "json", "--no-semantic")  # fmt: skip
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)[0]["id"] in expected


def test_the_liked_paper_itself_is_never_ranked(env: dict[str, str], data_dir: Path) -> None:
    papers = parse_file_bytes((data_dir / LISTING).read_bytes(), what=LISTING).papers
    seed = next(p for p in papers if p.title.startswith("EvoVerilog"))
    result = rank(env, "--papers", str(data_dir / LISTING), "--seed-paper",
                  f"arXiv:{seed.id}v1", "--all", "--format", "json", "--no-semantic")  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert seed.id not in {r["id"] for r in rows}
    assert len(rows) == len(papers) - 1  # --all: every other paper, however unlikely
    assert [r["score"] for r in rows] == sorted((r["score"] for r in rows), reverse=True)
    assert rows[-1]["score"] < 0.6


def test_min_score_sets_the_threshold(env: dict[str, str], data_dir: Path) -> None:
    args = ("--papers", str(data_dir / LISTING), "--keyword", "Verilog", "--format", "json",
            "--no-semantic")  # fmt: skip
    default = json.loads(rank(env, *args).stdout)
    assert 0 < len(default) < 10  # a short digest: few papers are about Verilog
    assert all(r["score"] >= 0.6 for r in default)
    everything = json.loads(rank(env, *args, "--min-score", "0").stdout)
    assert len(everything) == 10  # NEWSLETTER_DIGEST_MAX_PAPERS
    assert everything[: len(default)] == default
    strict = json.loads(rank(env, *args, "--min-score", "0.99").stdout)
    assert all(r["score"] >= 0.99 for r in strict)
    assert len(strict) < len(default)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--min-score", "1.5"), "--min-score"),
        (("--all", "--limit", "3"), "--all"),
        (("--all", "--min-score", "0.2"), "--all"),
    ],
)
def test_bad_rank_options(
    env: dict[str, str], data_dir: Path, args: tuple[str, ...], message: str
) -> None:
    result = rank(env, "--papers", str(data_dir / LISTING), "--keyword", "agents", *args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_unreadable_known_file(env: dict[str, str], data_dir: Path, tmp_path: Path) -> None:
    result = rank(env, "--papers", str(data_dir / LISTING), "--seed-paper", "2401.00001",
                  "--known", str(tmp_path / "absent.bib"))  # fmt: skip
    assert result.exit_code == 2
    assert "absent.bib" in result.stderr


def test_a_second_rank_over_the_same_papers_embeds_nothing(
    env: dict[str, str], tmp_path: Path
) -> None:
    """The vectors are kept on disk: the second run finds them all and never loads the model
    (the time this saves is measured by benchmarks/cli_startup.py)."""
    pytest.importorskip("sentence_transformers")
    papers = tmp_path / "papers.jsonl"
    papers.write_text("".join(
        json.dumps({"title": title, "abstract": f"We study {title.lower()}."}) + "\n"
        for title in ("Agents that use tools", "Coral reef ecology", "Chip design with LLMs")
    ))  # fmt: skip
    env |= {"NEWSLETTER_LOG_LEVEL": "INFO"}
    args = ("--papers", str(papers), "--interests", "tool-using agents", "--format", "json")
    first = rank(env, *args)
    assert first.exit_code == 0, first.output
    assert "loading the embedding model all-MiniLM-L6-v2" in first.stderr
    cache = Path(env["NEWSLETTER_EMBEDDING_CACHE_FILE"])
    with sqlite3.connect(cache) as db:
        keys = [key for (key,) in db.execute("SELECT key FROM vectors")]
    # every paper (windows' mean), the interest, and the sentences of the papers explained
    assert sum(key.startswith("w:") for key in keys) == 3
    assert sum(key.startswith("text:") for key in keys) == 1
    assert 0 < sum(key.startswith("s:") for key in keys) <= 3
    again = rank(env, *args)
    assert again.exit_code == 0, again.output
    assert "loading the embedding model" not in again.stderr
    assert json.loads(again.stdout) == json.loads(first.stdout)
    uncached = rank(env, *args, "--no-cache")
    assert "loading the embedding model" in uncached.stderr
    assert json.loads(uncached.stdout) == json.loads(first.stdout)


def test_query_by_example_with_embeddings_at_the_digest_threshold(
    env: dict[str, str], data_dir: Path, tmp_path: Path
) -> None:
    """With the model (as the service runs): a liked paper from --known, by DOI, finds the
    Verilog paper at the default threshold, and says which liked paper it is like."""
    pytest.importorskip("sentence_transformers")
    listing = parse_file_bytes((data_dir / LISTING).read_bytes(), what=LISTING).papers
    day = [p for p in listing if p.title.startswith("EvoVerilog")] + listing[:11]
    papers = write_jsonl(
        tmp_path / "day.jsonl",
        [{"id": p.id, "title": p.title, "abstract": p.abstract} for p in day],
    )
    known = write_jsonl(tmp_path / "known.jsonl", [VERILOG_SEED])
    result = rank(env, "--papers", str(papers), "--seed-paper", "10.1145/3000001",
                  "--known", str(known), "--format", "json")  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert rows[0]["title"].startswith("EvoVerilog")
    assert rows[0]["score"] >= 0.6
    assert rows[0]["why"][0].startswith('like a paper you liked: "Large language models write')
    assert len(rows) < len(day)  # not every paper is like it
