"""The APScheduler wiring: jobs persisted in the database, and the jobs' own work."""

from __future__ import annotations

import json
import logging
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Engine, inspect, select
from sqlalchemy.orm import Session, sessionmaker

from newsletter.config import Settings
from newsletter.db import outbox, subscribers
from newsletter.db.models import OutboxRow
from newsletter.db.papers import store_papers
from newsletter.domain import InterestProfile
from newsletter.logs import JsonFormatter
from newsletter.pipeline import scheduler
from tests.support.queued import topic_papers
from tests.support.smtp_server import ScriptedSmtpServer

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def seed(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        store_papers(session, topic_papers(date(2026, 11, 27)), now=NOW)
        subscribers.add_or_update(
            session,
            email="ada@example.org",
            profile=InterestProfile("retrieval augmented generation"),
            confirmed=True,
            now=NOW - timedelta(days=1),
        )


def test_start_persists_the_jobs_in_the_database(
    settings: Settings, sessions: sessionmaker[Session], engine: Engine
) -> None:
    seed(sessions)
    runtime = scheduler.Runtime(settings, sessions, clock=lambda: NOW)
    jobs = scheduler.start(runtime, engine=engine, paused=True)
    try:
        ids = {job.id for job in jobs.get_jobs()}
    finally:
        jobs.shutdown(wait=True)
    assert ids == {"fetch-arxiv", "fetch-hf", "dispatch", "send", "reclaim"}
    assert "apscheduler_jobs" in inspect(engine).get_table_names()
    # A second start (a restart) replaces the stored jobs instead of adding copies.
    jobs = scheduler.start(runtime, engine=engine, paused=True)
    try:
        assert len(jobs.get_jobs()) == len(ids)
    finally:
        jobs.shutdown(wait=True)


def test_a_new_empty_instance_fetches_at_once(
    settings: Settings, sessions: sessionmaker[Session], engine: Engine
) -> None:
    jobs = scheduler.start(scheduler.Runtime(settings, sessions), engine=engine, paused=True)
    try:
        first = jobs.get_job("fetch-first")
        assert first is not None
        # Every configured source; in dev, the sample day when that fails (test_sample.py).
        assert first.func is scheduler.first_fetch_job
        jobs.remove_job("fetch-first")  # not from a test: it would reach for the network
    finally:
        jobs.shutdown(wait=True)


def test_workers_mode_leaves_sending_to_them(
    settings: Settings, sessions: sessionmaker[Session], engine: Engine
) -> None:
    seed(sessions)  # papers already stored: no first fetch
    quiet = settings.model_copy(update={"scheduler_sends": False, "hf_daily_papers": False})
    jobs = scheduler.start(scheduler.Runtime(quiet, sessions), engine=engine, paused=True)
    try:
        assert {job.id for job in jobs.get_jobs()} == {"fetch-arxiv", "dispatch", "reclaim"}
    finally:
        jobs.shutdown(wait=True)


def test_dispatch_and_send_jobs_deliver_a_digest(
    settings: Settings, sessions: sessionmaker[Session], smtp_server: ScriptedSmtpServer
) -> None:
    seed(sessions)
    relay = settings.model_copy(
        update={
            "smtp_host": smtp_server.host,
            "smtp_port": smtp_server.port,
            "smtp_security": "none",
            "embedding_model": "",
        }
    )
    scheduler._runtime = scheduler.Runtime(relay, sessions, clock=lambda: NOW)
    try:
        scheduler.dispatch_job()
        scheduler.dispatch_job()  # a second tick queues nothing more
        with sessions() as session:
            assert outbox.counts_by_state(session) == {"queued": 1}
        scheduler.send_job()
        scheduler.reclaim_job()
    finally:
        scheduler._runtime = None
    assert [m.rcpt_tos for m in smtp_server.accepted] == [("ada@example.org",)]
    with sessions() as session:
        row = session.scalars(select(OutboxRow)).one()
    assert (row.state, row.digest_date) == ("sent", date(2026, 11, 27))


def test_json_log_lines_carry_the_event_fields() -> None:
    record = logging.LogRecord("newsletter.x", logging.INFO, __file__, 1, "sent %d", (3,), None)
    record.event = "send"
    record.sent = 3
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "sent 3"
    assert (line["level"], line["logger"], line["event"], line["sent"]) == (
        "info",
        "newsletter.x",
        "send",
        3,
    )
    assert line["time"].endswith("+00:00")
