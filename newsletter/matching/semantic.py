"""Sentence-embedding similarity behind a small protocol; paper vectors are cached. Pure:
the model and the cache's storage are passed in.

A paper is embedded two ways, each once per paper text and model:
- whole: the normalised mean of its windows (title + consecutive sentences, each under the
  model's 256-token limit), so a long abstract is read whole instead of cut;
- sentences: its title and each abstract sentence apart (kept as one flattened row), for the
  sentence-level alignment with liked papers and for quoting the sentence that matches best.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from newsletter.domain import InterestProfile, Paper
from newsletter.matching.text import sentences

Vectors = NDArray[np.float32]
WHOLE_WORDS = 170  # a paper text this short (~240 word pieces) is embedded as one window
WINDOW_WORDS = 150  # else windows of the title + sentences up to this many words


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


def cache_key(paper: Paper, kind: str = "w") -> str:
    """Changes when the text does, so a new version's abstract is embedded again. `kind`
    "w" is the windows' mean, "s" the sentence set (the old key without a kind, a vector of
    the text cut at 256 tokens, is no longer read)."""
    digest = hashlib.sha256(paper_text(paper).encode()).hexdigest()[:16]
    return f"{kind}:{paper.id}:{digest}"


def paper_windows(paper: Paper) -> list[str]:
    """The texts whose vectors are averaged into the paper's vector."""
    whole = paper_text(paper)
    if len(whole.split()) <= WHOLE_WORDS:
        return [whole]
    windows: list[str] = []
    current: list[str] = []
    title_words = len(paper.title.split())
    count = title_words
    for sentence in sentences(paper.abstract):
        words = len(sentence.split())
        if current and count + words > WINDOW_WORDS:
            windows.append(f"{paper.title}. " + " ".join(current))
            current, count = [], title_words
        current.append(sentence)
        count += words
    if current:
        windows.append(f"{paper.title}. " + " ".join(current))
    return windows or [whole]


def paper_sentences(paper: Paper) -> list[str]:
    """The title, then each sentence of the abstract."""
    return [t for t in (paper.title, *sentences(paper.abstract)) if t.strip()] or [paper.id]


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
    """One row per paper (the normalised mean of its windows' vectors), computed once per
    paper text and model, then read from `cache`."""
    keys = [cache_key(p) for p in papers]
    known = _cached(
        papers, keys, embedder=embedder, cache=cache, texts=paper_windows, pool=_unit_mean
    )
    if not keys:
        return np.zeros((0, 0), np.float32)
    return np.vstack([known[key] for key in keys]).astype(np.float32)


def sentence_vectors(
    papers: Sequence[Paper], *, embedder: Embedder, cache: EmbeddingCache, dimensions: int
) -> list[Vectors]:
    """Per paper, one row per `paper_sentences` entry; cached as one flattened vector (the
    cache stores vectors), so `dimensions` (the model's) turns it back into rows."""
    keys = [cache_key(p, "s") for p in papers]
    known = _cached(papers, keys, embedder=embedder, cache=cache, texts=paper_sentences, pool=_rows)
    return [np.asarray(known[key], np.float32).reshape(-1, dimensions) for key in keys]


def _cached(
    papers: Sequence[Paper],
    keys: Sequence[str],
    *,
    embedder: Embedder,
    cache: EmbeddingCache,
    texts: Callable[[Paper], list[str]],
    pool: Callable[[Vectors], Vectors],
) -> dict[str, Vectors]:
    """Each key's vector from `cache`; the papers it lacks get `texts` embedded in one batch,
    turned into one vector each by `pool`, and stored."""
    known = cache.get_many(embedder.name, list(dict.fromkeys(keys)))
    missing = {key: p for key, p in zip(keys, papers, strict=True) if key not in known}
    if missing:
        groups = [texts(p) for p in missing.values()]
        flat = embedder.embed([text for group in groups for text in group])
        fresh: dict[str, Vectors] = {}
        start = 0
        for key, group in zip(missing, groups, strict=True):
            fresh[key] = pool(flat[start : start + len(group)])
            start += len(group)
        cache.put_many(embedder.name, fresh)
        known.update(fresh)
    return known


def _unit_mean(rows: Vectors) -> Vectors:
    """A paper's vector: the normalised mean of its windows' vectors."""
    mean: Vectors = rows.mean(axis=0)
    unit: Vectors = (mean / max(float(np.linalg.norm(mean)), 1e-12)).astype(np.float32)
    return unit


def _rows(rows: Vectors) -> Vectors:
    """A paper's sentence vectors, flattened into one (the cache stores vectors)."""
    return np.asarray(rows, np.float32).ravel()


def alignment(first: Vectors, second: Vectors) -> float:
    """Sentence-level closeness of two papers: each sentence's best match in the other paper,
    averaged, both ways (a symmetric Chamfer similarity)."""
    sims = first @ second.T
    return float((sims.max(axis=1).mean() + sims.max(axis=0).mean()) / 2)


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


def facet_vectors(
    facets: list[list[str]], *, embedder: Embedder, cache: EmbeddingCache | None
) -> list[Vectors]:
    """Per profile, one row per facet text (cached by text, like `profile_vectors`)."""
    flat = [text for texts in facets for text in texts]
    if not flat:
        return [np.zeros((0, 0), np.float32) for _ in facets]
    if cache is None:
        vectors = embedder.embed(flat)
    else:
        keys = ["text:" + hashlib.sha256(text.encode()).hexdigest()[:24] for text in flat]
        vectors = cached_vectors(keys, flat, embedder=embedder, cache=cache)
    out = []
    start = 0
    for texts in facets:
        out.append(np.asarray(vectors[start : start + len(texts)], np.float32))
        start += len(texts)
    return out


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
