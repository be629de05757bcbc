"""`newsletter bounces ingest`: read the bounce mailbox and act on what it reports."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

from newsletter.cli.common import fail, load_settings, migrated, out
from newsletter.cli.help import App

log = logging.getLogger(__name__)

bounces_app = App(no_args_is_help=True, help="Bounce reports (RFC 3464 DSNs).")


def register(app: typer.Typer) -> None:
    app.add_typer(bounces_app, name="bounces")


@bounces_app.command("ingest")
def bounces_ingest(
    maildir: Annotated[
        Path | None, typer.Option(help="Maildir the bounce address delivers to")
    ] = None,
    mbox: Annotated[Path | None, typer.Option(help="An mbox file of bounce reports")] = None,
) -> None:
    """Record every bounce, delay, complaint and auto-reply in the mailbox; of those that prove
    they are about mail we sent (VERP return path or recorded Message-ID), suppress hard
    bounces at once and soft ones past the threshold. Safe to run again on the same mail."""
    from newsletter.bounces.report import read_maildir, read_mbox, read_report
    from newsletter.db.bounces import BouncePolicy, record_reports
    from newsletter.delivery.wiring import verp

    if (maildir is None) == (mbox is None):
        fail("give exactly one of --maildir or --mbox", code=2)
    source = maildir or mbox
    assert source is not None
    if not source.exists():
        fail(f"{source} does not exist", code=2)
    settings = load_settings()
    _, sessions = migrated(settings)
    messages = read_maildir(source) if maildir else read_mbox(source)
    reports = [read_report(raw) for _, raw in messages]
    policy = BouncePolicy(
        soft_limit=settings.bounce_soft_limit,
        window=timedelta(days=settings.bounce_window_days),
    )
    with sessions.begin() as session:
        result = record_reports(
            session, reports, policy=policy, verp=verp(settings), now=datetime.now(UTC)
        )
    kinds = ", ".join(f"{kind} {count}" for kind, count in sorted(result.kinds.items()))
    out.print(
        f"{len(reports)} messages: {result.events} events ({kinds or 'none'}), "
        f"{result.duplicates} already recorded, {result.unverified} unverified (no effect); "
        f"suppressed {len(result.suppressed)}, "
        f"unsubscribed {len(result.unsubscribed)} (complaints)",
        highlight=False,
    )
    for address in result.suppressed:
        out.print(f"  suppressed {address}", highlight=False)
