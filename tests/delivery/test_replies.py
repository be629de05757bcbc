"""What each SMTP reply means for a message: the table in replies.py, row by row."""

from __future__ import annotations

import pytest

from newsletter.delivery.replies import (
    MAX_REPLY_CHARS,
    Phase,
    Reply,
    Verdict,
    classify,
    refusal_key,
)

CONNECT, MAIL, RCPT, DATA = Phase.CONNECT, Phase.MAIL, Phase.RCPT, Phase.DATA


@pytest.mark.parametrize(
    ("phase", "code", "message", "verdict", "slow_down"),
    [
        # No reply: ambiguous only once the message may have arrived.
        (DATA, None, "connection lost: Unexpected EOF received", Verdict.AMBIGUOUS, False),
        (DATA, None, "timed out: Timed out waiting for server response", Verdict.AMBIGUOUS, False),
        (RCPT, None, "connection lost", Verdict.DEFERRED, False),
        (MAIL, None, "timed out", Verdict.DEFERRED, False),
        (CONNECT, None, "cannot connect: Connection refused", Verdict.DEFERRED, False),
        # Success is a 2xx to the message itself.
        (DATA, 250, "2.0.0 Ok: queued as 4F2C", Verdict.SENT, False),
        (DATA, 251, "User not local; will forward", Verdict.SENT, False),
        (RCPT, 250, "2.1.5 Ok", Verdict.DEFERRED, False),
        (DATA, 354, "End data with <CR><LF>.<CR><LF>", Verdict.DEFERRED, False),
        (DATA, 620, "nonsense", Verdict.DEFERRED, False),
        # Temporary; some of them ask us to slow down.
        (RCPT, 451, "4.3.0 Temporary local problem", Verdict.DEFERRED, False),
        (DATA, 452, "4.3.1 Insufficient system storage", Verdict.DEFERRED, False),
        (RCPT, 421, "4.7.0 Too many messages", Verdict.DEFERRED, True),
        (CONNECT, 421, "Service not available", Verdict.DEFERRED, True),
        (RCPT, 450, "4.2.0 Greylisted", Verdict.DEFERRED, True),
        (CONNECT, 454, "4.7.0 TLS not available", Verdict.DEFERRED, True),
        (DATA, 451, "4.7.1 Rate limited, try later", Verdict.DEFERRED, True),
        # Bad mailbox: suppress the address.
        (RCPT, 550, "5.1.1 No such user", Verdict.BOUNCED, False),
        (RCPT, 550, "5.1.10 Recipient address rejected: null MX", Verdict.BOUNCED, False),
        (DATA, 550, "5.1.1 The email account does not exist", Verdict.BOUNCED, False),
        (RCPT, 550, "5.4.4 Unable to route: no such domain", Verdict.BOUNCED, False),
        (RCPT, 550, "5.1.0 Address rejected", Verdict.FAILED, False),
        (RCPT, 550, "5.1.4 Ambiguous destination mailbox", Verdict.FAILED, False),
        (RCPT, 553, "5.1.3 Bad recipient address syntax", Verdict.BOUNCED, False),
        (RCPT, 550, "No such user here", Verdict.BOUNCED, False),
        (RCPT, 551, "User not local", Verdict.BOUNCED, False),
        (RCPT, 553, "Mailbox name not allowed", Verdict.BOUNCED, False),
        # One recipient refuses us by policy: that row waits (issue 14), the run goes on.
        (RCPT, 550, "5.7.1 Relaying denied", Verdict.REFUSED, False),
        (RCPT, 554, "5.7.1 <bob@example.org>: Recipient address rejected", Verdict.REFUSED, False),
        (RCPT, 550, "5.7.606 Access denied, banned sending IP", Verdict.REFUSED, False),
        # Our side is refused: stop the run, blame no recipient.
        (MAIL, 550, "5.7.1 Sender blocked", Verdict.STOP, False),
        (CONNECT, 554, "5.7.1 Client host rejected", Verdict.STOP, False),
        (DATA, 554, "5.7.1 Message rejected as spam", Verdict.STOP, False),
        (DATA, 550, "5.7.26 Unauthenticated email is not accepted", Verdict.STOP, False),
        (MAIL, 530, "Authentication required", Verdict.STOP, False),
        (CONNECT, 535, "Authentication credentials invalid", Verdict.STOP, False),
        (CONNECT, 534, "Authentication mechanism is too weak", Verdict.STOP, False),
        (CONNECT, 538, "Encryption required", Verdict.STOP, False),
        (RCPT, 530, "Must issue a STARTTLS command first", Verdict.STOP, False),
        (MAIL, 550, "Sender rejected", Verdict.STOP, False),
        (MAIL, 553, "5.1.8 Sender domain does not exist", Verdict.STOP, False),
        (RCPT, 553, "5.1.8 Sender address rejected: domain not found", Verdict.STOP, False),
        (RCPT, 550, "5.1.7 Bad sender mailbox syntax", Verdict.STOP, False),
        (CONNECT, 554, "No SMTP service here", Verdict.STOP, False),
        (CONNECT, 550, "5.5.0 EHLO refused", Verdict.STOP, False),
        # Permanent for this message only.
        (RCPT, 552, "5.2.2 Mailbox full", Verdict.FAILED, False),
        (RCPT, 550, "5.2.1 Mailbox disabled", Verdict.FAILED, False),
        (DATA, 552, "5.3.4 Message too big for system", Verdict.FAILED, False),
        (
            MAIL,
            552,
            "Error: message size exceeds fixed maximum message size",
            Verdict.FAILED,
            False,
        ),
        (MAIL, 552, "5.3.4 Message size exceeds fixed limit", Verdict.FAILED, False),
        (DATA, 554, "Transaction failed", Verdict.FAILED, False),
        (DATA, 550, "5.6.0 Bad content", Verdict.FAILED, False),
        (RCPT, 553, "5.6.7 non-ASCII address; the server lacks SMTPUTF8", Verdict.FAILED, False),
        (RCPT, 554, "Transaction failed", Verdict.FAILED, False),
        (DATA, 550, "Rejected", Verdict.FAILED, False),
        # An enhanced code whose class contradicts the basic code is ignored.
        (RCPT, 550, "4.1.1 confused server", Verdict.BOUNCED, False),
        (RCPT, 451, "5.7.1 confused server", Verdict.DEFERRED, False),
    ],
)
def test_classify(
    phase: Phase, code: int | None, message: str, verdict: Verdict, slow_down: bool
) -> None:
    result = classify(Reply(phase, code, message))
    assert (result.verdict, result.slow_down) == (verdict, slow_down)
    assert result.reason


@pytest.mark.parametrize(
    ("message", "enhanced"),
    [
        ("5.1.1 No such user", "5.1.1"),
        ("  4.7.28 rate limited", "4.7.28"),
        ("2.0.0 Ok: queued", "2.0.0"),
        ("5.7.1\nsecond line", "5.7.1"),
        ("No such user 5.1.1", None),
        ("5.1 incomplete", None),
        ("3.1.1 wrong class", None),
        ("5.1.1.1 too long", None),
        ("5.1.1000 detail too long", None),
        ("", None),
    ],
)
def test_enhanced_code_is_read_from_the_start(message: str, enhanced: str | None) -> None:
    assert Reply(RCPT, 550, message).enhanced == enhanced


def test_str_is_the_reply_line_or_what_went_wrong() -> None:
    assert str(Reply(DATA, 250, "2.0.0 Ok: queued")) == "250 2.0.0 Ok: queued"
    assert str(Reply(DATA, None, "connection lost: EOF")) == "data: connection lost: EOF"
    assert str(Reply(CONNECT, 250, "mx.example\nPIPELINING\nSIZE 1000")) == (
        "250 mx.example PIPELINING SIZE 1000"
    )


def test_str_is_bounded() -> None:
    text = str(Reply(RCPT, 550, "5.1.1 " + "x" * 2000))
    assert len(text) == MAX_REPLY_CHARS
    assert text.startswith("550 5.1.1 xxx")
    assert text.endswith("…")


def test_refusals_alike_differ_only_in_the_address_and_numbers() -> None:
    def key(message: str) -> str:
        return refusal_key(Reply(RCPT, 554, message))

    first = key("5.7.1 <ada@example.org>: Relay access denied (id 4F2C81)")
    assert first == key("5.7.1 <alan@example.net>: Relay access denied (id 99A0)")
    assert first == key("5.7.1 grace@example.com: relay access denied (id 7)")
    assert first != key("5.7.1 <ada@example.org>: Recipient address rejected")
    assert first != refusal_key(Reply(RCPT, 550, "5.7.1 <ada@example.org>: Relay access denied"))
