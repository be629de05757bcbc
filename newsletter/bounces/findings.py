"""What every bounce classifier reads out of a report, and what it says about a recipient.

A Finding is one recipient and what happened to mail sent there (a BounceKind, the RFC 3463
status code when the report gives one); newsletter.bounces.report turns findings into BounceEvents.
The readers here get the pieces of a report message: its headers, the text of a MIME part,
the original message it carries, addresses and status codes. Pure: stdlib `email` only.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from email import errors
from email.header import decode_header, make_header
from email.message import Message
from email.parser import HeaderParser
from email.policy import compat32

from newsletter.domain import BounceKind
from newsletter.mail.status_codes import MAILBOX_GONE

MAX_ADDRESS_CHARS = 254  # RFC 5321 path limit, as newsletter.subscribers.addresses enforces
SCAN_CHARS = 100_000  # reports are short; the cap keeps the regexes cheap on hostile input


@dataclass(frozen=True, slots=True)
class Finding:
    recipient: str
    kind: BounceKind
    status: str | None
    diagnostic: str


HARD_STATUSES = MAILBOX_GONE  # the same codes suppress an address at SMTP time
ORIGINAL_TYPES = frozenset(
    {"message/rfc822", "message/global", "message/global-headers", "text/rfc822-headers"}
)

ADDR = r"[^\s<>@,;:\"()\[\]]+@[^\s<>@,;:\"()\[\]]+"
STATUS = re.compile(r"([245])\.(\d{1,3})\.(\d{1,3})(?![\d.])")
SMTP_STATUS = re.compile(r"(?<![\d.])([245])\d\d[ -]([245])\.(\d{1,3})\.(\d{1,3})(?![\d.])")
PARAGRAPH = re.compile(r"\n[ \t]*\n")
_ADDRESS = re.compile(ADDR)


def failed_kind(status: str | None) -> BounceKind:
    if status in HARD_STATUSES:
        return BounceKind.HARD
    if status is not None and status[0] in "45":
        return BounceKind.SOFT
    return BounceKind.UNKNOWN  # no code, or a success code on a failure: contradictory


def enhanced_status(match: re.Match[str] | None) -> str | None:
    """The "x.y.z" code of a STATUS-like match whose last three groups are its numbers."""
    if match is None:
        return None
    cls, subject, detail = match.groups()[-3:]
    return f"{cls}.{int(subject)}.{int(detail)}"  # "5.01.01" and "5.1.1" are the same code


def smtp_status(text: str) -> str | None:
    """The first "550 5.1.1" whose basic and enhanced classes agree (RFC 3463 requires it)."""
    for match in SMTP_STATUS.finditer(text[:SCAN_CHARS]):
        if match[1] == match[2]:
            return enhanced_status(match)
    return None


def address(text: str) -> str | None:
    value = text.rpartition(";")[2].strip().strip("<>").strip()  # drop "rfc822;" and <>
    if not _ADDRESS.fullmatch(value):
        return None
    local, _, domain = value.lower().rpartition("@")
    if not domain.isascii():
        # Stored addresses keep the domain in its ASCII form (newsletter.subscribers.addresses).
        with contextlib.suppress(UnicodeError):
            domain = domain.encode("idna").decode("ascii")
    found = f"{local}@{domain}"
    return found if len(found) <= MAX_ADDRESS_CHARS else None  # never one we sent to


def original_message(parts: list[Message]) -> Message | None:
    """The original message's headers, from the part the report carries them in."""
    for part in parts:
        ctype = part.get_content_type()
        if ctype == "text/rfc822-headers":
            return HeaderParser(policy=compat32).parsestr(part_text(part), headersonly=True)
        payload = part.get_payload()
        if ctype in ORIGINAL_TYPES and isinstance(payload, list) and payload:
            first = payload[0]
            return first if isinstance(first, Message) else None
    return None


def part_text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    try:
        return payload.decode(part.get_content_charset() or "utf-8", "replace")
    except LookupError:  # an unknown or non-text charset name
        return payload.decode("utf-8", "replace")


def header(msg: Message, name: str) -> str:
    """The first `name` header, unfolded; 8-bit bytes read as UTF-8 (RFC 6532)."""
    for key, value in msg.raw_items():
        if key.lower() == name:
            return clean(unescape(value))
    return ""


def unescape(value: object) -> str:
    # The parser keeps undecodable bytes as surrogates; turn them back into UTF-8 text.
    return str(value).encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def decoded(text: str) -> str:
    """RFC 2047 encoded words ("=?utf-8?q?...?=") as text; the raw text when they are broken."""
    try:
        return clean(str(make_header(decode_header(text))))
    except (LookupError, UnicodeError, ValueError, errors.HeaderParseError, errors.CharsetError):
        return text


def clean(text: str) -> str:
    return " ".join(text.split())
