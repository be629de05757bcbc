"""Bounces meet the web app: one-off mails leave with a signed return path and a recorded
Message-ID, so their bounces prove themselves; an address that bounced long ago can
subscribe again through double opt-in, one that bounced lately gets nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from newsletter.bounces.report import read_report
from newsletter.config import Settings
from newsletter.db.bounces import BouncePolicy, record_reports
from newsletter.db.models import SentMailRow, SubscriberRow
from newsletter.delivery.wiring import verp
from newsletter.domain import Status
from tests.support.smtp_server import ScriptedSmtpServer
from tests.support.web_support import (
    csrf_of,
    links_in,
    mail,
    smtp_settings,
    subscriber,
    subscriber_row,
    web_client,
)

pytestmark = pytest.mark.anyio
ADDRESS = "gone.for.a.while@example.org"


@pytest.fixture
def mail_settings(sqlite_url: str, smtp_server: ScriptedSmtpServer) -> Settings:
    return smtp_settings(sqlite_url, smtp_server)


def body(**fields: Any) -> dict[str, Any]:
    return {"email": ADDRESS, "description": "protein structure prediction", **fields}


def bounced(sessions: sessionmaker[Session], *, days_ago: float) -> None:
    subscriber(sessions, ADDRESS, status=Status.BOUNCED)
    with sessions.begin() as session:
        row = session.scalar(select(SubscriberRow).where(SubscriberRow.email == ADDRESS))
        assert row is not None
        row.suppressed_at = datetime.now(UTC) - timedelta(days=days_ago)
        row.suppressed_reason = "hard bounce 5.1.1: mailbox unknown"


def dsn_for(return_path: str, recipient: str, message_id: str = "") -> bytes:
    """A Postfix-shaped DSN, as delivered to `return_path`."""
    original = (
        f"--b\nContent-Type: text/rfc822-headers\n\nMessage-ID: {message_id}\n\n"
        if message_id
        else ""
    )
    return (
        f"Delivered-To: {return_path}\nTo: {return_path}\n"
        "From: MAILER-DAEMON@mx.example.net\nSubject: Undelivered Mail Returned to Sender\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\n\n'
        "--b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.net\n\n"
        f"Final-Recipient: rfc822; {recipient}\nAction: failed\nStatus: 5.1.1\n\n{original}--b--\n"
    ).encode()


def ingest(settings: Settings, sessions: sessionmaker[Session], data: bytes) -> list[str]:
    with sessions.begin() as session:
        result = record_reports(
            session, [read_report(data)], policy=BouncePolicy(), verp=verp(settings),
            now=datetime.now(UTC),
        )  # fmt: skip
    return result.suppressed


async def test_an_address_bounced_long_ago_can_subscribe_again(
    mail_settings: Settings, sessions: sessionmaker[Session], smtp_server: ScriptedSmtpServer
) -> None:
    bounced(sessions, days_ago=mail_settings.bounce_resubscribe_days + 1)
    async with web_client(mail_settings, sessions) as web:
        answer = await web.post("/api/subscribe", json=body())
        assert answer.status_code == 202
        (confirmation,) = smtp_server.accepted  # before: nothing was sent, for good
        assert subscriber_row(sessions, ADDRESS).status == Status.PENDING.value
        (confirm_path,) = [p for p in links_in(mail(confirmation.data)) if "/confirm/" in p]
        page = await web.get(confirm_path)
        done = await web.post(confirm_path, data={"csrf_token": csrf_of(page)})
    assert "You are subscribed" in done.text
    row = subscriber_row(sessions, ADDRESS)
    assert (row.status, row.suppressed_at, row.suppressed_reason) == ("active", None, None)


async def test_an_address_bounced_lately_gets_nothing(
    mail_settings: Settings, sessions: sessionmaker[Session], smtp_server: ScriptedSmtpServer
) -> None:
    bounced(sessions, days_ago=mail_settings.bounce_resubscribe_days - 1)
    async with web_client(mail_settings, sessions) as web:
        answer = await web.post("/api/subscribe", json=body())
        fresh = await web.post("/api/subscribe", json=body(email="fresh@example.org"))
    assert answer.status_code == fresh.status_code == 202
    assert answer.json() == fresh.json()  # the answer says nothing about the address
    assert [m.rcpt_tos for m in smtp_server.accepted] == [("fresh@example.org",)]
    assert subscriber_row(sessions, ADDRESS).status == Status.BOUNCED.value


async def test_one_off_mail_has_a_return_path_and_a_recorded_message_id(
    mail_settings: Settings, sessions: sessionmaker[Session], smtp_server: ScriptedSmtpServer
) -> None:
    async with web_client(mail_settings, sessions) as web:
        await web.post("/api/subscribe", json=body())
    (sent,) = smtp_server.accepted
    claim = verp(mail_settings).read(sent.mail_from)
    assert claim is not None
    assert (claim.outbox_id, claim.kind) == (None, "confirm")
    assert verp(mail_settings).verify(claim, ADDRESS)
    message_id = mail(sent.data)["Message-ID"]
    with sessions() as session:
        recorded = session.execute(select(SentMailRow.message_id, SentMailRow.recipient)).all()
    assert [tuple(row) for row in recorded] == [(message_id, ADDRESS)]

    # A forged report about the pending address changes nothing; the genuine ones act.
    forged = dsn_for(mail_settings.bounce_mailbox, ADDRESS, "<never-sent@localhost>")
    assert ingest(mail_settings, sessions, forged) == []
    assert subscriber_row(sessions, ADDRESS).status == Status.PENDING.value
    quoting = dsn_for(mail_settings.bounce_mailbox, ADDRESS, message_id)
    assert ingest(mail_settings, sessions, quoting) == [ADDRESS]
    assert subscriber_row(sessions, ADDRESS).status == Status.BOUNCED.value


async def test_a_bounce_to_a_confirmation_return_path_acts(
    mail_settings: Settings, sessions: sessionmaker[Session], smtp_server: ScriptedSmtpServer
) -> None:
    async with web_client(mail_settings, sessions) as web:
        await web.post("/api/subscribe", json=body())
    (sent,) = smtp_server.accepted
    assert ingest(mail_settings, sessions, dsn_for(sent.mail_from, ADDRESS)) == [ADDRESS]
    assert subscriber_row(sessions, ADDRESS).status == Status.BOUNCED.value
