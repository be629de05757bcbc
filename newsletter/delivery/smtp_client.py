"""aiosmtplib's SMTP client, sending messages that are already CRLF-clean as they are.

aiosmtplib's `data()` makes two regular-expression passes over every message (line ends to
CRLF, then dot-stuffing): for a 40 kB digest they cost more than building it. The composer
builds CRLF line ends throughout, so `Client.send_data` checks that with byte counts instead,
stuffs dots only when some line starts with one, and runs the same DATA exchange through the
protocol's public methods (`execute_command`, `write`, `read_response`). Anything not
CRLF-clean takes aiosmtplib's own `data()`. tests/delivery/test_smtp.py checks that the
bytes on the wire are what aiosmtplib's own normalisation would write.
"""

from __future__ import annotations

import aiosmtplib
from aiosmtplib import (
    SMTPDataError,
    SMTPResponse,
    SMTPServerDisconnected,
    SMTPStatus,
    SMTPTimeoutError,
)


def crlf_clean(message: bytes) -> bool:
    """Every line ends with CRLF, and no CR or LF stands alone (cheaper than a regex)."""
    pairs = message.count(b"\r\n")
    return (
        message.endswith(b"\r\n")
        and message.count(b"\n") == pairs
        and message.count(b"\r") == pairs
    )


def dot_stuffed(message: bytes) -> bytes:
    """RFC 5321 4.5.2: a line that starts with "." gets another one. For a CRLF-clean
    message every line starts at its beginning or after a CRLF: a byte replace, not a regex
    (quoted-printable's soft line breaks often start a line with a ".")."""
    if message.startswith(b"."):
        message = b"." + message
    return message.replace(b"\r\n.", b"\r\n..")


class Client(aiosmtplib.SMTP):
    async def send_data(self, message: bytes) -> SMTPResponse:
        """`data(message)` without re-normalising a CRLF-clean message (see the module
        docstring). The pool uses a connection for one transaction at a time, so nothing
        else writes to it between the DATA reply and the message."""
        protocol = self.protocol
        if not crlf_clean(message):
            return await self.data(message)
        if protocol is None:
            raise SMTPServerDisconnected("Connection lost")
        try:
            start = await protocol.execute_command(b"DATA", timeout=self.timeout)
            if start.code != SMTPStatus.start_input:
                raise SMTPDataError(start.code, start.message)
            protocol.write(dot_stuffed(message) + b".\r\n")
            response = await protocol.read_response(timeout=self.timeout)
        except (SMTPServerDisconnected, SMTPTimeoutError):
            self.close()
            raise
        if response.code != SMTPStatus.completed:
            raise SMTPDataError(response.code, response.message)
        return response
