"""parse_api_response on recorded arXiv API responses, and lookup_ids through a real Fetcher."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import pairwise

import httpx
import pytest

from newsletter.domain import ParseResult, Source
from newsletter.sources import SourceError
from newsletter.sources.arxiv_api import lookup_ids, parse_api_response
from newsletter.sources.http import Fetcher
from tests.conftest import read_data

API_URL = "https://export.arxiv.org/api/query"
ATOM_OPEN = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<feed xmlns="http://www.w3.org/2005/Atom" xmlns:arxiv="http://arxiv.org/schemas/atom">\n'
    "<title>arXiv Query</title>\n"
)

Handler = Callable[[httpx.Request], httpx.Response]


# --- helpers ---------------------------------------------------------------------------------


def api_entry(arxiv_id: str) -> str:
    return (
        f"<entry><id>http://arxiv.org/abs/{arxiv_id}v1</id>"
        f"<updated>2025-01-02T03:04:05Z</updated><published>2025-01-02T03:04:05Z</published>"
        f"<title>Paper {arxiv_id}</title><summary>Abstract of {arxiv_id}.</summary>"
        "<author><name>Ada Lovelace</name></author>"
        '<arxiv:primary_category term="cs.AI"/><category term="cs.AI"/></entry>\n'
    )


def api_feed(*entries: str) -> bytes:
    return f"{ATOM_OPEN}{''.join(entries)}</feed>".encode()


def error_feed(error_id: str, message: str) -> bytes:
    """The shape arXiv answers a bad query with: one entry whose id names the error."""
    return api_feed(
        f"<entry><id>{error_id}</id><title>Error</title><summary>{message}</summary>"
        "<updated>2025-01-02T00:00:00-05:00</updated>"
        f'<link href="{error_id}" rel="alternate" type="text/html"/>'
        "<author><name>arXiv api core</name></author></entry>"
    )


def feed_for_request(request: httpx.Request) -> httpx.Response:
    """A 200 answer holding one entry per id that the request asked for."""
    ids = request.url.params["id_list"].split(",")
    return httpx.Response(200, content=api_feed(*(api_entry(arxiv_id) for arxiv_id in ids)))


@dataclass
class FakeClock:
    """A monotonic clock that only moves when something sleeps (or a request takes time)."""

    now: float = 1_000.0
    sleeps: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        if not seconds >= 0:  # as time.sleep does, NaN included
            raise ValueError(f"sleep length must be non-negative, got {seconds}")
        self.sleeps.append(seconds)
        self.now += seconds


@dataclass
class Recorder:
    """Answers requests from `replies` in turn (the last repeats) and keeps what it saw."""

    replies: list[Handler]
    clock: FakeClock
    request_seconds: float = 0.0
    requests: list[httpx.Request] = field(default_factory=list)
    times: list[float] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.times.append(self.clock.now)
        self.clock.now += self.request_seconds
        return self.replies[min(len(self.requests), len(self.replies)) - 1](request)


def status(code: int, headers: dict[str, str] | None = None) -> Handler:
    return lambda _request: httpx.Response(code, headers=headers, content=b"busy")


def make_fetcher(
    recorder: Recorder,
    *,
    max_bytes: int = 1_000_000,
    retries: int = 4,
    backoff_seconds: float = 2.0,
    min_interval_seconds: float = 0.0,
) -> Fetcher:
    return Fetcher(
        client=httpx.Client(transport=httpx.MockTransport(recorder)),
        max_bytes=max_bytes,
        retries=retries,
        backoff_seconds=backoff_seconds,
        min_interval_seconds=min_interval_seconds,
        sleep=recorder.clock.sleep,
        clock=recorder.clock,
    )


def lookup(fetcher: Fetcher, ids: list[str], batch_size: int = 100) -> ParseResult:
    return lookup_ids(fetcher, api_url=API_URL, ids=ids, batch_size=batch_size)


def make_ids(count: int) -> list[str]:
    return [f"2501.{number:05d}" for number in range(1, count + 1)]


# --- parse_api_response ----------------------------------------------------------------------


def test_classic_2016_response_exact_values() -> None:
    result = parse_api_response(read_data("arxiv_api_atom_classic_2016.xml"))
    assert result.skipped == []
    [paper] = result.papers
    assert paper.id == "cond-mat/0603029"
    assert paper.version == 1
    assert paper.title == (
        "From stripe to checkerboard order on the square lattice in the presence of quenched "
        "disorder"
    )
    assert paper.abstract.startswith(
        "We discuss the effects of quenched disorder on a model of charge density wave (CDW) "
        "ordering on the square lattice."
    )
    assert paper.abstract.endswith("measured in scanning tunneling microscopy experiments.")
    assert "\n" not in paper.abstract
    assert "  " not in paper.abstract
    assert paper.authors == ("Adrian Del Maestro", "Bernd Rosenow", "Subir Sachdev")
    assert paper.primary_category == "cond-mat.str-el"
    assert paper.categories == ("cond-mat.str-el", "cond-mat.supr-con")
    assert paper.published_at == datetime(2006, 3, 2, 2, 22, 45, tzinfo=UTC)
    assert paper.updated_at == datetime(2006, 3, 2, 2, 22, 45, tzinfo=UTC)
    assert paper.doi == "10.1103/PhysRevB.74.024520"
    assert paper.journal_ref == "Phys. Rev. B 74, 024520 (2006)"
    assert paper.comment == "10 pages, 11 figures; added reference"
    assert paper.sources == (Source.ARXIV_API,)
    assert paper.abs_url == "https://arxiv.org/abs/cond-mat/0603029"
    assert paper.pdf_url == "https://arxiv.org/pdf/cond-mat/0603029"
    assert paper.announce_type is None
    assert paper.announced_on is None


def test_2026_response_with_title_zero_exact_values() -> None:
    result = parse_api_response(read_data("arxiv_api_atom_2026_newformat.xml"))
    assert result.skipped == []
    [paper] = result.papers
    assert paper.id == "2104.12255"
    assert paper.version == 1
    assert paper.title == "0"  # a real title, not a missing one
    assert paper.abstract.startswith("What is the funniest number in cryptography? 0.")
    assert paper.abstract.endswith("awarded $35,000 in total for the reported bugs.")
    assert paper.authors == ("Quan Thoi Minh Nguyen",)
    assert paper.primary_category == "cs.CR"
    assert paper.categories == ("cs.CR",)
    assert paper.published_at == datetime(2021, 4, 20, 16, 7, 14, tzinfo=UTC)
    assert paper.updated_at == datetime(2021, 4, 20, 16, 7, 14, tzinfo=UTC)
    assert paper.abs_url == "https://arxiv.org/abs/2104.12255"
    assert paper.pdf_url == "https://arxiv.org/pdf/2104.12255"
    assert (paper.doi, paper.journal_ref, paper.comment) == (None, None, None)


@pytest.mark.parametrize(
    "error_id",
    [
        "http://arxiv.org/api/errors#incorrect_id_format_for_1234.12345",
        "https://arxiv.org/api/errors#incorrect_id_format_for_1234.12345",
    ],
    ids=["classic", "new-backend"],
)
def test_api_error_feed_raises_with_its_message(error_id: str) -> None:
    data = error_feed(error_id, "incorrect id format for\n   1234.12345")
    with pytest.raises(
        SourceError, match=re.escape("arXiv API error: incorrect id format for 1234.12345")
    ):
        parse_api_response(data)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty response"),
        (b"Rate exceeded.", "not XML"),
        (b"<html><body>502 Bad Gateway</body></html>", "not an Atom feed"),
    ],
    ids=["empty", "text", "html"],
)
def test_unusable_api_response_raises(data: bytes, message: str) -> None:
    with pytest.raises(SourceError, match=message):
        parse_api_response(data)


def test_api_feed_without_entries_is_empty() -> None:
    assert parse_api_response(api_feed()) == ParseResult()


# --- lookup_ids through a real Fetcher -------------------------------------------------------


def test_lookup_batches_ids_in_order() -> None:
    ids = make_ids(250)
    recorder = Recorder([feed_for_request], FakeClock())
    result = lookup(make_fetcher(recorder), ids, batch_size=100)
    assert [paper.id for paper in result.papers] == ids
    assert result.skipped == []
    assert len(recorder.requests) == 3
    batches = [ids[0:100], ids[100:200], ids[200:250]]
    for request, batch in zip(recorder.requests, batches, strict=True):
        assert request.method == "GET"
        assert str(request.url).startswith(API_URL + "?")
        params = request.url.params
        assert params["id_list"].split(",") == batch
        assert params["max_results"] == str(len(batch))
        assert params["start"] == "0"


def test_lookup_keeps_minimum_interval_between_requests() -> None:
    clock = FakeClock()
    recorder = Recorder([feed_for_request], clock, request_seconds=0.5)
    lookup(make_fetcher(recorder, min_interval_seconds=3.0), make_ids(250))
    assert len(recorder.times) == 3
    gaps = [later - earlier for earlier, later in pairwise(recorder.times)]
    assert all(gap >= 3.0 for gap in gaps), gaps
    # Each request took 0.5 s, so only the rest of the interval is slept.
    assert clock.sleeps == [2.5, 2.5]


def test_lookup_without_interval_does_not_sleep() -> None:
    clock = FakeClock()
    lookup(make_fetcher(Recorder([feed_for_request], clock)), make_ids(250))
    assert clock.sleeps == []


def test_503_then_200_is_retried_with_backoff() -> None:
    clock = FakeClock()
    recorder = Recorder([status(503), feed_for_request], clock)
    result = lookup(make_fetcher(recorder, backoff_seconds=2.0), ["2501.00001"])
    assert [paper.id for paper in result.papers] == ["2501.00001"]
    assert len(recorder.requests) == 2
    assert clock.sleeps == [2.0]


def test_429_waits_as_long_as_retry_after_says() -> None:
    clock = FakeClock()
    recorder = Recorder([status(429, {"Retry-After": "7"}), feed_for_request], clock)
    result = lookup(make_fetcher(recorder, backoff_seconds=2.0), ["2501.00001"])
    assert len(result.papers) == 1
    assert len(recorder.requests) == 2
    assert clock.sleeps == [7.0]


def test_transport_error_is_retried() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    clock = FakeClock()
    recorder = Recorder([refuse, feed_for_request], clock)
    result = lookup(make_fetcher(recorder, backoff_seconds=1.0), ["2501.00001"])
    assert len(result.papers) == 1
    assert clock.sleeps == [1.0]


def test_persistent_503_fails_after_all_attempts() -> None:
    clock = FakeClock()
    recorder = Recorder([status(503)], clock)
    fetcher = make_fetcher(recorder, retries=3, backoff_seconds=2.0)
    with pytest.raises(SourceError, match=r"failed after 4 attempts: HTTP 503"):
        lookup(fetcher, ["2501.00001"])
    assert len(recorder.requests) == 4
    assert clock.sleeps == [2.0, 4.0, 8.0]


def test_404_fails_at_once_without_retry() -> None:
    clock = FakeClock()
    recorder = Recorder([status(404), feed_for_request], clock)
    with pytest.raises(SourceError, match="HTTP 404"):
        lookup(make_fetcher(recorder), ["2501.00001"])
    assert len(recorder.requests) == 1
    assert clock.sleeps == []


# Regression (bug found at commit 92d412a, newsletter/sources/http.py `_retry_after`): the
# value was capped above but not below, so `Retry-After: -5` or `nan` reached `sleep`, and
# `time.sleep` (like FakeClock.sleep) raised ValueError ("sleep length must be non-negative" /
# "Invalid value NaN"), which escaped lookup_ids as a crash instead of a retry.
@pytest.mark.parametrize("retry_after", ["-5", "nan"])
def test_nonsensical_retry_after_still_retries(retry_after: str) -> None:
    clock = FakeClock()
    recorder = Recorder([status(503, {"Retry-After": retry_after}), feed_for_request], clock)
    result = lookup(make_fetcher(recorder), ["2501.00001"])
    assert [paper.id for paper in result.papers] == ["2501.00001"]
    assert len(recorder.requests) == 2


def test_response_with_content_length_over_limit_is_refused() -> None:
    clock = FakeClock()
    body = api_feed(*(api_entry(arxiv_id) for arxiv_id in make_ids(20)))
    recorder = Recorder([lambda _request: httpx.Response(200, content=body)], clock)
    with pytest.raises(SourceError, match=f"response of {len(body)} bytes refused"):
        lookup(make_fetcher(recorder, max_bytes=len(body) - 1), ["2501.00001"])
    assert len(recorder.requests) == 1  # a refusal is not retried


def test_streamed_response_over_limit_is_cut_off() -> None:
    chunk = b"x" * 400
    produced: list[int] = []

    def body() -> Iterator[bytes]:
        for index in range(10):
            produced.append(index)
            yield chunk

    responses: list[httpx.Response] = []

    def stream(_request: httpx.Request) -> httpx.Response:
        responses.append(httpx.Response(200, content=body()))
        return responses[-1]

    recorder = Recorder([stream], FakeClock())
    with pytest.raises(SourceError, match="response over 1000 bytes refused"):
        lookup(make_fetcher(recorder, max_bytes=1_000), ["2501.00001"])
    assert "content-length" not in responses[0].headers
    assert len(produced) < 10, "the whole body was read despite the limit"


def test_response_exactly_at_limit_is_accepted() -> None:
    body = api_feed(api_entry("2501.00001"))
    recorder = Recorder([lambda _request: httpx.Response(200, content=body)], FakeClock())
    result = lookup(make_fetcher(recorder, max_bytes=len(body)), ["2501.00001"])
    assert [paper.id for paper in result.papers] == ["2501.00001"]
