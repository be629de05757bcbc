"""Outcomes committed in small groups: at most `size` messages, at most `seconds` after the
first of them was added, whichever comes first.

A group is what a crash can lose of the outcomes (their rows stay `sending` and are sent
again, with the same Message-ID), so it bounds the duplicates a kill -9 makes: the messages
in flight plus one group. `size` 1 commits every outcome on its own.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from newsletter.db.outcomes import Outcome


class OutcomeGroup:
    def __init__(
        self,
        write: Callable[[list[Outcome]], object],
        *,
        size: int,
        seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if size < 1 or seconds < 0:
            raise ValueError("a group holds at least one outcome, for no negative time")
        self._write = write
        self._size = size
        self._seconds = seconds
        self._clock = clock
        self._pending: list[Outcome] = []
        self._started = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._failure: BaseException | None = None  # from a timed flush, raised by the next call

    def add(self, outcome: Outcome) -> None:
        self._raise_failure()
        if not self._pending:
            self._started = self._clock()
            if self._size > 1 and self._seconds > 0:
                # An idle relay must not keep outcomes waiting for the next one.
                self._timer = asyncio.get_running_loop().call_later(self._seconds, self._timed)
        self._pending.append(outcome)
        if len(self._pending) >= self._size or self._clock() - self._started >= self._seconds:
            self.flush()

    def flush(self) -> None:
        """Commit what is pending (kept when the write fails, for the next try)."""
        self._raise_failure()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._pending:
            self._write(self._pending)
            self._pending = []

    def _timed(self) -> None:
        self._timer = None
        try:
            self.flush()
        except Exception as exc:  # handed to the sender's next call
            self._failure = exc

    def _raise_failure(self) -> None:
        failure, self._failure = self._failure, None
        if failure is not None:
            raise failure
