"""Digests at each subscriber's own hour, across time zones and DST, with catch-up."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from newsletter.db import subscriber_rows, subscribers
from newsletter.db.models import OutboxRow, SubscriberRow
from newsletter.db.papers import store_papers
from newsletter.db.subscriptions import set_paused
from newsletter.domain import InterestProfile
from newsletter.pipeline.dispatch import dispatch as run_dispatch
from newsletter.pipeline.dispatch import due_days, next_send_time, send_time
from newsletter.pipeline.queueing import DigestOptions
from tests.support.factories import arxiv_paper

ZONES = ("America/New_York", "Europe/Berlin", "Asia/Tokyo")
OPTIONS = DigestOptions(
    max_papers=5,
    quiet_day=True,  # every due day gets a row, so "one per due day" is checkable
    new_message_id=lambda: f"<{datetime.now(UTC).timestamp()}.{threading.get_ident()}@x>",
    window_days=2,
)


def seed_days(sessions: sessionmaker[Session], first: date, last: date) -> None:
    papers = []
    day = first
    while day <= last:
        papers.append(
            arxiv_paper(
                f"2610.{day.toordinal() % 100000:05d}",
                title=f"Retrieval augmented generation study of {day}",
                abstract="We study retrieval augmented generation for question answering.",
                announced_on=day,
            )
        )
        day += timedelta(days=1)
    with sessions.begin() as session:
        store_papers(session, papers, now=datetime(2026, 10, 1, tzinfo=UTC))


def add(
    sessions: sessionmaker[Session], email: str, *, zone: str, hour: int, since: datetime
) -> None:
    with sessions.begin() as session:
        row, _ = subscribers.add_or_update(
            session,
            email=email,
            profile=InterestProfile("retrieval augmented generation"),
            confirmed=True,
            now=since,
        )
        row.timezone, row.send_hour = zone, hour


def rows(sessions: sessionmaker[Session]) -> list[tuple[str, date, datetime]]:
    with sessions() as session:
        found = session.execute(
            select(SubscriberRow.email, OutboxRow.digest_date, OutboxRow.created_at).join(
                OutboxRow, OutboxRow.subscriber_id == SubscriberRow.id
            )
        ).all()
    return [(email, day, created) for email, day, created in found]


def tick(sessions: sessionmaker[Session], now: datetime) -> None:
    run_dispatch(
        sessions=sessions,
        now=now,
        default_timezone="UTC",
        options=OPTIONS,
        embedder=None,
        catch_up_days=1,
    )


def local_days_due(zone: str, *, since: datetime, until: datetime) -> list[date]:
    """Every local day whose 07:00 falls after subscribing and by `until`."""
    tz = ZoneInfo(zone)
    day = since.astimezone(tz).date() - timedelta(days=1)
    found = []
    while day <= until.astimezone(tz).date():
        if since <= send_time(day, hour=7, zone=tz) <= until:
            found.append(day)
        day += timedelta(days=1)
    return found


def test_send_time_follows_daylight_saving() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    # Berlin leaves summer time on 25 October 2026: 07:00 is 05:00 UTC before, 06:00 after.
    assert send_time(date(2026, 10, 24), hour=7, zone=berlin).astimezone(UTC).hour == 5
    assert send_time(date(2026, 10, 26), hour=7, zone=berlin).astimezone(UTC).hour == 6


def test_due_days_are_local_and_include_catch_up() -> None:
    tokyo = ZoneInfo("Asia/Tokyo")
    now = datetime(2026, 11, 2, 23, 30, tzinfo=UTC)  # 08:30 on 3 Nov in Tokyo
    assert due_days(now, hour=8, zone=tokyo, catch_up_days=1) == [
        date(2026, 11, 2),
        date(2026, 11, 3),
    ]
    assert due_days(now, hour=9, zone=tokyo, catch_up_days=0) == []


@pytest.mark.slow  # two weeks, tick by tick
def test_each_subscriber_gets_one_digest_per_day_across_dst_and_downtime(
    sessions: sessionmaker[Session],
) -> None:
    start = datetime(2026, 10, 22, 12, 0, tzinfo=UTC)
    end = datetime(2026, 11, 4, 12, 0, tzinfo=UTC)
    seed_days(sessions, date(2026, 10, 20), date(2026, 11, 5))
    for number, zone in enumerate(ZONES):
        add(sessions, f"r{number}@example.org", zone=zone, hour=7, since=start)
    down_from = datetime(2026, 10, 30, 2, 0, tzinfo=UTC)
    down_until = down_from + timedelta(hours=20)  # the whole process is off
    now = start
    while now <= end:
        if not down_from <= now < down_until:
            tick(sessions, now)
        now += timedelta(minutes=30)

    found = rows(sessions)
    per_subscriber_day = Counter((email, day) for email, day, _ in found)
    assert max(per_subscriber_day.values()) == 1  # never two digests for one day
    for number, zone in enumerate(ZONES):
        email = f"r{number}@example.org"
        days = sorted(day for (who, day) in per_subscriber_day if who == email)
        assert days == local_days_due(zone, since=start, until=end), zone
    # The digests the downtime held back were queued right after it, not skipped.
    late = [
        created
        for _, _, created in found
        if down_until <= created < down_until + timedelta(hours=1)
    ]
    assert late


def test_nothing_is_queued_before_the_local_send_hour(sessions: sessionmaker[Session]) -> None:
    seed_days(sessions, date(2026, 11, 1), date(2026, 11, 3))
    since = datetime(2026, 11, 1, 0, 0, tzinfo=UTC)
    add(sessions, "ny@example.org", zone="America/New_York", hour=9, since=since)
    tick(sessions, datetime(2026, 11, 2, 13, 59, tzinfo=UTC))  # 08:59 in New York
    assert [day for _, day, _ in rows(sessions)] == [date(2026, 11, 1)]  # yesterday's only
    tick(sessions, datetime(2026, 11, 2, 14, 0, tzinfo=UTC))  # 09:00
    assert sorted(day for _, day, _ in rows(sessions)) == [date(2026, 11, 1), date(2026, 11, 2)]


def test_weekly_subscribers_only_on_their_weekday(sessions: sessionmaker[Session]) -> None:
    seed_days(sessions, date(2026, 10, 25), date(2026, 11, 8))
    since = datetime(2026, 10, 25, tzinfo=UTC)
    add(sessions, "weekly@example.org", zone="UTC", hour=6, since=since)
    with sessions.begin() as session:
        session.execute(
            update(SubscriberRow).values(frequency="weekly", send_weekday=2)  # Wednesday
        )
    now = datetime(2026, 10, 26, tzinfo=UTC)
    while now < datetime(2026, 11, 9, tzinfo=UTC):
        tick(sessions, now)
        now += timedelta(hours=3)
    assert sorted(day for _, day, _ in rows(sessions)) == [date(2026, 10, 28), date(2026, 11, 4)]


def test_weekly_digest_on_a_day_without_new_papers(sessions: sessionmaker[Session]) -> None:
    # Sunday 22 Nov 2026: no papers that day or the day before, but the week has some.
    seed_days(sessions, date(2026, 11, 16), date(2026, 11, 20))
    add(sessions, "sunday@example.org", zone="UTC", hour=6, since=datetime(2026, 11, 1, tzinfo=UTC))
    add(sessions, "daily@example.org", zone="UTC", hour=6, since=datetime(2026, 11, 1, tzinfo=UTC))
    with sessions.begin() as session:
        session.execute(
            update(SubscriberRow)
            .where(SubscriberRow.email == "sunday@example.org")
            .values(frequency="weekly", send_weekday=6)
        )
    tick(sessions, datetime(2026, 11, 22, 7, 0, tzinfo=UTC))
    queued = {(email, day) for email, day, _ in rows(sessions)}
    assert ("sunday@example.org", date(2026, 11, 22)) in queued
    # The daily reader has nothing new on Sunday: left undecided, not an empty mail.
    assert not any(email == "daily@example.org" for email, _ in queued if _ == date(2026, 11, 22))


def test_resuming_after_the_send_hour_does_not_mail_the_paused_days(
    sessions: sessionmaker[Session],
) -> None:
    seed_days(sessions, date(2026, 11, 15), date(2026, 11, 20))
    add(sessions, "back@example.org", zone="UTC", hour=7, since=datetime(2026, 11, 1, tzinfo=UTC))
    with sessions.begin() as session:
        row = subscriber_rows.find(session, "back@example.org")
        assert row is not None
        set_paused(row, paused=True)
    tick(sessions, datetime(2026, 11, 18, 12, 0, tzinfo=UTC))  # paused: nothing
    with sessions.begin() as session:
        row = subscriber_rows.find(session, "back@example.org")
        assert row is not None
        set_paused(row, paused=False, now=datetime(2026, 11, 19, 10, 0, tzinfo=UTC))
    tick(sessions, datetime(2026, 11, 19, 10, 5, tzinfo=UTC))
    assert rows(sessions) == []  # neither the paused 18th nor the 19th (its 07:00 had passed)
    tick(sessions, datetime(2026, 11, 20, 7, 0, tzinfo=UTC))
    assert [day for _, day, _ in rows(sessions)] == [date(2026, 11, 20)]


@pytest.mark.postgres
def test_two_schedulers_never_queue_twice(pg_sessions: sessionmaker[Session]) -> None:
    seed_days(pg_sessions, date(2026, 11, 1), date(2026, 11, 2))
    since = datetime(2026, 10, 1, tzinfo=UTC)
    for n in range(300):
        add(pg_sessions, f"r{n}@example.org", zone=ZONES[n % 3], hour=n % 24, since=since)
    now = datetime(2026, 11, 2, 23, 0, tzinfo=UTC)
    threads = [threading.Thread(target=tick, args=(pg_sessions, now)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    found = Counter((email, day) for email, day, _ in rows(pg_sessions))
    assert found
    assert max(found.values()) == 1


def test_next_send_time_is_what_a_new_subscriber_is_first_due() -> None:
    paris = ZoneInfo("Europe/Paris")
    before = datetime(2026, 12, 1, 5, 0, tzinfo=UTC)  # 06:00 in Paris
    after = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)  # 09:00 in Paris
    assert next_send_time(before, hour=7, zone=paris) == datetime(2026, 12, 1, 7, tzinfo=paris)
    assert next_send_time(after, hour=7, zone=paris) == datetime(2026, 12, 2, 7, tzinfo=paris)
    # Weekly on Monday (0): from Tuesday 1 December 2026, the next Monday.
    assert next_send_time(after, hour=7, zone=paris, weekday=0) == datetime(
        2026, 12, 7, 7, tzinfo=paris
    )
    # Confirmed exactly at the send time: that digest is due (confirmed by its send time).
    at_seven = datetime(2026, 12, 1, 7, tzinfo=paris)
    assert next_send_time(at_seven, hour=7, zone=paris) == at_seven


def test_subscribers_queued_in_parts_each_once(sessions: sessionmaker[Session]) -> None:
    seed_days(sessions, date(2026, 11, 1), date(2026, 11, 2))
    since = datetime(2026, 10, 1, tzinfo=UTC)
    for n in range(30):
        add(sessions, f"r{n}@example.org", zone=ZONES[n % 3], hour=7, since=since)
    now = datetime(2026, 11, 2, 23, 0, tzinfo=UTC)
    report = run_dispatch(sessions=sessions, now=now, default_timezone="UTC", options=OPTIONS,
                          embedder=None, catch_up_days=1, parts=4)  # fmt: skip
    found = Counter((email, day) for email, day, _ in rows(sessions))
    assert max(found.values()) == 1
    assert len({email for email, _ in found}) == 30
    assert report.total == sum(1 for _ in found)


@pytest.mark.postgres
def test_dispatchers_share_the_parts_and_queue_everyone_once(
    pg_sessions: sessionmaker[Session],
) -> None:
    sessions = pg_sessions
    seed_days(sessions, date(2026, 11, 1), date(2026, 11, 2))
    since = datetime(2026, 10, 1, tzinfo=UTC)
    for n in range(300):
        add(sessions, f"r{n}@example.org", zone=ZONES[n % 3], hour=n % 24, since=since)
    now = datetime(2026, 11, 2, 23, 0, tzinfo=UTC)
    reports = []

    def dispatcher() -> None:
        reports.append(run_dispatch(sessions=sessions, now=now, default_timezone="UTC",
                                    options=OPTIONS, embedder=None, parts=8))  # fmt: skip

    threads = [threading.Thread(target=dispatcher) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    found = Counter((email, day) for email, day, _ in rows(sessions))
    assert max(found.values()) == 1
    assert sum(report.total for report in reports) == sum(found.values())
