"""A liked paper's evidence for every one of the day's papers, what the ranker's liked channel
takes the best of: the TF-IDF cosine, and with vectors the mean of the embedding cosine and
the sentence alignment (`semantic.alignment`, a symmetric Chamfer similarity over title and
abstract sentences). Pure.

Rows are kept per liked paper (bounded, least recently used go): a reader's examples are
scored again for every refit and every variant of their profile, and popular papers are
liked by many readers. The alignment with all papers is two matrix products over all their
sentences at once (segment maxima and means by `reduceat`), not a loop over paper pairs.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from newsletter.domain import Paper
from newsletter.matching.lexical import LexicalIndex, document_terms
from newsletter.matching.semantic import Embedder, EmbeddingCache, Vectors, sentence_vectors

MAX_CACHED_LIKED = 1_000  # liked papers' rows kept
Row = NDArray[np.float32]


@dataclass
class LikedRows:
    papers: Sequence[Paper]  # the day's
    lexical: LexicalIndex
    embedder: Embedder | None
    cache: EmbeddingCache
    _rows: OrderedDict[tuple[str, bool], tuple[Row, Row | None]] = field(
        default_factory=OrderedDict, init=False
    )
    _sentences: tuple[Vectors, NDArray[np.intp]] | None = field(default=None, init=False)

    def row(
        self, liked: Paper, vector: Vectors | None, vectors: Vectors | None
    ) -> tuple[Row, Row | None]:
        """TF-IDF cosine of `liked` with every paper, and (given its `vector` and the papers'
        `vectors`) the mean of cosine and sentence alignment."""
        semantic = vector is not None and vectors is not None and self.embedder is not None
        key = (liked.id, semantic)
        if key in self._rows:
            self._rows.move_to_end(key)
            return self._rows[key]
        lex = self.lexical.cosine([document_terms(liked)])[0]
        sem = None
        if vector is not None and vectors is not None:
            sem = ((vector @ vectors.T + self._alignment(liked, vectors.shape[1])) / 2).astype(
                np.float32
            )
        if len(self._rows) >= MAX_CACHED_LIKED:
            self._rows.popitem(last=False)
        self._rows[key] = (lex, sem)
        return lex, sem

    def _alignment(self, liked: Paper, dimensions: int) -> Row:
        assert self.embedder is not None
        rows, starts = self._paper_sentences(dimensions)
        (theirs,) = sentence_vectors(
            [liked], embedder=self.embedder, cache=self.cache, dimensions=dimensions
        )
        sims = theirs @ rows.T  # liked paper's sentences x all papers' sentences
        forward = np.maximum.reduceat(sims, starts, axis=1).mean(axis=0)
        counts = np.diff(np.append(starts, sims.shape[1]))
        backward = np.add.reduceat(sims.max(axis=0), starts) / counts
        return np.asarray((forward + backward) / 2, np.float32)

    def _paper_sentences(self, dimensions: int) -> tuple[Vectors, NDArray[np.intp]]:
        """All the papers' sentence vectors stacked, and where each paper's rows start."""
        if self._sentences is None:
            assert self.embedder is not None
            per_paper = sentence_vectors(
                self.papers, embedder=self.embedder, cache=self.cache, dimensions=dimensions
            )
            starts = np.cumsum([0] + [len(rows) for rows in per_paper[:-1]])
            self._sentences = (np.vstack(per_paper), starts.astype(np.intp))
        return self._sentences
