"""Bounce reports -> BounceEvents: which recipient could not be reached, and how badly.

Pure: stdlib `email` and `mailbox` only, no database, no settings. The caller reads the bounce
mailbox (read_maildir / read_mbox), gives each message to read_report (the events and the
addresses the report was delivered to, newsletter.bounces.envelope) and decides what to do:
only a report that proves it is about mail the service sent may act (newsletter.db.bounces).
A report yields at most MAX_EVENTS_PER_REPORT events: mail goes out one recipient per
envelope, so a genuine report names one or a few, and one hostile report must not write
thousands of rows. The rules
below live in newsletter.bounces.dsn (DSN and ARF parts) and newsletter.bounces.text (plain-text
bounces, auto-replies), both reading reports through newsletter.bounces.findings.

What a message says, first match wins:

  message                                                    kind        per
  message/feedback-report (ARF), Feedback-Type abuse/fraud   COMPLAINT   complaining recipient
  message/delivery-status (RFC 3464), per recipient:
    Action delivered / relayed / expanded                    no event
    Action delayed                                           DELAYED
    Action failed, Status in HARD_STATUSES                   HARD
    Action failed, any other 4.x.x or 5.x.x                  SOFT
    Action failed without a usable Status, no Action         UNKNOWN
  plain-text bounce (From MAILER-DAEMON/postmaster, a bounce subject or X-Failed-Recipients;
  or a delivery-status part that names no recipient), per recipient paragraph ("<a@b>:" as
  qmail and Postfix write it, "  a@b" as Exim does) or "550 5.1.1 <a@b>" line:
    the report is a delay warning                            DELAYED
    "5xx x.y.z" with agreeing classes, or qmail "(#x.y.z)"   as Action failed above
    no such code (Exim "Unrouteable address", ...)           UNKNOWN, never HARD
    listed in X-Failed-Recipients only                       UNKNOWN
  auto-reply, when not a bounce (Auto-Submitted:             AUTO_REPLY  From address
  auto-replied, X-Autoreply, Precedence: auto_reply, an "Out of office"/"Automatic reply" subject)
  anything else                                              no event

HARD suppresses an address at once, so it is kept to codes that say the address leads nowhere:
no such mailbox (5.1.1), no such domain (5.1.2), not an address (5.1.3), moved away (5.1.6),
null MX and Exchange's RecipientNotFound (5.1.10), unroutable domain (5.4.4). Other 5.1.x are
SOFT: 5.1.0 is unspecific (Exchange sends it to refuse senders), 5.1.4 says the mailbox exists,
5.1.7/5.1.8 are about our sender. Mailbox full (5.2.2), disabled (5.2.1) and policy blocks
(5.7.x) may pass, so they are SOFT too: a policy counts them over a window.

A DSN Status of x.0.0 is refined by a more precise "5xx x.y.z" in its Diagnostic-Code: MTAs
that map a bare reply code write x.0.0. The recipient is Original-Recipient (the address we
sent to) when present, else Final-Recipient (it may be rewritten by aliases on the way).
"""

from __future__ import annotations

import logging
import mailbox
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import Message
from email.policy import compat32
from email.utils import parsedate_to_datetime
from pathlib import Path

from newsletter.bounces.dsn import DSN_TYPES, complaints, dsn_findings, field_blocks
from newsletter.bounces.envelope import envelope_addresses
from newsletter.bounces.findings import (
    SCAN_CHARS,
    Finding,
    clean,
    header,
    original_message,
    part_text,
)
from newsletter.bounces.text import (
    auto_reply,
    before_copy,
    is_auto_reply,
    looks_like_bounce,
    plain_findings,
)
from newsletter.domain import BounceEvent, BounceKind, ReturnedMail

__all__ = [
    "MAX_DIAGNOSTIC_CHARS",
    "MAX_EVENTS_PER_REPORT",
    "MAX_MESSAGE_ID_CHARS",
    "BounceEvent",
    "BounceKind",
    "ReturnedMail",
    "parse_report",
    "read_maildir",
    "read_mbox",
    "read_report",
]

log = logging.getLogger(__name__)

MAX_DIAGNOSTIC_CHARS = 500
MAX_MESSAGE_ID_CHARS = 255
MAX_EVENTS_PER_REPORT = 10


_MSGID = re.compile(r"<[^<>\s]{1,250}@[^<>\s]{1,250}>")
_COPY_MSGID = re.compile(rf"^message-id:[ \t]*\n?[ \t]*({_MSGID.pattern})", re.I | re.M)


def parse_report(data: bytes) -> list[BounceEvent]:
    """One event per failed or delayed recipient; [] for mail that is not a bounce."""
    return list(read_report(data).events)


def read_report(data: bytes) -> ReturnedMail:
    """The report's events and the VERP-shaped addresses it was delivered to."""
    try:
        return _parse(data)
    except Exception:
        # The email package still has crash bugs on hostile input; one poisoned message in
        # the bounce mailbox must not stop the run over all the others.
        log.warning("unreadable bounce report (%d bytes)", len(data), exc_info=True)
        return ReturnedMail(raw=data, events=())


def read_maildir(path: Path) -> Iterator[tuple[str, bytes]]:
    """(key, raw bytes) of every message in new/ and cur/; raises if `path` is no Maildir."""
    box = mailbox.Maildir(path, factory=None, create=False)
    for key in sorted(box.keys()):
        try:
            data = box.get_bytes(key)
        except (KeyError, FileNotFoundError):
            continue  # another reader moved or deleted it since the listing
        yield key, data


def read_mbox(path: Path) -> Iterator[tuple[str, bytes]]:
    """(key, raw bytes without the "From " line) of every message in an mbox file."""
    box = mailbox.mbox(path, create=False)
    try:
        for key in box.iterkeys():  # iterating a Mailbox itself yields messages
            yield str(key), box.get_bytes(key)
    finally:
        box.close()


def _parse(data: bytes) -> ReturnedMail:
    # compat32 keeps header values as raw strings: the newer policy parses every header into
    # structures on access, which is both slower and where the crash bugs live.
    msg = message_from_bytes(data, policy=compat32)
    parts = list(_parts(msg))
    findings = _classify(msg, parts)
    if not findings:
        return ReturnedMail(raw=data, events=())
    envelope = envelope_addresses(msg, parts)
    message_id = _original_message_id(msg, parts)
    received_at = _date(header(msg, "date"))
    events: dict[str, BounceEvent] = {}
    for found in findings:  # one event per recipient: the first, most precise, finding wins
        if len(events) == MAX_EVENTS_PER_REPORT:
            break
        if found.recipient not in events:
            events[found.recipient] = BounceEvent(
                recipient=found.recipient,
                kind=found.kind,
                status=found.status,
                diagnostic=_clip(found.diagnostic),
                message_id=message_id,
                received_at=received_at,
            )
    return ReturnedMail(raw=data, events=tuple(events.values()), envelope=envelope)


def _classify(msg: Message, parts: list[Message]) -> list[Finding]:
    types = {part.get_content_type() for part in parts}
    if "message/feedback-report" in types:
        return complaints(parts)
    has_dsn = bool(types & DSN_TYPES)
    if has_dsn and (found := dsn_findings(parts)) is not None:
        return found
    if has_dsn or looks_like_bounce(msg):
        return plain_findings(msg, parts)
    if is_auto_reply(msg):
        return auto_reply(msg)
    return []


def _parts(msg: Message) -> Iterator[Message]:
    """Every part, depth first, without descending into attached messages: an original
    message (or a bounce of a bounce) inside the report says nothing about this report."""
    stack = [msg]
    while stack:
        part = stack.pop()
        yield part
        payload = part.get_payload()
        if part.get_content_maintype() == "multipart" and isinstance(payload, list):
            stack.extend(reversed([sub for sub in payload if isinstance(sub, Message)]))


def _original_message_id(msg: Message, parts: list[Message]) -> str | None:
    original = original_message(parts)
    if original is not None and (found := _message_ids(header(original, "message-id"))):
        return found[0]
    for part in parts:
        for block in field_blocks(part) if part.get_content_type() in DSN_TYPES else []:
            if found := _message_ids(block.get("x-original-message-id", "")):
                return found[0]  # Gmail names the original in the per-message fields
        if part.get_content_type() == "text/plain":
            text = part_text(part).replace("\r\n", "\n")
            copy = text[len(before_copy(text)) :][:SCAN_CHARS]
            if (copied := _COPY_MSGID.search(copy)) and (found := _message_ids(copied[1])):
                return found[0]
    # Bounce generators and auto-replies refer to the message they answer.
    replied = _message_ids(header(msg, "in-reply-to")) or _message_ids(header(msg, "references"))
    return replied[-1] if replied else None


def _message_ids(text: str) -> list[str]:
    # Longer ids are not ours (make_msgid writes ~70 characters) and would not fit storage.
    found = _MSGID.findall(text[:SCAN_CHARS])
    return [msgid for msgid in found if len(msgid) <= MAX_MESSAGE_ID_CHARS]


def _date(text: str) -> datetime | None:
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    # "-0000" means UTC with the local zone unknown (RFC 5322); keep every value aware.
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _clip(text: str) -> str:
    text = clean(text)
    if len(text) <= MAX_DIAGNOSTIC_CHARS:
        return text
    return text[: MAX_DIAGNOSTIC_CHARS - 1] + "…"
