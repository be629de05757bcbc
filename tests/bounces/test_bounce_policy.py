"""What a recorded bounce leads to: hard at once, soft past a threshold in a window, and
nothing at all unless the report proves it is about mail we sent to that address."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from newsletter.bounces.report import BounceKind
from newsletter.db import subscriber_rows, subscribers
from newsletter.db.bounces import BouncePolicy, record_reports
from newsletter.db.models import BounceEventRow
from newsletter.db.sent_mail import record_sent_mail
from newsletter.domain import BounceEvent, InterestProfile, ReturnedMail
from newsletter.mail.verp import Verp

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
POLICY = BouncePolicy(soft_limit=3, window=timedelta(days=14))
VERP = Verp("a-test-secret-for-return-paths-0123456789", "bounces@digest.example.org")


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


def ingest(
    sessions: sessionmaker[Session],
    *reports: tuple[bytes, list[BounceEvent]],
    verified: bool = True,
) -> None:
    """Record the reports; `verified`: each came back to the return path of a one-off mail
    to each recipient it names (a signed VERP token), so each may act."""
    returned = [
        ReturnedMail(
            raw=raw,
            events=tuple(events),
            envelope=tuple(VERP.for_mail("confirm", e.recipient) for e in events)
            if verified
            else (),
        )
        for raw, events in reports
    ]
    with sessions.begin() as session:
        record_reports(session, returned, policy=POLICY, verp=VERP, now=NOW)


def actions(sessions: sessionmaker[Session]) -> list[tuple[str, str, str | None]]:
    with sessions() as session:
        query = select(BounceEventRow.kind, BounceEventRow.action, BounceEventRow.verified_by)
        return [(str(k), str(a), v) for k, a, v in session.execute(query.order_by("id"))]


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


def test_unverified_reports_are_recorded_and_change_nothing(
    sessions: sessionmaker[Session],
) -> None:
    subscribe(sessions)
    for n, kind in enumerate([BounceKind.HARD, BounceKind.COMPLAINT, *[BounceKind.SOFT] * 3]):
        ingest(sessions, (f"forged{n}".encode(), [event(kind, at=NOW)]), verified=False)
    assert status(sessions) == "active"
    assert {action for _, action, _ in actions(sessions)} == {"unverified"}
    assert {verified_by for _, _, verified_by in actions(sessions)} == {None}
    # A later genuine soft bounce counts only itself, not the forged ones before it.
    ingest(sessions, (b"real", [event(BounceKind.SOFT, at=NOW)]))
    assert status(sessions) == "active"
    assert actions(sessions)[-1] == ("soft", "counted (1 of 3)", "verp")


def test_a_token_proves_only_the_address_it_was_signed_for(
    sessions: sessionmaker[Session],
) -> None:
    subscribe(sessions)
    # A reader's own return path, reused in a report that names somebody else.
    mine = VERP.for_mail("welcome", "mallory@example.org")
    forged = ReturnedMail(raw=b"replay", events=(event(BounceKind.HARD),), envelope=(mine,))
    with sessions.begin() as session:
        result = record_reports(session, [forged], policy=POLICY, verp=VERP, now=NOW)
    assert (result.unverified, result.suppressed) == (1, [])
    assert status(sessions) == "active"


def test_a_recorded_message_id_proves_only_its_own_recipient(
    sessions: sessionmaker[Session],
) -> None:
    subscribe(sessions)
    subscribe(sessions, "bob@example.org")
    with sessions.begin() as session:
        record_sent_mail(
            session, message_id="<1.confirm@digest.example.org>", recipient="bob@example.org",
            kind="confirm", now=NOW,
        )  # fmt: skip
    quoting = replace(event(BounceKind.HARD), message_id="<1.confirm@digest.example.org>")
    ingest(sessions, (b"ada", [quoting]), verified=False)
    assert status(sessions) == "active"  # the mail went to bob, not to ada
    ingest(sessions, (b"bob", [replace(quoting, recipient="bob@example.org")]), verified=False)
    assert status(sessions, "bob@example.org") == "bounced"
    assert actions(sessions)[-1] == ("hard", "suppressed", "message-id")


def test_soft_bounces_count_once_per_mail(sessions: sessionmaker[Session]) -> None:
    subscribe(sessions)
    with sessions.begin() as session:
        record_sent_mail(
            session, message_id="<9.digest@digest.example.org>", recipient="ada@example.org",
            kind="digest", now=NOW,
        )  # fmt: skip
    same_mail = replace(event(BounceKind.SOFT, at=NOW), message_id="<9.digest@digest.example.org>")
    for n in range(3):  # three reports about one mail: one mailbox-full, not three
        ingest(sessions, (f"copy{n}".encode(), [same_mail]), verified=False)
    assert status(sessions) == "active"
    assert [action for _, action, _ in actions(sessions)] == ["counted (1 of 3)"] * 3


def test_suppression_records_when(sessions: sessionmaker[Session]) -> None:
    subscribe(sessions)
    ingest(sessions, (b"r1", [event(BounceKind.HARD)]))
    with sessions() as session:
        row = subscriber_rows.find(session, "ada@example.org")
        assert row is not None
        assert (row.status, row.suppressed_at) == ("bounced", NOW)
