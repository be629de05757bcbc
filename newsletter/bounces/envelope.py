"""Where a bounce report was delivered: the addresses that may hold our VERP return path.

A report goes back to the return path of the mail it answers, and the mailbox's delivery
agent or the bounce generator writes that address down: Delivered-To (Postfix, Dovecot,
qmail, Gmail; one per hop), X-Original-To (Postfix, before aliases), Envelope-To and
X-Envelope-To (Exim and others), To (the bounce generator addresses the return path). A
complaint (ARF) goes to a feedback address instead, but names the original's return path in
its Original-Mail-From field (RFC 5965), and the copy of the original a report carries may
keep its Return-Path. Only addresses with a `+` in the local part (the VERP
form) are kept, at most MAX_ENVELOPE_ADDRESSES of them; whether one holds a token that
verifies is for newsletter.mail.verp to say. Nothing found here is trusted on its own.
"""

from __future__ import annotations

from email.message import Message
from email.utils import getaddresses

from newsletter.bounces.dsn import field_blocks
from newsletter.bounces.findings import header, original_message, unescape

ENVELOPE_HEADERS = frozenset(
    {"delivered-to", "x-original-to", "envelope-to", "x-envelope-to", "to", "cc"}
)
MAX_ENVELOPE_ADDRESSES = 20
MAX_HEADER_CHARS = 4_000  # a real address header is short; a hostile one is not parsed whole


def envelope_addresses(msg: Message, parts: list[Message]) -> tuple[str, ...]:
    """The VERP-shaped addresses of the report `msg` (whose MIME parts are `parts`)."""
    values = [
        unescape(value)[:MAX_HEADER_CHARS]
        for name, value in msg.raw_items()
        if name.lower() in ENVELOPE_HEADERS
    ]
    for part in parts:
        if part.get_content_type() == "message/feedback-report":
            values += [
                b.get("original-mail-from", "")[:MAX_HEADER_CHARS] for b in field_blocks(part)
            ]
    original = original_message(parts)
    if original is not None:
        values.append(header(original, "return-path")[:MAX_HEADER_CHARS])
    found: list[str] = []
    for _, address in getaddresses(values):
        local, at, domain = address.strip().rpartition("@")
        if at and "+" in local and domain and address not in found:
            found.append(address.strip())
        if len(found) == MAX_ENVELOPE_ADDRESSES:
            break
    return tuple(found)
