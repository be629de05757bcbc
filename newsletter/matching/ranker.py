"""The ranker: lexical and semantic relevance fused with category, author and example-paper
signals into one score per (profile, paper); all profiles scored in bounded chunks. Pure.

A profile may carry its reader's own model (`matching.learning`): the model's logit replaces
the global one before the threshold and the limit (`learning.apply`), and a paper the model
moved up is explained by the reader's examples that pushed it up most."""

from __future__ import annotations

import logging
import unicodedata
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from itertools import islice
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

from newsletter.domain import CategoryMode, InterestProfile, Match, Paper
from newsletter.matching.exclusions import contains_term, occurrences, paper_text
from newsletter.matching.explain import (
    MIN_PAPERS_FOR_SHARE,
    Explanation,
    Reasons,
    explain,
    term_matches,
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
    document_terms,
    keyword_features,
    profile_features,
)
from newsletter.matching.model import LIKED, TEXT, THRESHOLD, features, sigmoid, zscore
from newsletter.matching.semantic import (
    Embedder,
    EmbeddingCache,
    MemoryEmbeddingCache,
    Vectors,
    facet_vectors,
    paper_sentences,
    paper_vectors,
    profile_facets,
    sentence_vectors,
)
from newsletter.matching.text import content_stems

log = logging.getLogger(__name__)
Key = TypeVar("Key")
MAX_CACHED_MASKS = 20_000  # category/author/excluded-term masks kept (least recently used go)
MAX_CACHED_LIKED = 1_000  # liked papers' similarity rows kept (least recently used go)
Mask = NDArray[np.bool_]


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


def _followed(authors: tuple[str, ...], followed: tuple[str, ...]) -> list[str]:
    """The paper's authors (as the paper writes them) that the profile follows."""
    wanted = {normalise_name(name) for name in followed}
    return [name for name in authors if normalise_name(name) in wanted]


def normalise_name(name: str) -> str:
    """Accents and case folded away, so "Jörg Hoffmann" matches "Jorg Hoffmann"."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())


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
class _Context:
    """What explaining one profile's matches needs from scoring."""

    facets: list[str]
    facet_vectors: Vectors | None
    liked: list[Paper]
    liked_vectors: Vectors | None
    p_text: NDArray[np.float64]
    p_liked: NDArray[np.float64]
    learned: Learned | None = None  # the reader's model, when it changed this profile's scores


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
    _lowered: list[str] = field(init=False)
    _masks: OrderedDict[tuple[str, str], Mask] = field(default_factory=OrderedDict, init=False)
    _liked_rows: OrderedDict[str, tuple[NDArray[np.float32], NDArray[np.float32] | None]] = field(
        default_factory=OrderedDict, init=False
    )

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
        self._sentences: tuple[Vectors, NDArray[np.intp]] | None = None
        self._holders: dict[str, dict[str, list[int]]] = {"category": {}, "author": {}}
        for index, paper in enumerate(self.papers):
            for category in dict.fromkeys(paper.categories):
                self._holders["category"].setdefault(category, []).append(index)
            for name in dict.fromkeys(map(normalise_name, paper.authors)):
                self._holders["author"].setdefault(name, []).append(index)
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
        contexts: list[_Context],
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

    def _signals(self, profiles: list[InterestProfile]) -> tuple[Signals, list[_Context]]:
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
                _Context(facets[row], vectors_by_row[row], liked, liked_vectors, empty, empty)
            )
        signals = Signals(
            text_sem, text_lex, kw_title, liked_sem, liked_lex, has_text, has_liked, disliked
        )
        return signals, contexts

    def _liked_row(self, liked: Paper) -> tuple[NDArray[np.float32], NDArray[np.float32] | None]:
        """One liked paper's evidence for every paper: TF-IDF cosine and (with vectors) the
        mean of cosine and sentence alignment. Kept per paper id (bounded), since a reader's
        examples are scored again for every refit and popular papers are liked by many."""
        if liked.id in self._liked_rows:
            self._liked_rows.move_to_end(liked.id)
            return self._liked_rows[liked.id]
        lex = self._lexical.cosine([document_terms(liked)])[0]
        sem = None
        if self._semantic_on():
            vector = self._example_vectors((liked.id,))
            assert vector is not None
            assert self._vectors is not None
            sem = ((vector[0] @ self._vectors.T + self._alignment(liked)) / 2).astype(np.float32)
        if len(self._liked_rows) >= MAX_CACHED_LIKED:
            self._liked_rows.popitem(last=False)
        self._liked_rows[liked.id] = (lex, sem)
        return lex, sem

    def _alignment(self, liked: Paper) -> NDArray[np.float32]:
        """`semantic.alignment` of the liked paper with every paper, in two matrix products
        over all the papers' sentences at once (segment maxima and means by `reduceat`)."""
        assert self._vectors is not None
        assert self.embedder is not None
        rows, starts = self._paper_sentences()
        (theirs,) = sentence_vectors(
            [liked], embedder=self.embedder, cache=self.cache, dimensions=self._vectors.shape[1]
        )
        sims = theirs @ rows.T  # liked paper's sentences x all papers' sentences
        forward = np.maximum.reduceat(sims, starts, axis=1).mean(axis=0)
        counts = np.diff(np.append(starts, sims.shape[1]))
        backward = np.add.reduceat(sims.max(axis=0), starts) / counts
        return np.asarray((forward + backward) / 2, np.float32)

    def _paper_sentences(self) -> tuple[Vectors, NDArray[np.intp]]:
        """All the papers' sentence vectors stacked, and where each paper's rows start."""
        if self._sentences is None:
            assert self._vectors is not None
            assert self.embedder is not None
            per_paper = sentence_vectors(
                self.papers, embedder=self.embedder, cache=self.cache,
                dimensions=self._vectors.shape[1],
            )  # fmt: skip
            starts = np.cumsum([0] + [len(rows) for rows in per_paper[:-1]])
            self._sentences = (np.vstack(per_paper), starts.astype(np.intp))
        return self._sentences

    # -- the model ------------------------------------------------------------------------

    def _score(
        self,
        profiles: list[InterestProfile],
        signals: Signals,
        contexts: list[_Context],
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
            in_category = self._any(profile.categories, "category")
            by_author = self._any(profile.authors, "author")
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
            allowed[row] = ~self._any(profile.exclude, "exclude")
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

    # -- explanations ---------------------------------------------------------------------

    def _share(self, feature: str) -> float | None:
        n = len(self.papers)
        return None if n < MIN_PAPERS_FOR_SHARE else self._lexical.df(feature) / n

    def _match(
        self,
        profile: InterestProfile,
        context: _Context,
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
                    self._reasons(profile, context, index),
                    pushed_by=self._pushed_by(context, index, score),
                ),
                features=_shown_features(profile),
                share=self._share,
            )
        return Match(paper, round(score, 4), explanation.why, explanation.highlights)

    def _pushed_by(self, context: _Context, index: int, score: float) -> tuple[str, ...]:
        """Titles of the reader's liked examples that pushed the paper up most, when their
        model raised it above the global ranking."""
        learned = context.learned
        if learned is None or score <= learned.global_scores[index]:
            return ()
        assert self.embedder is not None
        assert self._vectors is not None
        paper, vector = self.papers[index], self._vectors[index]
        return pushed_up_titles(learned.item, self.cache, self.embedder.name, paper, vector)

    def _reasons(self, profile: InterestProfile, context: _Context, index: int) -> Reasons:
        paper = self.papers[index]
        liked_decides = bool(context.liked) and context.p_liked[index] > context.p_text[index]
        keywords = [k for k in profile.keywords if keyword_features(replace_keywords(k))]
        closest: str | None = None
        closest_is_keyword = False
        sentence: str | None = None
        target: Vectors | None = None
        liked: Paper | None = None
        if liked_decides and context.liked_vectors is not None and self._vectors is not None:
            best = int(np.argmax(context.liked_vectors @ self._vectors[index]))
            liked = context.liked[best]
            target = context.liked_vectors[best : best + 1]
        elif liked_decides:
            liked = context.liked[0]
        elif context.facet_vectors is not None and self._vectors is not None:
            sims = context.facet_vectors @ self._vectors[index]
            best = int(np.argmax(sims))
            closest = context.facets[best]
            closest_is_keyword = closest in profile.keywords
            if closest not in profile.keywords and profile.description:
                closest = profile.description
            target = context.facet_vectors
        if target is not None and self.embedder is not None and self._vectors is not None:
            (rows,) = sentence_vectors(
                [paper], embedder=self.embedder, cache=self.cache,
                dimensions=self._vectors.shape[1],
            )  # fmt: skip
            texts = paper_sentences(paper)
            if len(texts) > 1:  # the title is first: quote an abstract sentence
                sims = (rows[1:] @ target.T).max(axis=1)
                if not liked_decides:  # prefer a sentence that names the profile's terms
                    wanted = set(_shown_features(profile))
                    sims = sims + SENTENCE_TERM_BONUS * np.array(
                        [
                            bool(wanted & set(term_matches(paper_of(t), wanted)[0]))
                            for t in texts[1:]
                        ]
                    )
                sentence = texts[1 + int(np.argmax(sims))]
        return Reasons(
            keywords=tuple(keywords),
            keyword_features=tuple(keyword_features(replace_keywords(k))[0] for k in keywords),
            closest_facet=closest,
            closest_is_keyword=closest_is_keyword,
            interest=profile.description or None,
            liked=liked,
            authors=tuple(_followed(paper.authors, profile.authors)),
            categories=tuple(c for c in profile.categories if c in paper.categories),
            sentence=sentence,
        )


SENTENCE_TERM_BONUS = 0.1  # cosine added to a sentence holding one of the profile's terms


def _shown_features(profile: InterestProfile) -> list[str]:
    """What may be named and highlighted: each keyword whole (a phrase, not its words apart)
    and the description's words (explain keeps only the distinctive ones)."""
    return list(dict.fromkeys([*keyword_features(profile), *content_stems(profile.description)]))


def paper_of(sentence: str) -> Paper:
    """A sentence as a paper's title, to reuse the term matcher."""
    return Paper(id="sentence", title=sentence, abstract="", sources=())


def replace_keywords(keyword: str) -> InterestProfile:
    """A profile holding one keyword (to reuse the profile-level feature helpers)."""
    return InterestProfile(keywords=(keyword,))
