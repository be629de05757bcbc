"""What a recorded bounce leads to: hard at once, soft past a threshold in a window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from newsletter.bounces.report import BounceKind
from newsletter.db import subscriber_rows, subscribers
from newsletter.db.bounces import BouncePolicy, record_reports
from newsletter.db.models import BounceEventRow
from newsletter.domain import BounceEvent, InterestProfile

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
POLICY = BouncePolicy(soft_limit=3, window=timedelta(days=14))


def event(
    kind: BounceKind, *, to: str = "ada@example.org", at: datetime | None = None
) -> BounceEvent:
    return BounceEvent(
        recipient=to, kind=kind, status="5.2.2" if kind is BounceKind.SOFT else "5.1.1",
        diagnostic="test", message_id=None, received_at=at,
    )  # fmt: skip


def subscribe(sessions: sessionmaker[Session], email: str = "ada@example.org") -> None:
    with sessions.begin() as session:
        subscribers.add_or_update(
            session, email=email, profile=InterestProfile("x"), confirmed=True, now=NOW
        )


def status(sessions: sessionmaker[Session], email: str = "ada@example.org") -> str:
    with sessions() as session:
        row = subscriber_rows.find(session, email)
        assert row is not None
        return row.status


def ingest(sessions: sessionmaker[Session], *reports: tuple[bytes, list[BounceEvent]]) -> None:
    with sessions.begin() as session:
        record_reports(session, list(reports), policy=POLICY, now=NOW)


def test_hard_bounce_suppresses_at_once(sessions: sessionmaker[Session]) -> None:
    subscribe(sessions)
    ingest(sessions, (b"r1", [event(BounceKind.HARD)]))
    assert status(sessions) == "bounced"


def test_soft_bounces_suppress_only_past_the_threshold(sessions: sessionmaker[Session]) -> None:
    subscribe(sessions)
    ingest(sessions, (b"r1", [event(BounceKind.SOFT, at=NOW - timedelta(days=2))]))
    ingest(sessions, (b"r2", [event(BounceKind.SOFT, at=NOW - timedelta(days=1))]))
    assert status(sessions) == "active"
    ingest(sessions, (b"r3", [event(BounceKind.SOFT, at=NOW)]))
    assert status(sessions) == "bounced"


def test_old_soft_bounces_do_not_count(sessions: sessionmaker[Session]) -> None:
    subscribe(sessions)
    for n in range(3):  # an old mailbox ingested today
        ingest(
            sessions, (f"old{n}".encode(), [event(BounceKind.SOFT, at=NOW - timedelta(days=90))])
        )
    assert status(sessions) == "active"


def test_complaints_unsubscribe_and_others_are_only_recorded(
    sessions: sessionmaker[Session],
) -> None:
    subscribe(sessions)
    subscribe(sessions, "bob@example.org")
    ingest(
        sessions,
        (b"c", [event(BounceKind.COMPLAINT)]),
        (b"d", [event(BounceKind.DELAYED, to="bob@example.org")]),
        (b"o", [event(BounceKind.AUTO_REPLY, to="bob@example.org")]),
        (b"x", [event(BounceKind.HARD, to="stranger@example.org")]),
    )
    assert status(sessions) == "unsubscribed"
    assert status(sessions, "bob@example.org") == "active"
    with sessions() as session:
        query = select(BounceEventRow.kind, BounceEventRow.action)
        actions = {str(kind): str(action) for kind, action in session.execute(query)}
    assert actions == {
        "complaint": "unsubscribed (complaint)",
        "delayed": "recorded",
        "auto_reply": "recorded",
        "hard": "unknown address",
    }


def test_the_same_report_twice_is_recorded_once(sessions: sessionmaker[Session]) -> None:
    subscribe(sessions)
    ingest(sessions, (b"same", [event(BounceKind.SOFT)]))
    ingest(sessions, (b"same", [event(BounceKind.SOFT)]))
    with sessions() as session:
        assert len(session.scalars(select(BounceEventRow)).all()) == 1
