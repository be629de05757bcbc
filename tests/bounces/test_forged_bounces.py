"""Forged bounce reports change nothing: the six forgeries of the attack run, end to end.

Each report below took an active subscriber off the list before reports had to prove they
are about mail the service sent (issue 14, finding 1). They are written as an attacker can:
to the plain bounce address, naming the victim, with no VERP token and no Message-ID the
service recorded. `newsletter bounces ingest` must keep each one as `unverified` and leave
the subscriber active.
"""

from __future__ import annotations

import mailbox
import shutil
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from newsletter.db import subscriber_rows
from newsletter.db.models import BounceEventRow
from tests.support.cli_support import ok, sessions_for
from tests.support.queued import queue_digests, topic_papers

DAY = date(2026, 11, 27)
VICTIM = "victim@example.org"
HEAD = (
    "Return-Path: <>\n"
    "Delivered-To: bounces@example.org\n"
    "To: bounces@example.org\n"
    "Date: Fri, 27 Nov 2026 06:12:41 +0000\n"
)


@pytest.fixture
def env(tmp_path: Path, sqlite_template: Path) -> dict[str, str]:
    database = tmp_path / "forged.db"
    shutil.copyfile(sqlite_template, database)  # migrated, as sessions_for expects
    return {
        "NEWSLETTER_DATABASE_URL": f"sqlite:///{database}",
        "NEWSLETTER_EMBEDDING_MODEL": "",
        "NEWSLETTER_MAIL_FROM": "Paper digest <digest@example.org>",
        "NEWSLETTER_LOG_LEVEL": "WARNING",
        "COLUMNS": "200",
    }


def dsn(block: str, *, original: str = "") -> str:
    return (
        f"{HEAD}From: MAILER-DAEMON@mx.attacker.example (Mail Delivery System)\n"
        "Subject: Undelivered Mail Returned to Sender\n"
        "MIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\n\n'
        "--b\nContent-Type: text/plain\n\nYour message could not be delivered.\n\n"
        "--b\nContent-Type: message/delivery-status\n\n"
        f"Reporting-MTA: dns; mx.attacker.example\n\n{block}\n{original}--b--\n"
    )


def failed(status: str, code: str = "550") -> str:
    return (
        f"Final-Recipient: rfc822; {VICTIM}\nOriginal-Recipient: rfc822;{VICTIM}\n"
        f"Action: failed\nStatus: {status}\n"
        f"Diagnostic-Code: smtp; {code} {status} mailbox problem\n"
    )


def no_message_id() -> list[str]:
    return [dsn(failed("5.1.1"))]


def unknown_message_id() -> list[str]:
    headers = (
        "--b\nContent-Type: text/rfc822-headers\n\n"
        f"From: digest@example.org\nTo: {VICTIM}\n"
        "Message-ID: <176431036012.4711.1234567890.digest@example.org>\n\n"
    )
    return [dsn(failed("5.1.1"), original=headers)]


def postfix_plain_text() -> list[str]:
    return [
        f"{HEAD}From: MAILER-DAEMON@mx.attacker.example (Mail Delivery System)\n"
        "Subject: Undelivered Mail Returned to Sender\n\n"
        "This is the mail system at host mx.attacker.example.\n\n"
        "I'm sorry to have to inform you that your message could not\n"
        "be delivered to one or more recipients.\n\n"
        f"<{VICTIM}>: host mx.example.org[192.0.2.1] said: 550 5.1.1 <{VICTIM}>:\n"
        "    Recipient address rejected: User unknown (in reply to RCPT TO command)\n"
    ]


def arf_complaint() -> list[str]:
    return [
        "To: <fbl@example.org>\nFrom: <staff@hotmail.example>\nSubject: complaint about message\n"
        "Date: Fri, 27 Nov 2026 06:12:41 +0000\nMIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=feedback-report; boundary="b"\n\n'
        "--b\nContent-Type: text/plain\n\nThis is an email abuse report.\n\n"
        "--b\nContent-Type: message/feedback-report\n\n"
        f"Feedback-Type: abuse\nUser-Agent: SomeGenerator/1.0\nVersion: 1\n"
        f"Original-Rcpt-To: <{VICTIM}>\n\n"
        "--b\nContent-Type: text/rfc822-headers\n\n"
        f"From: digest@example.org\nTo: {VICTIM}\nMessage-ID: <forged.1@example.org>\n\n"
        "--b--\n"
    ]


def three_mailbox_full() -> list[str]:
    return [dsn(failed("5.2.2", "552")).replace("06:12:41", f"0{n}:00:00") for n in range(3)]


def huge_header() -> list[str]:
    filler = "\n ".join("x" * 70 for _ in range(2_000_000 // 72))
    return [
        f"{HEAD}From: MAILER-DAEMON@mx.attacker.example\nSubject: failure notice\n"
        f"X-Padding: {filler}\n 550 5.1.1 <{VICTIM}> no such user\n\n"
        f"550 5.1.1 <{VICTIM}> no such user\n"
    ]


FORGERIES: dict[str, Callable[[], list[str]]] = {
    "DSN 5.1.1 without a Message-ID": no_message_id,
    "DSN quoting a Message-ID never sent": unknown_message_id,
    "Postfix-style plain-text bounce": postfix_plain_text,
    "ARF complaint": arf_complaint,
    "three 5.2.2 reports for one address": three_mailbox_full,
    "2 MB header with a 550 5.1.1 line": huge_header,
}


def victim_with_a_digest(env: dict[str, str]) -> sessionmaker[Session]:
    """An active subscriber whose digest went out (so recorded Message-IDs exist)."""
    sessions = sessions_for(env)
    now = datetime.now(UTC)
    queue_digests(sessions, [VICTIM], papers=topic_papers(DAY), day=DAY, now=now)
    return sessions


def ingest(env: dict[str, str], path: Path, reports: list[str]) -> str:
    box = mailbox.Maildir(path, create=True)
    for report in reports:
        box.add(report.encode())
    return str(ok(env, "bounces", "ingest", "--maildir", str(path)).stdout)


@pytest.mark.parametrize("forgery", sorted(FORGERIES))
def test_a_forged_report_changes_nothing(env: dict[str, str], tmp_path: Path, forgery: str) -> None:
    sessions = victim_with_a_digest(env)
    reports = FORGERIES[forgery]()
    output = ingest(env, tmp_path / "bounces", reports)
    with sessions() as session:
        row = subscriber_rows.find(session, VICTIM)
        assert row is not None
        assert row.status == "active", output
        events = session.scalars(select(BounceEventRow)).all()
    assert events, "every report is kept, to be looked at"
    assert {event.action for event in events} == {"unverified"}
    assert "suppressed 0" in output
    assert "unsubscribed 0" in output


def test_a_long_report_records_a_bounded_number_of_events(
    env: dict[str, str], tmp_path: Path
) -> None:
    # ~318 KB of "550 5.1.1 <address>" lines made 5,000 event rows from one report.
    lines = "".join(
        f"550 5.1.1 <reader{n:04d}@example.org> user unknown here\n" for n in range(6_000)
    )
    report = f"{HEAD}From: MAILER-DAEMON@mx.attacker.example\nSubject: failure notice\n\n{lines}"
    assert len(report) > 300_000
    sessions = victim_with_a_digest(env)
    ingest(env, tmp_path / "bounces", [report])
    with sessions() as session:
        recorded = len(session.scalars(select(BounceEventRow.id)).all())
    assert 1 <= recorded <= 10
