"""The ranker: lexical and semantic relevance fused with category, author and example-paper
signals into one score per (profile, paper); all profiles scored in bounded chunks. Pure.

A profile may carry its reader's own model (`matching.learning`): the model's logit replaces
the global one before the threshold and the limit (`learning.apply`), and a paper the model
moved up is explained by the reader's examples that pushed it up most."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from itertools import islice
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

from newsletter.domain import CategoryMode, InterestProfile, Match, Paper
from newsletter.matching.explain import (
    MIN_PAPERS_FOR_SHARE,
    Explanation,
    explain,
)
from newsletter.matching.learning.apply import (
    Learned,
    ModelInput,
    apply_models,
    pushed_up_titles,
    readable,
)
from newsletter.matching.learning.prior import with_no_evidence
from newsletter.matching.lexical import (
    LexicalIndex,
    keyword_features,
    profile_features,
)
from newsletter.matching.liked import LikedRows
from newsletter.matching.masks import Mask, PaperMasks
from newsletter.matching.model import LIKED, TEXT, THRESHOLD, features, sigmoid, zscore
from newsletter.matching.reasons import (
    ExplainContext,
    PaperVectors,
    reasons_for,
    shown_features,
)
from newsletter.matching.semantic import (
    Embedder,
    EmbeddingCache,
    MemoryEmbeddingCache,
    Vectors,
    facet_vectors,
    paper_vectors,
    profile_facets,
)

log = logging.getLogger(__name__)
Key = TypeVar("Key")


@dataclass(frozen=True)
class Weights:
    """Global constants of the ranker (never per profile); the model's weights are in
    `matching.model`. `min_score` is a probability: P(relevant) a paper needs to be shown."""

    min_score: float = THRESHOLD
    signals: str = "hybrid"  # or "semantic" / "lexical": one part alone (benchmarks)
    category_logit: float = 0.0  # a boost category: measured no help on the dev set
    author_probability: float = 0.95  # a followed author's paper is shown
    category_only_probability: float = 0.6  # a profile of categories alone lists them
    dislike_logit: float = 1.0  # per z-unit of closeness to a disliked paper (unmeasured)


@dataclass
class Signals:
    """Raw evidence for a chunk of profiles (rows) and the day's papers (columns); rows of a
    channel a profile lacks are NaN. What the model turns into P(relevant), and what
    `benchmarks/ranking.py --fit` fits the model's weights on."""

    text_sem: NDArray[np.float32] | None  # mean facet cosine (None without an embedder)
    text_lex: NDArray[np.float32]  # TF-IDF cosine of the profile's words
    kw_title: NDArray[np.float32]  # one of the keywords is in the title
    liked_sem: NDArray[np.float32] | None  # best liked paper: mean of cosine and alignment
    liked_lex: NDArray[np.float32] | None  # best liked paper: TF-IDF cosine (None: no likes)
    has_text: NDArray[np.bool_]  # per profile
    has_liked: NDArray[np.bool_]
    disliked: NDArray[np.float32] | None  # closest disliked paper's cosine


@dataclass
class Ranker:
    """Ranks `papers` (the day's) for any number of profiles.

    A paper's score is a calibrated P(relevant) (`matching.model`): the same number means the
    same for a one-word interest and a rich profile, so one global threshold (`min_score`)
    decides what enters a digest, and a quiet day gives a short digest.

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
    _masks: PaperMasks = field(init=False)

    def __post_init__(self) -> None:
        self.papers = list(self.papers)
        self._lexical = LexicalIndex(self.papers)
        self._masks = PaperMasks(self.papers)
        ids = np.array([p.id for p in self.papers], dtype=object)
        self._tie_rank = np.argsort(np.argsort(ids, kind="stable"), kind="stable")
        self._by_id = {p.id: p for p in [*self.known_papers, *self.papers]}
        self._row = {p.id: index for index, p in enumerate(self.papers)}
        self._examples: dict[str, Vectors] = {}
        self._liked = LikedRows(self.papers, self._lexical, self.embedder, self.cache)
        self._vectors = None
        if self.embedder is not None and self.papers and self.weights.signals != "lexical":
            self._vectors = paper_vectors(self.papers, embedder=self.embedder, cache=self.cache)

    def rank(
        self, profile: InterestProfile, *, limit: int = 10, model: ModelInput = None
    ) -> list[Match]:
        """The profile's best matches; `model`: its reader's model (object or stored bytes)."""
        models = None if model is None else (lambda _: model)
        ((_, matches),) = self.rank_many([(None, profile)], limit=limit, models=models)
        return matches

    def rank_many(
        self,
        profiles: Iterable[tuple[Key, InterestProfile]],
        *,
        limit: int = 10,
        chunk_size: int = 2_000,
        explain_matches: bool = True,
        models: Callable[[Key], ModelInput] | None = None,
    ) -> Iterator[tuple[Key, list[Match]]]:
        """(key, best matches) per profile; memory grows with `chunk_size`, not the count.

        `models(key)` gives a profile's reader model (a `ReaderModel`, its stored bytes, or
        None for the global ranking alone); it is asked once per profile, as its chunk is
        scored. Unreadable bytes or a model of another embedding are logged and ignored (that
        reader gets the global ranking). Models need paper vectors: without an embedder (or
        with `signals="lexical"`) they are ignored."""
        iterator = iter(profiles)
        while chunk := list(islice(iterator, chunk_size)):
            batch = [profile for _, profile in chunk]
            signals, contexts = self._signals(batch)
            if models is None:
                scores, allowed = self._score(batch, signals, contexts)
            else:
                scores, allowed = self._score(batch, signals, contexts, threshold=False)
                items = [models(key) for key, _ in chunk]
                self._personalise(batch, signals, scores, items, contexts)
                allowed &= scores >= np.float32(self.weights.min_score)
            for row, (key, profile) in enumerate(chunk):
                picks = self._select(scores[row], allowed[row], limit)
                yield (
                    key,
                    [
                        self._match(
                            profile, contexts[row], int(i), float(scores[row, i]), explain_matches
                        )
                        for i in picks
                    ],
                )

    def _personalise(
        self,
        profiles: list[InterestProfile],
        signals: Signals,
        scores: NDArray[np.float32],
        items: list[ModelInput],
        contexts: list[ExplainContext],
    ) -> None:
        """Each row with a readable model gets the model's probabilities (in place); the
        global ones are kept in its context, to tell which papers the model moved up. An
        uninformed profile's prior is the base rate (`learning.prior`), not its zeros."""
        if self._vectors is None or not self._semantic_on():
            return
        models = [readable(item, self._vectors.shape[1]) for item in items]
        for row, (item, model) in enumerate(zip(items, models, strict=True)):
            if model is None or item is None:
                continue
            contexts[row].learned = Learned(item, scores[row].copy())
            informed = signals.has_text[row] or signals.has_liked[row]
            if not informed and not profiles[row].categories:
                scores[row] = with_no_evidence(scores[row])
        apply_models(scores, models, self._vectors)

    def signals(self, profiles: Sequence[InterestProfile]) -> Signals:
        """The raw evidence for `profiles` (for fitting and inspecting the model)."""
        return self._signals(list(profiles))[0]

    def probabilities(
        self, profiles: Sequence[InterestProfile]
    ) -> tuple[NDArray[np.float32], Mask]:
        """P(relevant) for every (profile, paper), and whether the hard rules allow it (the
        threshold is not applied here)."""
        batch = list(profiles)
        signals, contexts = self._signals(batch)
        return self._score(batch, signals, contexts, threshold=False)

    # -- evidence -------------------------------------------------------------------------

    def _semantic_on(self) -> bool:
        return self._vectors is not None and self.weights.signals != "lexical"

    def _signals(self, profiles: list[InterestProfile]) -> tuple[Signals, list[ExplainContext]]:
        n_profiles, n_papers = len(profiles), len(self.papers)
        shape = (n_profiles, n_papers)
        semantic = self._semantic_on()
        queries = [profile_features(p) for p in profiles]
        text_lex = self._lexical.cosine(queries)
        kw_title = np.zeros(shape, np.float32)
        for row, profile in enumerate(profiles):
            kw_title[row] = self._lexical.title_hits(keyword_features(profile))
        facets = [profile_facets(p) for p in profiles]
        has_text = np.array([bool(q) for q in queries])
        text_sem = None
        vectors_by_row: list[Vectors | None] = [None] * n_profiles
        if semantic:
            assert self.embedder is not None
            assert self._vectors is not None
            per_profile = facet_vectors(facets, embedder=self.embedder, cache=self.profile_cache)
            text_sem = np.full(shape, np.nan, np.float32)
            for row, fv in enumerate(per_profile):
                if fv.size:
                    vectors_by_row[row] = fv
                    text_sem[row] = (fv @ self._vectors.T).mean(axis=0)
                    has_text[row] = True
        # Liked and disliked papers are rare in a chunk: their rows exist only when needed.
        liked_of = [[self._by_id[i] for i in p.seed_papers if i in self._by_id] for p in profiles]
        has_liked = np.array([bool(liked) for liked in liked_of], dtype=bool)
        liked_sem = liked_lex = disliked = None
        if has_liked.any():
            liked_lex = np.full(shape, np.nan, np.float32)
            liked_sem = np.full(shape, np.nan, np.float32) if semantic else None
        if semantic and any(i in self._by_id for p in profiles for i in p.disliked_papers):
            disliked = np.full(shape, np.nan, np.float32)
        contexts = []
        for row, profile in enumerate(profiles):
            liked = liked_of[row]
            liked_vectors = None
            if liked:
                assert liked_lex is not None
                rows = [self._liked_row(p) for p in liked]
                liked_lex[row] = np.max([lex for lex, _ in rows], axis=0)
                if liked_sem is not None:
                    liked_vectors = self._example_vectors(tuple(p.id for p in liked))
                    liked_sem[row] = np.max([sem for _, sem in rows if sem is not None], axis=0)
            if disliked is not None:
                vectors = self._example_vectors(profile.disliked_papers)
                if vectors is not None:
                    disliked[row] = (vectors @ self._vectors.T).max(axis=0)  # type: ignore[union-attr]
            empty = np.zeros(n_papers)
            contexts.append(
                ExplainContext(facets[row], vectors_by_row[row], liked, liked_vectors, empty, empty)
            )
        signals = Signals(
            text_sem, text_lex, kw_title, liked_sem, liked_lex, has_text, has_liked, disliked
        )
        return signals, contexts

    def _liked_row(self, liked: Paper) -> tuple[NDArray[np.float32], NDArray[np.float32] | None]:
        """One liked paper's evidence for every paper (`matching.liked`)."""
        vector = self._example_vectors((liked.id,)) if self._semantic_on() else None
        return self._liked.row(liked, None if vector is None else vector[0], self._vectors)

    # -- the model ------------------------------------------------------------------------

    def _score(
        self,
        profiles: list[InterestProfile],
        signals: Signals,
        contexts: list[ExplainContext],
        *,
        threshold: bool = True,
    ) -> tuple[NDArray[np.float32], Mask]:
        w = self.weights
        kind = "lexical" if signals.text_sem is None else w.signals
        n_papers = len(self.papers)
        p_text = np.zeros((len(profiles), n_papers), np.float32)
        p_liked = np.zeros((len(profiles), n_papers), np.float32)
        rows = np.flatnonzero(signals.has_text)
        if rows.size:
            sem = None if kind == "lexical" else signals.text_sem[rows]  # type: ignore[index]
            lex = signals.text_lex[rows]
            inputs = features(sem, lex, signals.kw_title[rows])
            p_text[rows] = sigmoid(TEXT[kind].logit(inputs))
        rows = np.flatnonzero(signals.has_liked)
        if rows.size and signals.liked_lex is not None:
            liked_kind = "lexical" if signals.liked_sem is None else w.signals
            sem = None if liked_kind == "lexical" else signals.liked_sem[rows]  # type: ignore[index]
            inputs = features(sem, signals.liked_lex[rows])
            p_liked[rows] = sigmoid(LIKED[liked_kind].logit(inputs))
        probability = 1.0 - (1.0 - p_text) * (1.0 - p_liked)
        allowed = np.ones(probability.shape, dtype=bool)
        for row, profile in enumerate(profiles):
            contexts[row].p_text, contexts[row].p_liked = p_text[row], p_liked[row]
            in_category = self._masks.any(profile.categories, "category")
            by_author = self._masks.any(profile.authors, "author")
            if signals.has_text[row] or signals.has_liked[row]:
                logit = np.log(np.clip(probability[row], 1e-9, 1 - 1e-9))
                logit -= np.log(np.clip(1 - probability[row], 1e-9, 1))
                logit += w.category_logit * in_category
                if signals.disliked is not None and not np.isnan(signals.disliked[row]).all():
                    closeness = zscore(signals.disliked[row][None, :])[0]
                    logit -= w.dislike_logit * np.clip(closeness, 0, None)
                base = sigmoid(logit)
            else:  # categories (and authors) alone
                base = np.asarray(w.category_only_probability * in_category, np.float64)
            probability[row] = np.maximum(base, w.author_probability * by_author)
            allowed[row] = ~self._masks.any(profile.exclude, "exclude")
            for example in (*profile.seed_papers, *profile.disliked_papers):
                if example in self._row:  # the reader's own examples are never ranked
                    allowed[row, self._row[example]] = False
            if profile.category_mode is CategoryMode.FILTER and profile.categories:
                allowed[row] &= in_category
        if threshold:
            allowed &= probability >= w.min_score
        return np.round(probability, 6).astype(np.float32), allowed

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

    def _select(self, scores: NDArray[np.float32], allowed: Mask, limit: int) -> list[int]:
        candidates = np.flatnonzero(allowed)
        if len(candidates) > limit:
            # Keep the best `limit` and everything tied with the last of them, then sort.
            kth = np.partition(-scores[candidates], limit - 1)[limit - 1]
            candidates = candidates[-scores[candidates] <= kth]
        # Best score first; equal scores in paper-id order, so ranking is deterministic.
        order = np.lexsort((self._tie_rank[candidates], -scores[candidates]))
        return [int(i) for i in candidates[order[:limit]]]

    # -- explanations ---------------------------------------------------------------------

    def _share(self, feature: str) -> float | None:
        n = len(self.papers)
        return None if n < MIN_PAPERS_FOR_SHARE else self._lexical.df(feature) / n

    def _match(
        self,
        profile: InterestProfile,
        context: ExplainContext,
        index: int,
        score: float,
        explain_it: bool,
    ) -> Match:
        paper = self.papers[index]
        explanation = Explanation(why=(), highlights=())
        if explain_it:
            explanation = explain(
                paper,
                replace(
                    reasons_for(profile, context, paper, index, self._semantic_vectors()),
                    pushed_by=self._pushed_by(context, index, score),
                ),
                features=shown_features(profile),
                share=self._share,
            )
        return Match(paper, round(score, 4), explanation.why, explanation.highlights)

    def _pushed_by(self, context: ExplainContext, index: int, score: float) -> tuple[str, ...]:
        """Titles of the reader's liked examples that pushed the paper up most, when their
        model raised it above the global ranking."""
        learned = context.learned
        if learned is None or score <= learned.global_scores[index]:
            return ()
        assert self.embedder is not None
        assert self._vectors is not None
        paper, vector = self.papers[index], self._vectors[index]
        return pushed_up_titles(learned, self.cache, self.embedder.name, paper, vector)

    def _semantic_vectors(self) -> PaperVectors | None:
        if self.embedder is None or self._vectors is None:
            return None
        return PaperVectors(self._vectors, self.embedder, self.cache)
