"""One record per paper across sources and versions. Pure.

Rules, in order:
- the key is the arXiv id without version (or the content id of id-less papers);
- arXiv metadata (listing, API, a JSON Lines file) outranks Hugging Face's copy, and a
  higher version outranks a lower one: the better record gives every field it has, the
  other fills the gaps;
- a paper's first announcement is kept until a new version is announced (a cross-list
  seen later the same day does not turn a `new` paper into a `cross` one);
- Hugging Face extras (upvotes change during the day) take the latest values reported.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from newsletter.domain import Paper, Source

_METADATA_FIELDS = (
    "title",
    "abstract",
    "version",
    "authors",
    "categories",
    "primary_category",
    "published_at",
    "updated_at",
    "abs_url",
    "pdf_url",
    "comment",
    "doi",
    "journal_ref",
)


def _rank(paper: Paper) -> tuple[int, int]:
    from_arxiv = any(source is not Source.HUGGING_FACE for source in paper.sources)
    return int(from_arxiv), paper.version or 0


def merge(stored: Paper, incoming: Paper) -> Paper:
    """The record to keep when `incoming` reports a paper already known as `stored`."""
    if stored.id != incoming.id:
        raise ValueError(f"cannot merge {stored.id} with {incoming.id}")
    better, other = (incoming, stored) if _rank(incoming) >= _rank(stored) else (stored, incoming)
    fields: dict[str, object] = {
        name: getattr(better, name) or getattr(other, name) for name in _METADATA_FIELDS
    }
    newly_announced = (incoming.version or 0) > (stored.version or 0)
    announcer = incoming if newly_announced or stored.announce_type is None else stored
    fields["announce_type"] = announcer.announce_type or stored.announce_type
    fields["announced_on"] = announcer.announced_on or stored.announced_on
    fields["hf"] = incoming.hf or stored.hf
    fields["sources"] = tuple(sorted(set(stored.sources) | set(incoming.sources)))
    return dataclasses.replace(stored, **fields)  # type: ignore[arg-type]


def dedupe(papers: Iterable[Paper]) -> list[Paper]:
    """Merge the records of one fetch that share an id, keeping first-seen order."""
    by_id: dict[str, Paper] = {}
    for paper in papers:
        known = by_id.get(paper.id)
        by_id[paper.id] = paper if known is None else merge(known, paper)
    return list(by_id.values())
