"""Bounce reports: each fixture classifies as its MTA meant; no input makes the parser raise."""

from __future__ import annotations

import logging
import mailbox
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from newsletter.bounces import report as bounces
from newsletter.bounces.report import (
    MAX_DIAGNOSTIC_CHARS,
    BounceKind,
    parse_report,
    read_maildir,
    read_mbox,
)
from newsletter.domain import BounceEvent

BOUNCES = Path(__file__).parents[1] / "data" / "bounces"
HARD, SOFT, DELAYED = BounceKind.HARD, BounceKind.SOFT, BounceKind.DELAYED
AUTO_REPLY, COMPLAINT, UNKNOWN = BounceKind.AUTO_REPLY, BounceKind.COMPLAINT, BounceKind.UNKNOWN

# file -> [(recipient, kind, status)] and the original Message-ID the report names.
EXPECTED: dict[str, tuple[list[tuple[str, BounceKind, str | None]], str | None]] = {
    "postfix_hard_5.1.1.eml": (
        [("j.doe@uni-example.edu", HARD, "5.1.1")],
        "<176431036012.4711.8823190945512309176.digest@digest.example.org>",
    ),
    "gmail_hard_5.1.1.eml": (
        [("no.such.user.4821@gmail.com", HARD, "5.1.1")],
        "<176431036012.4712.1183007345122906613.digest@digest.example.org>",
    ),
    "office365_5.1.10.eml": (
        [("a.researcher@contoso.com", HARD, "5.1.10")],
        "<176431036012.4713.6604412290518357713.digest@digest.example.org>",
    ),
    "postfix_delayed_4.4.1.eml": (
        [("m.slow@slow-lab.example.net", DELAYED, "4.4.1")],
        "<176431036012.4711.2290518357713660441.digest@digest.example.org>",
    ),
    "sendmail_mailbox_full_5.2.2.eml": ([("full.box@inst-example.net", SOFT, "5.2.2")], None),
    "postfix_failed_4.7.1_expired.eml": (
        [("greylist.victim@strict-example.org", SOFT, "4.7.1")],
        "<176431036012.4711.5183007345122906613.digest@digest.example.org>",
    ),
    "qmail_plain.eml": (
        [
            ("gone.user@qmail-example.net", HARD, "5.1.1"),
            ("old.postdoc@qmail-example.net", HARD, "5.1.1"),  # qmail's own "(#5.1.1)"
            ("busy@qmail-example.net", SOFT, "4.4.2"),
        ],
        "<176431036012.4714.4412290518357713660.digest@digest.example.org>",
    ),
    "exim_plain.eml": (
        [
            ("former.student@exim-example.org", HARD, "5.1.1"),
            ("someone@no-such-domain.example", UNKNOWN, None),  # "Unrouteable address"
        ],
        "<176431036012.4715.9055123091768823190.digest@digest.example.org>",
    ),
    "exim_delay_warning.eml": (
        [("slow.reader@exim-example.org", DELAYED, "4.7.1")],
        "<176431036012.4719.8823190945512309177.digest@digest.example.org>",
    ),
    "out_of_office.eml": (
        [("ada@lab-example.edu", AUTO_REPLY, None)],
        "<176431036012.4716.7713660441229051835.digest@digest.example.org>",
    ),
    "multi_recipient_mixed.eml": (
        [("left.the.group@inst-example.net", HARD, "5.1.1")],  # delivered + relayed: no event
        "<176431036012.4717.3190945512309176882.digest@digest.example.org>",
    ),
    "truncated_dsn.eml": (
        [
            ("first.gone@trunc-example.org", HARD, "5.1.1"),
            ("second.cut@trunc-example.org", UNKNOWN, None),  # cut off inside "Status: 5."
        ],
        None,
    ),
    "arf_complaint.eml": (
        [("annoyed.reader@hotmail.example", COMPLAINT, None)],
        "<176431036012.4718.0945512309176882319.digest@digest.example.org>",
    ),
    "human_reply.eml": ([], None),  # quotes a "550 5.1.1 <...>" line, but is no bounce
}


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def no_crash_logged() -> Iterator[None]:
    """parse_report never raises by design; this also fails when its safety net was needed."""
    handler = _Records()
    logger = logging.getLogger(bounces.__name__)
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
    assert handler.records == []


def parse(data: bytes) -> list[BounceEvent]:
    with no_crash_logged():
        events = parse_report(data)
    for event in events:
        assert event.recipient == event.recipient.lower()
        assert "@" in event.recipient
        assert "rfc822" not in event.recipient
        assert len(event.diagnostic) <= MAX_DIAGNOSTIC_CHARS
    return events


def fixture(name: str) -> bytes:
    return (BOUNCES / name).read_bytes()


def summary(events: list[BounceEvent]) -> list[tuple[str, BounceKind, str | None]]:
    return [(event.recipient, event.kind, event.status) for event in events]


def dsn(recipient_block: str, *, extra: str = "") -> bytes:
    """A minimal RFC 3464 report with one per-recipient block."""
    return (
        "From: MAILER-DAEMON@mx.example.org\n"
        "Subject: Undelivered Mail Returned to Sender\n"
        "Date: Fri, 28 Nov 2025 06:12:41 +0000\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\n\n'
        "--b\nContent-Type: text/plain\n\nYour message could not be delivered.\n\n"
        "--b\nContent-Type: message/delivery-status\n\n"
        f"Reporting-MTA: dns; mx.example.org\n\n{recipient_block}\n{extra}--b--\n"
    ).encode()


def plain(
    body: str, *, subject: str = "failure notice", sender: str = "MAILER-DAEMON@x.org"
) -> bytes:
    return f"From: {sender}\nSubject: {subject}\n\n{body}".encode()


def test_every_fixture_is_in_the_table() -> None:
    assert {path.name for path in BOUNCES.glob("*.eml")} == set(EXPECTED)
    assert (BOUNCES / "README.md").is_file()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_classification(name: str) -> None:
    assert summary(parse(fixture(name))) == EXPECTED[name][0]


@pytest.mark.parametrize("name", sorted(name for name, (events, _) in EXPECTED.items() if events))
def test_fixture_message_id(name: str) -> None:
    assert {event.message_id for event in parse(fixture(name))} == {EXPECTED[name][1]}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_line_endings_do_not_matter(name: str) -> None:
    lf = fixture(name).replace(b"\r\n", b"\n")
    assert parse(lf) == parse(lf.replace(b"\n", b"\r\n"))


def test_fixtures_cover_both_line_endings() -> None:
    crlf = [b"\r\n" in fixture(name) for name in EXPECTED]
    assert any(crlf)
    assert not all(crlf)


@pytest.mark.parametrize(
    ("name", "received_at"),
    [
        ("postfix_hard_5.1.1.eml", datetime(2025, 11, 28, 6, 12, 41, tzinfo=UTC)),
        ("gmail_hard_5.1.1.eml", datetime(2025, 11, 28, 14, 12, 44, tzinfo=UTC)),
        ("qmail_plain.eml", datetime(2025, 11, 28, 6, 14, 10, tzinfo=UTC)),  # "-0000": UTC
    ],
)
def test_received_at_is_the_report_date(name: str, received_at: datetime) -> None:
    for event in parse(fixture(name)):
        assert event.received_at == received_at
        assert event.received_at is not None
        assert event.received_at.tzinfo is not None


def test_gmail_tz_is_kept() -> None:
    when = parse(fixture("gmail_hard_5.1.1.eml"))[0].received_at
    assert when is not None
    assert when.tzinfo == timezone(timedelta(hours=-8))


def test_diagnostics_are_readable() -> None:
    gmail = parse(fixture("gmail_hard_5.1.1.eml"))[0].diagnostic
    assert gmail.startswith("550-5.1.1 The email account that you tried to reach does not exist.")
    assert gmail.count("5.1.1") == 1  # the code repeated on every reply line is dropped
    postfix = parse(fixture("postfix_hard_5.1.1.eml"))[0].diagnostic
    assert postfix == (
        "550 5.1.1 <j.doe@uni-example.edu>: Recipient address rejected: "
        "User unknown in local recipient table"
    )
    assert parse(fixture("truncated_dsn.eml"))[1].diagnostic == "Action: failed; Status: 5."


def test_long_diagnostic_is_clipped() -> None:
    block = "Final-Recipient: rfc822; a@example.org\nAction: failed\nStatus: 5.7.1\n"
    [event] = parse(dsn(block + f"Diagnostic-Code: smtp; 554 5.7.1 {'blocked ' * 400}\n"))
    assert len(event.diagnostic) == MAX_DIAGNOSTIC_CHARS
    assert event.diagnostic.endswith("…")


@pytest.mark.parametrize(
    ("action", "status", "diagnostic", "expected"),
    [
        ("failed", "5.1.1", "", (HARD, "5.1.1")),
        ("failed", "5.1.2", "", (HARD, "5.1.2")),
        ("failed", "5.1.3", "", (HARD, "5.1.3")),
        ("failed", "5.1.6", "", (HARD, "5.1.6")),
        ("failed", "5.1.10", "", (HARD, "5.1.10")),
        ("failed", "5.4.4", "", (HARD, "5.4.4")),
        ("failed", "5.01.01", "", (HARD, "5.1.1")),
        ("Failed (permanent)", "5.1.1 (bad destination mailbox)", "", (HARD, "5.1.1")),
        ("failed", "5.1.0", "", (SOFT, "5.1.0")),  # unspecific: Exchange's "sender denied"
        ("failed", "5.1.7", "", (SOFT, "5.1.7")),  # our sender's address, not theirs
        ("failed", "5.2.1", "", (SOFT, "5.2.1")),
        ("failed", "5.2.2", "", (SOFT, "5.2.2")),
        ("failed", "5.7.1", "", (SOFT, "5.7.1")),
        ("failed", "5.0.0", "", (SOFT, "5.0.0")),
        ("failed", "4.4.7", "", (SOFT, "4.4.7")),
        # x.0.0 is refined by a precise code of the same class in the diagnostic.
        ("failed", "5.0.0", "smtp; 550 5.1.1 user unknown", (HARD, "5.1.1")),
        ("failed", "5.0.0", "smtp; 450 4.1.1 try later", (SOFT, "5.0.0")),
        ("failed", "5.7.1", "smtp; 550 5.1.1 user unknown", (SOFT, "5.7.1")),
        ("failed", "", "smtp; 550 5.1.1 user unknown", (HARD, "5.1.1")),
        ("failed", "", "smtp; 550 user unknown", (UNKNOWN, None)),
        ("failed", "2.0.0", "", (UNKNOWN, "2.0.0")),
        ("failed", "garbage", "", (UNKNOWN, None)),
        ("delayed", "4.4.1", "", (DELAYED, "4.4.1")),
        ("delayed", "", "", (DELAYED, None)),
        ("", "5.1.1", "", (UNKNOWN, "5.1.1")),  # no Action: never HARD on a guess
        ("delivered", "2.0.0", "", None),
        ("relayed", "2.0.0", "", None),
        ("expanded", "2.0.0", "", None),
        ("", "2.0.0", "", None),
    ],
)
def test_dsn_action_and_status(
    action: str, status: str, diagnostic: str, expected: tuple[BounceKind, str | None] | None
) -> None:
    block = "Final-Recipient: rfc822; someone@example.org\n"
    block += f"Action: {action}\n" if action else ""
    block += f"Status: {status}\n" if status else ""
    block += f"Diagnostic-Code: {diagnostic}\n" if diagnostic else ""
    events = parse(dsn(block))
    assert [(event.kind, event.status) for event in events] == ([expected] if expected else [])


@pytest.mark.parametrize(
    ("block", "recipient"),
    [
        ("Final-Recipient: RFC822; <Some.One@Example.ORG>\n", "some.one@example.org"),
        # Original-Recipient is the address we sent to; Final-Recipient when it is unusable.
        ("Final-Recipient: rfc822;x@a.org\nOriginal-Recipient: rfc822;Y@a.org\n", "y@a.org"),
        ("Final-Recipient: rfc822; b@a.org\nOriginal-Recipient: rfc822; b-at-a\n", "b@a.org"),
        ("Final-Recipient: utf-8; forscher@bücher.example\n", "forscher@xn--bcher-kva.example"),
        ("Final-Recipient: x-local; someone\n", None),
        ("Final-Recipient:\n", None),
    ],
)
def test_dsn_recipient(block: str, recipient: str | None) -> None:
    events = parse(dsn(block + "Action: failed\nStatus: 5.1.1\n"))
    assert [event.recipient for event in events] == ([recipient] if recipient else [])


def test_dsn_lists_each_recipient_once() -> None:
    block = "Final-Recipient: rfc822; a@example.org\nAction: failed\nStatus: 5.1.1\n"
    again = "\nFinal-Recipient: rfc822; A@example.org\nAction: delayed\nStatus: 4.4.1\n"
    assert summary(parse(dsn(block, extra=again))) == [("a@example.org", HARD, "5.1.1")]


def test_success_dsn_is_no_event() -> None:
    block = "Final-Recipient: rfc822; a@example.org\nAction: delivered\nStatus: 2.0.0\n"
    assert parse(dsn(block)) == []


def test_dsn_without_recipients_falls_back_to_the_text() -> None:
    body = "<gone@example.org>: host said: 550 5.1.1 no such user\n"
    data = dsn("Action: failed\n").replace(b"Your message could not be delivered.", body.encode())
    assert summary(parse(data)) == [("gone@example.org", HARD, "5.1.1")]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # Postfix-style line, no enhanced code: a failure, but of unknown kind.
        ("<a@example.org>: host mx said: 550 Unknown user\n", [("a@example.org", UNKNOWN, None)]),
        # Basic and enhanced classes disagree: not trusted.
        ("<a@example.org>:\nRemote host said: 450 5.1.1 odd\n", [("a@example.org", UNKNOWN, None)]),
        # No paragraph structure, but an SMTP reply naming the address.
        (
            "Delivery failed.\nIt said: 550 5.1.1 <a@example.org>: Recipient address rejected\n",
            [("a@example.org", HARD, "5.1.1")],
        ),
        ("Remote said: 550 5.1.8 <us@digest.example.org>: Sender address rejected\n", []),
        ("Something went wrong, but nobody says with what.\n", []),
    ],
)
def test_plain_text_bounces_are_conservative(
    body: str, expected: list[tuple[str, BounceKind, str | None]]
) -> None:
    assert summary(parse(plain(body))) == expected


def test_plain_text_bounce_needs_a_bounce_sign() -> None:
    body = "<a@example.org>:\nRemote host said: 550 5.1.1 no such user\n"
    assert parse(plain(body, subject="hello", sender="person@example.org")) == []
    for subject in ("Undeliverable: hello", "Mail delivery failed: returning message to sender"):
        assert summary(parse(plain(body, subject=subject, sender="person@example.org"))) == [
            ("a@example.org", HARD, "5.1.1")
        ]
    headers = b"X-Failed-Recipients: b@example.org\n"
    assert summary(parse(headers + plain("Unrouteable address\n", sender="p@example.org"))) == [
        ("b@example.org", UNKNOWN, None)
    ]


@pytest.mark.parametrize(
    "header",
    [
        "Auto-Submitted: auto-replied (vacation)",
        "X-Autoreply: yes",
        "X-Autorespond: Out of office",
        "Precedence: auto_reply",
        "Subject: Out of Office: back on Monday",
        "Subject: Automatic reply: your digest",
        "Subject: =?utf-8?q?Abwesenheitsnotiz=3A_Ihr_Digest?=",
    ],
)
def test_auto_reply_signs(header: str) -> None:
    data = f"From: Some One <Some.One@Example.org>\n{header}\n\nI am away.\n".encode()
    [event] = parse(data)
    assert (event.recipient, event.kind, event.status) == ("some.one@example.org", AUTO_REPLY, None)


@pytest.mark.parametrize(
    "header",
    [
        "Auto-Submitted: no",
        "Auto-Submitted: auto-generated",
        "X-Autoreply: no",
        "Precedence: bulk",
        "Subject: Re: out of office hours",
    ],
)
def test_not_auto_replies(header: str) -> None:
    assert parse(f"From: a@example.org\n{header}\n\nHello.\n".encode()) == []


def test_a_bounce_is_never_an_auto_reply() -> None:
    data = b"Auto-Submitted: auto-replied\n" + plain("We could not deliver it. Sorry.\n")
    assert parse(data) == []


def test_auto_reply_without_a_sender_address_is_no_event() -> None:
    assert parse(b"From: nobody\nAuto-Submitted: auto-replied\n\nAway.\n") == []


def arf(feedback_type: str, rcpt_to: str, original_to: str) -> bytes:
    return (
        "From: fbl@isp.example\nSubject: complaint\n"
        'Content-Type: multipart/report; report-type=feedback-report; boundary="b"\n\n'
        "--b\nContent-Type: text/plain\n\nA complaint.\n\n"
        "--b\nContent-Type: message/feedback-report\n\n"
        f"Feedback-Type: {feedback_type}\nVersion: 1\n{rcpt_to}\n"
        "--b\nContent-Type: text/rfc822-headers\n\n"
        f"From: digest@digest.example.org\n{original_to}Message-ID: <1.2@digest.example.org>\n\n"
        "--b--\n"
    ).encode()


def test_arf_without_original_rcpt_to_uses_the_original_to() -> None:
    [event] = parse(arf("abuse", "", "To: Reader@ISP.example\n"))
    assert (event.recipient, event.kind) == ("reader@isp.example", COMPLAINT)
    assert event.message_id == "<1.2@digest.example.org>"


@pytest.mark.parametrize(
    ("feedback_type", "rcpt_to", "original_to"),
    [
        ("not-spam", "Original-Rcpt-To: a@isp.example", ""),
        ("auth-failure", "Original-Rcpt-To: a@isp.example", ""),
        ("abuse", "", ""),  # redacted: nobody to act on
        ("abuse", "", "To: a@isp.example, b@isp.example\n"),  # which of the two complained?
    ],
)
def test_arf_without_a_complaint_or_a_recipient(
    feedback_type: str, rcpt_to: str, original_to: str
) -> None:
    assert parse(arf(feedback_type, rcpt_to, original_to)) == []


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\n\n\n",
        b"\x00\xff\xfe" * 200,
        b"not an email at all",
        b"Content-Type: multipart/report; report-type=delivery-status\n\n",  # no boundary
        b"Content-Type: message/delivery-status\nContent-Transfer-Encoding: base64\n\n!!!",
        b"Subject: =?x-unknown?b?!!!?=\nFrom: =?utf-8?q?=ff?= <\n\n",
        b"Date: Mon, 99 Foo 99999 99:99:99 +9999\nX-Autoreply: yes\nFrom: a@b.example\n\n",
    ],
)
def test_garbage_is_no_event(data: bytes) -> None:
    events = parse(data)
    assert all(event.kind == AUTO_REPLY and event.received_at is None for event in events)


def test_safety_net_returns_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(data: bytes, **_: object) -> None:
        raise RecursionError("deeply nested parts")

    monkeypatch.setattr(bounces, "message_from_bytes", broken)
    assert parse_report(fixture("postfix_hard_5.1.1.eml")) == []


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=2000))
def test_random_bytes_never_raise(data: bytes) -> None:
    parse(data)


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(sorted(EXPECTED)),
    st.floats(0, 1),
    st.floats(0, 1),
    st.binary(max_size=40),
)
# Found by hypothesis: a byte inside an encoded word's charset name ("=?ut\x80f-8?q?...")
# made the email package raise CharsetError, which decoded() did not catch.
@example(name="out_of_office.eml", cut=0.2890625, resume=0.2890625, junk=b"\x80")
def test_damaged_fixtures_never_raise(name: str, cut: float, resume: float, junk: bytes) -> None:
    data = fixture(name)
    parse(data[: int(len(data) * cut)] + junk + data[int(len(data) * resume) :])


def build_maildir(path: Path) -> dict[str, bytes]:
    box = mailbox.Maildir(path, create=True)
    added = {box.add(fixture(name)): fixture(name) for name in sorted(EXPECTED)}
    # Half of them as a mail client leaves them: seen, moved to cur/ with flags.
    for key in sorted(added)[::2]:
        os.rename(path / "new" / key, path / "cur" / f"{key}:2,S")
    return added


def test_read_maildir_finds_new_and_cur(tmp_path: Path) -> None:
    added = build_maildir(tmp_path / "bounces")
    assert os.listdir(tmp_path / "bounces" / "cur")
    assert os.listdir(tmp_path / "bounces" / "new")
    assert dict(read_maildir(tmp_path / "bounces")) == added


def test_read_mbox_finds_every_message(tmp_path: Path) -> None:
    path = tmp_path / "bounces.mbox"
    box = mailbox.mbox(path)
    for name in sorted(EXPECTED):
        box.add(fixture(name))
    box.close()
    found = [data for _, data in read_mbox(path)]
    assert len(found) == len(EXPECTED)
    assert [parse(data) for data in found] == [parse(fixture(name)) for name in sorted(EXPECTED)]


def test_missing_mailboxes_raise(tmp_path: Path) -> None:
    with pytest.raises(mailbox.NoSuchMailboxError):
        list(read_maildir(tmp_path / "nope"))
    with pytest.raises(mailbox.NoSuchMailboxError):
        list(read_mbox(tmp_path / "nope.mbox"))


def test_overlong_message_id_and_address_are_dropped() -> None:
    block = "Final-Recipient: rfc822; a@example.org\nAction: failed\nStatus: 5.1.1\n"
    for local, expected in (("x" * 200, True), ("x" * 250, False)):
        headers = f"text/rfc822-headers\n\nMessage-ID: <{local}@example.org>\n\n"
        [event] = parse(dsn(block, extra=f"--b\nContent-Type: {headers}"))
        # Over 255 characters it would not fit a Message-ID column, and is not ours anyway.
        assert (event.message_id == f"<{local}@example.org>") is expected
    long_local = "x" * 250
    block = f"Final-Recipient: rfc822; {long_local}@example.org\nAction: failed\nStatus: 5.1.1\n"
    assert parse(dsn(block)) == []
