"""Which of the day's papers have a category, an author or an excluded term: boolean masks
over the papers, built once per value and kept in a bounded least-recently-used cache, since
subscribers' terms are countless but a day's popular ones repeat across profiles. Pure."""

from __future__ import annotations

import unicodedata
from collections import OrderedDict
from collections.abc import Sequence
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from newsletter.domain import Paper
from newsletter.matching.exclusions import contains_term, occurrences, paper_text

MAX_CACHED_MASKS = 20_000  # category/author/excluded-term masks kept (least recently used go)
Mask = NDArray[np.bool_]
Kind = Literal["category", "author", "exclude"]


def normalise_name(name: str) -> str:
    """Accents and case folded away, so "Jörg Hoffmann" matches "Jorg Hoffmann"."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())


def followed_authors(authors: tuple[str, ...], followed: tuple[str, ...]) -> list[str]:
    """The paper's authors (as the paper writes them) that the profile follows."""
    wanted = {normalise_name(name) for name in followed}
    return [name for name in authors if normalise_name(name) in wanted]


class PaperMasks:
    """Masks over `papers` (in their order); `max_cached` bounds the cache."""

    def __init__(self, papers: Sequence[Paper], *, max_cached: int | None = None) -> None:
        self._count = len(papers)
        self._max_cached = MAX_CACHED_MASKS if max_cached is None else max_cached
        self._cache: OrderedDict[tuple[Kind, str], Mask] = OrderedDict()
        # Lower-cased apart, then joined: lower() can change a text's length.
        self._lowered = [paper_text(p).lower() for p in papers]
        self._corpus = "\n".join(self._lowered)
        self._starts = np.cumsum([0] + [len(t) + 1 for t in self._lowered[:-1]])
        self._holders: dict[str, dict[str, list[int]]] = {"category": {}, "author": {}}
        for index, paper in enumerate(papers):
            for category in dict.fromkeys(paper.categories):
                self._holders["category"].setdefault(category, []).append(index)
            for name in dict.fromkeys(map(normalise_name, paper.authors)):
                self._holders["author"].setdefault(name, []).append(index)

    def __len__(self) -> int:
        """How many masks are cached."""
        return len(self._cache)

    def any(self, values: tuple[str, ...], kind: Kind) -> Mask:
        """Papers having at least one of `values`."""
        result = np.zeros(self._count, dtype=bool)
        for value in values:
            result |= self.mask(kind, value)
        return result

    def mask(self, kind: Kind, value: str) -> Mask:
        """Which papers have `value` (a category, an author, an excluded term); cached."""
        key = (kind, value)
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        if len(self._cache) >= self._max_cached:
            self._cache.popitem(last=False)  # bounded: subscribers' terms are countless
        if kind == "exclude":
            mask = self._containing(value)
        else:
            holders = self._holders[kind].get(
                normalise_name(value) if kind == "author" else value, []
            )
            mask = np.zeros(self._count, dtype=bool)
            mask[holders] = True
        self._cache[key] = mask
        return mask

    def _containing(self, term: str) -> Mask:
        """Papers containing an excluded term: one regex scan over all the day's text."""
        found = np.zeros(self._count, dtype=bool)
        for match in occurrences(self._corpus, term):
            index = int(np.searchsorted(self._starts, match.start(), side="right")) - 1
            if match.end() <= self._starts[index] + len(self._lowered[index]):
                found[index] = True
            else:  # a multi-word match across two papers' text: decide each on its own
                for i in (index, index + 1):
                    found[i] = found[i] or contains_term(self._lowered[i], term)
        return found
