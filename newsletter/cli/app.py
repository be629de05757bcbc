"""The `newsletter` command: one Typer app, one module per command group.

Every module here imports only what `--help` needs at the top (see cli/common.py)."""

from __future__ import annotations

from newsletter.cli import bounces, digests, mailbox, ops, papers, service, subscribers
from newsletter.cli.help import App

app = App(no_args_is_help=True, help="Daily digests of new papers matched to interests.")
for group in (papers, digests, mailbox, subscribers, ops, bounces, service):
    group.register(app)
