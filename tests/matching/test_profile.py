"""Interest profiles: validation with clear messages."""

from __future__ import annotations

import re

import pytest

from newsletter.domain import CategoryMode
from newsletter.matching.profile import MAX_DESCRIPTION, MAX_TERMS, ProfileError, build_profile


def test_clean_profile() -> None:
    profile = build_profile(
        description="  LLMs for finance\nand financial analysis ",
        keywords=['"mixture of experts"', "RAG", "RAG", " "],
        exclude=["survey"],
        categories=["cs.CL", "q-fin.CP"],
        category_mode="filter",
        authors=[r"J\"org Hoffmann"],
        seed_papers=["arXiv:2508.13167v2", "https://arxiv.org/abs/2508.13171"],
    )
    assert profile.description == "LLMs for finance and financial analysis"
    assert profile.keywords == ("mixture of experts", "RAG")
    assert profile.category_mode is CategoryMode.FILTER
    assert profile.authors == ("Jörg Hoffmann",)
    assert profile.seed_papers == ("2508.13167", "2508.13171")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({}, "the profile is empty"),
        ({"exclude": ["survey"]}, "the profile is empty"),
        ({"authors": ["\\foo", "{}"]}, "the profile is empty"),
        ({"description": "x" * (MAX_DESCRIPTION + 1)}, "longer than 2000 characters"),
        ({"keywords": [f"k{i}" for i in range(MAX_TERMS + 1)]}, "too many keywords: 51"),
        ({"keywords": ["a" * 101]}, "longer than 100 characters"),
        ({"categories": ["Computer Science"]}, "not arXiv categories: Computer Science"),
        ({"description": "x", "category_mode": "only"}, "category mode must be"),
        ({"seed_papers": ["my favourite paper"]}, "not an arXiv id"),
    ],
)
def test_bad_profiles_are_refused_with_a_reason(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ProfileError, match=message):
        build_profile(**fields)  # type: ignore[arg-type]


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ProfileError) as error:
        build_profile(description="x" * 3000, categories=["bad cat"], seed_papers=["nope"])
    assert str(error.value).count(";") == 2


def test_seed_papers_alone_are_a_profile() -> None:
    assert build_profile(seed_papers=["2508.13167"]).seed_papers == ("2508.13167",)


def test_liked_and_disliked_papers_take_any_paper_id() -> None:
    """Papers from any file `fetch` reads can be examples, named as the file names them or
    as the service stores them (normalize.paper_id)."""
    s2 = "649def34f8be52c8b66281af98ae884c09aef38b"
    profile = build_profile(
        seed_papers=[
            "10.1145/3292500.3330701",
            f"https://www.semanticscholar.org/paper/{s2}",
            "local:0123456789abcdef",
            "https://openreview.net/forum?id=abc",
            "doi:10.48550/arXiv.2508.13167",  # arXiv's own DOI is the arXiv paper
        ],
        disliked_papers=[f"s2:{s2}", "2508.13171v3"],
    )
    assert profile.seed_papers == (
        "doi:10.1145/3292500.3330701",
        f"s2:{s2}",
        "local:0123456789abcdef",
        "url:https://openreview.net/forum?id=abc",
        "2508.13167",
    )
    assert profile.disliked_papers == (f"s2:{s2}", "2508.13171")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("local:nothex", "not an arXiv id, DOI, Semantic Scholar id, http(s) URL or local: id"),
        ("ftp://example.org/p", "not an arXiv id, DOI"),
        ("10.1000/" + "x" * 300, "is longer than 255 characters"),
    ],
)
def test_unusable_paper_ids_are_refused_by_name(value: str, message: str) -> None:
    with pytest.raises(ProfileError, match=re.escape(message)) as error:
        build_profile(description="x", disliked_papers=[value])
    assert value[:20] in str(error.value)
