"""Ids, whitespace, TeX-escaped names and dates."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from newsletter.normalize import (
    InvalidArxivId,
    InvalidPaperId,
    clean_name,
    collapse_whitespace,
    content_id,
    is_arxiv_id,
    paper_id,
    paper_page,
    parse_day,
    parse_timestamp,
    split_arxiv_id,
    split_authors,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2508.13167v2", ("2508.13167", 2)),
        ("2508.13167", ("2508.13167", None)),
        ("oai:arXiv.org:2508.13167v1", ("2508.13167", 1)),
        ("http://arxiv.org/abs/2104.12255v1", ("2104.12255", 1)),
        ("https://arxiv.org/abs/2508.13434", ("2508.13434", None)),
        ("arXiv:0704.0001v12", ("0704.0001", 12)),
        ("http://arxiv.org/abs/cond-mat/0603029v1", ("cond-mat/0603029", 1)),
        ("math.GT/0309136", ("math.GT/0309136", None)),
    ],
)
def test_split_arxiv_id(text: str, expected: tuple[str, int | None]) -> None:
    assert split_arxiv_id(text) == expected


@pytest.mark.parametrize("text", ["", "hello", "2508.131", "2508.13167v", "../2508.13167"])
def test_split_arxiv_id_refuses_non_ids(text: str) -> None:
    with pytest.raises(InvalidArxivId):
        split_arxiv_id(text)


@given(st.from_regex(r"\A[0-9]{4}\.[0-9]{5}\Z"), st.integers(1, 99))
def test_split_arxiv_id_round_trips(base: str, version: int) -> None:
    assert split_arxiv_id(f"{base}v{version}") == (base, version)


@pytest.mark.parametrize(
    ("tex", "name"),
    [
        (r"Nikola Pi\v{z}urica", "Nikola Pižurica"),
        (r"Paulo Andr\'e Lima de Castro", "Paulo André Lima de Castro"),
        (r"J\"org Hoffmann", "Jörg Hoffmann"),
        (r"Hendrik Kra{\ss}", "Hendrik Kraß"),
        (r"Anders S{\o}gaard", "Anders Søgaard"),
        (r"Jan Jakub\r{u}v", "Jan Jakubův"),
        (r"Mikol\'a\v{s} Janota", "Mikoláš Janota"),
        ("Zoë  Smith\n", "Zoë Smith"),
        ("Plain 100% Name", "Plain 100% Name"),
    ],
)
def test_clean_name_decodes_tex(tex: str, name: str) -> None:
    assert clean_name(tex) == name


def test_split_authors() -> None:
    assert split_authors(r"Antonin Monteil, Paul Pegon") == ("Antonin Monteil", "Paul Pegon")
    assert split_authors("A. One, B. Two and C. Three") == ("A. One", "B. Two", "C. Three")
    assert split_authors("A. One, B. Two, and C. Three") == ("A. One", "B. Two", "C. Three")
    assert split_authors(" ") == ()


def test_collapse_whitespace_undoes_hard_line_breaks() -> None:
    text = "From stripe to checkerboard order on the square lattice in the presence\n  of x"
    assert collapse_whitespace(text) == (
        "From stripe to checkerboard order on the square lattice in the presence of x"
    )


@given(st.text())
def test_collapse_whitespace_is_idempotent(text: str) -> None:
    once = collapse_whitespace(text)
    assert collapse_whitespace(once) == once
    assert "  " not in once
    assert once == once.strip()


def test_content_id_is_stable_and_ignores_case_and_spacing() -> None:
    assert content_id("Faster Rates of Convergence") == content_id(" faster  rates of\nconvergence")
    assert content_id("A") != content_id("B")
    assert content_id("A").startswith("local:")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2006-03-02T02:22:45Z", datetime(2006, 3, 2, 2, 22, 45, tzinfo=UTC)),
        ("2025-08-20T00:00:00-04:00", datetime(2025, 8, 20, 4, 0, tzinfo=UTC)),
        ("2024-10-25T00:57:09.392Z", datetime(2024, 10, 25, 0, 57, 9, 392000, tzinfo=UTC)),
    ],
)
def test_parse_timestamp_gives_aware_utc(text: str, expected: datetime) -> None:
    assert parse_timestamp(text) == expected
    assert parse_timestamp(text).tzinfo is UTC


def test_parse_timestamp_refuses_garbage() -> None:
    with pytest.raises(ValueError):
        parse_timestamp("yesterday")


# Ids of papers from files: any stable identifier, namespaced unless it is arXiv's.


@pytest.mark.parametrize(
    ("given", "stored", "page"),
    [
        ("2508.13167v2", ("2508.13167", 2), "https://arxiv.org/abs/2508.13167"),
        ("https://arxiv.org/abs/2508.13167v3", ("2508.13167", 3), "https://arxiv.org/abs/2508.13167"),
        ("10.48550/arXiv.2508.13167", ("2508.13167", None), "https://arxiv.org/abs/2508.13167"),
        ("10.1145/3292500.3330701", ("doi:10.1145/3292500.3330701", None),
         "https://doi.org/10.1145/3292500.3330701"),
        ("doi:10.1000/XYZ-Kept.As.Given", ("doi:10.1000/XYZ-Kept.As.Given", None),
         "https://doi.org/10.1000/XYZ-Kept.As.Given"),
        ("https://doi.org/10.1145/3292500.3330701", ("doi:10.1145/3292500.3330701", None),
         "https://doi.org/10.1145/3292500.3330701"),
        ("649def34f8be52c8b66281af98ae884c09aef38b",
         ("s2:649def34f8be52c8b66281af98ae884c09aef38b", None),
         "https://www.semanticscholar.org/paper/649def34f8be52c8b66281af98ae884c09aef38b"),
        ("https://www.semanticscholar.org/paper/Attention-Vaswani/204e3073870fae3d05bcbc2f6a8e263d9b72e776",
         ("s2:204e3073870fae3d05bcbc2f6a8e263d9b72e776", None),
         "https://www.semanticscholar.org/paper/204e3073870fae3d05bcbc2f6a8e263d9b72e776"),
        ("s2:CorpusId:13756489", ("s2:CorpusId:13756489", None),
         "https://api.semanticscholar.org/CorpusId:13756489"),
        ("https://openreview.net/forum?id=Hyg0vbWC-",
         ("url:https://openreview.net/forum?id=Hyg0vbWC-", None),
         "https://openreview.net/forum?id=Hyg0vbWC-"),
        ("local:0123456789abcdef", ("local:0123456789abcdef", None), None),
    ],
)  # fmt: skip
def test_paper_ids_from_files(given: str, stored: tuple[str, int | None], page: str | None) -> None:
    assert paper_id(given) == stored
    assert paper_id(stored[0]) == (stored[0], None)  # a stored id reads back as itself
    assert paper_page(stored[0]) == page
    assert is_arxiv_id(stored[0]) == (page is not None and "arxiv.org" in page)


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ("not-an-id", "not an arXiv id, DOI, Semantic Scholar id or http(s) URL"),
        ("javascript:alert(1)", "not an arXiv id"),
        ("ftp://example.org/paper", "not an arXiv id"),
        ("url:mailto:a@example.org", "not an arXiv id"),
        ("local:not-a-hash", "not an arXiv id"),
        ("10.1145/with space", "with spaces"),
        ("   ", "empty"),
        ("https://example.org/" + "p" * 300, "longer than 255 characters"),
    ],
)
def test_unusable_paper_ids_are_refused_with_a_reason(given: str, reason: str) -> None:
    with pytest.raises(InvalidPaperId, match=re.escape(reason)):
        paper_id(given)


@pytest.mark.parametrize(
    ("text", "day", "moment"),
    [
        ("2026-12-01", date(2026, 12, 1), None),
        ("2026-12-01T23:30:00-05:00", date(2026, 12, 2), datetime(2026, 12, 2, 4, 30, tzinfo=UTC)),
        ("2026-12-01T10:00:00Z", date(2026, 12, 1), datetime(2026, 12, 1, 10, tzinfo=UTC)),
    ],
)
def test_parse_day(text: str, day: date, moment: datetime | None) -> None:
    assert parse_day(text) == (day, moment)
