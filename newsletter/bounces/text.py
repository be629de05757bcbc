"""Heuristics for reports written for people: plain-text bounces (qmail, Exim, Postfix without
a DSN part, ...) and auto-replies (out of office and the like).

These have no fields to read, so they are recognised by their sender, subject and headers,
and each failed recipient by the shape of the paragraph or line that names it. The rules
are in newsletter.bounces.report' table.
"""

from __future__ import annotations

import re
from email.message import Message
from email.utils import parseaddr

from newsletter.bounces.findings import (
    ADDR,
    PARAGRAPH,
    SCAN_CHARS,
    SMTP_STATUS,
    Finding,
    address,
    decoded,
    enhanced_status,
    failed_kind,
    header,
    part_text,
    smtp_status,
)
from newsletter.domain import BounceKind

_QMAIL_STATUS = re.compile(r"\(#([245])\.(\d{1,3})\.(\d{1,3})\)")
_CODE_LINE = re.compile(SMTP_STATUS.pattern + rf"[ \t]{{1,20}}<({ADDR})>([^\n]{{0,60}})")
_ADDRESS_HEAD = re.compile(rf"[ \t]*<?({ADDR}?)>?:?[ \t]*")  # qmail "<a@b>:", Exim "  a@b"
_POSTFIX_HEAD = re.compile(rf"<({ADDR})>:")  # "<a@b>: host ... said: 550 5.1.1 ..."
_COPY_MARKER = re.compile(
    r"^[ \t]*-{2,80}[^\n]{0,20}?(?:below this line|copy of the message|original message"
    r"|undelivered message)",
    re.I | re.M,
)
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


def looks_like_bounce(msg: Message) -> bool:
    if header(msg, "x-failed-recipients"):
        return True
    if _DAEMON.match(parseaddr(header(msg, "from"))[1]):
        return True
    return bool(_BOUNCE_SUBJECT.search(decoded(header(msg, "subject"))))


def plain_findings(msg: Message, parts: list[Message]) -> list[Finding]:
    texts = [before_copy(part_text(p)) for p in parts if p.get_content_type() == "text/plain"]
    notice = "\n\n".join(texts).replace("\r\n", "\n")[:SCAN_CHARS]
    opening = f"{decoded(header(msg, 'subject'))}\n{notice[:2000]}"
    delayed = bool(_DELAY.search(opening)) and not _PERMANENT.search(opening)
    findings = []
    for paragraph in PARAGRAPH.split(notice):
        head = paragraph.strip("\n").partition("\n")[0]
        named = _ADDRESS_HEAD.fullmatch(head) or _POSTFIX_HEAD.match(head)
        if named and (recipient := address(named[1])):
            status = smtp_status(paragraph) or enhanced_status(_QMAIL_STATUS.search(paragraph))
            findings.append(_plain_finding(recipient, status, paragraph, delayed=delayed))
    for line in _CODE_LINE.finditer(notice):
        recipient = address(line[5])
        if line[1] == line[2] and recipient and "sender" not in line[6].lower():
            status = f"{line[2]}.{int(line[3])}.{int(line[4])}"
            findings.append(_plain_finding(recipient, status, line[0], delayed=delayed))
    for listed in header(msg, "x-failed-recipients").split(","):
        if recipient := address(listed):
            findings.append(
                Finding(recipient, BounceKind.UNKNOWN, None, "listed in X-Failed-Recipients")
            )
    return findings


def _plain_finding(recipient: str, status: str | None, text: str, *, delayed: bool) -> Finding:
    kind = BounceKind.DELAYED if delayed else failed_kind(status)
    return Finding(recipient, kind, status, text)


def before_copy(text: str) -> str:
    """The report's own text, without the copy of the original that qmail and Exim append."""
    marker = _COPY_MARKER.search(text[:SCAN_CHARS])
    return text[: marker.start()] if marker else text


def is_auto_reply(msg: Message) -> bool:
    if header(msg, "auto-submitted").lower().startswith("auto-replied"):
        return True
    for name in ("x-autoreply", "x-autorespond"):
        if header(msg, name).lower() not in ("", "no", "false", "0"):
            return True
    if header(msg, "precedence").lower() == "auto_reply":
        return True
    return bool(_AUTO_SUBJECT.match(decoded(header(msg, "subject"))))


def auto_reply(msg: Message) -> list[Finding]:
    sender = address(parseaddr(header(msg, "from"))[1])
    if sender is None:
        return []
    subject = decoded(header(msg, "subject"))
    return [Finding(sender, BounceKind.AUTO_REPLY, None, f"auto-reply: {subject}")]
