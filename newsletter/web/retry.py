"""Writes that must not be lost when the database is busy for a while.

SQLite has one writer at a time: a `subscribers import`, a send run or another process can
hold the lock longer than the busy timeout (5 s), and PostgreSQL can be restarting. Most
routes then answer 503 with Retry-After (see `errors`) and the person sends again. A few
writes have nobody to send them again: an RFC 8058 one-click unsubscribe (a mail provider
posts it once) and the subscribe requests already answered 202. Those go through
`until_stored`: each attempt in the thread pool, in its own transaction, again after a
growing pause, for up to `patience` seconds. Meanwhile the event loop serves everyone else.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

import anyio

from newsletter.web.errors import DATABASE_ERRORS

log = logging.getLogger(__name__)

T = TypeVar("T")
PATIENCE_SECONDS = 300.0  # a lock held longer than this is an outage, not a busy moment
_FIRST_PAUSE = 0.05
_LONGEST_PAUSE = 2.0


async def until_stored(
    attempt: Callable[[], T],
    *,
    patience: float = PATIENCE_SECONDS,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """`attempt()` (one whole transaction) run in the thread pool until it gets through; its
    other errors end the retries at once. Raises the database's error after `patience`."""
    deadline = clock() + patience
    pause = _FIRST_PAUSE
    while True:
        try:
            return await anyio.to_thread.run_sync(attempt)
        except DATABASE_ERRORS as exc:
            if clock() >= deadline:
                raise
            log.warning("database busy, trying again in %.2f s: %s", pause, exc)
        await anyio.sleep(pause)
        pause = min(pause * 2, _LONGEST_PAUSE)
