"""The built-in development mail sink: a real SMTP server on loopback that keeps every
message in a Maildir, so mail really travels over SMTP on a laptop with no relay."""

from __future__ import annotations

import mailbox
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

SINK_HOST = "127.0.0.1"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class MaildirHandler:
    """aiosmtpd handler: every accepted message goes into a Maildir (safe for concurrent
    readers: Maildir writes to tmp/ and renames into new/)."""

    def __init__(self, directory: Path) -> None:
        directory.parent.mkdir(parents=True, exist_ok=True)  # Maildir makes only the last level
        self.maildir = mailbox.Maildir(directory, create=True)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        header = f"X-Sink-Recipients: {', '.join(envelope.rcpt_tos)}\r\n".encode()
        self.maildir.add(header + content)
        return "250 2.0.0 Message accepted by the development mail sink"


def start_sink(directory: Path, *, port: int) -> Controller:
    """Start the sink in a background thread; stop it with `.stop()`."""
    controller = Controller(
        MaildirHandler(directory), hostname=SINK_HOST, port=port, data_size_limit=10_000_000
    )
    controller.start()
    return controller


@dataclass(frozen=True, slots=True)
class StoredMail:
    key: str
    to: str
    subject: str
    date: datetime | None
    size: int


def list_mail(directory: Path, *, limit: int = 50) -> list[StoredMail]:
    """Newest first."""
    if not directory.exists():
        return []
    box = mailbox.Maildir(directory, create=False)
    found = [_summary(key, box.get_bytes(key)) for key in box.iterkeys()]
    found.sort(key=lambda m: m.date or _EPOCH, reverse=True)
    return found[:limit]


class AmbiguousKey(LookupError):
    def __init__(self, keys: list[str]) -> None:
        super().__init__(f"{len(keys)} keys match")
        self.keys = keys


def find_key(directory: Path, given: str) -> str | None:
    """The key `given` names: itself, or the one key it begins; None when none does."""
    if not given or not directory.exists():  # nothing has arrived yet: Maildir() would raise
        return None
    keys = list(mailbox.Maildir(directory, create=False).iterkeys())
    if given in keys:
        return given
    matching = [key for key in keys if key.startswith(given)]
    if len(matching) > 1:
        raise AmbiguousKey(matching)
    return matching[0] if matching else None


def read_raw(directory: Path, key: str) -> bytes | None:
    """The message as the sink received it (with its X-Sink-Recipients line)."""
    if not directory.exists():
        return None
    try:
        return mailbox.Maildir(directory, create=False).get_bytes(key)
    except KeyError:
        return None


def read_mail(directory: Path, key: str) -> EmailMessage | None:
    data = read_raw(directory, key)
    if data is None:
        return None
    parsed: Any = message_from_bytes(data, policy=policy.default)
    return parsed if isinstance(parsed, EmailMessage) else None


def _summary(key: str, data: bytes) -> StoredMail:
    message = message_from_bytes(data, policy=policy.default)
    try:
        sent = parsedate_to_datetime(str(message["Date"])) if message["Date"] else None
    except (TypeError, ValueError):
        sent = None
    if sent is not None and sent.tzinfo is None:  # "-0000": UTC, sender's zone unknown
        sent = sent.replace(tzinfo=UTC)
    return StoredMail(
        key=key,
        to=str(message["To"] or ""),
        subject=str(message["Subject"] or ""),
        date=sent,
        size=len(data),
    )
