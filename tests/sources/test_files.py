"""Local files: format recognised by content; JSON Lines rows validated one by one."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from newsletter.domain import Source
from newsletter.normalize import content_id
from newsletter.sources import SourceError
from newsletter.sources.files import FileSource, parse_file_bytes, parse_json_lines
from tests.conftest import read_data


@pytest.mark.parametrize(
    ("name", "count", "source"),
    [
        ("arxiv_listing_atom_cs.AI_2025-08-20.xml", 86, Source.ARXIV_LISTING),
        ("arxiv_api_atom_classic_2016.xml", 1, Source.ARXIV_API),
        ("arxiv_api_atom_2026_newformat.xml", 1, Source.ARXIV_API),
        ("hf_daily_papers.json", 2, Source.HUGGING_FACE),
        ("hf_daily_papers_2026_item.json", 1, Source.HUGGING_FACE),
        ("seed_papers.jsonl", 119, Source.JSON_LINES),
    ],
)
def test_every_fixture_is_recognised(name: str, count: int, source: Source) -> None:
    result = parse_file_bytes(read_data(name), what=name)
    assert len(result.papers) == count
    assert {p.sources for p in result.papers} == {(source,)}
    assert result.skipped == []


def test_seed_papers_get_stable_unique_content_ids() -> None:
    papers = parse_file_bytes(read_data("seed_papers.jsonl"), what="seeds").papers
    first = json.loads(read_data("seed_papers.jsonl").splitlines()[0])
    assert papers[0].id == content_id(first["title"])
    assert papers[0].title == (
        "Faster Rates of Convergence to Stationary Points in Differentially Private Optimization"
    )
    assert papers[0].abstract.startswith("We study the problem of approximating stationary points")
    assert len({p.id for p in papers}) == 119
    assert parse_file_bytes(read_data("seed_papers.jsonl"), what="again").papers == papers


def test_bad_json_lines_are_skipped_with_reasons() -> None:
    lines = [
        '{"title": "Good one", "abstract": "Fine.", "id": "2508.13167v2", "authors": ["A B"]}',
        '{"abstract": "no title"}',
        '{"title": "Broken JSON", "abstract": ',
        '{"title": ["a list"], "abstract": "wrong type"}',
        '{"title": "   ", "abstract": "blank title"}',
        '{"title": "Bad id", "abstract": "x", "id": "not-an-id"}',
        "",
        '{"title": "<script>alert(1)</script> Tags", "abstract": "Kept <b>as text</b>."}',
    ]
    result = parse_json_lines("\n".join(lines).encode(), what="papers.jsonl")
    assert [p.title for p in result.papers] == ["Good one", "<script>alert(1)</script> Tags"]
    assert (result.papers[0].id, result.papers[0].version) == ("2508.13167", 2)
    assert result.papers[1].abstract == "Kept <b>as text</b>."
    reasons = {item.where.rsplit(" ", 1)[1]: item.reason for item in result.skipped}
    assert set(reasons) == {"2", "3", "4", "5", "6"}
    assert reasons["2"].startswith("title: Field required")
    assert "Invalid JSON" in reasons["3"]
    assert reasons["4"].startswith("title:")
    assert "must not be empty" in reasons["5"]
    assert "not an arXiv id" in reasons["6"]


def test_single_line_jsonl_is_not_mistaken_for_hugging_face() -> None:
    result = parse_file_bytes(b'{"title": "Only", "abstract": "One line."}', what="one")
    assert [p.sources for p in result.papers] == [(Source.JSON_LINES,)]


def test_wrong_top_level_json_is_an_error() -> None:
    with pytest.raises(SourceError, match="expected a JSON list"):
        parse_file_bytes(b'{"papers": 3}', what="weird.json")


def test_empty_file_is_an_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"  \n")
    with pytest.raises(SourceError, match="empty file"):
        FileSource(empty, 1_000).fetch(day=None)


def test_day_filter_keeps_papers_without_announcement(tmp_path: Path, data_dir: Path) -> None:
    listing = FileSource(data_dir / "arxiv_listing_atom_cs.AI_2025-08-20.xml", 10_000_000)
    assert len(listing.fetch(day=date(2025, 8, 20)).papers) == 86
    assert listing.fetch(day=date(2025, 8, 21)).papers == []
    seeds = FileSource(data_dir / "seed_papers.jsonl", 10_000_000)
    assert len(seeds.fetch(day=date(2025, 8, 21)).papers) == 119


# JSON Lines items carry any stable id and, optionally, their day.


def jsonl(*items: dict[str, object]) -> bytes:
    return "\n".join(json.dumps({"title": f"Paper {n}", "abstract": "A."} | item)
                     for n, item in enumerate(items)).encode()  # fmt: skip


def test_any_stable_id_is_kept_as_given_and_namespaced() -> None:
    result = parse_json_lines(
        jsonl({"id": "10.1145/3292500.3330701"},
              {"id": "s2:649def34f8be52c8b66281af98ae884c09aef38b"},
              {"id": "https://openreview.net/forum?id=Hyg0vbWC-"}, {"id": "arXiv:2508.13167v2"},
              {}),
        what="ids.jsonl",
    )  # fmt: skip
    assert result.skipped == []
    rows = [(p.id, p.version, p.abs_url, p.pdf_url, p.doi) for p in result.papers]
    assert rows == [
        ("doi:10.1145/3292500.3330701", None, "https://doi.org/10.1145/3292500.3330701", None,
         "10.1145/3292500.3330701"),
        ("s2:649def34f8be52c8b66281af98ae884c09aef38b", None,
         "https://www.semanticscholar.org/paper/649def34f8be52c8b66281af98ae884c09aef38b", None,
         None),
        ("url:https://openreview.net/forum?id=Hyg0vbWC-", None,
         "https://openreview.net/forum?id=Hyg0vbWC-", None, None),
        ("2508.13167", 2, "https://arxiv.org/abs/2508.13167", "https://arxiv.org/pdf/2508.13167",
         None),
        (content_id("Paper 4"), None, None, None, None),
    ]  # fmt: skip


def test_a_line_with_an_unusable_id_is_reported() -> None:
    result = parse_json_lines(
        jsonl({"id": "ISBN 978-3-16"}, {"id": "urn:nbn:de:1111"}, {"id": "10.1000/ok"}), what="f"
    )
    assert [p.id for p in result.papers] == ["doi:10.1000/ok"]
    assert [(s.where, s.reason) for s in result.skipped] == [
        ("f, line 1", "id: not a usable id: 'ISBN 978-3-16' (empty or with spaces)"),
        ("f, line 2", "id: not an arXiv id, DOI, Semantic Scholar id or http(s) URL: "
                      "'urn:nbn:de:1111'"),
    ]  # fmt: skip


def test_an_item_may_carry_its_day() -> None:
    result = parse_json_lines(
        jsonl({"announced": "2026-12-01", "date": "2026-11-01"}, {"date": "2026-12-02"},
              {"published": "2026-12-02T23:30:00-05:00"}, {}, {"published": "last tuesday"}),
        what="days.jsonl",
    )  # fmt: skip
    days = [(p.announced_on, p.published_at) for p in result.papers]
    assert days == [
        (date(2026, 12, 1), None),  # `announced` first, then `date`, then `published`
        (date(2026, 12, 2), None),
        (date(2026, 12, 3), datetime(2026, 12, 3, 4, 30, tzinfo=UTC)),
        (None, None),  # given its day when fetched or stored
    ]
    assert [s.reason for s in result.skipped] == [
        "published: not a day or an ISO 8601 time: 'last tuesday'"
    ]


def test_fetch_date_announces_undated_items_only(tmp_path: Path, data_dir: Path) -> None:
    papers = tmp_path / "papers.jsonl"
    papers.write_bytes(jsonl({}, {"date": "2026-12-01"}, {"date": "2026-11-30"}))
    fetched = FileSource(papers, 10_000).fetch(day=date(2026, 12, 1)).papers
    assert [(p.title, p.announced_on) for p in fetched] == [
        ("Paper 0", date(2026, 12, 1)),
        ("Paper 1", date(2026, 12, 1)),
    ]
    assert [p.announced_on for p in FileSource(papers, 10_000).fetch(day=None).papers] == [
        None, date(2026, 12, 1), date(2026, 11, 30),
    ]  # fmt: skip
    # A saved Hugging Face response keeps its own dates: its papers are featured, not announced.
    hf = FileSource(data_dir / "hf_daily_papers.json", 10_000_000).fetch(day=date(2024, 10, 25))
    assert {p.announced_on for p in hf.papers} == {None}
