"""VERP return paths: each mail's envelope sender says, signed, what was sent and to whom.

Bounces go to the envelope sender (the return path), and anyone can write to a bounce
mailbox. So every mail leaves with its own return path, `bounces+<token>@domain`: a report
that comes back to it names the mail it is about, and only this service can write a token
that verifies. Postfix delivers `bounces+anything@domain` to `bounces@domain` with
`recipient_delimiter = +` (any catch-all does too); the README says how to set it up.

The token is `<what>.<mac>`, lower case only, because some MTAs fold the case of the local
part on the way to the mailbox:

  what   `d` + the outbox row id in base 36 (a digest), or `t` + the kind of a one-off mail
         (`tconfirm`, `twelcome`, `tmanage`, `tdigest`): those have no outbox row
  mac    HMAC-SHA256 of `what` and the recipient address, its first 128 bits in base32
         (26 characters); itsdangerous derives the key from the secret with a salt that
         only VERP uses, so no link token can pass for a return path or the reverse

The recipient is bound by the MAC instead of written out (addresses reach 254 characters,
a local part only 64): a token verifies only together with the address the mail went to,
so a token a reader finds in their own mail can vouch for reports about them and nobody
else. The longest token is 1 + 13 (an id up to 2**63) + 1 + 26 = 41 characters, which
leaves MAX_LOCAL_CHARS for the bounce address's own local part.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass, field

from itsdangerous import Signer
from itsdangerous.encoding import want_bytes
from itsdangerous.signer import HMACAlgorithm

MAC_BYTES = 16  # 128 bits: RFC 2104's floor for truncating a SHA-256 HMAC is half its size
MAX_LOCAL_PART = 64  # RFC 5321
MAX_TOKEN_CHARS = 1 + 13 + 1 + 26
MAX_LOCAL_CHARS = MAX_LOCAL_PART - 1 - MAX_TOKEN_CHARS  # "bounces" + "+" + token fits
DIGEST = "digest"

_KIND = re.compile(r"[a-z][a-z_]{0,11}")
_TOKEN = re.compile(r"(?:d([0-9a-z]{1,13})|t([a-z][a-z_]{0,11}))\.([a-z2-7]{26})")
_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


class VerpError(ValueError):
    """A bounce address or mail kind that cannot make a valid return path."""


@dataclass(frozen=True, slots=True)
class VerpClaim:
    """What a return path says it is about; `Verp.verify` decides whether to believe it."""

    outbox_id: int | None  # the digest's outbox row; None for a one-off mail
    kind: str  # DIGEST, or the one-off mail's kind
    what: str
    mac: str


class _TruncatedHmac(HMACAlgorithm):
    def get_signature(self, key: bytes, value: bytes) -> bytes:
        return super().get_signature(key, value)[:MAC_BYTES]


class _Base32Signer(Signer):
    """itsdangerous's Signer with a case-insensitive signature: base32, lower case."""

    def get_signature(self, value: str | bytes) -> bytes:
        mac = self.algorithm.get_signature(self.derive_key(), want_bytes(value))
        return base64.b32encode(mac).rstrip(b"=").lower()

    def verify_signature(self, value: str | bytes, sig: str | bytes) -> bool:
        try:
            mac = base64.b32decode(want_bytes(sig).upper() + b"======")
        except (binascii.Error, ValueError):
            return False
        return any(
            self.algorithm.verify_signature(self.derive_key(key), want_bytes(value), mac)
            for key in reversed(self.secret_keys)
        )


@dataclass(frozen=True)
class Verp:
    secret: str
    bounce_address: str  # "bounces@example.org": where every return path leads
    _signer: _Base32Signer = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        local, _, domain = self.bounce_address.rpartition("@")
        if not local or not domain or not self.bounce_address.isascii() or "+" in local:
            raise VerpError(f"not a plain bounce address: {self.bounce_address!r}")
        if len(local) > MAX_LOCAL_CHARS:
            raise VerpError(
                f"the bounce address's local part {local!r} is over {MAX_LOCAL_CHARS} "
                "characters: with a return path token it would exceed 64"
            )
        signer = _Base32Signer(
            self.secret,
            salt=b"newsletter.verp",
            digest_method=hashlib.sha256,
            algorithm=_TruncatedHmac(hashlib.sha256),
        )
        object.__setattr__(self, "_signer", signer)

    def for_digest(self, outbox_id: int, recipient: str) -> str:
        """The return path of the digest in outbox row `outbox_id`, sent to `recipient`."""
        if not 0 < outbox_id < 2**63:
            raise VerpError(f"not an outbox row id: {outbox_id}")
        return self._address(f"d{_base36(outbox_id)}", recipient)

    def for_mail(self, kind: str, recipient: str) -> str:
        """The return path of a one-off mail (confirmation, welcome...) to `recipient`."""
        if not _KIND.fullmatch(kind):
            raise VerpError(f"not a mail kind: {kind!r}")
        return self._address(f"t{kind}", recipient)

    def read(self, address: str) -> VerpClaim | None:
        """The claim in `address` when it is one of our return paths (by its form only)."""
        local, _, domain = address.strip().strip("<>").lower().rpartition("@")
        ours, _, domain_ours = self.bounce_address.lower().rpartition("@")
        base, plus, token = local.partition("+")
        if not plus or base != ours or domain != domain_ours:
            return None
        found = _TOKEN.fullmatch(token)
        if found is None:
            return None
        number, kind, mac = found.groups()
        what = token.partition(".")[0]
        if number is not None:
            return VerpClaim(outbox_id=int(number, 36), kind=DIGEST, what=what, mac=mac)
        return VerpClaim(outbox_id=None, kind=kind, what=what, mac=mac)

    def verify(self, claim: VerpClaim, recipient: str) -> bool:
        """True when the claim was signed here for mail to `recipient` (constant time)."""
        return self._signer.verify_signature(_signed(claim.what, recipient), claim.mac)

    def _address(self, what: str, recipient: str) -> str:
        mac = self._signer.get_signature(_signed(what, recipient)).decode("ascii")
        local, _, domain = self.bounce_address.rpartition("@")
        return f"{local}+{what}.{mac}@{domain}"


def _signed(what: str, recipient: str) -> str:
    # Stored addresses are lower case, and so are the ones a bounce report yields.
    return f"{what}\n{recipient.lower()}"


def _base36(number: int) -> str:
    digits = ""
    while number:
        number, digit = divmod(number, 36)
        digits = _ALPHABET[digit] + digits
    return digits or "0"
