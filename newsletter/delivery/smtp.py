"""A small pool of reused SMTP connections that turns every outcome into a `Reply`.

aiosmtplib's step-by-step calls (connect, mail, rcpt, data) tell which phase failed, which
decides between "nothing was handed over" (retry freely) and "the message may have been
accepted" (an exception while `data()` runs). `send` never raises for SMTP or network
problems. It does not call `TokenBucket.slow_down()`: the caller does, when
`classify(reply).slow_down`.

`send` takes the message as the composer built it, CRLF line ends throughout, and hands it
to aiosmtplib without a second pass over it (newsletter.delivery.smtp_client).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import ssl
from collections.abc import Awaitable
from dataclasses import dataclass
from types import TracebackType

import aiosmtplib
from aiosmtplib import (
    SMTPConnectError,
    SMTPException,
    SMTPHeloError,
    SMTPResponse,
    SMTPResponseException,
)

from newsletter.config import SmtpSecurity
from newsletter.delivery.ratelimit import TokenBucket
from newsletter.delivery.replies import Phase, Reply
from newsletter.delivery.smtp_client import Client

log = logging.getLogger(__name__)

QUIT_TIMEOUT = 5.0  # seconds; a polite goodbye is not worth waiting longer for
_CLOSING = 421  # the server is closing the connection (RFC 5321 4.2.3)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    host: str
    port: int
    security: SmtpSecurity
    username: str | None = None  # AUTH only when set
    password: str | None = None
    timeout: float = 30.0  # seconds, per command and for the reply to the message
    tls_context: ssl.SSLContext | None = None  # None: the system's trusted CAs
    messages_per_connection: int = 100  # reconnect after this many (relays cap it)
    local_hostname: str | None = None  # the EHLO name; None: this machine's FQDN


class _Slot:
    """One connection's place in the pool; connected lazily, replaced when broken."""

    def __init__(self) -> None:
        self.smtp: Client | None = None
        self.transactions = 0

    @property
    def connected(self) -> bool:
        return self.smtp is not None and self.smtp.is_connected

    def drop(self) -> None:
        if self.smtp is not None:
            self.smtp.close()
        self.smtp, self.transactions = None, 0

    async def quit(self) -> None:
        smtp = self.smtp
        if smtp is not None and smtp.is_connected:
            with contextlib.suppress(SMTPException, OSError):  # leaving anyway
                await smtp.quit(timeout=QUIT_TIMEOUT)
        self.drop()


class SmtpPool:
    """Up to `size` concurrent connections to one relay, each reused across messages."""

    def __init__(self, config: SmtpConfig, *, size: int, limiter: TokenBucket) -> None:
        if size < 1:
            raise ValueError("size must be at least 1")
        self._config = config
        self._limiter = limiter
        self._slots = [_Slot() for _ in range(size)]
        self._free: asyncio.Queue[_Slot] = asyncio.Queue()
        for slot in self._slots:
            self._free.put_nowait(slot)
        self._client()  # a bad setting (e.g. local_hostname) fails here, not at send time

    @property
    def size(self) -> int:
        """How many connections may be open at once."""
        return len(self._slots)

    async def __aenter__(self) -> SmtpPool:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await asyncio.gather(*(slot.quit() for slot in self._slots))

    async def send(self, *, envelope_from: str, recipient: str, data: bytes) -> Reply:
        """Deliver one message to one recipient; the final reply (250 after DATA on success)."""
        await self._limiter.acquire()
        slot = await self._free.get()
        try:
            return await self._send_on(slot, envelope_from, recipient, data)
        except BaseException:
            slot.drop()  # cancelled mid-conversation: the connection's state is unknown
            raise
        finally:
            self._free.put_nowait(slot)

    async def _send_on(self, slot: _Slot, sender: str, recipient: str, data: bytes) -> Reply:
        reused = slot.connected
        if not reused:
            refused = await self._connect(slot)
            if refused is not None:
                return refused
        reply = await self._transaction(slot, sender, recipient, data)
        if reused and reply.phase is Phase.MAIL and reply.code is None:
            # An idle connection the server has closed meanwhile: nothing was handed
            # over, so one fresh connection gets another go.
            log.info("reused SMTP connection failed (%s); reconnecting", reply)
            refused = await self._connect(slot)
            if refused is not None:
                return refused
            reply = await self._transaction(slot, sender, recipient, data)
        return reply

    async def _connect(self, slot: _Slot) -> Reply | None:
        """Open, secure, authenticate and greet; the failure reply, or None when ready."""
        slot.drop()
        smtp = self._client()
        try:
            await smtp.connect()  # connects, then STARTTLS and AUTH as configured
            await _hello(smtp)
        except (SMTPException, OSError) as exc:
            smtp.close()
            return _failure(Phase.CONNECT, exc)
        slot.smtp = smtp
        return None

    def _client(self) -> Client:
        config = self._config
        return Client(
            hostname=config.host,
            port=config.port,
            username=config.username,
            password=config.password if config.username is not None else None,
            local_hostname=config.local_hostname,
            timeout=config.timeout,
            use_tls=config.security is SmtpSecurity.TLS,
            # Never an opportunistic upgrade: NONE means a relay trusted without TLS.
            start_tls=config.security is SmtpSecurity.STARTTLS,
            tls_context=config.tls_context,
        )

    async def _transaction(self, slot: _Slot, sender: str, recipient: str, data: bytes) -> Reply:
        smtp = slot.smtp
        assert smtp is not None
        slot.transactions += 1
        reply = await _exchange(smtp, sender, recipient, data)
        if reply.code is None or reply.code == _CLOSING:
            slot.drop()
            return reply
        if reply.code >= 300:
            await _reset(slot)
        if slot.transactions >= self._config.messages_per_connection:
            await slot.quit()
        return reply


async def _hello(smtp: aiosmtplib.SMTP) -> None:
    """EHLO now (HELO for pre-ESMTP servers), so that a refusal counts as connecting."""
    if not smtp.is_ehlo_or_helo_needed:
        return
    try:
        await smtp.ehlo()
    except SMTPHeloError:
        await smtp.helo()


async def _exchange(smtp: Client, sender: str, recipient: str, data: bytes) -> Reply:
    """MAIL, RCPT and DATA for one recipient; the first refusal or the final reply."""
    # aiosmtplib raises ValueError for these (command injection); answer as a server would.
    if _CONTROL.search(sender):
        return Reply(Phase.MAIL, 553, "5.1.7 control character in the sender address")
    if _CONTROL.search(recipient):
        return Reply(Phase.RCPT, 553, "5.1.3 control character in the recipient address")
    utf8 = not (sender.isascii() and recipient.isascii())
    if utf8 and not smtp.supports_extension("smtputf8"):
        # RFC 6531 3.7.4.1: give up as the server would; at RCPT it fails this message only.
        phase = Phase.RCPT if sender.isascii() else Phase.MAIL
        return Reply(phase, 553, "5.6.7 non-ASCII address; the server lacks SMTPUTF8")
    encoding = "utf-8" if utf8 else "ascii"
    mail = smtp.mail(sender, options=_mail_options(smtp, data, utf8=utf8), encoding=encoding)
    reply = await _attempt(Phase.MAIL, mail)
    if reply.code == 250:
        reply = await _attempt(Phase.RCPT, smtp.rcpt(recipient, encoding=encoding))
    if reply.code in {250, 251}:
        reply = await _attempt(Phase.DATA, smtp.send_data(data))
    return reply


def _mail_options(smtp: aiosmtplib.SMTP, data: bytes, *, utf8: bool) -> list[str]:
    options = []
    if smtp.supports_extension("size"):
        # A relay with a size limit then refuses at MAIL, before the body is sent.
        options.append(f"SIZE={len(data)}")
    if not data.isascii() and smtp.supports_extension("8bitmime"):
        options.append("BODY=8BITMIME")
    if utf8:
        options.append("SMTPUTF8")
    return options


async def _attempt(phase: Phase, call: Awaitable[SMTPResponse]) -> Reply:
    try:
        response = await call
    except (SMTPException, OSError) as exc:
        return _failure(phase, exc)
    return Reply(phase, response.code, response.message)


def _failure(phase: Phase, exc: BaseException) -> Reply:
    # aiosmtplib reports an unparsable reply as code -1: no usable reply either.
    if isinstance(exc, SMTPResponseException) and exc.code >= 0:
        return Reply(phase, exc.code, exc.message)
    if isinstance(exc, TimeoutError):
        what = "timed out"
    elif isinstance(exc, ssl.SSLError):
        what = "TLS failed"
    elif isinstance(exc, SMTPConnectError):
        what = "cannot connect"
    elif isinstance(exc, ConnectionError):
        what = "connection lost"
    else:
        what = "error"
    detail = str(exc)
    return Reply(phase, None, f"{what}: {detail}" if detail else what)


async def _reset(slot: _Slot) -> None:
    """RSET after a refused transaction so the connection can carry the next one."""
    smtp = slot.smtp
    assert smtp is not None
    try:
        await smtp.rset()
    except (SMTPException, OSError):
        slot.drop()
