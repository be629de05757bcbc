"""The per-reader learning API the service calls, with the packaged all-MiniLM-L6-v2: a model
fitted from a reader's papers (library entries outside any day's pool included), carried by
profiles through `rank`/`rank_many`, and explained by the reader's own papers."""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np
import pytest

from newsletter.domain import InterestProfile, Match, Paper, Source
from newsletter.matching.learning.examples import fit_for_profile
from newsletter.matching.learning.model import LearningSettings, ModelFormatError, ReaderModel
from newsletter.matching.ranker import Ranker
from newsletter.matching.semantic import Embedder, MemoryEmbeddingCache
from newsletter.sources.files import parse_file_bytes
from tests.conftest import read_data

LISTING = "arxiv_listing_atom_cs.AI_2025-08-20.xml"
PROFILE = InterestProfile(description="large language model agents")
# The reader's taste the profile does not say: chip and circuit design.
CIRCUITS = ("2508.13156", "2508.13157", "2508.13161", "2508.13172")
HELD_OUT = "2508.13257"  # ViTAD: debugging RTL code with LLMs (not an example)
PROMPT_INJECTION = ("2508.13214", "2508.13246")


@pytest.fixture(scope="module")
def listing() -> list[Paper]:
    return parse_file_bytes(read_data(LISTING), what=LISTING).papers


def by_id(papers: list[Paper], ids: tuple[str, ...]) -> list[Paper]:
    found = {p.id: p for p in papers}
    return [found[i] for i in ids]


def library_entry(title: str, abstract: str) -> Paper:
    """A library paper in no day's pool, as an import would make it."""
    return Paper(
        id=f"local:{abs(hash(title)) % 10**8}",
        title=title,
        abstract=abstract,
        sources=(Source.JSON_LINES,),
    )


@pytest.fixture(scope="module")
def cache(embedding_cache: MemoryEmbeddingCache) -> MemoryEmbeddingCache:
    """The session's cache: the listing is embedded once for all the tests."""
    return embedding_cache


@pytest.fixture(scope="module")
def model(listing: list[Paper], embedder: Embedder, cache: MemoryEmbeddingCache) -> ReaderModel:
    liked = by_id(listing, CIRCUITS)
    disliked = by_id(listing, PROMPT_INJECTION)
    pool = [p for p in listing if p.id not in {*CIRCUITS, *PROMPT_INJECTION}]
    return fit_for_profile(
        PROFILE, liked, disliked, embedder=embedder, cache=cache, background=pool
    )


def position(matches: list[Match], paper_id: str) -> int:
    return [m.paper.id for m in matches].index(paper_id)


def test_examples_move_their_kind_up_and_name_themselves(
    listing: list[Paper], embedder: Embedder, cache: MemoryEmbeddingCache, model: ReaderModel
) -> None:
    ranker = Ranker(listing, embedder=embedder, cache=cache)
    everything = len(listing)
    plain = ranker.rank(PROFILE, limit=everything)
    ranker.weights = replace(ranker.weights, min_score=0.0)
    before = ranker.rank(PROFILE, limit=everything)
    after = ranker.rank(PROFILE, limit=everything, model=model)
    assert position(after, HELD_OUT) < position(before, HELD_OUT) - 5
    for disliked in PROMPT_INJECTION:
        assert position(after, disliked) > position(before, disliked)
    ranked = {m.paper.id: m for m in after}
    why = ranked[HELD_OUT].why[0]
    assert why.startswith("like papers you marked as relevant: ")
    titles = {p.title for p in by_id(listing, CIRCUITS)}
    assert sum(f'"{t[:40]}' in why for t in titles) == 2
    # A liked example in the day's pool is never named as its own reason.
    own = ranked[CIRCUITS[0]].why
    assert not any(by_id(listing, CIRCUITS[:1])[0].title[:40] in line for line in own)
    assert plain  # the global digest itself is not empty on this listing


def test_the_model_decides_inclusion_under_the_same_threshold(
    listing: list[Paper], embedder: Embedder, cache: MemoryEmbeddingCache, model: ReaderModel
) -> None:
    ranker = Ranker(listing, embedder=embedder, cache=cache)
    threshold = ranker.weights.min_score
    before = ranker.rank(PROFILE, limit=30)
    after = ranker.rank(PROFILE, limit=30, model=model.to_bytes())
    ranker.weights = replace(ranker.weights, min_score=0.0)
    learned = ranker.rank(PROFILE, limit=len(listing), model=model)
    over = [m.paper.id for m in learned if m.score >= threshold][:30]
    assert [m.paper.id for m in after] == over
    assert {m.paper.id for m in after} != {m.paper.id for m in before}


def test_batches_mix_models_bytes_none_and_damaged_bytes(
    listing: list[Paper],
    embedder: Embedder,
    cache: MemoryEmbeddingCache,
    model: ReaderModel,
    caplog: pytest.LogCaptureFixture,
) -> None:
    ranker = Ranker(listing, embedder=embedder, cache=cache)
    profiles = [
        ("object", PROFILE),
        ("bytes", PROFILE),
        ("none", PROFILE),
        ("damaged", PROFILE),
        ("other", InterestProfile(keywords=("chess",))),
    ]
    given = {"object": model, "bytes": model.to_bytes(), "damaged": model.to_bytes()[:100]}
    with caplog.at_level(logging.WARNING):
        together = dict(ranker.rank_many(profiles, limit=8, chunk_size=2, models=given.get))
    assert "a reader's model was ignored" in caplog.text
    alone = {key: ranker.rank(p, limit=8, model=given.get(key)) for key, p in profiles}
    assert together == alone
    assert together["object"] == together["bytes"]
    assert together["none"] == together["damaged"] == ranker.rank(PROFILE, limit=8)
    assert together["object"] != together["none"]


def test_a_model_without_examples_is_the_global_ranking(
    listing: list[Paper], embedder: Embedder, cache: MemoryEmbeddingCache
) -> None:
    neutral = fit_for_profile(PROFILE, [], embedder=embedder, cache=cache, background=listing)
    assert neutral.to_bytes() == ReaderModel.neutral(384).to_bytes()
    ranker = Ranker(listing, embedder=embedder, cache=cache)
    assert ranker.rank(PROFILE, limit=10, model=neutral) == ranker.rank(PROFILE, limit=10)


def test_library_papers_outside_the_pool_and_liked_seeds_still_teach(
    listing: list[Paper], embedder: Embedder, cache: MemoryEmbeddingCache
) -> None:
    library = [
        library_entry(
            "Automated placement and routing of analog integrated circuits",
            "We place and route transistor-level analog circuit layouts with a learned cost model.",
        ),
        library_entry(
            "Timing closure for FPGA designs with graph neural networks",
            "Static timing analysis of register-transfer level designs predicted by a GNN.",
        ),
    ]
    # The same papers as the profile's liked papers: each example's prior leaves itself out,
    # so the model still learns from them (a prior of "certainly relevant" would teach nothing).
    seeded = replace(PROFILE, seed_papers=tuple(p.id for p in library))
    fits = {
        name: fit_for_profile(p, library, embedder=embedder, cache=cache, background=listing)
        for name, p in (("plain", PROFILE), ("seeded", seeded))
    }
    for fitted in fits.values():
        assert fitted.pulls.min() > 1.0
        assert [note.title for note in fitted.examples] == [p.title for p in library]
        again = ReaderModel.from_bytes(fitted.to_bytes())
        assert again.examples == fitted.examples
    ranker = Ranker(listing, embedder=embedder, cache=cache)
    ranker.weights = replace(ranker.weights, min_score=0.0)
    before = ranker.rank(PROFILE, limit=len(listing))
    after = ranker.rank(PROFILE, limit=len(listing), model=fits["plain"])
    assert position(after, HELD_OUT) < position(before, HELD_OUT)


def test_refitting_the_same_examples_gives_the_same_bytes(
    listing: list[Paper], embedder: Embedder, cache: MemoryEmbeddingCache
) -> None:
    liked = by_id(listing, CIRCUITS)
    blobs = {
        fit_for_profile(
            PROFILE, liked, embedder=embedder, cache=cache, background=listing,
            settings=LearningSettings(unlabelled_weight=0.1),
        ).to_bytes()
        for _ in range(2)
    }  # fmt: skip
    assert len(blobs) == 1


def test_bad_examples_are_refused_with_a_reason(
    listing: list[Paper], embedder: Embedder, cache: MemoryEmbeddingCache
) -> None:
    with pytest.raises(ValueError, match=r"both liked and disliked: 2508\.13156"):
        fit_for_profile(
            PROFILE, listing[:1] + by_id(listing, CIRCUITS[:1]), by_id(listing, CIRCUITS[:1]),
            embedder=embedder, cache=cache, background=listing,
        )  # fmt: skip
    with pytest.raises(ValueError, match="recent papers"):
        fit_for_profile(PROFILE, listing[:2], embedder=embedder, cache=cache, background=[])


def test_version_1_models_still_score_and_damaged_notes_are_refused(model: ReaderModel) -> None:
    blob = model.to_bytes()
    numbers = 20 + 4 * (2 * model.dimensions + len(model.pulls))
    version_1 = blob[:4] + (1).to_bytes(2, "little") + blob[6:numbers]
    old = ReaderModel.from_bytes(version_1)
    assert old.examples == ()
    vectors = np.eye(model.dimensions, dtype=np.float32)[:5]
    assert np.array_equal(old.logits(vectors, np.zeros(5)), model.logits(vectors, np.zeros(5)))
    with pytest.raises(ModelFormatError, match="notes"):
        ReaderModel.from_bytes(blob[:-3])
    assert ReaderModel.from_bytes(blob[:-3], notes=False).examples == ()
