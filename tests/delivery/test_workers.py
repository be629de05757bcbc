"""Scale-out on a real PostgreSQL: a scheduler queues 5,000 digests while two `newsletter
worker` processes share the outbox (FOR UPDATE SKIP LOCKED); one worker is SIGKILLed
mid-run and nobody is lost."""

from __future__ import annotations

import signal
import subprocess
import time
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from newsletter.db import outbox
from newsletter.db.papers import store_papers
from newsletter.pipeline.dispatch import dispatch
from newsletter.pipeline.queueing import DigestOptions
from tests.support.processes import newsletter_process, wait_for
from tests.support.queued import bulk_subscribers, topic_papers
from tests.support.smtp_server import Script, ScriptedSmtpServer

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
SUBSCRIBERS = 5000
CONNECTIONS_PER_WORKER = 2
OUTCOME_GROUP = 64  # the default: outcomes committed together (issue 15)
DAY = date(2026, 11, 27)
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)  # after everyone's 07:00 UTC send time
SUBSCRIBED = datetime(2026, 11, 27, 1, 0, tzinfo=UTC)


def worker(database_url: str, server: ScriptedSmtpServer, tmp: Path) -> subprocess.Popen[bytes]:
    return newsletter_process(
        "worker",
        database_url=database_url,
        server=server,
        cwd=tmp,
        connections=CONNECTIONS_PER_WORKER,
        send_batch_size="50",
        send_lease_seconds="5",
        worker_poll_seconds="0.2",
        log_level="WARNING",
        send_outcome_group=str(OUTCOME_GROUP),
    )


def sent_count(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return outbox.counts_by_state(session).get("sent", 0)


def test_two_workers_and_a_scheduler_deliver_everyone_once(
    migrated_postgres_url: str,
    pg_sessions: sessionmaker[Session],
    smtp_server: ScriptedSmtpServer,
    tmp_path: Path,
) -> None:
    sessions = pg_sessions
    papers = topic_papers(DAY)
    with sessions.begin() as session:
        store_papers(session, papers, now=NOW)
    emails = bulk_subscribers(
        sessions, SUBSCRIBERS, description="retrieval augmented generation", now=SUBSCRIBED
    )
    smtp_server.default = Script(delay=0.001)

    workers = [worker(migrated_postgres_url, smtp_server, tmp_path) for _ in range(2)]
    try:
        # The scheduler's dispatch queues in chunks while the workers already send.
        report = dispatch(
            sessions=sessions,
            now=NOW,
            default_timezone="UTC",
            options=DigestOptions(
                max_papers=5,
                quiet_day=False,
                new_message_id=lambda: f"<{time.time_ns()}@example.org>",
            ),
            embedder=None,
        )
        assert report.total == SUBSCRIBERS
        smtp_server.wait_until(
            lambda: smtp_server.recipients_reached >= SUBSCRIBERS // 3, timeout=120
        )
        workers[0].send_signal(signal.SIGKILL)
        workers[0].wait(timeout=30)
        # Woken by each mail, not by polling the outbox (that query competes with the
        # workers for the database); then the last outcomes are recorded.
        smtp_server.wait_until(lambda: smtp_server.recipients_reached == SUBSCRIBERS, timeout=240)
        wait_for(lambda: sent_count(sessions) == SUBSCRIBERS, timeout=60, interval=0.1)
    finally:
        for each in workers:
            each.send_signal(signal.SIGTERM)
        for each in workers:
            each.wait(timeout=30)
    assert workers[1].returncode == 0, workers[1].stdout.read() if workers[1].stdout else ""

    received = Counter(m.rcpt_tos[0] for m in smtp_server.accepted)
    assert set(received) == set(emails)  # nobody lost, though a worker died mid-run
    duplicates = sum(count - 1 for count in received.values())
    # Only the killed worker's in-flight mail and its outcomes not yet committed (before
    # issue 15 each outcome was committed alone and the bound was CONNECTIONS_PER_WORKER).
    assert duplicates <= CONNECTIONS_PER_WORKER + OUTCOME_GROUP
    assert smtp_server.max_concurrent > CONNECTIONS_PER_WORKER  # both workers were sending
    with sessions() as session:
        assert outbox.counts_by_state(session) == {"sent": SUBSCRIBERS}
