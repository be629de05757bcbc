"""MIME messages with the headers bulk-mail receivers require, and optional DKIM signing."""

from __future__ import annotations

import binascii
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from email.header import Header
from email.utils import format_datetime, formataddr, make_msgid, parseaddr
from functools import lru_cache

import dkim

from newsletter.mail.render import RenderedEmail

_SPECIALS = re.compile(r'[()<>\[\]:;@\\,."]')  # RFC 5322 specials: not allowed in an atom
_FORBIDDEN = re.compile(r"[\r\n\x00]")
_HEADER_NAME = re.compile(r"^[!-9;-~]+$")  # RFC 5322 ftext: printable ASCII except ":"
QP_LINES_KEPT = 20_000  # encoded lines remembered (a few MB); then forgotten all at once
_QP_LINES: dict[str, bytes] = {}

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
    def encoded_from(self) -> str:
        """The From header, its display name RFC 2047-encoded when it is not ASCII."""
        return formataddr(_parsed(self.from_header), charset="utf-8")

    @property
    def address(self) -> str:
        return _parsed(self.from_header)[1]

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2].lower()

    @property
    def list_id(self) -> str:
        """RFC 2919: a phrase (RFC 2047-encoded if need be), then the id in angle brackets."""
        name = _parsed(self.from_header)[0] or "Paper digest"
        if not name.isascii():
            phrase = Header(name, "utf-8").encode()
        elif _SPECIALS.search(name):  # "Papers, daily" must be a quoted string
            phrase = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
        else:
            phrase = name
        return f"{phrase} <digest.{self.domain}>"

    def new_message_id(self) -> str:
        return make_msgid(idstring="digest", domain=self.domain)


@lru_cache(maxsize=64)
def _parsed(header: str) -> tuple[str, str]:
    # Cached: every message asks for the same From, and parsing it costs more than using it.
    return parseaddr(header)


def build_message(
    *,
    rendered: RenderedEmail,
    identity: MailIdentity,
    recipient: str,
    message_id: str,
    unsubscribe_url: str | None,
    sent_at: datetime,
) -> bytes:
    """The message as sent: multipart/alternative (text, then HTML), UTF-8 bodies in
    quoted-printable, CRLF line ends, one of each header receivers require.

    Assembled here rather than by `email.generator`: the stdlib generator writes the bodies
    line by line in pure Python and cost more per message than rendering the digest. The
    stdlib still encodes what needs care (RFC 2047 headers, dates, quoted-printable via
    binascii); tests parse the result back with `email` and check every header rule.
    """
    if unsubscribe_url is not None and not unsubscribe_url.startswith(("https://", "http://")):
        raise HeaderError(f"List-Unsubscribe needs an http(s) URL, got {unsubscribe_url!r}")
    if not recipient.isascii():
        raise HeaderError(f"recipient {recipient!r} is not ASCII (addresses are stored in ASCII)")
    headers = {
        "From": identity.encoded_from,
        "To": recipient,
        "Subject": rendered.subject,
        "Date": format_datetime(sent_at),
        "Message-ID": message_id,
        "List-Id": identity.list_id,
    }
    if unsubscribe_url is not None:  # None: a transactional mail (confirmation, welcome)
        headers["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    boundary = f"=_digest_{secrets.token_hex(12)}"
    lines = [f"{name}: {_encoded(name, value)}" for name, value in headers.items()]
    lines += [
        "MIME-Version: 1.0",
        f'Content-Type: multipart/alternative; boundary="{boundary}"',
        "",
        "This is a multi-part message in MIME format.",
    ]
    head = "\r\n".join(lines).encode("ascii")
    return b"".join(
        (
            head,
            _part(boundary, "plain", rendered.text),
            _part(boundary, "html", rendered.html),
            f"\r\n--{boundary}--\r\n".encode("ascii"),
        )
    )


@lru_cache(maxsize=1024)
def _encoded(name: str, value: str) -> str:
    """RFC 2047 words for non-ASCII text, folded at whitespace to keep lines short.
    Cached: subjects, From and List-Id repeat across a run's messages."""
    check_header(name, value)
    if value.isascii() and (len(name) + len(value) < 76 or " " not in value):
        # A value without spaces (a URL in angle brackets) cannot be folded usefully: kept on
        # the header's own line, which some receivers' List-Unsubscribe parsing expects.
        if len(name) + len(value) > 990:
            raise HeaderError(f"{name} is too long for one line: {len(value)} characters")
        return value
    charset = "us-ascii" if value.isascii() else "utf-8"
    return Header(value, charset, header_name=name).encode(linesep="\r\n")


def _part(boundary: str, subtype: str, body: str) -> bytes:
    head = (
        f"\r\n--{boundary}\r\n"
        f'Content-Type: text/{subtype}; charset="utf-8"\r\n'
        "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
    )
    return head.encode("ascii") + quoted_printable(body)


def quoted_printable(body: str) -> bytes:
    """`body` in quoted-printable with CRLF line ends, as binascii encodes it whole.

    Quoted-printable keeps the body 7-bit clean for any relay and short-lined for filters.
    It encodes line by line, so each line is encoded once while its text recurs: a day's
    digests share most lines (the frame, the papers), and only a reader's own lines (their
    highlights, reasons, links) are encoded per message. A line is encoded with its line
    end, as binascii treats trailing whitespace before a line end and at the end apart."""
    if "\r" in body:
        body = body.replace("\r\n", "\n").replace("\r", "\n")
    lines = body.split("\n")
    known = _QP_LINES
    if len(known) > QP_LINES_KEPT:
        known.clear()
    get = known.get
    last = lines.pop()
    out = [get(line) or _remembered(line) for line in lines]
    out.append(_qp(last))
    return b"".join(out)


def _remembered(line: str) -> bytes:
    encoded = _QP_LINES[line] = _qp(line + "\n")
    return encoded


def _qp(text: str) -> bytes:
    return binascii.b2a_qp(text.encode("utf-8"), istext=True).replace(b"\n", b"\r\n")


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
