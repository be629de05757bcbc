"""`newsletter worker`, `status` and `bounces ingest` end to end on real SQLite and SMTP."""

from __future__ import annotations

import mailbox
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from typer.testing import CliRunner

from newsletter.bounces.report import parse_report
from newsletter.cli.app import app
from newsletter.db import outbox, subscriber_rows, subscribers
from newsletter.db.models import BounceEventRow
from newsletter.domain import InterestProfile
from tests.conftest import DATA
from tests.support.cli_support import ok, sessions_for
from tests.support.queued import queue_digests, topic_papers
from tests.support.smtp_server import ScriptedSmtpServer

DAY = date(2026, 11, 27)
BOUNCES = DATA / "bounces"


def test_worker_once_drains_the_outbox(
    env: dict[str, str], smtp_server: ScriptedSmtpServer, tmp_path: Path
) -> None:
    sessions = sessions_for(env)
    queue_digests(
        sessions,
        ["ada@example.org", "bounce@example.org"],
        papers=topic_papers(DAY),
        day=DAY,
        now=datetime.now(UTC),
    )
    env |= {
        "NEWSLETTER_SMTP_HOST": smtp_server.host,
        "NEWSLETTER_SMTP_PORT": str(smtp_server.port),
        "NEWSLETTER_SMTP_SECURITY": "none",
    }
    heartbeat = tmp_path / "heartbeat"
    ok(env, "worker", "--once", "--heartbeat", str(heartbeat))
    assert heartbeat.exists()
    assert [m.rcpt_tos for m in smtp_server.accepted] == [("ada@example.org",)]
    with sessions() as session:
        assert outbox.counts_by_state(session) == {"sent": 1, "bounced": 1}

    status = ok(env, "status").stdout
    assert "outbox: bounced 1, sent 1" in status
    assert "suppressed addresses: 1 (bounced)" in status
    assert "550 5.1.1" in status  # the recent failure, with the server's reply
    assert str(DAY) in status


def test_status_on_an_empty_database(env: dict[str, str]) -> None:
    output = ok(env, "status").stdout
    assert "outbox: empty" in output
    assert "suppressed addresses: 0" in output


def fill_maildir(path: Path, names: list[str]) -> None:
    box = mailbox.Maildir(path, create=True)
    for name in names:
        box.add((BOUNCES / name).read_bytes())


def test_bounces_ingest_suppresses_hard_bounces_and_is_idempotent(
    env: dict[str, str], tmp_path: Path
) -> None:
    hard = parse_report((BOUNCES / "postfix_hard_5.1.1.eml").read_bytes())
    assert hard
    sessions = sessions_for(env)
    now = datetime.now(UTC) - timedelta(days=1)
    with sessions.begin() as session:
        for event in hard:
            subscribers.add_or_update(
                session, email=event.recipient, profile=InterestProfile("x"), confirmed=True,
                now=now,
            )  # fmt: skip
    fill_maildir(tmp_path / "bounces", ["postfix_hard_5.1.1.eml", "out_of_office.eml"])
    first = ok(env, "bounces", "ingest", "--maildir", str(tmp_path / "bounces")).stdout
    assert f"suppressed {hard[0].recipient}" in first
    again = ok(env, "bounces", "ingest", "--maildir", str(tmp_path / "bounces")).stdout
    assert "suppressed 0" in again
    assert "already recorded" in again
    with sessions() as session:
        row = subscriber_rows.find(session, hard[0].recipient)
        events = session.scalars(select(BounceEventRow)).all()
    assert row is not None
    assert row.status == "bounced"
    assert {e.kind for e in events} >= {"hard", "auto_reply"}
    assert all(e.action for e in events)  # every event recorded with what it led to


def test_bounces_ingest_needs_one_source(env: dict[str, str], tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["bounces", "ingest"], env=env)
    assert result.exit_code == 2
    result = CliRunner().invoke(
        app, ["bounces", "ingest", "--mbox", str(tmp_path / "missing")], env=env
    )
    assert result.exit_code == 2
