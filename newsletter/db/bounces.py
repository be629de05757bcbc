"""Bounce reports: every event is recorded first, then acted on.

Hard bounces (the mailbox does not exist) suppress the address at once; soft ones (mailbox
full, a policy block) only when `soft_limit` of them arrive within `window`, since most
clear up by themselves; complaints (a reader pressed "spam") unsubscribe; delays and
auto-replies are only recorded.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from newsletter.db.models import BounceEventRow, SubscriberRow
from newsletter.domain import BounceEvent, Status


@dataclass(frozen=True)
class BouncePolicy:
    soft_limit: int = 3
    window: timedelta = timedelta(days=14)


@dataclass
class BounceReport:
    events: int = 0
    duplicates: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    suppressed: list[str] = field(default_factory=list)
    unsubscribed: list[str] = field(default_factory=list)


def fingerprint(report: bytes, event: BounceEvent) -> str:
    return hashlib.sha256(report + b"\0" + event.recipient.encode()).hexdigest()


def record_reports(
    session: Session,
    reports: Iterable[tuple[bytes, list[BounceEvent]]],
    *,
    policy: BouncePolicy,
    now: datetime,
) -> BounceReport:
    """Record each (raw report, its events) and apply the policy; a report already recorded
    (same bytes, same recipient) is skipped, so a mailbox can be ingested again safely."""
    result = BounceReport()
    for raw, events in reports:
        for event in events:
            key = fingerprint(raw, event)
            if session.scalar(select(BounceEventRow.id).where(BounceEventRow.fingerprint == key)):
                result.duplicates += 1
                continue
            row = BounceEventRow(
                fingerprint=key,
                recipient=event.recipient,
                kind=event.kind.value,
                status=event.status,
                diagnostic=event.diagnostic[:500],
                message_id=event.message_id,
                reported_at=event.received_at,
                recorded_at=now,
            )
            session.add(row)
            session.flush()  # recorded before it is acted on
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
        return _suppress(subscriber, f"hard bounce {row.status or ''}: {row.diagnostic}", result)
    if row.kind == "soft":
        # By when the bounce happened (the report's date) where known: ingesting an old
        # mailbox must not add up months-old soft bounces.
        happened = func.coalesce(BounceEventRow.reported_at, BounceEventRow.recorded_at)
        recent = session.scalar(
            select(func.count())
            .select_from(BounceEventRow)
            .where(
                BounceEventRow.recipient == row.recipient,
                BounceEventRow.kind == "soft",
                happened >= now - policy.window,
            )
        )
        if (recent or 0) >= policy.soft_limit:
            reason = f"{recent} soft bounces in {policy.window.days} days: {row.diagnostic}"
            return _suppress(subscriber, reason, result)
        return f"counted ({recent} of {policy.soft_limit})"
    return "recorded"


def _suppress(subscriber: SubscriberRow, reason: str, result: BounceReport) -> str:
    if subscriber.status in (Status.BOUNCED, Status.UNSUBSCRIBED):
        return f"already {subscriber.status}"
    subscriber.status = Status.BOUNCED
    subscriber.suppressed_reason = reason[:500]
    result.suppressed.append(subscriber.email)
    return "suppressed"
