"""Drain the outbox: claim due digests, send each over the SMTP pool, record every outcome.

Outcomes are committed in small groups (`SendPolicy.outcome_group`, at most so many messages
and so many seconds), so a crash re-sends at most the messages in flight and one group, each
with its Message-ID. Before each message its subscriber's status is read again (no write),
and the batch's leases are renewed together when half a lease has passed, so a row taken
over by another sender is never sent from here. Reply classes decide what happens next
(see replies.py):
deferrals back off exponentially and give up after days, bounces suppress the address, a
recipient's policy refusal (5.7.x at RCPT) is that row's deferral, and a refusal of our side
(AUTH, MAIL FROM, the session, or the same refusal for many different recipients) stops the
whole run without blaming anyone.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from newsletter.db import outbox_claims, outcomes
from newsletter.db.outbox import ClaimedDigest, State
from newsletter.db.outcomes import Outcome
from newsletter.db.papers import papers_by_id
from newsletter.delivery.compose import Composer, queued_digest
from newsletter.delivery.grouping import OutcomeGroup
from newsletter.delivery.ratelimit import TokenBucket
from newsletter.delivery.replies import (
    REFUSALS_ALIKE_TO_STOP,
    Classification,
    Reply,
    Verdict,
    classify,
    refusal_key,
)
from newsletter.delivery.smtp import SmtpPool
from newsletter.domain import Paper, Status
from newsletter.mail.verp import Verp
from newsletter.metrics import MAILS, SEND_SECONDS

log = logging.getLogger(__name__)
MAX_RETRY_DELAY = timedelta(hours=6)
MIN_ATTEMPTS_FOR_ERROR_RATE = 50  # fewer outcomes say little about the relay


@dataclass(frozen=True)
class SendPolicy:
    batch_size: int = 200
    lease: timedelta = timedelta(minutes=10)
    first_retry: timedelta = timedelta(minutes=5)
    give_up_after: timedelta = timedelta(days=3)
    max_error_rate: float = 0.2
    # SQLite has one sender by construction, so rows left `sending` by a killed process
    # can be retried at once instead of after their lease.
    single_worker: bool = False
    # Outcomes committed together: at most this many, this long after the first (1: each
    # alone). A crash sends the uncommitted ones again.
    outcome_group: int = 1
    outcome_group_seconds: float = 0.0

    def retry_delay(self, attempts: int) -> timedelta:
        delay: timedelta = self.first_retry * (2 ** max(attempts - 1, 0))
        return min(delay, MAX_RETRY_DELAY)


@dataclass
class SendReport:
    counts: dict[str, int] = field(default_factory=lambda: {v.value: 0 for v in Verdict})
    cancelled: int = 0
    stopped: str | None = None  # why the run stopped early, if it did

    @property
    def attempted(self) -> int:
        return sum(self.counts.values())

    @property
    def errors(self) -> int:
        return self.attempted - self.counts[Verdict.SENT.value]


@dataclass
class _Batch:
    """The rows claimed together, and which of them this sender still holds."""

    digests: list[ClaimedDigest]
    renew_at: datetime
    lost: set[int] = field(default_factory=set)


@dataclass
class Sender:
    sessions: sessionmaker[Session]
    pool: SmtpPool
    limiter: TokenBucket
    composer: Composer
    policy: SendPolicy
    clock: Callable[[], datetime]
    verp: Verp
    on_outcome: Callable[[Verdict], None] = lambda _: None
    should_stop: Callable[[], bool] = lambda: False  # e.g. SIGTERM: finish in-flight mail only
    report: SendReport = field(default_factory=SendReport)
    # Recipient refusals since the last accepted mail: refusal_key -> recipients refused so.
    _refusals: dict[str, set[str]] = field(default_factory=dict)

    async def drain(self) -> SendReport:
        """Send every due digest, then return the run's counts."""
        reclaimed = outbox_claims.reclaim_expired(
            self.sessions, now=self.clock(), everything=self.policy.single_worker
        )
        if reclaimed:
            log.warning("%d digests were in flight when a sender stopped; retrying", reclaimed)
        self._outcomes = OutcomeGroup(
            lambda group: outcomes.record(self.sessions, group),
            size=self.policy.outcome_group,
            seconds=self.policy.outcome_group_seconds,
        )
        with outcomes.StatusReader(outcomes.engine_of(self.sessions)) as reader:
            self._reader = reader
            try:
                await self._claim_and_send()
            finally:
                self._outcomes.flush()
        return self.report

    async def _claim_and_send(self) -> None:
        while self.report.stopped is None and not self.should_stop():
            now = self.clock()
            batch = outbox_claims.claim(
                self.sessions, now=now, limit=self.policy.batch_size, lease=self.policy.lease
            )
            if not batch:
                return
            self._batch = _Batch(batch, renew_at=now + self.policy.lease / 2)
            await self._send_batch(batch)

    async def _send_batch(self, batch: list[ClaimedDigest]) -> None:
        with self.sessions() as session:
            papers = papers_by_id(session, sorted({i for d in batch for i in d.paper_ids}))
        pending: asyncio.Queue[ClaimedDigest] = asyncio.Queue()
        for digest in batch:
            pending.put_nowait(digest)
        workers = [self._worker(pending, papers) for _ in range(self.pool.size)]
        await asyncio.gather(*workers)
        self._outcomes.flush()  # no outcome outlives its batch, nor needs a lease renewed
        leftover = [pending.get_nowait() for _ in range(pending.qsize())]
        outbox_claims.release(self.sessions, leftover)

    async def _worker(
        self, pending: asyncio.Queue[ClaimedDigest], papers: dict[str, Paper]
    ) -> None:
        while self.report.stopped is None and not self.should_stop() and not pending.empty():
            digest = pending.get_nowait()
            await self._deliver(digest, papers)

    def _held(self, digest: ClaimedDigest, now: datetime) -> bool:
        """Whether this sender still holds the row. Half a lease after the claim (or the last
        renewal), the batch's leases are renewed together; rows that were taken over
        meanwhile (a slow relay outlived the lease) are dropped from this batch."""
        batch = self._batch
        if now >= batch.renew_at:
            lease = self.policy.lease
            held = outcomes.renew(self.sessions, batch.digests, now=now, lease=lease)
            batch.lost = {d.outbox_id for d in batch.digests} - held
            batch.renew_at = now + lease / 2
        return digest.outbox_id not in batch.lost

    async def _deliver(self, digest: ClaimedDigest, papers: dict[str, Paper]) -> None:
        now = self.clock()
        if not self._held(digest, now):
            log.warning("digest %s was taken over by another sender", digest.outbox_id)
            return
        status = self._reader.status(digest.subscriber_id)
        if status is not Status.ACTIVE:  # unsubscribed, paused or bounced since it was queued
            why = f"not sent: subscriber is {status}"
            self._outcomes.add(Outcome(digest, State.CANCELLED, why, now))
            self.report.cancelled += 1
            return
        try:
            data = self.composer.compose(
                queued_digest(digest, papers), message_id=digest.message_id, now=now
            )
        except Exception as exc:  # a bad row must not stop everyone else's mail
            log.exception("could not build digest %s for %s", digest.outbox_id, digest.email)
            self._outcomes.add(Outcome(digest, State.FAILED, f"render: {exc}"[:500], now))
            self._count(Verdict.FAILED)
            return
        started = time.perf_counter()
        reply = await self.pool.send(
            envelope_from=self.envelope_from(digest), recipient=digest.email, data=data
        )
        SEND_SECONDS.observe(time.perf_counter() - started)
        self._record(digest, reply, classify(reply))

    def envelope_from(self, digest: ClaimedDigest) -> str:
        """The return path of this digest (VERP): a bounce to it names the outbox row and the
        recipient, signed, which is what lets bounce handling tell it from a forgery."""
        return self.verp.for_digest(digest.outbox_id, digest.email)

    def _record(self, digest: ClaimedDigest, reply: Reply, verdict: Classification) -> None:
        now = self.clock()
        text = str(reply)
        if verdict.slow_down:
            self.limiter.slow_down()
        match verdict.verdict:
            case Verdict.SENT:
                self._outcomes.add(Outcome(digest, State.SENT, text, now))
            case Verdict.DEFERRED | Verdict.AMBIGUOUS:
                self._retry_or_give_up(digest, text, now)
            case Verdict.REFUSED:
                self._retry_or_give_up(digest, text, now)
                self._note_refusal(digest.email, reply)
            case Verdict.BOUNCED:
                self._outcomes.add(Outcome(digest, State.BOUNCED, text, now, suppress=True))
            case Verdict.FAILED:
                self._outcomes.add(Outcome(digest, State.FAILED, text, now))
            case Verdict.STOP:
                # Not the recipient's fault: the row goes back untouched for the next run.
                outbox_claims.release(self.sessions, [digest])
                self._stop(f"the relay refused us ({verdict.reason}): {text}")
        self._count(verdict.verdict)

    def _note_refusal(self, recipient: str, reply: Reply) -> None:
        """The same refusal for many different recipients, nothing accepted meanwhile, is
        about us (e.g. "5.7.1 Relaying denied"), not about them: stop the run."""
        refused = self._refusals.setdefault(refusal_key(reply), set())
        refused.add(recipient)
        if len(refused) >= REFUSALS_ALIKE_TO_STOP:
            self._stop(f"the relay refused {len(refused)} recipients alike: {reply}")

    def _retry_or_give_up(self, digest: ClaimedDigest, reply: str, now: datetime) -> None:
        if now - digest.created_at >= self.policy.give_up_after:
            self._outcomes.add(Outcome(digest, State.FAILED, f"gave up: {reply}", now))
            return
        retry_at = now + self.policy.retry_delay(digest.attempts)
        self._outcomes.add(Outcome(digest, State.DEFERRED, reply, now, retry_at=retry_at))

    def _count(self, verdict: Verdict) -> None:
        self.report.counts[verdict.value] += 1
        if verdict is Verdict.SENT:
            self._refusals.clear()
        MAILS.labels(verdict.value).inc()
        self.on_outcome(verdict)
        attempted = self.report.attempted
        if (
            self.report.stopped is None
            and attempted >= MIN_ATTEMPTS_FOR_ERROR_RATE
            and self.report.errors / attempted > self.policy.max_error_rate
        ):
            self._stop(
                f"paused: {self.report.errors} of {attempted} mails were not accepted "
                f"(over {self.policy.max_error_rate:.0%}); check the relay and the last replies"
            )

    def _stop(self, reason: str) -> None:
        if self.report.stopped is None:
            log.error("sending stopped: %s", reason)
            self.report.stopped = reason
