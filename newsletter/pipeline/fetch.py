"""Pipeline stage 1, fetch: bring a source's papers into the database, all or nothing.

A source is parsed completely before anything is written, and each source is stored in
one transaction, so a failed response or a crash leaves the database as it was. A source
whose every entry was broken (a truncated download) has failed too, not "0 new, 3 skipped":
an operator's alerting must see it. Every run, stored or failed, is recorded (db.fetch_runs)
for `newsletter status`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path

import httpx
from sqlalchemy.orm import Session, sessionmaker

from newsletter.config import Settings
from newsletter.db.fetch_runs import record_fetch
from newsletter.db.papers import remove_sample_papers, store_papers
from newsletter.domain import IngestCounts, SkippedItem
from newsletter.sources import PaperSource, SourceError
from newsletter.sources.arxiv import ArxivSource
from newsletter.sources.files import FileSource
from newsletter.sources.http import Fetcher
from newsletter.sources.huggingface import HuggingFaceSource

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FetchOutcome:
    source: str
    counts: IngestCounts
    skipped: list[SkippedItem]


class EveryEntrySkipped(SourceError):
    """The source answered, but not one of its entries could be used."""

    def __init__(self, source: str, skipped: list[SkippedItem]) -> None:
        super().__init__(
            f"every entry of {source} was skipped ({len(skipped)}): nothing was stored"
        )
        self.skipped = skipped


def ingest(
    source: PaperSource,
    *,
    sessions: sessionmaker[Session],
    day: date | None,
    now: datetime,
    undated_on: date | None = None,
) -> FetchOutcome:
    """Fetch and store one source; raises SourceError with the papers untouched (the failed
    run is recorded).

    `undated_on` is the day papers from a JSON Lines file without a day of their own are
    announced on when first stored (the service's today; `day` instead when given)."""
    try:
        result = source.fetch(day=day)
        for item in result.skipped:
            log.warning("skipped %s: %s", item.where, item.reason)
        if result.skipped and not result.papers:
            raise EveryEntrySkipped(source.name, result.skipped)
    except SourceError as exc:
        with sessions.begin() as session:
            record_fetch(session, source=source.name, at=now, error=str(exc))
        raise
    with sessions.begin() as session:
        if result.papers:  # real papers replace the bundled sample day (pipeline/sample.py)
            remove_sample_papers(session)
        counts = store_papers(session, result.papers, now=now, undated_on=undated_on)
        counts = replace(counts, skipped=len(result.skipped))
        record_fetch(session, source=source.name, at=now, counts=counts)
    log.debug(
        "fetched %s: %d new, %d updated, %d unchanged, %d skipped",
        source.name,
        counts.new,
        counts.updated,
        counts.unchanged,
        counts.skipped,
    )
    return FetchOutcome(source=source.name, counts=counts, skipped=result.skipped)


def build_sources(
    spec: str | None,
    *,
    settings: Settings,
    client: httpx.Client,
    today: Callable[[], date],
    categories: list[str] | None = None,
    sleep: Callable[[float], None] | None = None,
) -> list[PaperSource]:
    """Sources for ``arxiv``, ``hf``, ``file:PATH``, or every configured one when None."""
    if spec is not None and spec.startswith("file:"):
        path = Path(spec.removeprefix("file:"))
        return [FileSource(path, settings.http_max_response_bytes, name=f"file:{path.name}")]
    if spec not in (None, "arxiv", "hf"):
        raise SourceError(f"unknown source {spec!r}: use arxiv, hf or file:PATH")

    def fetcher(min_interval: float = 0.0) -> Fetcher:
        return Fetcher(
            client=client,
            max_bytes=settings.http_max_response_bytes,
            retries=settings.http_retries,
            min_interval_seconds=min_interval,
            sleep=sleep or time.sleep,
        )

    sources: list[PaperSource] = []
    if spec in (None, "arxiv"):
        sources.append(
            ArxivSource(
                listing_fetcher=fetcher(),
                api_fetcher=fetcher(settings.arxiv_api_interval_seconds),
                categories=categories or settings.arxiv_categories,
                listing_url=settings.arxiv_listing_url,
                api_url=settings.arxiv_api_url,
                enrich=settings.arxiv_api_enrich,
                batch_size=settings.arxiv_api_batch_size,
            )
        )
    if spec == "hf" or (spec is None and settings.hf_daily_papers):
        sources.append(
            HuggingFaceSource(fetcher=fetcher(), api_url=settings.hf_api_url, today=today)
        )
    return sources


def http_client(settings: Settings) -> httpx.Client:
    return httpx.Client(
        timeout=settings.http_timeout_seconds,
        headers={"User-Agent": settings.http_user_agent},
        follow_redirects=True,
    )
