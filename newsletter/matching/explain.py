"""Why a paper matched: the words, categories, authors and papers that made it, with the
character spans the email highlights. Only computed for papers that make a digest. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from newsletter.domain import Highlight, Paper
from newsletter.matching.text import Token, tokens

MAX_TERMS_SHOWN = 6


@dataclass(frozen=True, slots=True)
class Explanation:
    why: tuple[str, ...]
    highlights: tuple[Highlight, ...]


def term_matches(paper: Paper, features: Mapping[str, float]) -> tuple[list[str], list[Highlight]]:
    """The paper's own words for each query feature it contains (heaviest feature first,
    one surface form per feature: "markets" and "market" are one match) and their spans."""
    surfaces: dict[str, str] = {}
    spans: list[Highlight] = []
    for field, text in (("title", paper.title), ("abstract", paper.abstract)):
        words, positions = _word_index(text)
        for feature, weight in features.items():
            if weight <= 0:
                continue
            for first, last in _occurrences(words, positions, feature.split(" ")):
                spans.append(Highlight(field, first.start, last.end))
                surfaces.setdefault(feature, text[first.start : last.end].casefold())
    # A phrase's words are not repeated as separate matches.
    covered = {word for feature in surfaces if " " in feature for word in feature.split(" ")}
    shown = [f for f in surfaces if " " in f or f not in covered]
    shown.sort(key=lambda f: (-features[f], surfaces[f]))
    return [surfaces[f] for f in shown[:MAX_TERMS_SHOWN]], _merge(spans)


@lru_cache(maxsize=4096)
def _word_index(text: str) -> tuple[tuple[Token, ...], dict[str, list[int]]]:
    """A text's content words and where each stem occurs. Cached: a day's papers are
    explained for every subscriber they match, so each text is tokenised once, not per
    (subscriber, paper). The returned mapping must not be changed."""
    words = tuple(t for t in tokens(text) if not t.stop)
    positions: dict[str, list[int]] = {}
    for index, word in enumerate(words):
        positions.setdefault(word.stem, []).append(index)
    return words, positions


def _occurrences(
    words: tuple[Token, ...], positions: Mapping[str, list[int]], stems: list[str]
) -> list[tuple[Token, Token]]:
    size = len(stems)
    return [
        (words[i], words[i + size - 1])
        for i in positions.get(stems[0], ())
        if i + size <= len(words) and all(words[i + k].stem == stems[k] for k in range(1, size))
    ]


def _merge(spans: list[Highlight]) -> list[Highlight]:
    merged: list[Highlight] = []
    for span in sorted(set(spans), key=lambda s: (s.field != "title", s.start, -s.end)):
        last = merged[-1] if merged else None
        if last is not None and last.field == span.field and span.start <= last.end:
            if span.end > last.end:
                merged[-1] = Highlight(span.field, last.start, span.end)
            continue
        merged.append(span)
    return merged


def explain(
    paper: Paper,
    *,
    features: Mapping[str, float],
    similarity: float | None,
    interest: str,
    liked: Paper | None,
    categories: list[str],
    authors: list[str],
) -> Explanation:
    why: list[str] = []
    terms, highlights = term_matches(paper, features)
    if terms:
        why.append("mentions " + ", ".join(f'"{term}"' for term in terms))
    if liked is not None:
        why.append(f'similar to a paper you liked: "{liked.title}"')
    if categories:
        why.append("in " + ", ".join(categories))
    if authors:
        why.append("by " + ", ".join(authors))
    if similarity is not None and (similarity >= 0.3 or not why):
        shown = interest if len(interest) <= 80 else interest[:77] + "…"
        why.append(f'close in meaning to "{shown}" (similarity {similarity:.2f})')
    return Explanation(why=tuple(why), highlights=tuple(highlights))
