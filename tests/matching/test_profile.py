"""Interest profiles: validation with clear messages."""

from __future__ import annotations

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
