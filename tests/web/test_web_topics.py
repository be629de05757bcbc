"""Topics on the preferences pages: the list, adding, renaming, reordering, deleting, a topic's
own interests form, and library uploads (from the preferences pages and with the subscribe
form), ASGI-driven on real SQLite (and PostgreSQL where storage decides)."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from newsletter.config import Settings
from newsletter.db.examples import library_of
from newsletter.db.subscriber_rows import find, to_profile
from newsletter.db.topics import MAX_TOPICS, topics_of
from newsletter.domain import Status
from newsletter.library import read_library
from newsletter.mail.links import Recipient
from newsletter.web.context import WebLimits
from tests.conftest import DATA
from tests.support.web_support import (
    Database,
    RecordingMailer,
    csrf_for,
    csrf_of,
    link_path,
    links,
    snapshot,
    subscriber,
    web_client,
)

pytestmark = pytest.mark.anyio
BIB = DATA / "library" / "zotero_quirks.bib"


@pytest.fixture
def who(sessions: sessionmaker[Session]) -> Recipient:
    return subscriber(sessions)


def topics(sessions: sessionmaker[Session], email: str = "ada@example.org") -> list[Any]:
    with sessions() as session:
        row = find(session, email)
        assert row is not None
        return [(t.id, t.name, to_profile(t)) for t in topics_of(session, row.id)]


async def add_topic(web: httpx.AsyncClient, path: str, **fields: str) -> httpx.Response:
    page = await web.get(path)
    form = {"name": "Robot learning", "description": "robots learning from demonstrations"}
    form |= fields
    return await web.post(
        f"{path}/topics", data={**form, "csrf_token": csrf_for(page, f"{path}/topics")}
    )


async def test_the_preferences_page_lists_topics_and_get_changes_nothing(
    settings: Settings, sessions: sessionmaker[Session], who: Recipient
) -> None:
    path = link_path(links(settings).preferences(who))
    ((topic_id, _, _),) = topics(sessions)
    async with web_client(settings, sessions) as web:
        before = snapshot(sessions)
        page = await web.get(path)
        topic = await web.get(f"{path}/topics/{topic_id}")
        assert snapshot(sessions) == before
    assert page.status_code == 200
    assert topic.status_code == 200
    assert "Your topics" in page.text
    assert f'href="{path}/topics/{topic_id}"' in page.text
    assert f'action="{path}/topics/{topic_id}/library"' in page.text  # the upload is here
    assert 'enctype="multipart/form-data"' in page.text
    assert "<h1>My interests</h1>" in topic.text
    assert 'name="send_hour"' not in topic.text  # one schedule: the preferences page's


async def test_add_rename_move_and_delete_a_topic(
    settings: Settings, sessions: sessionmaker[Session], who: Recipient
) -> None:
    path = link_path(links(settings).preferences(who))
    async with web_client(settings, sessions) as web:
        added = await add_topic(web, path, keywords="imitation learning")
        assert added.status_code == 303
        (first, _, _), (robots, name, profile) = topics(sessions)
        assert added.headers["location"] == f"{path}/topics/{robots}?done=added"
        assert name == "Robot learning"
        assert profile.keywords == ("imitation learning",)
        page = await web.get(added.headers["location"])
        assert "Topic added." in page.text
        renamed = await web.post(
            f"{path}/topics/{robots}/rename",
            data={"name": "Robots", "csrf_token": csrf_for(page, f"{path}/topics/{robots}/rename")},
        )
        assert renamed.status_code == 303
        assert topics(sessions)[1][1] == "Robots"
        listing = await web.get(path)
        moved = await web.post(
            f"{path}/topics/{robots}/move",
            data={"position": "0", "csrf_token": csrf_for(listing, f"{path}/topics/{robots}/move")},
        )
        assert moved.headers["location"] == f"{path}?done=moved#topics"
        assert [t[1] for t in topics(sessions)] == ["Robots", "My interests"]
        page = await web.get(f"{path}/topics/{robots}")
        deleted = await web.post(
            f"{path}/topics/{robots}/delete",
            data={"csrf_token": csrf_for(page, f"{path}/topics/{robots}/delete")},
        )
        assert deleted.headers["location"] == f"{path}?done=deleted#topics"
        assert [t[0] for t in topics(sessions)] == [first]
        only = await web.get(f"{path}/topics/{first}")
        assert "Delete this topic" not in only.text  # the last topic cannot go
        refused = await web.post(
            f"{path}/topics/{first}/delete", data={"csrf_token": csrf_of(only)}
        )
        assert refused.status_code in (403, 409)
        assert len(topics(sessions)) == 1


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": ""}, "a topic needs a name"),
        ({"name": "x" * 81}, "at most 80 characters"),
        ({"name": "my INTERESTS"}, "you already have a topic named"),
        ({"description": "", "keywords": ""}, "the profile is empty"),
        ({"keywords": "k" * 101}, "longer than 100 characters"),
    ],
)
async def test_a_topic_that_cannot_be_added_says_why(
    settings: Settings, sessions: sessionmaker[Session], who: Recipient,
    fields: dict[str, str], message: str,
) -> None:  # fmt: skip
    path = link_path(links(settings).preferences(who))
    async with web_client(settings, sessions) as web:
        answer = await add_topic(web, path, **fields)
    assert answer.status_code == 422
    assert "No topic was added" in answer.text
    assert message in answer.text.replace("&#39;", "'")
    assert len(topics(sessions)) == 1


async def test_at_most_ten_topics(
    settings: Settings, sessions: sessionmaker[Session], who: Recipient
) -> None:
    path = link_path(links(settings).preferences(who))
    async with web_client(settings, sessions) as web:
        token = csrf_for(await web.get(path), f"{path}/topics")
        for number in range(1, MAX_TOPICS):
            assert (await add_topic(web, path, name=f"Topic {number}")).status_code == 303
        page = await web.get(path)
        assert "the most there can be" in page.text
        assert "Add the topic" not in page.text
        refused = await web.post(
            f"{path}/topics", data={"name": "Eleven", "keywords": "x", "csrf_token": token}
        )
    assert refused.status_code == 422
    assert "at most 10 topics" in refused.text
    assert len(topics(sessions)) == MAX_TOPICS


async def test_a_topics_own_interests_are_saved_and_checked(
    settings: Settings, sessions: sessionmaker[Session], who: Recipient
) -> None:
    path = link_path(links(settings).preferences(who))
    async with web_client(settings, sessions) as web:
        await add_topic(web, path)
        robots = topics(sessions)[1][0]
        base = f"{path}/topics/{robots}"
        page = await web.get(base)
        form = {"description": "legged robots", "keywords": "locomotion, sim-to-real",
                "categories": ["cs.RO"], "csrf_token": csrf_for(page, base)}  # fmt: skip
        saved = await web.post(base, data=form)
        assert saved.headers["location"] == f"{base}?done=saved"
        wrong = await web.post(base, data={**form, "other_categories": "cs.FOO"})
        assert wrong.status_code == 422
        assert "Nothing was saved" in wrong.text
    (_, _, first), (_, _, second) = topics(sessions)
    assert first.keywords == ("language models",)  # the other topic is untouched
    assert second.description == "legged robots"
    assert second.categories == ("cs.RO",)
    with sessions() as session:
        row = find(session, "ada@example.org")
        assert row is not None
        assert row.send_hour == 7


async def test_a_library_upload_imports_what_it_can_and_lists_every_problem(
    database: Database,
) -> None:
    who = subscriber(database.sessions)
    path = link_path(links(database.settings).preferences(who))
    ((topic, _, _),) = topics(database.sessions)
    read = read_library(BIB.read_bytes(), filename=BIB.name)
    async with web_client(database.settings, database.sessions) as web:
        page = await web.get(path)
        action = f"{path}/topics/{topic}/library"
        answer = await web.post(
            action,
            data={"csrf_token": csrf_for(page, action)},
            files={"library": ("zotero_quirks.bib", BIB.read_bytes(), "application/x-bibtex")},
        )
    assert answer.status_code == 200
    text = answer.text.replace("&#39;", "'").replace("&#34;", '"')
    assert f"zotero_quirks.bib (BibTeX): {len(read.entries)} imported" in text
    for problem in read.problems:
        assert f"<li>line {problem.line}: " in text
    assert "learning from examples needs semantic matching" in text  # no embedder here
    with database.sessions() as session:
        assert len(library_of(session, topic)) == len(read.entries)


@pytest.mark.parametrize(
    ("filename", "data", "message"),
    [
        ("paper.pdf", b"%PDF-1.5\n" + bytes(range(200)), "this is a PDF document"),
        ("empty.bib", b"", "is empty"),
        ("notes.md", b"# my notes\nnothing to see\n", "not a library file we can read"),
        ("big.bib", b"@misc{a, title={x}}\n" * 100, "the file is too large"),
    ],
)
async def test_an_unreadable_file_imports_nothing_and_says_why(
    settings: Settings, sessions: sessionmaker[Session], who: Recipient,
    filename: str, data: bytes, message: str,
) -> None:  # fmt: skip
    path = link_path(links(settings).preferences(who))
    ((topic, _, _),) = topics(sessions)
    limits = WebLimits(max_upload_bytes=1_000)
    async with web_client(settings, sessions, limits=limits) as web:
        page = await web.get(path)
        action = f"{path}/topics/{topic}/library"
        before = snapshot(sessions)
        answer = await web.post(
            action, data={"csrf_token": csrf_for(page, action)},
            files={"library": (filename, data, "application/octet-stream")},
        )  # fmt: skip
        assert snapshot(sessions) == before
    assert answer.status_code == 422
    assert "Nothing was imported" in answer.text
    assert message in answer.text


async def test_an_upload_over_the_limit_is_refused_before_it_is_read(
    settings: Settings, sessions: sessionmaker[Session], who: Recipient
) -> None:
    path = link_path(links(settings).preferences(who))
    ((topic, _, _),) = topics(sessions)
    limits = WebLimits(max_upload_bytes=1_000, max_body_bytes=2_000)
    async with web_client(settings, sessions, limits=limits) as web:
        page = await web.get(path)
        action = f"{path}/topics/{topic}/library"
        answer = await web.post(
            action, data={"csrf_token": csrf_for(page, action)},
            files={"library": ("big.bib", b"%" * 10_000, "text/plain")},
        )  # fmt: skip
    assert answer.status_code == 413
    assert "a library file may be at most 3 kB here" in answer.text


async def test_the_subscribe_form_takes_a_library_stored_with_the_pending_subscription(
    database: Database,
) -> None:
    read = read_library(BIB.read_bytes(), filename=BIB.name)
    mailer = RecordingMailer()
    async with web_client(database.settings, database.sessions, mailer=mailer) as web:
        home = await web.get("/")
        assert 'enctype="multipart/form-data"' in home.text
        assert 'name="library"' in home.text
        answer = await web.post(
            "/",
            data={"email": "new@example.org", "description": "LLM agents", "send_hour": "7",
                  "frequency": "daily", "send_weekday": "0", "csrf_token": csrf_of(home)},
            files={"library": ("zotero_quirks.bib", BIB.read_bytes(), "text/plain")},
        )  # fmt: skip
    assert answer.status_code == 200
    assert "Check your inbox" in answer.text
    assert f"zotero_quirks.bib (BibTeX): {len(read.entries)} papers read" in answer.text
    assert f"line {read.problems[0].line}: " in answer.text
    with database.sessions() as session:
        row = find(session, "new@example.org")
        assert row is not None
        assert row.status == Status.PENDING
        assert row.profile is not None
        assert len(library_of(session, row.profile.id)) == len(read.entries)
    assert len(mailer.sent) == 1  # the confirmation, as without a file


async def test_the_subscribe_form_refuses_an_unreadable_library_and_stores_nothing(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    async with web_client(settings, sessions, mailer=RecordingMailer()) as web:
        home = await web.get("/")
        before = snapshot(sessions)
        answer = await web.post(
            "/",
            data={"email": "new@example.org", "description": "LLM agents", "send_hour": "7",
                  "frequency": "daily", "send_weekday": "0", "csrf_token": csrf_of(home)},
            files={"library": ("zotero.sqlite", b"SQLite format 3\x00" + bytes(64), "x/y")},
        )  # fmt: skip
        assert snapshot(sessions) == before
    assert answer.status_code == 422
    assert re.search(r"Your papers: this is a database \(Zotero", answer.text)
