"""MIME messages with the headers bulk-mail receivers require, and optional DKIM signing."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr

import dkim

from newsletter.rendering import RenderedEmail

_FORBIDDEN = re.compile(r"[\r\n\x00]")
_HEADER_NAME = re.compile(r"^[!-9;-~]+$")  # RFC 5322 ftext: printable ASCII except ":"

# Signed headers, named explicitly: dkimpy's default list leaves out List-Unsubscribe-Post,
# and receivers ignore one-click unsubscribe that the signature does not cover.
DKIM_HEADERS = (
    b"from",
    b"to",
    b"subject",
    b"date",
    b"message-id",
    b"mime-version",
    b"content-type",
    b"list-id",
    b"list-unsubscribe",
    b"list-unsubscribe-post",
)


class HeaderError(ValueError):
    """A header name or value that would let one header smuggle in another."""


def check_header(name: str, value: str) -> None:
    if not _HEADER_NAME.match(name):
        raise HeaderError(f"invalid header name {name!r}")
    if _FORBIDDEN.search(value):
        raise HeaderError(f"{name} contains a line break or NUL character: {value[:60]!r}")


@dataclass(frozen=True, slots=True)
class MailIdentity:
    """Who the mail is from: the From header and the list it belongs to."""

    from_header: str  # "Paper digest <digest@example.org>"

    def __post_init__(self) -> None:
        check_header("From", self.from_header)
        if "@" not in self.address:
            raise HeaderError(f"From has no address: {self.from_header!r}")

    @property
    def address(self) -> str:
        return parseaddr(self.from_header)[1]

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2].lower()

    @property
    def list_id(self) -> str:
        name = parseaddr(self.from_header)[0] or "Paper digest"
        return f"{name} <digest.{self.domain}>"

    def new_message_id(self) -> str:
        return make_msgid(idstring="digest", domain=self.domain)


def build_message(
    *,
    rendered: RenderedEmail,
    identity: MailIdentity,
    recipient: str,
    message_id: str,
    unsubscribe_url: str,
    sent_at: datetime,
) -> EmailMessage:
    """multipart/alternative (text, then HTML), UTF-8, one of each required header."""
    headers = {
        "From": identity.from_header,
        "To": recipient,
        "Subject": rendered.subject,
        "Date": format_datetime(sent_at),
        "Message-ID": message_id,
        "List-Id": identity.list_id,
        "List-Unsubscribe": f"<{unsubscribe_url}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    if not unsubscribe_url.startswith(("https://", "http://")):
        raise HeaderError(f"List-Unsubscribe needs an http(s) URL, got {unsubscribe_url!r}")
    message = EmailMessage(policy=policy.SMTP)
    for name, value in headers.items():
        check_header(name, value)
        message[name] = value if name != "To" else Address(addr_spec=recipient)
    # Quoted-printable keeps the body 7-bit clean for any relay and short-lined for filters.
    message.set_content(rendered.text, charset="utf-8", cte="quoted-printable")
    message.add_alternative(rendered.html, subtype="html", charset="utf-8", cte="quoted-printable")
    return message


@dataclass(frozen=True)
class DkimSigner:
    selector: str
    domain: str
    private_key: bytes  # PEM

    def sign(self, data: bytes) -> bytes:
        """The message with a DKIM-Signature header prepended (relaxed/relaxed)."""
        signature = dkim.sign(
            data,
            self.selector.encode(),
            self.domain.encode(),
            self.private_key,
            canonicalize=(b"relaxed", b"relaxed"),
            include_headers=list(DKIM_HEADERS),
        )
        return bytes(signature) + data
