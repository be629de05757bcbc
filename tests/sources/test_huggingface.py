"""parse_daily_papers on recorded Hugging Face responses, and HuggingFaceSource's pagination."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest

from newsletter.domain import HuggingFaceExtras, ParseResult, Source
from newsletter.sources import SourceError
from newsletter.sources.http import Fetcher
from newsletter.sources.huggingface import HuggingFaceSource, parse_daily_papers
from tests.conftest import read_data

HF_2024 = "hf_daily_papers.json"
HF_2026_ITEM = "hf_daily_papers_2026_item.json"
API_URL = "https://huggingface.co/api/daily_papers"
DAY = date(2024, 10, 25)

Json = Any  # decoded JSON: whatever json.loads returns


# --- helpers ---------------------------------------------------------------------------------


def load(name: str) -> Json:
    return json.loads(read_data(name))


def body(value: Json) -> bytes:
    return json.dumps(value).encode()


def parse(value: Json, day: date | None = None) -> ParseResult:
    """Parse `value` the way it comes off the wire: as a JSON response body."""
    return parse_daily_papers(body(value), day=day)


def with_first_item(change: Callable[[Json], Json]) -> Json:
    """A copy of the 2024 response whose first item is replaced by `change(item)`."""
    items = load(HF_2024)
    items[0] = change(copy.deepcopy(items[0]))
    return items


def set_in_paper(key: str, value: Json) -> Callable[[Json], Json]:
    def change(item: Json) -> Json:
        item["paper"][key] = value
        return item

    return change


def without(key: str) -> Callable[[Json], Json]:
    def change(item: Json) -> Json:
        del item[key]
        return item

    return change


def numbered_items(start: int, count: int) -> list[Json]:
    """`count` distinct copies of a real item, ids numbered from 2410.(10000 + start)."""
    template = load(HF_2024)[0]
    items = []
    for number in range(start, start + count):
        item = copy.deepcopy(template)
        item["paper"]["id"] = f"2410.{10000 + number}"
        items.append(item)
    return items


def never_called() -> date:
    raise AssertionError("today() must not be called when a day is given")


def forbid_sleep(seconds: float) -> None:
    raise AssertionError(f"unexpected sleep({seconds})")


def make_source(
    pages: list[Json], requests: list[httpx.Request], today: Callable[[], date]
) -> HuggingFaceSource:
    """A source over a MockTransport that answers page `p` with `pages[p]` as JSON."""

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(200, content=body(pages[int(request.url.params["p"])]))

    client = httpx.Client(transport=httpx.MockTransport(handler))
    fetcher = Fetcher(client=client, max_bytes=10_000_000, sleep=forbid_sleep)
    return HuggingFaceSource(fetcher=fetcher, api_url=API_URL, today=today)


# --- the recorded responses ------------------------------------------------------------------


def test_2024_response_exact_values() -> None:
    result = parse_daily_papers(read_data(HF_2024))
    assert result.skipped == []
    assert [paper.id for paper in result.papers] == ["2410.17243", "2410.16251"]
    first, second = result.papers
    assert first.title == (
        "Breaking the Memory Barrier: Near Infinite Batch Size Scaling for Contrastive Loss"
    )
    assert second.title == "Can Knowledge Editing Really Correct Hallucinations?"
    assert len(first.authors) == 9
    assert (first.authors[0], first.authors[-1]) == ("Zesen Cheng", "Lidong Bing")
    assert second.authors == (
        "Baixiang Huang",
        "Canyu Chen",
        "Xiongxiao Xu",
        "Ali Payani",
        "Kai Shu",
    )
    assert first.abstract.startswith(
        "Contrastive loss is a powerful approach for representation learning, where larger "
        "batch sizes enhance performance"
    )
    assert first.abstract.endswith("The code will be made publicly available.")
    for paper in result.papers:
        assert "\n" not in paper.abstract
        assert "  " not in paper.abstract
        assert paper.version is None
        assert paper.sources == (Source.HUGGING_FACE,)
        assert paper.abs_url == f"https://arxiv.org/abs/{paper.id}"
        assert paper.pdf_url == f"https://arxiv.org/pdf/{paper.id}"
    assert first.published_at == datetime(2024, 10, 22, 17, 59, 30, tzinfo=UTC)
    assert second.published_at == datetime(2024, 10, 21, 17, 55, 54, tzinfo=UTC)
    assert first.hf == HuggingFaceExtras(upvotes=64)
    assert second.hf == HuggingFaceExtras(upvotes=41)


def test_day_is_recorded_as_daily_date() -> None:
    result = parse_daily_papers(read_data(HF_2024), day=DAY)
    assert [paper.hf.daily_date for paper in result.papers if paper.hf] == [DAY, DAY]


def test_cleaned_top_level_title_wins_over_paper_title() -> None:
    def retitle(item: Json) -> Json:
        item["title"] = "The Cleaned Title"
        item["paper"]["title"] = "The\n  Raw Title"
        return item

    assert parse(with_first_item(retitle)).papers[0].title == "The Cleaned Title"


def test_paper_title_is_used_and_collapsed_without_top_level_title() -> None:
    paper = parse(with_first_item(without("title"))).papers[0]
    assert paper.title == (
        "Breaking the Memory Barrier: Near Infinite Batch Size Scaling for Contrastive Loss"
    )


def test_2026_single_item_exact_values() -> None:
    result = parse_daily_papers(read_data(HF_2026_ITEM), day=date(2026, 3, 6))
    assert result.skipped == []
    [paper] = result.papers
    assert paper.id == "2602.23229"
    assert paper.title == "Large Multimodal Models as General In-Context Classifiers"
    assert paper.abstract.startswith("Which multimodal model should we use for classification?")
    assert paper.authors == (
        "Marco Garosi",
        "Matteo Farina",
        "Alessandro Conti",
        "Massimiliano Mancini",
        "Elisa Ricci",
    )
    # paper.publishedAt (the arXiv time) is preferred over the item's own publishedAt.
    assert paper.published_at == datetime(2026, 2, 26, 17, 8, 18, tzinfo=UTC)
    assert paper.published_at.utcoffset() is not None
    hf = paper.hf
    assert hf is not None
    assert hf.ai_summary == (
        "Large Multimodal Models demonstrate superior performance in closed-world "
        "classification with in-context learning and excel in open-world scenarios when "
        "equipped with context refinement techniques."
    )
    assert len(hf.ai_keywords) == 9
    assert hf.ai_keywords[0] == "Vision-Language Models"
    assert hf.ai_keywords[-1] == "context refinement"
    assert hf.github_repo == "https://github.com/marco-garosi/CIRCLE"
    assert hf.github_stars == 9
    assert hf.project_page == "https://circle-lmm.github.io/"
    assert hf.upvotes == 10
    assert hf.daily_date == date(2026, 3, 6)


def test_single_item_and_list_of_it_parse_alike() -> None:
    item = load(HF_2026_ITEM)
    assert parse(item) == parse([item])


def test_unknown_fields_are_ignored() -> None:
    items = load(HF_2024)
    items[0]["brandNewField"] = {"nested": [1, 2, 3]}
    items[0]["paper"]["futureScore"] = 0.97
    items[0]["paper"]["authors"][0]["orcid"] = "0000-0000-0000-0000"
    items[1]["paper"]["ai_keywords"] = ["knowledge editing"]
    changed = parse(items)
    original = parse(load(HF_2024))
    assert changed.skipped == []
    assert changed.papers[0] == original.papers[0]
    assert changed.papers[1].hf is not None
    assert changed.papers[1].hf.ai_keywords == ("knowledge editing",)


def test_nameless_author_is_dropped_not_the_paper() -> None:
    def drop_first_name(item: Json) -> Json:
        del item["paper"]["authors"][0]["name"]
        return item

    result = parse(with_first_item(drop_first_name))
    assert result.skipped == []
    assert result.papers[0].authors[0] == "Hang Zhang"
    assert len(result.papers[0].authors) == 8


def test_timestamp_without_offset_is_utc() -> None:
    result = parse(with_first_item(set_in_paper("publishedAt", "2024-10-22T17:59:30")))
    assert result.papers[0].published_at == datetime(2024, 10, 22, 17, 59, 30, tzinfo=UTC)


# --- wrong types cost only their own item ----------------------------------------------------


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        pytest.param(set_in_paper("upvotes", "many"), "paper.upvotes:", id="upvotes-string"),
        pytest.param(without("paper"), "paper: Field required", id="paper-missing"),
        pytest.param(set_in_paper("id", [2410, 17243]), "paper.id:", id="id-list"),
        pytest.param(set_in_paper("authors", "Zesen Cheng"), "paper.authors:", id="authors-str"),
        pytest.param(set_in_paper("publishedAt", "someday"), "paper.publishedAt:", id="bad-date"),
        pytest.param(set_in_paper("ai_keywords", [{"k": 1}]), "paper.ai_keywords", id="keyword"),
        pytest.param(set_in_paper("id", "not-an-id"), "not an arXiv id", id="id-not-arxiv"),
        pytest.param(lambda _item: "just a string", "valid dictionary", id="item-string"),
        pytest.param(lambda _item: None, "valid dictionary", id="item-null"),
    ],
)
def test_wrong_type_skips_only_that_item(change: Callable[[Json], Json], reason: str) -> None:
    result = parse(with_first_item(change))
    assert [paper.id for paper in result.papers] == ["2410.16251"]
    [skipped] = result.skipped
    assert skipped.where.endswith("item 0")
    assert reason in skipped.reason


# --- whole-response failures -----------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [{"error": "Invalid date"}, "daily papers", 42, None, True],
    ids=["object", "string", "number", "null", "bool"],
)
def test_top_level_that_is_neither_list_nor_item_raises(value: Json) -> None:
    with pytest.raises(SourceError, match="expected a JSON list"):
        parse(value)


@pytest.mark.parametrize("data", [b"", b" \n\t"], ids=["empty", "blank"])
def test_empty_body_raises(data: bytes) -> None:
    with pytest.raises(SourceError, match="empty response"):
        parse_daily_papers(data)


@pytest.mark.parametrize(
    "data",
    [b"<!DOCTYPE html><html></html>", b'[{"paper": ', b"\xff\xfe\x00garbage"],
    ids=["html", "truncated", "binary"],
)
def test_non_json_body_raises(data: bytes) -> None:
    with pytest.raises(SourceError, match="not JSON"):
        parse_daily_papers(data)


def test_empty_list_is_no_papers() -> None:
    assert parse_daily_papers(b"[]") == ParseResult()


# --- HuggingFaceSource -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("page_sizes", "requests_made"),
    [((100, 3), 2), ((3,), 1), ((100, 100, 0), 3)],
    ids=["100+3", "3", "100+100+0"],
)
def test_source_fetches_pages_until_a_short_one(
    page_sizes: tuple[int, ...], requests_made: int
) -> None:
    pages: list[list[Json]] = []
    for size in page_sizes:
        pages.append(numbered_items(sum(len(page) for page in pages), size))
    requests: list[httpx.Request] = []
    result = make_source(pages, requests, today=never_called).fetch(day=DAY)

    expected_ids = [item["paper"]["id"] for page in pages for item in page]
    assert [paper.id for paper in result.papers] == expected_ids
    assert len(result.papers) == sum(page_sizes)
    assert result.skipped == []
    assert len(requests) == requests_made
    for page, request in enumerate(requests):
        assert str(request.url).startswith(API_URL + "?")
        assert dict(request.url.params) == {"date": "2024-10-25", "p": str(page), "limit": "100"}
    assert {paper.hf.daily_date for paper in result.papers if paper.hf} == {DAY}
    assert all(paper.hf is not None for paper in result.papers)


def test_source_asks_for_today_when_no_day_is_given() -> None:
    today = date(2026, 3, 6)
    requests: list[httpx.Request] = []
    result = make_source([[load(HF_2026_ITEM)]], requests, today=lambda: today).fetch(day=None)
    assert [request.url.params["date"] for request in requests] == ["2026-03-06"]
    assert [paper.hf.daily_date for paper in result.papers if paper.hf] == [today]


def test_source_keeps_good_items_of_a_page_with_a_bad_one() -> None:
    page = numbered_items(0, 3)
    page[1]["paper"]["upvotes"] = "many"
    requests: list[httpx.Request] = []
    result = make_source([page], requests, today=never_called).fetch(day=DAY)
    assert [paper.id for paper in result.papers] == ["2410.10000", "2410.10002"]
    [skipped] = result.skipped
    assert skipped.where == "Hugging Face 2024-10-25 page 0, item 1"


def test_source_raises_on_an_error_object() -> None:
    requests: list[httpx.Request] = []
    source = make_source([{"error": "Invalid date"}], requests, today=never_called)
    with pytest.raises(SourceError, match="expected a JSON list"):
        source.fetch(day=DAY)
    assert len(requests) == 1
