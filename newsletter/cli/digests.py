"""Commands that queue, preview and send digests."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from newsletter.cli.common import (
    address_or_fail,
    err,
    fail,
    load_settings,
    migrated,
    out,
    parse_day,
    send_summary,
    today,
)

if TYPE_CHECKING:
    from rich.progress import Progress
    from sqlalchemy.orm import Session, sessionmaker


def register(app: typer.Typer) -> None:
    for command in (digest, send, preview):
        app.command()(command)


def _bar() -> Progress:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    )


def digest(
    day: Annotated[str | None, typer.Option("--date", help="YYYY-MM-DD (default: today)")] = None,
    dry_run: Annotated[bool, typer.Option(help="Match and report; queue nothing")] = False,
    part: Annotated[
        str | None,
        typer.Option(help="K/N: only part K (0..N-1) of the subscribers, by id; run N at once"),
    ] = None,
) -> None:
    """Match the day's papers and queue a digest for every due subscriber."""
    from rich.table import Table

    from newsletter.delivery import wiring
    from newsletter.matching.embedding import load_embedder
    from newsletter.pipeline.queueing import DigestOptions, NoPapersError, queue_digests

    settings = load_settings()
    wanted = parse_day(day) or today(settings)
    which = _part(part)
    _, sessions = migrated(settings)
    options = DigestOptions(
        max_papers=settings.digest_max_papers,
        quiet_day=settings.digest_quiet_day,
        new_message_id=wiring.mail_identity(settings).new_message_id,
        dry_run=dry_run,
    )
    with _bar() as progress:
        task = progress.add_task("matching", total=None)
        try:
            report = queue_digests(
                sessions=sessions,
                day=wanted,
                options=options,
                embedder=load_embedder(settings.embedding_model),
                now=datetime.now(UTC),
                progress=lambda n: progress.advance(task, n),
                part=which,
            )
        except NoPapersError as exc:
            fail(str(exc))
    if dry_run:
        table = Table("subscriber", "papers", "top match")
        for email, matches in report.sample:
            table.add_row(email, str(len(matches)), matches[0].paper.title if matches else "")
        out.print(table)
    verb = "would queue" if dry_run else "queued"
    out.print(
        f"{wanted}: {report.candidates} candidate papers, {report.considered} subscribers due; "
        f"{verb} {report.queued} digests, nothing matched for {report.nothing_matched}",
        highlight=False,
    )


def _part(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    k, slash, n = text.partition("/")
    if not (slash and k.isdigit() and n.isdigit() and 0 <= int(k) < int(n)):
        fail(f"--part takes K/N with 0 <= K < N, e.g. 0/4, not {text!r}")
    return int(k), int(n)


def send(
    concurrency: Annotated[
        int | None, typer.Option(min=1, max=64, help="SMTP connections (default: settings)")
    ] = None,
    rate: Annotated[
        float | None, typer.Option(min=0, help="Messages per second, 0 = no limit")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option(help="List what is due now; connect to no server")
    ] = False,
) -> None:
    """Send every due digest in the outbox, then print what happened to them."""
    import asyncio

    from newsletter.db import outbox
    from newsletter.delivery import wiring
    from newsletter.delivery.replies import Verdict

    settings = load_settings()
    _, sessions = migrated(settings)
    if dry_run:
        _list_due(sessions)
        return
    with sessions() as session:
        waiting = outbox.counts_by_state(session)
    total = waiting.get(outbox.State.QUEUED, 0) + waiting.get(outbox.State.DEFERRED, 0)
    with _bar() as progress:
        task = progress.add_task("sending", total=total or None)

        def advance(_: Verdict) -> None:
            progress.advance(task)

        try:
            report = asyncio.run(
                wiring.send_all(
                    settings,
                    sessions=sessions,
                    clock=lambda: datetime.now(UTC),
                    concurrency=concurrency,
                    rate=rate,
                    on_outcome=advance,
                )
            )
        except wiring.SenderBusy as exc:
            fail(str(exc))
    out.print(send_summary(report), highlight=False)
    if report.stopped:
        fail(report.stopped)


def _list_due(sessions: sessionmaker[Session]) -> None:
    from rich.table import Table

    from newsletter.db import outbox

    with sessions() as session:
        total, first = outbox.due_now(session, now=datetime.now(UTC), limit=20)
    table = Table("to", "digest day", "papers", "state", "attempts")
    for mail in first:
        table.add_row(
            mail.email, str(mail.digest_date), str(mail.papers), mail.state, str(mail.attempts)
        )
    out.print(table)
    out.print(f"{total} digests due now; nothing sent (--dry-run)", highlight=False)


def preview(
    email: str,
    day: Annotated[str | None, typer.Option("--date", help="YYYY-MM-DD (default: today)")] = None,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="File to write: .html, .txt or .eml")
    ] = None,
) -> None:
    """Render a subscriber's digest for a day to a file, without sending or queueing it."""
    from newsletter.db import subscriber_rows
    from newsletter.db.embeddings import DbEmbeddingCache
    from newsletter.db.papers import digest_candidates, papers_by_id
    from newsletter.delivery import wiring
    from newsletter.delivery.compose import Digest
    from newsletter.mail.links import Recipient
    from newsletter.matching.embedding import load_embedder
    from newsletter.matching.ranker import Ranker

    settings = load_settings()
    wanted = parse_day(day) or today(settings)
    _, sessions = migrated(settings)
    with sessions() as session:
        subscriber = subscriber_rows.find(session, address_or_fail(email))
        if subscriber is None:
            fail(f"no subscriber {email}")
        profile = subscriber_rows.to_profile(subscriber.profile)
        papers = digest_candidates(session, first=wanted, last=wanted)
        known = papers_by_id(session, [*profile.seed_papers, *profile.disliked_papers])
    if not papers:
        fail(f"no papers stored for {wanted}: run `newsletter fetch` first")
    vectors = DbEmbeddingCache(sessions)  # the digest's own vectors: no model loaded again
    ranker = Ranker(
        papers, embedder=load_embedder(settings.embedding_model), cache=vectors,
        profile_cache=vectors, known_papers=[*known.values()],
    )  # fmt: skip
    matches = ranker.rank(profile, limit=settings.digest_max_papers)
    digest = Digest(
        Recipient(subscriber.id, subscriber.token_key), subscriber.email, wanted, matches
    )
    target = out_file or Path("var") / f"preview-{subscriber.id}-{wanted}.html"
    target.parent.mkdir(parents=True, exist_ok=True)
    composer = wiring.composer(settings)
    if target.suffix == ".eml":
        message_id = wiring.mail_identity(settings).new_message_id()
        target.write_bytes(composer.compose(digest, message_id=message_id, now=datetime.now(UTC)))
    else:
        rendered = composer.render(digest)
        target.write_text(rendered.text if target.suffix == ".txt" else rendered.html)
    out.print(f"{len(matches)} papers; wrote {target}", highlight=False)
