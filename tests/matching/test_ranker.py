"""The ranker without embeddings: exclusions, filters, boosts, explanations, determinism."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newsletter.domain import Match, Paper, Source
from newsletter.matching.exclusions import contains_term, excluding_term
from newsletter.matching.profile import build_profile
from newsletter.matching.ranker import Ranker, Weights
from newsletter.matching.text import STOP_WORDS
from newsletter.sources.files import parse_file_bytes
from tests.conftest import read_data

LISTING = "arxiv_listing_atom_cs.AI_2025-08-20.xml"
OPEN = Weights(min_score=-1.0)  # rank everything that the hard rules allow


@pytest.fixture(scope="module")
def listing() -> list[Paper]:
    return parse_file_bytes(read_data(LISTING), what=LISTING).papers


@pytest.fixture(scope="module")
def seeds() -> list[Paper]:
    return parse_file_bytes(read_data("seed_papers.jsonl"), what="seeds").papers


def paper(pid: str, title: str, abstract: str = "An abstract.", **extra: object) -> Paper:
    return Paper(id=pid, title=title, abstract=abstract, sources=(Source.JSON_LINES,), **extra)  # type: ignore[arg-type]


def ids(matches: list[Match]) -> list[str]:
    return [m.paper.id for m in matches]


@pytest.mark.parametrize(
    ("text", "term", "expected"),
    [
        ("A Survey of Large Language Models", "survey", True),
        ("we surveyed 40 labs", "survey", True),
        ("Two SURVEYS of agents", "survey", True),
        ("A surveillance robot", "survey", False),
        ("Case studies in finance", "study", True),
        ("Reinforcement-Learning for agents", "reinforcement learning", True),
        ("reinforcement of learning", "reinforcement learning", False),
        ("Tokenizing text", "tokenize", True),
        ("The agent's memory", "agent", True),
        ("agentic workflows", "agent", False),
        # A mid-word candidate ("backend to end") must not hide the real one after it.
        ("We attach a backend to end-to-end speech recognition.", "end to end", True),
        ("C++ ß", "+ ß", True),
        ("three agents", "agentic", False),
        ("management", "agent", False),
    ],
)
def test_contains_term(text: str, term: str, expected: bool) -> None:
    assert contains_term(text, term) is expected


WORD = st.from_regex(r"\A[a-z]{3,9}\Z").filter(lambda w: w not in STOP_WORDS)
FILLER = st.lists(st.sampled_from(["model", "data", "learning", "graph", "robot"]), max_size=6)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    word=WORD,
    suffix=st.sampled_from(["", "s", "es", "ed", "ing"]),
    case=st.sampled_from([str.lower, str.upper, str.title]),
    where=st.sampled_from(["title", "abstract"]),
    filler=FILLER,
)
def test_excluded_terms_never_leak(
    word: str, suffix: str, case: object, where: str, filler: list[str]
) -> None:
    form = case(word + suffix)  # type: ignore[operator]
    text = " ".join([*filler, f"{form},", *filler])
    tainted = paper(
        "2601.00001",
        text if where == "title" else "A study",
        text if where == "abstract" else "About it.",
    )
    clean = paper("2601.00002", f"{word} without the term", "Nothing excluded here.")
    ranker = Ranker([tainted, clean], weights=OPEN)
    # The profile asks for the very word it excludes: exclusion must still win.
    profile = build_profile(description=f"{word} {' '.join(filler)}", exclude=[word])
    results = ranker.rank(profile, limit=10)
    assert "2601.00001" not in ids(results)
    pattern = re.compile(rf"\b{word}(s|es|ed|ing)?\b", re.IGNORECASE)
    assert not any(pattern.search(f"{m.paper.title} {m.paper.abstract}") for m in results)


def test_exclusion_on_the_listing(listing: list[Paper]) -> None:
    profile = build_profile(description="agents and multi-agent systems", exclude=["financial"])
    results = Ranker(listing, weights=OPEN).rank(profile, limit=86)
    assert results, "something must remain"
    assert all(excluding_term(m.paper, ("financial",)) is None for m in results)
    excluded = [p.id for p in listing if excluding_term(p, ("financial",))]
    assert excluded
    assert not set(excluded) & set(ids(results))


def test_category_filter_is_exact(listing: list[Paper]) -> None:
    profile = build_profile(description="security", categories=["cs.CR"], category_mode="filter")
    results = Ranker(listing, weights=OPEN).rank(profile, limit=100)
    assert sorted(ids(results)) == sorted(p.id for p in listing if "cs.CR" in p.categories)
    assert len(results) == 4


def test_category_only_profile_lists_that_category(listing: list[Paper]) -> None:
    results = Ranker(listing).rank(build_profile(categories=["cs.AR"]), limit=100)
    assert sorted(ids(results)) == sorted(p.id for p in listing if "cs.AR" in p.categories)
    assert all("in cs.AR (a category you chose)" in m.why for m in results)


def test_author_match_ignores_accents_and_case(listing: list[Paper]) -> None:
    by_him = [p.id for p in listing if "Jörg Hoffmann" in p.authors]
    results = Ranker(listing).rank(build_profile(authors=["jorg HOFFMANN"]), limit=100)
    assert ids(results) == by_him == ["2508.13876"]
    assert results[0].why == ("by Jörg Hoffmann (an author you follow)",)
    assert Ranker(listing).rank(build_profile(authors=["Hoffmann"]), limit=100) == []


def test_author_boost_lifts_a_paper(listing: list[Paper]) -> None:
    ranker = Ranker(listing, weights=OPEN)
    plain = build_profile(description="agents for finance and trading")
    assert ids(ranker.rank(plain, limit=86)).index("2508.13876") > 0
    boosted = ranker.rank(replace(plain, authors=("Jörg Hoffmann",)), limit=86)
    assert ids(boosted)[0] == "2508.13876"


def test_phrase_keyword_finds_the_paper(seeds: list[Paper]) -> None:
    results = Ranker(seeds).rank(build_profile(keywords=["mixture of experts"]), limit=3)
    assert results[0].paper.title.startswith("A Comprehensive Survey of Mixture-of-Experts")
    assert 'your keyword "mixture of experts"' in results[0].why
    fields = {"title": results[0].paper.title, "abstract": results[0].paper.abstract}
    shown = {fields[h.field][h.start : h.end].casefold() for h in results[0].highlights}
    assert "mixture-of-experts" in shown


def test_why_names_what_is_in_the_paper(listing: list[Paper]) -> None:
    profile = build_profile(
        description="LLM agents for finance", keywords=["stock market"], categories=["q-fin.CP"]
    )
    results = Ranker(listing).rank(profile, limit=10)
    assert results
    for match in results:
        assert match.why
        text = f"{match.paper.title}\n{match.paper.abstract}".casefold()
        for line in match.why:
            if line.startswith("your keyword "):
                for term in re.findall(r'"([^"]+)"', line):
                    assert term.casefold() in text
            if line.startswith("in "):
                named = line[3:].removesuffix(" (a category you chose)").split(", ")
                assert set(named) <= set(match.paper.categories)
        fields = {"title": match.paper.title, "abstract": match.paper.abstract}
        for h in match.highlights:
            assert fields[h.field][h.start : h.end].strip()


def test_threshold_and_limit(listing: list[Paper]) -> None:
    ranker = Ranker(listing)
    profile = build_profile(description="hardware design, Verilog and analog circuits")
    results = ranker.rank(profile, limit=3)
    assert len(results) == 3
    assert all(m.score >= Weights().min_score for m in results)
    unrelated = build_profile(description="coral reef oceanography")
    assert ranker.rank(unrelated, limit=10) == []


def test_ties_are_broken_by_id() -> None:
    twins = [
        paper(pid, "Graph neural networks", "Graph neural networks.")
        for pid in ("b.2", "a.1", "c.3")
    ]
    results = Ranker(twins, weights=OPEN).rank(build_profile(description="graph neural networks"))
    assert ids(results) == ["a.1", "b.2", "c.3"]
    assert len({m.score for m in results}) == 1


def test_batch_equals_one_by_one_whatever_the_chunk(listing: list[Paper]) -> None:
    ranker = Ranker(listing)
    profiles = [
        build_profile(description=d, exclude=e)
        for d, e in [
            ("agents", ()),
            ("finance and trading", ("survey",)),
            ("chips and circuits", ()),
            ("medical records reasoning", ()),
            ("knowledge graphs", ("llm",)),
        ]
    ]
    single = [ranker.rank(p) for p in profiles]
    for chunk in (1, 2, 5):
        batched = [m for _, m in ranker.rank_many(enumerate(profiles), chunk_size=chunk)]
        assert batched == single
    assert [ranker.rank(p) for p in profiles] == single  # and again: deterministic


def test_seed_paper_pulls_similar_papers(listing: list[Paper]) -> None:
    seed = next(p for p in listing if p.title.startswith("EvoVerilog"))
    profile = build_profile(seed_papers=[seed.id])
    results = Ranker(listing, weights=OPEN).rank(profile, limit=6)
    assert seed.id not in ids(results)  # the liked paper itself is never ranked
    assert any("cs.AR" in m.paper.categories for m in results)
    assert all(m.why[0].startswith("like a paper you liked: ") for m in results)


def test_empty_day_ranks_nothing() -> None:
    assert Ranker([]).rank(build_profile(description="anything")) == []


def test_exclusion_is_found_after_a_match_spanning_two_papers() -> None:
    first = paper("2501.00001", "Speech recognition", "We connect the frontend to")
    second = paper("2501.00002", "End to end speech recognition")
    profile = build_profile(keywords=["speech recognition"], exclude=["end to end"])
    assert ids(Ranker([first, second], weights=OPEN).rank(profile)) == ["2501.00001"]


@pytest.mark.parametrize(
    "extra",
    [
        {"seed_papers": ["2501.09999"]},  # not among the papers
        {"keywords": ["+++"]},
        {"description": "the of and"},
    ],
)
def test_words_that_cannot_match_do_not_hide_categories(extra: dict[str, object]) -> None:
    papers = [paper("2501.00001", "Graph learning", categories=("cs.AI",))]
    profile = build_profile(categories=["cs.AI"], **extra)  # type: ignore[arg-type]
    assert ids(Ranker(papers).rank(profile)) == ["2501.00001"]


def test_term_masks_are_bounded(monkeypatch: pytest.MonkeyPatch, listing: list[Paper]) -> None:
    monkeypatch.setattr("newsletter.matching.masks.MAX_CACHED_MASKS", 10)
    ranker = Ranker(listing)
    profiles = [
        (n, build_profile(description="agents", exclude=[f"term{n}"], authors=[f"Person {n}"]))
        for n in range(50)
    ]
    results = list(ranker.rank_many(profiles, chunk_size=7))
    assert len(results) == 50
    assert len(ranker._masks) <= 10
    assert results[0][1] == ranker.rank(profiles[0][1])
