"""Subscription bombing (issue 14, finding 5), the confirmation link that opened the preferences
(finding 6) and a cooldown started by a mail that never went out (finding 8)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy.orm import Session, sessionmaker

from newsletter.config import Settings
from newsletter.db import migrations
from newsletter.db.engine import make_engine
from newsletter.domain import Status
from newsletter.subscribers.addresses import mailbox_key
from newsletter.web.app import create_app, server_options
from newsletter.web.context import WebLimits
from tests.support.processes import wait_for
from tests.support.smtp_server import (
    Script,
    ScriptedSmtpServer,
)
from tests.support.web_support import (
    Clock,
    RecordingMailer,
    csrf_of,
    link_path,
    links,
    links_in,
    mail,
    smtp_settings,
    subscriber,
    subscriber_row,
    web_client,
)

pytestmark = pytest.mark.anyio
DAY = 86_400.0
COOLDOWN = WebLimits().confirmation_cooldown.total_seconds()
NO_IP_LIMIT = WebLimits(subscribe_per_ip=10_000)


def body(email: str) -> dict[str, Any]:
    return {"email": email, "keywords": ["retrieval"]}


def test_mailbox_keys_fold_sub_addresses_and_gmail_dots() -> None:
    assert mailbox_key("Victim+7@Example.org") == ("victim@example.org", "example.org")
    assert mailbox_key("v.i.c.t.i.m+x@googlemail.com") == ("victim@gmail.com", "gmail.com")
    assert mailbox_key("first.last@example.org") == ("first.last@example.org", "example.org")


async def test_sub_addresses_count_as_one_mailbox(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    """30 sign-ups for victim+N@: one mail per cooldown, at most three a day."""
    clock, mailer = Clock(), RecordingMailer()
    async with web_client(
        settings, sessions, clock=clock, mailer=mailer, limits=NO_IP_LIMIT
    ) as web:
        for n in range(30):
            assert (
                await web.post("/api/subscribe", json=body(f"victim+{n}@example.org"))
            ).status_code == 202
        assert len(mailer.sent) == 1
        for n in range(5):  # past the cooldown each time: the daily cap stops the fourth
            clock.advance(COOLDOWN + 1)
            await web.post("/api/subscribe", json=body(f"victim+late{n}@example.org"))
        assert len(mailer.sent) == 3
        await web.post("/api/subscribe", json=body("v.i.c.t.i.m@gmail.com"))
        await web.post("/api/subscribe", json=body("victim+again@googlemail.com"))
        assert [to for to, _ in mailer.sent[3:]] == ["v.i.c.t.i.m@gmail.com"]
        clock.advance(DAY)
        await web.post("/api/subscribe", json=body("victim+tomorrow@example.org"))
    assert len(mailer.sent) == 5
    # The rows are there: only the mail is held back, and the address as typed is kept.
    assert subscriber_row(sessions, "victim+29@example.org").status == Status.PENDING.value


async def test_caps_per_domain_and_per_hour(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    clock, mailer = Clock(), RecordingMailer()
    limits = WebLimits(
        subscribe_per_ip=10_000, confirmations_per_domain_per_day=2, confirmations_per_hour=3
    )
    async with web_client(settings, sessions, clock=clock, mailer=mailer, limits=limits) as web:
        for name in ("a", "b", "c"):
            await web.post("/api/subscribe", json=body(f"{name}@small.example"))
        for name in ("a", "b", "c"):
            await web.post("/api/subscribe", json=body(f"{name}@other.example"))
        assert [to for to, _ in mailer.sent] == [
            "a@small.example", "b@small.example", "a@other.example"
        ]  # fmt: skip
        clock.advance(3601)  # a new hour: the domain caps still hold for the day
        await web.post("/api/subscribe", json=body("d@small.example"))
        await web.post("/api/subscribe", json=body("b@other.example"))
    assert [to for to, _ in mailer.sent][3:] == ["b@other.example"]


def asgi_client(app: Any, client: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=(client, 40000)), base_url="http://x"
    )


@pytest.mark.parametrize(("trusted", "limited"), [("", True), ("127.0.0.1", False)])
async def test_forwarded_for_counts_only_from_a_trusted_proxy(
    sqlite_url: str, sessions: sessionmaker[Session], trusted: str, limited: bool
) -> None:
    """uvicorn as `newsletter serve` configures it: a local client cannot pick its own
    address with X-Forwarded-For (by default uvicorn believes 127.0.0.1)."""
    settings = Settings(database_url=sqlite_url, trusted_proxies=trusted, _env_file=None)  # type: ignore[call-arg]
    app = create_app(settings, sessions=sessions, mailer=RecordingMailer())
    config = uvicorn.Config(app, **server_options(settings))
    config.load()
    answers = []
    async with asgi_client(config.loaded_app, "127.0.0.1") as web:
        for n in range(11):  # the limit is 10 an hour per client
            forged = {"x-forwarded-for": f"198.51.100.{n}"}
            answer = await web.post(
                "/api/subscribe", json=body(f"p{n}@example.org"), headers=forged
            )
            answers.append(answer.status_code)
    assert answers[-1] == (429 if limited else 202)
    assert answers[:10] == [202] * 10


def test_newsletter_serve_ignores_forwarded_for_by_default(
    sqlite_url: str, smtp_server: ScriptedSmtpServer, tmp_path: Path
) -> None:
    migrations.upgrade(make_engine(sqlite_url))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "NEWSLETTER_DATABASE_URL": sqlite_url,
        "NEWSLETTER_SMTP_HOST": smtp_server.host,
        "NEWSLETTER_SMTP_PORT": str(smtp_server.port),
        "NEWSLETTER_SMTP_SECURITY": "none",
        "NEWSLETTER_EMBEDDING_MODEL": "",
    }
    command = [str(Path(sys.executable).with_name("newsletter")), "serve", "--port", str(port)]
    server = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"

        def up() -> bool:
            try:
                return httpx.get(f"{base}/healthz").status_code == 200
            except httpx.TransportError:
                return False

        wait_for(up, timeout=30)
        statuses = [
            httpx.post(
                f"{base}/api/subscribe",
                json=body(f"s{n}@example.org"),
                headers={"x-forwarded-for": f"198.51.100.{n}"},
            ).status_code
            for n in range(11)
        ]
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert statuses == [202] * 10 + [429]


async def test_the_confirmation_link_never_shows_the_preferences_link(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    """A confirmed subscriber opening the link again may ask for the manage link by mail."""
    mailer = RecordingMailer()
    active = subscriber(sessions, "active@example.org")
    pending = subscriber(sessions, "pending@example.org", status=Status.PENDING)
    made = links(settings)
    # Made once each: a link carries the second it was signed, and a form's CSRF token is
    # bound to the path it was served on.
    active_link, pending_link = link_path(made.confirm(active)), link_path(made.confirm(pending))
    async with web_client(settings, sessions, mailer=mailer) as web:
        again = await web.get(active_link)
        asked = await web.post(active_link, data={"csrf_token": csrf_of(again)})
        twice = await web.post(active_link, data={"csrf_token": csrf_of(again)})
        first = await web.get(pending_link)
        done = await web.post(pending_link, data={"csrf_token": csrf_of(first)})
    for page in (again, asked, twice, first, done):
        assert page.status_code == 200
        assert "/preferences/" not in page.text
    assert "You are already subscribed" in again.text
    assert "Mail me a link to my preferences" in again.text
    assert "on its way" in asked.text
    assert "You are subscribed" in done.text
    sent = [(to, rendered.subject) for to, rendered in mailer.sent]
    assert sent[0][0] == "active@example.org"  # one manage link: the second ask is in the cooldown
    assert sent[0][1].startswith("Your subscription")
    assert "/preferences/" in mailer.sent[0][1].text
    assert [to for to, _ in sent] == ["active@example.org", "pending@example.org"]  # + welcome


async def test_a_refused_confirmation_mail_does_not_start_the_cooldown(
    sqlite_url: str, sessions: sessionmaker[Session], smtp_server: ScriptedSmtpServer
) -> None:
    smtp_server.script("flaky", Script(rcpt="451 4.3.0 Try again later", times=1))
    settings = smtp_settings(sqlite_url, smtp_server)
    async with web_client(settings, sessions) as web:
        for _ in range(2):
            assert (
                await web.post("/api/subscribe", json=body("flaky@example.org"))
            ).status_code == 202
        await web.post("/api/subscribe", json=body("flaky@example.org"))  # in the cooldown now
    (accepted,) = smtp_server.messages  # the first was refused at RCPT, the third not sent
    assert accepted.reply is not None
    assert accepted.reply.startswith("250")
    assert any(p.startswith("/confirm/") for p in links_in(mail(accepted.data)))
    assert subscriber_row(sessions, "flaky@example.org").confirmation_sent_at is not None
