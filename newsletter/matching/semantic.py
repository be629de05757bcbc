"""Sentence-embedding similarity behind a small protocol; paper vectors are cached. Pure:
the model and the cache's storage are passed in."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from newsletter.domain import InterestProfile, Paper

Vectors = NDArray[np.float32]


class Embedder(Protocol):
    """Turns texts into L2-normalised vectors (rows); `name` identifies model and version."""

    name: str

    def embed(self, texts: Sequence[str]) -> Vectors: ...


class EmbeddingCache(Protocol):
    def get_many(self, model: str, keys: Sequence[str]) -> dict[str, Vectors]: ...

    def put_many(self, model: str, vectors: dict[str, Vectors]) -> None: ...


class MemoryEmbeddingCache:
    """For one process (the `rank` command, tests); the service keeps vectors in the DB."""

    def __init__(self) -> None:
        self._store: dict[tuple[str, str], Vectors] = {}

    def get_many(self, model: str, keys: Sequence[str]) -> dict[str, Vectors]:
        return {key: self._store[model, key] for key in keys if (model, key) in self._store}

    def put_many(self, model: str, vectors: dict[str, Vectors]) -> None:
        for key, vector in vectors.items():
            self._store[model, key] = vector


def paper_text(paper: Paper) -> str:
    return f"{paper.title}. {paper.abstract}"


def cache_key(paper: Paper) -> str:
    """Changes when the text does, so a new version's abstract is embedded again."""
    digest = hashlib.sha256(paper_text(paper).encode()).hexdigest()[:16]
    return f"{paper.id}:{digest}"


def cached_vectors(
    keys: Sequence[str], texts: Sequence[str], *, embedder: Embedder, cache: EmbeddingCache
) -> Vectors:
    """One row per text; only texts whose key the cache lacks go through the embedder."""
    known = cache.get_many(embedder.name, list(dict.fromkeys(keys)))
    missing = {key: text for key, text in zip(keys, texts, strict=True) if key not in known}
    if missing:
        fresh = embedder.embed(list(missing.values()))
        new = {key: fresh[row] for row, key in enumerate(missing)}
        cache.put_many(embedder.name, new)
        known.update(new)
    if not keys:
        return np.zeros((0, 0), np.float32)
    return np.vstack([known[key] for key in keys]).astype(np.float32)


def paper_vectors(papers: Sequence[Paper], *, embedder: Embedder, cache: EmbeddingCache) -> Vectors:
    """One row per paper, computed once per paper text and model, then read from `cache`."""
    return cached_vectors(
        [cache_key(p) for p in papers], [paper_text(p) for p in papers],
        embedder=embedder, cache=cache,
    )  # fmt: skip


def profile_text(profile: InterestProfile) -> str:
    """What the profile's own words say, as one text."""
    parts = [profile.description] if profile.description else []
    if profile.keywords:
        parts.append("; ".join(profile.keywords))
    return ". ".join(parts)


def profile_facets(profile: InterestProfile) -> list[str]:
    """The texts a profile is embedded as: all of it, the description, each keyword.

    Similarity to a paper is the mean over facets, so one broad keyword cannot dominate
    and a short keyword list is not drowned by a long description; on the development set
    this beat embedding the joined text alone (benchmarks/ranking.py).
    """
    whole = profile_text(profile)
    return list(dict.fromkeys(t for t in (whole, profile.description, *profile.keywords) if t))


def profile_vectors(
    facets: list[list[str]], *, embedder: Embedder, cache: EmbeddingCache | None
) -> Vectors:
    """One row per profile: the mean of its facet vectors (its dot product with a paper is
    the mean facet similarity). Facet vectors are cached by text, so a profile is embedded
    again only when its words change. Profiles without text get a zero row."""
    flat = [text for texts in facets for text in texts]
    if not flat:
        return np.zeros((len(facets), 0), np.float32)
    if cache is None:
        vectors = embedder.embed(flat)
    else:
        keys = ["text:" + hashlib.sha256(text.encode()).hexdigest()[:24] for text in flat]
        vectors = cached_vectors(keys, flat, embedder=embedder, cache=cache)
    rows = np.zeros((len(facets), vectors.shape[1]), np.float32)
    start = 0
    for row, texts in enumerate(facets):
        if texts:
            rows[row] = vectors[start : start + len(texts)].mean(axis=0)
        start += len(texts)
    return rows
