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
    from newsletter.domain import Match, SkippedItem
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
        list[str] | None, typer.Option(help="arXiv id of a paper you like, repeatable")
    ] = None,
    limit: Annotated[
        int | None, typer.Option(min=1, max=1000, help="Default: NEWSLETTER_DIGEST_MAX_PAPERS")
    ] = None,
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
    from newsletter.matching.ranker import Ranker
    from newsletter.matching.semantic import EmbeddingCache, MemoryEmbeddingCache
    from newsletter.sources import SourceError
    from newsletter.sources.files import FileSource

    settings = load_settings()
    profile = profile_or_fail(
        interests=interests, keyword=keyword, exclude=exclude, category=category,
        category_mode=category_mode, author=author, seed_paper=seed_paper,
    )  # fmt: skip
    try:
        papers = FileSource(papers_file, settings.http_max_response_bytes).fetch(day=None).papers
    except SourceError as exc:
        fail(str(exc), code=2)
    missing = [i for i in profile.seed_papers if i not in {p.id for p in papers}]
    if missing:
        err.print(f"warning: seed papers not in {papers_file.name}: {', '.join(missing)}")
    embedder = load_embedder(settings.embedding_model if semantic else None)
    vectors: EmbeddingCache = MemoryEmbeddingCache()
    if cache and embedder is not None:
        vectors = DiskEmbeddingCache(settings.embedding_cache_file)
    ranker = Ranker(papers, embedder=embedder, cache=vectors, profile_cache=vectors)
    _print_matches(ranker.rank(profile, limit=limit or settings.digest_max_papers), output)


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
