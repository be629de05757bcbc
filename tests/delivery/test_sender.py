"""The outbox drained over real SMTP conversations (aiosmtpd, scripted per recipient)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes, policy

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from newsletter.config import Settings, SmtpSecurity
from newsletter.db import migrations, outbox, outbox_claims, subscriber_rows, subscribers
from newsletter.db.engine import make_engine, session_factory
from newsletter.db.models import OutboxRow, SentPaperRow, SubscriberRow
from newsletter.delivery import wiring
from newsletter.delivery.ratelimit import TokenBucket
from newsletter.delivery.replies import REFUSALS_ALIKE_TO_STOP, Verdict
from newsletter.delivery.sender import Sender, SendPolicy, SendReport
from newsletter.delivery.smtp import SmtpConfig, SmtpPool
from tests.support.factories import arxiv_paper
from tests.support.queued import queue_digests
from tests.support.smtp_server import Script, ScriptedSmtpServer

pytestmark = pytest.mark.anyio
DAY = date(2026, 11, 27)
START = datetime(2026, 11, 28, 7, 0, tzinfo=UTC)
PAPERS = [
    arxiv_paper(id=f"2611.0000{n}", title=f"Paper number {n} on retrieval", announced_on=DAY)
    for n in range(3)
]


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


def queue_for(sessions: sessionmaker[Session], addresses: list[str]) -> None:
    queue_digests(sessions, addresses, papers=PAPERS, day=DAY, now=START)


def states(sessions: sessionmaker[Session]) -> dict[str, str]:
    with sessions() as session:
        rows = session.execute(
            select(SubscriberRow.email, OutboxRow.state).join(
                OutboxRow, OutboxRow.subscriber_id == SubscriberRow.id
            )
        ).all()
    return {str(email): str(state) for email, state in rows}


async def drain(
    settings: Settings,
    sessions: sessionmaker[Session],
    server: ScriptedSmtpServer,
    clock: Callable[[], datetime],
    *,
    policy: SendPolicy | None = None,
    limiter: TokenBucket | None = None,
    size: int = 2,
    timeout: float = 2.0,
    on_outcome: Callable[[Verdict], None] = lambda _: None,
    should_stop: Callable[[], bool] = lambda: False,
) -> SendReport:
    limiter = limiter or TokenBucket(None)
    config = SmtpConfig(
        host=server.host, port=server.port, security=SmtpSecurity.NONE, timeout=timeout
    )
    async with SmtpPool(config, size=size, limiter=limiter) as pool:
        sender = Sender(
            sessions=sessions,
            pool=pool,
            limiter=limiter,
            composer=wiring.composer(settings),
            policy=policy or SendPolicy(single_worker=True),
            clock=clock,
            verp=wiring.verp(settings),
            on_outcome=on_outcome,
            should_stop=should_stop,
        )
        return await sender.drain()


async def test_accepted_mail_is_recorded_with_its_papers(
    settings: Settings, sessions: sessionmaker[Session], smtp_server: ScriptedSmtpServer
) -> None:
    queue_for(sessions, ["ada@example.org", "alan@example.org"])
    report = await drain(settings, sessions, smtp_server, Clock())
    assert report.counts["sent"] == 2
    assert states(sessions) == {"ada@example.org": "sent", "alan@example.org": "sent"}
    assert sorted(m.rcpt_tos[0] for m in smtp_server.accepted) == [
        "ada@example.org",
        "alan@example.org",
    ]
    with sessions() as session:
        sent = session.scalars(select(SentPaperRow.paper_id)).all()
        row = session.scalars(select(OutboxRow)).first()
    assert sorted(sent) == sorted([p.id for p in PAPERS] * 2)
    assert row is not None
    assert row.sent_at == START
    assert row.last_reply.startswith("250")
    parsed = message_from_bytes(smtp_server.accepted[0].data, policy=policy.default)
    assert parsed["Message-ID"].endswith("@example.org>")
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "Paper number 0 on retrieval" in parsed.get_body(("plain",)).get_content()


async def test_a_second_run_sends_nothing_again(
    settings: Settings, sessions: sessionmaker[Session], smtp_server: ScriptedSmtpServer
) -> None:
    queue_for(sessions, ["ada@example.org"])
    await drain(settings, sessions, smtp_server, Clock())
    report = await drain(settings, sessions, smtp_server, Clock())
    assert report.attempted == 0
    assert len(smtp_server.accepted) == 1


async def test_temporary_failure_is_deferred_with_backoff_then_sent(
    settings: Settings, sessions: sessionmaker[Session], smtp_server: ScriptedSmtpServer
) -> None:
    smtp_server.script("flaky", Script(rcpt="451 4.3.0 Try again later", times=2))
    queue_for(sessions, ["flaky@example.org"])
    clock = Clock()
    policy = SendPolicy(single_worker=True, first_retry=timedelta(minutes=5))
    report = await drain(settings, sessions, smtp_server, clock, policy=policy)
    assert report.counts["deferred"] == 1
    with sessions() as session:
        row = session.scalars(select(OutboxRow)).one()
    assert row.state == "deferred"
    assert row.attempts == 1
    assert row.next_attempt_at == START + timedelta(minutes=5)
    assert row.last_reply is not None
    assert row.last_reply.startswith("451")

    assert (await drain(settings, sessions, smtp_server, clock, policy=policy)).attempted == 0
    clock.now = START + timedelta(minutes=5)
    await drain(settings, sessions, smtp_server, clock, policy=policy)
    with sessions() as session:
        row = session.scalars(select(OutboxRow)).one()
    assert row.state == "deferred"
    assert row.attempts == 2
    assert row.next_attempt_at == clock.now + timedelta(minutes=10)  # doubled
    clock.now += timedelta(minutes=10)
    await drain(settings, sessions, smtp_server, clock, policy=policy)
    assert states(sessions) == {"flaky@example.org": "sent"}
    assert len(smtp_server.accepted) == 1


async def test_deferred_mail_gives_up_after_the_configured_days(
    settings: Settings, sessions: sessionmaker[Session], smtp_server: ScriptedSmtpServer
) -> None:
    queue_for(sessions, ["defer451@example.org"])
    clock = Clock()
    clock.now = START + timedelta(days=3)
    await drain(settings, sessions, smtp_server, clock, policy=SendPolicy(single_worker=True))
    with sessions() as session:
        row = session.scalars(select(OutboxRow)).one()
    assert row.state == "failed"
    assert row.last_reply is not None
    assert row.last_reply.startswith("gave up: 451")


async def test_bad_mailbox_bounces_and_suppresses_the_address(
    settings: Settings, sessions: sessionmaker[Session], smtp_server: ScriptedSmtpServer
) -> None:
    queue_for(sessions, ["bounce@example.org", "ada@example.org"])
    report = await drain(settings, sessions, smtp_server, Clock())
    assert report.counts["bounced"] == 1
    assert report.counts["sent"] == 1
    assert states(sessions)["bounce@example.org"] == "bounced"
    with sessions() as session:
        bounced = subscriber_rows.find(session, "bounce@example.org")
    assert bounced is not None
    assert bounced.status == "bounced"
    assert bounced.suppressed_reason is not None
    assert "5.1.1" in bounced.suppressed_reason


async def test_a_recipient_refusing_us_by_policy_holds_up_nobody(
    settings: Settings, sessions: sessionmaker[Session], smtp_server: ScriptedSmtpServer
) -> None:
    # Issue 14: one "550 5.7.1" at RCPT used to stop every run, for good.
    others = [f"r{n}@example.org" for n in range(199)]
    queue_for(sessions, [*others[:100], "policy@example.org", *others[100:]])
    clock = Clock()
    report = await drain(settings, sessions, smtp_server, clock)
    assert report.stopped is None
    assert (report.counts["sent"], report.counts["refused"]) == (199, 1)
    assert sorted(m.rcpt_tos[0] for m in smtp_server.accepted) == sorted(others)
    with sessions() as session:
        row = session.scalars(
            select(OutboxRow).join(SubscriberRow).where(SubscriberRow.email == "policy@example.org")
        ).one()
        subscriber = subscriber_rows.find(session, "policy@example.org")
    assert (row.state, row.attempts) == ("deferred", 1)  # retried with backoff, then failed
    assert row.next_attempt_at == START + timedelta(minutes=5)
    assert row.last_reply is not None
    assert row.last_reply.startswith("550 5.7.1")
    assert subscriber is not None
    assert subscriber.status == "active"  # not the address's fault
    clock.now = START + timedelta(days=3)
    await drain(settings, sessions, smtp_server, clock)
    assert states(sessions)["policy@example.org"] == "failed"


async def test_a_refusal_of_our_sender_stops_the_run_without_blaming_anyone(
    settings: Settings, sessions: sessionmaker[Session], smtp_server: ScriptedSmtpServer
) -> None:
    smtp_server.script("bounces", Script(mail="550 5.7.1 Sender blocked by policy", times=3))
    queue_for(sessions, [f"r{n}@example.org" for n in range(21)])
    report = await drain(settings, sessions, smtp_server, Clock(), size=1)
    assert report.stopped is not None
    assert "5.7.1" in report.stopped
    with sessions() as session:
        counts = outbox.counts_by_state(session)
        row = subscriber_rows.find(session, "r0@example.org")
    assert row is not None
    assert row.status == "active"
    assert counts.get("sending", 0) == 0  # nothing left claimed
    assert counts == {"queued": 21}  # every row waits, untouched
    assert smtp_server.messages == []


async def test_the_same_refusal_for_many_recipients_stops_the_run(
    settings: Settings, sessions: sessionmaker[Session], smtp_server: ScriptedSmtpServer
) -> None:
    # "Relaying denied" names each recipient but is about us: it stops the run.
    smtp_server.default = Script(rcpt="554 5.7.1 Relay access denied")
    queue_for(sessions, [f"r{n}@example.org" for n in range(60)])
    report = await drain(settings, sessions, smtp_server, Clock(), size=1)
    assert report.stopped is not None
    assert "refused 10 recipients alike" in report.stopped
    assert report.counts["refused"] == REFUSALS_ALIKE_TO_STOP
    with sessions() as session:
        counts = outbox.counts_by_state(session)
        statuses = set(session.scalars(select(SubscriberRow.status)))
    assert counts == {"deferred": REFUSALS_ALIKE_TO_STOP, "queued": 60 - REFUSALS_ALIKE_TO_STOP}
    assert statuses == {"active"}


async def test_connection_lost_after_data_is_ambiguous_and_retried_with_same_message_id(
    settings: Settings, sessions: sessionmaker[Session], smtp_server: ScriptedSmtpServer
) -> None:
    smtp_server.script("lost", Script(drop="data", times=1))
    queue_for(sessions, ["lost@example.org"])
    clock = Clock()
    report = await drain(settings, sessions, smtp_server, clock)
    assert report.counts["ambiguous"] == 1
    with sessions() as session:
        row = session.scalars(select(OutboxRow)).one()
    assert row.state == "deferred"
    assert row.last_reply is not None
    clock.now = row.next_attempt_at
    await drain(settings, sessions, smtp_server, clock)
    ids = [message_from_bytes(m.data)["Message-ID"] for m in smtp_server.messages]
    assert len(ids) == 2
    assert ids[0] == ids[1]
    assert states(sessions) == {"lost@example.org": "sent"}


async def test_connection_lost_before_data_is_deferred(
    settings: Settings, sessions: sessionmaker[Session], smtp_server: ScriptedSmtpServer
) -> None:
    queue_for(sessions, ["dropbeforedata@example.org", "ada@example.org"])
    report = await drain(settings, sessions, smtp_server, Clock(), size=1)
    assert report.counts["deferred"] == 1
    assert report.counts["sent"] == 1
    assert smtp_server.messages
    assert all(m.rcpt_tos == ("ada@example.org",) for m in smtp_server.messages)


async def test_slow_server_times_out_and_is_deferred(
    settings: Settings, sessions: sessionmaker[Session], smtp_server: ScriptedSmtpServer
) -> None:
    smtp_server.script("slow", Script(delay=1.0, delay_at="rcpt"))
    queue_for(sessions, ["slow@example.org"])
    report = await drain(settings, sessions, smtp_server, Clock(), timeout=0.3)
    assert report.counts["deferred"] == 1
    assert states(sessions) == {"slow@example.org": "deferred"}


async def test_permanent_failure_is_not_a_bounce(
    settings: Settings, sessions: sessionmaker[Session], smtp_server: ScriptedSmtpServer
) -> None:
    queue_for(sessions, ["full@example.org"])
    await drain(settings, sessions, smtp_server, Clock())
    assert states(sessions) == {"full@example.org": "failed"}
    with sessions() as session:
        row = subscriber_rows.find(session, "full@example.org")
    assert row is not None
    assert row.status == "active"


async def test_unsubscribed_before_sending_is_cancelled_not_sent(
    settings: Settings, sessions: sessionmaker[Session], smtp_server: ScriptedSmtpServer
) -> None:
    queue_for(sessions, ["ada@example.org"])
    with sessions.begin() as session:
        row = subscriber_rows.find(session, "ada@example.org")
        assert row is not None
        subscribers.unsubscribe(session, subscriber=row, now=START)
    report = await drain(settings, sessions, smtp_server, Clock())
    assert report.cancelled == 1
    assert smtp_server.messages == []
    assert states(sessions) == {"ada@example.org": "cancelled"}


async def test_error_threshold_pauses_the_run(
    settings: Settings, sessions: sessionmaker[Session], smtp_server: ScriptedSmtpServer
) -> None:
    smtp_server.default = Script(rcpt="451 4.3.0 Server busy")
    queue_for(sessions, [f"r{n}@example.org" for n in range(120)])
    report = await drain(settings, sessions, smtp_server, Clock(), size=1)
    assert report.stopped is not None
    assert report.stopped.startswith("paused")
    assert report.attempted < 120
    with sessions() as session:
        counts = outbox.counts_by_state(session)
    assert counts.get("sending", 0) == 0
    assert counts["queued"] == 120 - report.attempted


async def test_slow_down_replies_halve_the_rate(
    settings: Settings, sessions: sessionmaker[Session], smtp_server: ScriptedSmtpServer
) -> None:
    queue_for(sessions, ["defer421@example.org"])
    limiter = TokenBucket(100.0, burst=100)
    await drain(settings, sessions, smtp_server, Clock(), limiter=limiter)
    assert limiter.rate == pytest.approx(50.0)


async def test_expired_lease_is_reclaimed_by_another_worker(
    settings: Settings, sessions: sessionmaker[Session], smtp_server: ScriptedSmtpServer
) -> None:
    queue_for(sessions, ["ada@example.org"])
    claimed = outbox_claims.claim(sessions, now=START, limit=10, lease=timedelta(minutes=10))
    assert len(claimed) == 1  # a worker took it, then died
    clock = Clock()
    multi = SendPolicy(single_worker=False, lease=timedelta(minutes=10))
    assert (await drain(settings, sessions, smtp_server, clock, policy=multi)).attempted == 0
    clock.now = START + timedelta(minutes=11)
    report = await drain(settings, sessions, smtp_server, clock, policy=multi)
    assert report.counts["sent"] == 1
    assert states(sessions) == {"ada@example.org": "sent"}


async def test_status_is_checked_right_before_each_message(
    settings: Settings, sessions: sessionmaker[Session], smtp_server: ScriptedSmtpServer
) -> None:
    queue_for(sessions, ["ada@example.org", "alan@example.org"])

    def unsubscribe_alan(_: Verdict) -> None:  # after the first mail of the same batch
        with sessions.begin() as session:
            row = subscriber_rows.find(session, "alan@example.org")
            assert row is not None
            subscribers.unsubscribe(session, subscriber=row, now=START)

    report = await drain(settings, sessions, smtp_server, Clock(), size=1,
                         on_outcome=unsubscribe_alan)  # fmt: skip
    assert report.cancelled == 1
    assert [m.rcpt_tos for m in smtp_server.accepted] == [("ada@example.org",)]
    assert states(sessions) == {"ada@example.org": "sent", "alan@example.org": "cancelled"}


async def test_rows_whose_lease_ran_out_mid_batch_are_sent_once(
    settings: Settings, sessions: sessionmaker[Session], smtp_server: ScriptedSmtpServer
) -> None:
    # A slow batch outlives its lease and another sender takes the waiting rows back: the
    # first sender must not send them too.
    addresses = [f"r{n}@example.org" for n in range(5)]
    queue_for(sessions, addresses)
    clock = Clock()
    policy = SendPolicy(single_worker=False, lease=timedelta(minutes=1))
    done = []

    def another_sender_reclaims(_: Verdict) -> None:
        done.append(1)
        if len(done) == 2:
            clock.now += timedelta(minutes=2)
            assert outbox_claims.reclaim_expired(sessions, now=clock.now) == 3

    await drain(settings, sessions, smtp_server, clock, policy=policy, size=1,
                on_outcome=another_sender_reclaims)  # fmt: skip
    received = [m.rcpt_tos[0] for m in smtp_server.accepted]
    assert sorted(received) == addresses  # each once: the reclaimed three were sent later
    assert set(states(sessions).values()) == {"sent"}


async def test_a_stop_request_sends_nothing_more(
    settings: Settings, sessions: sessionmaker[Session], smtp_server: ScriptedSmtpServer
) -> None:
    queue_for(sessions, [f"r{n}@example.org" for n in range(6)])
    sent: list[Verdict] = []
    report = await drain(settings, sessions, smtp_server, Clock(), size=1,
                         on_outcome=sent.append, should_stop=lambda: len(sent) >= 2)  # fmt: skip
    assert report.attempted == 2
    with sessions() as session:
        assert outbox.counts_by_state(session) == {"sent": 2, "queued": 4}


async def test_outcomes_are_committed_in_groups_and_all_of_them_at_the_end(
    settings: Settings, sessions: sessionmaker[Session], smtp_server: ScriptedSmtpServer
) -> None:
    queue_for(sessions, [f"r{n}@example.org" for n in range(30)])
    committed: list[int] = []

    def count_sent(_: Verdict) -> None:
        with sessions() as session:
            committed.append(outbox.counts_by_state(session).get("sent", 0))

    policy = SendPolicy(single_worker=True, outcome_group=8, outcome_group_seconds=60.0)
    report = await drain(settings, sessions, smtp_server, Clock(), policy=policy,
                         on_outcome=count_sent)  # fmt: skip
    assert report.counts["sent"] == 30
    assert committed == [8 * (k // 8) for k in range(1, 31)]  # committed eight at a time
    with sessions() as session:
        assert outbox.counts_by_state(session) == {"sent": 30}
        assert session.scalar(select(func.count()).select_from(SentPaperRow)) == 30 * len(PAPERS)


@pytest.mark.postgres
async def test_grouped_outcomes_renewals_and_status_reads_on_postgresql(
    settings: Settings, postgres_url: str, smtp_server: ScriptedSmtpServer
) -> None:
    engine = make_engine(postgres_url)
    migrations.upgrade(engine)
    pg = session_factory(engine)
    addresses = [f"r{n}@example.org" for n in range(40)]
    queue_for(pg, [*addresses[:20], "bounce@example.org", "left@example.org", *addresses[20:]])
    with pg.begin() as session:
        row = subscriber_rows.find(session, "left@example.org")
        assert row is not None
        subscribers.unsubscribe(session, subscriber=row, now=START)
    clock = Clock()

    def time_passes(_: Verdict) -> None:  # a slow relay: leases are renewed on the way
        clock.now += timedelta(seconds=20)

    policy = SendPolicy(lease=timedelta(minutes=1), outcome_group=8, outcome_group_seconds=60.0)
    report = await drain(settings, pg, smtp_server, clock, policy=policy, on_outcome=time_passes)
    assert (report.counts["sent"], report.counts["bounced"], report.cancelled) == (40, 1, 1)
    assert sorted(m.rcpt_tos[0] for m in smtp_server.accepted) == sorted(addresses)
    with pg() as session:
        assert outbox.counts_by_state(session) == {"sent": 40, "bounced": 1, "cancelled": 1}
        assert session.scalar(select(func.count()).select_from(SentPaperRow)) == 40 * len(PAPERS)
        bounced = subscriber_rows.find(session, "bounce@example.org")
        assert bounced is not None
        assert bounced.status == "bounced"
    engine.dispose()
