"""The per-client rate limit: sliding window, IPv6 by /64, bounded memory without amnesty."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from newsletter.web.security import RateLimiter, client_key


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_sliding_window() -> None:
    clock = Clock()
    limiter = RateLimiter(2, 60.0, clock)
    assert limiter.allow("a")
    assert limiter.allow("a")
    assert not limiter.allow("a")
    assert limiter.allow("b")
    clock.now = 61.0
    assert limiter.allow("a")


def test_many_new_keys_do_not_reset_a_limited_client() -> None:
    clock = Clock()
    limiter = RateLimiter(1, 3600.0, clock, max_keys=100)
    assert limiter.allow("attacker")
    assert not limiter.allow("attacker")
    for n in range(60):  # fewer than max_keys: nobody is forgotten
        limiter.allow(f"noise{n}")
    assert not limiter.allow("attacker")
    for n in range(500):  # far more keys than it keeps: memory stays bounded
        limiter.allow(f"more{n}")
    assert len(limiter._hits) <= 100


def request_from(host: str) -> Any:
    return SimpleNamespace(client=SimpleNamespace(host=host))


def test_ipv6_clients_are_counted_by_their_64() -> None:
    key = client_key
    same = key(request_from("2001:db8:1:2::1"))
    other = key(request_from("2001:db8:1:2:ffff::9"))
    assert same == other == "2001:db8:1:2::/64"
    assert key(request_from("192.0.2.7")) == "192.0.2.7"
