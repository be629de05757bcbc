"""A scripted SMTP server (aiosmtpd, in its own thread) on a free loopback port.

Replies are scripted by local part: the recipient's for RCPT and DATA, the sender's for
MAIL FROM. `SCRIPTS` holds the standard cast (`bounce@`, `defer421@`, `dropafterdata@`,
...); anything else is accepted. Every message whose body arrived is recorded, and every
connection counted, so a test can check what was delivered, how often and over how many
connections.

    def test_x(smtp_server: ScriptedSmtpServer) -> None:
        smtp_server.script("flaky", Script(rcpt="451 4.3.0 try later", times=2))
        smtp_server.default = Script(delay=0.005)  # a relay that takes 5 ms per message
        ...
        assert [m.rcpt_tos for m in smtp_server.messages] == [("ok@example.org",)]
        assert smtp_server.connections == 1

`messages` holds every body that arrived, with the reply given (None: dropped after the
body, so maybe delivered); `accepted` only those answered 2xx. `connections`,
`open_connections` and `max_concurrent` count TCP connections (the start-up probe excluded).

The fixtures `smtp_server` and `tls_files` are registered by tests/conftest.py (a test names
them, nothing imports them). `running_smtp_server(...)` serves TLS, AUTH and size limits.
`wait_until(condition)` wakes whenever a message arrives, instead of polling.
"""

from __future__ import annotations

import asyncio
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

Step = Literal["mail", "rcpt", "data"]


@dataclass(frozen=True, slots=True)
class Script:
    """What the server does for one local part. None replies mean "accept"."""

    mail: str | None = None  # reply to MAIL FROM (looked up by the sender's local part)
    rcpt: str | None = None  # reply to RCPT TO
    data: str | None = None  # final reply once the message has arrived
    drop: Step | None = None  # close the connection instead of replying at this step
    delay: float = 0.0  # seconds to wait before replying at `delay_at`
    delay_at: Step = "data"
    times: int | None = None  # only the first N times this script is used, then accept


ACCEPT = Script()

SCRIPTS: Mapping[str, Script] = {
    "defer451": Script(rcpt="451 4.3.0 Temporary local problem"),
    "defer421": Script(rcpt="421 4.7.0 Too many messages, slow down"),
    "greylist": Script(rcpt="450 4.2.0 Greylisted, try again later"),
    "bounce": Script(rcpt="550 5.1.1 No such user"),
    "bounceplain": Script(rcpt="550 No such user here"),
    "policy": Script(rcpt="550 5.7.1 Message rejected by policy"),
    "full": Script(rcpt="552 5.2.2 Mailbox full"),
    "toobig": Script(data="552 5.3.4 Message too big"),
    "spam": Script(data="554 5.7.1 Message looks like spam"),
    "rejected": Script(data="554 Transaction failed"),
    "badsender": Script(mail="553 5.1.8 Sender domain does not exist"),
    "dropbeforedata": Script(drop="rcpt"),
    "dropafterdata": Script(drop="data"),
    "slow": Script(delay=2.0),
    "slowrcpt": Script(delay=2.0, delay_at="rcpt"),
}


@dataclass(frozen=True, slots=True)
class Received:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    connection: int  # 1 for the first connection the server accepted, and so on
    reply: str | None  # what the server answered; None when it dropped the connection
    login: str | None  # the AUTH user, if any
    tls: bool


@dataclass(frozen=True, slots=True)
class TlsFiles:
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context

    def client_context(self) -> ssl.SSLContext:
        """Trusts this certificate only, and checks the 127.0.0.1 in it."""
        return ssl.create_default_context(cafile=str(self.cert))


def make_self_signed(directory: Path) -> TlsFiles:
    files = TlsFiles(cert=directory / "cert.pem", key=directory / "key.pem")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
         "-keyout", str(files.key), "-out", str(files.cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return files


@dataclass(eq=False)
class ScriptedSmtpServer:
    """The state shared with the server thread; read it from tests."""

    host: str = "127.0.0.1"
    port: int = 0
    scripts: dict[str, Script] = field(default_factory=lambda: dict(SCRIPTS))
    default: Script = ACCEPT  # for local parts without a script
    _messages: list[Received] = field(default_factory=list)
    _connections: int = 0
    _probed: bool = False  # the controller's start-up probe is not counted
    _open: int = 0
    _max_open: int = 0
    _used: dict[str, int] = field(default_factory=dict)
    _arrivals: int = 0  # bodies received so far, for `wait_until`
    _reached: set[str] = field(default_factory=set)  # recipients with a mail answered 2xx
    _lock: threading.Condition = field(default_factory=threading.Condition)

    def script(self, local_part: str, script: Script) -> None:
        with self._lock:
            self.scripts[local_part] = script
            self._used.pop(local_part, None)

    @property
    def messages(self) -> list[Received]:
        """Every message whose body arrived, accepted or not, in arrival order."""
        with self._lock:
            return list(self._messages)

    @property
    def accepted(self) -> list[Received]:
        return [m for m in self.messages if _is_accepted(m)]

    @property
    def recipients_reached(self) -> int:
        """How many different recipients have had a mail accepted (cheap: no copy)."""
        with self._lock:
            return len(self._reached)

    @property
    def connections(self) -> int:
        """Connections accepted so far (the controller's own start-up probe excluded)."""
        with self._lock:
            return self._connections

    @property
    def open_connections(self) -> int:
        with self._lock:
            return self._open

    @property
    def max_concurrent(self) -> int:
        """The most connections that were open at the same time."""
        with self._lock:
            return self._max_open

    def _lookup(self, address: str) -> Script:
        local = address.rpartition("@")[0] or address
        with self._lock:
            if local not in self.scripts:  # a VERP sender (bounces+TOKEN) by its base
                local = local.partition("+")[0]
            script = self.scripts.get(local)
            if script is None:
                return self.default
            used = self._used.get(local, 0)
            if script.times is not None and used >= script.times:
                return self.default
            self._used[local] = used + 1
            return script

    def _connected(self) -> int | None:
        with self._lock:
            if not self._probed:
                self._probed = True
                return None
            self._connections += 1
            self._open += 1
            self._max_open = max(self._max_open, self._open)
            return self._connections

    def _disconnected(self) -> None:
        with self._lock:
            self._open -= 1

    def _record(self, received: Received) -> None:
        with self._lock:
            self._messages.append(received)
            self._arrivals += 1
            if _is_accepted(received):
                self._reached.update(received.rcpt_tos)
            self._lock.notify_all()

    def wait_until(
        self, condition: Callable[[], bool], *, timeout: float, recheck: float = 0.1
    ) -> None:
        """Return once `condition()` holds; it is checked whenever a message arrives, and
        every `recheck` seconds for what else it reads (a process that exited, a table)."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                seen = self._arrivals
            if condition():
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"timed out after {timeout} s waiting")
            with self._lock:
                if self._arrivals == seen:  # else one arrived while `condition` ran
                    self._lock.wait(min(remaining, recheck))


def _is_accepted(message: Received) -> bool:
    return message.reply is not None and message.reply.startswith("2")


class _CountingSMTP(SMTP):
    def __init__(self, state: ScriptedSmtpServer, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.state = state
        self.number = state._connected() or 0
        self.scripts: dict[str, Script] = {}  # by recipient, for DATA to act on

    def connection_lost(self, error: Exception | None) -> None:
        if self.number:
            self.state._disconnected()
        super().connection_lost(error)


class _Handler:
    def __init__(self, state: ScriptedSmtpServer) -> None:
        self.state = state

    async def handle_MAIL(
        self, server: _CountingSMTP, session: Session, envelope: Envelope, address: str,
        options: list[str],
    ) -> str:  # fmt: skip
        script = self.state._lookup(address)
        await _perform(server, script, "mail")
        if script.mail is not None:
            return script.mail
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 2.1.0 Ok"

    async def handle_RCPT(
        self, server: _CountingSMTP, session: Session, envelope: Envelope, address: str,
        options: list[str],
    ) -> str:  # fmt: skip
        script = self.state._lookup(address)
        server.scripts[address] = script  # DATA acts on the same use of the script
        await _perform(server, script, "rcpt")
        if script.rcpt is not None:
            return script.rcpt
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server: _CountingSMTP, session: Session, envelope: Envelope) -> str:
        script = server.scripts.pop(envelope.rcpt_tos[0], ACCEPT)
        server.scripts.clear()
        reply = None if script.drop == "data" else script.data or "250 2.0.0 Ok: queued"
        auth = session.auth_data
        self.state._record(
            Received(
                mail_from=envelope.mail_from or "",
                rcpt_tos=tuple(envelope.rcpt_tos),
                data=envelope.original_content or b"",
                connection=server.number,
                reply=reply,
                login=auth.login.decode() if isinstance(auth, LoginPassword) else None,
                tls=server.transport is not None
                and server.transport.get_extra_info("ssl_object") is not None,
            )
        )
        await _perform(server, script, "data")
        assert reply is not None
        return reply


async def _perform(server: SMTP, script: Script, step: Step) -> None:
    """Wait or hang up as scripted for this step; returns only if a reply is due."""
    if script.delay and script.delay_at == step:
        await asyncio.sleep(script.delay)
    if script.drop == step:
        assert server.transport is not None
        server.transport.close()
        # connection_lost() cancels this handler; no reply is ever written.
        await asyncio.Event().wait()


class _Controller(Controller):
    def __init__(self, state: ScriptedSmtpServer, **kwargs: Any) -> None:
        super().__init__(_Handler(state), hostname=state.host, port=0, **kwargs)
        self.state = state

    def factory(self) -> SMTP:
        return _CountingSMTP(self.state, self.handler, **self.SMTP_kwargs)

    def _trigger_server(self) -> None:
        # Bound to port 0: learn the real port before the start-up probe connects to it.
        assert isinstance(self.server, asyncio.Server)
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()  # type: ignore[no-untyped-call]


@contextmanager
def running_smtp_server(
    *,
    starttls: TlsFiles | None = None,
    implicit_tls: TlsFiles | None = None,
    users: Mapping[str, str] | None = None,
    auth_require_tls: bool = True,
    data_size_limit: int | None = 2**25,
    smtputf8: bool = True,
) -> Iterator[ScriptedSmtpServer]:
    """Serve until the block ends. `users` (login -> password) turns AUTH on and requires it;
    aiosmtpd offers AUTH only after STARTTLS unless `auth_require_tls` is False (it does not
    count implicit TLS as TLS, so pass False with `implicit_tls`)."""
    state = ScriptedSmtpServer()
    kwargs: dict[str, Any] = {
        "server_hostname": "localhost",  # no getfqdn() lookup per connection
        "data_size_limit": data_size_limit,
        "auth_require_tls": auth_require_tls,
        "ready_timeout": 5.0,
        "enable_SMTPUTF8": smtputf8,
    }
    if starttls is not None:
        kwargs |= {"tls_context": starttls.server_context(), "require_starttls": True}
    if implicit_tls is not None:
        kwargs["ssl_context"] = implicit_tls.server_context()
    if users is not None:
        kwargs |= {"authenticator": _authenticator(dict(users)), "auth_required": True}
    controller = _Controller(state, **kwargs)
    controller.start()
    state.port = controller.port
    try:
        yield state
    finally:
        controller.stop()


def _authenticator(users: dict[str, str]) -> Any:
    def authenticate(
        server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: object
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and users.get(data.login.decode()) == (
            data.password.decode()
        )
        return AuthResult(success=ok, handled=False, auth_data=data)

    return authenticate


@pytest.fixture
def smtp_server() -> Iterator[ScriptedSmtpServer]:
    """A plain server (no TLS, no AUTH) with the standard scripts."""
    with running_smtp_server() as server:
        yield server


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """A self-signed certificate for 127.0.0.1, made once per test session."""
    return make_self_signed(tmp_path_factory.mktemp("tls"))
