"""Outcomes committed in groups: by count, by time (also when no further outcome comes), and
a failed write is neither lost nor swallowed."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime

import pytest

from newsletter.db.outbox import ClaimedDigest, State
from newsletter.db.outcomes import Outcome
from newsletter.delivery.grouping import OutcomeGroup

pytestmark = pytest.mark.anyio
NOW = datetime(2026, 11, 28, 7, 0, tzinfo=UTC)


def outcome(n: int) -> Outcome:
    digest = ClaimedDigest(
        outbox_id=n, subscriber_id=n, email=f"r{n}@example.org", token_key="k",
        subscriber_status="active", digest_date=date(2026, 11, 27), message_id=f"<{n}@x>",
        content=[], attempts=1, created_at=NOW,
    )  # fmt: skip
    return Outcome(digest, State.SENT, "250 ok", NOW)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_a_full_group_is_written_at_once() -> None:
    written: list[list[int]] = []
    group = OutcomeGroup(
        lambda g: written.append([o.digest.outbox_id for o in g]), size=3, seconds=60
    )
    for n in range(7):
        group.add(outcome(n))
    assert written == [[0, 1, 2], [3, 4, 5]]
    group.flush()
    assert written == [[0, 1, 2], [3, 4, 5], [6]]


async def test_a_group_is_written_once_its_first_outcome_is_old_enough() -> None:
    written: list[int] = []
    clock = Clock()
    group = OutcomeGroup(lambda g: written.append(len(g)), size=100, seconds=0.05, clock=clock)
    group.add(outcome(1))
    clock.now = 0.04
    group.add(outcome(2))
    assert written == []
    clock.now = 0.06
    group.add(outcome(3))
    assert written == [3]


async def test_an_idle_group_is_written_by_its_timer() -> None:
    written: list[int] = []
    group = OutcomeGroup(lambda g: written.append(len(g)), size=100, seconds=0.02)
    group.add(outcome(1))
    await asyncio.sleep(0.1)
    assert written == [1]


async def test_a_failed_timed_write_is_raised_by_the_next_call_and_kept() -> None:
    attempts: list[int] = []

    def write(group: list[Outcome]) -> None:
        attempts.append(len(group))
        if len(attempts) == 1:
            raise RuntimeError("database is locked")

    group = OutcomeGroup(write, size=100, seconds=0.02)
    group.add(outcome(1))
    await asyncio.sleep(0.1)
    with pytest.raises(RuntimeError, match="locked"):
        group.add(outcome(2))
    group.flush()
    assert attempts == [1, 1]  # the outcome was kept and written on the next flush


def test_size_and_time_must_make_sense() -> None:
    with pytest.raises(ValueError, match="at least one"):
        OutcomeGroup(lambda g: None, size=0, seconds=1)
