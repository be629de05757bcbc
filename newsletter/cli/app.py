"""The `newsletter` command: one Typer app, one module per command group."""

from __future__ import annotations

import typer

from newsletter.cli import bounces, digests, ops, papers, service, subscribers
from newsletter.cli.common import log_to_console

app = typer.Typer(no_args_is_help=True, help="Daily digests of new papers matched to interests.")
app.callback()(log_to_console)
for group in (papers, digests, subscribers, ops, bounces, service):
    group.register(app)
