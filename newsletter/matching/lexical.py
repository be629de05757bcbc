"""BM25F over title and abstract, with phrases, as sparse matrices so that many profiles
are scored against the day's papers in one product. Pure."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from newsletter.domain import InterestProfile, Paper
from newsletter.matching.text import content_stems, ngram_counts, phrase_key

# Robertson's usual constants; the title counts as 2.5 abstract words (BM25F field weight).
K1 = 1.2
B = 0.75
FIELD_WEIGHTS = {"title": 2.5, "abstract": 1.0}
# Query term weights: words the person chose as keywords count more than description words.
DESCRIPTION_WEIGHT = 1.0
KEYWORD_WEIGHT = 1.5
PHRASE_WEIGHT = 2.0
EXAMPLE_WEIGHT = 0.5  # each distinctive word of a paper the person liked
EXAMPLE_TERMS = 10
PHRASE_SIZES = frozenset({2, 3, 4})


def query_terms(profile: InterestProfile, *, example_terms: Iterable[str] = ()) -> dict[str, float]:
    """Feature -> weight: stems, multi-word keywords as phrases (``"mixtur expert"``), and
    the distinctive words of liked papers (Rocchio-style query expansion)."""
    weights: dict[str, float] = {}

    def add(feature: str, weight: float) -> None:
        weights[feature] = weights.get(feature, 0.0) + weight

    for term in dict.fromkeys(content_stems(profile.description)):
        add(term, DESCRIPTION_WEIGHT)
    for keyword in profile.keywords:
        stems = content_stems(keyword)
        for term in dict.fromkeys(stems):
            add(term, KEYWORD_WEIGHT)
        if len(stems) > 1:
            add(phrase_key(stems), PHRASE_WEIGHT)
    for term in example_terms:
        add(term, EXAMPLE_WEIGHT)
    return weights


@dataclass
class LexicalIndex:
    """BM25F weights of the day's papers; features are stems and, on demand, phrases."""

    papers: Sequence[Paper]
    _fields: list[dict[str, list[str]]] = field(init=False)
    _avg_len: dict[str, float] = field(init=False)
    _rows: dict[str, int] = field(default_factory=dict, init=False)
    _idf: dict[str, float] = field(default_factory=dict, init=False)
    _row_weights: list[NDArray[np.float32]] = field(default_factory=list, init=False)
    _matrix: sp.csr_matrix | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self._fields = [
            {"title": content_stems(p.title), "abstract": content_stems(p.abstract)}
            for p in self.papers
        ]
        count = max(len(self.papers), 1)
        self._avg_len = {
            name: max(sum(len(f[name]) for f in self._fields) / count, 1.0)
            for name in FIELD_WEIGHTS
        }
        # Every stem of every paper now; phrases are added when a profile asks for one.
        stems = sorted({s for f in self._fields for words in f.values() for s in words})
        self._add_features(stems)

    def row(self, feature: str) -> int | None:
        """The matrix row of `feature`, or None when no paper contains it."""
        if feature not in self._rows and " " in feature:
            self._add_features([feature])
        return self._rows.get(feature)

    def distinctive_terms(self, paper: Paper, count: int = EXAMPLE_TERMS) -> list[str]:
        """The stems that best characterise `paper` among the day's papers (tf x idf)."""
        counts = Counter(content_stems(paper.title) + content_stems(paper.abstract))
        scored = [(n * self._idf[s], s) for s, n in counts.items() if s in self._idf]
        scored.sort(key=lambda item: (-item[0], item[1]))
        return [stem for _, stem in scored[:count]]

    @property
    def matrix(self) -> sp.csr_matrix:
        """Features x papers, BM25F weight of each feature in each paper."""
        if self._matrix is None or self._matrix.shape[0] != len(self._row_weights):
            self._matrix = (
                sp.csr_matrix(np.vstack(self._row_weights))
                if self._row_weights
                else (sp.csr_matrix((0, len(self.papers)), dtype=np.float32))
            )
        return self._matrix

    def query_matrix(self, queries: Iterable[Mapping[str, float]]) -> sp.csr_matrix:
        """Profiles x features; features no paper has are dropped (they cannot score)."""
        data: list[float] = []
        cols: list[int] = []
        indptr = [0]
        for query in queries:
            for feature, weight in query.items():
                row = self.row(feature)
                if row is not None:
                    cols.append(row)
                    data.append(weight)
            indptr.append(len(cols))
        shape = (len(indptr) - 1, len(self._row_weights))
        return sp.csr_matrix((np.asarray(data, np.float32), cols, indptr), shape=shape)

    def scores(self, queries: sp.csr_matrix) -> NDArray[np.float32]:
        """Profiles x papers raw BM25F scores (a dense block: callers bound its rows)."""
        return np.asarray((queries @ self.matrix).toarray(), dtype=np.float32)

    def _add_features(self, features: Sequence[str]) -> None:
        for feature in features:
            weights = self._feature_weights(feature)
            if weights is not None:
                self._rows[feature] = len(self._row_weights)
                self._row_weights.append(weights)

    def _feature_weights(self, feature: str) -> NDArray[np.float32] | None:
        size = feature.count(" ") + 1
        n = len(self.papers)
        tf = np.zeros(n, np.float32)
        for index, fields in enumerate(self._fields):
            pseudo = 0.0
            for name, words in fields.items():
                count = _count(words, feature, size)
                if count:
                    norm = 1 - B + B * len(words) / self._avg_len[name]
                    pseudo += FIELD_WEIGHTS[name] * count / norm
            tf[index] = pseudo
        df = int(np.count_nonzero(tf))
        if df == 0:
            return None
        idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
        self._idf[feature] = idf
        return np.asarray(idf * tf * (K1 + 1) / (tf + K1), np.float32)


def _count(words: list[str], feature: str, size: int) -> int:
    if size == 1:
        return words.count(feature)
    return ngram_counts(words, frozenset({size})).get(feature, 0)
