"""The semantic path with the packaged all-MiniLM-L6-v2 (offline), and the vector caches."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pytest
from sqlalchemy.orm import Session, sessionmaker

from newsletter.db.embeddings import DbEmbeddingCache
from newsletter.domain import Paper
from newsletter.matching.profile import build_profile
from newsletter.matching.ranker import Ranker, Weights
from newsletter.matching.semantic import (
    WINDOW_WORDS,
    Embedder,
    MemoryEmbeddingCache,
    Vectors,
    cache_key,
    paper_sentences,
    paper_vectors,
    paper_windows,
    sentence_vectors,
)
from newsletter.sources.files import parse_file_bytes
from tests.conftest import read_data

LISTING = "arxiv_listing_atom_cs.AI_2025-08-20.xml"


@pytest.fixture(scope="module")
def listing() -> list[Paper]:
    return parse_file_bytes(read_data(LISTING), what=LISTING).papers


class CountingEmbedder:
    """Wraps a real embedder and counts the texts it was asked to embed."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.name = inner.name
        self.texts = 0

    def embed(self, texts: Sequence[str]) -> Vectors:
        self.texts += len(texts)
        return self.inner.embed(texts)


def test_packaged_model_gives_normalised_vectors(embedder: Embedder) -> None:
    vectors = embedder.embed(["mixture of experts", "coral reefs"])
    assert vectors.shape == (2, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)


def test_meaning_beyond_shared_words(
    listing: list[Paper], embedder: Embedder, embedding_cache: MemoryEmbeddingCache
) -> None:
    profile = build_profile(description="automating the work of electronics engineers on chips")
    ranker = Ranker(
        listing, embedder=embedder, cache=embedding_cache, weights=Weights(min_score=-1)
    )
    top = ranker.rank(profile, limit=3)
    assert [("cs.AR" in m.paper.categories) for m in top] == [True, True, True]
    assert all(any(line.startswith("close to your interest") for line in m.why) for m in top)
    assert all(any(line.startswith("it says: ") for line in m.why) for m in top)


def test_paper_vectors_are_computed_once(
    listing: list[Paper], embedder: Embedder, embedding_cache: MemoryEmbeddingCache
) -> None:
    counting = CountingEmbedder(embedder)
    cache = MemoryEmbeddingCache()
    Ranker(listing[:10], embedder=counting, cache=cache)
    first = counting.texts
    Ranker(listing[:12], embedder=counting, cache=cache)
    # each paper as its windows (a long abstract is read whole), then only the 2 new ones
    assert first == sum(len(paper_windows(p)) for p in listing[:10])
    assert counting.texts == first + sum(len(paper_windows(p)) for p in listing[10:12])


def test_new_version_text_is_embedded_again(listing: list[Paper]) -> None:
    revised = replace(listing[0], abstract=listing[0].abstract + " Revised.")
    assert cache_key(revised) != cache_key(listing[0])
    assert cache_key(revised).startswith(f"w:{listing[0].id}:")
    assert cache_key(revised, "s").startswith(f"s:{listing[0].id}:")


def test_long_abstracts_are_read_whole() -> None:
    sentence = "We study the alignment of sentence embeddings with long scientific abstracts. "
    long = Paper(id="2501.00001", title="A long one", abstract=sentence * 30, sources=())
    windows = paper_windows(long)
    assert len(windows) > 1
    assert all(w.startswith("A long one. ") for w in windows)
    assert all(len(w.split()) <= WINDOW_WORDS + 12 for w in windows)
    assert (
        "".join(w.removeprefix("A long one. ") + " " for w in windows).split()
        == (sentence * 30).split()
    )
    short = Paper(id="2501.00002", title="Short", abstract="One sentence only.", sources=())
    assert paper_windows(short) == ["Short. One sentence only."]


def test_liked_and_disliked_examples(
    listing: list[Paper], embedder: Embedder, embedding_cache: MemoryEmbeddingCache
) -> None:
    ranker = Ranker(
        listing, embedder=embedder, cache=embedding_cache, weights=Weights(min_score=-1)
    )
    verilog = next(p for p in listing if p.title.startswith("EvoVerilog"))
    liked = ranker.rank(build_profile(seed_papers=[verilog.id]), limit=6)
    assert verilog.id not in [m.paper.id for m in liked]  # never ranked itself
    assert sum("cs.AR" in m.paper.categories for m in liked) >= 2  # 7 of the 86 are cs.AR
    assert all(m.why[0].startswith("like a paper you liked: ") for m in liked)
    base = build_profile(description="large language models for code generation")
    first = ranker.rank(base, limit=1)[0].paper
    disliked = ranker.rank(build_profile(description=base.description, disliked_papers=[first.id]))
    assert disliked[0].paper.id != first.id


def test_hybrid_is_deterministic_across_chunks(
    listing: list[Paper], embedder: Embedder, embedding_cache: MemoryEmbeddingCache
) -> None:
    ranker = Ranker(listing, embedder=embedder, cache=embedding_cache)
    profiles = [
        build_profile(description=d)
        for d in ("agents", "finance", "hardware design", "medical AI", "knowledge graphs")
    ]
    one = [m for _, m in ranker.rank_many(enumerate(profiles), chunk_size=1)]
    five = [m for _, m in ranker.rank_many(enumerate(profiles), chunk_size=5)]
    assert [[x.paper.id for x in r] for r in one] == [[x.paper.id for x in r] for r in five]


def test_database_embedding_cache(any_sessions: sessionmaker[Session]) -> None:
    cache = DbEmbeddingCache(any_sessions)
    vectors = {"2508.1:abc": np.arange(4, dtype=np.float32), "2508.2:def": np.ones(4, np.float32)}
    cache.put_many("model-a", vectors)
    cache.put_many("model-a", vectors)  # a second worker storing the same is harmless
    found = cache.get_many("model-a", ["2508.1:abc", "2508.2:def", "2508.3:zzz"])
    assert set(found) == {"2508.1:abc", "2508.2:def"}
    assert np.array_equal(found["2508.1:abc"], vectors["2508.1:abc"])
    assert cache.get_many("model-b", ["2508.1:abc"]) == {}


def test_vectors_come_back_from_the_database_cache(
    listing: list[Paper], embedder: Embedder, sessions: sessionmaker[Session]
) -> None:
    cache = DbEmbeddingCache(sessions)
    counting = CountingEmbedder(embedder)
    first = paper_vectors(listing[:5], embedder=counting, cache=cache)
    again = paper_vectors(listing[:5], embedder=counting, cache=cache)
    assert counting.texts == sum(len(paper_windows(p)) for p in listing[:5])
    sentences = sentence_vectors(listing[:2], embedder=counting, cache=cache, dimensions=384)
    assert [len(s) for s in sentences] == [len(paper_sentences(p)) for p in listing[:2]]
    before = counting.texts
    again_sentences = sentence_vectors(listing[:2], embedder=counting, cache=cache, dimensions=384)
    assert counting.texts == before
    assert all(np.array_equal(a, b) for a, b in zip(sentences, again_sentences, strict=True))
    assert np.array_equal(first, again)


def test_without_the_extra_ranking_is_lexical_and_says_so_once() -> None:
    code = (
        "import sys, logging; sys.modules['sentence_transformers'] = None\n"
        "logging.basicConfig(level=logging.WARNING)\n"
        "from newsletter.matching.embedding import load_embedder\n"
        "assert load_embedder('all-MiniLM-L6-v2') is None\n"
        "assert load_embedder('all-MiniLM-L6-v2') is None\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stderr.count("semantic matching is off") == 1


def test_profile_facets_are_embedded_once(listing: list[Paper], embedder: Embedder) -> None:
    counting = CountingEmbedder(embedder)
    cache = MemoryEmbeddingCache()
    ranker = Ranker(listing[:5], embedder=counting, cache=cache, profile_cache=cache)
    papers = counting.texts
    profile = build_profile(description="agents", keywords=["planning", "tool use"])

    def rank(p: object) -> None:
        list(ranker.rank_many([(0, p)], explain_matches=False))

    rank(profile)
    after_first = counting.texts
    rank(profile)
    rank(build_profile(description="agents", keywords=["planning"]))
    assert after_first == papers + 4  # the whole text, description and 2 keywords
    assert counting.texts == after_first + 1  # only the new whole text "agents. planning"
