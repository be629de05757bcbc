"""How many confirmation and manage-link mails may go out: the defence against subscription
bombing (a script that signs a victim up again and again, or under `victim+1@`, `victim+2@`,
... so each request looks new).

Those mails go to an address nobody has proven to own, so each is counted four ways, and one
is sent only when all four allow it: per mailbox (sub-addresses and Gmail's dots folded, see
`mailbox_key`) a cooldown and a daily cap, per domain a daily cap, and all together an hourly
cap. The per-address cooldown stored with the subscriber (`claim_confirmation_mail`) comes on
top and survives restarts. Counts live in memory like the per-IP limit: one process serves
the web app, and a restart only ever lets more through.

A mail the relay refused gives its counts back (`release`): the limits count mails that went
out, so a failed one does not lock the person out for the cooldown.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from newsletter.subscribers.addresses import mailbox_key
from newsletter.web.security import RateLimiter

DAY = 86_400.0
HOUR = 3_600.0


@dataclass(frozen=True)
class Reservation:
    """The counts one mail took: (limiter, key, time) for each."""

    taken: tuple[tuple[RateLimiter, str, float], ...]


@dataclass
class ConfirmationQuota:
    cooldown_seconds: float
    per_mailbox_per_day: int
    per_domain_per_day: int
    per_hour: int
    clock: Callable[[], float] = time.time
    _limiters: tuple[RateLimiter, RateLimiter, RateLimiter, RateLimiter] = field(init=False)

    def __post_init__(self) -> None:
        self._limiters = (
            RateLimiter(1, self.cooldown_seconds, self.clock),
            RateLimiter(self.per_mailbox_per_day, DAY, self.clock),
            RateLimiter(self.per_domain_per_day, DAY, self.clock),
            RateLimiter(self.per_hour, HOUR, self.clock),
        )

    def reserve(self, address: str) -> Reservation | None:
        """The counts for one mail to `address`, or None (and nothing counted) when a limit
        is reached."""
        mailbox, domain = mailbox_key(address)
        keys = (mailbox, mailbox, domain, "*")
        taken: list[tuple[RateLimiter, str, float]] = []
        for limiter, key in zip(self._limiters, keys, strict=True):
            stamp = limiter.take(key)
            if stamp is None:
                self.release(Reservation(tuple(taken)))
                return None
            taken.append((limiter, key, stamp))
        return Reservation(tuple(taken))

    def release(self, reservation: Reservation) -> None:
        for limiter, key, stamp in reservation.taken:
            limiter.give_back(key, stamp)
