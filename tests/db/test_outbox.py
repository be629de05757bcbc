"""The outbox's state machine on SQLite and PostgreSQL: enqueue, claim, record, reclaim."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from newsletter.db import outbox, outbox_claims
from newsletter.db.engine import make_engine
from newsletter.db.models import OutboxRow, SentPaperRow, SubscriberRow
from newsletter.db.outbox import ClaimedDigest, NewDigest, State
from newsletter.db.subscribers import add_or_update
from newsletter.domain import Highlight, Match
from newsletter.matching.profile import build_profile
from tests.support.factories import arxiv_paper

NOW = datetime(2025, 8, 20, 6, 0, tzinfo=UTC)
DAY = date(2025, 8, 20)
LEASE = timedelta(minutes=10)


@pytest.fixture
def pg_engine(migrated_postgres_url: str) -> Iterator[Engine]:
    """The conftest database; a claim that waits on a lock (no SKIP LOCKED) fails the test
    after 5 s instead of hanging it."""
    engine = make_engine(
        migrated_postgres_url, pool_size=8, connect_args={"options": "-c lock_timeout=5000"}
    )
    yield engine
    engine.dispose()


def add_subscriber(sessions: sessionmaker[Session], email: str) -> int:
    with sessions.begin() as session:
        row, _ = add_or_update(
            session,
            email=email,
            profile=build_profile(keywords=["graph neural networks"]),
            confirmed=True,
            now=NOW,
        )
        return row.id


def match(paper_id: str, score: float = 0.5) -> Match:
    return Match(
        paper=arxiv_paper(paper_id),
        score=score,
        why=('mentions "agents"',),
        highlights=(Highlight("title", 0, 5), Highlight("abstract", 3, 9)),
    )


def digest(
    subscriber_id: int,
    *,
    day: date = DAY,
    message_id: str | None = None,
    papers: tuple[str, ...] = ("2508.00001", "2508.00002"),
    state: State = State.QUEUED,
) -> NewDigest:
    return NewDigest(
        subscriber_id=subscriber_id,
        digest_date=day,
        message_id=message_id or f"<{subscriber_id}.{day}@example.org>",
        matches=[match(p) for p in papers],
        state=state,
    )


def enqueue(sessions: sessionmaker[Session], *digests: NewDigest, now: datetime = NOW) -> int:
    with sessions.begin() as session:
        return outbox.enqueue(session, digests, now=now)


def rows(sessions: sessionmaker[Session]) -> list[OutboxRow]:
    with sessions() as session:
        return list(session.scalars(select(OutboxRow).order_by(OutboxRow.id)))


def only_row(sessions: sessionmaker[Session]) -> OutboxRow:
    (row,) = rows(sessions)
    return row


def claim(
    sessions: sessionmaker[Session],
    *,
    now: datetime = NOW,
    limit: int = 10,
    lease: timedelta = LEASE,
) -> list[ClaimedDigest]:
    return outbox_claims.claim(sessions, now=now, limit=limit, lease=lease)


def claim_one(sessions: sessionmaker[Session], *, now: datetime = NOW) -> ClaimedDigest:
    (claimed,) = claim(sessions, now=now)
    return claimed


# --- enqueue ------------------------------------------------------------------------------


def test_enqueue_is_idempotent_per_subscriber_and_day(any_sessions: sessionmaker[Session]) -> None:
    who = add_subscriber(any_sessions, "a@example.com")
    assert enqueue(any_sessions, digest(who, message_id="<first@example.org>")) == 1
    again = digest(who, message_id="<second@example.org>", papers=("2508.09999",))
    assert enqueue(any_sessions, again, now=NOW + timedelta(hours=1)) == 0
    row = only_row(any_sessions)
    assert row.message_id == "<first@example.org>"
    assert [item["id"] for item in row.content] == ["2508.00001", "2508.00002"]
    assert row.created_at == NOW
    # Another day, or another subscriber, is a new row.
    other = add_subscriber(any_sessions, "b@example.com")
    assert enqueue(any_sessions, digest(who, day=DAY + timedelta(days=1)), digest(other)) == 2


def test_enqueue_within_one_batch_keeps_the_first(any_sessions: sessionmaker[Session]) -> None:
    who = add_subscriber(any_sessions, "a@example.com")
    first = digest(who, message_id="<first@example.org>")
    assert enqueue(any_sessions, first) == 1
    assert enqueue(any_sessions, first) == 0


def test_enqueued_row_starts_queued_and_due(any_sessions: sessionmaker[Session]) -> None:
    who = add_subscriber(any_sessions, "a@example.com")
    enqueue(any_sessions, digest(who))
    row = only_row(any_sessions)
    assert (row.state, row.attempts, row.next_attempt_at) == ("queued", 0, NOW)
    assert row.lease_expires_at is None
    assert row.sent_at is None
    assert row.digest_date == DAY


def test_enqueue_many_rows(any_sessions: sessionmaker[Session]) -> None:
    # More rows than one INSERT batch takes.
    who = add_subscriber(any_sessions, "a@example.com")
    many = [digest(who, day=DAY - timedelta(days=n), papers=()) for n in range(601)]
    assert enqueue(any_sessions, *many) == 601
    assert enqueue(any_sessions, *many) == 0


# --- claim --------------------------------------------------------------------------------


def test_claim_marks_rows_sending_with_a_lease(any_sessions: sessionmaker[Session]) -> None:
    who = add_subscriber(any_sessions, "a@example.com")
    enqueue(any_sessions, digest(who))
    claimed = claim_one(any_sessions, now=NOW + timedelta(minutes=1))
    row = only_row(any_sessions)
    assert row.state == "sending"
    assert row.lease_expires_at == NOW + timedelta(minutes=1) + LEASE
    assert row.attempts == 1
    assert claimed.attempts == 1
    assert claimed.outbox_id == row.id
    assert (claimed.subscriber_id, claimed.email) == (who, "a@example.com")
    assert claimed.subscriber_status == "active"
    assert claimed.digest_date == DAY
    assert claimed.message_id == row.message_id
    assert claimed.paper_ids == ["2508.00001", "2508.00002"]
    assert claimed.created_at == NOW
    with any_sessions() as session:
        token_key = session.get_one(SubscriberRow, who).token_key
    assert claimed.token_key == token_key
    # A claimed row is not claimed again, even long after.
    assert claim(any_sessions, now=NOW + timedelta(days=3)) == []


def test_claim_only_takes_due_rows_in_order_and_respects_limit(
    any_sessions: sessionmaker[Session],
) -> None:
    ids = [add_subscriber(any_sessions, f"s{n}@example.com") for n in range(5)]
    enqueue(any_sessions, digest(ids[0]), now=NOW + timedelta(minutes=3))
    enqueue(any_sessions, digest(ids[1]), now=NOW + timedelta(minutes=1))
    enqueue(any_sessions, digest(ids[2]), now=NOW + timedelta(minutes=2))
    enqueue(any_sessions, digest(ids[3]), now=NOW + timedelta(hours=1))  # not due yet
    enqueue(any_sessions, digest(ids[4], state=State.SKIPPED), now=NOW)  # never mailed
    at = NOW + timedelta(minutes=5)
    first = claim(any_sessions, now=at, limit=2)
    assert [c.subscriber_id for c in first] == [ids[1], ids[2]]
    second = claim(any_sessions, now=at, limit=2)
    assert [c.subscriber_id for c in second] == [ids[0]]
    assert claim(any_sessions, now=at) == []
    assert [c.subscriber_id for c in claim(any_sessions, now=NOW + timedelta(hours=1))] == [ids[3]]
    assert claim(any_sessions, now=NOW + timedelta(days=9)) == []
    with any_sessions() as session:
        assert outbox.counts_by_state(session) == {"sending": 4, "skipped": 1}


def test_claim_limit_with_equal_due_times_goes_by_id(any_sessions: sessionmaker[Session]) -> None:
    who = add_subscriber(any_sessions, "a@example.com")
    enqueue(any_sessions, *[digest(who, day=DAY - timedelta(days=n)) for n in range(7)])
    expected = [row.id for row in rows(any_sessions)]
    got = [c.outbox_id for c in claim(any_sessions, limit=3)]
    got += [c.outbox_id for c in claim(any_sessions, limit=3)]
    got += [c.outbox_id for c in claim(any_sessions, limit=3)]
    assert got == expected


# --- outcomes -----------------------------------------------------------------------------


def test_record_sent_stores_sent_papers_and_sent_at(any_sessions: sessionmaker[Session]) -> None:
    who = add_subscriber(any_sessions, "a@example.com")
    other = add_subscriber(any_sessions, "b@example.com")
    enqueue(any_sessions, digest(who), digest(other, papers=("2508.00003",)))
    mine, theirs = claim(any_sessions)
    sent_at = NOW + timedelta(minutes=2)
    outbox_claims.record_sent(any_sessions, mine, reply="250 2.0.0 queued as ABC", now=sent_at)
    row = rows(any_sessions)[0]
    assert (row.state, row.sent_at, row.lease_expires_at) == ("sent", sent_at, None)
    assert row.last_reply == "250 2.0.0 queued as ABC"
    with any_sessions() as session:
        sent = session.scalars(select(SentPaperRow).order_by(SentPaperRow.paper_id)).all()
        assert [(s.subscriber_id, s.paper_id, s.outbox_id) for s in sent] == [
            (who, "2508.00001", mine.outbox_id),
            (who, "2508.00002", mine.outbox_id),
        ]
        found = outbox.sent_paper_ids(
            session,
            subscriber_ids=[who, other],
            paper_ids=["2508.00001", "2508.00002", "2508.00003", "2508.00004"],
        )
        assert found == {who: {"2508.00001", "2508.00002"}}
        only_one = outbox.sent_paper_ids(session, subscriber_ids=[who], paper_ids=["2508.00002"])
        assert only_one == {who: {"2508.00002"}}
        assert outbox.sent_paper_ids(session, subscriber_ids=[], paper_ids=["2508.00001"]) == {}
        assert outbox.sent_paper_ids(session, subscriber_ids=[who], paper_ids=[]) == {}
    assert rows(any_sessions)[1].state == "sending"  # the other row is untouched
    assert theirs.subscriber_id == other


def test_record_sent_twice_for_papers_already_sent(any_sessions: sessionmaker[Session]) -> None:
    # The same paper in two days' digests (a re-send) must not break on the unique key.
    who = add_subscriber(any_sessions, "a@example.com")
    enqueue(any_sessions, digest(who), digest(who, day=DAY + timedelta(days=1)))
    first, second = claim(any_sessions)
    outbox_claims.record_sent(any_sessions, first, reply="250 ok", now=NOW)
    outbox_claims.record_sent(any_sessions, second, reply="250 ok", now=NOW)
    assert [row.state for row in rows(any_sessions)] == ["sent", "sent"]
    with any_sessions() as session:
        assert len(session.scalars(select(SentPaperRow)).all()) == 2


def test_record_retry_defers_until_the_next_attempt(any_sessions: sessionmaker[Session]) -> None:
    who = add_subscriber(any_sessions, "a@example.com")
    enqueue(any_sessions, digest(who))
    claimed = claim_one(any_sessions)
    retry_at = NOW + timedelta(minutes=5)
    outbox_claims.record_retry(
        any_sessions, claimed, reply="451 4.7.1 try later", now=NOW, next_attempt_at=retry_at
    )
    row = only_row(any_sessions)
    assert (row.state, row.next_attempt_at, row.lease_expires_at) == ("deferred", retry_at, None)
    assert row.last_reply == "451 4.7.1 try later"
    assert claim(any_sessions, now=retry_at - timedelta(seconds=1)) == []
    again = claim_one(any_sessions, now=retry_at)
    assert again.attempts == 2
    assert again.message_id == claimed.message_id  # a retry repeats the Message-ID
    with any_sessions() as session:
        assert session.scalars(select(SentPaperRow)).all() == []


def test_record_final_with_suppress_marks_the_subscriber_bounced(
    any_sessions: sessionmaker[Session],
) -> None:
    who = add_subscriber(any_sessions, "gone@example.com")
    other = add_subscriber(any_sessions, "here@example.com")
    enqueue(any_sessions, digest(who), digest(other))
    bounced, failed = claim(any_sessions)
    reply = "550 5.1.1 no such user " + "x" * 1000
    outbox_claims.record_final(
        any_sessions, bounced, state=State.BOUNCED, reply=reply, now=NOW, suppress=True
    )
    outbox_claims.record_final(any_sessions, failed, state=State.FAILED, reply="554 no", now=NOW)
    assert [(r.state, r.lease_expires_at) for r in rows(any_sessions)] == [
        ("bounced", None),
        ("failed", None),
    ]
    with any_sessions() as session:
        gone = session.get_one(SubscriberRow, who)
        here = session.get_one(SubscriberRow, other)
        assert gone.status == "bounced"
        assert gone.suppressed_reason is not None
        assert gone.suppressed_reason.startswith("550 5.1.1")
        assert (here.status, here.suppressed_reason) == ("active", None)
    assert claim(any_sessions, now=NOW + timedelta(days=1)) == []


def test_release_returns_rows_to_the_queue(any_sessions: sessionmaker[Session]) -> None:
    who = add_subscriber(any_sessions, "a@example.com")
    enqueue(any_sessions, digest(who), digest(who, day=DAY + timedelta(days=1)))
    claimed = claim(any_sessions)
    outbox_claims.release(any_sessions, claimed[:1])
    first, second = rows(any_sessions)
    assert (first.state, first.attempts, first.lease_expires_at) == ("queued", 0, None)
    assert second.state == "sending"
    outbox_claims.release(any_sessions, [])  # nothing to do
    assert [c.outbox_id for c in claim(any_sessions)] == [first.id]


def test_release_leaves_recorded_rows_alone(any_sessions: sessionmaker[Session]) -> None:
    who = add_subscriber(any_sessions, "a@example.com")
    enqueue(any_sessions, digest(who))
    claimed = claim_one(any_sessions)
    outbox_claims.record_sent(any_sessions, claimed, reply="250 ok", now=NOW)
    outbox_claims.release(any_sessions, [claimed])
    row = only_row(any_sessions)
    assert (row.state, row.attempts) == ("sent", 1)


def test_reclaim_takes_only_expired_leases(any_sessions: sessionmaker[Session]) -> None:
    who = add_subscriber(any_sessions, "a@example.com")
    days = [DAY + timedelta(days=n) for n in range(4)]
    enqueue(any_sessions, *[digest(who, day=d) for d in days])
    short = claim(any_sessions, limit=1, lease=timedelta(minutes=1))
    (long,) = claim(any_sessions, limit=1, lease=timedelta(hours=1))
    (done,) = claim(any_sessions, limit=1)
    outbox_claims.record_sent(any_sessions, done, reply="250 ok", now=NOW)
    # The fourth row stays queued: reclaiming is for `sending` rows only.
    assert outbox_claims.reclaim_expired(any_sessions, now=NOW + timedelta(seconds=30)) == 0
    assert outbox_claims.reclaim_expired(any_sessions, now=NOW + timedelta(minutes=5)) == 1
    by_id = {row.id: row for row in rows(any_sessions)}
    reclaimed = by_id[short[0].outbox_id]
    assert (reclaimed.state, reclaimed.lease_expires_at) == ("deferred", None)
    assert reclaimed.next_attempt_at == NOW + timedelta(minutes=5)
    assert reclaimed.last_reply is not None
    assert "ambiguous" in reclaimed.last_reply
    assert by_id[long.outbox_id].state == "sending"
    assert by_id[done.outbox_id].state == "sent"
    # Reclaimed rows go out again with the same Message-ID.
    queued, again = claim(any_sessions, now=NOW + timedelta(minutes=5))
    assert (again.outbox_id, again.message_id) == (short[0].outbox_id, short[0].message_id)
    assert (queued.attempts, again.attempts) == (1, 2)


def test_reclaim_everything_takes_unexpired_leases_too(
    any_sessions: sessionmaker[Session],
) -> None:
    who = add_subscriber(any_sessions, "a@example.com")
    enqueue(any_sessions, digest(who), digest(who, day=DAY + timedelta(days=1)))
    claimed = claim(any_sessions, lease=timedelta(hours=1))
    outbox_claims.record_sent(any_sessions, claimed[0], reply="250 ok", now=NOW)
    assert outbox_claims.reclaim_expired(any_sessions, now=NOW) == 0
    assert outbox_claims.reclaim_expired(any_sessions, now=NOW, everything=True) == 1
    assert [row.state for row in rows(any_sessions)] == ["sent", "deferred"]


def test_stale_worker_cannot_overwrite_a_later_sent(any_sessions: sessionmaker[Session]) -> None:
    who = add_subscriber(any_sessions, "a@example.com")
    enqueue(any_sessions, digest(who))
    stale = claim_one(any_sessions)
    later = NOW + LEASE + timedelta(minutes=1)
    assert outbox_claims.reclaim_expired(any_sessions, now=later) == 1
    fresh = claim_one(any_sessions, now=later)
    outbox_claims.record_sent(any_sessions, fresh, reply="250 ok", now=later)
    # The first worker finally hears back (or gives up) after its lease was taken over.
    outbox_claims.record_retry(
        any_sessions, stale, reply="451 late", now=later, next_attempt_at=later + LEASE
    )
    outbox_claims.record_final(
        any_sessions, stale, state=State.BOUNCED, reply="550 late", now=later, suppress=False
    )
    outbox_claims.release(any_sessions, [stale])
    row = only_row(any_sessions)
    assert (row.state, row.sent_at, row.last_reply) == ("sent", later, "250 ok")


def test_stale_worker_cannot_undo_a_reclaimed_rows_new_claim(
    any_sessions: sessionmaker[Session],
) -> None:
    # Worker A's lease expires mid-send; worker B reclaims and claims the row and is now
    # sending it. A's late outcome must not touch the row B holds: a `deferred` written
    # by A would make B's `sent` a no-op, and the digest would be mailed a third time.
    who = add_subscriber(any_sessions, "a@example.com")
    enqueue(any_sessions, digest(who))
    stale = claim_one(any_sessions)
    later = NOW + LEASE + timedelta(minutes=1)
    outbox_claims.reclaim_expired(any_sessions, now=later)
    fresh = claim_one(any_sessions, now=later)
    outbox_claims.record_retry(
        any_sessions, stale, reply="451 late", now=later, next_attempt_at=later + LEASE
    )
    held = only_row(any_sessions)
    assert (held.state, held.lease_expires_at) == ("sending", later + LEASE)
    outbox_claims.record_sent(any_sessions, fresh, reply="250 ok", now=later)
    assert only_row(any_sessions).state == "sent"


# --- concurrency (PostgreSQL) -------------------------------------------------------------


@pytest.mark.postgres
def test_concurrent_claims_never_share_a_row(pg_sessions: sessionmaker[Session]) -> None:
    who = add_subscriber(pg_sessions, "a@example.com")
    enqueue(pg_sessions, *[digest(who, day=DAY - timedelta(days=n), papers=()) for n in range(200)])
    start = threading.Barrier(4)
    claimed: list[list[int]] = [[] for _ in range(4)]
    errors: list[BaseException] = []

    def worker(mine: list[int]) -> None:
        try:
            start.wait()
            while batch := claim(pg_sessions, limit=10):
                assert len(batch) <= 10
                mine.extend(c.outbox_id for c in batch)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(mine,)) for mine in claimed]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    everything = [outbox_id for mine in claimed for outbox_id in mine]
    assert len(everything) == len(set(everything)) == 200
    assert set(everything) == {row.id for row in rows(pg_sessions)}
    assert {row.attempts for row in rows(pg_sessions)} == {1}


@pytest.mark.postgres
def test_claim_skips_rows_locked_by_another_transaction(pg_sessions: sessionmaker[Session]) -> None:
    who = add_subscriber(pg_sessions, "a@example.com")
    enqueue(pg_sessions, *[digest(who, day=DAY - timedelta(days=n), papers=()) for n in range(3)])
    first_id = rows(pg_sessions)[0].id
    with pg_sessions.begin() as holder:
        # Another worker's claim in progress: its row is locked, not yet marked sending.
        holder.execute(select(OutboxRow).where(OutboxRow.id == first_id).with_for_update())
        got = [c.outbox_id for c in claim(pg_sessions, limit=10)]
    assert first_id not in got
    assert len(got) == 2
    assert [c.outbox_id for c in claim(pg_sessions)] == [first_id]


# --- content ------------------------------------------------------------------------------


def test_decode_matches_round_trips_encode_matches() -> None:
    matches = [match("2508.00001", 0.87654321), match("2508.00002", 0.5)]
    papers = {m.paper.id: m.paper for m in matches}
    decoded = outbox.decode_matches(outbox.encode_matches(matches), papers)
    assert [m.paper for m in decoded] == [m.paper for m in matches]
    assert [m.why for m in decoded] == [m.why for m in matches]
    assert [m.highlights for m in decoded] == [m.highlights for m in matches]
    assert [m.score for m in decoded] == [0.8765, 0.5]


def test_decode_matches_leaves_out_deleted_papers(any_sessions: sessionmaker[Session]) -> None:
    who = add_subscriber(any_sessions, "a@example.com")
    enqueue(any_sessions, digest(who, papers=("2508.00001", "2508.00002", "2508.00003")))
    claimed = claim_one(any_sessions)  # content after a trip through the database's JSON
    papers = {p: arxiv_paper(p) for p in ("2508.00001", "2508.00003")}
    decoded = outbox.decode_matches(claimed.content, papers)
    assert [m.paper.id for m in decoded] == ["2508.00001", "2508.00003"]
    assert decoded[0].highlights == (Highlight("title", 0, 5), Highlight("abstract", 3, 9))
    assert decoded[0].why == ('mentions "agents"',)
