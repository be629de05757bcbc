"""`newsletter mailbox`: what the built-in development mail sink received.

Keys are printed whole whatever the terminal's width (they are what `--show` takes; a
shortened one was refused), and `--show` also takes any unique beginning of one. A message is
shown as its text part (with the subject), its HTML part, or the raw message as received.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from typing import Annotated

import typer

from newsletter.cli.common import fail, load_settings, out


class Part(StrEnum):
    TEXT = "text"
    HTML = "html"
    RAW = "raw"


def register(app: typer.Typer) -> None:
    app.command()(mailbox)


def mailbox(
    show: Annotated[
        str | None, typer.Option(help="Print the message with this key (or its beginning)")
    ] = None,
    part: Annotated[Part, typer.Option(help="With --show: which part to print")] = Part.TEXT,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 20,
) -> None:
    """List what the built-in development mail sink has received (newest first), or print
    one message."""
    from rich.table import Column, Table
    from rich.text import Text

    from newsletter.delivery.sink import AmbiguousKey, find_key, list_mail, read_raw

    settings = load_settings()
    directory = settings.mail_sink_dir
    if show is not None:
        try:
            key = find_key(directory, show)
        except AmbiguousKey as exc:
            fail(f"{show!r} begins {len(exc.keys)} keys in {directory}: give more of it")
        if key is None:
            fail(f"no message {show} in {directory}")
        raw = read_raw(directory, key)
        if raw is None:  # removed meanwhile
            fail(f"no message {show} in {directory}")
        _print_part(raw, part)
        return
    mails = list_mail(directory, limit=limit)
    widest = max((len(mail.key) for mail in mails), default=3)
    table = Table(Column("key", no_wrap=True, min_width=widest), "date", "to", "subject")
    for mail in mails:
        when = f"{mail.date:%Y-%m-%d %H:%M}" if mail.date else ""
        table.add_row(mail.key, when, Text(mail.to), Text(mail.subject))
    out.print(table)
    out.print(f"{len(mails)} messages in {directory}", highlight=False)


def _print_part(raw: bytes, part: Part) -> None:
    from email import message_from_bytes, policy
    from email.message import EmailMessage

    if part is Part.RAW:
        sys.stdout.buffer.write(raw)
        sys.stdout.flush()
        return
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)  # policy.default builds EmailMessage
    body = message.get_body(preferencelist=("plain",) if part is Part.TEXT else ("html",))
    if body is None:
        fail(f"the message has no {part} part")
    if part is Part.TEXT:
        out.print(str(message["Subject"]), markup=False, highlight=False)
    sys.stdout.write(body.get_content())
    sys.stdout.flush()
