"""Merging records of one paper across sources and versions."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from newsletter.domain import AnnounceType, Paper, Source
from newsletter.sources.dedupe import dedupe, merge
from tests.support.factories import arxiv_paper, hf_paper


def test_newer_version_replaces_metadata_and_announcement() -> None:
    v1 = arxiv_paper(version=1)
    v2 = arxiv_paper(
        version=2,
        title="Chain-of-Agents (revised)",
        announce_type=AnnounceType.REPLACE,
        announced_on=date(2025, 9, 1),
    )
    merged = merge(v1, v2)
    assert (merged.version, merged.title) == (2, "Chain-of-Agents (revised)")
    assert (merged.announce_type, merged.announced_on) == (AnnounceType.REPLACE, date(2025, 9, 1))


def test_older_version_does_not_overwrite_newer() -> None:
    v2 = arxiv_paper(version=2, title="Revised title")
    assert merge(v2, arxiv_paper(version=1)) == v2


def test_cross_list_seen_later_keeps_first_announcement() -> None:
    new = arxiv_paper(announce_type=AnnounceType.NEW)
    cross = arxiv_paper(announce_type=AnnounceType.CROSS, categories=("cs.LG", "cs.AI"))
    assert merge(new, cross).announce_type is AnnounceType.NEW


def test_hugging_face_adds_extras_but_not_metadata() -> None:
    merged = merge(arxiv_paper(), hf_paper(upvotes=40))
    assert merged.abstract == arxiv_paper().abstract
    assert merged.authors == arxiv_paper().authors
    assert merged.hf is not None
    assert merged.hf.upvotes == 40
    assert merged.published_at == hf_paper().published_at  # a gap the listing left
    assert merged.sources == (Source.ARXIV_LISTING, Source.HUGGING_FACE)


def test_arxiv_after_hugging_face_takes_over_metadata_and_keeps_extras() -> None:
    merged = merge(hf_paper(upvotes=5), arxiv_paper())
    assert merged.abstract == arxiv_paper().abstract
    assert merged.categories == ("cs.AI", "cs.CL")
    assert merged.hf is not None
    assert merged.hf.upvotes == 5


def test_latest_upvotes_win() -> None:
    merged = merge(merge(arxiv_paper(), hf_paper(upvotes=3)), hf_paper(upvotes=30))
    assert merged.hf is not None
    assert merged.hf.upvotes == 30


def test_merging_different_papers_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot merge"):
        merge(arxiv_paper("2508.00001"), arxiv_paper("2508.00002"))


def test_dedupe_keeps_first_seen_order() -> None:
    papers = [
        arxiv_paper("2508.2"),
        arxiv_paper("2508.1"),
        hf_paper("2508.2"),
        arxiv_paper("2508.3"),
    ]
    assert [p.id for p in dedupe(papers)] == ["2508.2", "2508.1", "2508.3"]


records = st.one_of(
    st.builds(
        arxiv_paper,
        version=st.integers(1, 4),
        title=st.sampled_from(["A", "B"]),
        announce_type=st.sampled_from(list(AnnounceType)),
    ),
    st.builds(hf_paper, upvotes=st.integers(0, 100)),
)


@given(st.lists(records, min_size=1, max_size=6))
def test_merge_is_idempotent_and_keeps_every_source(papers: list[Paper]) -> None:
    merged = papers[0]
    for paper in papers[1:]:
        merged = merge(merged, paper)
    assert merge(merged, merged) == merged
    assert set(merged.sources) == {s for p in papers for s in p.sources}
    highest_version = max(p.version or 0 for p in papers) or None
    assert merged.version == highest_version
