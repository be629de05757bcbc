"""Machine-readable reports: RFC 3464 delivery status notifications (one block of fields per
recipient, with its Action and Status) and RFC 5965 feedback reports (ARF, a complaint).

newsletter.bounces.report gives a report here when it carries such a part; the rules each follows
are in that module's table.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from email.message import Message
from email.utils import getaddresses

from newsletter.bounces.findings import (
    PARAGRAPH,
    SCAN_CHARS,
    SMTP_STATUS,
    STATUS,
    Finding,
    address,
    clean,
    enhanced_status,
    failed_kind,
    header,
    original_message,
    part_text,
    smtp_status,
    unescape,
)
from newsletter.domain import BounceKind

DSN_TYPES = frozenset({"message/delivery-status", "message/global-delivery-status"})
_NOT_EVENTS = frozenset({"delivered", "relayed", "expanded"})
_COMPLAINT_TYPES = frozenset({"abuse", "fraud"})


def dsn_findings(parts: list[Message]) -> list[Finding] | None:
    """None when no block names a recipient: the plain-text rules get the message then."""
    reports = [part for part in parts if part.get_content_type() in DSN_TYPES]
    blocks = [block for part in reports for block in field_blocks(part)]
    named = [b for b in blocks if "final-recipient" in b or "original-recipient" in b]
    if not named:
        return None
    return [found for fields in named if (found := _dsn_finding(fields)) is not None]


def _dsn_finding(fields: dict[str, str]) -> Finding | None:
    recipient = address(fields.get("original-recipient", "")) or address(
        fields.get("final-recipient", "")
    )
    action = next(iter(fields.get("action", "").lower().split()), "")
    if recipient is None or action in _NOT_EVENTS:
        return None
    diagnostic = _diagnostic(fields.get("diagnostic-code", ""))
    status = _dsn_status(fields.get("status", ""), diagnostic)
    if action == "delayed":
        kind = BounceKind.DELAYED
    elif action == "failed":
        kind = failed_kind(status)
    elif status is not None and status.startswith("2"):
        return None  # no Action, but a success code: nothing failed
    else:
        kind = BounceKind.UNKNOWN
    reason = f"Action: {action or 'none'}; Status: {fields.get('status') or 'none'}"
    return Finding(recipient, kind, status, diagnostic or reason)


def _dsn_status(raw: str, diagnostic: str) -> str | None:
    status = enhanced_status(STATUS.match(raw.strip()))
    precise = smtp_status(diagnostic)
    if precise and (status is None or (status.endswith(".0.0") and precise[0] == status[0])):
        return precise
    return status


def _diagnostic(raw: str) -> str:
    """Diagnostic-Code without its type ("smtp;") and without the repeated "550-5.1.1" that
    starts each line of a multi-line reply."""
    text = re.sub(r"^[\w.-]{1,20}[ \t]*;[ \t]*", "", raw)
    lead = SMTP_STATUS.match(text)
    if lead is None:
        return text
    code, enhanced = lead[0][:3], lead[0][4:]
    again = rf"\s+{code}[ -]{re.escape(enhanced)}(?=\s)"
    return text[: lead.end()] + re.sub(again, "", text[lead.end() :])


def complaints(parts: list[Message]) -> list[Finding]:
    fields: dict[str, str] = {}
    for part in parts:
        if part.get_content_type() == "message/feedback-report":
            for block in field_blocks(part):
                for name, value in block.items():
                    fields.setdefault(name, value)
    feedback_type = next(iter(fields.get("feedback-type", "").lower().split()), "")
    if feedback_type not in _COMPLAINT_TYPES:
        return []  # not-spam, auth-failure, virus...: nobody complained about us
    recipient = address(fields.get("original-rcpt-to", ""))
    original = original_message(parts)
    if recipient is None and original is not None:
        to = getaddresses([header(original, "to")])
        recipient = address(to[0][1]) if len(to) == 1 else None
    if recipient is None:
        return []  # the provider redacted who complained
    reason = f"Feedback-Type: {feedback_type}; Reporting-MTA: {fields.get('reporting-mta', '')}"
    return [Finding(recipient, BounceKind.COMPLAINT, None, reason)]


def field_blocks(part: Message) -> list[dict[str, str]]:
    """The header-like blocks of a report part: per-message fields, then one per recipient."""
    payload = part.get_payload()
    if isinstance(payload, str):  # message/global-delivery-status, or a broken part
        return _text_blocks(part_text(part))
    blocks: list[dict[str, str]] = []
    for sub in payload if isinstance(payload, list) else []:
        if isinstance(sub, Message):
            blocks.append(_fields(sub.raw_items()))
            rest = sub.get_payload()  # the parser reads only the first block as headers
            if isinstance(rest, str) and rest.strip():
                blocks.extend(_text_blocks(unescape(rest)))
    return blocks


def _text_blocks(text: str) -> list[dict[str, str]]:
    blocks = []
    for chunk in PARAGRAPH.split(text.replace("\r\n", "\n")[:SCAN_CHARS]):
        items: list[tuple[str, str]] = []
        for line in chunk.split("\n"):
            if line[:1] in (" ", "\t") and items:
                items[-1] = (items[-1][0], f"{items[-1][1]} {line}")
            elif ":" in line:
                name, _, value = line.partition(":")
                items.append((name, value))
        blocks.append(_fields(items))
    return blocks


def _fields(items: Iterable[tuple[str, object]]) -> dict[str, str]:
    fields: dict[str, str] = {}
    for name, value in items:
        fields.setdefault(name.strip().lower(), clean(unescape(value)))
    return fields
