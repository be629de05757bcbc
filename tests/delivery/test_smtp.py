"""The SMTP pool against a real (scripted) server, and the rate limiter on a fake clock."""

from __future__ import annotations

import asyncio
import socket
import time

import pytest
from aiosmtplib.protocol import PERIOD_REGEX, normalize_message_line_endings
from hypothesis import given
from hypothesis import strategies as st

from newsletter.config import SmtpSecurity
from newsletter.delivery.ratelimit import MIN_RATE, TokenBucket
from newsletter.delivery.replies import Phase, Reply, Verdict, classify
from newsletter.delivery.smtp import SmtpConfig, SmtpPool
from newsletter.delivery.smtp_client import crlf_clean, dot_stuffed
from tests.support.smtp_server import (
    Script,
    ScriptedSmtpServer,
    TlsFiles,
    running_smtp_server,
)

pytestmark = pytest.mark.anyio

SENDER = "digest@news.example"
MESSAGE = b"From: digest@news.example\r\nSubject: Papers\r\n\r\nHello.\r\n"


def config(server: ScriptedSmtpServer, **overrides: object) -> SmtpConfig:
    settings: dict[str, object] = {"security": SmtpSecurity.NONE, "timeout": 2.0} | overrides
    return SmtpConfig(host=server.host, port=server.port, **settings)  # type: ignore[arg-type]


def pool(server: ScriptedSmtpServer, *, size: int = 1, **overrides: object) -> SmtpPool:
    return SmtpPool(config(server, **overrides), size=size, limiter=TokenBucket(None))


async def send(smtp: SmtpPool, recipient: str, *, sender: str = SENDER) -> Reply:
    return await smtp.send(envelope_from=sender, recipient=recipient, data=MESSAGE)


async def send_one(server: ScriptedSmtpServer, recipient: str, **overrides: object) -> Reply:
    async with SmtpPool(config(server, **overrides), size=1, limiter=TokenBucket(None)) as smtp:
        return await send(smtp, recipient)


# --- every reply class through a real conversation -------------------------------------


@pytest.mark.parametrize(
    ("local", "phase", "code", "verdict"),
    [
        ("ok", Phase.DATA, 250, Verdict.SENT),
        ("defer451", Phase.RCPT, 451, Verdict.DEFERRED),
        ("defer421", Phase.RCPT, 421, Verdict.DEFERRED),
        ("greylist", Phase.RCPT, 450, Verdict.DEFERRED),
        ("bounce", Phase.RCPT, 550, Verdict.BOUNCED),
        ("bounceplain", Phase.RCPT, 550, Verdict.BOUNCED),
        ("policy", Phase.RCPT, 550, Verdict.REFUSED),  # this recipient's policy (issue 14)
        ("full", Phase.RCPT, 552, Verdict.FAILED),
        ("toobig", Phase.DATA, 552, Verdict.FAILED),
        ("spam", Phase.DATA, 554, Verdict.STOP),
        ("rejected", Phase.DATA, 554, Verdict.FAILED),
        ("dropbeforedata", Phase.RCPT, None, Verdict.DEFERRED),
        ("dropafterdata", Phase.DATA, None, Verdict.AMBIGUOUS),
    ],
)
async def test_reply_classes(
    smtp_server: ScriptedSmtpServer, local: str, phase: Phase, code: int | None, verdict: Verdict
) -> None:
    reply = await send_one(smtp_server, f"{local}@example.org")
    assert (reply.phase, reply.code, classify(reply).verdict) == (phase, code, verdict)
    body_arrived = phase is Phase.DATA
    assert [m.rcpt_tos for m in smtp_server.messages] == (
        [(f"{local}@example.org",)] if body_arrived else []
    )


async def test_success_reply_and_what_the_server_received(
    smtp_server: ScriptedSmtpServer,
) -> None:
    reply = await send_one(smtp_server, "ok@example.org")
    assert str(reply) == "250 2.0.0 Ok: queued"
    [received] = smtp_server.messages
    assert (received.mail_from, received.rcpt_tos) == (SENDER, ("ok@example.org",))
    assert received.data == MESSAGE
    assert (received.reply, received.tls, received.login) == ("250 2.0.0 Ok: queued", False, None)


async def test_refused_sender_stops(smtp_server: ScriptedSmtpServer) -> None:
    async with pool(smtp_server) as smtp:
        reply = await send(smtp, "ok@example.org", sender="badsender@news.example")
    assert (reply.phase, reply.code, reply.enhanced) == (Phase.MAIL, 553, "5.1.8")
    assert classify(reply).verdict is Verdict.STOP


async def test_dropped_connections_say_what_happened(smtp_server: ScriptedSmtpServer) -> None:
    async with pool(smtp_server) as smtp:
        before = await send(smtp, "dropbeforedata@example.org")
        after = await send(smtp, "dropafterdata@example.org")
    assert str(before).startswith("rcpt: connection lost")
    assert str(after).startswith("data: connection lost")


async def test_control_characters_in_addresses_are_refused_before_sending(
    smtp_server: ScriptedSmtpServer,
) -> None:
    async with pool(smtp_server) as smtp:
        injected = await send(smtp, "a@example.org>\r\nRCPT TO:<b@example.org")
        bad_sender = await send(smtp, "a@example.org", sender="d@news.example\n")
        after = await send(smtp, "ok@example.org")
    assert (injected.phase, injected.code, classify(injected).verdict) == (
        Phase.RCPT,
        553,
        Verdict.BOUNCED,
    )
    assert (bad_sender.phase, classify(bad_sender).verdict) == (Phase.MAIL, Verdict.STOP)
    assert after.code == 250
    assert [m.rcpt_tos for m in smtp_server.messages] == [("ok@example.org",)]


# --- the message as built: no second pass over CRLF-clean bytes ---------------------------


async def test_messages_arrive_as_built_leading_dots_and_all(
    smtp_server: ScriptedSmtpServer,
) -> None:
    clean = b"Subject: dots\r\n\r\n.hidden\r\n..two\r\n.\r\nlast line\r\n"
    lone = b"Subject: lone\n\n.dot\nline\r\n"  # not CRLF-clean: aiosmtplib's own data()
    async with pool(smtp_server) as smtp:
        for message in (clean, lone, clean):
            reply = await smtp.send(envelope_from=SENDER, recipient="ok@example.org", data=message)
            assert reply.code == 250
    assert [m.data for m in smtp_server.messages] == [
        clean,
        lone.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"),
        clean,
    ]
    assert smtp_server.connections == 1


MESSAGE_BYTES = st.lists(st.sampled_from([b"\r\n", b"\r", b"\n", b".", b"x", b" "]), max_size=40)


@given(MESSAGE_BYTES.map(b"".join))
def test_a_message_is_written_as_aiosmtplib_would_write_it(message: bytes) -> None:
    # aiosmtplib's own two passes are the reference for what goes on the wire.
    normalized = normalize_message_line_endings(message)
    assert crlf_clean(message) == (normalized == message and message != b"")
    if crlf_clean(message):
        assert dot_stuffed(message) == PERIOD_REGEX.sub(b"..", normalized)


# --- connections: reuse, reconnects, limits ----------------------------------------------


async def test_one_connection_carries_many_messages(smtp_server: ScriptedSmtpServer) -> None:
    async with pool(smtp_server) as smtp:
        replies = [await send(smtp, f"r{i}@example.org") for i in range(20)]
    assert {r.code for r in replies} == {250}
    assert [m.rcpt_tos[0] for m in smtp_server.messages] == [f"r{i}@example.org" for i in range(20)]
    assert smtp_server.connections == 1


async def test_refused_transaction_is_reset_and_the_connection_kept(
    smtp_server: ScriptedSmtpServer,
) -> None:
    async with pool(smtp_server) as smtp:
        refused = [await send(smtp, f"{local}@example.org") for local in ("bounce", "toobig")]
        accepted = await send(smtp, "ok@example.org")
    assert [r.code for r in refused] == [550, 552]
    assert accepted.code == 250
    assert smtp_server.connections == 1


@pytest.mark.parametrize("local", ["dropbeforedata", "dropafterdata", "defer421", "closing"])
async def test_next_message_reconnects_after_a_drop_or_421(
    smtp_server: ScriptedSmtpServer, local: str
) -> None:
    # 421 means the server is closing the connection, even if this one forgets to.
    smtp_server.script("closing", Script(data="421 4.3.2 System shutting down"))
    async with pool(smtp_server) as smtp:
        first = await send(smtp, f"{local}@example.org")
        second = await send(smtp, "ok@example.org")
    assert first.code in {None, 421}
    assert second.code == 250
    assert smtp_server.connections == 2


async def test_a_reused_connection_closed_meanwhile_is_replaced(
    smtp_server: ScriptedSmtpServer,
) -> None:
    # The server hangs up at MAIL once: like a relay's idle timeout we had not noticed.
    smtp_server.script("stale", Script(drop="mail", times=1))
    async with pool(smtp_server) as smtp:
        first = await send(smtp, "ok@example.org")
        second = await send(smtp, "ok2@example.org", sender="stale@news.example")
    assert (first.code, second.code) == (250, 250)
    assert smtp_server.connections == 2


async def test_a_fresh_connection_failing_at_mail_is_not_retried(
    smtp_server: ScriptedSmtpServer,
) -> None:
    smtp_server.script("hangup", Script(drop="mail"))
    async with pool(smtp_server) as smtp:
        reply = await send(smtp, "ok@example.org", sender="hangup@news.example")
    assert (reply.phase, reply.code, classify(reply).verdict) == (
        Phase.MAIL,
        None,
        Verdict.DEFERRED,
    )
    assert smtp_server.connections == 1


async def test_reconnects_after_messages_per_connection(smtp_server: ScriptedSmtpServer) -> None:
    async with pool(smtp_server, messages_per_connection=2) as smtp:
        replies = [await send(smtp, f"r{i}@example.org") for i in range(5)]
    assert {r.code for r in replies} == {250}
    assert [m.connection for m in smtp_server.messages] == [1, 1, 2, 2, 3]


async def test_size_connections_work_concurrently(smtp_server: ScriptedSmtpServer) -> None:
    smtp_server.default = Script(delay=0.05)
    async with pool(smtp_server, size=4) as smtp:
        replies = await asyncio.gather(*(send(smtp, f"r{i}@example.org") for i in range(12)))
    assert {r.code for r in replies} == {250}
    assert len(smtp_server.messages) == 12
    assert smtp_server.connections == 4
    assert smtp_server.max_concurrent == 4


async def test_connections_open_lazily(smtp_server: ScriptedSmtpServer) -> None:
    async with pool(smtp_server, size=4) as smtp:
        await asyncio.gather(send(smtp, "a@example.org"), send(smtp, "b@example.org"))
    assert smtp_server.connections == 2


async def test_leaving_the_pool_closes_every_connection(smtp_server: ScriptedSmtpServer) -> None:
    async with pool(smtp_server, size=3) as smtp:
        await asyncio.gather(*(send(smtp, f"r{i}@example.org") for i in range(3)))
        assert smtp_server.open_connections == 3
    await _eventually(lambda: smtp_server.open_connections == 0)


async def test_cancelled_send_drops_its_connection(smtp_server: ScriptedSmtpServer) -> None:
    async with pool(smtp_server) as smtp:
        task = asyncio.create_task(send(smtp, "slow@example.org"))
        await _eventually(lambda: len(smtp_server.messages) == 1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        reply = await send(smtp, "ok@example.org")
    assert reply.code == 250
    assert smtp_server.connections == 2


async def test_every_message_waits_for_the_limiter(smtp_server: ScriptedSmtpServer) -> None:
    class CountingBucket(TokenBucket):
        acquired = 0

        async def acquire(self) -> None:
            self.acquired += 1
            await super().acquire()

    limiter = CountingBucket(None)
    async with SmtpPool(config(smtp_server), size=2, limiter=limiter) as smtp:
        await asyncio.gather(*(send(smtp, f"r{i}@example.org") for i in range(5)))
    assert limiter.acquired == 5


# --- timeouts and unreachable servers ------------------------------------------------------


async def test_slow_final_reply_is_ambiguous(smtp_server: ScriptedSmtpServer) -> None:
    async with pool(smtp_server, timeout=0.3) as smtp:
        started = time.monotonic()
        slow = await send(smtp, "slow@example.org")
        elapsed = time.monotonic() - started
        after = await send(smtp, "ok@example.org")
    assert (slow.phase, slow.code, classify(slow).verdict) == (
        Phase.DATA,
        None,
        Verdict.AMBIGUOUS,
    )
    assert "timed out" in slow.message
    assert elapsed < 1.0
    assert after.code == 250
    # The server did get the message: exactly why a lost final reply is ambiguous.
    assert [m.rcpt_tos[0] for m in smtp_server.messages] == ["slow@example.org", "ok@example.org"]


async def test_slow_reply_before_data_is_deferred(smtp_server: ScriptedSmtpServer) -> None:
    reply = await send_one(smtp_server, "slowrcpt@example.org", timeout=0.3)
    assert (reply.phase, reply.code, classify(reply).verdict) == (
        Phase.RCPT,
        None,
        Verdict.DEFERRED,
    )
    assert smtp_server.messages == []


async def test_connection_refused_is_deferred() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # free now, and nothing listens on it
    smtp = SmtpPool(
        SmtpConfig(host="127.0.0.1", port=port, security=SmtpSecurity.NONE, timeout=1.0),
        size=1,
        limiter=TokenBucket(None),
    )
    async with smtp:
        reply = await send(smtp, "ok@example.org")
    assert (reply.phase, reply.code, classify(reply).verdict) == (
        Phase.CONNECT,
        None,
        Verdict.DEFERRED,
    )
    assert reply.message.startswith("cannot connect")


# --- TLS, AUTH and server features --------------------------------------------------------


async def test_starttls_and_auth(tls_files: TlsFiles) -> None:
    with running_smtp_server(starttls=tls_files, users={"digest": "s3cret"}) as server:
        reply = await send_one(
            server,
            "ok@example.org",
            security=SmtpSecurity.STARTTLS,
            tls_context=tls_files.client_context(),
            username="digest",
            password="s3cret",
        )
    assert reply.code == 250
    [received] = server.messages
    assert (received.tls, received.login) == (True, "digest")


async def test_wrong_password_stops_the_run(tls_files: TlsFiles) -> None:
    with running_smtp_server(starttls=tls_files, users={"digest": "s3cret"}) as server:
        reply = await send_one(
            server,
            "ok@example.org",
            security=SmtpSecurity.STARTTLS,
            tls_context=tls_files.client_context(),
            username="digest",
            password="wrong",
        )
    assert (reply.phase, reply.code, classify(reply).verdict) == (
        Phase.CONNECT,
        535,
        Verdict.STOP,
    )
    assert server.messages == []


async def test_missing_auth_stops_the_run(tls_files: TlsFiles) -> None:
    with running_smtp_server(starttls=tls_files, users={"digest": "s3cret"}) as server:
        reply = await send_one(
            server,
            "ok@example.org",
            security=SmtpSecurity.STARTTLS,
            tls_context=tls_files.client_context(),
        )
    assert (reply.phase, reply.code, classify(reply).verdict) == (Phase.MAIL, 530, Verdict.STOP)


async def test_plain_connection_to_a_server_requiring_starttls_stops(
    tls_files: TlsFiles,
) -> None:
    with running_smtp_server(starttls=tls_files) as server:
        reply = await send_one(server, "ok@example.org")
    assert (reply.phase, reply.code, classify(reply).verdict) == (Phase.MAIL, 530, Verdict.STOP)


async def test_untrusted_certificate_is_refused(tls_files: TlsFiles) -> None:
    with running_smtp_server(starttls=tls_files) as server:
        reply = await send_one(server, "ok@example.org", security=SmtpSecurity.STARTTLS)
    assert (reply.phase, reply.code) == (Phase.CONNECT, None)
    assert "CERTIFICATE_VERIFY_FAILED" in reply.message
    assert server.messages == []


# aiosmtpd counts only STARTTLS as TLS for AUTH, so implicit TLS needs auth_require_tls=False.
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
async def test_implicit_tls_with_auth(tls_files: TlsFiles) -> None:
    with running_smtp_server(
        implicit_tls=tls_files, users={"digest": "s3cret"}, auth_require_tls=False
    ) as server:
        reply = await send_one(
            server,
            "ok@example.org",
            security=SmtpSecurity.TLS,
            tls_context=tls_files.client_context(),
            username="digest",
            password="s3cret",
        )
    assert reply.code == 250
    [received] = server.messages
    assert (received.tls, received.login) == (True, "digest")


async def test_relay_size_limit_refuses_at_mail_from() -> None:
    with running_smtp_server(data_size_limit=1000) as server:
        async with pool(server) as smtp:
            big = await smtp.send(envelope_from=SENDER, recipient="a@example.org", data=b"x" * 2000)
            small = await send(smtp, "b@example.org")
    # SIZE= lets the relay refuse before the body is sent, with a bare 552.
    assert (big.phase, big.code, classify(big).verdict) == (Phase.MAIL, 552, Verdict.FAILED)
    assert small.code == 250
    assert server.connections == 1


async def test_international_address_uses_smtputf8(smtp_server: ScriptedSmtpServer) -> None:
    reply = await send_one(smtp_server, "josé@exämple.org")
    assert reply.code == 250
    assert smtp_server.messages[0].rcpt_tos == ("josé@exämple.org",)


async def test_international_address_without_smtputf8_fails_that_message() -> None:
    with running_smtp_server(smtputf8=False) as server:
        async with pool(server) as smtp:
            reply = await send(smtp, "josé@example.org")
            after = await send(smtp, "ok@example.org")
    assert (reply.phase, reply.code, reply.enhanced) == (Phase.RCPT, 553, "5.6.7")
    assert classify(reply).verdict is Verdict.FAILED
    assert after.code == 250


# --- the rate limiter -----------------------------------------------------------------------


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def bucket(rate: float | None, fake: FakeTime, **kwargs: object) -> TokenBucket:
    return TokenBucket(rate, clock=fake.clock, sleep=fake.sleep, **kwargs)  # type: ignore[arg-type]


async def test_rate_is_respected() -> None:
    fake = FakeTime()
    limiter = bucket(2.0, fake)
    for _ in range(5):
        await limiter.acquire()
    assert fake.sleeps == pytest.approx([0.5] * 4)
    assert fake.now == pytest.approx(2.0)


async def test_burst_goes_at_once_then_at_the_rate() -> None:
    fake = FakeTime()
    limiter = bucket(10.0, fake, burst=3)
    for _ in range(5):
        await limiter.acquire()
    assert fake.sleeps == pytest.approx([0.1, 0.1])


async def test_idle_time_refills_no_more_than_the_burst() -> None:
    fake = FakeTime()
    limiter = bucket(1.0, fake, burst=2)
    await limiter.acquire()
    fake.now += 100
    for _ in range(3):
        await limiter.acquire()
    assert fake.sleeps == pytest.approx([1.0])


async def test_concurrent_waiters_are_paced() -> None:
    fake = FakeTime()
    limiter = bucket(4.0, fake)
    await asyncio.gather(*(limiter.acquire() for _ in range(5)))
    assert fake.now == pytest.approx(1.0)


async def test_unlimited_never_waits() -> None:
    fake = FakeTime()
    limiter = bucket(None, fake)
    for _ in range(1000):
        await limiter.acquire()
    assert (fake.sleeps, limiter.rate) == ([], None)


def test_slow_down_halves_down_to_a_floor() -> None:
    limiter = bucket(8.0, FakeTime())
    limiter.slow_down()
    assert limiter.rate == 4.0
    limiter.slow_down()
    assert limiter.rate == 2.0
    for _ in range(10):
        limiter.slow_down()
    assert limiter.rate == MIN_RATE


async def test_slow_down_when_unlimited_starts_from_the_observed_rate() -> None:
    fake = FakeTime()
    limiter = bucket(None, fake)
    for _ in range(20):  # 20 messages in 2 s: 10 per second
        await limiter.acquire()
        fake.now += 0.1
    limiter.slow_down()
    assert limiter.rate == pytest.approx(5.0)
    await limiter.acquire()
    await limiter.acquire()
    assert fake.sleeps == pytest.approx([0.2])


async def test_rate_recovers_after_a_quiet_minute() -> None:
    fake = FakeTime()
    limiter = bucket(8.0, fake, recover_after=60.0)
    limiter.slow_down()
    limiter.slow_down()
    assert limiter.rate == 2.0
    fake.now += 60
    await limiter.acquire()
    assert limiter.rate == 4.0
    fake.now += 60
    await limiter.acquire()
    assert limiter.rate == 8.0
    fake.now += 600
    await limiter.acquire()
    assert limiter.rate == 8.0  # never above the configured rate


async def test_unlimited_is_restored_after_recovery() -> None:
    fake = FakeTime()
    limiter = bucket(None, fake, recover_after=60.0)
    for _ in range(10):
        await limiter.acquire()
        fake.now += 0.1
    limiter.slow_down()
    assert limiter.rate == pytest.approx(5.0)
    fake.now += 59
    await limiter.acquire()
    assert limiter.rate == pytest.approx(5.0)
    fake.now += 1
    await limiter.acquire()
    assert limiter.rate is None


def test_rate_and_burst_must_be_positive() -> None:
    with pytest.raises(ValueError, match="rate"):
        TokenBucket(0)
    with pytest.raises(ValueError, match="burst"):
        TokenBucket(1.0, burst=0)


async def _eventually(condition: object, *, timeout: float = 2.0) -> None:
    assert callable(condition)
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition never became true"
        await asyncio.sleep(0.01)
