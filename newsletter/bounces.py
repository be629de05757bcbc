"""Bounce reports -> BounceEvents: which recipient could not be reached, and how badly.

Pure: stdlib `email` and `mailbox` only, no database, no settings. The caller reads the bounce
mailbox (read_maildir / read_mbox), gives each message to parse_report and decides what to do:
suppress an address on HARD, count SOFT ones within a window, ignore the rest.

What a message says, first match wins:

  message                                                    kind        per
  message/feedback-report (ARF), Feedback-Type abuse/fraud   COMPLAINT   complaining recipient
  message/delivery-status (RFC 3464), per recipient:
    Action delivered / relayed / expanded                    no event
    Action delayed                                           DELAYED
    Action failed, Status in _HARD_STATUSES                  HARD
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

import contextlib
import logging
import mailbox
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email import errors, message_from_bytes
from email.header import decode_header, make_header
from email.message import Message
from email.parser import HeaderParser
from email.policy import compat32
from email.utils import getaddresses, parseaddr, parsedate_to_datetime
from enum import StrEnum
from pathlib import Path

from newsletter.delivery.replies import MAILBOX_GONE

log = logging.getLogger(__name__)

MAX_DIAGNOSTIC_CHARS = 500
MAX_MESSAGE_ID_CHARS = 255
MAX_ADDRESS_CHARS = 254  # RFC 5321 path limit, as newsletter.addresses enforces
_SCAN_CHARS = 100_000  # reports are short; the cap keeps the regexes cheap on hostile input


class BounceKind(StrEnum):
    HARD = "hard"  # the address leads nowhere: suppress it
    SOFT = "soft"  # failed, but may pass later: count it
    DELAYED = "delayed"  # still being retried by some MTA
    AUTO_REPLY = "auto_reply"  # out of office and the like: not a bounce
    COMPLAINT = "complaint"  # the recipient marked the mail as spam (ARF)
    UNKNOWN = "unknown"  # looks like a failure, but the report does not say what kind


@dataclass(frozen=True, slots=True)
class BounceEvent:
    recipient: str  # lower-cased address, without the "rfc822;" type
    kind: BounceKind
    status: str | None  # RFC 3463 enhanced code, e.g. "5.1.1"
    diagnostic: str  # Diagnostic-Code text or a short reason, <= MAX_DIAGNOSTIC_CHARS
    message_id: str | None  # "<...>" of the original message, when the report names it
    received_at: datetime | None  # the report's Date, timezone-aware


@dataclass(frozen=True, slots=True)
class _Finding:
    recipient: str
    kind: BounceKind
    status: str | None
    diagnostic: str


_HARD_STATUSES = MAILBOX_GONE  # the same codes suppress an address at SMTP time
_NOT_EVENTS = frozenset({"delivered", "relayed", "expanded"})
_COMPLAINT_TYPES = frozenset({"abuse", "fraud"})
_DSN_TYPES = frozenset({"message/delivery-status", "message/global-delivery-status"})
_ORIGINAL_TYPES = frozenset(
    {"message/rfc822", "message/global", "message/global-headers", "text/rfc822-headers"}
)

_ADDR = r"[^\s<>@,;:\"()\[\]]+@[^\s<>@,;:\"()\[\]]+"
_ADDRESS = re.compile(_ADDR)
_STATUS = re.compile(r"([245])\.(\d{1,3})\.(\d{1,3})(?![\d.])")
_SMTP_STATUS = re.compile(r"(?<![\d.])([245])\d\d[ -]([245])\.(\d{1,3})\.(\d{1,3})(?![\d.])")
_QMAIL_STATUS = re.compile(r"\(#([245])\.(\d{1,3})\.(\d{1,3})\)")
_CODE_LINE = re.compile(_SMTP_STATUS.pattern + rf"[ \t]{{1,20}}<({_ADDR})>([^\n]{{0,60}})")
_ADDRESS_HEAD = re.compile(rf"[ \t]*<?({_ADDR}?)>?:?[ \t]*")  # qmail "<a@b>:", Exim "  a@b"
_POSTFIX_HEAD = re.compile(rf"<({_ADDR})>:")  # "<a@b>: host ... said: 550 5.1.1 ..."
_MSGID = re.compile(r"<[^<>\s]{1,250}@[^<>\s]{1,250}>")
_COPY_MSGID = re.compile(rf"^message-id:[ \t]*\n?[ \t]*({_MSGID.pattern})", re.I | re.M)
_COPY_MARKER = re.compile(
    r"^[ \t]*-{2,80}[^\n]{0,20}?(?:below this line|copy of the message|original message"
    r"|undelivered message)",
    re.I | re.M,
)
_PARAGRAPH = re.compile(r"\n[ \t]*\n")
_DAEMON = re.compile(r"(?:mailer-daemon|mailer_daemon|mail-daemon|postmaster)@", re.I)
_BOUNCE_SUBJECT = re.compile(
    r"undeliver|returned mail|returned to sender|delivery status notification|failure notice"
    r"|mail delivery (?:failed|failure|problem|system)|delivery (?:failure|has failed|delayed)"
    r"|could not be delivered|^warning: message \S+ delayed|delayed mail",
    re.I,
)
_DELAY = re.compile(
    r"not yet been delivered|delayed|still being retried|will be retried|warning only", re.I
)
_PERMANENT = re.compile(r"permanent|given up|giving up", re.I)
_AUTO_SUBJECT = re.compile(
    r"\s*(?:out of (?:the )?office|automatic reply|auto[- ]?reply|autoreply|auto:"
    r"|away from (?:the )?office|on vacation|vacation reply|abwesenheit|réponse automatique"
    r"|respuesta automática)",
    re.I,
)


def parse_report(data: bytes) -> list[BounceEvent]:
    """One event per failed or delayed recipient; [] for mail that is not a bounce."""
    try:
        return _parse(data)
    except Exception:
        # The email package still has crash bugs on hostile input; one poisoned message in
        # the bounce mailbox must not stop the run over all the others.
        log.warning("unreadable bounce report (%d bytes)", len(data), exc_info=True)
        return []


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


def _parse(data: bytes) -> list[BounceEvent]:
    # compat32 keeps header values as raw strings: the newer policy parses every header into
    # structures on access, which is both slower and where the crash bugs live.
    msg = message_from_bytes(data, policy=compat32)
    parts = list(_parts(msg))
    findings = _classify(msg, parts)
    if not findings:
        return []
    message_id = _original_message_id(msg, parts)
    received_at = _date(_header(msg, "date"))
    events: dict[str, BounceEvent] = {}
    for found in findings:  # one event per recipient: the first, most precise, finding wins
        if found.recipient not in events:
            events[found.recipient] = BounceEvent(
                recipient=found.recipient,
                kind=found.kind,
                status=found.status,
                diagnostic=_clip(found.diagnostic),
                message_id=message_id,
                received_at=received_at,
            )
    return list(events.values())


def _classify(msg: Message, parts: list[Message]) -> list[_Finding]:
    types = {part.get_content_type() for part in parts}
    if "message/feedback-report" in types:
        return _complaints(parts)
    has_dsn = bool(types & _DSN_TYPES)
    if has_dsn and (found := _dsn_findings(parts)) is not None:
        return found
    if has_dsn or _looks_like_bounce(msg):
        return _plain_findings(msg, parts)
    if _is_auto_reply(msg):
        return _auto_reply(msg)
    return []


# --- RFC 3464 delivery status notifications and RFC 5965 feedback reports ---------------------


def _dsn_findings(parts: list[Message]) -> list[_Finding] | None:
    """None when no block names a recipient: the plain-text rules get the message then."""
    reports = [part for part in parts if part.get_content_type() in _DSN_TYPES]
    blocks = [block for part in reports for block in _field_blocks(part)]
    named = [b for b in blocks if "final-recipient" in b or "original-recipient" in b]
    if not named:
        return None
    return [found for fields in named if (found := _dsn_finding(fields)) is not None]


def _dsn_finding(fields: dict[str, str]) -> _Finding | None:
    recipient = _address(fields.get("original-recipient", "")) or _address(
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
        kind = _failed_kind(status)
    elif status is not None and status.startswith("2"):
        return None  # no Action, but a success code: nothing failed
    else:
        kind = BounceKind.UNKNOWN
    reason = f"Action: {action or 'none'}; Status: {fields.get('status') or 'none'}"
    return _Finding(recipient, kind, status, diagnostic or reason)


def _dsn_status(raw: str, diagnostic: str) -> str | None:
    status = _status(_STATUS.match(raw.strip()))
    precise = _smtp_status(diagnostic)
    if precise and (status is None or (status.endswith(".0.0") and precise[0] == status[0])):
        return precise
    return status


def _diagnostic(raw: str) -> str:
    """Diagnostic-Code without its type ("smtp;") and without the repeated "550-5.1.1" that
    starts each line of a multi-line reply."""
    text = re.sub(r"^[\w.-]{1,20}[ \t]*;[ \t]*", "", raw)
    lead = _SMTP_STATUS.match(text)
    if lead is None:
        return text
    code, enhanced = lead[0][:3], lead[0][4:]
    again = rf"\s+{code}[ -]{re.escape(enhanced)}(?=\s)"
    return text[: lead.end()] + re.sub(again, "", text[lead.end() :])


def _complaints(parts: list[Message]) -> list[_Finding]:
    fields: dict[str, str] = {}
    for part in parts:
        if part.get_content_type() == "message/feedback-report":
            for block in _field_blocks(part):
                for name, value in block.items():
                    fields.setdefault(name, value)
    feedback_type = next(iter(fields.get("feedback-type", "").lower().split()), "")
    if feedback_type not in _COMPLAINT_TYPES:
        return []  # not-spam, auth-failure, virus...: nobody complained about us
    recipient = _address(fields.get("original-rcpt-to", ""))
    original = _original(parts)
    if recipient is None and original is not None:
        to = getaddresses([_header(original, "to")])
        recipient = _address(to[0][1]) if len(to) == 1 else None
    if recipient is None:
        return []  # the provider redacted who complained
    reason = f"Feedback-Type: {feedback_type}; Reporting-MTA: {fields.get('reporting-mta', '')}"
    return [_Finding(recipient, BounceKind.COMPLAINT, None, reason)]


def _field_blocks(part: Message) -> list[dict[str, str]]:
    """The header-like blocks of a report part: per-message fields, then one per recipient."""
    payload = part.get_payload()
    if isinstance(payload, str):  # message/global-delivery-status, or a broken part
        return _text_blocks(_part_text(part))
    blocks: list[dict[str, str]] = []
    for sub in payload if isinstance(payload, list) else []:
        if isinstance(sub, Message):
            blocks.append(_fields(sub.raw_items()))
            rest = sub.get_payload()  # the parser reads only the first block as headers
            if isinstance(rest, str) and rest.strip():
                blocks.extend(_text_blocks(_unescape(rest)))
    return blocks


def _text_blocks(text: str) -> list[dict[str, str]]:
    blocks = []
    for chunk in _PARAGRAPH.split(text.replace("\r\n", "\n")[:_SCAN_CHARS]):
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
        fields.setdefault(name.strip().lower(), _clean(_unescape(value)))
    return fields


# --- plain-text bounces (qmail, Exim, ...) and auto-replies ------------------------------------


def _looks_like_bounce(msg: Message) -> bool:
    if _header(msg, "x-failed-recipients"):
        return True
    if _DAEMON.match(parseaddr(_header(msg, "from"))[1]):
        return True
    return bool(_BOUNCE_SUBJECT.search(_decoded(_header(msg, "subject"))))


def _plain_findings(msg: Message, parts: list[Message]) -> list[_Finding]:
    texts = [_before_copy(_part_text(p)) for p in parts if p.get_content_type() == "text/plain"]
    notice = "\n\n".join(texts).replace("\r\n", "\n")[:_SCAN_CHARS]
    opening = f"{_decoded(_header(msg, 'subject'))}\n{notice[:2000]}"
    delayed = bool(_DELAY.search(opening)) and not _PERMANENT.search(opening)
    findings = []
    for paragraph in _PARAGRAPH.split(notice):
        head = paragraph.strip("\n").partition("\n")[0]
        named = _ADDRESS_HEAD.fullmatch(head) or _POSTFIX_HEAD.match(head)
        if named and (recipient := _address(named[1])):
            status = _smtp_status(paragraph) or _status(_QMAIL_STATUS.search(paragraph))
            findings.append(_plain_finding(recipient, status, paragraph, delayed=delayed))
    for line in _CODE_LINE.finditer(notice):
        recipient = _address(line[5])
        if line[1] == line[2] and recipient and "sender" not in line[6].lower():
            status = f"{line[2]}.{int(line[3])}.{int(line[4])}"
            findings.append(_plain_finding(recipient, status, line[0], delayed=delayed))
    for listed in _header(msg, "x-failed-recipients").split(","):
        if recipient := _address(listed):
            findings.append(
                _Finding(recipient, BounceKind.UNKNOWN, None, "listed in X-Failed-Recipients")
            )
    return findings


def _plain_finding(recipient: str, status: str | None, text: str, *, delayed: bool) -> _Finding:
    kind = BounceKind.DELAYED if delayed else _failed_kind(status)
    return _Finding(recipient, kind, status, text)


def _is_auto_reply(msg: Message) -> bool:
    if _header(msg, "auto-submitted").lower().startswith("auto-replied"):
        return True
    for name in ("x-autoreply", "x-autorespond"):
        if _header(msg, name).lower() not in ("", "no", "false", "0"):
            return True
    if _header(msg, "precedence").lower() == "auto_reply":
        return True
    return bool(_AUTO_SUBJECT.match(_decoded(_header(msg, "subject"))))


def _auto_reply(msg: Message) -> list[_Finding]:
    sender = _address(parseaddr(_header(msg, "from"))[1])
    if sender is None:
        return []
    subject = _decoded(_header(msg, "subject"))
    return [_Finding(sender, BounceKind.AUTO_REPLY, None, f"auto-reply: {subject}")]


# --- shared helpers ---------------------------------------------------------------------------


def _failed_kind(status: str | None) -> BounceKind:
    if status in _HARD_STATUSES:
        return BounceKind.HARD
    if status is not None and status[0] in "45":
        return BounceKind.SOFT
    return BounceKind.UNKNOWN  # no code, or a success code on a failure: contradictory


def _status(match: re.Match[str] | None) -> str | None:
    if match is None:
        return None
    cls, subject, detail = match.groups()[-3:]
    return f"{cls}.{int(subject)}.{int(detail)}"  # "5.01.01" and "5.1.1" are the same code


def _smtp_status(text: str) -> str | None:
    """The first "550 5.1.1" whose basic and enhanced classes agree (RFC 3463 requires it)."""
    for match in _SMTP_STATUS.finditer(text[:_SCAN_CHARS]):
        if match[1] == match[2]:
            return _status(match)
    return None


def _address(text: str) -> str | None:
    value = text.rpartition(";")[2].strip().strip("<>").strip()  # drop "rfc822;" and <>
    if not _ADDRESS.fullmatch(value):
        return None
    local, _, domain = value.lower().rpartition("@")
    if not domain.isascii():
        # Stored addresses keep the domain in its ASCII form (newsletter.addresses).
        with contextlib.suppress(UnicodeError):
            domain = domain.encode("idna").decode("ascii")
    address = f"{local}@{domain}"
    return address if len(address) <= MAX_ADDRESS_CHARS else None  # never one we sent to


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


def _original(parts: list[Message]) -> Message | None:
    """The original message's headers, from the part the report carries them in."""
    for part in parts:
        ctype = part.get_content_type()
        if ctype == "text/rfc822-headers":
            return HeaderParser(policy=compat32).parsestr(_part_text(part), headersonly=True)
        payload = part.get_payload()
        if ctype in _ORIGINAL_TYPES and isinstance(payload, list) and payload:
            first = payload[0]
            return first if isinstance(first, Message) else None
    return None


def _original_message_id(msg: Message, parts: list[Message]) -> str | None:
    original = _original(parts)
    if original is not None and (found := _message_ids(_header(original, "message-id"))):
        return found[0]
    for part in parts:
        for block in _field_blocks(part) if part.get_content_type() in _DSN_TYPES else []:
            if found := _message_ids(block.get("x-original-message-id", "")):
                return found[0]  # Gmail names the original in the per-message fields
        if part.get_content_type() == "text/plain":
            text = _part_text(part).replace("\r\n", "\n")
            copy = text[len(_before_copy(text)) :][:_SCAN_CHARS]
            if (copied := _COPY_MSGID.search(copy)) and (found := _message_ids(copied[1])):
                return found[0]
    # Bounce generators and auto-replies refer to the message they answer.
    replied = _message_ids(_header(msg, "in-reply-to")) or _message_ids(_header(msg, "references"))
    return replied[-1] if replied else None


def _message_ids(text: str) -> list[str]:
    # Longer ids are not ours (make_msgid writes ~70 characters) and would not fit storage.
    found = _MSGID.findall(text[:_SCAN_CHARS])
    return [msgid for msgid in found if len(msgid) <= MAX_MESSAGE_ID_CHARS]


def _before_copy(text: str) -> str:
    """The report's own text, without the copy of the original that qmail and Exim append."""
    marker = _COPY_MARKER.search(text[:_SCAN_CHARS])
    return text[: marker.start()] if marker else text


def _part_text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    try:
        return payload.decode(part.get_content_charset() or "utf-8", "replace")
    except LookupError:  # an unknown or non-text charset name
        return payload.decode("utf-8", "replace")


def _header(msg: Message, name: str) -> str:
    """The first `name` header, unfolded; 8-bit bytes read as UTF-8 (RFC 6532)."""
    for key, value in msg.raw_items():
        if key.lower() == name:
            return _clean(_unescape(value))
    return ""


def _unescape(value: object) -> str:
    # The parser keeps undecodable bytes as surrogates; turn them back into UTF-8 text.
    return str(value).encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _decoded(text: str) -> str:
    """RFC 2047 encoded words ("=?utf-8?q?...?=") as text; the raw text when they are broken."""
    try:
        return _clean(str(make_header(decode_header(text))))
    except (LookupError, UnicodeError, ValueError, errors.HeaderParseError):
        return text


def _date(text: str) -> datetime | None:
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    # "-0000" means UTC with the local zone unknown (RFC 5322); keep every value aware.
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _clean(text: str) -> str:
    return " ".join(text.split())


def _clip(text: str) -> str:
    text = _clean(text)
    if len(text) <= MAX_DIAGNOSTIC_CHARS:
        return text
    return text[: MAX_DIAGNOSTIC_CHARS - 1] + "…"
