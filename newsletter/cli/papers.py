"""`newsletter fetch`, `papers list` and `rank`: papers in, papers stored, papers ranked."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from newsletter.cli.common import (
    Authors,
    Categories,
    CategoryModeOption,
    Excluded,
    Interests,
    Keywords,
    OutputFormat,
    err,
    fail,
    load_settings,
    out,
    parse_day,
    profile_or_fail,
    today,
)
from newsletter.cli.help import App
from newsletter.domain import CategoryMode, paper_json

if TYPE_CHECKING:
    from newsletter.domain import Match, Paper, SkippedItem
    from newsletter.pipeline.fetch import FetchOutcome

papers_app = App(no_args_is_help=True, help="Papers in the database.")


def register(app: typer.Typer) -> None:
    app.command()(fetch)
    app.command()(rank)
    app.add_typer(papers_app, name="papers")


def fetch(
    source: Annotated[
        str | None, typer.Option(help="arxiv, hf or file:PATH (default: every configured source)")
    ] = None,
    day: Annotated[
        str | None,
        typer.Option(
            "--date",
            help="YYYY-MM-DD (default: latest); undated papers of a file are announced on it",
        ),
    ] = None,
    category: Annotated[
        list[str] | None, typer.Option(help="arXiv category, repeatable (default: settings)")
    ] = None,
) -> None:
    """Fetch papers and store them, printing new / updated / unchanged / skipped counts."""
    from rich.progress import Progress

    from newsletter.db import migrations
    from newsletter.db.engine import make_engine, session_factory
    from newsletter.pipeline.fetch import EveryEntrySkipped, build_sources, http_client, ingest
    from newsletter.sources import SourceError

    settings = load_settings()
    wanted_day = parse_day(day)
    engine = make_engine(settings.database_url)
    migrations.upgrade(engine)
    sessions = session_factory(engine)
    failures: list[str] = []
    with http_client(settings) as client:
        try:
            sources = build_sources(
                source,
                settings=settings,
                client=client,
                today=lambda: datetime.now(UTC).date(),
                categories=category or None,
            )
        except SourceError as exc:
            fail(str(exc), code=2)
        with Progress(console=err, transient=True) as progress:
            task = progress.add_task("fetching", total=len(sources))
            for each in sources:
                progress.update(task, description=f"fetching {each.name}")
                try:
                    outcome = ingest(
                        each, sessions=sessions, day=wanted_day, now=datetime.now(UTC),
                        undated_on=today(settings),
                    )  # fmt: skip
                except EveryEntrySkipped as exc:
                    _list_skipped(exc.skipped)
                    failures.append(str(exc))
                except SourceError as exc:
                    failures.append(f"{each.name}: {exc}")
                else:
                    _report(outcome)
                progress.advance(task)
    if failures:
        fail(" | ".join(failures))


def _report(outcome: FetchOutcome) -> None:
    counts = outcome.counts
    out.print(
        f"{outcome.source}: {counts.new} new, {counts.updated} updated, "
        f"{counts.unchanged} unchanged, {counts.skipped} skipped",
        highlight=False,
    )
    _list_skipped(outcome.skipped)


def _list_skipped(skipped: list[SkippedItem]) -> None:
    for item in skipped:
        err.print(f"  skipped {item.where}: {item.reason}", markup=False, highlight=False)


@papers_app.command("list")
def papers_list(
    day: Annotated[str | None, typer.Option("--date", help="YYYY-MM-DD")] = None,
    output: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.TABLE,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 200,
) -> None:
    """List stored papers (announced or featured on --date when given)."""
    from rich.table import Table

    from newsletter.db import migrations
    from newsletter.db.engine import make_engine, session_factory
    from newsletter.db.papers import list_papers

    settings = load_settings()
    engine = make_engine(settings.database_url)
    migrations.upgrade(engine)
    with session_factory(engine)() as session:
        papers = list_papers(session, day=parse_day(day), limit=limit)
    if output is OutputFormat.JSON:
        rows = [paper_json(p) for p in papers]
        sys.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")
        return
    table = Table("id", "title", "categories", "type", "announced")
    for p in papers:
        table.add_row(
            p.id,
            p.title,
            " ".join(p.categories),
            p.announce_type or "",
            str(p.announced_on or ""),
        )
    out.print(table)
    out.print(f"{len(papers)} papers")


def rank(
    papers_file: Annotated[
        Path, typer.Option("--papers", help="Papers: JSON Lines, arXiv or HF response")
    ],
    interests: Interests = "",
    keyword: Keywords = None,
    exclude: Excluded = None,
    category: Categories = None,
    category_mode: CategoryModeOption = CategoryMode.BOOST,
    author: Authors = None,
    seed_paper: Annotated[
        list[str] | None,
        typer.Option(
            help="A paper you like (arXiv id, DOI, s2:ID, URL or local:ID), from --papers or "
            "--known; repeatable"
        ),
    ] = None,
    known: Annotated[
        list[Path] | None,
        typer.Option(help="More papers the seed papers may come from (not ranked); repeatable"),
    ] = None,
    limit: Annotated[
        int | None, typer.Option(min=1, max=1000, help="Default: NEWSLETTER_DIGEST_MAX_PAPERS")
    ] = None,
    min_score: Annotated[
        float | None,
        typer.Option(min=0.0, max=1.0, help="P(relevant) a paper needs (default: the digest's)"),
    ] = None,
    every: Annotated[
        bool, typer.Option("--all", help="Every paper, best first: no threshold, no limit")
    ] = False,
    output: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.TABLE,
    semantic: Annotated[bool, typer.Option(help="Use sentence embeddings when installed")] = True,
    cache: Annotated[
        bool, typer.Option(help="Keep paper vectors in NEWSLETTER_EMBEDDING_CACHE_FILE")
    ] = True,
) -> None:
    """What would my digest look like? Rank a file of papers against interests (no DB).
    Paper vectors are kept on disk, so ranking the same papers again embeds nothing."""
    from newsletter.matching.disk_cache import DiskEmbeddingCache
    from newsletter.matching.embedding import load_embedder
    from newsletter.matching.ranker import Ranker, Weights
    from newsletter.matching.semantic import EmbeddingCache, MemoryEmbeddingCache

    if every and (limit is not None or min_score is not None):
        fail("--all ranks every paper: give it without --limit and --min-score", code=2)
    settings = load_settings()
    profile = profile_or_fail(
        interests=interests, keyword=keyword, exclude=exclude, category=category,
        category_mode=category_mode, author=author, seed_paper=seed_paper,
    )  # fmt: skip
    papers = _read_papers(papers_file, settings.http_max_response_bytes)
    examples = [
        p for path in known or () for p in _read_papers(path, settings.http_max_response_bytes)
    ]
    _check_seeds(profile.seed_papers, [*papers, *examples])
    embedder = load_embedder(settings.embedding_model if semantic else None)
    vectors: EmbeddingCache = MemoryEmbeddingCache()
    if cache and embedder is not None:
        vectors = DiskEmbeddingCache(settings.embedding_cache_file)
    weights = Weights() if min_score is None and not every else Weights(min_score=min_score or 0.0)
    ranker = Ranker(
        papers, embedder=embedder, cache=vectors, profile_cache=vectors, weights=weights,
        known_papers=examples,
    )  # fmt: skip
    shown = len(papers) if every else limit or settings.digest_max_papers
    _print_matches(ranker.rank(profile, limit=max(shown, 1)), output)


def _read_papers(path: Path, max_bytes: int) -> list[Paper]:
    from newsletter.sources import SourceError
    from newsletter.sources.files import FileSource

    try:
        return FileSource(path, max_bytes).fetch(day=None).papers
    except SourceError as exc:
        fail(str(exc), code=2)


def _check_seeds(seeds: tuple[str, ...], papers: list[Paper]) -> None:
    """Every seed paper must be one of the papers read: an example silently lost would give
    a ranking that only looks like an answer."""
    have = {p.id for p in papers}
    missing = [seed for seed in seeds if seed not in have]
    if missing:
        fail(
            f"seed papers not in the --papers or --known files: {', '.join(missing)} "
            "(give the file that holds them with --known)",
            code=2,
        )


def _print_matches(matches: list[Match], output: OutputFormat) -> None:
    from rich.table import Table

    if output is OutputFormat.JSON:
        rows = [
            {
                "id": m.paper.id,
                "title": m.paper.title,
                "score": m.score,
                "why": list(m.why),
                "authors": list(m.paper.authors),
                "categories": list(m.paper.categories),
                "url": m.paper.abs_url,
                "highlights": [
                    {"field": h.field, "start": h.start, "end": h.end} for h in m.highlights
                ],
            }
            for m in matches
        ]
        sys.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")
        return
    table = Table("score", "id", "title", "why")
    for m in matches:
        table.add_row(f"{m.score:.3f}", m.paper.id, m.paper.title, "; ".join(m.why))
    out.print(table)
