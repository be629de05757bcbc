"""Signed, purpose-scoped tokens for the links in emails. Pure: the secret and clock come in.

A token carries the subscriber id and that subscriber's `token_key`, so a token outlives
neither the subscriber nor a key rotation. itsdangerous signs with HMAC and compares
signatures in constant time; the purpose is the salt, so a confirmation token cannot
unsubscribe and an unsubscribe token cannot change preferences.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Any

from itsdangerous import BadData, SignatureExpired, TimestampSigner
from itsdangerous.encoding import base64_decode, base64_encode


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


class _Signer(TimestampSigner):
    """itsdangerous's signer with the same signatures, made cheaper: SHA-1 named as hashlib's
    own constructor (itsdangerous's lazy wrapper sends `hmac` down its pure-Python path) and
    the signing key derived once, not per token. A digest signs four tokens."""

    clock: Callable[[], float] = time.time

    def __init__(self, secret_key: str, salt: str) -> None:
        super().__init__(secret_key, salt=salt, digest_method=hashlib.sha1)
        self._keys: dict[bytes | str | None, bytes] = {}

    def derive_key(self, secret_key: str | bytes | None = None) -> bytes:
        key = self._keys.get(secret_key)
        if key is None:
            key = self._keys[secret_key] = super().derive_key(secret_key)
        return key

    def get_timestamp(self) -> int:
        return int(self.clock())


@dataclass(frozen=True)
class Tokens:
    """Tokens are `base64url(JSON payload).timestamp.HMAC`: itsdangerous's TimestampSigner
    over a compact payload (its Serializer would also try zlib on every link, which cost
    more than the rest of a digest's 20-odd links together)."""

    secret: str
    clock: Callable[[], float] = time.time
    _signers: dict[Purpose, _Signer] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def _signer(self, purpose: Purpose) -> _Signer:
        signer = self._signers.get(purpose)
        if signer is None:
            signer = _Signer(self.secret, salt=f"newsletter.{purpose.value}")
            signer.clock = self.clock
            self._signers[purpose] = signer
        return signer

    def make(self, purpose: Purpose, *, subscriber_id: int, token_key: str, extra: Any = ()) -> str:
        payload = json.dumps([subscriber_id, token_key, *extra], separators=(",", ":"))
        return self._signer(purpose).sign(base64_encode(payload)).decode("ascii")

    def read(self, purpose: Purpose, token: str) -> TokenClaims:
        max_age = int(LIFETIMES[purpose].total_seconds())
        try:
            signed = self._signer(purpose).unsign(token, max_age=max_age)
            payload = json.loads(base64_decode(signed))
        except SignatureExpired:
            raise TokenError("this link has expired") from None
        except (BadData, ValueError):  # a bad signature, or a payload that will not decode
            raise TokenError("this link is not valid") from None
        if not (
            isinstance(payload, list)
            and len(payload) >= 2
            and isinstance(payload[0], int)
            and isinstance(payload[1], str)
        ):
            raise TokenError("this link is not valid")
        return TokenClaims(subscriber_id=payload[0], token_key=payload[1], extra=tuple(payload[2:]))
