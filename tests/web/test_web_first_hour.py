"""The rough edges a newcomer hit in the first hour (issue 13): HEAD, unknown URLs, the API
explorer offline, error pages with a next step, the category picker and its validation,
the subscribed page, the first "preview now", feedback by title, the dev inbox's links."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session, sessionmaker
from starlette.routing import Route

from newsletter.config import Settings
from newsletter.db.papers import store_papers
from newsletter.domain import Status
from newsletter.mail.links import Recipient
from newsletter.pipeline.sample import sample_papers
from newsletter.web.app import create_app
from newsletter.web.routes import ROUTERS, dev_mail
from newsletter.web.routes.dev_mail import in_new_tabs
from tests.support.factories import arxiv_paper
from tests.support.smtp_server import ScriptedSmtpServer
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
ERROR_BOX = re.compile(r'<p class="problems" role="alert">')


def subscribe_form(**fields: object) -> dict[str, object]:
    return {
        "email": "new.person@example.org",
        "description": "retrieval-augmented generation",
        "keywords": "RAG",
        "send_hour": "7",
        "timezone": "Europe/Paris",
        "frequency": "daily",
        **fields,
    }


def example_path(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", path)


async def test_every_get_route_answers_head_like_get_without_a_body(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    app = create_app(settings, sessions=sessions)
    assert settings.uses_mail_sink  # the development inbox's routes are there too
    routes = [
        *app.routes,  # the app's own (/docs, /redoc, /openapi.json) and its mounts
        *(route for router in (*ROUTERS, dev_mail.router) for route in router.routes),
    ]
    paths = sorted(
        example_path(route.path)
        for route in routes
        if isinstance(route, APIRoute | Route) and "GET" in (route.methods or ())
    )
    assert {"/", "/healthz", "/docs", "/redoc", "/metrics", "/openapi.json"} <= set(paths)
    assert len(paths) >= 15
    async with web_client(settings, sessions) as web:
        for path in [*paths, "/static/site.css", "/docs/swagger-ui.css"]:
            got, head = await web.get(path), await web.head(path)
            assert head.status_code == got.status_code, path
            assert head.status_code != 405, path
            assert head.content == b"", path
            assert head.headers["content-type"] == got.headers["content-type"], path
    async with web_client(settings, sessions) as web:
        assert (await web.head("/")).status_code == 200
        assert (await web.head("/healthz")).status_code == 200


async def test_unknown_urls_answer_a_page_to_browsers_and_json_under_the_api(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    async with web_client(settings, sessions) as web:
        page = await web.get("/no/such/page")
        api = await web.get("/api/no-such-thing")
        wrong_method = await web.put("/")
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "<h1>Page not found</h1>" in page.text
    assert ERROR_BOX.search(page.text)
    assert '<a href="/">Go to the home page</a>' in page.text
    assert (api.status_code, api.json()) == (404, {"detail": "Not Found", "problems": {}})
    assert wrong_method.status_code == 405
    assert wrong_method.headers["content-type"].startswith("text/html")
    assert "GET" in wrong_method.headers["allow"]


async def test_the_api_explorers_need_nothing_from_elsewhere(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    async with web_client(settings, sessions) as web:
        docs, redoc = await web.get("/docs"), await web.get("/redoc")
        assets = re.findall(r'(?:src|href)="([^"]+)"', docs.text + redoc.text)
        fetched = {asset: await web.get(asset) for asset in assets if asset.startswith("/")}
    assert docs.status_code == redoc.status_code == 200
    assert "swagger-ui-bundle.js" in docs.text
    assert "redoc.standalone.js" in redoc.text
    remote = [a for a in assets if a.startswith(("http:", "https:", "//"))]
    assert remote == []
    assert "fonts.googleapis" not in redoc.text
    assert len(fetched) == 3  # Swagger UI's script and style, ReDoc's script
    for asset, answer in fetched.items():
        assert answer.status_code == 200, asset
        assert len(answer.content) > 100_000, asset  # the real bundles, not a stub


async def test_a_dead_link_is_an_error_page_with_the_way_to_a_fresh_one(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    clock = Clock()
    who = subscriber(sessions)
    path = link_path(links(settings, clock).preferences(who))
    clock.advance(3 * 366 * 24 * 3600)  # past any link's lifetime
    async with web_client(settings, sessions, clock=clock) as web:
        page = await web.get(path)
    assert page.status_code == 400
    assert "this link has expired" in page.text
    assert ERROR_BOX.search(page.text)
    assert '<a href="/">Get a fresh link from the home page</a>' in page.text
    assert "enter your address on the home page" in page.text


async def test_an_ended_subscriptions_confirmation_link_offers_subscribing_again(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    who = subscriber(sessions, status=Status.UNSUBSCRIBED)
    async with web_client(settings, sessions) as web:
        page = await web.get(link_path(links(settings).confirm(who)))
    assert page.status_code == 410
    assert ERROR_BOX.search(page.text)
    assert '<a href="/">Subscribe again from the home page</a>' in page.text


@pytest.mark.parametrize("typed", ["cs.FOO", "banana"])
async def test_unknown_categories_are_refused_with_the_valid_ones(
    settings: Settings, sessions: sessionmaker[Session], typed: str
) -> None:
    mailer = RecordingMailer()
    async with web_client(settings, sessions, mailer=mailer) as web:
        home = await web.get("/")
        page = await web.post(
            "/", data={**subscribe_form(other_categories=typed), "csrf_token": csrf_of(home)}
        )
        api = await web.post(
            "/api/subscribe",
            json={"email": "api@example.org", "keywords": ["RAG"], "categories": [typed]},
        )
    assert page.status_code == 422
    assert f"not arXiv categories: {typed}" in page.text
    assert "The valid ones are: cs.AI, cs.AR" in page.text
    assert api.status_code == 422
    assert f"not arXiv categories: {typed}" in str(api.json()["problems"])
    assert mailer.sent == []


async def test_the_category_picker_shows_names_grouped_by_field(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    async with web_client(settings, sessions) as web:
        page = (await web.get("/")).text
    groups = re.findall(r"<summary>([^<]+)", page)
    assert groups[:2] == ["Computer Science", "Economics"]
    assert len(groups) == 8
    assert len(re.findall(r'name="categories" value="', page)) == 155
    box = re.search(r'value="eess.AS">\s*<span>([^<]+)<span class="code">eess.AS</span>', page)
    assert box is not None
    assert box.group(1).strip() == "Audio and Speech Processing"
    # Only the first field is open on an empty form; a chosen category opens its field.
    assert page.count('<details class="categories" open>') == 1


async def test_confirming_says_when_the_first_digest_comes_and_the_first_preview_goes_out(
    sqlite_url: str, sessions: sessionmaker[Session], smtp_server: ScriptedSmtpServer
) -> None:
    settings = smtp_settings(sqlite_url, smtp_server)
    with sessions.begin() as session:
        paper = arxiv_paper(
            title="RAG: retrieval-augmented generation for question answering",
            abstract="We study retrieval-augmented generation (RAG) with dense retrieval.",
        )
        other = arxiv_paper("2508.00001", title="Robot grasping", abstract="Grippers.")
        store_papers(session, [paper, other], now=datetime.now(UTC))  # BM25 needs a corpus
    # Tuesday 1 December 2026, 09:00 in Paris: today's 07:00 has passed, so tomorrow.
    clock = Clock(datetime(2026, 12, 1, 8, 0, tzinfo=UTC).timestamp())
    async with web_client(settings, sessions, clock=clock) as web:
        home = await web.get("/")
        await web.post("/", data={**subscribe_form(), "csrf_token": csrf_of(home)})
        (confirm_path,) = [
            p for p in links_in(mail(smtp_server.accepted[0].data)) if p.startswith("/confirm/")
        ]
        page = await web.get(confirm_path)
        done = await web.post(confirm_path, data={"csrf_token": csrf_of(page)})
        assert "You are subscribed" in done.text
        assert (
            "Your first digest comes tomorrow, Wednesday, 2 December 2026 at 07:00 "
            "(Europe/Paris)" in done.text
        )
        # The button on that page: right after the confirmation and the welcome mail.
        action = re.search(r'<form method="post" action="([^"]+/preview)">', done.text)
        assert action is not None
        clock.advance(60)
        # It posts to the confirmation link (which never shows the preferences link).
        assert action.group(1) == confirm_path + "/preview"
        assert "/preferences/" not in done.text
        preview = await web.post(action.group(1), data={"csrf_token": csrf_of(done)})
        assert "on its way to your inbox" in preview.text
        refused = await web.post(action.group(1), data={"csrf_token": csrf_of(done)})
    subjects = [str(mail(m.data)["Subject"]) for m in smtp_server.accepted]
    assert len(subjects) == 3
    assert subjects[1].startswith("Welcome to")
    assert "new paper" in subjects[2]
    # Refused: shown as a problem, with when to try again, not in the success style.
    assert ERROR_BOX.search(refused.text)
    assert "Try again after 08:31 (UTC)" in refused.text
    assert 'class="notice"' not in refused.text
    assert subscriber_row(sessions, "new.person@example.org").status == Status.ACTIVE.value


async def test_thanks_for_feedback_names_the_paper_by_its_title(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    who: Recipient = subscriber(sessions)
    with sessions.begin() as session:
        paper = arxiv_paper(id="2508.00042", title="Agents that plan")
        store_papers(session, [paper], now=datetime.now(UTC))
    path = f"{link_path(links(settings).feedback(who))}?paper=2508.00042&vote=more"
    async with web_client(settings, sessions) as web:
        page = await web.get(path)
        done = await web.post(path, data={"csrf_token": csrf_of(page)})
    assert done.status_code == 200
    assert "Thanks, noted" in done.text
    assert "more papers like “Agents that plan”" in done.text
    assert "2508.00042" not in done.text.split("<main>")[1].split("</main>")[0]


def test_mail_links_in_the_dev_inbox_open_in_a_new_tab() -> None:
    assert in_new_tabs("<html><head><title>x</title></head>") == (
        '<html><head><base target="_blank"><title>x</title></head>'
    )
    assert in_new_tabs('<HEAD lang="en"><a href="/x">') == (
        '<HEAD lang="en"><base target="_blank"><a href="/x">'
    )
    assert in_new_tabs("<p>no head</p>") == '<base target="_blank"><p>no head</p>'


async def test_the_sample_day_is_marked_on_the_home_page_and_in_the_preview(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    today = datetime.now(UTC).date()
    with sessions.begin() as session:
        store_papers(session, sample_papers(today), now=datetime.now(UTC))
    async with web_client(settings, sessions) as web:
        home = await web.get("/")
        form = {**subscribe_form(keywords="agents, tool use"), "csrf_token": csrf_of(home)}
        preview = await web.post("/preview", data=form)
    note = "<strong>Sample data.</strong>"
    assert note in home.text
    assert "a recorded arXiv cs.AI listing of 20 August 2025" in home.text
    assert home.text.count('<span class="tag">sample</span>') == 30  # every paper listed
    section = preview.text.split('id="preview"')[1].split("</section>")[0]
    assert '<ol class="papers">' in section
    assert note in section
