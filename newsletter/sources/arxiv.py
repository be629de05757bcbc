"""The day's arXiv papers: the listing feed for the ids, the API to complete their metadata."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

from newsletter.domain import ParseResult
from newsletter.sources import SourceError
from newsletter.sources.arxiv_api import lookup_ids
from newsletter.sources.arxiv_listing import parse_listing
from newsletter.sources.dedupe import merge
from newsletter.sources.http import Fetcher

log = logging.getLogger(__name__)


@dataclass
class ArxivSource:
    listing_fetcher: Fetcher
    api_fetcher: Fetcher
    categories: list[str]
    listing_url: str
    api_url: str
    enrich: bool = True
    batch_size: int = 100
    name: str = "arxiv"

    def fetch(self, *, day: date | None) -> ParseResult:
        if not self.categories:
            raise SourceError("no arXiv categories configured")
        joined = "+".join(self.categories)
        body = self.listing_fetcher.get(f"{self.listing_url.rstrip('/')}/{joined}")
        result = parse_listing(body, what=f"arXiv listing {joined}")
        announced = sorted({p.announced_on for p in result.papers if p.announced_on})
        if day is not None and announced and day not in announced:
            raise SourceError(
                f"the arXiv listing serves only its latest announcement "
                f"({', '.join(map(str, announced))}), not {day}"
            )
        if self.enrich and result.papers:
            self._complete_from_api(result)
        return result

    def _complete_from_api(self, result: ParseResult) -> None:
        ids = [paper.id for paper in result.papers]
        found = {
            paper.id: paper
            for paper in lookup_ids(
                self.api_fetcher, api_url=self.api_url, ids=ids, batch_size=self.batch_size
            ).papers
        }
        missing = [paper_id for paper_id in ids if paper_id not in found]
        if missing:
            log.warning("arXiv API had no usable entry for %d ids: %s", len(missing), missing[:10])
        result.papers = [
            merge(paper, found[paper.id]) if paper.id in found else paper for paper in result.papers
        ]
