"""A token bucket for messages per second that backs off when a relay asks it to."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable

MIN_RATE = 0.1  # messages per second; slow_down never goes below this
OBSERVED_WINDOW = 100  # acquisitions remembered to estimate the rate when unlimited
MIN_OBSERVED_SPAN = 1.0  # seconds; a burst at one instant is not an infinite rate


class TokenBucket:
    """`rate` messages per second (None: unlimited), up to `burst` at once.

    After `slow_down()` the rate halves; every `recover_after` seconds without another
    slow-down it doubles again, back to the configured rate (or to unlimited), so one
    "421 slow down" early in a run does not throttle the rest of it.
    """

    def __init__(
        self,
        rate: float | None,
        *,
        burst: int = 1,
        recover_after: float | None = 60.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        if rate is not None and rate <= 0:
            raise ValueError("rate must be positive (or None for unlimited)")
        if burst < 1:
            raise ValueError("burst must be at least 1")
        self._configured = rate
        self._rate = rate
        self._restore_at: float | None = None  # the rate before the first slow-down
        self._burst = burst
        self._recover_after = recover_after
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(burst)
        self._updated = clock()
        self._changed = self._updated
        self._recent: deque[float] = deque(maxlen=OBSERVED_WINDOW)
        # Waiters queue in order instead of racing for each new token.
        self._lock = asyncio.Lock()

    @property
    def rate(self) -> float | None:
        return self._rate

    async def acquire(self) -> None:
        async with self._lock:
            while True:
                self._refill()
                if self._rate is None or self._tokens >= 1:
                    break
                await self._sleep((1 - self._tokens) / self._rate)
            if self._rate is not None:
                self._tokens -= 1
            self._recent.append(self._clock())

    def slow_down(self) -> None:
        now = self._clock()
        current = self._rate if self._rate is not None else self._observed(now)
        if self._restore_at is None:
            self._restore_at = current
        self._refill()
        self._rate = max(MIN_RATE, current / 2)
        self._tokens = min(self._tokens, float(self._burst))
        self._changed = now

    def _observed(self, now: float) -> float:
        if not self._recent:
            return MIN_RATE * 2  # no evidence: start from the floor
        span = max(now - self._recent[0], MIN_OBSERVED_SPAN)
        return len(self._recent) / span

    def _refill(self) -> None:
        now = self._clock()
        self._recover(now)
        if self._rate is not None:
            self._tokens = min(self._burst, self._tokens + (now - self._updated) * self._rate)
        self._updated = now

    def _recover(self, now: float) -> None:
        if self._restore_at is None or self._rate is None or self._recover_after is None:
            return
        while now - self._changed >= self._recover_after and self._restore_at is not None:
            self._changed += self._recover_after
            self._rate *= 2
            if self._rate >= self._restore_at:
                self._rate, self._restore_at = self._configured, None
                return
