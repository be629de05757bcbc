"""The ranker: lexical and semantic relevance fused with category, author and example-paper
signals into one score per (profile, paper); all profiles scored in bounded chunks. Pure."""

from __future__ import annotations

import logging
import unicodedata
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

from newsletter.domain import CategoryMode, InterestProfile, Match, Paper
from newsletter.matching.exclusions import contains_term, occurrences, paper_text
from newsletter.matching.explain import Explanation, explain
from newsletter.matching.lexical import LexicalIndex, query_terms
from newsletter.matching.semantic import (
    Embedder,
    EmbeddingCache,
    MemoryEmbeddingCache,
    Vectors,
    paper_vectors,
    profile_facets,
    profile_vectors,
)

log = logging.getLogger(__name__)
Key = TypeVar("Key")
MAX_CACHED_MASKS = 20_000  # category/author/excluded-term masks kept (least recently used go)
Mask = NDArray[np.bool_]


@dataclass(frozen=True)
class Weights:
    """Global constants of the fusion (never per profile), set on the development set."""

    semantic_share: float = 0.6  # of the text relevance; the rest is lexical
    lexical_scale: float = 8.0  # BM25F evidence saturates as 1 - exp(-score / scale)
    category_boost: float = 0.05
    author_boost: float = 0.5  # enough on its own: a followed author's paper is shown
    dislike_penalty: float = 0.5
    min_score: float = 0.4  # keeps ~90% of highly relevant papers on the development set


def _followed(authors: tuple[str, ...], followed: tuple[str, ...]) -> list[str]:
    """The paper's authors (as the paper writes them) that the profile follows."""
    wanted = {normalise_name(name) for name in followed}
    return [name for name in authors if normalise_name(name) in wanted]


def normalise_name(name: str) -> str:
    """Accents and case folded away, so "Jörg Hoffmann" matches "Jorg Hoffmann"."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())


@dataclass
class Ranker:
    """Ranks `papers` (the day's) for any number of profiles.

    `known_papers` lets seed and disliked ids outside the day's papers be used as examples.
    Paper vectors go through `cache`; profile vectors through `profile_cache` when one is
    given (the database in the service: profiles change rarely), else they are embedded per
    call and not kept, so memory never grows with the number of subscribers.
    """

    papers: Sequence[Paper]
    embedder: Embedder | None = None
    cache: EmbeddingCache = field(default_factory=MemoryEmbeddingCache)
    profile_cache: EmbeddingCache | None = None
    weights: Weights = field(default_factory=Weights)
    known_papers: Sequence[Paper] = ()
    _lexical: LexicalIndex = field(init=False)
    _vectors: Vectors | None = field(init=False)
    _tie_rank: NDArray[np.int64] = field(init=False)
    _lowered: list[str] = field(init=False)
    _masks: OrderedDict[tuple[str, str], Mask] = field(default_factory=OrderedDict, init=False)

    def __post_init__(self) -> None:
        self.papers = list(self.papers)
        self._lexical = LexicalIndex(self.papers)
        # Lower-cased apart, then joined: lower() can change a text's length.
        self._lowered = [paper_text(p).lower() for p in self.papers]
        self._corpus = "\n".join(self._lowered)
        self._starts = np.cumsum([0] + [len(t) + 1 for t in self._lowered[:-1]])
        ids = np.array([p.id for p in self.papers], dtype=object)
        self._tie_rank = np.argsort(np.argsort(ids, kind="stable"), kind="stable")
        self._by_id = {p.id: p for p in [*self.known_papers, *self.papers]}
        self._row = {p.id: index for index, p in enumerate(self.papers)}
        self._examples: dict[str, Vectors] = {}
        self._holders: dict[str, dict[str, list[int]]] = {"category": {}, "author": {}}
        for index, paper in enumerate(self.papers):
            for category in dict.fromkeys(paper.categories):
                self._holders["category"].setdefault(category, []).append(index)
            for name in dict.fromkeys(map(normalise_name, paper.authors)):
                self._holders["author"].setdefault(name, []).append(index)
        self._vectors = None
        if self.embedder is not None and self.papers:
            self._vectors = paper_vectors(self.papers, embedder=self.embedder, cache=self.cache)

    def rank(self, profile: InterestProfile, *, limit: int = 10) -> list[Match]:
        ((_, matches),) = self.rank_many([(None, profile)], limit=limit)
        return matches

    def rank_many(
        self,
        profiles: Iterable[tuple[Key, InterestProfile]],
        *,
        limit: int = 10,
        chunk_size: int = 2_000,
        explain_matches: bool = True,
    ) -> Iterator[tuple[Key, list[Match]]]:
        """(key, best matches) per profile; memory grows with `chunk_size`, not the count."""
        iterator = iter(profiles)
        while chunk := list(islice(iterator, chunk_size)):
            batch = [profile for _, profile in chunk]
            queries = [self._query(profile) for profile in batch]
            scores, allowed, similarity = self._score(batch, queries)
            for row, (key, profile) in enumerate(chunk):
                picks = self._select(scores[row], allowed[row], limit)
                yield (
                    key,
                    [
                        self._match(
                            profile,
                            queries[row],
                            int(i),
                            float(scores[row, i]),
                            None if similarity is None else float(similarity[row, i]),
                            explain_matches,
                        )
                        for i in picks
                    ],
                )

    def _query(self, profile: InterestProfile) -> dict[str, float]:
        liked = [self._by_id[i] for i in profile.seed_papers if i in self._by_id]
        terms = [t for paper in liked for t in self._lexical.distinctive_terms(paper)]
        return query_terms(profile, example_terms=terms)

    def _score(
        self, profiles: list[InterestProfile], queries: list[dict[str, float]]
    ) -> tuple[NDArray[np.float32], Mask, NDArray[np.float32] | None]:
        w = self.weights
        raw = self._lexical.scores(self._lexical.query_matrix(queries))
        text = 1.0 - np.exp(-raw / w.lexical_scale)
        similarity = self._similarity(profiles) if self._vectors is not None else None
        if similarity is not None:
            text = w.semantic_share * np.clip(similarity, 0, None) + (1 - w.semantic_share) * text
        allowed = np.ones(text.shape, dtype=bool)
        for row, profile in enumerate(profiles):
            in_category = self._any(profile.categories, "category")
            by_author = self._any(profile.authors, "author")
            # Words that can match, words to embed, or a liked paper that is known; a
            # stop-word description or an unknown seed id alone must not hide categories.
            has_text = bool(queries[row]) or (
                similarity is not None and bool(profile_facets(profile))
            )
            base = text[row] if has_text else 0.5 * in_category
            text[row] = base + w.category_boost * in_category + w.author_boost * by_author
            allowed[row] = ~self._any(profile.exclude, "exclude")
            if profile.category_mode is CategoryMode.FILTER and profile.categories:
                allowed[row] &= in_category
        allowed &= text >= w.min_score
        return np.round(text, 6).astype(np.float32), allowed, similarity

    def _similarity(self, profiles: list[InterestProfile]) -> NDArray[np.float32]:
        assert self._vectors is not None
        assert self.embedder is not None
        facets = [profile_facets(p) for p in profiles]
        vectors = profile_vectors(facets, embedder=self.embedder, cache=self.profile_cache)
        if vectors.size:
            sims = np.asarray(vectors @ self._vectors.T, np.float32)
        else:
            sims = np.zeros((len(profiles), len(self.papers)), np.float32)
        for row, profile in enumerate(profiles):
            liked = self._example_vectors(profile.seed_papers)
            if liked is not None:
                sims[row] = np.maximum(sims[row], (liked @ self._vectors.T).max(axis=0))
            disliked = self._example_vectors(profile.disliked_papers)
            if disliked is not None:
                closeness = np.clip((disliked @ self._vectors.T).max(axis=0), 0, None)
                sims[row] -= self.weights.dislike_penalty * closeness
        return sims

    def _example_vectors(self, ids: tuple[str, ...]) -> Vectors | None:
        """Vectors of the known papers among `ids`: the day's from the index, others read
        (or embedded) once and kept, since many profiles like the same few papers."""
        known = [i for i in ids if i in self._by_id]
        if not known or self.embedder is None or self._vectors is None:
            return None
        fetch = [i for i in known if i not in self._row and i not in self._examples]
        if fetch:
            found = paper_vectors(
                [self._by_id[i] for i in fetch], embedder=self.embedder, cache=self.cache
            )
            self._examples.update(zip(fetch, found, strict=True))
        return np.vstack(
            [self._vectors[self._row[i]] if i in self._row else self._examples[i] for i in known]
        )

    def _any(self, values: tuple[str, ...], kind: str) -> Mask:
        result = np.zeros(len(self.papers), dtype=bool)
        for value in values:
            result |= self._mask(kind, value)
        return result

    def _mask(self, kind: str, value: str) -> Mask:
        """Which papers have `value` (a category, an author, an excluded term); cached."""
        key = (kind, value)
        if key in self._masks:
            self._masks.move_to_end(key)
        else:
            if len(self._masks) >= MAX_CACHED_MASKS:
                self._masks.popitem(last=False)  # bounded: subscribers' terms are countless
            if kind == "exclude":
                self._masks[key] = self._containing(value)
            else:
                holders = self._holders[kind].get(
                    normalise_name(value) if kind == "author" else value, []
                )
                mask = np.zeros(len(self.papers), dtype=bool)
                mask[holders] = True
                self._masks[key] = mask
        return self._masks[key]

    def _containing(self, term: str) -> Mask:
        """Papers containing an excluded term: one regex scan over all the day's text."""
        found = np.zeros(len(self.papers), dtype=bool)
        for match in occurrences(self._corpus, term):
            index = int(np.searchsorted(self._starts, match.start(), side="right")) - 1
            if match.end() <= self._starts[index] + len(self._lowered[index]):
                found[index] = True
            else:  # a multi-word match across two papers' text: decide each on its own
                for i in (index, index + 1):
                    found[i] = found[i] or contains_term(self._lowered[i], term)
        return found

    def _select(self, scores: NDArray[np.float32], allowed: Mask, limit: int) -> list[int]:
        candidates = np.flatnonzero(allowed)
        if len(candidates) > limit:
            # Keep the best `limit` and everything tied with the last of them, then sort.
            kth = np.partition(-scores[candidates], limit - 1)[limit - 1]
            candidates = candidates[-scores[candidates] <= kth]
        # Best score first; equal scores in paper-id order, so ranking is deterministic.
        order = np.lexsort((self._tie_rank[candidates], -scores[candidates]))
        return [int(i) for i in candidates[order[:limit]]]

    def _closest_liked(self, profile: InterestProfile, index: int) -> Paper | None:
        liked = [self._by_id[i] for i in profile.seed_papers if i in self._by_id]
        vectors = self._example_vectors(profile.seed_papers)
        if vectors is None or self._vectors is None:
            return None
        return liked[int(np.argmax(vectors @ self._vectors[index]))]

    def _match(
        self,
        profile: InterestProfile,
        features: dict[str, float],
        index: int,
        score: float,
        similarity: float | None,
        explain_it: bool,
    ) -> Match:
        paper = self.papers[index]
        explanation = Explanation(why=(), highlights=())
        if explain_it:
            explanation = explain(
                paper,
                features=features,
                similarity=similarity,
                interest=profile.description or "; ".join(profile.keywords),
                liked=self._closest_liked(profile, index) if similarity is not None else None,
                categories=[c for c in profile.categories if c in paper.categories],
                authors=_followed(paper.authors, profile.authors),
            )
        return Match(paper, round(score, 4), explanation.why, explanation.highlights)
