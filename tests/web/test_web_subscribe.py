"""Subscribe with double opt-in, through real forms, real SQLite and a real SMTP server."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from newsletter.config import Settings
from newsletter.db.papers import store_papers
from newsletter.db.subscriber_rows import to_profile
from newsletter.domain import InterestProfile, Status
from newsletter.mail.links import Recipient
from newsletter.web.context import WebLimits
from tests.support.factories import arxiv_paper
from tests.support.smtp_server import (
    ScriptedSmtpServer,
)
from tests.support.web_support import (
    Clock,
    csrf_of,
    link_path,
    links,
    links_in,
    mail,
    smtp_settings,
    snapshot,
    subscriber,
    subscriber_row,
    web_client,
)

pytestmark = pytest.mark.anyio


@pytest.fixture
def mail_settings(sqlite_url: str, smtp_server: ScriptedSmtpServer) -> Settings:
    return smtp_settings(sqlite_url, smtp_server)


def form(email: str = "new@example.org", **fields: Any) -> dict[str, Any]:
    return {
        "email": email,
        "description": "retrieval-augmented generation for question answering",
        "keywords": "retrieval, RAG",
        "categories": ["cs.CL", "cs.IR"],
        "send_hour": "8",
        "timezone": "Europe/Paris",
        "frequency": "daily",
        "send_weekday": "0",
        "website": "",
        **fields,
    }


async def subscribe(web: httpx.AsyncClient, **fields: Any) -> httpx.Response:
    page = await web.get("/")
    return await web.post("/", data={**form(**fields), "csrf_token": csrf_of(page)})


async def test_subscribe_page_has_an_accessible_form(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    async with web_client(settings, sessions) as web:
        page = await web.get("/")
    assert page.status_code == 200
    for field in ("email", "description", "keywords", "exclude", "authors", "timezone"):
        assert f'<label for="{field}"' in page.text
        assert f'id="{field}"' in page.text
    assert 'name="categories" value="cs.CL"' in page.text
    assert 'name="website"' in page.text  # the honeypot
    assert 'value="UTC" data-browser-zone="UTC"' in page.text
    assert '<link rel="stylesheet" href="/static/site.css">' in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'none'")
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert "HttpOnly; SameSite=Strict" in page.headers["set-cookie"]


async def test_static_files_are_served(settings: Settings, sessions: sessionmaker[Session]) -> None:
    async with web_client(settings, sessions) as web:
        css = await web.get("/static/site.css")
        script = await web.get("/static/app.js")
    assert css.status_code == 200
    assert ".honeypot" in css.text
    assert script.status_code == 200
    assert "data-autosubmit" in script.text


async def test_double_opt_in_from_form_to_welcome_mail(
    mail_settings: Settings, sessions: sessionmaker[Session], smtp_server: ScriptedSmtpServer
) -> None:
    async with web_client(mail_settings, sessions) as web:
        answer = await subscribe(web, email="New.Person@Example.org")
        assert answer.status_code == 200
        assert "Check your inbox" in answer.text
        row = subscriber_row(sessions, "new.person@example.org")
        assert row.status == Status.PENDING.value
        assert (row.timezone, row.send_hour) == ("Europe/Paris", 8)
        assert to_profile(row.profile).categories == ("cs.CL", "cs.IR")

        (confirmation,) = smtp_server.accepted
        message = mail(confirmation.data)
        assert message["To"] == "new.person@example.org"
        assert message["List-Unsubscribe"] is None  # transactional mail
        (confirm_path,) = [p for p in links_in(message) if p.startswith("/confirm/")]

        before = snapshot(sessions)
        page = await web.get(confirm_path)
        assert snapshot(sessions) == before  # a mail scanner's GET confirms nothing
        assert page.status_code == 200
        assert "Confirm subscription</button>" in page.text
        assert "retrieval-augmented generation" in page.text

        done = await web.post(confirm_path, data={"csrf_token": csrf_of(page)})
        assert done.status_code == 200
        assert "You are subscribed" in done.text
        row = subscriber_row(sessions, "new.person@example.org")
        assert row.status == Status.ACTIVE.value
        assert row.confirmed_at is not None
        assert len(smtp_server.accepted) == 2
        welcome = mail(smtp_server.accepted[1].data)
        assert welcome["Subject"].startswith("Welcome to")
        assert any(p.startswith("/preferences/") for p in links_in(welcome))

        again = await web.post(confirm_path, data={"csrf_token": csrf_of(page)})
        assert again.status_code == 200
        assert len(smtp_server.accepted) == 2  # no second welcome


async def test_same_answer_for_new_pending_active_and_unsubscribed_addresses(
    mail_settings: Settings, sessions: sessionmaker[Session], smtp_server: ScriptedSmtpServer
) -> None:
    profile = InterestProfile(keywords=("graph neural networks",))
    subscriber(sessions, "pending@example.org", status=Status.PENDING, profile=profile)
    subscriber(sessions, "active@example.org", status=Status.ACTIVE, profile=profile)
    subscriber(sessions, "gone@example.org", status=Status.UNSUBSCRIBED, profile=profile)
    answers = []
    async with web_client(mail_settings, sessions) as web:
        await web.get("/")  # the CSRF cookie first, so no answer sets it
        for address in ("new", "pending", "active", "gone"):
            answer = await subscribe(web, email=f"{address}@example.org")
            answers.append((answer.status_code, answer.text, answer.headers.get("set-cookie")))
    assert all(answer == answers[0] for answer in answers)
    assert answers[0][0] == 200

    subjects = {m.rcpt_tos[0]: mail(m.data)["Subject"] for m in smtp_server.accepted}
    assert subjects["new@example.org"].startswith("Confirm")
    assert subjects["pending@example.org"].startswith("Confirm")
    assert subjects["gone@example.org"].startswith("Confirm")
    assert subjects["active@example.org"].startswith("Your subscription")
    manage = next(m for m in smtp_server.accepted if m.rcpt_tos[0] == "active@example.org")
    assert any(p.startswith("/preferences/") for p in links_in(mail(manage.data)))
    # An unauthenticated form never changes an active subscription.
    active = subscriber_row(sessions, "active@example.org")
    assert active.status == Status.ACTIVE.value
    assert to_profile(active.profile).keywords == ("graph neural networks",)
    assert subscriber_row(sessions, "gone@example.org").status == Status.PENDING.value


async def test_one_confirmation_mail_per_address_per_cooldown(
    mail_settings: Settings, sessions: sessionmaker[Session], smtp_server: ScriptedSmtpServer
) -> None:
    clock = Clock()
    async with web_client(mail_settings, sessions, clock=clock) as web:
        for _ in range(3):
            assert (await subscribe(web)).status_code == 200
        assert len(smtp_server.accepted) == 1
        clock.advance(WebLimits().confirmation_cooldown.total_seconds() + 1)
        await subscribe(web)
    assert len(smtp_server.accepted) == 2


async def test_honeypot_pretends_and_stores_nothing(
    mail_settings: Settings, sessions: sessionmaker[Session], smtp_server: ScriptedSmtpServer
) -> None:
    async with web_client(mail_settings, sessions) as web:
        await web.get("/")
        human = await subscribe(web, email="human@example.org")
        before = snapshot(sessions)
        bot = await subscribe(web, email="bot@example.org", website="http://spam.example")
    assert (bot.status_code, bot.text) == (human.status_code, human.text)
    assert snapshot(sessions) == before
    assert [m.rcpt_tos for m in smtp_server.accepted] == [("human@example.org",)]


async def test_per_ip_rate_limit(mail_settings: Settings, sessions: sessionmaker[Session]) -> None:
    clock = Clock()
    limits = WebLimits(subscribe_per_ip=2, window_seconds=60)
    async with web_client(mail_settings, sessions, clock=clock, limits=limits) as web:
        assert (await subscribe(web, email="a@example.org")).status_code == 200
        assert (await subscribe(web, email="b@example.org")).status_code == 200
        limited = await subscribe(web, email="c@example.org")
        assert limited.status_code == 429
        assert "Too many requests" in limited.text
        clock.advance(61)
        assert (await subscribe(web, email="c@example.org")).status_code == 200
    async with web_client(
        mail_settings, sessions, clock=clock, limits=limits, client="198.51.100.1"
    ) as other:
        assert (await subscribe(other, email="d@example.org")).status_code == 200


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"email": "victim@example.org\r\nBcc: all@example.org"}, "not a valid email address"),
        ({"email": "x" * 400 + "@example.org"}, "at most 320 characters"),
        ({"email": ""}, "enter an email address"),
        ({"description": "words " * 1000}, "at most 2000 characters"),
        ({"keywords": "k" * 150}, "longer than 100 characters"),
        ({"timezone": "Mars/Olympus"}, "unknown time zone"),
        ({"send_hour": "25"}, "choose an hour"),
        ({"frequency": "hourly"}, "choose daily or weekly"),
        ({"other_categories": "not a category!"}, "not arXiv categories"),
        ({"description": "", "keywords": "", "categories": []}, "the profile is empty"),
    ],
)
async def test_bad_input_is_refused_with_a_message(
    mail_settings: Settings,
    sessions: sessionmaker[Session],
    smtp_server: ScriptedSmtpServer,
    fields: dict[str, Any],
    message: str,
) -> None:
    async with web_client(mail_settings, sessions) as web:
        answer = await subscribe(web, **fields)
    assert answer.status_code == 422
    assert message in answer.text
    assert 'role="alert"' in answer.text
    assert snapshot(sessions) == []
    assert smtp_server.messages == []


async def test_oversized_request_is_refused(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    async with web_client(settings, sessions) as web:
        page = await web.get("/")
        answer = await web.post(
            "/", data={**form(), "description": "x" * 100_000, "csrf_token": csrf_of(page)}
        )
    assert answer.status_code == 413
    assert snapshot(sessions) == []


async def test_forms_without_a_valid_csrf_token_are_refused(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    async with web_client(settings, sessions) as web:
        page = await web.get("/")
        token = csrf_of(page)
        missing = await web.post("/", data=form())
        forged = await web.post("/", data={**form(), "csrf_token": token[:-2] + "xx"})
        other_path = await web.post("/confirm/abc", data={"csrf_token": token})
    async with web_client(settings, sessions) as stranger:  # another browser: no cookie
        no_cookie = await stranger.post("/", data={**form(), "csrf_token": token})
    for answer in (missing, forged, other_path, no_cookie):
        assert answer.status_code == 403
        assert "This form has expired" in answer.text
    assert snapshot(sessions) == []


async def test_preview_ranks_the_latest_papers_and_stores_nothing(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    with sessions.begin() as session:
        store_papers(
            session,
            [
                arxiv_paper(id="2508.00001", title="Retrieval for question answering"),
                arxiv_paper(id="2508.00002", title="Robot grasping", abstract="Grippers."),
            ],
            now=datetime(2025, 8, 20, tzinfo=UTC),
        )
    before = snapshot(sessions)
    async with web_client(settings, sessions) as web:
        page = await web.get("/")
        answer = await web.post(
            "/preview",
            data={**form(email=""), "keywords": "question answering", "csrf_token": csrf_of(page)},
        )
    assert answer.status_code == 200
    assert "you would have received" in answer.text
    preview = answer.text.split('id="preview"')[1].split("</section>")[0]
    assert "Retrieval for question answering" in preview
    assert "Robot grasping" not in preview
    assert 'value="question answering"' in answer.text  # the form keeps what was typed
    assert snapshot(sessions) == before


async def test_preview_without_papers_says_so(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    async with web_client(settings, sessions) as web:
        page = await web.get("/")
        answer = await web.post("/preview", data={**form(), "csrf_token": csrf_of(page)})
    assert answer.status_code == 200
    assert "No papers are stored yet" in answer.text


async def confirm_page(settings: Settings, sessions: sessionmaker[Session], path: str) -> Any:
    async with web_client(settings, sessions) as web:
        return await web.get(path)


async def test_bad_confirmation_links_are_refused(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    who = subscriber(sessions, status=Status.PENDING)
    good = link_path(links(settings).confirm(who))
    tampered = good[:-3] + ("aaa" if not good.endswith("aaa") else "bbb")
    wrong_purpose = "/confirm/" + links(settings).unsubscribe(who).rsplit("/", 1)[1]
    expired = link_path(links(settings, Clock(now=1_000_000_000.0)).confirm(who))
    revoked = link_path(links(settings).confirm(Recipient(who.subscriber_id, "0" * 16)))
    before = snapshot(sessions)
    for path, status, text in [
        (tampered, 400, "not valid"),
        (wrong_purpose, 400, "not valid"),
        (expired, 400, "expired"),
        (revoked, 404, "no longer works"),
        ("/confirm/" + "x" * 1000, 400, "too long"),
    ]:
        page = await confirm_page(settings, sessions, path)
        assert page.status_code == status, path
        assert text in page.text
    assert snapshot(sessions) == before
    assert (await confirm_page(settings, sessions, good)).status_code == 200


async def test_confirming_an_ended_subscription_is_refused(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    who = subscriber(sessions, status=Status.UNSUBSCRIBED)
    page = await confirm_page(settings, sessions, link_path(links(settings).confirm(who)))
    assert page.status_code == 410
    assert subscriber_row(sessions, "ada@example.org").status == Status.UNSUBSCRIBED.value


async def test_mail_failure_does_not_change_the_answer(
    mail_settings: Settings, sessions: sessionmaker[Session], smtp_server: ScriptedSmtpServer
) -> None:
    async with web_client(mail_settings, sessions) as web:
        answer = await subscribe(web, email="bounce@example.org")
    assert answer.status_code == 200
    assert smtp_server.accepted == []
    assert "Check your inbox" in answer.text
