"""`newsletter worker`, `status` and `bounces ingest` end to end on real SQLite and SMTP."""

from __future__ import annotations

import fcntl
import mailbox
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from typer.testing import CliRunner

from newsletter.bounces.report import parse_report
from newsletter.cli.app import app
from newsletter.db import outbox, subscriber_rows, subscribers
from newsletter.db.models import BounceEventRow
from newsletter.db.papers import store_papers
from newsletter.domain import InterestProfile
from tests.conftest import DATA
from tests.support import cli_support
from tests.support.cli_support import ok, sessions_for
from tests.support.queued import bulk_subscribers, queue_digests, topic_papers
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
    once = ok(env, "worker", "--once", "--heartbeat", str(heartbeat))
    assert once.stdout.strip() == "sent 1, deferred 0, bounced 1, failed 0, cancelled 0"
    assert heartbeat.exists()
    assert [m.rcpt_tos for m in smtp_server.accepted] == [("ada@example.org",)]
    with sessions() as session:
        assert outbox.counts_by_state(session) == {"sent": 1, "bounced": 1}

    status = ok(env, "status").stdout
    assert "outbox: bounced 1, sent 1" in status
    assert "suppressed addresses: 1 (bounced)" in status
    assert "550 5.1.1" in status  # the recent failure, with the server's reply
    assert str(DAY) in status


def test_worker_once_says_when_there_was_nothing_to_do(env: dict[str, str]) -> None:
    assert ok(env, "worker", "--once").stdout.strip() == "nothing due"


def test_worker_once_fails_when_another_process_is_sending(
    env: dict[str, str], tmp_path: Path
) -> None:
    database = Path(env["NEWSLETTER_DATABASE_URL"].removeprefix("sqlite:///"))
    with database.with_name(database.name + ".send.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as a running `newsletter run` does
        result = cli_support.invoke(env, "worker", "--once")
    assert result.exit_code == 1
    assert cli_support.error_line(result) == (
        f"error: another process is sending from {database}: nothing sent"
    )


def status_row(output: str, day: date) -> list[str]:
    """The cells of the day table's row for `day`."""
    (line,) = [line for line in output.splitlines() if line.startswith(f"│ {day} │")]
    return [cell.strip() for cell in line.strip("│ ").split("│")]


def test_status_counts_a_sent_digest_on_its_day(
    env: dict[str, str], smtp_server: ScriptedSmtpServer
) -> None:
    """Papers fetched today for yesterday's digest, sent today: one row, for yesterday."""
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    queue_digests(
        sessions_for(env), ["ada@example.org", "bob@example.org"],
        papers=topic_papers(yesterday), day=yesterday, now=datetime.now(UTC),
    )  # fmt: skip
    env |= {
        "NEWSLETTER_SMTP_HOST": smtp_server.host,
        "NEWSLETTER_SMTP_PORT": str(smtp_server.port),
        "NEWSLETTER_SMTP_SECURITY": "none",
    }
    ok(env, "worker", "--once")
    output = ok(env, "status").stdout
    assert status_row(output, yesterday)[:2] == [str(yesterday), "6"]
    assert status_row(output, yesterday)[3:6] == ["2", "2", "0"]  # digests, sent, waiting
    today = f"│ {datetime.now(UTC).date()} │"  # no row says "0 digests" for today
    assert not any(line.startswith(today) for line in output.splitlines())


def test_status_lists_failed_fetches_with_their_error(env: dict[str, str], tmp_path: Path) -> None:
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"title": "cut off in the mid')
    assert cli_support.invoke(env, "fetch", "--source", f"file:{broken}").exit_code == 1
    ok(env, "fetch", "--source", f"file:{DATA / 'seed_papers.jsonl'}")
    output = ok(env, "status").stdout
    failed = output.split("failed fetch", 1)[1]
    assert "file:broken.jsonl" in failed
    assert "every entry of file:broken.jsonl was skipped (1): nothing was stored" in failed
    assert "file:seed_papers.jsonl" not in failed
    last = output.split("last fetch", 1)[1].split("failed fetch", 1)[0]
    assert "119 new, 0 updated, 0 unchanged, 0 skipped" in last
    assert "failed: every entry of file:broken.jsonl" in last
    today = datetime.now(UTC).date()  # undated file papers are announced on the day stored
    assert status_row(output, today)[1] == "119"


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
            row, _ = subscribers.add_or_update(
                session, email=event.recipient, profile=InterestProfile("x"), confirmed=True,
                now=now,
            )  # fmt: skip
            # The digest the report is about: a report acts only on mail we sent (its
            # Message-ID recorded in the outbox, for this address).
            assert event.message_id is not None
            outbox.enqueue(
                session, [outbox.NewDigest(row.id, DAY, event.message_id, matches=[])], now=now
            )
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


def test_a_dispatching_worker_queues_and_sends(
    env: dict[str, str], smtp_server: ScriptedSmtpServer
) -> None:
    sessions = sessions_for(env)
    today = datetime.now(UTC).date()
    with sessions.begin() as session:
        for day in (today - timedelta(days=1), today):  # yesterday's digest is due in any case
            store_papers(session, topic_papers(day, prefix=f"26{day.day:02d}."),
                         now=datetime.now(UTC))  # fmt: skip
    emails = bulk_subscribers(sessions, 3, description="protein folding with diffusion models",
                              now=datetime.now(UTC) - timedelta(days=3))  # fmt: skip
    env |= {
        "NEWSLETTER_SMTP_HOST": smtp_server.host,
        "NEWSLETTER_SMTP_PORT": str(smtp_server.port),
        "NEWSLETTER_SMTP_SECURITY": "none",
        "NEWSLETTER_DISPATCH_PARTS": "2",
    }
    ok(env, "worker", "--once", "--dispatch")
    assert {m.rcpt_tos[0] for m in smtp_server.accepted} == set(emails)
    with sessions() as session:
        assert set(outbox.counts_by_state(session)) == {"sent"}
