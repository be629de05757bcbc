"""The arXiv taxonomy kept in the package, and profiles held to it."""

from __future__ import annotations

import pytest

from newsletter.matching import taxonomy
from newsletter.matching.profile import ProfileError, build_profile


def test_the_taxonomy_is_every_current_category_once_by_group() -> None:
    groups = taxonomy.groups()
    assert [g.name for g in groups] == [
        "Computer Science",
        "Economics",
        "Electrical Engineering and Systems Science",
        "Mathematics",
        "Physics",
        "Quantitative Biology",
        "Quantitative Finance",
        "Statistics",
    ]
    codes = taxonomy.all_codes()
    assert len(codes) == len(set(codes)) == 155
    assert taxonomy.names()["eess.AS"] == "Audio and Speech Processing"
    assert {"cs.AI", "cs.CL", "cs.LG", "stat.ML", "q-bio.NC", "hep-th", "quant-ph"} <= set(codes)
    assert not {"astro-ph", "cond-mat", "cmp-lg"} & set(codes)  # retired or bare archives


def test_codes_are_matched_without_regard_to_case_and_kept_as_arxiv_spells_them() -> None:
    assert build_profile(categories=["cs.ai", "Q-BIO.nc", "cs.AI"]).categories == (
        "cs.AI",
        "q-bio.NC",
    )


@pytest.mark.parametrize("typed", ["cs.FOO", "banana", "cs.CLL"])
def test_unknown_categories_are_refused_with_the_list_of_valid_ones(typed: str) -> None:
    with pytest.raises(ProfileError) as refused:
        build_profile(keywords=["agents"], categories=["cs.CL", typed])
    message = str(refused.value)
    assert message.startswith(f"not arXiv categories: {typed}")
    assert "The valid ones are: cs.AI, cs.AR, cs.CC" in message
    assert message.endswith("stat.TH")
    assert ";" not in message  # one problem: ProfileError joins several with "; "


def test_a_close_typo_gets_a_suggestion() -> None:
    with pytest.raises(ProfileError, match=r"cs\.CLL \(did you mean cs\.CL\?\)"):
        build_profile(categories=["cs.CLL"])
