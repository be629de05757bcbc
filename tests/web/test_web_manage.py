"""Preferences, unsubscribe (with RFC 8058 one-click), feedback, feed and "view in browser"."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta
from typing import Any

import lxml.html
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from newsletter.config import Settings
from newsletter.db import models
from newsletter.db.outbox_claims import claim, record_sent
from newsletter.db.papers import store_papers
from newsletter.db.subscriber_rows import to_profile
from newsletter.domain import Paper, Status
from newsletter.mail.links import Recipient
from newsletter.matching.profile import MAX_SEEDS
from tests.support.factories import arxiv_paper
from tests.support.smtp_server import (
    ScriptedSmtpServer,
)
from tests.support.web_support import (
    DAY,
    csrf_of,
    link_path,
    links,
    mail,
    queue_digest,
    smtp_settings,
    snapshot,
    subscriber,
    subscriber_row,
    web_client,
)

pytestmark = pytest.mark.anyio
ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def who(sessions: sessionmaker[Session]) -> Recipient:
    return subscriber(sessions)


def stored(sessions: sessionmaker[Session], *papers: Paper) -> list[Paper]:
    with sessions.begin() as session:
        store_papers(session, papers, now=datetime(2025, 8, 20, tzinfo=UTC))
    return list(papers)


def preferences_form(**fields: Any) -> dict[str, Any]:
    return {
        "description": "sparse mixture of experts",
        "keywords": "MoE, routing",
        "exclude": "survey",
        "categories": ["cs.LG"],
        "other_categories": "q-bio.NC",
        "category_filter": "on",
        "authors": "Noam Shazeer\nBarret Zoph",
        "seed_papers": "2401.04088",
        "disliked_papers": "",
        "send_hour": "6",
        "timezone": "Asia/Tokyo",
        "frequency": "weekly",
        "send_weekday": "4",
        **fields,
    }


async def test_preferences_round_trip(
    settings: Settings, sessions: sessionmaker[Session], who: Recipient
) -> None:
    path = link_path(links(settings).preferences(who))
    async with web_client(settings, sessions) as web:
        before = snapshot(sessions)
        page = await web.get(path)
        assert snapshot(sessions) == before
        assert page.status_code == 200
        assert 'value="language models"' in page.text
        assert "ada@example.org" in page.text
        assert 'type="application/atom+xml"' in page.text
        saved = await web.post(path, data={**preferences_form(), "csrf_token": csrf_of(page)})
        assert saved.status_code == 303
        assert saved.headers["location"] == f"{path}?done=saved"
        again = await web.get(saved.headers["location"])
    assert "Your preferences are saved" in again.text
    assert 'value="MoE, routing"' in again.text
    assert 'value="cs.LG" checked' in again.text
    assert "2401.04088" in again.text
    row = subscriber_row(sessions, "ada@example.org")
    profile = to_profile(row.profile)
    assert profile.keywords == ("MoE", "routing")
    assert profile.categories == ("cs.LG", "q-bio.NC")
    assert profile.category_mode.value == "filter"
    assert profile.authors == ("Noam Shazeer", "Barret Zoph")
    assert profile.seed_papers == ("2401.04088",)
    assert (row.timezone, row.send_hour, row.frequency, row.send_weekday) == (
        "Asia/Tokyo",
        6,
        "weekly",
        4,
    )


async def test_invalid_preferences_change_nothing(
    settings: Settings, sessions: sessionmaker[Session], who: Recipient
) -> None:
    path = link_path(links(settings).preferences(who))
    async with web_client(settings, sessions) as web:
        page = await web.get(path)
        before = snapshot(sessions)
        answer = await web.post(
            path,
            data={**preferences_form(seed_papers="not-an-id"), "csrf_token": csrf_of(page)},
        )
        no_csrf = await web.post(path, data=preferences_form())
    assert answer.status_code == 422
    assert "Nothing was saved" in answer.text
    assert "not an arXiv id" in answer.text
    assert no_csrf.status_code == 403
    assert snapshot(sessions) == before


async def test_pause_and_resume(
    settings: Settings, sessions: sessionmaker[Session], who: Recipient
) -> None:
    path = link_path(links(settings).preferences(who))
    async with web_client(settings, sessions) as web:
        page = await web.get(path)
        paused = await web.post(f"{path}/pause", data={"csrf_token": csrf_of(page, 1)})
        assert paused.status_code == 303
        assert subscriber_row(sessions, "ada@example.org").status == Status.PAUSED.value
        page = await web.get(path)
        assert "Resume the digest" in page.text
        await web.post(f"{path}/resume", data={"csrf_token": csrf_of(page, 1)})
    assert subscriber_row(sessions, "ada@example.org").status == Status.ACTIVE.value


async def test_preview_now_mails_a_digest_of_the_latest_papers(
    sqlite_url: str,
    sessions: sessionmaker[Session],
    smtp_server: ScriptedSmtpServer,
    who: Recipient,
) -> None:
    settings = smtp_settings(sqlite_url, smtp_server)
    stored(
        sessions,
        arxiv_paper(id="2508.00001", title="Small language models that reason"),
        *(
            arxiv_paper(id=f"2508.0010{i}", title=f"Robot grasping {i}", abstract="Grippers.")
            for i in range(4)
        ),
    )
    path = link_path(links(settings).preferences(who))
    async with web_client(settings, sessions) as web:
        page = await web.get(path)
        answer = await web.post(f"{path}/preview", data={"csrf_token": csrf_of(page, 2)})
        again = await web.post(f"{path}/preview", data={"csrf_token": csrf_of(page, 2)})
    assert answer.status_code == 303
    assert answer.headers["location"].endswith("?done=preview")
    assert again.headers["location"].endswith("?done=wait")  # one mail per cooldown
    (sent,) = smtp_server.accepted
    assert sent.rcpt_tos == ("ada@example.org",)
    assert "Small language models that reason" in mail(sent.data).get_body().get_content()


async def test_export_is_the_whole_profile_as_json(
    settings: Settings, sessions: sessionmaker[Session], who: Recipient
) -> None:
    path = link_path(links(settings).preferences(who))
    async with web_client(settings, sessions) as web:
        answer = await web.get(f"{path}/export.json")
    assert answer.status_code == 200
    assert "attachment" in answer.headers["content-disposition"]
    data = answer.json()
    assert data["email"] == "ada@example.org"
    assert data["profile"]["keywords"] == ["language models"]
    assert data["schedule"]["frequency"] == "daily"


def count(sessions: sessionmaker[Session], model: Any) -> int:
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


async def test_delete_removes_everything_after_a_confirm_step(
    settings: Settings, sessions: sessionmaker[Session], who: Recipient
) -> None:
    (paper,) = stored(sessions, arxiv_paper())
    queue_digest(sessions, who, [paper])
    now = datetime(2025, 8, 21, tzinfo=UTC)
    (claimed,) = claim(sessions, now=now, limit=5, lease=timedelta(minutes=5))
    record_sent(sessions, claimed, reply="250 ok", now=datetime(2025, 8, 21, tzinfo=UTC))
    assert count(sessions, models.SentPaperRow) == 1
    path = link_path(links(settings).preferences(who))
    async with web_client(settings, sessions) as web:
        before = snapshot(sessions)
        confirm = await web.get(f"{path}/delete")
        assert snapshot(sessions) == before
        assert "Yes, delete everything" in confirm.text
        done = await web.post(f"{path}/delete", data={"csrf_token": csrf_of(confirm)})
        assert done.status_code == 200
        assert "Everything is deleted" in done.text
        gone = await web.get(path)
    assert gone.status_code == 404
    for model in (
        models.SubscriberRow,
        models.InterestProfileRow,
        models.OutboxRow,
        models.SentPaperRow,
    ):
        assert count(sessions, model) == 0, model
    assert count(sessions, models.PaperRow) == 1


async def test_delete_removes_the_bounce_reports_naming_the_address(
    settings: Settings, sessions: sessionmaker[Session], who: Recipient
) -> None:
    # Bounce reports name the address, not the subscriber row: no cascade reaches them.
    subscriber(sessions, "bob@example.org")
    with sessions.begin() as session:
        for n, recipient in enumerate(("ada@example.org", "ada@example.org", "bob@example.org")):
            session.add(models.BounceEventRow(fingerprint=str(n), recipient=recipient, kind="soft"))
    path = link_path(links(settings).preferences(who))
    async with web_client(settings, sessions) as web:
        confirm = await web.get(f"{path}/delete")
        done = await web.post(f"{path}/delete", data={"csrf_token": csrf_of(confirm)})
    assert done.status_code == 200
    with sessions() as session:
        left = session.scalars(select(models.BounceEventRow.recipient)).all()
        emails = session.scalars(select(models.SubscriberRow.email)).all()
    assert (left, emails) == (["bob@example.org"], ["bob@example.org"])


async def test_unsubscribe_page_then_button(
    settings: Settings, sessions: sessionmaker[Session], who: Recipient
) -> None:
    path = link_path(links(settings).unsubscribe(who))
    async with web_client(settings, sessions) as web:
        before = snapshot(sessions)
        page = await web.get(path)
        assert snapshot(sessions) == before  # scanners follow links
        assert "Unsubscribe</button>" in page.text
        assert "Pause instead" in page.text
        done = await web.post(path, data={"csrf_token": csrf_of(page), "action": "unsubscribe"})
        assert done.status_code == 200
        assert "You are unsubscribed" in done.text
        row = subscriber_row(sessions, "ada@example.org")
        assert row.status == Status.UNSUBSCRIBED.value
        assert row.unsubscribed_at is not None
        assert "You are unsubscribed" in (await web.get(path)).text
        refused = await web.post(path, data={"action": "unsubscribe"})  # a form, no CSRF
    assert refused.status_code == 403


async def test_pause_instead_of_unsubscribing(
    settings: Settings, sessions: sessionmaker[Session], who: Recipient
) -> None:
    path = link_path(links(settings).unsubscribe(who))
    async with web_client(settings, sessions) as web:
        page = await web.get(path)
        done = await web.post(path, data={"csrf_token": csrf_of(page), "action": "pause"})
    assert done.status_code == 200
    assert "paused" in done.text
    assert subscriber_row(sessions, "ada@example.org").status == Status.PAUSED.value


@pytest.mark.parametrize("multipart", [False, True])
async def test_one_click_unsubscribe_is_idempotent_and_never_redirects(
    settings: Settings, sessions: sessionmaker[Session], who: Recipient, multipart: bool
) -> None:
    path = link_path(links(settings).unsubscribe(who))
    body: dict[str, Any] = (
        {"files": {"List-Unsubscribe": (None, "One-Click")}}
        if multipart
        else {"data": {"List-Unsubscribe": "One-Click"}}
    )
    answers = []
    for _ in range(2):  # a fresh client each time: no cookie, no CSRF token
        async with web_client(settings, sessions) as provider:
            answers.append(await provider.post(path, **body))
    for answer in answers:
        assert answer.status_code == 200
        assert "location" not in answer.headers
    assert subscriber_row(sessions, "ada@example.org").status == Status.UNSUBSCRIBED.value


async def test_unsubscribe_links_are_checked(
    settings: Settings, sessions: sessionmaker[Session], who: Recipient
) -> None:
    one_click = {"List-Unsubscribe": "One-Click"}
    confirm_token = links(settings).confirm(who).rsplit("/", 1)[1]
    async with web_client(settings, sessions) as web:
        wrong = await web.post(f"/unsubscribe/{confirm_token}", data=one_click)
        tampered = await web.post(link_path(links(settings).unsubscribe(who)) + "x", data=one_click)
        revoked = await web.post(
            link_path(links(settings).unsubscribe(Recipient(who.subscriber_id, "f" * 16))),
            data=one_click,
        )
    assert (wrong.status_code, tampered.status_code, revoked.status_code) == (400, 400, 404)
    assert subscriber_row(sessions, "ada@example.org").status == Status.ACTIVE.value


async def test_feedback_adds_examples_to_the_profile(
    settings: Settings, sessions: sessionmaker[Session], who: Recipient
) -> None:
    stored(sessions, arxiv_paper(id="2508.13167", title="Agents & <tools>"))
    base = link_path(links(settings).feedback(who))
    async with web_client(settings, sessions) as web:
        before = snapshot(sessions)
        page = await web.get(base, params={"paper": "2508.13167", "vote": "more"})
        assert snapshot(sessions) == before
        assert page.status_code == 200
        assert "Agents &amp; &lt;tools&gt;" in page.text
        assert "data-autosubmit" in page.text
        more = await web.post(
            base, params={"paper": "2508.13167", "vote": "more"}, data={"csrf_token": csrf_of(page)}
        )
        assert more.status_code == 200
        assert to_profile(subscriber_row(sessions, "ada@example.org").profile).seed_papers == (
            "2508.13167",
        )
        page = await web.get(base, params={"paper": "2508.13167", "vote": "less"})
        await web.post(
            base, params={"paper": "2508.13167", "vote": "less"}, data={"csrf_token": csrf_of(page)}
        )
        bad_vote = await web.get(base, params={"paper": "2508.13167", "vote": "sideways"})
        bad_paper = await web.get(base, params={"paper": "<script>", "vote": "more"})
    profile = to_profile(subscriber_row(sessions, "ada@example.org").profile)
    assert profile.seed_papers == ()
    assert profile.disliked_papers == ("2508.13167",)
    assert (bad_vote.status_code, bad_paper.status_code) == (400, 400)


async def test_feed_is_valid_atom_newest_first(
    settings: Settings, sessions: sessionmaker[Session], who: Recipient
) -> None:
    old, new = stored(
        sessions,
        arxiv_paper(id="2508.00001", title="Older paper"),
        arxiv_paper(id="2508.00002", title="Newer <paper> & friends"),
    )
    queue_digest(sessions, who, [old], day=date(2025, 8, 19))
    queue_digest(sessions, who, [new], day=DAY)
    path = link_path(links(settings).feed(who))
    assert path.endswith(".xml")
    async with web_client(settings, sessions) as web:
        before = snapshot(sessions)
        answer = await web.get(path)
        assert snapshot(sessions) == before
        wrong = await web.get(path.replace("/feed/", "/feed/x"))
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/atom+xml")
    feed = ET.fromstring(answer.content)
    assert feed.tag == f"{ATOM}feed"
    assert feed.find(f"{ATOM}updated") is not None
    titles = [e.findtext(f"{ATOM}title") for e in feed.findall(f"{ATOM}entry")]
    assert titles == ["Newer <paper> & friends", "Older paper"]
    entry = feed.findall(f"{ATOM}entry")[0]
    assert entry.findtext(f"{ATOM}id") == "urn:arxiv:2508.00002"
    link = entry.find(f"{ATOM}link")
    assert link is not None
    assert link.get("href") == new.abs_url
    assert wrong.status_code == 400


async def test_view_in_browser_renders_that_days_digest(
    settings: Settings, sessions: sessionmaker[Session], who: Recipient
) -> None:
    (paper,) = stored(sessions, arxiv_paper(title="A paper to read in the browser"))
    queue_digest(sessions, who, [paper])
    async with web_client(settings, sessions) as web:
        page = await web.get(link_path(links(settings).view(who, DAY)))
        missing = await web.get(link_path(links(settings).view(who, date(2025, 8, 1))))
        wrong = await web.get("/digest/" + links(settings).unsubscribe(who).rsplit("/", 1)[1])
    assert page.status_code == 200
    assert "A paper to read in the browser" in page.text
    assert page.headers["content-security-policy"].startswith("sandbox")
    assert missing.status_code == 404
    assert wrong.status_code == 400


async def test_view_in_browser_shows_the_papers_the_mail_had_to_leave_out(
    settings: Settings, sessions: sessionmaker[Session], who: Recipient
) -> None:
    many = settings.model_copy(update={"digest_max_papers": 80})
    papers = stored(
        sessions,
        *(
            arxiv_paper(
                id=f"2508.{n:05d}", title=f"Long paper number {n}", abstract="Words. " * 300
            )
            for n in range(80)
        ),
    )
    queue_digest(sessions, who, list(papers))
    async with web_client(many, sessions) as web:
        page = await web.get(link_path(links(many).view(who, DAY)))
    assert page.status_code == 200
    assert all(f"Long paper number {n}<" in page.text for n in range(80))
    assert "more matched" not in page.text


async def test_every_page_get_changes_nothing(
    settings: Settings, sessions: sessionmaker[Session], who: Recipient
) -> None:
    (paper,) = stored(sessions, arxiv_paper())
    queue_digest(sessions, who, [paper])
    pending = subscriber(sessions, "pending@example.org", status=Status.PENDING)
    made = links(settings)
    paths = [
        "/",
        link_path(made.confirm(pending)),
        link_path(made.preferences(who)),
        link_path(made.preferences(who)) + "/export.json",
        link_path(made.preferences(who)) + "/delete",
        link_path(made.unsubscribe(who)),
        link_path(made.feedback(who)) + "?paper=2508.13167&vote=more",
        link_path(made.feed(who)),
        link_path(made.view(who, DAY)),
    ]
    before = snapshot(sessions)
    async with web_client(settings, sessions) as web:
        for path in paths:
            answer = await web.get(path)
            assert answer.status_code == 200, path
    assert snapshot(sessions) == before


async def test_feedback_takes_any_stored_paper_id(
    settings: Settings, sessions: sessionmaker[Session], who: Recipient
) -> None:
    """Papers from files have DOIs, Semantic Scholar ids, URLs or content ids: each can be
    liked from its digest, the id kept whole (a URL's own & and ? included) up to 255
    characters, the length of the papers.id column."""
    long_url = "url:https://example.org/" + "p" * (255 - len("url:https://example.org/"))
    ids = [
        "doi:10.1145/3292500.3330701",
        "s2:649def34f8be52c8b66281af98ae884c09aef38b",
        "url:https://openreview.net/forum?id=abc&referrer=x",
        "local:0123456789abcdef",
        long_url,
    ]
    stored(sessions, *(arxiv_paper(paper_id=i, title=f"Paper {n}") for n, i in enumerate(ids)))
    base = link_path(links(settings).feedback(who))
    async with web_client(settings, sessions) as web:
        for number, paper_id in enumerate(ids):
            page = await web.get(base, params={"paper": paper_id, "vote": "more"})
            assert page.status_code == 200, paper_id
            assert f"Paper {number}" in page.text
            action = lxml.html.fromstring(page.text).xpath("string(//form/@action)")
            answer = await web.post(action, data={"csrf_token": csrf_of(page)})
            assert answer.status_code == 200, paper_id
        too_long = await web.get(base, params={"paper": long_url + "p", "vote": "more"})
        not_an_id = await web.get(base, params={"paper": "doi:nothing", "vote": "more"})
        api = await web.post(
            "/api/feedback/" + base.rsplit("/", 1)[1], json={"paper": ids[0], "vote": "less"}
        )
    assert (too_long.status_code, not_an_id.status_code, api.status_code) == (400, 400, 200)
    profile = to_profile(subscriber_row(sessions, "ada@example.org").profile)
    assert profile.seed_papers == tuple(ids[1:])
    assert profile.disliked_papers == (ids[0],)


async def test_feedback_keeps_the_latest_examples_only(
    settings: Settings, sessions: sessionmaker[Session], who: Recipient
) -> None:
    """Each vote adds an example: the lists keep the latest MAX_SEEDS, so links followed
    again and again cannot grow a profile without bound (or past what the form accepts)."""
    token = link_path(links(settings).feedback(who)).rsplit("/", 1)[1]
    async with web_client(settings, sessions) as web:
        for n in range(MAX_SEEDS + 5):
            answer = await web.post(
                f"/api/feedback/{token}", json={"paper": f"2508.{n:05d}", "vote": "more"}
            )
            assert answer.status_code == 200
    seeds = to_profile(subscriber_row(sessions, "ada@example.org").profile).seed_papers
    assert len(seeds) == MAX_SEEDS
    assert seeds[-1] == f"2508.{MAX_SEEDS + 4:05d}"
    assert "2508.00000" not in seeds


async def test_feed_links_papers_outside_arxiv(
    settings: Settings, sessions: sessionmaker[Session], who: Recipient
) -> None:
    doi, local = stored(
        sessions,
        arxiv_paper(paper_id="doi:10.1145/3292500.3330701", title="By DOI", abs_url=None),
        arxiv_paper(paper_id="local:0123456789abcdef", title="From a file", abs_url=None),
    )
    queue_digest(sessions, who, [doi, local])
    async with web_client(settings, sessions) as web:
        answer = await web.get(link_path(links(settings).feed(who)))
    entries = {
        e.findtext(f"{ATOM}title"): e for e in ET.fromstring(answer.content).findall(f"{ATOM}entry")
    }
    link = entries["By DOI"].find(f"{ATOM}link")
    assert link is not None
    assert link.get("href") == "https://doi.org/10.1145/3292500.3330701"
    # No page to link to: the entry carries its text instead (Atom wants one or the other).
    assert entries["From a file"].find(f"{ATOM}link") is None
    assert "arxiv.org" not in answer.text
    assert entries["From a file"].findtext(f"{ATOM}content")


async def test_every_paper_of_a_digest_has_working_feedback_links(
    settings: Settings, sessions: sessionmaker[Session], who: Recipient
) -> None:
    """From the rendered digest (the browser copy renders as the mail does) to the stored
    example: papers from files get "more / less like this" too, and their own page link."""
    ids = ["2508.13167", "doi:10.1145/3292500.3330701", "url:https://x.org/f?id=1&v=2",
           "local:0123456789abcdef"]  # fmt: skip
    papers = stored(
        sessions,
        *(arxiv_paper(paper_id=i, title=f"Paper {n}", abs_url=None) for n, i in enumerate(ids)),
    )
    queue_digest(sessions, who, papers)
    async with web_client(settings, sessions) as web:
        view = await web.get(link_path(links(settings).view(who, DAY)))
        document = lxml.html.fromstring(view.text)
        more = document.xpath("//a[text()='More like this']/@href")
        less = document.xpath("//a[text()='Less like this']/@href")
        assert len(more) == len(less) == len(ids)
        titles = document.xpath("//h2//a/@href")
        for link in more:
            page = await web.get(link_path(link))
            action = lxml.html.fromstring(page.text).xpath("string(//form/@action)")
            assert (await web.post(action, data={"csrf_token": csrf_of(page)})).status_code == 200
    assert to_profile(subscriber_row(sessions, "ada@example.org").profile).seed_papers == tuple(ids)
    assert titles == [
        "https://arxiv.org/abs/2508.13167",
        "https://doi.org/10.1145/3292500.3330701",
        "https://x.org/f?id=1&v=2",
    ]  # the local paper has no page: its title is not a link
