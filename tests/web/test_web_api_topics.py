"""The JSON API for topics, libraries, votes and what was learned, on SQLite and PostgreSQL
(lexical ranking: the model itself is tested with the embedder in test_web_rating)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from newsletter.db.examples import votes_of
from newsletter.db.papers import store_papers
from newsletter.library import read_library
from newsletter.sources.arxiv_listing import parse_listing
from tests.conftest import DATA, read_data
from tests.support.web_support import (
    Database,
    links,
    queue_digest,
    snapshot,
    subscriber,
    web_client,
)

pytestmark = pytest.mark.anyio


def token(url: str) -> str:
    return url.rsplit("/", 1)[1]


def topic(name: str, **fields: Any) -> dict[str, Any]:
    return {"name": name, "description": f"papers about {name.lower()}", **fields}


async def test_topics_are_listed_added_changed_reordered_and_deleted(database: Database) -> None:
    who = subscriber(database.sessions)
    base = "/api/preferences/" + token(links(database.settings).preferences(who)) + "/topics"
    async with web_client(database.settings, database.sessions) as web:
        (first,) = (await web.get(base)).json()
        assert (first["name"], first["position"], first["library"]) == ("My interests", 0, 0)
        assert first["profile"]["keywords"] == ["language models"]
        added = await web.post(base, json=topic("Robots", keywords=["locomotion"]))
        assert added.status_code == 201
        robots = added.json()
        assert (robots["name"], robots["position"]) == ("Robots", 1)
        assert robots["profile"]["keywords"] == ["locomotion"]
        changed = await web.put(
            f"{base}/{robots['id']}", json=topic("Legged robots", categories=["cs.RO"])
        )
        assert changed.json()["profile"]["categories"] == ["cs.RO"]
        assert (await web.get(f"{base}/{robots['id']}")).json() == changed.json()
        order = await web.put(base, json={"order": [robots["id"], first["id"]]})
        assert [t["name"] for t in order.json()] == ["Legged robots", "My interests"]
        preferences = await web.get(base.removesuffix("/topics"))
        assert preferences.json()["profile"]["categories"] == ["cs.RO"]  # the first topic
        assert [t["name"] for t in preferences.json()["topics"]] == ["Legged robots",
                                                                     "My interests"]  # fmt: skip
        assert (await web.delete(f"{base}/{robots['id']}")).status_code == 204
        last = await web.delete(f"{base}/{first['id']}")
        assert last.status_code == 409
        assert "only topic" in last.json()["detail"]
        assert [t["id"] for t in (await web.get(base)).json()] == [first["id"]]


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        (topic("My Interests"), "name", "already have a topic named"),
        (topic(" "), "name", "needs a name"),
        (topic("x" * 81), "name", "at most 80 characters"),
        (topic("Empty", description=""), "profile", "the profile is empty"),
        (topic("Cats", categories=["cs.FOO"]), "profile", "not arXiv categories"),
        (topic("Extra", paused=True), "body", "unknown field"),
    ],
)
async def test_a_topic_the_rules_refuse_gets_its_problem_by_field(
    database: Database, body: dict[str, Any], field: str, message: str
) -> None:
    who = subscriber(database.sessions)
    base = "/api/preferences/" + token(links(database.settings).preferences(who)) + "/topics"
    async with web_client(database.settings, database.sessions) as web:
        before = snapshot(database.sessions)
        answer = await web.post(base, json=body)
        assert snapshot(database.sessions) == before
    assert answer.status_code == 422
    assert message in answer.json()["problems"][field]


async def test_topic_ids_of_another_subscriber_or_none_are_not_found(database: Database) -> None:
    ada = subscriber(database.sessions)
    bob = subscriber(database.sessions, "bob@example.org")
    made = links(database.settings)
    async with web_client(database.settings, database.sessions) as web:
        (bobs,) = (await web.get(f"/api/preferences/{token(made.preferences(bob))}/topics")).json()
        base = f"/api/preferences/{token(made.preferences(ada))}/topics"
        for path in (f"{base}/{bobs['id']}", f"{base}/{bobs['id']}/learned", f"{base}/0",
                     f"{base}/99999999999", f"{base}/x"):  # fmt: skip
            answer = await web.get(path)
            assert answer.status_code in (404, 422), path
            assert set(answer.json()) == {"detail", "problems"}
        reorder = await web.put(base, json={"order": [bobs["id"]]})
        assert reorder.status_code == 422


async def test_a_library_vote_learned_and_reset_through_the_api(database: Database) -> None:
    who = subscriber(database.sessions)
    papers = parse_listing(read_data("arxiv_listing_atom_cs.AI_2025-08-20.xml")).papers
    with database.sessions.begin() as session:
        store_papers(session, papers, now=datetime(2025, 8, 20, tzinfo=UTC))
    queue_digest(database.sessions, who, papers[:2])
    base = "/api/preferences/" + token(links(database.settings).preferences(who)) + "/topics"
    bib = (DATA / "library" / "zotero_quirks.bib").read_text()
    read = read_library(bib.encode(), filename="zotero_quirks.bib")
    async with web_client(database.settings, database.sessions) as web:
        (first,) = (await web.get(base)).json()
        path = f"{base}/{first['id']}"
        imported = await web.post(f"{path}/library", json={"filename": "mine.bib", "content": bib})
        report = imported.json()
        assert report["imported"] == len(read.entries)
        assert [p["line"] for p in report["problems"]] == [p.line for p in read.problems]
        assert report["learned"] is False
        assert "semantic matching" in report["not_learned_because"]
        unreadable = await web.post(f"{path}/library", json={"content": "%PDF-1.4 binary"})
        assert unreadable.status_code == 422
        assert "this is a PDF document" in unreadable.json()["problems"]["content"]
        offered = (await web.get(f"{path}/to-rate")).json()
        assert len(offered) == 10
        voted = await web.post(f"{path}/votes", json={"paper": offered[0]["id"], "vote": "less"})
        assert voted.status_code == 200
        answer = voted.json()
        assert (answer["paper"], answer["liked"], answer["day"]) == (
            offered[0]["id"], False, "2025-08-20",
        )  # fmt: skip
        assert offered[0]["id"] not in [p["id"] for p in (await web.get(f"{path}/to-rate")).json()]
        unknown = await web.post(f"{path}/votes", json={"paper": "1111.11111", "vote": "more"})
        assert unknown.status_code == 404
        learned = (await web.get(f"{path}/learned")).json()
        assert learned["library_total"] == len(read.entries)
        assert [(v["paper"], v["liked"], v["source"]) for v in learned["votes"]] == [
            (offered[0]["id"], False, "web")
        ]
        assert [p["id"] for p in learned["latest_digest"]["papers"]] == [p.id for p in papers[:2]]
        assert learned["model"]["refit_owed"] is True  # no embedder in this app
        assert (await web.post(f"{path}/reset")).json() == {"votes_removed": 1}
        assert (await web.delete(f"{path}/library")).json() == {"removed": len(read.entries)}
    with database.sessions() as session:
        assert votes_of(session, first["id"]) == []
