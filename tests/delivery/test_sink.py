"""The development mail sink: real SMTP on loopback into a Maildir, read back by the helpers
and shown in the web UI only while no relay is configured."""

from __future__ import annotations

import mailbox
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

import aiosmtplib
import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from newsletter.config import Environment, Settings
from newsletter.delivery.sink import SINK_HOST, list_mail, read_mail, start_sink
from newsletter.web.app import create_app

FROM = "Paper digest <digest@example.org>"
HTML_MARKER = "only-in-the-html-part"


@dataclass(frozen=True)
class Sink:
    directory: Path
    port: int


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((SINK_HOST, 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[Sink]:
    directory = tmp_path / "mail"  # not created yet: the sink makes it on start
    controller = start_sink(directory, port=free_port())
    try:
        yield Sink(directory=directory, port=controller.port)
    finally:
        controller.stop()


def message(
    *, subject: str, to: str, sent_at: datetime, text: str = "Hello.", html: str | None = None
) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = FROM
    mail["To"] = to
    mail["Subject"] = subject
    mail["Date"] = format_datetime(sent_at)
    mail["Message-ID"] = make_msgid(domain="example.org")
    mail.set_content(text)
    if html is not None:
        mail.add_alternative(html, subtype="html")
    return mail


async def deliver(sink: Sink, mail: EmailMessage, *, recipients: list[str] | None = None) -> None:
    await aiosmtplib.send(
        mail,
        hostname=SINK_HOST,
        port=sink.port,
        recipients=recipients,
        start_tls=False,
        timeout=10,
    )


def at(hour: int, day: int = 20) -> datetime:
    return datetime(2025, 8, day, hour, tzinfo=UTC)


@pytest.mark.anyio
async def test_sink_receives_mail_over_smtp_and_lists_it_newest_first(sink: Sink) -> None:
    # Arrival order differs from date order both ways, so only sorting by Date passes.
    await deliver(sink, message(subject="Tuesday", to="b@example.org", sent_at=at(7)))
    await deliver(sink, message(subject="Monday", to="a@example.org", sent_at=at(7, day=19)))
    await deliver(sink, message(subject="Wednesday", to="c@example.org", sent_at=at(7, day=21)))

    mails = list_mail(sink.directory)
    assert [(m.subject, m.to) for m in mails] == [
        ("Wednesday", "c@example.org"),
        ("Tuesday", "b@example.org"),
        ("Monday", "a@example.org"),
    ]
    assert [m.date for m in mails] == [at(7, day=21), at(7), at(7, day=19)]
    assert all(m.size > 100 for m in mails)
    assert len({m.key for m in mails}) == 3
    assert [m.subject for m in list_mail(sink.directory, limit=1)] == ["Wednesday"]


@pytest.mark.anyio
async def test_read_mail_returns_the_parsed_message_with_its_envelope(sink: Sink) -> None:
    sent = message(
        subject="Digest — 20 Aug",
        to="reader@example.org",
        sent_at=at(6),
        text="Three new papers.\n",
        html=f"<p>{HTML_MARKER}</p>",
    )
    await deliver(sink, sent, recipients=["reader@example.org", "hidden@example.org"])
    (stored,) = list_mail(sink.directory)

    found = read_mail(sink.directory, stored.key)
    assert found is not None
    assert found["Subject"] == "Digest — 20 Aug"
    assert found["Message-ID"] == sent["Message-ID"]
    # The envelope, which the headers alone do not show (Bcc-like recipients).
    assert found["X-Sink-Recipients"] == "reader@example.org, hidden@example.org"
    text = found.get_body(preferencelist=("plain",))
    html = found.get_body(preferencelist=("html",))
    assert text is not None
    assert html is not None
    assert text.get_content().splitlines() == ["Three new papers."]
    assert HTML_MARKER in html.get_content()
    assert read_mail(sink.directory, "no-such-key") is None


def test_helpers_before_any_mail_arrived(tmp_path: Path) -> None:
    missing = tmp_path / "never-created"
    assert list_mail(missing) == []
    assert read_mail(missing, "anything") is None


def test_dates_without_zone_or_unparsable_sort_as_utc_and_last(tmp_path: Path) -> None:
    box = mailbox.Maildir(tmp_path / "mail", create=True)
    box.add(b"Subject: garbled\r\nDate: the day before yesterday\r\n\r\nx\r\n")
    box.add(b"Subject: paris\r\nDate: Wed, 20 Aug 2025 08:00:00 +0200\r\n\r\nx\r\n")  # 06:00Z
    box.add(b"Subject: unknown zone\r\nDate: Wed, 20 Aug 2025 06:30:00 -0000\r\n\r\nx\r\n")
    box.add(b"Subject: no date\r\n\r\nx\r\n")

    mails = list_mail(tmp_path / "mail")
    assert [m.subject for m in mails[:2]] == ["unknown zone", "paris"]
    assert {m.subject for m in mails[2:]} == {"garbled", "no date"}
    assert mails[0].date == datetime(2025, 8, 20, 6, 30, tzinfo=UTC)
    assert [m.date for m in mails[2:]] == [None, None]


# The web UI.


def sink_settings(sqlite_url: str, directory: Path, *, smtp_host: str | None = None) -> Settings:
    return Settings(
        env=Environment.DEV,
        database_url=sqlite_url,
        smtp_host=smtp_host,
        mail_sink_dir=directory,
        _env_file=None,
    )


def client(settings: Settings, sessions: sessionmaker[Session]) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(settings, sessions=sessions))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


@pytest.fixture
def web(sink: Sink, sqlite_url: str, sessions: sessionmaker[Session]) -> httpx.AsyncClient:
    settings = sink_settings(sqlite_url, sink.directory)
    assert settings.uses_mail_sink
    return client(settings, sessions)


@pytest.mark.anyio
async def test_inbox_lists_subjects_escaped(sink: Sink, web: httpx.AsyncClient) -> None:
    subject = "<img src=x onerror=alert(1)> & friends"
    await deliver(sink, message(subject=subject, to="reader@example.org", sent_at=at(6)))
    (stored,) = list_mail(sink.directory)
    async with web:
        page = await web.get("/dev/mail")
        index = await web.get("/")
    assert page.status_code == 200
    assert "&lt;img src=x onerror=alert(1)&gt; &amp; friends" in page.text
    assert "<img src=x" not in page.text
    assert f'href="/dev/mail/{stored.key}"' in page.text
    assert "reader@example.org" in page.text
    assert 'href="/dev/mail"' in index.text


@pytest.mark.anyio
async def test_inbox_before_the_sink_ever_ran(
    tmp_path: Path, sqlite_url: str, sessions: sessionmaker[Session]
) -> None:
    settings = sink_settings(sqlite_url, tmp_path / "no-maildir-yet")
    async with client(settings, sessions) as web:
        page = await web.get("/dev/mail")
        message_page = await web.get("/dev/mail/nope")
        html_part = await web.get("/dev/mail/nope/html")
    assert page.status_code == 200
    assert "No mail yet." in page.text
    assert message_page.status_code == 404
    assert html_part.status_code == 404


@pytest.mark.anyio
async def test_message_page_shows_headers_and_text_part(sink: Sink, web: httpx.AsyncClient) -> None:
    mail = message(
        subject="Five new papers",
        to="reader@example.org",
        sent_at=at(6),
        text="Read <this> & that.\n",
        html=f"<p>{HTML_MARKER}</p>",
    )
    await deliver(sink, mail)
    (stored,) = list_mail(sink.directory)
    async with web:
        page = await web.get(f"/dev/mail/{stored.key}")
    assert page.status_code == 200
    assert "<h1>Five new papers</h1>" in page.text
    assert "Read &lt;this&gt; &amp; that." in page.text
    for name in ("From", "To", "Message-ID", "X-Sink-Recipients"):
        assert f">{name}</th>" in page.text
    assert "Paper digest &lt;digest@example.org&gt;" in page.text
    # The HTML part is only ever shown in the sandboxed frame, never inline.
    assert f'src="/dev/mail/{stored.key}/html"' in page.text
    assert 'sandbox="allow-popups allow-popups-to-escape-sandbox"' in page.text
    assert HTML_MARKER not in page.text


@pytest.mark.anyio
async def test_html_part_is_served_sandboxed(sink: Sink, web: httpx.AsyncClient) -> None:
    html = f"<html><body><p>{HTML_MARKER}</p><script>alert(1)</script></body></html>"
    await deliver(sink, message(subject="s", to="r@example.org", sent_at=at(6), html=html))
    (stored,) = list_mail(sink.directory)
    async with web:
        response = await web.get(f"/dev/mail/{stored.key}/html")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    # Links open in a new tab (the frame cannot show the service's pages, which refuse to be
    # framed); popups may leave the sandbox so the page a link opens works. Still no script.
    assert response.text.strip() == f'<base target="_blank">{html}'
    policy = [part.strip() for part in response.headers["content-security-policy"].split(";")]
    assert policy[0] == "sandbox allow-popups allow-popups-to-escape-sandbox"
    assert "default-src 'none'" in policy


@pytest.mark.anyio
async def test_unknown_keys_and_missing_html_part_are_404(
    sink: Sink, web: httpx.AsyncClient
) -> None:
    async with web:
        assert (await web.get("/dev/mail/nope")).status_code == 404
        assert (await web.get("/dev/mail/nope/html")).status_code == 404
        await deliver(sink, message(subject="plain only", to="r@example.org", sent_at=at(6)))
        (stored,) = list_mail(sink.directory)
        assert (await web.get(f"/dev/mail/{stored.key}")).status_code == 200
        assert (await web.get(f"/dev/mail/{stored.key}/html")).status_code == 404
        for key in ("nope", "..", stored.key + "x"):
            assert (await web.get(f"/dev/mail/{key}")).status_code == 404
            assert (await web.get(f"/dev/mail/{key}/html")).status_code == 404


@pytest.mark.anyio
async def test_no_sink_pages_when_a_relay_is_configured(
    sink: Sink, sqlite_url: str, sessions: sessionmaker[Session]
) -> None:
    await deliver(sink, message(subject="kept private", to="r@example.org", sent_at=at(6)))
    (stored,) = list_mail(sink.directory)
    settings = sink_settings(sqlite_url, sink.directory, smtp_host="smtp.example.org")
    assert not settings.uses_mail_sink
    async with client(settings, sessions) as web:
        for path in ("/dev/mail", f"/dev/mail/{stored.key}", f"/dev/mail/{stored.key}/html"):
            assert (await web.get(path)).status_code == 404, path
        index = await web.get("/")
    assert index.status_code == 200
    assert "/dev/mail" not in index.text
    assert "kept private" not in index.text
