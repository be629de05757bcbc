"""What an SMTP reply means for one message (RFC 5321 reply codes, RFC 3463 enhanced codes).

Pure: no I/O. The sender stores `str(reply)` as the last reply and acts on `classify(reply)`.

Rules, first match wins (`x.y.z` is the enhanced code, used only when its class agrees with
the basic code's first digit, as RFC 3463 requires):

  reply                                      verdict    why
  no reply during DATA                       AMBIGUOUS  the final "." may have been accepted
  no reply before DATA (refused/lost/slow)   DEFERRED   nothing was handed over; retry
  2xx after DATA                             SENT
  other 2xx/3xx, unknown codes               DEFERRED   not a final answer; retry
  4xx                                        DEFERRED   temporary (slow_down: 421/450/454/4.7.x)
  530/534/535/538                            STOP       authentication on our side
  5.7.x at RCPT                              REFUSED    this recipient's policy (blocked sender,
                                                        a forwarder's DMARC): retried with backoff
  other 5.7.x                                STOP       policy on our side (session, sender, body)
  5.1.7/5.1.8                                STOP       our sender address is refused
  5xx while connecting (greeting/TLS/AUTH)   STOP       every message would meet it
  552, 5.2.x, 5.3.x                          FAILED     this message: too big, mailbox full
  5xx at MAIL FROM                           STOP       the sender is the same for every message
  5.1.1/2/3/6/10, 5.4.4 (RCPT or DATA)      BOUNCED    no such mailbox/domain: suppress it
                                                        (mail.status_codes: what bounces call HARD)
  other 5.x.x                                FAILED     permanent for this message only
  550/551/553 at RCPT                        BOUNCED    no enhanced code: mailbox refused
  other 5xx (554, ...)                       FAILED

REFUSED is about one recipient, so one such address never holds up anyone else's digest
(a refusal at RCPT names that address alone). A refusal about the sender shows as the same
reply to many different recipients ("5.7.1 Relaying denied"): the sender stops the run after
`REFUSALS_ALIKE_TO_STOP` such replies in a row with nothing accepted between them, comparing
them by `refusal_key` (codes and text, without addresses and words with digits).

552 is FAILED even at MAIL FROM: RFC 1870 answers a too large SIZE there with a bare 552
(aiosmtpd does), and stopping the run for one large message would be wrong. 5.2.2 (mailbox
full) and 5.2.1 (mailbox disabled) are FAILED, not BOUNCED: the mailbox exists and may
recover, so the address is not suppressed on one such reply.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from newsletter.mail.status_codes import MAILBOX_GONE

MAX_REPLY_CHARS = 500
# This many recipient refusals in a row, alike and for different recipients, are about us.
REFUSALS_ALIKE_TO_STOP = 10

_ENHANCED = re.compile(r"([245])\.(\d{1,3})\.(\d{1,3})(?![\d.])")
_AUTH_CODES = frozenset({530, 534, 535, 538})
_SLOW_DOWN_CODES = frozenset({421, 450, 454})
_MAILBOX_CODES = frozenset({550, 551, 553})
# What varies between recipients in one refusal: the address, and words with digits (queue
# ids, IPs, times).
_VARYING = re.compile(r"<[^>]*>|[^\s<>]+@[^\s<>]+|[^\s<>]*\d[^\s<>]*")
_WORD = re.compile(r"[^\W\d_]+")


class Phase(StrEnum):
    CONNECT = "connect"  # TCP, greeting, EHLO, STARTTLS, AUTH
    MAIL = "mail"
    RCPT = "rcpt"
    DATA = "data"  # the DATA command, the message and the final reply


class Verdict(StrEnum):
    SENT = "sent"
    DEFERRED = "deferred"  # retry later with backoff
    BOUNCED = "bounced"  # the address does not exist: suppress it
    FAILED = "failed"  # give up on this message, keep the address
    STOP = "stop"  # our side is refused: stop the run, blame no recipient
    REFUSED = "refused"  # this recipient refuses us by policy: retry later, then give up
    AMBIGUOUS = "ambiguous"  # may have been delivered: retry with the same Message-ID


@dataclass(frozen=True, slots=True)
class Reply:
    phase: Phase
    code: int | None  # None: no reply (refused, lost, timed out)
    message: str  # the server's text, or what went wrong when code is None

    @property
    def enhanced(self) -> str | None:
        """The RFC 3463 code at the start of the text ("5.1.1"), if there is one."""
        found = _ENHANCED.match(self.message.lstrip())
        return ".".join(found.groups()) if found else None

    def __str__(self) -> str:
        text = " ".join(self.message.split())  # multi-line replies on one line
        full = f"{self.code} {text}" if self.code is not None else f"{self.phase}: {text}"
        return full if len(full) <= MAX_REPLY_CHARS else full[: MAX_REPLY_CHARS - 1] + "…"


@dataclass(frozen=True, slots=True)
class Classification:
    verdict: Verdict
    slow_down: bool
    reason: str


def classify(reply: Reply) -> Classification:
    code = reply.code
    if code is None:
        if reply.phase is Phase.DATA:
            return _verdict(Verdict.AMBIGUOUS, "no reply after the message was sent")
        return _verdict(Verdict.DEFERRED, f"no reply at {reply.phase}")
    if 200 <= code < 300 and reply.phase is Phase.DATA:
        return _verdict(Verdict.SENT, "accepted")
    if 400 <= code < 500:
        return _temporary(code, _consistent_enhanced(reply))
    if 500 <= code < 600:
        return _permanent(reply, code, _consistent_enhanced(reply))
    return _verdict(Verdict.DEFERRED, f"unexpected reply {code} at {reply.phase}")


def _temporary(code: int, enhanced: tuple[int, int, int] | None) -> Classification:
    # 4.7.x is how large providers say "rate limited" (e.g. 421 4.7.28, 451 4.7.1).
    slow = code in _SLOW_DOWN_CODES or (enhanced is not None and enhanced[1] == 7)
    return Classification(Verdict.DEFERRED, slow, "temporary failure")


def _permanent(reply: Reply, code: int, enhanced: tuple[int, int, int] | None) -> Classification:
    subject = enhanced[1] if enhanced else None
    if code in _AUTH_CODES:
        return _verdict(Verdict.STOP, "authentication refused or required")
    if subject == 7:
        if reply.phase is Phase.RCPT:
            return _verdict(Verdict.REFUSED, "this recipient refuses our mail by policy")
        return _verdict(Verdict.STOP, "refused by policy")
    if enhanced is not None and enhanced[1:] in {(1, 7), (1, 8)}:
        return _verdict(Verdict.STOP, "our sender address is refused")
    if reply.phase is Phase.CONNECT:
        return _verdict(Verdict.STOP, "the server refuses the session")
    if code == 552 or subject in {2, 3}:
        return _verdict(Verdict.FAILED, "the message cannot be delivered (size or mailbox)")
    if reply.phase is Phase.MAIL:
        return _verdict(Verdict.STOP, "our sender is refused")
    if enhanced is not None and ".".join(map(str, enhanced)) in MAILBOX_GONE:
        return _verdict(Verdict.BOUNCED, "bad mailbox")
    if enhanced is None and reply.phase is Phase.RCPT and code in _MAILBOX_CODES:
        return _verdict(Verdict.BOUNCED, "mailbox refused")
    return _verdict(Verdict.FAILED, "permanent failure for this message")


def refusal_key(reply: Reply) -> str:
    """What one refusal has in common with the same refusal for another recipient."""
    words = _WORD.findall(_VARYING.sub(" ", reply.message.lower()))
    return f"{reply.code} {reply.enhanced} {' '.join(words)[:120]}"


def _consistent_enhanced(reply: Reply) -> tuple[int, int, int] | None:
    """The enhanced code as numbers, ignored when its class contradicts the basic code."""
    enhanced = reply.enhanced
    if enhanced is None or reply.code is None:
        return None
    klass, subject, detail = (int(part) for part in enhanced.split("."))
    return (klass, subject, detail) if klass == reply.code // 100 else None


def _verdict(verdict: Verdict, reason: str) -> Classification:
    return Classification(verdict, slow_down=False, reason=reason)
