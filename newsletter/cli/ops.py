"""Commands for running the service unattended: `worker` and `status`."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from newsletter.cli.common import fail, load_settings, migrated, out, send_summary

if TYPE_CHECKING:
    from rich.text import Text
    from sqlalchemy.orm import Session, sessionmaker

    from newsletter.config import Settings
    from newsletter.db.fetch_runs import FetchRun

log = logging.getLogger(__name__)


def register(app: typer.Typer) -> None:
    for command in (worker, status):
        app.command()(command)


def worker(
    once: Annotated[bool, typer.Option(help="Drain the outbox once, then exit")] = False,
    heartbeat: Annotated[
        Path | None, typer.Option(help="File touched after every round (for health checks)")
    ] = None,
    dispatch: Annotated[
        bool, typer.Option(help="Also queue due digests, sharing NEWSLETTER_DISPATCH_PARTS")
    ] = False,
) -> None:
    """Only send: drain the outbox, wait, repeat, until SIGTERM/SIGINT. On PostgreSQL any
    number of workers share the queue (rows are claimed with FOR UPDATE SKIP LOCKED); with
    --dispatch they also share the queueing (each takes the parts of the subscribers nobody
    else is queueing), so the digest phase scales with workers too. With --once, prints what
    it sent (like `send`) and exits 1 when it could not send."""
    import asyncio

    from newsletter.delivery import wiring

    settings = load_settings()
    _, sessions = migrated(settings)
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    queue = _dispatcher(settings, sessions) if dispatch else None
    while not stopping.is_set():
        if queue is not None:
            queue()
        try:
            report = asyncio.run(
                wiring.send_all(
                    settings,
                    sessions=sessions,
                    clock=lambda: datetime.now(UTC),
                    should_stop=stopping.is_set,
                )
            )
        except wiring.SenderBusy as exc:
            if once:
                fail(f"{exc}: nothing sent")
            log.warning("%s; waiting", exc)
        else:
            if report.attempted:
                log.info("sent batch: %s", report.counts, extra={"event": "send", **report.counts})
            if once:  # a person is watching: say what happened, even "nothing"
                done = report.attempted or report.cancelled
                out.print(send_summary(report) if done else "nothing due",
                          highlight=False)  # fmt: skip
            if report.stopped:
                if once:
                    fail(report.stopped)
                # A policy refusal or too many errors: back off before trying the relay again.
                stopping.wait(timeout=max(60.0, settings.worker_poll_seconds))
        if heartbeat is not None:
            heartbeat.touch()
        if once:
            return
        stopping.wait(timeout=settings.worker_poll_seconds)


def _dispatcher(settings: Settings, sessions: sessionmaker[Session]) -> Callable[[], None]:
    from newsletter.matching.embedding import load_embedder
    from newsletter.pipeline.dispatch import dispatch as dispatch_due
    from newsletter.pipeline.scheduler import digest_options

    embedder = load_embedder(settings.embedding_model)

    def queue_due() -> None:
        dispatch_due(
            sessions=sessions,
            now=datetime.now(UTC),
            default_timezone=settings.timezone,
            options=digest_options(settings),
            embedder=embedder,
            catch_up_days=settings.catch_up_days,
            parts=settings.dispatch_parts,
        )

    return queue_due


def status(
    days: Annotated[int, typer.Option(min=1, max=60, help="Days of history shown")] = 7,
) -> None:
    """Papers and digests per digest day, the last fetch of each source and failed fetches
    with their error, the outbox by state, the oldest waiting mail, recent delivery failures
    and suppressed addresses."""
    from rich.table import Table
    from rich.text import Text

    from newsletter.db.status import service_status

    settings = load_settings()
    _, sessions = migrated(settings)
    now = datetime.now(UTC)
    with sessions() as session:
        report = service_status(session, since=(now - timedelta(days=days)).date())
    table = Table("day", "papers", "last fetched", "digests", "sent", "waiting", "last queued")
    for row in report.days:
        table.add_row(
            str(row.day), str(row.papers), _when(row.last_fetched), str(row.digests),
            str(row.sent), str(row.waiting), _when(row.last_queued),
        )  # fmt: skip
    out.print(table)
    if report.last_fetches:
        fetches = Table("source", "last fetch", "outcome")
        for run in report.last_fetches:
            fetches.add_row(Text(run.source), _when(run.at), _outcome(run))
        out.print(fetches)
    if report.failed_fetches:
        failed = Table("failed fetch", "source", "error")
        for run in report.failed_fetches:
            failed.add_row(_when(run.at), Text(run.source), Text(run.error or ""))
        out.print(failed)
    counts = ", ".join(f"{state} {count}" for state, count in sorted(report.outbox.items()))
    out.print(f"outbox: {counts or 'empty'}", highlight=False)
    if report.oldest_waiting is not None:
        age = now - report.oldest_waiting
        out.print(f"oldest waiting mail: queued {_age(age)} ago", highlight=False)
    out.print(f"suppressed addresses: {report.suppressed} (bounced), "
              f"unsubscribed: {report.unsubscribed}", highlight=False)  # fmt: skip
    if report.failures:
        failures = Table("when", "to", "state", "last reply")
        for failure in report.failures:
            failures.add_row(_when(failure.at), failure.email, failure.state, failure.reply)
        out.print(failures)


def _outcome(run: FetchRun) -> Text:
    from rich.text import Text

    if run.error is not None:
        return Text(f"failed: {run.error}", style="red")
    c = run.counts
    return Text(f"{c.new} new, {c.updated} updated, {c.unchanged} unchanged, {c.skipped} skipped")


def _when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M}" if moment else "—"


def _age(age: timedelta) -> str:
    minutes = int(age.total_seconds() // 60)
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"
