"""Rate to begin, learning from votes and "what was learned", ASGI-driven on real SQLite with
the packaged all-MiniLM-L6-v2 and the recorded arXiv cs.AI day of 20 August 2025: after
confirming (a library sent with the subscribe form is learned from), the rating page offers
papers worth rating, each rating refits the model and the page says what changed; digest
votes refit too; the learned page names the examples that pushed a digest's papers up; reset
forgets the votes."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from newsletter.config import Settings
from newsletter.db.embeddings import DbEmbeddingCache
from newsletter.db.examples import model_bytes, topic_model, votes_of
from newsletter.db.models import PaperEmbeddingRow, VoteRow
from newsletter.db.papers import store_papers
from newsletter.db.subscriber_rows import find
from newsletter.db.topics import topics_of
from newsletter.domain import InterestProfile, Paper, Status
from newsletter.matching.learning.model import ReaderModel
from newsletter.matching.semantic import (
    Embedder,
    MemoryEmbeddingCache,
    Vectors,
    cache_key,
    paper_vectors,
    sentence_vectors,
)
from newsletter.sources.arxiv_listing import parse_listing
from tests.conftest import read_data
from tests.support.web_support import (
    RecordingMailer,
    csrf_for,
    csrf_of,
    link_path,
    links,
    queue_digest,
    snapshot,
    subscriber,
    web_client,
)

pytestmark = pytest.mark.anyio
# Papers the reader knows (the library file): agents built from language models.
LIBRARY = b"""@misc{coa, title={Chain-of-Agents: End-to-End Agent Foundation Models via
  Multi-Agent Distillation}, eprint={2508.13167}, archivePrefix={arXiv},
  abstract={Multi-agent systems built on large language models solve complex problems.}}
@article{react, title={ReAct: Synergizing Reasoning and Acting in Language Models},
  author={Yao, Shunyu and Zhao, Jeffrey}, year={2023},
  abstract={Language models interleave reasoning traces and task-specific actions.}}
@article{toolformer, title={Toolformer: Language Models Can Teach Themselves to Use Tools},
  year={2023}, abstract={Language models learn to call external tools through APIs.}}
"""


def day_papers() -> list[Paper]:
    return parse_listing(read_data("arxiv_listing_atom_cs.AI_2025-08-20.xml")).papers


@pytest.fixture
def papers(sessions: sessionmaker[Session]) -> list[Paper]:
    found = day_papers()
    with sessions.begin() as session:
        store_papers(session, found, now=datetime(2025, 8, 20, tzinfo=UTC))
    return found


@pytest.fixture
def day_vectors(embedder: Embedder, embedding_cache: MemoryEmbeddingCache) -> dict[str, Vectors]:
    """The day's paper and sentence vectors, through the session's cache (the matching
    tests embed the same day): embedded once for the whole run."""
    found = day_papers()
    vectors = paper_vectors(found, embedder=embedder, cache=embedding_cache)
    sentence_vectors(found, embedder=embedder, cache=embedding_cache, dimensions=vectors.shape[1])
    keys = [cache_key(p, kind) for p in found for kind in ("w", "s")]
    return embedding_cache.get_many(embedder.name, keys)


@pytest.fixture
def embedded(
    sessions: sessionmaker[Session],
    papers: list[Paper],
    day_vectors: dict[str, Vectors],
    embedder: Embedder,
) -> list[Paper]:
    """The day's papers stored with their vectors, as after a digest run: the service's
    embedding cache already holds the day."""
    DbEmbeddingCache(sessions).put_many(embedder.name, day_vectors)
    return papers


def without_cache(rows: list[tuple[object, ...]]) -> list[tuple[object, ...]]:
    """A snapshot without the embedding cache (pages may fill it: it is not state)."""
    return [row for row in rows if row[0] != PaperEmbeddingRow.__tablename__]


def ratable(page: str) -> list[str]:
    return re.findall(r'<input type="hidden" name="paper" value="([^"]+)">', page)


async def test_subscribe_with_a_library_confirm_and_rate_ten_papers(
    settings: Settings, sessions: sessionmaker[Session], embedded: list[Paper], embedder: Embedder
) -> None:
    mailer = RecordingMailer()
    async with web_client(settings, sessions, mailer=mailer, learning_embedder=embedder) as web:
        home = await web.get("/")
        await web.post(
            "/",
            data={"email": "ada@example.org", "description": "LLM agents that use tools",
                  "send_hour": "7", "frequency": "daily", "send_weekday": "0",
                  "csrf_token": csrf_of(home)},
            files={"library": ("mine.bib", LIBRARY, "application/x-bibtex")},
        )  # fmt: skip
        with sessions() as session:
            row = find(session, "ada@example.org")
            assert row is not None
            assert row.profile is not None
            topic = row.profile.id
            assert model_bytes(session, topic) is None  # not learned before confirming
        confirm = link_path(re.findall(r"http://localhost:8000(/confirm/\S+)", mailer.sent[0][1]
                                       .text)[0])  # fmt: skip
        page = await web.get(confirm)
        subscribed = await web.post(confirm, data={"csrf_token": csrf_of(page)})
        assert subscribed.status_code == 200
        assert f'href="{confirm}/rate"' in subscribed.text
        assert "/preferences/" not in subscribed.text  # the confirmation link's scope only
        with sessions() as session:
            fitted = topic_model(session, topic)
            assert fitted is not None
            assert fitted.model is not None
            assert fitted.examples == 3
        before = without_cache(snapshot(sessions))
        rate = await web.get(f"{confirm}/rate")
        assert without_cache(snapshot(sessions)) == before  # GET changes nothing
        assert rate.status_code == 200
        assert "/preferences/" not in rate.text
        offered = ratable(rate.text)
        assert len(offered) == 10
        assert len(set(offered)) == 10
        assert "2508.13167" not in offered  # in the library: already judged
        for number, paper in enumerate(offered[:10], start=1):
            vote = "relevant" if number % 3 else "not-relevant"
            rate = await web.post(
                f"{confirm}/rate",
                data={
                    "paper": paper,
                    "vote": vote,
                    "csrf_token": csrf_for(rate, f"{confirm}/rate"),
                },
            )
            assert rate.status_code == 200
            assert "Noted:" in rate.text
            assert "would now be in this topic" in rate.text
            assert paper not in ratable(rate.text)  # never offered twice
        assert "You have rated 10 papers for this topic." in rate.text
    with sessions() as session:
        votes = votes_of(session, topic)
        assert len(votes) == 10
        assert {v.source for v in votes} == {"rating"}
        stored = model_bytes(session, topic)
        assert stored is not None
        assert len(ReaderModel.from_bytes(stored).pulls) == 13  # 3 papers + 10 ratings


async def test_the_rating_page_waits_for_the_confirmation(
    settings: Settings, sessions: sessionmaker[Session], papers: list[Paper]
) -> None:
    who = subscriber(sessions, status=Status.PENDING)
    confirm = link_path(links(settings).confirm(who))
    async with web_client(settings, sessions) as web:
        answer = await web.get(f"{confirm}/rate")
    assert answer.status_code == 409
    assert "Confirm your subscription first" in answer.text


async def test_without_semantic_matching_ratings_are_kept_and_the_page_says_so(
    settings: Settings, sessions: sessionmaker[Session], papers: list[Paper]
) -> None:
    who = subscriber(sessions, profile=InterestProfile(keywords=("agents",)))
    path = link_path(links(settings).preferences(who))
    with sessions() as session:
        topic = topics_of(session, who.subscriber_id)[0].id
    async with web_client(settings, sessions) as web:  # no learning embedder
        page = await web.get(f"{path}/topics/{topic}/rate")
        offered = ratable(page.text)
        assert len(offered) == 10
        action = f"{path}/topics/{topic}/rate"
        rated = await web.post(
            action,
            data={"paper": offered[0], "vote": "relevant", "csrf_token": csrf_for(page, action)},
        )
    assert rated.status_code == 200
    assert "from examples needs semantic matching" in rated.text
    assert f'href="{path}/topics/{topic}"' in rated.text  # the way back to the topic
    with sessions() as session:
        assert [v.paper_id for v in votes_of(session, topic)] == [offered[0]]
        assert model_bytes(session, topic) is None


@pytest.mark.parametrize(
    "form",
    [{}, {"paper": "2508.13167"}, {"paper": "2508.13167", "vote": "maybe"},
     {"paper": "9999.99999", "vote": "relevant"}, {"paper": "x" * 300, "vote": "relevant"}],
)  # fmt: skip
async def test_an_edited_rating_form_changes_nothing(
    settings: Settings, sessions: sessionmaker[Session], papers: list[Paper], form: dict[str, str]
) -> None:
    who = subscriber(sessions)
    path = link_path(links(settings).preferences(who))
    with sessions() as session:
        topic = topics_of(session, who.subscriber_id)[0].id
    action = f"{path}/topics/{topic}/rate"
    async with web_client(settings, sessions) as web:
        page = await web.get(action)
        before = snapshot(sessions)
        answer = await web.post(action, data={**form, "csrf_token": csrf_for(page, action)})
        assert snapshot(sessions) == before
    assert answer.status_code in (400, 404)


async def test_digest_votes_refit_and_the_learned_page_says_why(
    settings: Settings, sessions: sessionmaker[Session], embedded: list[Paper], embedder: Embedder
) -> None:
    who = subscriber(sessions, profile=InterestProfile(description="reinforcement learning"))
    by_id = {p.id: p for p in embedded}
    queue_digest(sessions, who, [by_id["2508.13530"], by_id["2508.13213"]])
    made = links(settings)
    feedback = link_path(made.feedback(who))
    path = link_path(made.preferences(who))
    with sessions() as session:
        topic = topics_of(session, who.subscriber_id)[0].id
    async with web_client(settings, sessions, learning_embedder=embedder) as web:
        for paper, vote in (("2508.13530", "more"), ("2508.13251", "more"),
                            ("2508.13213", "less")):  # fmt: skip
            page = await web.get(f"{feedback}?paper={paper}&vote={vote}")
            sent = await web.post(
                f"{feedback}?paper={paper}&vote={vote}", data={"csrf_token": csrf_of(page)}
            )
            assert sent.status_code == 200
        with sessions() as session:
            assert {(v.paper_id, v.liked, v.source) for v in votes_of(session, topic)} == {
                ("2508.13530", True, "digest"), ("2508.13251", True, "digest"),
                ("2508.13213", False, "digest"),
            }  # fmt: skip
            stored = topic_model(session, topic)
            assert stored is not None
            assert stored.examples == 3
            assert stored.model is not None
        before = without_cache(snapshot(sessions))
        learned = await web.get(f"{path}/topics/{topic}/learned")
        assert without_cache(snapshot(sessions)) == before
        text = learned.text.replace("&#34;", '"').replace("&#39;", "'")
        assert learned.status_code == 200
        assert "Votes and ratings (3)" in text
        assert "fitted on 3 examples" in text
        # The embodied-agents suite is one of the liked papers: it is its own reason, never
        # named for itself; the chess paper was voted down, nothing of it pushes up.
        assert "CrafterDojo" in text
        assert "Why am I getting this?" in text
        reset = await web.post(
            f"{path}/topics/{topic}/learned/reset",
            data={"csrf_token": csrf_for(learned, f"{path}/topics/{topic}/learned/reset")},
        )
        assert reset.headers["location"].endswith("/learned?done=reset")
    with sessions() as session:
        assert session.scalars(select(VoteRow)).all() == []
        assert topic_model(session, topic) is None
        row = find(session, "ada@example.org")
        assert row is not None
        assert row.profile is not None
        assert row.profile.seed_papers == []
        assert row.profile.disliked_papers == []
        assert row.profile.description == "reinforcement learning"
