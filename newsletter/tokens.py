"""Signed, purpose-scoped tokens for the links in emails. Pure: the secret and clock come in.

A token carries the subscriber id and that subscriber's `token_key`, so a token outlives
neither the subscriber nor a key rotation. itsdangerous signs with HMAC and compares
signatures in constant time; the purpose is the salt, so a confirmation token cannot
unsubscribe and an unsubscribe token cannot change preferences.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer


class Purpose(StrEnum):
    CONFIRM = "confirm"
    UNSUBSCRIBE = "unsubscribe"
    PREFERENCES = "preferences"
    FEEDBACK = "feedback"
    VIEW = "view"
    FEED = "feed"


# How long a link in a mail keeps working. Unsubscribe links must outlive any digest a
# person might dig out of their archive (CAN-SPAM asks for 30 days; we give two years).
LIFETIMES: dict[Purpose, timedelta] = {
    Purpose.CONFIRM: timedelta(days=7),
    Purpose.UNSUBSCRIBE: timedelta(days=730),
    Purpose.PREFERENCES: timedelta(days=730),
    Purpose.FEEDBACK: timedelta(days=365),
    Purpose.VIEW: timedelta(days=365),
    Purpose.FEED: timedelta(days=3650),
}


class TokenError(ValueError):
    """A token that is tampered with, expired, for another purpose or malformed."""


@dataclass(frozen=True, slots=True)
class TokenClaims:
    subscriber_id: int
    token_key: str
    extra: tuple[Any, ...]  # e.g. (paper id, +1) for feedback


class _Serializer(URLSafeTimedSerializer):
    clock: Callable[[], float] = time.time

    def get_timestamp(self) -> int:
        return int(self.clock())


@dataclass(frozen=True)
class Tokens:
    secret: str
    clock: Callable[[], float] = time.time

    def _serializer(self, purpose: Purpose) -> _Serializer:
        serializer = _Serializer(self.secret, salt=f"newsletter.{purpose.value}")
        serializer.clock = self.clock
        return serializer

    def make(self, purpose: Purpose, *, subscriber_id: int, token_key: str, extra: Any = ()) -> str:
        payload = [subscriber_id, token_key, *extra]
        return str(self._serializer(purpose).dumps(payload))

    def read(self, purpose: Purpose, token: str) -> TokenClaims:
        max_age = int(LIFETIMES[purpose].total_seconds())
        try:
            payload = self._serializer(purpose).loads(token, max_age=max_age)
        except SignatureExpired:
            raise TokenError("this link has expired") from None
        except BadSignature:
            raise TokenError("this link is not valid") from None
        if not (
            isinstance(payload, list)
            and len(payload) >= 2
            and isinstance(payload[0], int)
            and isinstance(payload[1], str)
        ):
            raise TokenError("this link is not valid")
        return TokenClaims(subscriber_id=payload[0], token_key=payload[1], extra=tuple(payload[2:]))
