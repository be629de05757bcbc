"""The web app, built per test from explicit settings and driven through ASGI."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session, sessionmaker

from newsletter.config import Settings
from newsletter.db.engine import session_factory
from newsletter.db.papers import store_papers
from newsletter.metrics import MAILS
from newsletter.web.app import create_app
from tests.support.factories import arxiv_paper

pytestmark = pytest.mark.anyio


def client(settings: Settings, sessions: sessionmaker[Session]) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(settings, sessions=sessions))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def test_healthz(settings: Settings, sessions: sessionmaker[Session]) -> None:
    async with client(settings, sessions) as web:
        response = await web.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


async def test_healthz_reports_unreachable_database(settings: Settings) -> None:
    broken = session_factory(create_engine("sqlite:////nonexistent/dir/db.sqlite"))
    async with client(settings, broken) as web:
        response = await web.get("/healthz")
    assert response.status_code == 503
    assert response.json()["status"] == "error"


async def test_healthz_reports_a_stopped_scheduler(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    for alive, code in ((True, 200), (False, 503)):
        app = create_app(settings, sessions=sessions, scheduler_alive=lambda alive=alive: alive)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as web:
            response = await web.get("/healthz")
        assert response.status_code == code
        assert response.json()["scheduler"] == ("ok" if alive else "stopped")


async def test_metrics_are_served_in_prometheus_format(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    MAILS.labels("sent").inc()
    async with client(settings, sessions) as web:
        response = await web.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    for name in (
        "newsletter_mails_total",
        "newsletter_digests_queued_total",
        "newsletter_papers_fetched_total",
        "newsletter_send_seconds_bucket",
    ):
        assert name in response.text
    assert 'newsletter_mails_total{outcome="sent"}' in response.text


async def test_index_lists_papers_with_titles_escaped(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    with sessions.begin() as session:
        store_papers(
            session,
            [arxiv_paper(title="<script>alert(1)</script> Agents")],
            now=datetime(2025, 8, 20, tzinfo=UTC),
        )
    async with client(settings, sessions) as web:
        page = await web.get("/")
    assert page.status_code == 200
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Agents" in page.text
    assert "<script>alert" not in page.text
    assert 'href="https://arxiv.org/abs/2508.13167"' in page.text


async def test_empty_index_says_how_to_fetch(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    async with client(settings, sessions) as web:
        assert "newsletter fetch" in (await web.get("/")).text


async def test_api_papers_filters_by_date(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    with sessions.begin() as session:
        store_papers(session, [arxiv_paper()], now=datetime(2025, 8, 20, tzinfo=UTC))
    async with client(settings, sessions) as web:
        on_day = await web.get("/api/papers", params={"date": "2025-08-20"})
        other_day = await web.get("/api/papers", params={"date": "2025-08-21"})
        invalid = await web.get("/api/papers", params={"date": "yesterday"})
    assert [paper["id"] for paper in on_day.json()] == ["2508.13167"]
    assert other_day.json() == []
    assert invalid.status_code == 422
