"""The development defaults, and what production refuses.

In production no development value works: the secret key must look random (see
estimated_entropy_bits) and must not contain the development key, the base URL must be the
public https one (plain http only with NEWSLETTER_ALLOW_HTTP=true, for an intranet), a relay
must be named, and an ops token, when set, must be long. `Settings` calls
production_problems once, when it is built with NEWSLETTER_ENV=production.
"""

from __future__ import annotations

import itertools
import math
import re
import zlib
from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from newsletter.config import Settings

DEV_SECRET_KEY = "dev-only-insecure-secret-key"  # noqa: S105 - refused outside dev, see below
DEV_PORT = 8000
DEV_BASE_URL = f"http://localhost:{DEV_PORT}"
MIN_SECRET_KEY_LENGTH = 32
MIN_SECRET_KEY_BITS = 128


def production_problems(settings: Settings) -> list[str]:
    """Every development value `settings` still uses, as one sentence each (none: fit)."""
    problems = []
    key = settings.secret_key.get_secret_value()
    if _contains_dev_key(key) or len(key) < MIN_SECRET_KEY_LENGTH:
        problems.append(
            f"NEWSLETTER_SECRET_KEY must be set to a random value of at least "
            f"{MIN_SECRET_KEY_LENGTH} characters (not based on the development key)"
        )
    elif (bits := estimated_entropy_bits(key)) < MIN_SECRET_KEY_BITS:
        problems.append(
            f"NEWSLETTER_SECRET_KEY looks guessable (about {bits:.0f} bits of entropy, "
            f"{MIN_SECRET_KEY_BITS} needed): generate one with "
            "python -c 'import secrets; print(secrets.token_urlsafe(32))'"
        )
    if settings.base_url == DEV_BASE_URL:
        problems.append("NEWSLETTER_BASE_URL must be set to the public URL of the service")
    elif not settings.base_url.startswith("https://") and not settings.allow_http:
        problems.append(
            "NEWSLETTER_BASE_URL must start with https:// (links carry tokens); set "
            "NEWSLETTER_ALLOW_HTTP=true only for an intranet without TLS"
        )
    if not settings.smtp_host:
        problems.append("NEWSLETTER_SMTP_HOST must name the SMTP relay (no mail sink)")
    token = settings.ops_token.get_secret_value() if settings.ops_token else None
    if token is not None and len(token) < MIN_SECRET_KEY_LENGTH:
        problems.append(
            f"NEWSLETTER_OPS_TOKEN must have at least {MIN_SECRET_KEY_LENGTH} characters"
        )
    return problems


_CLASSES = (
    (re.compile(r"[a-z]"), 26),
    (re.compile(r"[A-Z]"), 26),
    (re.compile(r"[0-9]"), 10),
    (re.compile(r"[^a-zA-Z0-9]"), 33),  # ASCII punctuation and space; more is rare in keys
)


def _contains_dev_key(key: str) -> bool:
    """The development key in any form: padded, in other case, with other separators."""

    def squeeze(text: str) -> str:
        return re.sub(r"[^a-z0-9]", "", text.lower())

    return squeeze(DEV_SECRET_KEY) in squeeze(key)


def estimated_entropy_bits(key: str) -> float:
    """A conservative estimate of how many bits a guesser needs: the least of four views.

    - brute force: length x log2(size of the character classes used: lower case, upper case,
      digits, punctuation), what a guesser who knows the classes must try;
    - character statistics: length x the Shannon entropy of the key's own character
      frequencies, which is about 0 for "kkkk...", and low for keys of few distinct symbols;
    - steps: the same over the differences between neighbouring characters, which is about 0
      for sequences such as "abcdef..." or "0123...";
    - compression: the bits zlib needs for the key (less its fixed overhead), small when a
      block repeats ("abcabc...", a short secret padded with itself).

    Random keys score near their true size: `secrets.token_urlsafe(32)` (256 bits) scored at
    least 185 and `secrets.token_hex(32)` at least 220 in 20,000 draws each. A 128-bit key
    written in 32 hex characters can score under 128 (its character statistics over so few
    characters look like a smaller alphabet), hence the advice to use 32 random bytes. An
    estimate cannot recognise every human pattern (a keyboard walk, a long passphrase): it
    refuses the obviously guessable, it does not prove randomness.
    """
    if not key:
        return 0.0
    alphabet = sum(size for pattern, size in _CLASSES if pattern.search(key))
    brute = len(key) * math.log2(max(alphabet, 2))
    steps = [ord(b) - ord(a) for a, b in itertools.pairwise(key)]
    compressed = 8 * (len(zlib.compress(key.encode(), 9)) - len(zlib.compress(b"", 9)))
    return min(brute, _shannon_bits(key), _shannon_bits(steps), float(compressed))


def _shannon_bits(symbols: Iterable[object]) -> float:
    counts = Counter(symbols)
    total = sum(counts.values())
    return -sum(n * math.log2(n / total) for n in counts.values())
