"""The labelled sets of benchmarks/learning.py as simulated readers, and a vector cache on disk.

- Development set (benchmarks/devset): 12 interests over one pool of 205 papers, graded 0/1/2;
  a reader's taste is "grade >= 1 is relevant".
- CSFCube half (read from ../shared/data/csfcube_dev when present; CC BY-NC 4.0, so never
  copied into the repository): one reader per query paper and facet, the pool being that
  query's candidates (the query paper itself left out), graded 0-3; a reader's taste is
  "grade >= 1 is relevant" (every grade nDCG counts as a gain; `--csfcube-relevant 2`
  takes the collection's cut for MAP instead).

Vectors (all-MiniLM-L6-v2, or the benchmark-only hashing stand-in) are computed once, with one
torch thread (the CPU is shared), and kept in an .npz file per model in `--cache DIR`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from ranking import find_csfcube, load_csfcube, load_interests, load_pool

from newsletter.domain import InterestProfile, Paper
from newsletter.matching.semantic import Embedder, Vectors

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "newsletter-bench"


@dataclass(frozen=True)
class Reader:
    """One simulated reader: a pool of papers, their grades, and what the reader starts from."""

    set_name: str
    reader_id: str
    group: str  # readers sharing papers (one CSFCube query's facets) are held out together
    pool: tuple[Paper, ...]
    grades: dict[str, int]
    relevant_from: int  # a grade at least this is "relevant": the reader votes "more like this"
    interest: InterestProfile  # the one-line written interest
    liked: tuple[Paper, ...]  # the "liked papers" start: papers outside the pool
    liked_in_pool: bool  # dev: the 3 liked papers are drawn from the pool (per seed)

    def relevant(self, paper_id: str) -> bool:
        return self.grades.get(paper_id, 0) >= self.relevant_from


def dev_readers() -> list[Reader]:
    pool = tuple(load_pool())
    return [
        Reader(
            set_name="dev",
            reader_id=interest_id,
            group=interest_id,
            pool=pool,
            grades=grades,
            relevant_from=1,
            interest=InterestProfile(description=profile.description),
            liked=(),
            liked_in_pool=True,
        )
        for interest_id, profile, grades in load_interests()
    ]


def csfcube_folder() -> Path | None:
    return find_csfcube(ROOT)


def csfcube_readers(folder: Path | None, *, relevant_from: int = 1) -> list[Reader]:
    """One reader per query-facet pair, named by facet and the query's place among the
    half's query papers ("method/q03"): CSFCube ids stay in ../shared, out of the tables."""
    if folder is None or not (folder / "papers.jsonl").exists():
        return []
    pools = load_csfcube(folder)
    label = {query: f"q{n:02d}" for n, query in enumerate(sorted({p.query.id for p in pools}), 1)}
    return [
        Reader(
            set_name="csfcube",
            reader_id=f"{pool.facet}/{label[pool.query.id]}",
            group=label[pool.query.id],
            pool=tuple(pool.papers),
            grades={p.id: int(pool.grades[p.id]) for p in pool.papers},
            relevant_from=relevant_from,
            interest=InterestProfile(description=pool.query.title),
            liked=(pool.query,),
            liked_in_pool=False,
        )
        for pool in pools
    ]


class FileEmbeddingCache:
    """An `EmbeddingCache` kept in memory and saved to one .npz file per model on `save()`.

    Entries differ in length (a paper's vector; its sentence vectors flattened into one), so
    the file holds them end to end with each one's length. Files of the older layout (one
    row per key, all the same length) are still read."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._store: dict[str, dict[str, Vectors]] = {}
        self._dirty: set[str] = set()

    def _path(self, model: str) -> Path:
        return self.folder / (model.replace("/", "_") + ".npz")

    def _model(self, model: str) -> dict[str, Vectors]:
        if model not in self._store:
            self._store[model] = {}
            path = self._path(model)
            if path.exists():
                with np.load(path) as data:
                    keys = [str(k) for k in data["keys"]]
                    if "flat" in data:
                        ends = np.cumsum(data["sizes"])
                        rows = np.split(data["flat"], ends[:-1]) if len(keys) else []
                    else:
                        rows = list(data["vectors"])
                self._store[model] = dict(zip(keys, rows, strict=True))
        return self._store[model]

    def get_many(self, model: str, keys: Sequence[str]) -> dict[str, Vectors]:
        store = self._model(model)
        return {key: store[key] for key in keys if key in store}

    def put_many(self, model: str, vectors: dict[str, Vectors]) -> None:
        self._model(model).update(vectors)
        self._dirty.add(model)

    def save(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        for model in sorted(self._dirty):
            store = self._store[model]
            keys = sorted(store)
            rows = [np.asarray(store[k], np.float32).ravel() for k in keys]
            flat = np.concatenate(rows) if rows else np.zeros(0, np.float32)
            sizes = np.array([len(r) for r in rows], np.int64)
            np.savez(self._path(model), keys=np.array(keys), flat=flat, sizes=sizes)
        self._dirty.clear()


class LazyMiniLM:
    """all-MiniLM-L6-v2 loaded on the first text the cache lacks, with one torch thread."""

    name = "all-MiniLM-L6-v2"

    def __init__(self) -> None:
        self._model: Embedder | None = None

    def embed(self, texts: Sequence[str]) -> Vectors:
        if self._model is None:
            import torch

            from newsletter.matching.embedding import SentenceTransformerEmbedder

            torch.set_num_threads(1)
            self._model = SentenceTransformerEmbedder(self.name)
        return self._model.embed(texts)


def corpus_centre(vectors: NDArray[np.float32]) -> NDArray[np.float32]:
    return np.asarray(vectors.mean(axis=0), np.float32)
