"""Genuine reports still act: each MTA shape in tests/data/bounces, come back to a digest's
VERP return path or quoting the Message-ID the digest went out with, suppresses, counts,
unsubscribes or records exactly as its kind says; only the address the mail went to."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from newsletter.bounces.report import BounceKind, read_report
from newsletter.db import migrations, outbox, subscriber_rows, subscribers
from newsletter.db.bounces import BouncePolicy, record_reports
from newsletter.db.engine import make_engine, session_factory
from newsletter.db.models import BounceEventRow
from newsletter.domain import InterestProfile
from newsletter.mail.verp import Verp
from tests.bounces.test_bounces import EXPECTED, fixture

NOW = datetime(2025, 12, 1, 12, 0, tzinfo=UTC)
POLICY = BouncePolicy(soft_limit=3, window=timedelta(days=30))
BOUNCE_ADDRESS = b"bounces@digest.example.org"
VERP = Verp("a-test-secret-for-return-paths-0123456789", BOUNCE_ADDRESS.decode())
ACTION = {
    BounceKind.HARD: ("suppressed", "bounced"),
    BounceKind.SOFT: ("counted (1 of 3)", "active"),
    BounceKind.COMPLAINT: ("unsubscribed (complaint)", "unsubscribed"),
    BounceKind.DELAYED: ("recorded", "active"),
    BounceKind.AUTO_REPLY: ("recorded", "active"),
    BounceKind.UNKNOWN: ("recorded", "active"),
}
# Auto-replies go to From, not to the return path: only their In-Reply-To can prove them.
REACH_THE_RETURN_PATH = sorted(
    n for n, (ev, _) in EXPECTED.items() if ev and n != "out_of_office.eml"
)
QUOTE_A_MESSAGE_ID = sorted(n for n, (ev, msgid) in EXPECTED.items() if ev and msgid)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest) -> Iterator[sessionmaker[Session]]:
    url = str(
        request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_url")
    )
    engine: Engine = make_engine(url)
    migrations.upgrade(engine)
    yield session_factory(engine)
    engine.dispose()


def sent_digest(sessions: sessionmaker[Session], email: str, message_id: str) -> int:
    """An active subscriber and the digest that went to it; the outbox row's id."""
    with sessions.begin() as session:
        row, _ = subscribers.add_or_update(
            session, email=email, profile=InterestProfile("x"), confirmed=True, now=NOW
        )
        digest = outbox.NewDigest(row.id, date(2025, 11, 28), message_id, matches=[])
        outbox.enqueue(session, [digest], now=NOW)
        found = outbox.subscriber_digest(session, subscriber=row, day=date(2025, 11, 28))
        assert found is not None
        return found.outbox_id


def ingest(sessions: sessionmaker[Session], data: bytes) -> list[tuple[str, str, str | None]]:
    with sessions.begin() as session:
        record_reports(session, [read_report(data)], policy=POLICY, verp=VERP, now=NOW)
    with sessions() as session:
        rows = session.execute(
            select(
                BounceEventRow.recipient, BounceEventRow.action, BounceEventRow.verified_by
            ).order_by(BounceEventRow.id)
        )
        return [(str(r), str(a), v) for r, a, v in rows]


def status(sessions: sessionmaker[Session], email: str) -> str:
    with sessions() as session:
        row = subscriber_rows.find(session, email)
        assert row is not None
        return row.status


@pytest.mark.parametrize("name", REACH_THE_RETURN_PATH)
def test_a_report_to_the_return_path_acts(db: sessionmaker[Session], name: str) -> None:
    events, _ = EXPECTED[name]
    recipient, kind, _ = events[0]
    outbox_id = sent_digest(db, recipient, "<not-quoted-by-the-report@digest.example.org>")
    return_path = VERP.for_digest(outbox_id, recipient).encode()
    # As the report arrives: addressed to the return path the digest left with.
    data = fixture(name).replace(BOUNCE_ADDRESS, return_path)
    recorded = ingest(db, data)
    action, after = ACTION[kind]
    assert recorded[0] == (recipient, action, "verp")
    assert status(db, recipient) == after
    # Other addresses in the same report were not what this mail went to.
    assert all(entry[1:] == ("unverified", None) for entry in recorded[1:])


@pytest.mark.parametrize("name", QUOTE_A_MESSAGE_ID)
def test_a_report_quoting_a_sent_message_id_acts(db: sessionmaker[Session], name: str) -> None:
    events, message_id = EXPECTED[name]
    assert message_id is not None
    recipient, kind, _ = events[0]
    sent_digest(db, recipient, message_id)
    recorded = ingest(db, fixture(name))  # to the plain bounce address: no token
    action, after = ACTION[kind]
    assert recorded[0] == (recipient, action, "message-id")
    assert status(db, recipient) == after
    assert all(entry[1:] == ("unverified", None) for entry in recorded[1:])


def test_the_same_report_without_proof_changes_nothing(db: sessionmaker[Session]) -> None:
    for name in REACH_THE_RETURN_PATH:
        recipient = EXPECTED[name][0][0][0]
        sent_digest(db, recipient, f"<other.{recipient}>")  # a digest the report does not name
        recorded = ingest(db, fixture(name))
        assert recorded[-1][1:] == ("unverified", None)
        assert status(db, recipient) == "active"


def test_three_mailbox_full_reports_for_three_digests_suppress(db: sessionmaker[Session]) -> None:
    report = fixture("sendmail_mailbox_full_5.2.2.eml")
    recipient = "full.box@inst-example.net"
    for day in (1, 2, 3):
        with db.begin() as session:
            row = subscriber_rows.find(session, recipient)
            if row is None:
                row, _ = subscribers.add_or_update(
                    session, email=recipient, profile=InterestProfile("x"), confirmed=True, now=NOW
                )
            digest = outbox.NewDigest(row.id, date(2025, 11, day), f"<{day}@d.example>", [])
            outbox.enqueue(session, [digest], now=NOW)
            sent = outbox.subscriber_digest(session, subscriber=row, day=date(2025, 11, day))
            assert sent is not None
        return_path = VERP.for_digest(sent.outbox_id, recipient).encode()
        recorded = ingest(db, report.replace(BOUNCE_ADDRESS, return_path))
        assert recorded[-1][1] == ("suppressed" if day == 3 else f"counted ({day} of 3)")
    assert status(db, recipient) == "bounced"
