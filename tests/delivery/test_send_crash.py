"""A `newsletter send` killed with SIGKILL mid-run loses nobody and duplicates at most the
messages that were in flight and one group of outcomes not yet committed (listmonk's issue
#3022 is the failure this guards against)."""

from __future__ import annotations

import signal
import subprocess
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from newsletter.db import outbox
from tests.support.factories import arxiv_paper
from tests.support.processes import newsletter_process
from tests.support.queued import queue_digests
from tests.support.smtp_server import Script, ScriptedSmtpServer

pytestmark = pytest.mark.slow  # two `newsletter send` processes, 2,000 digests

RECIPIENTS = 2000
KILL_AFTER = 300
CONCURRENCY = 4
OUTCOME_GROUP = 64  # the default: outcomes committed together (issue 15)
DAY = date(2026, 11, 27)


def send_process(
    database_url: str, server: ScriptedSmtpServer, tmp: Path
) -> subprocess.Popen[bytes]:
    return newsletter_process(
        "send",
        database_url=database_url,
        server=server,
        cwd=tmp,
        connections=CONCURRENCY,
        send_outcome_group=str(OUTCOME_GROUP),
    )


def test_killed_sender_resumes_without_losing_or_flooding_anyone(
    sqlite_url: str,
    sessions: sessionmaker[Session],
    smtp_server: ScriptedSmtpServer,
    tmp_path: Path,
) -> None:
    addresses = [f"reader{n}@example.org" for n in range(RECIPIENTS)]
    papers = [arxiv_paper(f"2611.{n:05d}", title=f"Paper {n}", announced_on=DAY) for n in range(5)]
    queue_digests(sessions, addresses, papers=papers, day=DAY, now=datetime.now(UTC))
    smtp_server.default = Script(delay=0.002)  # a relay that takes a moment per message

    first = send_process(sqlite_url, smtp_server, tmp_path)
    try:
        smtp_server.wait_until(
            lambda: smtp_server.recipients_reached >= KILL_AFTER or first.poll() is not None,
            timeout=120,
        )
        first.send_signal(signal.SIGKILL)
    finally:
        first.wait(timeout=30)
    assert first.returncode == -signal.SIGKILL, first.stdout.read() if first.stdout else ""
    delivered_before_restart = len(smtp_server.accepted)
    assert KILL_AFTER <= delivered_before_restart < RECIPIENTS

    second = send_process(sqlite_url, smtp_server, tmp_path)
    output, _ = second.communicate(timeout=300)
    assert second.returncode == 0, output.decode()

    received = Counter(m.rcpt_tos[0] for m in smtp_server.accepted)
    assert set(received) == set(addresses)  # nobody is missing
    duplicates = sum(count - 1 for count in received.values())
    # Only what was in flight, and outcomes not yet committed, went out twice. (Before issue 15
    # each outcome was committed alone and the bound was CONCURRENCY.)
    assert duplicates <= CONCURRENCY + OUTCOME_GROUP
    with sessions() as session:
        assert outbox.counts_by_state(session) == {"sent": RECIPIENTS}
    # A duplicate repeats the Message-ID, so the receiving side can drop it.
    ids: dict[str, set[bytes]] = {m.rcpt_tos[0]: set() for m in smtp_server.accepted}
    for message in smtp_server.accepted:
        header = next(
            line for line in message.data.split(b"\r\n") if line.lower().startswith(b"message-id:")
        )
        ids[message.rcpt_tos[0]].add(header)
    assert all(len(found) == 1 for found in ids.values())
