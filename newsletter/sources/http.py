"""Polite, bounded HTTP GETs: size limit, retry with backoff, minimum interval between calls."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import httpx

from newsletter.sources import SourceError

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_RETRY_AFTER_SECONDS = 300.0


@dataclass
class Fetcher:
    """GETs through an injected `httpx.Client`; `sleep` and `clock` are seams for tests."""

    client: httpx.Client
    max_bytes: int
    retries: int = 4
    backoff_seconds: float = 2.0
    min_interval_seconds: float = 0.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    _last_request: float | None = field(default=None, init=False)

    def get(self, url: str, *, params: Mapping[str, str | int] | None = None) -> bytes:
        for attempt in range(self.retries + 1):
            self._wait_for_turn()
            try:
                status, body, retry_after = self._get_once(url, params)
            except httpx.TransportError as exc:
                problem, retry_after = f"{type(exc).__name__}: {exc}", None
            else:
                if status < 400:
                    return body
                problem = f"HTTP {status}"
                if status not in RETRY_STATUSES:
                    raise SourceError(f"{url} answered {problem}")
            if attempt == self.retries:
                break
            delay = retry_after if retry_after is not None else self.backoff_seconds * 2**attempt
            log.warning("GET %s failed (%s); retrying in %.0f s", url, problem, delay)
            self.sleep(delay)
        raise SourceError(f"{url} failed after {self.retries + 1} attempts: {problem}")

    def _wait_for_turn(self) -> None:
        now = self.clock()
        if self._last_request is not None:
            remaining = self.min_interval_seconds - (now - self._last_request)
            if remaining > 0:
                self.sleep(remaining)
                now += remaining
        self._last_request = now

    def _get_once(
        self, url: str, params: Mapping[str, str | int] | None
    ) -> tuple[int, bytes, float | None]:
        with self.client.stream("GET", url, params=params) as response:
            if response.status_code >= 400:
                return response.status_code, b"", _retry_after(response)
            declared = response.headers.get("content-length")
            if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
                raise SourceError(
                    f"{url}: response of {declared} bytes refused (limit {self.max_bytes})"
                )
            chunks: list[bytes] = []
            received = 0
            for chunk in response.iter_bytes():
                received += len(chunk)
                if received > self.max_bytes:
                    raise SourceError(f"{url}: response over {self.max_bytes} bytes refused")
                chunks.append(chunk)
            return response.status_code, b"".join(chunks), None


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    try:
        seconds = float(value)
    except ValueError:
        return None  # an HTTP date or garbage: fall back to our own backoff
    if not math.isfinite(seconds) or seconds < 0:
        return None
    return min(seconds, MAX_RETRY_AFTER_SECONDS)
