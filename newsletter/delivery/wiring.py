"""Builds the delivery adapters from settings: the one place settings meet the mail code."""

from __future__ import annotations

import fcntl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import make_url
from sqlalchemy.orm import Session, sessionmaker

from newsletter.config import Settings, SmtpSecurity
from newsletter.delivery.compose import Composer
from newsletter.delivery.message import DkimSigner, MailIdentity
from newsletter.delivery.ratelimit import TokenBucket
from newsletter.delivery.replies import Verdict
from newsletter.delivery.sender import Sender, SendPolicy, SendReport
from newsletter.delivery.sink import SINK_HOST
from newsletter.delivery.smtp import SmtpConfig, SmtpPool
from newsletter.mail.links import Links
from newsletter.mail.render import Masthead
from newsletter.mail.tokens import Tokens
from newsletter.mail.verp import Verp


def mail_identity(settings: Settings) -> MailIdentity:
    return MailIdentity(settings.mail_from)


def verp(settings: Settings) -> Verp:
    """Return paths of every mail, and the check of every bounce report against them."""
    return Verp(settings.secret_key.get_secret_value(), settings.bounce_mailbox)


def links(settings: Settings) -> Links:
    return Links(base_url=settings.base_url, tokens=Tokens(settings.secret_key.get_secret_value()))


def composer(settings: Settings) -> Composer:
    identity = mail_identity(settings)
    name = identity.from_header.partition("<")[0].strip().strip('"') or "Paper digest"
    dkim = None
    if settings.dkim_private_key_file is not None and settings.dkim_selector:
        dkim = DkimSigner(
            selector=settings.dkim_selector,
            domain=settings.dkim_domain or identity.domain,
            private_key=settings.dkim_private_key_file.read_bytes(),
        )
    return Composer(
        identity=identity,
        links=links(settings),
        masthead=Masthead(
            list_name=name,
            postal_address=settings.mail_postal_address,
            site_url=settings.base_url,
        ),
        max_papers=settings.digest_max_papers,
        dkim=dkim,
    )


def smtp_config(settings: Settings) -> SmtpConfig:
    if settings.uses_mail_sink:
        return SmtpConfig(
            host=SINK_HOST,
            port=settings.mail_sink_port,
            security=SmtpSecurity.NONE,
            timeout=settings.smtp_timeout_seconds,
        )
    assert settings.smtp_host is not None  # production settings refuse to start without it
    return SmtpConfig(
        host=settings.smtp_host,
        port=settings.smtp_port,
        security=settings.smtp_security,
        username=settings.smtp_username,
        password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
        timeout=settings.smtp_timeout_seconds,
        messages_per_connection=settings.smtp_messages_per_connection,
    )


def send_policy(settings: Settings) -> SendPolicy:
    return SendPolicy(
        batch_size=settings.send_batch_size,
        lease=timedelta(seconds=settings.send_lease_seconds),
        first_retry=timedelta(minutes=settings.send_retry_minutes),
        give_up_after=timedelta(days=settings.send_give_up_days),
        max_error_rate=settings.send_max_error_rate,
        single_worker=make_url(settings.database_url).get_backend_name() == "sqlite",
        outcome_group=settings.send_outcome_group,
        outcome_group_seconds=settings.send_outcome_group_ms / 1000,
    )


class SenderBusy(RuntimeError):
    """Another process is sending from this SQLite database."""


@contextmanager
def _only_sender(settings: Settings) -> Iterator[None]:
    """On SQLite, one sending process at a time (an OS file lock next to the database):
    a new SQLite run retries rows left `sending` at once, which is only safe when no
    other process can be sending them. PostgreSQL workers share the queue instead."""
    url = make_url(settings.database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        yield
        return
    lock_path = Path(f"{url.database}.send.lock")
    with lock_path.open("a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SenderBusy(f"another process is sending from {url.database}") from None
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


async def send_all(
    settings: Settings,
    *,
    sessions: sessionmaker[Session],
    clock: Callable[[], datetime],
    concurrency: int | None = None,
    rate: float | None = None,
    on_outcome: Callable[[Verdict], None] = lambda _: None,
    should_stop: Callable[[], bool] = lambda: False,
) -> SendReport:
    """Drain the outbox once over a fresh pool of SMTP connections (until `should_stop`)."""
    limit = settings.smtp_rate_limit if rate is None else rate
    limiter = TokenBucket(limit or None, burst=max(1, int(limit or 1)))
    size = concurrency or settings.smtp_concurrency
    with _only_sender(settings):
        return await _send(settings, sessions=sessions, clock=clock, size=size,
                           limiter=limiter, on_outcome=on_outcome,
                           should_stop=should_stop)  # fmt: skip


async def _send(
    settings: Settings,
    *,
    sessions: sessionmaker[Session],
    clock: Callable[[], datetime],
    size: int,
    limiter: TokenBucket,
    on_outcome: Callable[[Verdict], None],
    should_stop: Callable[[], bool],
) -> SendReport:
    async with SmtpPool(smtp_config(settings), size=size, limiter=limiter) as pool:
        sender = Sender(
            sessions=sessions,
            pool=pool,
            limiter=limiter,
            composer=composer(settings),
            policy=send_policy(settings),
            clock=clock,
            verp=verp(settings),
            on_outcome=on_outcome,
            should_stop=should_stop,
        )
        return await sender.drain()
