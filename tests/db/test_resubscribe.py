"""When a bounced address may subscribe again, and when it bounced (kept since 0007)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from newsletter.db import migrations
from newsletter.db.engine import make_engine, session_factory
from newsletter.db.models import SubscriberRow
from newsletter.db.subscriber_rows import find
from newsletter.db.subscriptions import request_subscription
from newsletter.domain import InterestProfile, Schedule, Status

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
AFTER = timedelta(days=30)


def request(sessions: sessionmaker[Session], suppressed_at: datetime | None) -> str:
    with sessions.begin() as session:
        session.add(
            SubscriberRow(email="b@example.org", status=Status.BOUNCED, suppressed_at=suppressed_at)
        )
    with sessions.begin() as session:
        row = request_subscription(
            session, email="b@example.org", profile=InterestProfile("new interests"),
            schedule=Schedule(), now=NOW, resubscribe_after=AFTER,
        )  # fmt: skip
        return row.status


@pytest.mark.parametrize(
    ("suppressed_at", "status"),
    [
        (NOW - AFTER, Status.PENDING),  # long enough ago: double opt-in again
        (NOW - AFTER - timedelta(days=300), Status.PENDING),
        (NOW - AFTER + timedelta(minutes=1), Status.BOUNCED),  # too recent: left alone
        (None, Status.BOUNCED),  # when is unknown: left alone
    ],
)
def test_a_bounced_address_resubscribes_only_after_a_while(
    sessions: sessionmaker[Session], suppressed_at: datetime | None, status: Status
) -> None:
    assert request(sessions, suppressed_at) == status


def test_resubscribing_keeps_the_bounce_until_confirmed(sessions: sessionmaker[Session]) -> None:
    request(sessions, NOW - 2 * AFTER)
    with sessions() as session:
        row = find(session, "b@example.org")
        assert row is not None
        assert (row.status, row.suppressed_at) == (Status.PENDING, NOW - 2 * AFTER)
        assert row.profile is not None
        assert row.profile.description == "new interests"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    return str(
        request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_url")
    )


def test_upgrade_dates_existing_suppressions_from_the_upgrade(database_url: str) -> None:
    engine = make_engine(database_url)
    migrations.upgrade(engine, "0006")
    with engine.begin() as connection:
        for email, status in (("gone@example.org", "bounced"), ("here@example.org", "active")):
            connection.execute(
                text(
                    "INSERT INTO subscribers (email, status, created_at, token_key, send_hour,"
                    " frequency, send_weekday) VALUES (:email, :status, :now, 'k', 7, 'daily', 0)"
                ),
                {"email": email, "status": status, "now": NOW},
            )
    before = datetime.now(UTC)
    migrations.upgrade(engine)
    with session_factory(engine)() as session:
        gone, here = find(session, "gone@example.org"), find(session, "here@example.org")
        assert gone is not None
        assert here is not None
        assert gone.suppressed_at is not None
        assert gone.suppressed_at >= before - timedelta(seconds=1)
        assert here.suppressed_at is None
    engine.dispose()
