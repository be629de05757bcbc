"""Which digests are due now: each subscriber's own send hour in their own time zone.

Run every few minutes (and after downtime): for every (time zone, send hour) of the active
subscribers, the local days whose send time has passed — today, and `catch_up_days` before
it — get their digest queued if they have none yet. The outbox's unique (subscriber, day)
makes it idempotent; on PostgreSQL an advisory lock also keeps two schedulers from matching
the same subscribers at once.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from newsletter.db.due import DueSlot, send_slots
from newsletter.db.locks import DISPATCH_LOCK, exclusive
from newsletter.matching.semantic import Embedder
from newsletter.metrics import DIGESTS_QUEUED
from newsletter.pipeline.queueing import DigestOptions, NoPapersError, queue_digests

log = logging.getLogger(__name__)


def send_time(day: date, *, hour: int, zone: ZoneInfo) -> datetime:
    """The instant of `hour`:00 local time on `day`. In a spring-forward gap the wall clock
    is read with the offset before the change (so 02:00 that does not exist is 03:00)."""
    return datetime.combine(day, time(hour), tzinfo=zone)


def due_days(now: datetime, *, hour: int, zone: ZoneInfo, catch_up_days: int) -> list[date]:
    """Local days, oldest first, whose send time has passed: today (if it has) and up to
    `catch_up_days` before it."""
    today = now.astimezone(zone).date()
    days = [today - timedelta(days=back) for back in range(catch_up_days, -1, -1)]
    return [day for day in days if send_time(day, hour=hour, zone=zone) <= now]


def next_send_time(
    after: datetime, *, hour: int, zone: ZoneInfo, weekday: int | None = None
) -> datetime:
    """The first send time at or after `after` (weekly: on `weekday`, 0 = Monday): when a
    subscriber confirmed at `after` is first due, since a digest goes to those confirmed by
    its send time. A digest then leaves with the next dispatch run, if papers are stored."""
    local_day = after.astimezone(zone).date()
    for ahead in range(8):
        day = local_day + timedelta(days=ahead)
        at = send_time(day, hour=hour, zone=zone)
        if at >= after and (weekday is None or day.weekday() == weekday):
            return at
    raise AssertionError("a week always holds the weekday")  # pragma: no cover


@dataclass
class DispatchReport:
    queued: dict[date, int] = field(default_factory=dict)
    no_papers: list[date] = field(default_factory=list)
    skipped_locked: bool = False

    @property
    def total(self) -> int:
        return sum(self.queued.values())


def plan(
    sessions: sessionmaker[Session], *, now: datetime, default_timezone: str, catch_up_days: int
) -> dict[date, list[DueSlot]]:
    """For each local day with digests due, the (time zone, hour) slots due on it."""
    with sessions() as session:
        slots = send_slots(session)
    by_day: dict[date, list[DueSlot]] = defaultdict(list)
    for timezone, hour in slots:
        zone = ZoneInfo(timezone or default_timezone)
        for day in due_days(now, hour=hour, zone=zone, catch_up_days=catch_up_days):
            slot = DueSlot(timezone, hour, send_time(day, hour=hour, zone=zone))
            by_day[day].append(slot)
    return dict(sorted(by_day.items()))


def dispatch(
    *,
    sessions: sessionmaker[Session],
    now: datetime,
    default_timezone: str,
    options: DigestOptions,
    embedder: Embedder | None,
    catch_up_days: int = 1,
    parts: int = 1,
) -> DispatchReport:
    report = DispatchReport()
    taken = 0
    for part in range(parts):
        with exclusive(sessions, DISPATCH_LOCK + part) as held:
            if not held:
                continue
            taken += 1
            days = plan(
                sessions, now=now, default_timezone=default_timezone, catch_up_days=catch_up_days
            )
            which = (part, parts) if parts > 1 else None
            for day, slots in days.items():
                _queue_part(sessions, report, day, slots, now=now, options=options,
                            embedder=embedder, part=which)  # fmt: skip
    report.skipped_locked = taken == 0
    DIGESTS_QUEUED.inc(report.total)
    if report.total:
        log.info("queued %d digests", report.total, extra={"event": "dispatch"})
    return report


def _queue_part(
    sessions: sessionmaker[Session],
    report: DispatchReport,
    day: date,
    slots: list[DueSlot],
    *,
    now: datetime,
    options: DigestOptions,
    embedder: Embedder | None,
    part: tuple[int, int] | None,
) -> None:
    try:
        result = queue_digests(sessions=sessions, day=day, options=options, embedder=embedder,
                               now=now, slots=slots, part=part)  # fmt: skip
    except NoPapersError:
        if day not in report.no_papers:
            report.no_papers.append(day)
        return
    report.queued[day] = report.queued.get(day, 0) + result.queued
