"""Commands for running the service unattended: `worker` and `status`."""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from newsletter.bounces import parse_report, read_maildir, read_mbox
from newsletter.cli_common import fail, load_settings, migrated, out
from newsletter.db.bounces import BouncePolicy, record_reports
from newsletter.db.status import service_status
from newsletter.delivery import setup

log = logging.getLogger(__name__)


bounces_app = typer.Typer(no_args_is_help=True, help="Bounce reports (RFC 3464 DSNs).")


def register(app: typer.Typer) -> None:
    for command in (worker, status):
        app.command()(command)
    app.add_typer(bounces_app, name="bounces")


@bounces_app.command("ingest")
def bounces_ingest(
    maildir: Annotated[
        Path | None, typer.Option(help="Maildir the bounce address delivers to")
    ] = None,
    mbox: Annotated[Path | None, typer.Option(help="An mbox file of bounce reports")] = None,
) -> None:
    """Record every bounce, delay, complaint and auto-reply in the mailbox, then suppress hard
    bounces at once and soft ones past the threshold. Safe to run again on the same mail."""
    if (maildir is None) == (mbox is None):
        fail("give exactly one of --maildir or --mbox", code=2)
    source = maildir or mbox
    assert source is not None
    if not source.exists():
        fail(f"{source} does not exist", code=2)
    settings = load_settings()
    _, sessions = migrated(settings)
    messages = read_maildir(source) if maildir else read_mbox(source)
    reports = [(raw, parse_report(raw)) for _, raw in messages]
    policy = BouncePolicy(
        soft_limit=settings.bounce_soft_limit,
        window=timedelta(days=settings.bounce_window_days),
    )
    with sessions.begin() as session:
        result = record_reports(session, reports, policy=policy, now=datetime.now(UTC))
    kinds = ", ".join(f"{kind} {count}" for kind, count in sorted(result.kinds.items()))
    out.print(
        f"{len(reports)} messages: {result.events} events ({kinds or 'none'}), "
        f"{result.duplicates} already recorded; suppressed {len(result.suppressed)}, "
        f"unsubscribed {len(result.unsubscribed)} (complaints)",
        highlight=False,
    )
    for address in result.suppressed:
        out.print(f"  suppressed {address}", highlight=False)


def worker(
    once: Annotated[bool, typer.Option(help="Drain the outbox once, then exit")] = False,
    heartbeat: Annotated[
        Path | None, typer.Option(help="File touched after every round (for health checks)")
    ] = None,
) -> None:
    """Only send: drain the outbox, wait, repeat, until SIGTERM/SIGINT. On PostgreSQL any
    number of workers share the queue (rows are claimed with FOR UPDATE SKIP LOCKED)."""
    settings = load_settings()
    _, sessions = migrated(settings)
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    while not stopping.is_set():
        try:
            report = asyncio.run(
                setup.send_all(
                    settings,
                    sessions=sessions,
                    clock=lambda: datetime.now(UTC),
                    should_stop=stopping.is_set,
                )
            )
        except setup.SenderBusy as exc:
            log.warning("%s; waiting", exc)
        else:
            if report.attempted:
                log.info("sent batch: %s", report.counts, extra={"event": "send", **report.counts})
            if report.stopped:
                # A policy refusal or too many errors: back off before trying the relay again.
                stopping.wait(timeout=max(60.0, settings.worker_poll_seconds))
        if heartbeat is not None:
            heartbeat.touch()
        if once:
            return
        stopping.wait(timeout=settings.worker_poll_seconds)


def status(
    days: Annotated[int, typer.Option(min=1, max=60, help="Days of history shown")] = 7,
) -> None:
    """Fetches and digests per day, the outbox by state, the oldest waiting mail, recent
    failures and suppressed addresses."""
    settings = load_settings()
    _, sessions = migrated(settings)
    now = datetime.now(UTC)
    with sessions() as session:
        report = service_status(session, since=(now - timedelta(days=days)).date())
    table = Table("day", "papers new", "last fetched", "digests queued", "last queued")
    for row in report.days:
        table.add_row(
            str(row.day), str(row.papers), _when(row.last_fetched), str(row.digests),
            _when(row.last_queued),
        )  # fmt: skip
    out.print(table)
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


def _when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M}" if moment else "—"


def _age(age: timedelta) -> str:
    minutes = int(age.total_seconds() // 60)
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"
