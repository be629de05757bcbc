"""Bounce reports: every event is recorded first, then acted on, if it proves itself.

Only an event that proves it is about mail this service sent to its recipient
(newsletter.db.bounce_proof: a verified VERP return path or a recorded Message-ID) acts;
any other is recorded as `unverified` and changes nothing, since anyone can write to the
bounce mailbox. Verified hard bounces (the mailbox does not exist) suppress the address at
once; soft ones (mailbox full, a policy block) only when `soft_limit` different mails
bounced within `window`, since most clear up by themselves; complaints (a reader pressed
"spam") unsubscribe; delays and auto-replies are only recorded.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from newsletter.db.bounce_proof import claims_in, prove
from newsletter.db.models import BounceEventRow, SubscriberRow
from newsletter.domain import BounceEvent, ReturnedMail, Status
from newsletter.mail.verp import Verp

UNVERIFIED = "unverified"


@dataclass(frozen=True)
class BouncePolicy:
    soft_limit: int = 3
    window: timedelta = timedelta(days=14)


@dataclass
class BounceReport:
    events: int = 0
    duplicates: int = 0
    unverified: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    suppressed: list[str] = field(default_factory=list)
    unsubscribed: list[str] = field(default_factory=list)


def fingerprint(report: bytes, event: BounceEvent) -> str:
    return hashlib.sha256(report + b"\0" + event.recipient.encode()).hexdigest()


def record_reports(
    session: Session,
    reports: Iterable[ReturnedMail],
    *,
    policy: BouncePolicy,
    verp: Verp,
    now: datetime,
) -> BounceReport:
    """Record each report's events and apply the policy to the verified ones; a report
    already recorded (same bytes, same recipient) is skipped, so a mailbox can be ingested
    again safely."""
    result = BounceReport()
    for report in reports:
        claims = claims_in(report.envelope, verp)
        for event in report.events:
            key = fingerprint(report.raw, event)
            if session.scalar(select(BounceEventRow.id).where(BounceEventRow.fingerprint == key)):
                result.duplicates += 1
                continue
            proof = prove(session, event, claims, verp)
            row = BounceEventRow(
                fingerprint=key,
                recipient=event.recipient,
                kind=event.kind.value,
                status=event.status,
                diagnostic=event.diagnostic[:500],
                message_id=event.message_id,
                reported_at=event.received_at,
                recorded_at=now,
                verified_by=proof.via if proof else None,
                sent_message_id=proof.message_id if proof else None,
            )
            session.add(row)
            session.flush()  # recorded before it is acted on
            if proof is None:
                row.action = UNVERIFIED
                result.unverified += 1
            else:
                row.action = _act(session, row, policy=policy, now=now, result=result)
            result.events += 1
            result.kinds[row.kind] += 1
    return result


def _act(
    session: Session, row: BounceEventRow, *, policy: BouncePolicy, now: datetime,
    result: BounceReport,
) -> str:  # fmt: skip
    subscriber = session.scalar(select(SubscriberRow).where(SubscriberRow.email == row.recipient))
    if subscriber is None:
        return "unknown address"
    stopped = (Status.BOUNCED, Status.UNSUBSCRIBED)
    if row.kind == "complaint":
        if subscriber.status not in stopped:
            subscriber.status = Status.UNSUBSCRIBED
            subscriber.unsubscribed_at = now
            result.unsubscribed.append(row.recipient)
        return "unsubscribed (complaint)"
    if row.kind == "hard":
        reason = f"hard bounce {row.status or ''}: {row.diagnostic}"
        return _suppress(subscriber, reason, now=now, result=result)
    if row.kind == "soft":
        recent = _soft_bounced_mails(session, row.recipient, since=now - policy.window)
        if recent >= policy.soft_limit:
            reason = f"{recent} soft bounces in {policy.window.days} days: {row.diagnostic}"
            return _suppress(subscriber, reason, now=now, result=result)
        return f"counted ({recent} of {policy.soft_limit})"
    return "recorded"


def _soft_bounced_mails(session: Session, recipient: str, *, since: datetime) -> int:
    """Verified soft bounces of different mails: reports repeating the failure of one mail
    count once. By when the bounce happened (the report's
    date) where known: ingesting an old mailbox must not add up months-old soft bounces."""
    happened = func.coalesce(BounceEventRow.reported_at, BounceEventRow.recorded_at)
    mail = func.coalesce(BounceEventRow.sent_message_id, BounceEventRow.fingerprint)
    count = session.scalar(
        select(func.count(distinct(mail))).where(
            BounceEventRow.recipient == recipient,
            BounceEventRow.kind == "soft",
            BounceEventRow.verified_by.is_not(None),
            happened >= since,
        )
    )
    return int(count or 0)


def _suppress(
    subscriber: SubscriberRow, reason: str, *, now: datetime, result: BounceReport
) -> str:
    if subscriber.status in (Status.BOUNCED, Status.UNSUBSCRIBED):
        return f"already {subscriber.status}"
    subscriber.status = Status.BOUNCED
    subscriber.suppressed_reason = reason[:500]
    subscriber.suppressed_at = now
    result.suppressed.append(subscriber.email)
    return "suppressed"
