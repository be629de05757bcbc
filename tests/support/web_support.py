"""Helpers for the web app tests: an app wired to real SQLite and the scripted SMTP server."""

from __future__ import annotations

import email
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.message import EmailMessage
from email.policy import default
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from newsletter.config import Settings
from newsletter.db import migrations, models
from newsletter.db.engine import make_engine, session_factory
from newsletter.db.outbox import NewDigest, enqueue
from newsletter.db.subscribers import add_or_update
from newsletter.domain import InterestProfile, Match, Paper, Status
from newsletter.mail.links import Links, Recipient
from newsletter.mail.render import RenderedEmail
from newsletter.mail.tokens import Tokens
from newsletter.web.app import create_app
from newsletter.web.context import WebLimits
from newsletter.web.security import CSRF_FIELD
from tests.support.smtp_server import ScriptedSmtpServer

BASE = "http://localhost:8000"
_CSRF = re.compile(rf'name="{CSRF_FIELD}" value="([^"]+)"')
_URL = re.compile(r"http://localhost:8000/[^\s<>\"]+")
DAY = date(2025, 8, 20)


@dataclass
class Clock:
    now: float = field(default_factory=time.time)

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class RecordingMailer:
    """For tests that do not read the mail: keeps what would have been sent."""

    sent: list[tuple[str, RenderedEmail]] = field(default_factory=list)

    async def send(self, *, recipient: str, rendered: RenderedEmail) -> None:
        self.sent.append((recipient, rendered))


def smtp_settings(sqlite_url: str, server: ScriptedSmtpServer) -> Settings:
    return Settings(  # type: ignore[call-arg]
        database_url=sqlite_url,
        smtp_host=server.host,
        smtp_port=server.port,
        smtp_security="none",
        smtp_timeout_seconds=5,
        _env_file=None,
    )


def web_client(
    settings: Settings,
    sessions: sessionmaker[Session],
    *,
    clock: Clock | None = None,
    limits: WebLimits | None = None,
    mailer: Any = None,
    client: str = "203.0.113.7",
    learning_embedder: Any = None,
) -> httpx.AsyncClient:
    app = create_app(
        settings,
        sessions=sessions,
        clock=clock or time.time,
        limits=limits,
        mailer=mailer,
        learning_embedder=learning_embedder,
    )
    transport = httpx.ASGITransport(app=app, client=(client, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


def csrf_of(page: httpx.Response, index: int = 0) -> str:
    return _CSRF.findall(page.text)[index]


def csrf_for(page: httpx.Response, action: str) -> str:
    """The CSRF token of the page's (first) form that posts to `action`."""
    form = re.search(
        rf'<form [^>]*action="{re.escape(action)}"[^>]*>\s*<input type="hidden" '
        rf'name="{CSRF_FIELD}" value="([^"]+)"',
        page.text,
    )
    assert form is not None, f"no form posting to {action}"
    return form.group(1)


def mail(received: bytes) -> EmailMessage:
    message = email.message_from_bytes(received, policy=default)
    assert isinstance(message, EmailMessage)
    return message


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def links_in(message: EmailMessage) -> list[str]:
    """Paths (for the test client) of the service's links in the mail's text part."""
    return [url.removeprefix(BASE) for url in _URL.findall(text_of(message))]


def link_path(url: str) -> str:
    return url.removeprefix(BASE)


def links(settings: Settings, clock: Clock | None = None) -> Links:
    secret = settings.secret_key.get_secret_value()
    return Links(BASE, Tokens(secret, clock=clock or time.time))


def subscriber(
    sessions: sessionmaker[Session],
    email_address: str = "ada@example.org",
    *,
    status: Status = Status.ACTIVE,
    profile: InterestProfile | None = None,
) -> Recipient:
    with sessions.begin() as session:
        row, _ = add_or_update(
            session,
            email=email_address,
            profile=profile or InterestProfile(keywords=("language models",)),
            confirmed=status is not Status.PENDING,
            now=datetime(2025, 8, 1, tzinfo=UTC),
        )
        row.status = status.value
        return Recipient(row.id, row.token_key)


def queue_digest(
    sessions: sessionmaker[Session], who: Recipient, papers: list[Paper], day: date = DAY
) -> None:
    matches = [Match(paper=p, score=0.9, why=("keyword: agents",), highlights=()) for p in papers]
    with sessions.begin() as session:
        enqueue(
            session,
            [NewDigest(who.subscriber_id, day, f"<{day}.{who.subscriber_id}@test>", matches)],
            now=datetime(2025, 8, 20, 7, tzinfo=UTC),
        )


def snapshot(sessions: sessionmaker[Session]) -> list[tuple[Any, ...]]:
    """Every row of every table: compare before and after to prove nothing changed."""
    rows: list[tuple[Any, ...]] = []
    with sessions() as session:
        for table in models.Base.metadata.sorted_tables:
            for row in session.execute(select(table)).all():
                rows.append((table.name, *tuple(row)))
    return sorted(rows, key=repr)


def subscriber_row(sessions: sessionmaker[Session], email_address: str) -> models.SubscriberRow:
    with sessions() as session:
        row = session.scalar(
            select(models.SubscriberRow).where(models.SubscriberRow.email == email_address)
        )
        assert row is not None
        _ = row.profile  # loaded while the session is open
        return row


@dataclass(frozen=True)
class Database:
    """One of the two databases, migrated, with settings that name it."""

    name: str
    settings: Settings
    sessions: sessionmaker[Session]


@pytest.fixture(
    name="database", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def database_fixture(request: pytest.FixtureRequest, sqlite_url: str) -> Iterator[Database]:
    """The test runs on SQLite and on PostgreSQL (a plugin: tests/conftest.py registers it)."""
    url = sqlite_url if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    engine = make_engine(str(url))
    migrations.upgrade(engine)
    settings = Settings(database_url=str(url), _env_file=None)  # type: ignore[call-arg]
    yield Database(request.param, settings, session_factory(engine))
    engine.dispose()
