"""Why one paper matched one profile, as facts for `explain` to put in words: the keywords,
the closest part of the interest or the liked paper that decided it, the abstract sentence
nearest to that, followed authors and shared categories. Pure.

The sentence quoted is the abstract's closest to what decided the match (the liked paper, or
the interest's facets), with a small bonus for one that names the profile's own terms, so
the mail quotes the sentence a reader would have underlined."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from newsletter.domain import InterestProfile, Paper
from newsletter.matching.explain import Reasons, term_matches
from newsletter.matching.learning.apply import Learned
from newsletter.matching.lexical import keyword_features
from newsletter.matching.masks import followed_authors
from newsletter.matching.semantic import (
    Embedder,
    EmbeddingCache,
    Vectors,
    paper_sentences,
    sentence_vectors,
)
from newsletter.matching.text import content_stems

SENTENCE_TERM_BONUS = 0.1  # cosine added to a sentence holding one of the profile's terms


@dataclass
class ExplainContext:
    """What explaining one profile's matches needs from scoring."""

    facets: list[str]
    facet_vectors: Vectors | None
    liked: list[Paper]
    liked_vectors: Vectors | None
    p_text: NDArray[np.float64]
    p_liked: NDArray[np.float64]
    learned: Learned | None = None  # the reader's model, when it changed this profile's scores


@dataclass(frozen=True)
class PaperVectors:
    """The day's paper vectors and the model that made them (sentences are embedded alike)."""

    vectors: Vectors
    embedder: Embedder
    cache: EmbeddingCache


def reasons_for(
    profile: InterestProfile,
    context: ExplainContext,
    paper: Paper,
    index: int,
    semantic: PaperVectors | None,
) -> Reasons:
    """The facts behind `paper` (the day's paper number `index`) matching `profile`."""
    liked_decides = bool(context.liked) and context.p_liked[index] > context.p_text[index]
    keywords = [k for k in profile.keywords if keyword_features(replace_keywords(k))]
    closest: str | None = None
    closest_is_keyword = False
    target: Vectors | None = None
    liked: Paper | None = None
    if liked_decides and context.liked_vectors is not None and semantic is not None:
        best = int(np.argmax(context.liked_vectors @ semantic.vectors[index]))
        liked = context.liked[best]
        target = context.liked_vectors[best : best + 1]
    elif liked_decides:
        liked = context.liked[0]
    elif context.facet_vectors is not None and semantic is not None:
        best = int(np.argmax(context.facet_vectors @ semantic.vectors[index]))
        closest = context.facets[best]
        closest_is_keyword = closest in profile.keywords
        if closest not in profile.keywords and profile.description:
            closest = profile.description
        target = context.facet_vectors
    sentence = None
    if target is not None and semantic is not None:
        sentence = _closest_sentence(profile, paper, target, semantic, terms=not liked_decides)
    return Reasons(
        keywords=tuple(keywords),
        keyword_features=tuple(keyword_features(replace_keywords(k))[0] for k in keywords),
        closest_facet=closest,
        closest_is_keyword=closest_is_keyword,
        interest=profile.description or None,
        liked=liked,
        authors=tuple(followed_authors(paper.authors, profile.authors)),
        categories=tuple(c for c in profile.categories if c in paper.categories),
        sentence=sentence,
    )


def _closest_sentence(
    profile: InterestProfile,
    paper: Paper,
    target: Vectors,
    semantic: PaperVectors,
    *,
    terms: bool,
) -> str | None:
    """The abstract sentence closest to `target` (with `terms`: a bonus for naming the
    profile's terms); None for a paper of one sentence (the title)."""
    (rows,) = sentence_vectors(
        [paper], embedder=semantic.embedder, cache=semantic.cache,
        dimensions=semantic.vectors.shape[1],
    )  # fmt: skip
    texts = paper_sentences(paper)
    if len(texts) <= 1:  # the title is first: quote an abstract sentence
        return None
    sims = (rows[1:] @ target.T).max(axis=1)
    if terms:  # prefer a sentence that names the profile's terms
        wanted = set(shown_features(profile))
        sims = sims + SENTENCE_TERM_BONUS * np.array(
            [bool(wanted & set(term_matches(paper_of(t), wanted)[0])) for t in texts[1:]]
        )
    return texts[1 + int(np.argmax(sims))]


def shown_features(profile: InterestProfile) -> list[str]:
    """What may be named and highlighted: each keyword whole (a phrase, not its words apart)
    and the description's words (explain keeps only the distinctive ones)."""
    return list(dict.fromkeys([*keyword_features(profile), *content_stems(profile.description)]))


def paper_of(sentence: str) -> Paper:
    """A sentence as a paper's title, to reuse the term matcher."""
    return Paper(id="sentence", title=sentence, abstract="", sources=())


def replace_keywords(keyword: str) -> InterestProfile:
    """A profile holding one keyword (to reuse the profile-level feature helpers)."""
    return InterestProfile(keywords=(keyword,))
