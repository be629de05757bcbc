"""BM25F over title and abstract, with phrases, as sparse matrices so that many profiles
are scored against the day's papers in one product. Pure."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from newsletter.domain import InterestProfile, Paper
from newsletter.matching.text import content_stems, phrase_key

# Robertson's usual constants; the title counts as 2.5 abstract words (BM25F field weight).
K1 = 1.2
B = 0.75
FIELDS = ("title", "abstract")
FIELD_WEIGHTS = {"title": 2.5, "abstract": 1.0}
# Query term weights: words the person chose as keywords count more than description words.
DESCRIPTION_WEIGHT = 1.0
KEYWORD_WEIGHT = 1.5
PHRASE_WEIGHT = 2.0
EXAMPLE_WEIGHT = 0.5  # each distinctive word of a paper the person liked
EXAMPLE_TERMS = 10
MAX_REMEMBERED_MISSES = 100_000


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


def profile_features(profile: InterestProfile) -> dict[str, float]:
    """The profile's own words as a TF-IDF query: each stem of the description and keywords
    and each multi-word keyword as a phrase, all weight 1 (the idf weighs them; on the
    development set flat weights ranked as well as favouring keywords: benchmarks/ranking.py)."""
    return dict.fromkeys(query_terms(profile), 1.0)


def keyword_features(profile: InterestProfile) -> list[str]:
    """One feature per keyword: its stem, or its stems as a phrase."""
    found = []
    for keyword in profile.keywords:
        stems = content_stems(keyword)
        if stems:
            found.append(phrase_key(stems))
    return list(dict.fromkeys(found))


def document_terms(paper: Paper) -> dict[str, float]:
    """A whole paper as a query (a liked paper): its stems, sublinear tf weights."""
    counts = Counter(content_stems(paper.title) + content_stems(paper.abstract))
    return {stem: 1.0 + float(np.log(n)) for stem, n in counts.items()}


def _saturate(tf: NDArray[np.float64], idf: float) -> NDArray[np.float64]:
    return np.asarray(idf * tf * (K1 + 1) / (tf + K1))


def _idf(df: NDArray[np.float64] | float, n: int) -> NDArray[np.float64]:
    return np.asarray(np.log1p((n - np.asarray(df) + 0.5) / (np.asarray(df) + 0.5)))


@dataclass
class LexicalIndex:
    """BM25F and TF-IDF weights of the day's papers. Every stem is a feature from the start;
    a phrase becomes one when a profile first asks for it, found through positional postings.

    TF-IDF (sublinear tf, smoothed idf, papers L2-normalised over their stems) gives the cosine
    the ranker uses; it is the lexical evidence that measured best on both labelled sets
    (BM25F, kept for `scores`, ranks liked-paper queries far worse: benchmarks/ranking.py).
    A feature's title hits are kept too: the user's own keyword in a title is strong evidence.
    """

    papers: Sequence[Paper]
    _rows: dict[str, int] = field(default_factory=dict, init=False)
    _idf: dict[str, float] = field(default_factory=dict, init=False)
    _absent: set[str] = field(default_factory=set, init=False)
    _positions: list[dict[str, dict[str, list[int]]]] = field(init=False)
    _holders: dict[str, set[int]] = field(init=False)
    _norms: dict[str, NDArray[np.float64]] = field(init=False)
    _blocks: list[sp.csr_matrix] = field(default_factory=list, init=False)
    _matrix: sp.csr_matrix | None = field(default=None, init=False)
    _tfidf_blocks: list[sp.csr_matrix] = field(default_factory=list, init=False)
    _tfidf: sp.csr_matrix | None = field(default=None, init=False)
    _title_blocks: list[sp.csr_matrix] = field(default_factory=list, init=False)
    _titles: sp.csr_matrix | None = field(default=None, init=False)
    _tfidf_idf: list[float] = field(default_factory=list, init=False)  # per row
    _paper_norms: NDArray[np.float64] = field(init=False)

    def __post_init__(self) -> None:
        self._positions = []
        self._holders = {}
        lengths = {name: np.zeros(len(self.papers)) for name in FIELDS}
        for index, paper in enumerate(self.papers):
            per_field: dict[str, dict[str, list[int]]] = {}
            for name, text in zip(FIELDS, (paper.title, paper.abstract), strict=True):
                where, lengths[name][index] = _stem_positions(text)
                for stem in where:
                    self._holders.setdefault(stem, set()).add(index)
                per_field[name] = where
            self._positions.append(per_field)
        self._norms = {
            name: 1 - B + B * lengths[name] / max(float(lengths[name].mean()), 1.0)
            if len(self.papers)
            else lengths[name]
            for name in FIELDS
        }
        self._add_stems()
        squares = np.asarray(self.tfidf.multiply(self.tfidf).sum(axis=0)).ravel()
        self._paper_norms = np.sqrt(np.where(squares > 0, squares, 1.0))

    def df(self, feature: str) -> int:
        """How many of the day's papers contain `feature` (0 when none or unknown)."""
        row = self.row(feature)
        return 0 if row is None else int(self.matrix.indptr[row + 1] - self.matrix.indptr[row])

    @property
    def tfidf(self) -> sp.csr_matrix:
        """Features x papers, (1 + ln tf) x smoothed idf (not normalised: see `cosine`)."""
        if self._tfidf is None or self._tfidf.shape[0] != len(self._rows):
            if self._tfidf_blocks:
                self._tfidf = sp.csr_matrix(sp.vstack(self._tfidf_blocks, format="csr"))
                self._titles = sp.csr_matrix(sp.vstack(self._title_blocks, format="csr"))
            else:
                self._tfidf = sp.csr_matrix((0, len(self.papers)), dtype=np.float32)
                self._titles = self._tfidf
        return self._tfidf

    def cosine(self, queries: Iterable[Mapping[str, float]]) -> NDArray[np.float32]:
        """Profiles x papers TF-IDF cosine: each query's weights times idf, L2-normalised,
        against papers normalised over their stems (phrases add evidence, not length)."""
        q = self.query_matrix(queries)
        matrix = self.tfidf
        if q.nnz:
            idf = np.asarray(self._tfidf_idf, np.float32)
            q = sp.csr_matrix(q.multiply(idf[None, :]))
            norms = np.sqrt(np.asarray(q.multiply(q).sum(axis=1)).ravel())
            q = sp.csr_matrix(sp.diags(1.0 / np.where(norms > 0, norms, 1.0)) @ q)
        scores = np.asarray((q @ matrix).toarray()) / self._paper_norms[None, :]
        return scores.astype(np.float32)

    def title_hits(self, features: Iterable[str]) -> NDArray[np.bool_]:
        """Papers whose title contains any of `features` (stems or phrases)."""
        rows = [r for r in (self.row(f) for f in features) if r is not None]
        found = np.zeros(len(self.papers), dtype=bool)
        if rows:
            self.tfidf  # noqa: B018  (stacks the title blocks too)
            assert self._titles is not None
            found[self._titles[rows].indices] = True
        return found

    def row(self, feature: str) -> int | None:
        """The matrix row of `feature`, or None when no paper contains it."""
        if feature not in self._rows and " " in feature and feature not in self._absent:
            self._add_features([feature])
            if feature not in self._rows:
                if len(self._absent) >= MAX_REMEMBERED_MISSES:
                    self._absent.clear()
                self._absent.add(feature)  # no paper has it: do not look again
        return self._rows.get(feature)

    @property
    def matrix(self) -> sp.csr_matrix:
        """Features x papers, BM25F weight of each feature in each paper."""
        if self._matrix is None or self._matrix.shape[0] != len(self._rows):
            self._matrix = sp.csr_matrix(
                sp.vstack(self._blocks, format="csr")
                if self._blocks
                else sp.csr_matrix((0, len(self.papers)), dtype=np.float32)
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
        shape = (len(indptr) - 1, len(self._rows))
        return sp.csr_matrix((np.asarray(data, np.float32), cols, indptr), shape=shape)

    def scores(self, queries: sp.csr_matrix) -> NDArray[np.float32]:
        """Profiles x papers raw BM25F scores (a dense block: callers bound its rows)."""
        return np.asarray((queries @ self.matrix).toarray(), dtype=np.float32)

    def distinctive_terms(self, paper: Paper, count: int = EXAMPLE_TERMS) -> list[str]:
        """The stems that best characterise `paper` among the day's papers (tf x idf)."""
        counts = Counter(content_stems(paper.title) + content_stems(paper.abstract))
        scored = [(n * self._idf[s], s) for s, n in counts.items() if s in self._idf]
        scored.sort(key=lambda item: (-item[0], item[1]))
        return [stem for _, stem in scored[:count]]

    def _add_stems(self) -> None:
        """Every single stem as a feature, in one vectorised block (the same numbers as
        `_add_features` gives each stem, without its per-feature overhead: the index of a
        reader's examples is built on every refit)."""
        stems = sorted(self._holders)
        row_of = {stem: row for row, stem in enumerate(stems)}
        entries: list[tuple[int, int, int, int]] = []  # stem row, paper, title n, abstract n
        for paper, where in enumerate(self._positions):
            title, abstract = where["title"], where["abstract"]
            for stem in title.keys() | abstract.keys():
                entries.append(
                    (row_of[stem], paper, len(title.get(stem, ())), len(abstract.get(stem, ())))
                )
        if not entries:
            return
        rows, papers, in_title, in_abstract = np.array(sorted(entries), np.int64).T
        n = len(self.papers)
        df = np.bincount(rows, minlength=len(stems))
        tf = np.zeros(len(rows))
        for name, raw in (("title", in_title), ("abstract", in_abstract)):
            tf += FIELD_WEIGHTS[name] * raw / self._norms[name][papers]
        idf = _idf(df.astype(np.float64), n)
        smooth = np.log((1 + n) / (1 + df)) + 1.0
        tfidf = (1.0 + np.log(np.maximum(in_title + in_abstract, 1.0))) * smooth[rows]
        indptr = np.concatenate([[0], np.cumsum(df)])
        shape = (len(stems), n)
        self._idf.update(zip(stems, idf.tolist(), strict=True))
        self._tfidf_idf.extend(smooth.tolist())
        self._rows.update(row_of)
        bm25 = np.asarray(_saturate(tf, idf[rows]), np.float32)
        self._blocks.append(sp.csr_matrix((bm25, papers, indptr), shape=shape))
        self._tfidf_blocks.append(
            sp.csr_matrix((np.asarray(tfidf, np.float32), papers, indptr), shape=shape)
        )
        titled = in_title > 0
        title_ptr = np.concatenate([[0], np.cumsum(np.bincount(rows[titled], minlength=shape[0]))])
        ones = np.ones(int(titled.sum()), np.float32)
        self._title_blocks.append(sp.csr_matrix((ones, papers[titled], title_ptr), shape=shape))
        self._matrix = self._tfidf = None

    def _add_features(self, features: Sequence[str]) -> None:
        """Append one sparse block of rows for the features some paper contains."""
        data: list[float] = []
        cols: list[int] = []
        indptr = [0]
        tfidf: list[float] = []
        title_cols: list[int] = []
        title_ptr = [0]
        n = len(self.papers)
        for feature in features:
            counts = self._counts(feature.split(" "))
            if not counts:
                continue
            papers = np.fromiter(counts, dtype=np.int64, count=len(counts))
            tf = np.zeros(len(papers))
            for name in FIELDS:
                raw = np.array([counts[p][name] for p in papers], dtype=np.float64)
                tf += FIELD_WEIGHTS[name] * raw / self._norms[name][papers]
            idf = float(_idf(len(papers), n))
            self._idf[feature] = idf
            order = np.argsort(papers)
            cols.extend(papers[order].tolist())
            data.extend(_saturate(tf[order], idf).tolist())
            indptr.append(len(cols))
            raw = np.array([sum(counts[p].values()) for p in papers[order]], dtype=np.float64)
            smooth = float(np.log((1 + n) / (1 + len(papers))) + 1.0)
            self._tfidf_idf.append(smooth)
            tfidf.extend(((1.0 + np.log(np.maximum(raw, 1.0))) * smooth).tolist())
            title_cols.extend(p for p in papers[order].tolist() if counts[p]["title"])
            title_ptr.append(len(title_cols))
            self._rows[feature] = len(self._rows)
        if len(indptr) > 1:
            block = sp.csr_matrix(
                (np.asarray(data, np.float32), cols, indptr), shape=(len(indptr) - 1, n)
            )
            self._blocks.append(block)
            self._matrix = None
            shape = (len(indptr) - 1, n)
            self._tfidf_blocks.append(
                sp.csr_matrix((np.asarray(tfidf, np.float32), cols, indptr), shape=shape)
            )
            ones = np.ones(len(title_cols), np.float32)
            self._title_blocks.append(sp.csr_matrix((ones, title_cols, title_ptr), shape=shape))
            self._tfidf = None

    def _counts(self, stems: list[str]) -> dict[int, dict[str, int]]:
        """Per paper holding the stem sequence: its occurrences in each field."""
        holders = [self._holders.get(stem) for stem in stems]
        if any(h is None for h in holders):
            return {}
        candidates = set.intersection(*holders)  # type: ignore[arg-type]
        found: dict[int, dict[str, int]] = {}
        for index in candidates:
            per_field = {name: _occurrences(self._positions[index][name], stems) for name in FIELDS}
            if any(per_field.values()):
                found[index] = per_field
        return found


@lru_cache(maxsize=4096)
def _stem_positions(text: str) -> tuple[dict[str, list[int]], int]:
    """Where each stem of `text` occurs, and how many stems it has. Cached by text: the
    papers of a reader's examples and recent papers are indexed again on every refit. The
    returned mapping is shared and must not be changed."""
    stems = content_stems(text)
    where: dict[str, list[int]] = {}
    for position, stem in enumerate(stems):
        where.setdefault(stem, []).append(position)
    return where, len(stems)


def _occurrences(positions: dict[str, list[int]], stems: list[str]) -> int:
    starts = positions.get(stems[0], [])
    if len(stems) == 1:
        return len(starts)
    following = [set(positions.get(stem, ())) for stem in stems[1:]]
    return sum(all(p + k + 1 in later for k, later in enumerate(following)) for p in starts)
